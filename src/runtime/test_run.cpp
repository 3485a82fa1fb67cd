// BPF_PROG_TEST_RUN and the run path every program run goes through.
#include "runtime/contexts.hpp"
#include "runtime/state.hpp"

#include "maps/ringbuf.hpp"


#include <bpfrt/bpf.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>

namespace bpfrt::runtime {

namespace {

constexpr size_t kEthHeaderLen = 14;       // ETH_HLEN: the smallest skb test input
constexpr size_t kMaxTestData = 65535;     // bpfrt's limit (the kernel's is about a page)
constexpr size_t kMaxSyscallCtx = 65535;   // U16_MAX, as the kernel
constexpr size_t kMaxCtxIn = 4096;         // bpf_check_uarg_tail_zero: PAGE_SIZE
constexpr uint32_t kGsoLegacyMaxSize = 65536;  // GSO_LEGACY_MAX_SIZE
constexpr uint32_t kGsoMaxSegs = 65535;        // GSO_MAX_SEGS
constexpr uint16_t kEthP8023Min = 0x0600;      // ETH_P_802_3_MIN

bool is_skb_type(uint32_t type) {
    return type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
           type == BPF_PROG_TYPE_SCHED_ACT || type == BPF_PROG_TYPE_CGROUP_SKB;
}

// Whether the kernel gives this type the frame from the Ethernet header
// (tc: is_l2); the others get it from the network header.
bool is_l2(uint32_t type) { return type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT; }

using Mac = std::array<uint8_t, 6>;

// A network device as the test run needs it: the loopback device (ifindex
// 1, address and broadcast 00:00:00:00:00:00, one receive queue) or a host
// interface.
struct Device {
    uint32_t ifindex = 1;
    uint32_t rx_queues = 1;
    Mac address{};
    Mac broadcast{};
};

std::optional<Mac> read_mac(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    Mac mac{};
    unsigned v[6];
    if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return std::nullopt;
    for (int i = 0; i < 6; ++i) mac[static_cast<size_t>(i)] = static_cast<uint8_t>(v[i]);
    return mac;
}

// The host interface with this ifindex (the kernel's dev_get_by_index in
// the caller's namespace), its addresses and queues from sysfs.
std::optional<Device> find_device(uint32_t ifindex) {
    if (ifindex == 1) return Device{};
    char name[IF_NAMESIZE] = {};
    if (if_indextoname(ifindex, name) == nullptr) return std::nullopt;
    Device dev;
    dev.ifindex = ifindex;
    const std::string sys = std::string("/sys/class/net/") + name;
    dev.address = read_mac(sys + "/address").value_or(Mac{});
    dev.broadcast = read_mac(sys + "/broadcast").value_or(Mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
    std::error_code ec;
    uint32_t rx = 0;
    for (const auto& entry : std::filesystem::directory_iterator(sys + "/queues", ec))
        if (entry.path().filename().string().starts_with("rx-")) ++rx;
    dev.rx_queues = std::max(rx, 1u);
    return dev;
}

// The pkt_type eth_type_trans() gives a frame arriving on `dev`.
uint32_t eth_pkt_type(const uint8_t* frame, const Device& dev) {
    const Mac dest{frame[0], frame[1], frame[2], frame[3], frame[4], frame[5]};
    if (dest == dev.address) return PACKET_HOST;
    if ((dest[0] & 1) == 0) return PACKET_OTHERHOST;
    return dest == dev.broadcast ? PACKET_BROADCAST : PACKET_MULTICAST;
}

// The skb->protocol eth_type_trans() gives (network byte order, as the
// kernel keeps it): the EtherType, or ETH_P_802_3 / ETH_P_802_2 for
// 802.3 length fields. No VLAN tag is taken out of the frame.
uint32_t eth_protocol(const uint8_t* frame, size_t len) {
    const uint16_t type = static_cast<uint16_t>((frame[12] << 8) | frame[13]);
    uint16_t proto = type;
    if (type < kEthP8023Min) {
        const bool raw_ipx = len >= kEthHeaderLen + 2 && frame[14] == 0xff && frame[15] == 0xff;
        proto = raw_ipx ? ETH_P_802_3 : ETH_P_802_2;
    }
    return htons(proto);
}

// A ctx_in: E2BIG over a page or with non-zero bytes beyond `size`
// (bpf_check_uarg_tail_zero); copied into a zeroed `size` bytes.
template <class Ctx>
Result<Ctx> read_ctx(std::span<const std::byte> in) {
    Ctx ctx;
    std::memset(&ctx, 0, sizeof ctx);
    if (in.size() > kMaxCtxIn) return fail(E2BIG, fmt::format("ctx_in is over {} bytes", kMaxCtxIn));
    if (in.size() > sizeof ctx &&
        std::any_of(in.begin() + sizeof ctx, in.end(), [](std::byte b) { return b != std::byte{0}; }))
        return fail(E2BIG, fmt::format("ctx_in has non-zero bytes beyond the {} of the context", sizeof ctx));
    if (!in.empty()) std::memcpy(&ctx, in.data(), std::min(in.size(), sizeof ctx));
    return ctx;
}

bool zero_between(const void* ctx, size_t from, size_t to) {
    const auto* p = static_cast<const uint8_t*>(ctx);
    return std::all_of(p + from, p + to, [](uint8_t b) { return b == 0; });
}

#define SKB_OFF(field) offsetof(struct __sk_buff, field)
#define SKB_END(field) (offsetof(struct __sk_buff, field) + sizeof(__sk_buff::field))

// convert___skb_to_skb: only mark, priority, ingress_ifindex, ifindex, cb,
// tstamp, wire_len, gso_segs, gso_size and hwtstamp may be set.
Result<void> check_skb_ctx(const struct __sk_buff& ctx, uint32_t skb_len) {
    struct Range {
        size_t from, to;
    };
    const Range zero[] = {
        {0, SKB_OFF(mark)},
        {SKB_END(mark), SKB_OFF(priority)},
        {SKB_END(ifindex), SKB_OFF(cb)},
        {SKB_END(cb), SKB_OFF(tstamp)},
        {SKB_END(gso_segs), SKB_OFF(gso_size)},
        {SKB_END(gso_size), SKB_OFF(hwtstamp)},
        {SKB_END(hwtstamp), sizeof(struct __sk_buff)},
    };
    for (const Range& r : zero)
        if (!zero_between(&ctx, r.from, r.to))
            return fail(EINVAL, fmt::format("ctx_in: bytes {}..{} of the __sk_buff must be 0 (only mark, priority, "
                                            "ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size and "
                                            "hwtstamp may be set)",
                                            r.from, r.to));
    if (ctx.wire_len != 0 && (ctx.wire_len < skb_len || ctx.wire_len > kGsoLegacyMaxSize))
        return fail(EINVAL, fmt::format("ctx_in: wire_len {} must be between the packet's {} bytes and {}",
                                        ctx.wire_len, skb_len, kGsoLegacyMaxSize));
    if (ctx.gso_segs > kGsoMaxSegs) return fail(EINVAL, fmt::format("ctx_in: gso_segs is over {}", kGsoMaxSegs));
    return {};
}

// An XDP ctx_in: the checks of bpf_prog_test_run_xdp (Linux 6.18):
// data_end may be short of data_in's size (the rest goes to fragments).
Result<void> check_xdp_ctx(const struct xdp_md& ctx, size_t data_size) {
    if (ctx.data_meta != 0) return fail(EINVAL, "ctx_in: data_meta must be 0");
    if (ctx.data_end > data_size)
        return fail(EINVAL, fmt::format("ctx_in: data_end ({}) is beyond data_in's {} bytes", ctx.data_end, data_size));
    if (ctx.data > ctx.data_end) return fail(EINVAL, "ctx_in: data is beyond data_end");
    constexpr size_t kMaxMetaHere = kXdpHeadroom - kXdpFrameReserve;
    if ((ctx.data & 3) != 0 || ctx.data > std::min(kXdpMaxMeta, kMaxMetaHere))
        return fail(EINVAL, fmt::format("ctx_in: data (the metadata length) must be a multiple of 4 up to {}, is {}",
                                        kMaxMetaHere, ctx.data));
    return {};
}

Result<void> check_xdp_device(const struct xdp_md& ctx) {
    if (ctx.egress_ifindex != 0) return fail(EINVAL, "ctx_in: egress_ifindex must be 0");
    if (ctx.ingress_ifindex == 0) {
        if (ctx.rx_queue_index != 0) return fail(EINVAL, "ctx_in: rx_queue_index needs an ingress_ifindex");
        return {};
    }
    const auto dev = find_device(ctx.ingress_ifindex);
    if (!dev) return fail(ENODEV, fmt::format("ctx_in: no network interface has ifindex {}", ctx.ingress_ifindex));
    if (ctx.rx_queue_index >= dev->rx_queues)
        return fail(EINVAL, fmt::format("ctx_in: interface {} has {} receive queue(s), rx_queue_index is {}",
                                        ctx.ingress_ifindex, dev->rx_queues, ctx.rx_queue_index));
    return {};
}

// What a run starts from, checked once for every repetition.
struct Prepared {
    bool has_ctx = false;  // ctx_in or ctx_out given (the kernel's ctx != NULL)
    struct __sk_buff skb_ctx{};
    struct xdp_md xdp_ctx{};
    Device device;
    size_t xdp_linear = 0;  // XDP: bytes of data_in in the frame (metadata and packet); the rest are fragments
};

Result<Prepared> prepare_skb(const ProgramObject& program, const TestRun& in) {
    if (in.data.size() < kEthHeaderLen || in.data.size() > kMaxTestData)
        return fail(EINVAL, fmt::format("data_in must be {} to {} bytes (an Ethernet frame), is {}", kEthHeaderLen,
                                        kMaxTestData, in.data.size()));
    Prepared p;
    p.has_ctx = !in.ctx.empty() || in.want_ctx_out;
    if (!p.has_ctx) return p;
    auto ctx = read_ctx<struct __sk_buff>(in.ctx);
    if (!ctx) return std::unexpected(ctx.error());
    p.skb_ctx = *ctx;
    if (p.skb_ctx.ifindex > 1) {
        auto dev = find_device(p.skb_ctx.ifindex);
        if (!dev) return fail(ENODEV, fmt::format("ctx_in: no network interface has ifindex {}", p.skb_ctx.ifindex));
        p.device = *dev;
    }
    // skb->len when the kernel converts the context: from the network header
    // unless the program is a tc one.
    const auto len = static_cast<uint32_t>(in.data.size() - (is_l2(program.type) ? 0 : kEthHeaderLen));
    if (auto ok = check_skb_ctx(p.skb_ctx, len); !ok) return std::unexpected(ok.error());
    return p;
}

// The kernel's bpf_prog_test_run_xdp: the frame holds data_end bytes (all of
// data_in without a context) up to what fits after the headroom; the rest
// of data_in becomes fragments (at most MAX_SKB_FRAGS pages), which bpfrt
// passes through to data_out untouched (programs see the linear part only).
Result<Prepared> prepare_xdp(const ProgramObject& program, const TestRun& in) {
    constexpr size_t kMaxFragBytes = 17 * 4096;  // MAX_SKB_FRAGS pages
    if (program.expected_attach_type == BPF_XDP_DEVMAP || program.expected_attach_type == BPF_XDP_CPUMAP)
        return fail(EINVAL, "XDP programs for device or CPU maps cannot be test-run");
    Prepared p;
    p.has_ctx = !in.ctx.empty() || in.want_ctx_out;
    size_t metalen = 0;
    p.xdp_linear = in.data.size();
    if (p.has_ctx) {
        auto ctx = read_ctx<struct xdp_md>(in.ctx);
        if (!ctx) return std::unexpected(ctx.error());
        p.xdp_ctx = *ctx;
        if (auto ok = check_xdp_ctx(p.xdp_ctx, in.data.size()); !ok) return std::unexpected(ok.error());
        metalen = p.xdp_ctx.data;
        p.xdp_linear = p.xdp_ctx.data_end;
    }
    p.xdp_linear = std::min(p.xdp_linear, kXdpMaxPacket + metalen);
    if (in.data.size() - metalen < kEthHeaderLen)
        return fail(EINVAL, fmt::format("data_in must have at least {} bytes after the metadata, has {}",
                                        kEthHeaderLen, in.data.size() - metalen));
    if (p.has_ctx)
        if (auto ok = check_xdp_device(p.xdp_ctx); !ok) return std::unexpected(ok.error());
    if (in.data.size() - p.xdp_linear > kMaxFragBytes)
        return fail(ENOMEM, fmt::format("data_in is over what a frame and {} fragment bytes hold", kMaxFragBytes));
    return p;
}

Result<Prepared> check_input(const ProgramObject& program, const TestRun& in) {
    if (in.flags != 0 || in.cpu != 0) return fail(EINVAL, "flags and cpu must be 0");
    const uint32_t type = program.type;
    if (is_skb_type(type)) return prepare_skb(program, in);
    if (type == BPF_PROG_TYPE_XDP) return prepare_xdp(program, in);
    if (type == BPF_PROG_TYPE_SYSCALL || type == BPF_PROG_TYPE_RAW_TRACEPOINT) {
        if (!in.data.empty()) return fail(EINVAL, "syscall and raw_tracepoint programs take no data_in");
        if (in.repeat > 1) return fail(EINVAL, "syscall and raw_tracepoint programs run once (repeat must be 0)");
        if (in.ctx.size() > kMaxSyscallCtx)
            return fail(EINVAL, fmt::format("ctx_in is at most {} bytes", kMaxSyscallCtx));
        if (type == BPF_PROG_TYPE_RAW_TRACEPOINT && in.ctx.size() < program.max_ctx_offset)
            return fail(EINVAL, fmt::format("the program reads {} bytes of its context, ctx_in has {}",
                                            program.max_ctx_offset, in.ctx.size()));
        return Prepared{};
    }
    return fail(EINVAL, fmt::format("programs of type {} cannot be test-run", type));
}

// One run: builds the context from the input, runs, returns r0 and the output.
struct OneRun {
    uint64_t r0 = 0;
    std::vector<std::byte> out;
    std::vector<std::byte> ctx_out;
};

template <class T>
std::vector<std::byte> bytes_of(const T& value) {
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    return std::vector<std::byte>(p, p + sizeof value);
}

// The __sk_buff fields as the kernel's test run sets them, from the context
// given (or none: zeros) and the device.
void set_skb_fields(SkbContext& skb, const uint8_t* frame, size_t size, const Prepared& p, uint32_t type) {
    struct __sk_buff& s = skb.skb;
    const struct __sk_buff& c = p.skb_ctx;
    s.protocol = eth_protocol(frame, size);
    s.vlan_present = s.vlan_tci = s.vlan_proto = 0;  // the frame's tag stays in the frame
    s.pkt_type = eth_pkt_type(frame, p.device);
    s.ifindex = p.device.ifindex;
    s.ingress_ifindex = c.ingress_ifindex;
    s.mark = c.mark;
    s.priority = c.priority;
    std::memcpy(s.cb, c.cb, sizeof s.cb);
    s.tstamp = c.tstamp;
    s.gso_segs = c.gso_segs;
    s.gso_size = c.gso_size;
    s.hwtstamp = c.hwtstamp;
    // qdisc_skb_cb(skb)->pkt_len: skb->len (the kernel's, see prepare_skb)
    // with a context and wire_len 0, 0 without a context.
    const auto kernel_len = static_cast<uint32_t>(size - (is_l2(type) ? 0 : kEthHeaderLen));
    s.wire_len = p.has_ctx ? (c.wire_len != 0 ? c.wire_len : kernel_len) : 0;
}

// convert_skb_to___skb: the fields the kernel gives back; the rest as given.
struct __sk_buff skb_ctx_out(const struct __sk_buff& after, const struct __sk_buff& given) {
    struct __sk_buff out = given;
    out.mark = after.mark;
    out.priority = after.priority;
    out.ingress_ifindex = after.ingress_ifindex;
    out.ifindex = after.ifindex;
    out.tstamp = after.tstamp;
    std::memcpy(out.cb, after.cb, sizeof out.cb);
    out.wire_len = after.wire_len;
    out.gso_segs = after.gso_segs;
    out.hwtstamp = after.hwtstamp;
    return out;
}

Result<OneRun> run_skb(const ProgramObject& program, State& state, const TestRun& in, const Prepared& p) {
    std::vector<std::byte> frame(in.data.begin(), in.data.end());
    SkbContext skb;
    auto* bytes = reinterpret_cast<uint8_t*>(frame.data());
    fill_skb(skb, bytes, frame.size(), SkbView::Ethernet, PACKET_HOST, p.device.ifindex);
    set_skb_fields(skb, bytes, frame.size(), p, program.type);
    vm::ExecContext ctx;
    ctx.runtime = &state;
    ctx.packet = skb.packet;
    ctx.packet_len = skb.packet_len;
    ctx.allow(&skb, sizeof skb.skb, true);
    ctx.allow(skb.packet, skb.packet_len, program.type != BPF_PROG_TYPE_SOCKET_FILTER);
    auto r0 = run_program(program, reinterpret_cast<uintptr_t>(&skb), 0, ctx);
    if (!r0) return std::unexpected(r0.error());
    OneRun run{*r0, std::move(frame), {}};
    if (p.has_ctx) run.ctx_out = bytes_of(skb_ctx_out(skb.skb, p.skb_ctx));
    return run;
}

Result<OneRun> run_xdp(const ProgramObject& program, State& state, const TestRun& in, const Prepared& p) {
    auto buffer = std::make_unique<XdpBuffer>();
    const auto* data = reinterpret_cast<const uint8_t*>(in.data.data());
    // The receive queue: the given interface's, else the loopback device's first.
    const bool given = p.xdp_ctx.ingress_ifindex != 0;
    buffer->reset_with_meta(data, p.xdp_linear, p.xdp_ctx.data, given ? p.xdp_ctx.ingress_ifindex : 1,
                            given ? p.xdp_ctx.rx_queue_index : 0);
    vm::ExecContext ctx;
    ctx.runtime = &state;
    ctx.allow(buffer->bytes, sizeof buffer->bytes, true);
    ctx.allow(&buffer->ctx.md, sizeof buffer->ctx.md, false);
    auto r0 = run_program(program, reinterpret_cast<uintptr_t>(&buffer->ctx), 0, ctx);
    if (!r0) return std::unexpected(r0.error());
    // data_out: the metadata, the packet, then the fragments.
    const auto* out = reinterpret_cast<const std::byte*>(buffer->meta());
    OneRun run{*r0, std::vector<std::byte>(out, out + buffer->size_with_meta()), {}};
    run.out.insert(run.out.end(), in.data.begin() + static_cast<ptrdiff_t>(p.xdp_linear), in.data.end());
    if (p.has_ctx) {  // xdp_convert_buff_to_md
        struct xdp_md md = p.xdp_ctx;
        md.data = static_cast<uint32_t>(buffer->ctx.data - buffer->ctx.data_meta);
        md.data_end = static_cast<uint32_t>(buffer->ctx.data_end - buffer->ctx.data_meta);
        run.ctx_out = bytes_of(md);
    }
    return run;
}

// SYSCALL (writable context, given back) and RAW_TRACEPOINT (read-only arguments).
Result<OneRun> run_with_ctx(const ProgramObject& program, State& state, const TestRun& in) {
    std::vector<std::byte> buffer(in.ctx.begin(), in.ctx.end());
    vm::ExecContext ctx;
    ctx.runtime = &state;
    ctx.allow(buffer.data(), buffer.size(), program.type == BPF_PROG_TYPE_SYSCALL);
    const uint64_t r1 = buffer.empty() ? 0 : reinterpret_cast<uintptr_t>(buffer.data());
    auto r0 = run_program(program, r1, buffer.size(), ctx);
    if (!r0) return std::unexpected(r0.error());
    return OneRun{*r0, std::move(buffer), {}};
}

Result<OneRun> run_once(const ProgramObject& program, State& state, const TestRun& in, const Prepared& p) {
    if (is_skb_type(program.type)) return run_skb(program, state, in, p);
    if (program.type == BPF_PROG_TYPE_XDP) return run_xdp(program, state, in, p);
    return run_with_ctx(program, state, in);
}

}  // namespace

namespace {

// What every run of a program holds around the engine's call `run_engine`.
template <typename RunEngine>
Result<uint64_t> run_held(const ProgramObject& program, uint64_t r1, vm::ExecContext& ctx, RunEngine&& run_engine) {
    // Map values handed to the program stay valid until it returns, even if
    // the host deletes their elements meanwhile.
    bridge::RunSection section;
    RunState run;
    run.context = r1;
    ctx.program = const_cast<ProgramObject*>(&program);
    ctx.user = &run;
    ctx.tail_calls = 0;
    for (const DirectValue& value : program.direct_values) ctx.allow(value.start, value.size, value.writable);
    auto result = run_engine();
    // Only an unverified program can end holding ring buffer records: drop them.
    for (const RunState::Reserved& r : run.reserved) static_cast<maps::RingBuf*>(r.ring)->discard(r.sample, 0);
    ctx.user = nullptr;
    return result;
}

}  // namespace

Result<uint64_t> run_program(const ProgramObject& program, uint64_t r1, uint64_t r2, vm::ExecContext& ctx,
                             const vm::Program* exec) {
    const vm::Program& engine = exec != nullptr ? *exec : *program.exec;
    return run_held(program, r1, ctx, [&] { return engine.run(r1, r2, ctx); });
}

Result<uint64_t> run_program(const ProgramObject& program, uint64_t r1, uint64_t r2, vm::ExecContext& ctx,
                             jit::DirectEntry& entry) {
    return run_held(program, r1, ctx, [&] { return entry.run(r1, r2, ctx); });
}

Result<TestRunResult> State::test_run(const TestRun& in) {
    auto program = program_at(in.prog_fd);
    if (!program) return std::unexpected(program.error());
    auto prepared = check_input(**program, in);
    if (!prepared) return std::unexpected(prepared.error());
    const uint32_t repeat = in.repeat == 0 ? 1 : in.repeat;

    OneRun last;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < repeat; ++i) {  // fresh input per run, as regions handed out do not carry over
        auto run = run_once(**program, *this, in, *prepared);
        if (!run) return std::unexpected(run.error());
        last = std::move(*run);
    }
    const auto total = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);

    TestRunResult out;
    out.retval = static_cast<uint32_t>(last.r0);
    const uint64_t mean = static_cast<uint64_t>(total.count()) / repeat;
    out.duration_ns = static_cast<uint32_t>(std::min<uint64_t>(mean, std::numeric_limits<uint32_t>::max()));
    if ((*program)->type == BPF_PROG_TYPE_SYSCALL) {
        out.ctx_out = std::move(last.out);
        out.ctx_to_input = true;
    } else if ((*program)->type != BPF_PROG_TYPE_RAW_TRACEPOINT) {
        out.data_out = std::move(last.out);
        out.ctx_out = std::move(last.ctx_out);
    }
    return out;
}

}  // namespace bpfrt::runtime
