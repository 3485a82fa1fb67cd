// BPF_PROG_TEST_RUN with ctx_in / ctx_out: struct __sk_buff for socket
// filters and tc (which fields may be given, what the program sees, what
// comes back), struct xdp_md for XDP (metadata, ingress interface and
// queue), the size rules; and the same attrs against the host kernel where
// it permits bpf().
#include "../attach/bpf_backend.hpp"
#include "test_util.hpp"

#include <net/if.h>

#include <array>
#include <filesystem>
#include <optional>
#include <string>

namespace bpfrt::test {
namespace {

#define SKB(field) static_cast<int16_t>(offsetof(struct __sk_buff, field))
#define XDP(field) static_cast<int16_t>(offsetof(struct xdp_md, field))

struct RunOut {
    long result = 0;  // 0 or -errno
    uint32_t retval = 0;
    std::vector<uint8_t> data_out;
    std::vector<uint8_t> ctx_out;
    uint32_t ctx_size_out = 0;
};

// One test run: ctx_in when `ctx_in` is given, ctx_out (of `ctx_capacity`
// bytes) when `ctx_capacity` is.
RunOut test_run(const Backend& b, long prog, std::span<const uint8_t> data,
                std::optional<std::span<const uint8_t>> ctx_in, std::optional<uint32_t> ctx_capacity) {
    RunOut out;
    out.data_out.assign(data.size() + 512, 0);
    out.ctx_out.assign(ctx_capacity.value_or(0) + 16, 0xa5);
    auto attr = zeroed_attr();
    attr.test.prog_fd = static_cast<uint32_t>(prog);
    attr.test.data_in = reinterpret_cast<uintptr_t>(data.data());
    attr.test.data_size_in = static_cast<uint32_t>(data.size());
    attr.test.data_out = reinterpret_cast<uintptr_t>(out.data_out.data());
    attr.test.data_size_out = static_cast<uint32_t>(out.data_out.size());
    if (ctx_in) {
        attr.test.ctx_in = reinterpret_cast<uintptr_t>(ctx_in->data());
        attr.test.ctx_size_in = static_cast<uint32_t>(ctx_in->size());
    }
    if (ctx_capacity) {
        attr.test.ctx_out = reinterpret_cast<uintptr_t>(out.ctx_out.data());
        attr.test.ctx_size_out = *ctx_capacity;
    }
    out.result = b.bpf(BPF_PROG_TEST_RUN, attr);
    out.retval = attr.test.retval;
    out.data_out.resize(std::min<size_t>(attr.test.data_size_out, out.data_out.size()));
    out.ctx_size_out = attr.test.ctx_size_out;
    out.ctx_out.resize(std::min<size_t>(out.ctx_size_out, ctx_capacity.value_or(0)));
    return out;
}

template <class T>
std::span<const uint8_t> as_span(const T& value) {
    return std::span(reinterpret_cast<const uint8_t*>(&value), sizeof value);
}

std::string hex(std::span<const uint8_t> bytes) {
    std::string s;
    char buf[4];
    for (uint8_t b : bytes) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        s += buf;
    }
    return s;
}

// Everything a run produced, as one comparable line.
std::string describe(const RunOut& r) {
    if (r.result < 0) return outcome(r.result);
    return "retval " + std::to_string(r.retval) + " data " + hex(r.data_out) + " ctx(" +
           std::to_string(r.ctx_size_out) + ") " + hex(r.ctx_out);
}

struct __sk_buff zero_skb() {
    struct __sk_buff s;
    std::memset(&s, 0, sizeof s);
    return s;
}

struct xdp_md zero_md() {
    struct xdp_md m;
    std::memset(&m, 0, sizeof m);
    return m;
}

// r0 = the u32 (or both halves of the u64, xor-folded) at `off` of the context.
std::vector<bpf_insn> read_ctx_field(int16_t off, bool wide = false) {
    if (!wide) return {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, off), BPF_EXIT_INSN()};
    return {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, off), BPF_MOV64_REG(BPF_REG_2, BPF_REG_0),
            BPF_ALU64_IMM(BPF_RSH, BPF_REG_2, 32), BPF_ALU64_REG(BPF_XOR, BPF_REG_0, BPF_REG_2), BPF_EXIT_INSN()};
}

// ---- __sk_buff ----

TEST(TestRunCtx, SkbFieldsInSeenAndOut) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    // Writes mark, priority, cb[1], tstamp; returns ingress_ifindex + cb[0] + gso_segs + wire_len.
    const std::vector<bpf_insn> insns = {
        BPF_ST_MEM(BPF_W, BPF_REG_1, SKB(mark), 0x1234),
        BPF_ST_MEM(BPF_W, BPF_REG_1, SKB(priority), 9),
        BPF_ST_MEM(BPF_W, BPF_REG_1, SKB(cb[1]), 77),
        BPF_MOV64_IMM(BPF_REG_2, 555),
        BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_2, SKB(tstamp)),
        BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, SKB(ingress_ifindex)),
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, SKB(cb[0])),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_2),
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, SKB(gso_segs)),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_2),
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, SKB(wire_len)),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_2),
        BPF_EXIT_INSN(),
    };
    const int fd = load_filter(rt.get(), insns, BPF_PROG_TYPE_SCHED_CLS);
    const auto frame = ip_frame(6, 80);
    auto in = zero_skb();
    in.mark = 1;
    in.priority = 2;
    in.ingress_ifindex = 1000;
    in.cb[0] = 20000;
    in.cb[4] = 4;
    in.tstamp = 1;
    in.wire_len = 100;
    in.gso_segs = 300000 & 0xffff;
    in.gso_size = 1400;
    in.hwtstamp = 99;
    const auto r = test_run(b, fd, frame, as_span(in), sizeof in);
    ASSERT_EQ(r.result, 0) << bpfrt_last_error();
    EXPECT_EQ(r.retval, 1000u + 20000u + in.gso_segs + 100u);
    ASSERT_EQ(r.ctx_out.size(), sizeof(struct __sk_buff));
    struct __sk_buff out;
    std::memcpy(&out, r.ctx_out.data(), sizeof out);
    EXPECT_EQ(out.mark, 0x1234u);
    EXPECT_EQ(out.priority, 9u);
    EXPECT_EQ(out.cb[0], 20000u);
    EXPECT_EQ(out.cb[1], 77u);
    EXPECT_EQ(out.cb[4], 4u);
    EXPECT_EQ(out.tstamp, 555u);
    EXPECT_EQ(out.ingress_ifindex, 1000u);
    EXPECT_EQ(out.ifindex, 1u);  // the loopback device
    EXPECT_EQ(out.wire_len, 100u);
    EXPECT_EQ(out.gso_size, 1400u);
    EXPECT_EQ(out.hwtstamp, 99u);
    EXPECT_EQ(out.len, 0u);  // not given back
    EXPECT_EQ(r.data_out.size(), 80u);
}

TEST(TestRunCtx, SkbDefaultsWithAndWithoutAContext) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    const auto frame = ip_frame(17, 70);
    auto field = [&](int16_t off, std::optional<std::span<const uint8_t>> ctx) {
        const int fd = load_filter(rt.get(), read_ctx_field(off), BPF_PROG_TYPE_SCHED_CLS);
        const auto r = test_run(b, fd, frame, ctx, std::nullopt);
        EXPECT_EQ(r.result, 0) << bpfrt_last_error();
        bpfrt_close(rt.get(), fd);
        return r.retval;
    };
    const auto none = std::nullopt;
    EXPECT_EQ(field(SKB(ifindex), none), 1u);
    EXPECT_EQ(field(SKB(ingress_ifindex), none), 0u);
    EXPECT_EQ(field(SKB(wire_len), none), 0u);  // no qdisc_skb_cb pkt_len without a context
    EXPECT_EQ(field(SKB(gso_segs), none), 0u);
    EXPECT_EQ(field(SKB(len), none), 70u);
    const auto zero = zero_skb();
    EXPECT_EQ(field(SKB(wire_len), as_span(zero)), 70u);  // skb->len with one
    EXPECT_EQ(field(SKB(ifindex), as_span(zero)), 1u);
}

TEST(TestRunCtx, SkbFieldsThatMayNotBeGiven) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    const int fd = load_filter(rt.get(), {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()});
    const auto frame = ip_frame(6);
    auto result = [&](const struct __sk_buff& ctx) { return test_run(b, fd, frame, as_span(ctx), std::nullopt).result; };
    for (size_t off = 0; off < sizeof(struct __sk_buff); off += 4) {
        const bool allowed =
            off == offsetof(struct __sk_buff, mark) || off == offsetof(struct __sk_buff, priority) ||
            off == offsetof(struct __sk_buff, ingress_ifindex) || off == offsetof(struct __sk_buff, ifindex) ||
            (off >= offsetof(struct __sk_buff, cb) && off < offsetof(struct __sk_buff, hash)) ||
            off == offsetof(struct __sk_buff, tstamp) || off == offsetof(struct __sk_buff, tstamp) + 4 ||
            off == offsetof(struct __sk_buff, wire_len) || off == offsetof(struct __sk_buff, gso_segs) ||
            off == offsetof(struct __sk_buff, gso_size) || off == offsetof(struct __sk_buff, hwtstamp) ||
            off == offsetof(struct __sk_buff, hwtstamp) + 4;
        if (off == offsetof(struct __sk_buff, ifindex)) continue;  // tested with devices below
        auto ctx = zero_skb();
        const uint32_t one = off == offsetof(struct __sk_buff, wire_len) ? 1000 : 1;
        std::memcpy(reinterpret_cast<uint8_t*>(&ctx) + off, &one, 4);
        EXPECT_EQ(result(ctx), allowed ? 0 : -EINVAL) << "offset " << off;
    }
    auto ctx = zero_skb();
    ctx.tstamp_type = 1;
    EXPECT_EQ(result(ctx), -EINVAL);
    ctx = zero_skb();
    ctx.wire_len = 49;  // under the packet's length (from the network header for socket filters: 50)
    EXPECT_EQ(result(ctx), -EINVAL);
    ctx.wire_len = 50;
    EXPECT_EQ(result(ctx), 0);
    ctx.wire_len = 65537;
    EXPECT_EQ(result(ctx), -EINVAL);
    ctx = zero_skb();
    ctx.gso_segs = 65535;
    EXPECT_EQ(result(ctx), 0);
    ctx.gso_segs = 65536;
    EXPECT_EQ(result(ctx), -EINVAL);
    ctx = zero_skb();
    ctx.ifindex = 0x7ffffff0;
    EXPECT_EQ(result(ctx), -ENODEV);
    ctx.ifindex = 1;
    EXPECT_EQ(result(ctx), 0);
}

TEST(TestRunCtx, SizesOfCtxInAndCtxOut) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    const int fd = load_filter(rt.get(), {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()});
    const auto frame = ip_frame(6);
    std::vector<uint8_t> big(sizeof(struct __sk_buff) + 100, 0);
    EXPECT_EQ(test_run(b, fd, frame, big, std::nullopt).result, 0);  // zero tail: fine
    big.back() = 1;
    EXPECT_EQ(test_run(b, fd, frame, big, std::nullopt).result, -E2BIG);
    big.assign(4097, 0);
    EXPECT_EQ(test_run(b, fd, frame, big, std::nullopt).result, -E2BIG);
    const std::vector<uint8_t> small(8, 0);  // a shorter context: the rest is 0
    EXPECT_EQ(test_run(b, fd, frame, small, std::nullopt).result, 0);
    // ctx_out alone: a zeroed context, given back.
    auto r = test_run(b, fd, frame, std::nullopt, sizeof(struct __sk_buff));
    ASSERT_EQ(r.result, 0);
    EXPECT_EQ(r.ctx_size_out, sizeof(struct __sk_buff));
    // Too small a ctx_out: ENOSPC, what fits copied, the full size reported.
    r = test_run(b, fd, frame, small, 8);
    EXPECT_EQ(r.result, -ENOSPC);
    EXPECT_EQ(r.ctx_size_out, sizeof(struct __sk_buff));
    // A pointer without a size (or the other way round) is refused.
    EXPECT_EQ(test_run(b, fd, frame, small, 0).result, -EINVAL);
    EXPECT_EQ(test_run(b, fd, frame, std::span<const uint8_t>(small.data(), 0), std::nullopt).result, -EINVAL);
}

// ---- xdp_md ----

// r0 = (data - data_meta) << 24 | (data_end - data) << 8 | ingress_ifindex << 4 | rx_queue_index
const std::vector<bpf_insn> kXdpGeometry = {
    BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, XDP(data_meta)),
    BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, XDP(data)),
    BPF_LDX_MEM(BPF_W, BPF_REG_4, BPF_REG_1, XDP(data_end)),
    BPF_MOV64_REG(BPF_REG_0, BPF_REG_3),
    BPF_ALU64_REG(BPF_SUB, BPF_REG_0, BPF_REG_2),
    BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 24),
    BPF_ALU64_REG(BPF_SUB, BPF_REG_4, BPF_REG_3),
    BPF_ALU64_IMM(BPF_LSH, BPF_REG_4, 8),
    BPF_ALU64_REG(BPF_OR, BPF_REG_0, BPF_REG_4),
    BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, XDP(ingress_ifindex)),
    BPF_ALU64_IMM(BPF_LSH, BPF_REG_2, 4),
    BPF_ALU64_REG(BPF_OR, BPF_REG_0, BPF_REG_2),
    BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, XDP(rx_queue_index)),
    BPF_ALU64_REG(BPF_OR, BPF_REG_0, BPF_REG_2),
    BPF_EXIT_INSN(),
};

uint32_t geometry(uint32_t meta, uint32_t len, uint32_t ifindex, uint32_t queue) {
    return meta << 24 | len << 8 | ifindex << 4 | queue;
}

TEST(TestRunCtx, XdpMetadataFromCtxIn) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    const int fd = load_filter(rt.get(), kXdpGeometry, BPF_PROG_TYPE_XDP);
    auto data = ip_frame(6, 72);
    for (size_t i = 0; i < 8; ++i) data[i] = static_cast<uint8_t>(0xa0 + i);  // 8 bytes of metadata, then 64 of packet
    auto md = zero_md();
    md.data = 8;
    md.data_end = 72;
    md.ingress_ifindex = 1;
    auto r = test_run(b, fd, data, as_span(md), sizeof md);
    ASSERT_EQ(r.result, 0) << bpfrt_last_error();
    EXPECT_EQ(r.retval, geometry(8, 64, 1, 0));
    EXPECT_EQ(r.data_out, data);  // data_out starts at data_meta
    ASSERT_EQ(r.ctx_out.size(), sizeof md);
    struct xdp_md out;
    std::memcpy(&out, r.ctx_out.data(), sizeof out);
    EXPECT_EQ(out.data, 8u);
    EXPECT_EQ(out.data_end, 72u);
    EXPECT_EQ(out.data_meta, 0u);
    EXPECT_EQ(out.ingress_ifindex, 1u);
    // Without a context: the loopback device, no metadata.
    r = test_run(b, fd, data, std::nullopt, std::nullopt);
    EXPECT_EQ(r.retval, geometry(0, 72, 1, 0));
}

TEST(TestRunCtx, XdpCtxOutFollowsTheAdjustHelpers) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    // adjust_meta(-4), adjust_head(14), then return XDP_PASS.
    const int fd = load_filter(rt.get(),
                               {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_MOV64_IMM(BPF_REG_2, -4),
                                BPF_CALL_FUNC(BPF_FUNC_xdp_adjust_meta), BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
                                BPF_MOV64_IMM(BPF_REG_2, 14), BPF_CALL_FUNC(BPF_FUNC_xdp_adjust_head),
                                BPF_MOV64_IMM(BPF_REG_0, XDP_PASS), BPF_EXIT_INSN()},
                               BPF_PROG_TYPE_XDP);
    const auto data = ip_frame(6, 64);
    auto md = zero_md();
    md.data_end = 64;
    auto r = test_run(b, fd, data, as_span(md), sizeof md);
    ASSERT_EQ(r.result, 0) << bpfrt_last_error();
    struct xdp_md out;
    std::memcpy(&out, r.ctx_out.data(), sizeof out);
    EXPECT_EQ(out.data, 4u);  // 4 bytes of metadata (moved along with the head)
    EXPECT_EQ(out.data_end, 4u + 50u);
    EXPECT_EQ(r.data_out.size(), 54u);  // the metadata and the packet from its new head
    EXPECT_EQ(std::vector<uint8_t>(r.data_out.begin() + 4, r.data_out.end()),
              std::vector<uint8_t>(data.begin() + 14, data.end()));
}

TEST(TestRunCtx, XdpCtxRules) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    const int fd = load_filter(rt.get(), kXdpGeometry, BPF_PROG_TYPE_XDP);
    const auto data = ip_frame(6, 64);
    auto result = [&](const struct xdp_md& md) { return test_run(b, fd, data, as_span(md), std::nullopt).result; };
    auto md = zero_md();
    md.data_end = 64;
    EXPECT_EQ(result(md), 0);
    md.data_end = 65;
    EXPECT_EQ(result(md), -EINVAL);  // beyond data_in
    md.data_end = 64;
    md.data_meta = 4;
    EXPECT_EQ(result(md), -EINVAL);
    md.data_meta = 0;
    for (uint32_t meta : {3u, 54u, 68u}) {  // not a multiple of 4; leaves under 14 bytes; beyond data_end
        md.data = meta;
        EXPECT_EQ(result(md), -EINVAL) << meta;
    }
    md.data = 48;
    EXPECT_EQ(result(md), 0);
    md.data = 0;
    md.egress_ifindex = 1;
    EXPECT_EQ(result(md), -EINVAL);
    md.egress_ifindex = 0;
    md.rx_queue_index = 1;
    EXPECT_EQ(result(md), -EINVAL);  // a queue needs an interface
    md.ingress_ifindex = 1;
    EXPECT_EQ(result(md), -EINVAL);  // the loopback device has one queue
    md.rx_queue_index = 0;
    EXPECT_EQ(result(md), 0);
    md.ingress_ifindex = 0x7ffffff0;
    EXPECT_EQ(result(md), -ENODEV);
    // ctx_out alone: a zeroed xdp_md, data_end 0: every byte is a fragment,
    // the program sees an empty packet, data_out has them all.
    const auto r = test_run(b, fd, data, std::nullopt, sizeof md);
    ASSERT_EQ(r.result, 0);
    EXPECT_EQ(r.retval, geometry(0, 0, 1, 0));
    EXPECT_EQ(r.data_out, data);
}

TEST(TestRunCtx, XdpMetadataUpTo216Bytes) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    const int fd = load_filter(rt.get(), kXdpGeometry, BPF_PROG_TYPE_XDP);
    std::vector<uint8_t> data(216 + 64, 0x5a);
    auto md = zero_md();
    md.data_end = static_cast<uint32_t>(data.size());
    md.data = 216;  // the headroom (256) less the xdp_frame (40)
    auto r = test_run(b, fd, data, as_span(md), std::nullopt);
    ASSERT_EQ(r.result, 0) << bpfrt_last_error();
    EXPECT_EQ(r.retval, geometry(216, 64, 1, 0));
    EXPECT_EQ(r.data_out, data);
    md.data = 220;
    EXPECT_EQ(test_run(b, fd, data, as_span(md), std::nullopt).result, -EINVAL);
}

TEST(TestRunCtx, XdpFramesLongerThanAPageHaveFragments) {
    auto rt = new_runtime();
    const Backend b = bpfrt_backend(rt.get());
    const int fd = load_filter(rt.get(), kXdpGeometry, BPF_PROG_TYPE_XDP);
    std::vector<uint8_t> data(5000);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
    const auto r = test_run(b, fd, data, std::nullopt, std::nullopt);
    ASSERT_EQ(r.result, 0) << bpfrt_last_error();
    EXPECT_EQ(r.retval & 0xffffff00u, geometry(0, 3520, 0, 0));  // 4096 - 256 - 320 in the frame
    EXPECT_EQ(r.data_out, data);                                  // the fragments follow
    data.assign(3520 + 17 * 4096 + 1, 0);
    EXPECT_EQ(test_run(b, fd, data, std::nullopt, std::nullopt).result, -ENOMEM);
}

// ---- against the kernel ----

// A host interface other than the loopback device (its ifindex), if any.
std::optional<uint32_t> other_interface() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net", ec)) {
        const std::string name = entry.path().filename().string();
        const unsigned index = if_nametoindex(name.c_str());
        if (index > 1) return index;
    }
    return std::nullopt;
}

// Frames whose Ethernet headers give every pkt_type and protocol case.
std::vector<std::vector<uint8_t>> frames() {
    std::vector<std::vector<uint8_t>> out;
    auto frame = ip_frame(6, 64);
    out.push_back(frame);  // to 00:00:00:00:00:00: the loopback device's own address
    frame[0] = 0x02;
    out.push_back(frame);  // unicast elsewhere
    std::fill(frame.begin(), frame.begin() + 6, 0xff);
    out.push_back(frame);  // broadcast
    frame[0] = 0x01, frame[1] = 0x00, frame[2] = 0x5e;
    out.push_back(frame);  // multicast
    frame = ip_frame(17, 60);
    frame[12] = 0x00, frame[13] = 0x2e;  // an 802.3 length
    out.push_back(frame);
    frame[14] = 0xff, frame[15] = 0xff;  // raw IPX over 802.3
    out.push_back(frame);
    frame = ip_frame(6, 68);
    frame[12] = 0x81, frame[13] = 0x00, frame[14] = 0x00, frame[15] = 0x05, frame[16] = 0x08, frame[17] = 0x00;
    out.push_back(frame);  // a VLAN tag
    return out;
}

// The contexts compared: none, valid ones and invalid ones.
std::vector<std::optional<std::vector<uint8_t>>> skb_contexts() {
    std::vector<std::optional<std::vector<uint8_t>>> out;
    auto bytes = [](const struct __sk_buff& s) {
        const auto* p = reinterpret_cast<const uint8_t*>(&s);
        return std::vector<uint8_t>(p, p + sizeof s);
    };
    out.push_back(std::nullopt);
    auto s = zero_skb();
    out.push_back(bytes(s));
    s.mark = 7, s.priority = 3, s.ingress_ifindex = 12, s.cb[0] = 1, s.cb[3] = 0xffffffff, s.tstamp = 1234567;
    s.wire_len = 1500, s.gso_segs = 3, s.gso_size = 1000, s.hwtstamp = 42;
    out.push_back(bytes(s));
    s.ifindex = 1;
    out.push_back(bytes(s));
    if (auto other = other_interface()) {
        s.ifindex = *other;
        out.push_back(bytes(s));
    }
    s.ifindex = 0x7ffffff0;
    out.push_back(bytes(s));
    s = zero_skb();
    s.len = 5;
    out.push_back(bytes(s));
    s = zero_skb();
    s.tc_index = 5;
    out.push_back(bytes(s));
    s = zero_skb();
    s.tstamp_type = 1;
    out.push_back(bytes(s));
    s = zero_skb();
    s.wire_len = 40;
    out.push_back(bytes(s));
    s.wire_len = 50;
    out.push_back(bytes(s));
    s.wire_len = 64;
    out.push_back(bytes(s));
    s.wire_len = 70000;
    out.push_back(bytes(s));
    s = zero_skb();
    s.gso_segs = 70000;
    out.push_back(bytes(s));
    return out;
}

struct Field {
    const char* name;
    int16_t off;
    bool wide;
};

// Fields whose values do not depend on the view (bpfrt's socket filters see
// the frame from the Ethernet header, the kernel's test run from the
// network header: len and LD_ABS offsets differ by 14).
const Field kSkbFields[] = {
    {"pkt_type", SKB(pkt_type), false},       {"mark", SKB(mark), false},
    {"queue_mapping", SKB(queue_mapping), false}, {"protocol", SKB(protocol), false},
    {"vlan_present", SKB(vlan_present), false}, {"vlan_tci", SKB(vlan_tci), false},
    {"priority", SKB(priority), false},       {"ingress_ifindex", SKB(ingress_ifindex), false},
    {"ifindex", SKB(ifindex), false},         {"tc_index", SKB(tc_index), false},
    {"cb[0]", SKB(cb[0]), false},             {"cb[3]", SKB(cb[3]), false},
    {"hash", SKB(hash), false},               {"napi_id", SKB(napi_id), false},
    {"tstamp", SKB(tstamp), true},            {"wire_len", SKB(wire_len), false},
    {"gso_segs", SKB(gso_segs), false},       {"gso_size", SKB(gso_size), false},
    {"hwtstamp", SKB(hwtstamp), true},        {"tc_classid", SKB(tc_classid), false},
    {"len", SKB(len), false},
};

// What every field reads as, for every frame and context, and the context given back.
std::vector<std::string> skb_script(const Backend& b, uint32_t type) {
    std::vector<std::string> out;
    const bool socket_filter = type == BPF_PROG_TYPE_SOCKET_FILTER;
    for (const Field& f : kSkbFields) {
        if (socket_filter && std::string(f.name) == "len") continue;  // the view differs
        const long prog = backend_prog_load(b, type, read_ctx_field(f.off, f.wide));
        if (prog < 0) {
            out.push_back(std::string(f.name) + " load " + outcome(prog));
            continue;
        }
        for (const auto& frame : frames())
            for (const auto& ctx : skb_contexts()) {
                RunOut r = test_run(b, prog, frame, ctx, ctx ? std::optional<uint32_t>(sizeof(struct __sk_buff))
                                                             : std::nullopt);
                if (socket_filter) r.data_out.clear();  // the kernel zeroes the Ethernet header it pulled
                out.push_back(std::string(f.name) + " " + describe(r));
            }
        b.close(static_cast<int>(prog));
    }
    return out;
}

TEST(TestRunCtxKernelDiff, SchedClsFieldsAndContexts) {
    compare_with_kernel([](const Backend& b) { return skb_script(b, BPF_PROG_TYPE_SCHED_CLS); });
}

TEST(TestRunCtxKernelDiff, SocketFilterFieldsAndContexts) {
    compare_with_kernel([](const Backend& b) { return skb_script(b, BPF_PROG_TYPE_SOCKET_FILTER); });
}

TEST(TestRunCtxKernelDiff, SchedClsWritesComeBack) {
    compare_with_kernel([](const Backend& b) {
        std::vector<std::string> out;
        const std::vector<bpf_insn> insns = {
            BPF_ST_MEM(BPF_W, BPF_REG_1, SKB(mark), 0x1234),   BPF_ST_MEM(BPF_W, BPF_REG_1, SKB(priority), 9),
            BPF_ST_MEM(BPF_W, BPF_REG_1, SKB(cb[1]), 77),      BPF_ST_MEM(BPF_W, BPF_REG_1, SKB(tc_index), 3),
            BPF_MOV64_IMM(BPF_REG_2, 555),                     BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_2, SKB(tstamp)),
            BPF_MOV64_IMM(BPF_REG_0, 0),                       BPF_EXIT_INSN()};
        const long prog = backend_prog_load(b, BPF_PROG_TYPE_SCHED_CLS, insns);
        out.push_back(outcome(prog));
        if (prog < 0) return out;
        for (const auto& ctx : skb_contexts())
            for (uint32_t capacity : {0u, 8u, static_cast<uint32_t>(sizeof(struct __sk_buff)), 400u})
                out.push_back(describe(test_run(b, prog, ip_frame(6, 64), ctx, capacity)));
        out.push_back(describe(test_run(b, prog, ip_frame(6, 64), std::nullopt, sizeof(struct __sk_buff))));
        b.close(static_cast<int>(prog));
        return out;
    });
}

std::vector<std::optional<std::vector<uint8_t>>> xdp_contexts(uint32_t size) {
    std::vector<std::optional<std::vector<uint8_t>>> out;
    auto bytes = [](const struct xdp_md& m) {
        const auto* p = reinterpret_cast<const uint8_t*>(&m);
        return std::vector<uint8_t>(p, p + sizeof m);
    };
    out.push_back(std::nullopt);
    auto m = zero_md();
    out.push_back(bytes(m));  // data_end 0: wrong
    m.data_end = size;
    out.push_back(bytes(m));
    for (uint32_t meta : {4u, 8u, 32u, 3u, 36u, 216u, 220u, size + 4}) {
        m.data = meta;
        out.push_back(bytes(m));
    }
    m.data = 0;
    m.data_meta = 4;
    out.push_back(bytes(m));
    m.data_meta = 0;
    m.data_end = size - 1;
    out.push_back(bytes(m));
    m.data_end = size;
    m.egress_ifindex = 1;
    out.push_back(bytes(m));
    m.egress_ifindex = 0;
    m.rx_queue_index = 1;
    out.push_back(bytes(m));
    for (uint32_t ifindex : {1u, 0x7ffffff0u}) {
        m.ingress_ifindex = ifindex;
        for (uint32_t queue : {0u, 1u}) {
            m.rx_queue_index = queue;
            out.push_back(bytes(m));
        }
    }
    if (auto other = other_interface()) {
        m.ingress_ifindex = *other;
        for (uint32_t queue : {0u, 1u, 1000u}) {
            m.rx_queue_index = queue;
            out.push_back(bytes(m));
        }
    }
    std::vector<uint8_t> tail(sizeof(struct xdp_md) + 8, 0);
    std::memcpy(tail.data(), &m, sizeof m);
    reinterpret_cast<struct xdp_md*>(tail.data())->rx_queue_index = 0;
    reinterpret_cast<struct xdp_md*>(tail.data())->ingress_ifindex = 0;
    out.push_back(tail);  // a zero tail
    tail.back() = 1;
    out.push_back(tail);  // not zero: E2BIG
    return out;
}

TEST(TestRunCtxKernelDiff, XdpContexts) {
    compare_with_kernel([](const Backend& b) {
        std::vector<std::string> out;
        // The geometry, and one that moves data_meta and the head.
        const std::vector<std::vector<bpf_insn>> programs = {
            kXdpGeometry,
            {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_MOV64_IMM(BPF_REG_2, -8),
             BPF_CALL_FUNC(BPF_FUNC_xdp_adjust_meta), BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
             BPF_MOV64_IMM(BPF_REG_2, 14), BPF_CALL_FUNC(BPF_FUNC_xdp_adjust_head), BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
             BPF_MOV64_IMM(BPF_REG_2, -6), BPF_CALL_FUNC(BPF_FUNC_xdp_adjust_tail), BPF_MOV64_IMM(BPF_REG_0, XDP_TX),
             BPF_EXIT_INSN()},
            // Metadata beyond 32 bytes (allowed since Linux 6.x), then back to none.
            {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_MOV64_IMM(BPF_REG_2, -36),
             BPF_CALL_FUNC(BPF_FUNC_xdp_adjust_meta), BPF_MOV64_REG(BPF_REG_7, BPF_REG_0),
             BPF_MOV64_REG(BPF_REG_1, BPF_REG_6), BPF_MOV64_IMM(BPF_REG_2, -180),
             BPF_CALL_FUNC(BPF_FUNC_xdp_adjust_meta), BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 8),
             BPF_ALU64_REG(BPF_OR, BPF_REG_0, BPF_REG_7), BPF_EXIT_INSN()},
        };
        for (const auto& insns : programs) {
            const long prog = backend_prog_load(b, BPF_PROG_TYPE_XDP, insns);
            out.push_back(outcome(prog));
            if (prog < 0) continue;
            for (uint32_t size : {14u, 64u, 72u, 300u, 5000u}) {
                auto data = ip_frame(6, std::max<uint32_t>(size, 64));  // ip_frame writes up to byte 23
                data.resize(size);
                for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(data[i] + i);
                for (const auto& ctx : xdp_contexts(size)) {
                    // bpfrt's bpf_xdp_adjust_tail does not reach into fragments (the kernel's
                    // shrinks them): the second program only on frames without.
                    uint32_t data_end = size;
                    if (ctx && ctx->size() >= 8) std::memcpy(&data_end, ctx->data() + 4, 4);
                    const bool fragments = data_end != size || size > 3520;
                    if (&insns != &programs.front() && fragments) continue;
                    out.push_back("size " + std::to_string(size) + " ctx " + (ctx ? hex(*ctx) : "none") + ": " +
                                  describe(test_run(b, prog, data, ctx, ctx ? std::optional<uint32_t>(64) : std::nullopt)));
                }
            }
            b.close(static_cast<int>(prog));
        }
        return out;
    });
}

}  // namespace
}  // namespace bpfrt::test
