#include "verifier/context.hpp"
#include "verifier/verifier.hpp"

#include <bpfrt/insn.h>

#include <cstddef>

namespace bpfrt::verifier {
namespace {

#define SKB_OFF(field) static_cast<int>(offsetof(struct __sk_buff, field))
#define SKB_END(field) static_cast<int>(offsetof(struct __sk_buff, field) + sizeof(((struct __sk_buff*)nullptr)->field))

bool in_field(int off, int begin, int end) { return off >= begin && off < end; }
bool in_u32(int off, int field) { return in_field(off, field, field + 4); }

// The kernel's bpf_skb_is_valid_access: layout and size rules common to all skb types.
CtxAccessResult skb_common(int off, int size, bool write) {
    CtxAccessResult bad{};
    if (off < 0 || off >= static_cast<int>(sizeof(struct __sk_buff)) || off % size != 0) return bad;
    if (in_field(off, SKB_OFF(cb), SKB_END(cb))) {
        if (off + size > SKB_END(cb)) return bad;
        return {true};
    }
    if (in_field(off, SKB_OFF(remote_ip4), SKB_END(local_ip6)) && size != 4) return bad;
    if (in_u32(off, SKB_OFF(data)) || in_u32(off, SKB_OFF(data_end)) || in_u32(off, SKB_OFF(data_meta)))
        return size == 4 ? CtxAccessResult{true} : bad;
    if (in_field(off, SKB_OFF(flow_keys), SKB_OFF(flow_keys) + 8)) return bad;
    if (in_field(off, SKB_OFF(tstamp), SKB_END(tstamp))) return size == 8 ? CtxAccessResult{true} : bad;
    if (in_field(off, SKB_OFF(sk), SKB_OFF(sk) + 8))  // a socket pointer, or NULL
        return (!write && off == SKB_OFF(sk) && size == 8) ? CtxAccessResult{true, RegType::PtrToSockCommonOrNull} : bad;
    if (in_field(off, SKB_OFF(tstamp_type), SKB_OFF(hwtstamp))) return bad;
    if (in_field(off, SKB_OFF(hwtstamp), SKB_END(hwtstamp))) return (!write && size == 8) ? CtxAccessResult{true} : bad;
    // Other fields are u32: narrow reads allowed, writes full width only.
    if (write) return size == 4 ? CtxAccessResult{true} : bad;
    return size <= 4 ? CtxAccessResult{true} : bad;
}

RegType skb_pointer_field(int off) {
    if (off == SKB_OFF(data)) return RegType::PtrToPacket;
    if (off == SKB_OFF(data_end)) return RegType::PtrToPacketEnd;
    if (off == SKB_OFF(data_meta)) return RegType::PtrToPacketMeta;
    return RegType::Scalar;
}

bool in_cb(int off) { return in_field(off, SKB_OFF(cb), SKB_END(cb)); }
bool sk_fields(int off) { return in_field(off, SKB_OFF(family), SKB_END(local_port)); }

CtxAccessResult socket_filter_access(int off, int size, bool write, bool, uint32_t) {
    if (in_u32(off, SKB_OFF(tc_classid)) || in_u32(off, SKB_OFF(data)) || in_u32(off, SKB_OFF(data_meta)) ||
        in_u32(off, SKB_OFF(data_end)) || sk_fields(off) || in_field(off, SKB_OFF(tstamp), SKB_END(tstamp)) ||
        in_u32(off, SKB_OFF(wire_len)) || in_field(off, SKB_OFF(hwtstamp), SKB_END(hwtstamp)))
        return {};
    if (write && !in_cb(off)) return {};
    return skb_common(off, size, write);
}

CtxAccessResult tc_access(int off, int size, bool write, bool, uint32_t) {
    if (write) {
        const bool writable = in_u32(off, SKB_OFF(mark)) || in_u32(off, SKB_OFF(tc_index)) ||
                              in_u32(off, SKB_OFF(priority)) || in_u32(off, SKB_OFF(tc_classid)) || in_cb(off) ||
                              in_field(off, SKB_OFF(tstamp), SKB_END(tstamp)) ||
                              in_u32(off, SKB_OFF(queue_mapping));
        if (!writable) return {};
    }
    if (sk_fields(off)) return {};
    CtxAccessResult r = skb_common(off, size, write);
    if (r.ok && r.loaded == RegType::Scalar) r.loaded = skb_pointer_field(off);
    return r;
}

CtxAccessResult cgroup_skb_access(int off, int size, bool write, bool privileged, uint32_t) {
    if (in_u32(off, SKB_OFF(tc_classid)) || in_u32(off, SKB_OFF(data_meta)) || in_u32(off, SKB_OFF(wire_len)))
        return {};
    if ((in_u32(off, SKB_OFF(data)) || in_u32(off, SKB_OFF(data_end))) && !privileged) return {};
    if (write) {
        const bool writable = in_u32(off, SKB_OFF(mark)) || in_u32(off, SKB_OFF(priority)) || in_cb(off) ||
                              (privileged && in_field(off, SKB_OFF(tstamp), SKB_END(tstamp)));
        if (!writable) return {};
    }
    CtxAccessResult r = skb_common(off, size, write);
    if (r.ok && r.loaded == RegType::Scalar) r.loaded = skb_pointer_field(off);
    return r;
}

CtxAccessResult xdp_access(int off, int size, bool write, bool, uint32_t) {
    if (write) return {};
    if (off < 0 || off >= static_cast<int>(sizeof(struct xdp_md)) || off % size != 0 || size != 4) return {};
    if (off == static_cast<int>(offsetof(struct xdp_md, egress_ifindex))) return {};  // devmap programs only
    CtxAccessResult r{true};
    if (off == static_cast<int>(offsetof(struct xdp_md, data))) r.loaded = RegType::PtrToPacket;
    if (off == static_cast<int>(offsetof(struct xdp_md, data_end))) r.loaded = RegType::PtrToPacketEnd;
    if (off == static_cast<int>(offsetof(struct xdp_md, data_meta))) r.loaded = RegType::PtrToPacketMeta;
    return r;
}

// Tracing contexts: read-only bytes of a host-declared size.
constexpr uint32_t kPtRegsSize = 21 * 8;      // struct pt_regs on x86-64
constexpr uint32_t kMaxTraceSize = 2048;      // PERF_MAX_TRACE_SIZE
constexpr uint32_t kRawTpSize = 12 * 8;       // MAX_BPF_FUNC_ARGS u64 arguments

CtxAccessResult read_only_struct(int off, int size, bool write, int first, uint32_t end) {
    if (write || off < first || off % size != 0) return {};
    if (static_cast<int64_t>(off) + size > static_cast<int64_t>(end)) return {};
    return {true};
}

CtxAccessResult kprobe_access(int off, int size, bool write, bool, uint32_t ctx_size) {
    return read_only_struct(off, size, write, 0, ctx_size ? ctx_size : kPtRegsSize);
}
CtxAccessResult tracepoint_access(int off, int size, bool write, bool, uint32_t ctx_size) {
    // The first 8 bytes (common fields) are not readable, as in the kernel.
    return read_only_struct(off, size, write, 8, ctx_size ? ctx_size : kMaxTraceSize);
}
CtxAccessResult raw_tp_access(int off, int size, bool write, bool, uint32_t ctx_size) {
    return read_only_struct(off, size, write, 0, ctx_size ? ctx_size : kRawTpSize);
}

CtxAccessResult no_access(int, int, bool, bool, uint32_t) { return {}; }

constexpr uint32_t kSkbSize = sizeof(struct __sk_buff);

const ContextDesc kContexts[] = {
    {BPF_PROG_TYPE_SOCKET_FILTER, "socket_filter", "__sk_buff", kSkbSize, true, false, false, 0, 0, socket_filter_access},
    {BPF_PROG_TYPE_KPROBE, "kprobe", "pt_regs", kPtRegsSize, false, false, false, 0, 0, kprobe_access},
    {BPF_PROG_TYPE_SCHED_CLS, "sched_cls", "__sk_buff", kSkbSize, true, true, false, 0, 0, tc_access},
    {BPF_PROG_TYPE_SCHED_ACT, "sched_act", "__sk_buff", kSkbSize, true, true, false, 0, 0, tc_access},
    {BPF_PROG_TYPE_TRACEPOINT, "tracepoint", "tracepoint record", kMaxTraceSize, false, false, false, 0, 0, tracepoint_access},
    {BPF_PROG_TYPE_XDP, "xdp", "xdp_md", sizeof(struct xdp_md), false, true, false, 0, 0, xdp_access},
    {BPF_PROG_TYPE_CGROUP_SKB, "cgroup_skb", "__sk_buff", kSkbSize, false, false, true, 0, 1, cgroup_skb_access},
    // r1 is a pointer to memory, not a context (see kProgTypeRawMemory).
    {kProgTypeRawMemory, "raw_memory", "memory", 0, false, false, false, 0, 0, no_access},
    {BPF_PROG_TYPE_RAW_TRACEPOINT, "raw_tracepoint", "raw tracepoint args", kRawTpSize, false, false, false, 0, 0, raw_tp_access},
};

}  // namespace

const ContextDesc* context_for(uint32_t prog_type) {
    for (const ContextDesc& c : kContexts)
        if (c.prog_type == prog_type) return &c;
    return nullptr;
}

}  // namespace bpfrt::verifier
