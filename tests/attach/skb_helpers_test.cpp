// bpf_skb_store_bytes, bpf_l3_csum_replace, bpf_l4_csum_replace and
// bpf_skb_adjust_room on the runtime's __sk_buff: tc programs loaded (and
// verified) through the runtime, run on both engines over a packet with
// headroom; success and error paths with the kernel's return values.
#include "test_support.hpp"

#include "runtime/contexts.hpp"
#include "runtime/state.hpp"

#include <bpfrt/jit.hpp>

#include <arpa/inet.h>
#include <linux/if_ether.h>

#include <cerrno>
#include <cstring>
#include <numeric>

namespace bpfrt::test {
namespace {

using Prog = std::vector<bpf_insn>;
constexpr int64_t kENOTSUPP = 524;
constexpr uint32_t kEth = 14;

Prog cat(std::initializer_list<Prog> parts) {
    Prog out;
    for (const Prog& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// ---- packets ----

uint16_t fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(sum);
}
// One's-complement sum of big-endian 16-bit words.
uint32_t sum_words(const uint8_t* p, size_t len, uint32_t sum = 0) {
    for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
    return sum;
}
void put16(std::vector<uint8_t>& f, size_t off, uint16_t v) {
    f[off] = static_cast<uint8_t>(v >> 8);
    f[off + 1] = static_cast<uint8_t>(v);
}
bool ipv4_header_ok(const std::vector<uint8_t>& f) { return fold(sum_words(&f[kEth], 20)) == 0xffff; }
bool tcp_ok(const std::vector<uint8_t>& f) {
    const size_t l4 = kEth + 20, len = f.size() - l4;
    uint32_t sum = sum_words(&f[kEth + 12], 8);  // addresses
    sum += 6 + static_cast<uint32_t>(len);      // protocol, TCP length
    return fold(sum_words(&f[l4], len, sum)) == 0xffff;
}

// Ethernet + IPv4 (TCP) + TCP header + payload, both checksums right.
std::vector<uint8_t> tcp_frame(size_t len = 80) {
    std::vector<uint8_t> f = ip_frame(6, len);
    f[kEth + 1] = 0x10;  // tos
    put16(f, kEth + 2, static_cast<uint16_t>(len - kEth));
    const uint8_t addrs[8] = {10, 0, 0, 1, 192, 168, 7, 9};
    std::memcpy(&f[kEth + 12], addrs, 8);
    f[kEth + 8] = 64;
    put16(f, kEth + 10, static_cast<uint16_t>(~fold(sum_words(&f[kEth], 20))));
    put16(f, kEth + 20, 40000);  // ports
    put16(f, kEth + 22, 443);
    f[kEth + 20 + 12] = 0x50;
    for (size_t i = kEth + 40; i < len; ++i) f[i] = static_cast<uint8_t>(i * 7);
    uint32_t sum = sum_words(&f[kEth + 12], 8) + 6 + static_cast<uint32_t>(len - kEth - 20);
    put16(f, kEth + 36, static_cast<uint16_t>(~fold(sum_words(&f[kEth + 20], len - kEth - 20, sum))));
    return f;
}

// A 16/32-bit field as a program loads it (memory order in a register).
uint64_t raw(const std::vector<uint8_t>& f, size_t off, size_t size) {
    uint32_t v = 0;
    std::memcpy(&v, &f[off], size);
    return v;
}

// ---- running tc programs over a packet with headroom ----

struct TcRun {
    std::vector<uint8_t> buffer;
    runtime::SkbContext skb;
    vm::ExecContext exec;
    uint64_t r0 = 0;
    std::vector<uint8_t> packet() const { return {skb.packet, skb.packet + skb.packet_len}; }
};

enum class Engine { Interpreter, Jit };

class SkbHelpers : public ::testing::TestWithParam<Engine> {
protected:
    // Loads `insns` as sched_cls and runs it on `frame` with `headroom` free bytes before it.
    TcRun run(const Prog& insns, const std::vector<uint8_t>& frame, uint32_t headroom = 64) {
        TcRun out;
        const Loaded l = load(rt_, BPF_PROG_TYPE_SCHED_CLS, insns);
        EXPECT_EQ(l.error, 0) << l.log;
        if (l.error != 0) return out;
        auto program = rt_.state().program_at(l.fd);
        EXPECT_TRUE(program);
        if (!program) return out;
        const runtime::ProgramObject& p = **program;
        auto engine = GetParam() == Engine::Jit ? jit::make_program(p.insns, p.helpers.get(), jit::Engine::Jit)
                                                : vm::make_interpreter(p.insns, p.helpers.get(), vm::Mode::Verified);
        if (!engine) {
            ADD_FAILURE() << engine.error().message;
            return out;
        }
        out.buffer.assign(headroom + frame.size() + 16, 0xee);
        std::memcpy(out.buffer.data() + headroom, frame.data(), frame.size());
        runtime::fill_skb(out.skb, out.buffer.data() + headroom, frame.size(), runtime::SkbView::Ethernet,
                          PACKET_HOST);
        out.skb.headroom = headroom;
        out.skb.tailroom = 16;
        out.skb.skb.hash = 0x1234;
        out.exec.runtime = &rt_.state();
        out.exec.packet = out.skb.packet;
        out.exec.packet_len = out.skb.packet_len;
        out.exec.allow(&out.skb, sizeof out.skb.skb, true);
        out.exec.allow(out.skb.packet, out.skb.packet_len, true);
        auto r0 = runtime::run_program(p, reinterpret_cast<uintptr_t>(&out.skb), 0, out.exec, engine->get());
        EXPECT_TRUE(r0) << (r0 ? "" : r0.error().message);
        if (r0) out.r0 = *r0;
        close_fd(l.fd);
        return out;
    }
    void SetUp() override {
        if (GetParam() == Engine::Jit && !jit::jit_supported()) GTEST_SKIP() << "no JIT on this host";
    }
    void close_fd(int fd) { (void)rt_.close(fd); }
    Runtime rt_;
};

int64_t ret(const TcRun& r) { return static_cast<int64_t>(r.r0); }

// R6 = ctx, then `body`, returning the last helper's result.
Prog with_ctx(const Prog& body) {
    return cat({{BPF_MOV64_REG(BPF_REG_6, BPF_REG_1)}, body, {BPF_EXIT_INSN()}});
}

// skb_store_bytes(ctx, off, fp-8 (holding `bytes`), len, flags)
Prog store_bytes(int32_t off, uint64_t bytes, int32_t len, int32_t flags) {
    return {BPF_LD_IMM64(BPF_REG_2, static_cast<int64_t>(bytes)), BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_2, -8),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),                      BPF_MOV64_IMM(BPF_REG_2, off),
            BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),                     BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8),
            BPF_MOV64_IMM(BPF_REG_4, len),                            BPF_MOV64_IMM(BPF_REG_5, flags),
            BPF_EMIT_CALL(BPF_FUNC_skb_store_bytes)};
}

// csum helper(ctx, off, from, to, flags)
Prog csum(int helper, int32_t off, uint64_t from, uint64_t to, uint64_t flags) {
    return {BPF_MOV64_REG(BPF_REG_1, BPF_REG_6), BPF_MOV64_IMM(BPF_REG_2, off),
            BPF_LD_IMM64(BPF_REG_3, static_cast<int64_t>(from)), BPF_LD_IMM64(BPF_REG_4, static_cast<int64_t>(to)),
            BPF_LD_IMM64(BPF_REG_5, static_cast<int64_t>(flags)), BPF_EMIT_CALL(helper)};
}
Prog l3(int32_t off, uint64_t from, uint64_t to, uint64_t flags) {
    return csum(BPF_FUNC_l3_csum_replace, off, from, to, flags);
}
Prog l4(int32_t off, uint64_t from, uint64_t to, uint64_t flags) {
    return csum(BPF_FUNC_l4_csum_replace, off, from, to, flags);
}
// if (R0 != 0) exit with it
const Prog kExitOnError = {BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 1), BPF_EXIT_INSN()};

Prog adjust_room(int32_t len_diff, uint32_t mode, uint64_t flags) {
    return {BPF_MOV64_REG(BPF_REG_1, BPF_REG_6), BPF_MOV64_IMM(BPF_REG_2, len_diff),
            BPF_MOV64_IMM(BPF_REG_3, static_cast<int32_t>(mode)), BPF_LD_IMM64(BPF_REG_4, static_cast<int64_t>(flags)),
            BPF_EMIT_CALL(BPF_FUNC_skb_adjust_room)};
}

// ---- bpf_skb_store_bytes ----

TEST_P(SkbHelpers, StoreBytesWritesThePacket) {
    const std::vector<uint8_t> frame = tcp_frame();
    TcRun r = run(with_ctx(store_bytes(30, 0x0807060504030201ull, 6, 0)), frame);
    EXPECT_EQ(ret(r), 0);
    std::vector<uint8_t> want = frame;
    for (int i = 0; i < 6; ++i) want[30 + static_cast<size_t>(i)] = static_cast<uint8_t>(i + 1);
    EXPECT_EQ(r.packet(), want);
    EXPECT_EQ(r.skb.skb.hash, 0x1234u);
    // Up to the last byte; BPF_F_INVALIDATE_HASH clears skb->hash.
    r = run(with_ctx(store_bytes(static_cast<int32_t>(frame.size() - 2), 0xbbaa, 2, BPF_F_INVALIDATE_HASH)), frame);
    EXPECT_EQ(ret(r), 0);
    EXPECT_EQ(r.packet()[frame.size() - 1], 0xbb);
    EXPECT_EQ(r.skb.skb.hash, 0u);
    // BPF_F_RECOMPUTE_CSUM is accepted (nothing to recompute without CHECKSUM_COMPLETE).
    EXPECT_EQ(ret(run(with_ctx(store_bytes(20, 1, 1, BPF_F_RECOMPUTE_CSUM)), frame)), 0);
}

TEST_P(SkbHelpers, StoreBytesErrors) {
    const std::vector<uint8_t> frame = tcp_frame();
    const auto end = static_cast<int32_t>(frame.size());
    TcRun r = run(with_ctx(store_bytes(end - 1, 0, 2, 0)), frame);  // one byte beyond the packet
    EXPECT_EQ(ret(r), -EFAULT);
    EXPECT_EQ(r.packet(), frame);
    EXPECT_EQ(ret(run(with_ctx(store_bytes(-1, 0, 1, 0)), frame)), -EFAULT);  // offset > INT_MAX
    EXPECT_EQ(ret(run(with_ctx(store_bytes(0, 0, 1, 4)), frame)), -EINVAL);   // unknown flag
}

// ---- checksums ----

TEST_P(SkbHelpers, L3CsumReplaceKeepsTheIpChecksum) {
    const std::vector<uint8_t> frame = tcp_frame();
    // TOS 0x10 -> 0xb8: the 16-bit word (version/ihl, tos), csum_replace2.
    std::vector<uint8_t> changed = frame;
    changed[kEth + 1] = 0xb8;
    TcRun r = run(with_ctx(cat({store_bytes(kEth + 1, 0xb8, 1, 0), kExitOnError,
                                l3(kEth + 10, raw(frame, kEth, 2), raw(changed, kEth, 2), 2)})),
                  frame);
    EXPECT_EQ(ret(r), 0);
    EXPECT_TRUE(ipv4_header_ok(r.packet()));
    EXPECT_EQ(r.packet()[kEth + 1], 0xb8);
    // The source address, csum_replace4.
    changed = frame;
    const uint8_t nat[4] = {100, 64, 3, 4};
    std::memcpy(&changed[kEth + 12], nat, 4);
    uint32_t nat_word;
    std::memcpy(&nat_word, nat, 4);
    r = run(with_ctx(cat({store_bytes(kEth + 12, nat_word, 4, 0), kExitOnError,
                          l3(kEth + 10, raw(frame, kEth + 12, 4), nat_word, 4)})),
            frame);
    EXPECT_EQ(ret(r), 0);
    EXPECT_TRUE(ipv4_header_ok(r.packet()));
    // A difference (size 0, as from bpf_csum_diff): ~old + new.
    const uint32_t diff = ~static_cast<uint32_t>(raw(frame, kEth + 12, 4));
    const uint64_t sum = uint64_t{diff} + nat_word;
    r = run(with_ctx(cat({store_bytes(kEth + 12, nat_word, 4, 0), kExitOnError,
                          l3(kEth + 10, 0, static_cast<uint32_t>(sum + (sum >> 32)), 0)})),
            frame);
    EXPECT_EQ(ret(r), 0);
    EXPECT_TRUE(ipv4_header_ok(r.packet()));
}

TEST_P(SkbHelpers, L4CsumReplaceWithThePseudoHeader) {
    const std::vector<uint8_t> frame = tcp_frame();
    std::vector<uint8_t> changed = frame;
    const uint8_t nat[4] = {100, 64, 3, 4};
    std::memcpy(&changed[kEth + 12], nat, 4);
    const uint64_t old_addr = raw(frame, kEth + 12, 4), new_addr = raw(changed, kEth + 12, 4);
    // SNAT as Cilium does: address, IP checksum, TCP checksum (pseudo header), then the port.
    const uint64_t old_port = raw(frame, kEth + 20, 2), new_port = htons(1024);
    TcRun r = run(with_ctx(cat({store_bytes(kEth + 12, new_addr, 4, 0), kExitOnError,
                                l3(kEth + 10, old_addr, new_addr, 4), kExitOnError,
                                l4(kEth + 36, old_addr, new_addr, BPF_F_PSEUDO_HDR | 4), kExitOnError,
                                store_bytes(kEth + 20, new_port, 2, 0), kExitOnError,
                                l4(kEth + 36, old_port, new_port, 2)})),
                  frame);
    EXPECT_EQ(ret(r), 0);
    const std::vector<uint8_t> out = r.packet();
    EXPECT_TRUE(ipv4_header_ok(out));
    EXPECT_TRUE(tcp_ok(out));
    EXPECT_EQ(raw(out, kEth + 20, 2), new_port);
    // BPF_F_IPV6 is accepted.
    EXPECT_EQ(ret(run(with_ctx(l4(kEth + 36, 0, 0, BPF_F_IPV6)), frame)), 0);
}

TEST_P(SkbHelpers, L4CsumReplaceMangledZero) {
    std::vector<uint8_t> frame = tcp_frame();
    const size_t field = kEth + 36;
    // A UDP-style checksum of 0 means "none": left alone with BPF_F_MARK_MANGLED_0.
    put16(frame, field, 0);
    TcRun r = run(with_ctx(l4(field, 0, 0x1234, BPF_F_MARK_MANGLED_0)), frame);
    EXPECT_EQ(ret(r), 0);
    EXPECT_EQ(raw(r.packet(), field, 2), 0u);
    // ... unless BPF_F_MARK_ENFORCE.
    r = run(with_ctx(l4(field, 0, 0x1234, BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE)), frame);
    EXPECT_NE(raw(r.packet(), field, 2), 0u);
    // A result of 0 is written as CSUM_MANGLED_0 (0xffff).
    put16(frame, field, 0x3412);  // loads as 0x1234 on this little-endian host
    r = run(with_ctx(l4(field, 0, 0x1234, BPF_F_MARK_MANGLED_0)), frame);
    EXPECT_EQ(ret(r), 0);
    EXPECT_EQ(raw(r.packet(), field, 2), 0xffffu);
    r = run(with_ctx(l4(field, 0, 0x1234, 0)), frame);
    EXPECT_EQ(raw(r.packet(), field, 2), 0u);
}

TEST_P(SkbHelpers, CsumReplaceErrors) {
    const std::vector<uint8_t> frame = tcp_frame();
    const auto end = static_cast<int32_t>(frame.size());
    for (int helper : {BPF_FUNC_l3_csum_replace, BPF_FUNC_l4_csum_replace}) {
        SCOPED_TRACE(helper);
        EXPECT_EQ(ret(run(with_ctx(csum(helper, kEth + 11, 1, 2, 2)), frame)), -EFAULT);  // odd offset
        EXPECT_EQ(ret(run(with_ctx(csum(helper, end - 1, 1, 2, 2)), frame)), -EFAULT);   // beyond the packet
        EXPECT_EQ(ret(run(with_ctx(csum(helper, 0x10000, 1, 2, 2)), frame)), -EFAULT);   // offset > 0xffff
        EXPECT_EQ(ret(run(with_ctx(csum(helper, kEth + 10, 1, 2, 3)), frame)), -EINVAL);  // field size 3
        EXPECT_EQ(ret(run(with_ctx(csum(helper, kEth + 10, 1, 2, 0)), frame)), -EINVAL);  // diff with from != 0
        TcRun r = run(with_ctx(csum(helper, kEth + 10, 1, 2, 1ull << 9)), frame);     // unknown flag
        EXPECT_EQ(ret(r), -EINVAL);
        EXPECT_EQ(r.packet(), frame);
    }
    EXPECT_EQ(ret(run(with_ctx(l3(kEth + 10, 1, 2, BPF_F_PSEUDO_HDR | 2)), frame)), -EINVAL);  // l4's flag
}

// ---- bpf_skb_adjust_room ----

TEST_P(SkbHelpers, AdjustRoomGrowsAfterTheMacHeader) {
    const std::vector<uint8_t> frame = tcp_frame();
    TcRun r = run(with_ctx(adjust_room(8, BPF_ADJ_ROOM_MAC, 0)), frame);
    EXPECT_EQ(ret(r), 0);
    std::vector<uint8_t> want(frame.begin(), frame.begin() + kEth);
    want.insert(want.end(), 8, 0);
    want.insert(want.end(), frame.begin() + kEth, frame.end());
    EXPECT_EQ(r.packet(), want);
    EXPECT_EQ(r.skb.skb.len, frame.size() + 8);
    EXPECT_EQ(r.skb.data, reinterpret_cast<uintptr_t>(r.skb.packet));
    EXPECT_EQ(r.skb.data_end - r.skb.data, frame.size() + 8);
    EXPECT_EQ(r.skb.headroom, 56u);
}

TEST_P(SkbHelpers, AdjustRoomGrowsAfterTheNetworkHeader) {
    const std::vector<uint8_t> frame = tcp_frame();
    TcRun r = run(with_ctx(adjust_room(12, BPF_ADJ_ROOM_NET, 0)), frame);
    EXPECT_EQ(ret(r), 0);
    std::vector<uint8_t> want(frame.begin(), frame.begin() + kEth + 20);
    want.insert(want.end(), 12, 0);
    want.insert(want.end(), frame.begin() + kEth + 20, frame.end());
    EXPECT_EQ(r.packet(), want);
}

TEST_P(SkbHelpers, AdjustRoomShrinks) {
    // GUE-style decapsulation: drop 20 bytes after the MAC header.
    const std::vector<uint8_t> frame = tcp_frame();
    TcRun r = run(with_ctx(adjust_room(-20, BPF_ADJ_ROOM_MAC, 0)), frame);
    EXPECT_EQ(ret(r), 0);
    std::vector<uint8_t> want(frame.begin(), frame.begin() + kEth);
    want.insert(want.end(), frame.begin() + kEth + 20, frame.end());
    EXPECT_EQ(r.packet(), want);
    EXPECT_EQ(r.skb.skb.len, frame.size() - 20);
    // Decapsulating to IPv6 changes skb->protocol.
    r = run(with_ctx(adjust_room(-8, BPF_ADJ_ROOM_MAC, 1ull << 8 /* BPF_F_ADJ_ROOM_DECAP_L3_IPV6 */)), frame);
    EXPECT_EQ(ret(r), 0);
    EXPECT_EQ(r.skb.skb.protocol, htons(ETH_P_IPV6));
}

TEST_P(SkbHelpers, AdjustRoomEncapsulationFlags) {
    const std::vector<uint8_t> frame = tcp_frame();
    TcRun r = run(with_ctx(adjust_room(40, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV6)), frame);
    EXPECT_EQ(ret(r), 0);
    EXPECT_EQ(r.skb.skb.protocol, htons(ETH_P_IPV6));  // the new outer header
    EXPECT_EQ(ret(run(with_ctx(adjust_room(28, BPF_ADJ_ROOM_MAC,
                                           BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP)),
                       frame)),
              0);
    EXPECT_EQ(ret(run(with_ctx(adjust_room(40, BPF_ADJ_ROOM_MAC,
                                           BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L3_IPV6)),
                       frame)),
              -EINVAL);
    EXPECT_EQ(ret(run(with_ctx(adjust_room(28, BPF_ADJ_ROOM_MAC,
                                           BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_GRE |
                                               BPF_F_ADJ_ROOM_ENCAP_L4_UDP)),
                       frame)),
              -EINVAL);
    // An inner MAC header longer than the room, or an Ethernet one shorter than 14 bytes.
    EXPECT_EQ(ret(run(with_ctx(adjust_room(8, BPF_ADJ_ROOM_MAC,
                                           BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L2(14))),
                       frame)),
              -EINVAL);
    EXPECT_EQ(ret(run(with_ctx(adjust_room(50, BPF_ADJ_ROOM_MAC,
                                           BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L2_ETH |
                                               BPF_F_ADJ_ROOM_ENCAP_L2(8))),
                       frame)),
              -EINVAL);
    // Encap flags when shrinking, decap flags when growing.
    EXPECT_EQ(ret(run(with_ctx(adjust_room(-8, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4)), frame)), -EINVAL);
    EXPECT_EQ(ret(run(with_ctx(adjust_room(8, BPF_ADJ_ROOM_MAC, 1ull << 7)), frame)), -EINVAL);
}

TEST_P(SkbHelpers, AdjustRoomErrors) {
    const std::vector<uint8_t> frame = tcp_frame();  // 80 bytes: 66 after the MAC header
    const auto adjust = [&](int32_t diff, uint32_t mode, uint64_t flags, uint32_t headroom = 64) {
        TcRun r = run(with_ctx(adjust_room(diff, mode, flags)), frame, headroom);
        EXPECT_EQ(r.packet(), frame) << "a failed call changed the packet";
        return ret(r);
    };
    EXPECT_EQ(adjust(8, BPF_ADJ_ROOM_MAC, 0, 4), -ENOMEM);       // no room before the packet
    EXPECT_EQ(adjust(8, 7, 0), -kENOTSUPP);                      // unknown mode
    EXPECT_EQ(adjust(0x1000, BPF_ADJ_ROOM_MAC, 0), -EFAULT);     // more than 0xfff
    EXPECT_EQ(adjust(-66, BPF_ADJ_ROOM_MAC, 0), -kENOTSUPP);     // all of the network packet
    EXPECT_EQ(adjust(-47, BPF_ADJ_ROOM_MAC, 0), -kENOTSUPP);     // less than an IPv4 header left
    EXPECT_EQ(adjust(8, BPF_ADJ_ROOM_MAC, 1ull << 30), -EINVAL); // unknown flag
    std::vector<uint8_t> arp = frame;
    arp[13] = 0x06;  // ETH_P_ARP: only IPv4 and IPv6 packets
    EXPECT_EQ(ret(run(with_ctx(adjust_room(8, BPF_ADJ_ROOM_MAC, 0)), arp)), -kENOTSUPP);
    // Beyond BPF_SKB_MAX_LEN (16064 bytes).
    const std::vector<uint8_t> big = tcp_frame(16060);
    EXPECT_EQ(ret(run(with_ctx(adjust_room(8, BPF_ADJ_ROOM_MAC, 0)), big)), -kENOTSUPP);
    EXPECT_EQ(ret(run(with_ctx(adjust_room(4, BPF_ADJ_ROOM_MAC, 0)), big)), 0);
}

TEST_P(SkbHelpers, PacketPointersAndLdAbsFollowTheNewPacket) {
    const std::vector<uint8_t> frame = tcp_frame();
    // adjust_room(+4); R2 = data, R3 = data_end; if (R2 + 19 > R3) exit; return *(u8 *)(R2 + 18)
    const Prog direct = with_ctx(cat({adjust_room(4, BPF_ADJ_ROOM_MAC, 0), kExitOnError,
                                      {BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(struct __sk_buff, data)),
                                       BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_6, offsetof(struct __sk_buff, data_end)),
                                       BPF_MOV64_REG(BPF_REG_4, BPF_REG_2), BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 19),
                                       BPF_MOV64_IMM(BPF_REG_0, 1000), BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 1),
                                       BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_2, 18)}}));
    EXPECT_EQ(run(direct, frame).r0, 0x45u);  // the IPv4 header moved 4 bytes on
    // skb->len read from the context after the call.
    const Prog len = with_ctx(cat({adjust_room(-4, BPF_ADJ_ROOM_NET, 0), kExitOnError,
                                   {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_6, offsetof(struct __sk_buff, len))}}));
    EXPECT_EQ(run(len, frame).r0, frame.size() - 4);
    // LD_ABS (R6 = ctx) reads the new packet too.
    const Prog abs = with_ctx(cat({adjust_room(4, BPF_ADJ_ROOM_MAC, 0), kExitOnError, {BPF_LD_ABS(BPF_B, 18)}}));
    EXPECT_EQ(run(abs, frame).r0, 0x45u);
}

INSTANTIATE_TEST_SUITE_P(Engines, SkbHelpers, ::testing::Values(Engine::Interpreter, Engine::Jit),
                         [](const auto& p) { return p.param == Engine::Jit ? "Jit" : "Interpreter"; });

// The packet runner's tc path gives the helpers the packet in place.
TEST(SkbHelpersRunner, StoreBytesThroughThePacketRunner) {
    Runtime rt;
    const Loaded l = load(rt, BPF_PROG_TYPE_SCHED_CLS, with_ctx(store_bytes(0, 0xffffffffffffull, 6, 0)));
    ASSERT_EQ(l.error, 0) << l.log;
    const attach::PacketVerdict v = run_packet(rt, l.fd, tcp_frame());
    EXPECT_EQ(v.r0, 0u);
    ASSERT_GE(v.out.size(), 6u);
    for (size_t i = 0; i < 6; ++i) EXPECT_EQ(v.out[i], 0xff);
    (void)rt.close(l.fd);
}

TEST(SkbHelpersRunner, OnlyTcProgramsMayCallThem) {
    Runtime rt;
    for (uint32_t type : {BPF_PROG_TYPE_SOCKET_FILTER, BPF_PROG_TYPE_CGROUP_SKB, BPF_PROG_TYPE_XDP}) {
        const Loaded l = load(rt, type, with_ctx(store_bytes(0, 0, 1, 0)));
        EXPECT_EQ(l.error, EINVAL) << type;
        EXPECT_NE(l.log.find("bpf_skb_store_bytes#9"), std::string::npos) << l.log;
    }
}

}  // namespace
}  // namespace bpfrt::test
