// The 12-macro socket filter of the original bpf(2) man page (count TCP and
// UDP packets), written with bpfrt's instruction macros, must encode byte for
// byte as the Linux UAPI defines the same instructions.
#include <bpfrt/insn.h>
#include <linux/bpf.h>  // after insn.h on purpose: both orders must compile
#include <linux/if_ether.h>
#include <linux/ip.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <vector>

extern "C" size_t bpfrt_seed_program_own_defs(int map_fd, struct bpf_insn* out, size_t cap);

namespace {

constexpr int kMapFd = 7;

std::vector<bpf_insn> seed_with_macros() {
    return {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
        BPF_LD_ABS(BPF_B, ETH_HLEN + offsetof(struct iphdr, protocol)),
        BPF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_0, -4),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_LD_MAP_FD(BPF_REG_1, kMapFd),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 2),
        BPF_MOV64_IMM(BPF_REG_1, 1),
        BPF_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
}

// The same program spelled field by field with the UAPI's constants only.
bpf_insn uapi(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    return i;
}

std::vector<bpf_insn> seed_from_uapi() {
    return {
        uapi(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
        uapi(BPF_LD | BPF_B | BPF_ABS, 0, 0, 0, 23),
        uapi(BPF_STX | BPF_W | BPF_MEM, 10, 0, -4, 0),
        uapi(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0),
        uapi(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4),
        uapi(BPF_LD | BPF_DW | BPF_IMM, 1, BPF_PSEUDO_MAP_FD, 0, kMapFd),
        uapi(0, 0, 0, 0, 0),
        uapi(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
        uapi(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 2, 0),
        uapi(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 1),
        uapi(BPF_STX | BPF_DW | BPF_ATOMIC, 0, 1, 0, BPF_ADD),
        uapi(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0),
        uapi(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
    };
}

// Exact bytes of the program on a little-endian machine, written out by hand.
const unsigned char kExpectedBytes[] = {
    0xbf, 0x16, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // r6 = r1
    0x30, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00,  // r0 = *(u8 *)skb[23]
    0x63, 0x0a, 0xfc, 0xff, 0x00, 0x00, 0x00, 0x00,  // *(u32 *)(r10 - 4) = r0
    0xbf, 0xa2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // r2 = r10
    0x07, 0x02, 0x00, 0x00, 0xfc, 0xff, 0xff, 0xff,  // r2 += -4
    0x18, 0x11, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,  // r1 = map fd 7
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x85, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // call map_lookup_elem
    0x15, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00,  // if r0 == 0 goto +2
    0xb7, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,  // r1 = 1
    0xdb, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // lock *(u64 *)(r0 + 0) += r1
    0xb7, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // r0 = 0
    0x95, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // exit
};

}  // namespace

TEST(SeedProgram, MacrosEncodeAsTheLinuxUapi) {
    static_assert(sizeof(bpf_insn) == 8);
    const auto ours = seed_with_macros();
    const auto theirs = seed_from_uapi();
    ASSERT_EQ(ours.size(), 13u);  // 12 macros; BPF_LD_MAP_FD takes two slots
    ASSERT_EQ(theirs.size(), ours.size());
    EXPECT_EQ(std::memcmp(ours.data(), theirs.data(), ours.size() * sizeof(bpf_insn)), 0);
    ASSERT_EQ(sizeof(kExpectedBytes), ours.size() * sizeof(bpf_insn));
    EXPECT_EQ(std::memcmp(ours.data(), kExpectedBytes, sizeof(kExpectedBytes)), 0);
}

TEST(SeedProgram, OwnDefinitionsFromCEncodeTheSame) {
    bpf_insn buf[16];
    const size_t n = bpfrt_seed_program_own_defs(kMapFd, buf, 16);
    ASSERT_EQ(n, 13u);
    EXPECT_EQ(std::memcmp(buf, kExpectedBytes, sizeof(kExpectedBytes)), 0);
}

TEST(SeedProgram, XaddSpellings) {
    const bpf_insn a = BPF_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0);
    const bpf_insn b = BPF_XADD(BPF_STX | BPF_XADD | BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0);
    const bpf_insn c = BPF_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0);
    const bpf_insn d = BPF_STX_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0);
    const bpf_insn e = BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_0, BPF_REG_1, 0);
    EXPECT_EQ(std::memcmp(&a, &b, 8), 0);
    EXPECT_EQ(std::memcmp(&a, &c, 8), 0);
    EXPECT_EQ(std::memcmp(&a, &d, 8), 0);
    EXPECT_EQ(std::memcmp(&a, &e, 8), 0);
    static_assert((BPF_STX | BPF_XADD | BPF_DW) == 0xdb);
}
