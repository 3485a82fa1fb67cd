// __sk_buff and xdp_md: which fields each program type may read and write
// (through PROG_LOAD, i.e. the verifier), what they hold at run time, LD_ABS /
// LD_IND edge cases, XDP actions and the adjust helpers.
#include "test_support.hpp"

#include <linux/if_ether.h>

#include <cstddef>

namespace bpfrt::test {
namespace {

#define SKB(field) static_cast<int16_t>(offsetof(struct __sk_buff, field))
#define XDP(field) static_cast<int16_t>(offsetof(struct xdp_md, field))

enum class Rule { Read, ReadWrite, Forbidden };

struct FieldRule {
    const char* name;
    int16_t off;
    Rule rule;
};

// sk_filter_is_valid_access (socket filters).
const FieldRule kSocketFilterRules[] = {
    {"len", SKB(len), Rule::Read},
    {"pkt_type", SKB(pkt_type), Rule::Read},
    {"mark", SKB(mark), Rule::Read},
    {"queue_mapping", SKB(queue_mapping), Rule::Read},
    {"protocol", SKB(protocol), Rule::Read},
    {"vlan_present", SKB(vlan_present), Rule::Read},
    {"vlan_tci", SKB(vlan_tci), Rule::Read},
    {"vlan_proto", SKB(vlan_proto), Rule::Read},
    {"priority", SKB(priority), Rule::Read},
    {"ingress_ifindex", SKB(ingress_ifindex), Rule::Read},
    {"ifindex", SKB(ifindex), Rule::Read},
    {"tc_index", SKB(tc_index), Rule::Read},
    {"cb[0]", SKB(cb[0]), Rule::ReadWrite},
    {"cb[4]", SKB(cb[4]), Rule::ReadWrite},
    {"hash", SKB(hash), Rule::Read},
    {"napi_id", SKB(napi_id), Rule::Read},
    {"data", SKB(data), Rule::Forbidden},
    {"data_end", SKB(data_end), Rule::Forbidden},
    {"data_meta", SKB(data_meta), Rule::Forbidden},
    {"tc_classid", SKB(tc_classid), Rule::Forbidden},
    {"family", SKB(family), Rule::Forbidden},
    {"remote_ip4", SKB(remote_ip4), Rule::Forbidden},
    {"local_port", SKB(local_port), Rule::Forbidden},
    {"wire_len", SKB(wire_len), Rule::Forbidden},
    {"tstamp", SKB(tstamp), Rule::Forbidden},
};

int load_access(Runtime& rt, uint32_t type, int16_t off, int size, bool write) {
    const uint8_t sz = size == 1 ? BPF_B : size == 2 ? BPF_H : size == 4 ? BPF_W : BPF_DW;
    std::vector<bpf_insn> insns;
    if (write)
        insns.push_back(BPF_ST_MEM(sz, BPF_REG_1, off, 1));
    else
        insns.push_back(BPF_LDX_MEM(sz, BPF_REG_0, BPF_REG_1, off));
    insns.push_back(BPF_MOV64_IMM(BPF_REG_0, 0));
    insns.push_back(BPF_EXIT_INSN());
    return load(rt, type, insns).error;
}

TEST(SkbContext, SocketFilterFieldRules) {
    Runtime rt;
    for (const FieldRule& f : kSocketFilterRules) {
        const bool readable = f.rule != Rule::Forbidden;
        const bool writable = f.rule == Rule::ReadWrite;
        EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SOCKET_FILTER, f.off, 4, false), readable ? 0 : EACCES) << f.name;
        EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SOCKET_FILTER, f.off, 4, true), writable ? 0 : EACCES) << f.name;
    }
    // Narrow reads of u32 fields are allowed, wider ones and misaligned ones are not.
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SOCKET_FILTER, SKB(len), 1, false), 0);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SOCKET_FILTER, SKB(len), 2, false), 0);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SOCKET_FILTER, SKB(len), 8, false), EACCES);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SOCKET_FILTER, SKB(len) + 1, 2, false), EACCES);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SOCKET_FILTER, sizeof(struct __sk_buff), 4, false), EACCES);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SOCKET_FILTER, -4, 4, false), EACCES);
}

TEST(SkbContext, TcMayReadPacketPointersAndWriteMark) {
    Runtime rt;
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SCHED_CLS, SKB(data), 4, false), 0);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SCHED_CLS, SKB(data_end), 4, false), 0);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SCHED_CLS, SKB(mark), 4, true), 0);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_SCHED_CLS, SKB(len), 4, true), EACCES);
}

// r0 = the u32 field at `off`.
std::vector<bpf_insn> read_field(int16_t off) {
    return {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, off), BPF_EXIT_INSN()};
}

TEST(SkbContext, FieldValuesOfAPacket) {
    Runtime rt;
    auto frame = ip_frame(17, 100);
    auto value = [&](int16_t off, attach::PacketRunOptions options = {}) {
        const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, read_field(off));
        EXPECT_EQ(l.error, 0) << l.log;
        return run_packet(rt, l.fd, frame, options).r0;
    };
    EXPECT_EQ(value(SKB(len)), 100u);
    EXPECT_EQ(value(SKB(protocol)), 0x0008u);  // htons(ETH_P_IP) as a u32 read
    EXPECT_EQ(value(SKB(pkt_type)), static_cast<uint64_t>(PACKET_OUTGOING));
    attach::PacketRunOptions host;
    host.pkt_type = PACKET_HOST;
    host.ifindex = 7;
    EXPECT_EQ(value(SKB(pkt_type), host), static_cast<uint64_t>(PACKET_HOST));
    EXPECT_EQ(value(SKB(ifindex), host), 7u);
    attach::PacketRunOptions network;
    network.view = runtime::SkbView::Network;
    EXPECT_EQ(value(SKB(len), network), 86u);  // from the IP header, as the kernel's test run
    EXPECT_EQ(value(SKB(vlan_present)), 0u);
    // A VLAN tag in the frame: reported in the vlan fields, protocol is the inner type.
    frame = ip_frame(17, 100);
    frame[12] = 0x81, frame[13] = 0x00, frame[14] = 0x00, frame[15] = 0x2a, frame[16] = 0x08, frame[17] = 0x00;
    EXPECT_EQ(value(SKB(vlan_present)), 1u);
    EXPECT_EQ(value(SKB(vlan_tci)), 42u);
    EXPECT_EQ(value(SKB(protocol)), 0x0008u);
}

TEST(SkbContext, CbIsWritableScratch) {
    Runtime rt;
    const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER,
                          {BPF_ST_MEM(BPF_W, BPF_REG_1, SKB(cb[2]), 1234), BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, SKB(cb[2])),
                           BPF_EXIT_INSN()});
    ASSERT_EQ(l.error, 0) << l.log;
    EXPECT_EQ(run_packet(rt, l.fd, ip_frame(6)).r0, 1234u);
}

TEST(SocketFilter, ReturnValueIsBytesToKeep) {
    Runtime rt;
    auto keep = [&](int32_t n) {
        const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, {BPF_MOV64_IMM(BPF_REG_0, n), BPF_EXIT_INSN()});
        EXPECT_EQ(l.error, 0) << l.log;
        return run_packet(rt, l.fd, ip_frame(6, 80));
    };
    EXPECT_FALSE(keep(0).keep);
    EXPECT_EQ(keep(20).out.size(), 20u);
    EXPECT_EQ(keep(1000).out.size(), 80u);  // at most the packet
    EXPECT_EQ(keep(-1).out.size(), 80u);    // 0xffffffff: everything
}

// ---- LD_ABS / LD_IND ----

uint64_t ld_packet(Runtime& rt, std::vector<bpf_insn> body, size_t frame_len = 64) {
    std::vector<bpf_insn> insns = {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_MOV64_IMM(BPF_REG_0, 77)};
    insns.insert(insns.end(), body.begin(), body.end());
    insns.push_back(BPF_EXIT_INSN());
    const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, insns);
    EXPECT_EQ(l.error, 0) << l.log;
    auto frame = ip_frame(6, frame_len);
    frame[frame_len - 1] = 0xab;
    frame[frame_len - 2] = 0xcd;
    return run_packet(rt, l.fd, frame).r0;
}

TEST(LdAbs, NetworkOrderAndPacketEnd) {
    Runtime rt;
    EXPECT_EQ(ld_packet(rt, {BPF_LD_ABS(BPF_H, 12)}), 0x0800u);          // big-endian
    EXPECT_EQ(ld_packet(rt, {BPF_LD_ABS(BPF_B, 63)}), 0xabu);            // the last byte
    EXPECT_EQ(ld_packet(rt, {BPF_LD_ABS(BPF_H, 62)}), 0xcdabu);          // the last two
    EXPECT_EQ(ld_packet(rt, {BPF_LD_ABS(BPF_H, 63)}), 0u);               // one past: ends with 0
    EXPECT_EQ(ld_packet(rt, {BPF_LD_ABS(BPF_W, 64)}), 0u);
    EXPECT_EQ(ld_packet(rt, {BPF_LD_ABS(BPF_B, 0x7fffffff)}), 0u);       // huge
    // The program really ends: r0 = 5 after the load is never reached.
    EXPECT_EQ(ld_packet(rt, {BPF_LD_ABS(BPF_B, 64), BPF_MOV64_IMM(BPF_REG_0, 5)}), 0u);
}

TEST(LdInd, RegisterPlusImmediate) {
    Runtime rt;
    EXPECT_EQ(ld_packet(rt, {BPF_MOV64_IMM(BPF_REG_7, 60), BPF_LD_IND(BPF_B, BPF_REG_7, 3)}), 0xabu);
    EXPECT_EQ(ld_packet(rt, {BPF_MOV64_IMM(BPF_REG_7, -1), BPF_LD_IND(BPF_B, BPF_REG_7, 0)}), 0u);  // negative
    EXPECT_EQ(ld_packet(rt, {BPF_MOV64_IMM(BPF_REG_7, -1), BPF_LD_IND(BPF_B, BPF_REG_7, 1)}), 0x10u);  // -1 + 1 = 0
    EXPECT_EQ(ld_packet(rt, {BPF_MOV64_IMM(BPF_REG_7, 0x7fffffff), BPF_LD_IND(BPF_W, BPF_REG_7, 1)}), 0u);
}

// ---- XDP ----

TEST(XdpContext, FieldRules) {
    Runtime rt;
    for (int16_t off : {XDP(data), XDP(data_end), XDP(data_meta), XDP(ingress_ifindex), XDP(rx_queue_index)}) {
        EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_XDP, off, 4, false), 0) << off;
        EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_XDP, off, 4, true), EACCES) << off;
    }
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_XDP, XDP(egress_ifindex), 4, false), EACCES);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_XDP, XDP(data), 8, false), EACCES);
    EXPECT_EQ(load_access(rt, BPF_PROG_TYPE_XDP, sizeof(struct xdp_md), 4, false), EACCES);
}

TEST(XdpContext, IfindexAndQueue) {
    Runtime rt;
    attach::PacketRunOptions o;
    o.ifindex = 9;
    o.rx_queue = 3;
    Loaded l = load(rt, BPF_PROG_TYPE_XDP, read_field(XDP(ingress_ifindex)));
    ASSERT_EQ(l.error, 0) << l.log;
    EXPECT_EQ(run_packet(rt, l.fd, ip_frame(6), o).r0, 9u);
    l = load(rt, BPF_PROG_TYPE_XDP, read_field(XDP(rx_queue_index)));
    EXPECT_EQ(run_packet(rt, l.fd, ip_frame(6), o).r0, 3u);
}

TEST(Xdp, EveryAction) {
    Runtime rt;
    for (int action : {XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT}) {
        const Loaded l = load(rt, BPF_PROG_TYPE_XDP, {BPF_MOV64_IMM(BPF_REG_0, action), BPF_EXIT_INSN()});
        ASSERT_EQ(l.error, 0) << l.log;
        const auto v = run_packet(rt, l.fd, ip_frame(6));
        EXPECT_EQ(v.r0, static_cast<uint64_t>(action));
        EXPECT_EQ(v.keep, action == XDP_PASS || action == XDP_TX);
        EXPECT_EQ(v.out.size(), 64u);
    }
    EXPECT_STREQ(attach::xdp_action_name(XDP_TX), "tx");
    EXPECT_STREQ(attach::xdp_action_name(99), "invalid");
}

// data[0] = 0xee when data + 1 <= data_end; returns XDP_TX.
TEST(Xdp, DirectPacketWrite) {
    Runtime rt;
    const Loaded l = load(rt, BPF_PROG_TYPE_XDP,
                          {BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, XDP(data)),
                           BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, XDP(data_end)), BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
                           BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 1), BPF_MOV64_IMM(BPF_REG_0, XDP_DROP),
                           BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 2), BPF_ST_MEM(BPF_B, BPF_REG_2, 0, 0xee),
                           BPF_MOV64_IMM(BPF_REG_0, XDP_TX), BPF_EXIT_INSN()});
    ASSERT_EQ(l.error, 0) << l.log;
    const auto v = run_packet(rt, l.fd, ip_frame(6));
    EXPECT_EQ(v.r0, static_cast<uint64_t>(XDP_TX));
    ASSERT_EQ(v.out.size(), 64u);
    EXPECT_EQ(v.out[0], 0xee);
    EXPECT_EQ(v.out[1], 0x11);
}

// Calls an adjust helper with `delta`; returns (helper result, packet length after).
std::pair<int64_t, size_t> adjust(Runtime& rt, int helper, int32_t delta, size_t len = 64) {
    const Loaded l = load(rt, BPF_PROG_TYPE_XDP,
                          {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_MOV64_IMM(BPF_REG_2, delta), BPF_CALL_FUNC(helper),
                           BPF_MOV64_REG(BPF_REG_7, BPF_REG_0),
                           // r0 = result; the packet length is seen through the output span
                           BPF_MOV64_REG(BPF_REG_0, BPF_REG_7), BPF_EXIT_INSN()});
    EXPECT_EQ(l.error, 0) << l.log;
    const auto v = run_packet(rt, l.fd, ip_frame(6, len));
    return {static_cast<int32_t>(v.r0), v.out.size()};
}

TEST(Xdp, AdjustHeadGrowsAndShrinksWithinLimits) {
    Runtime rt;
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_head, -14), std::make_pair(int64_t{0}, size_t{78}));
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_head, 14), std::make_pair(int64_t{0}, size_t{50}));
    // 256 bytes of headroom, the first 40 (struct xdp_frame) unusable.
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_head, -216).first, 0);
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_head, -217).first, -EINVAL);
    // At least an Ethernet header must remain.
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_head, 50).first, 0);
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_head, 51).first, -EINVAL);
}

TEST(Xdp, AdjustTailGrowsAndShrinksWithinLimits) {
    Runtime rt;
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_tail, -10), std::make_pair(int64_t{0}, size_t{54}));
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_tail, 100), std::make_pair(int64_t{0}, size_t{164}));
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_tail, 3520 - 64).first, 0);  // 4096 - 256 - 320
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_tail, 3520 - 64 + 1).first, -EINVAL);
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_tail, -50).first, 0);
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_tail, -51).first, -EINVAL);
}

TEST(Xdp, AdjustMetaRules) {
    Runtime rt;
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_meta, -4).first, 0);
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_meta, -32).first, 0);
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_meta, -3).first, -EACCES);   // not a multiple of 4
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_meta, -36).first, 0);        // over 32 bytes: fine since Linux 6.x
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_meta, -216).first, 0);       // up to the reserved xdp_frame
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_meta, -220).first, -EINVAL);
    EXPECT_EQ(adjust(rt, BPF_FUNC_xdp_adjust_meta, 4).first, -EINVAL);    // after data
}

TEST(Xdp, AdjustHelpersAreXdpOnly) {
    Runtime rt;
    const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER,
                          {BPF_MOV64_IMM(BPF_REG_2, 0), BPF_CALL_FUNC(BPF_FUNC_xdp_adjust_head), BPF_EXIT_INSN()});
    EXPECT_NE(l.error, 0);
}

}  // namespace
}  // namespace bpfrt::test
