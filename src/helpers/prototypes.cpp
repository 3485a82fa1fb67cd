#include "helpers/prototypes.hpp"

#include <algorithm>

namespace bpfrt::helpers {
namespace {

constexpr uint64_t bit(uint32_t n) { return uint64_t{1} << n; }

// Program-type groups, with the kernel's numbering (enum bpf_prog_type).
constexpr uint64_t kTracing = bit(BPF_PROG_TYPE_KPROBE) | bit(BPF_PROG_TYPE_TRACEPOINT) |
                              bit(BPF_PROG_TYPE_PERF_EVENT) | bit(BPF_PROG_TYPE_RAW_TRACEPOINT);
constexpr uint64_t kSkb = bit(BPF_PROG_TYPE_SOCKET_FILTER) | bit(BPF_PROG_TYPE_SCHED_CLS) |
                          bit(BPF_PROG_TYPE_SCHED_ACT) | bit(BPF_PROG_TYPE_CGROUP_SKB);
constexpr uint64_t kTc = bit(BPF_PROG_TYPE_SCHED_CLS) | bit(BPF_PROG_TYPE_SCHED_ACT);
constexpr uint64_t kXdp = bit(BPF_PROG_TYPE_XDP);
constexpr uint64_t kAll = kTracing | kSkb | kXdp;

// Map-type groups (enum bpf_map_type).
constexpr uint64_t kPlainMaps = bit(BPF_MAP_TYPE_HASH) | bit(BPF_MAP_TYPE_ARRAY) |
                                bit(BPF_MAP_TYPE_PERCPU_HASH) | bit(BPF_MAP_TYPE_PERCPU_ARRAY) |
                                bit(BPF_MAP_TYPE_LRU_HASH) | bit(BPF_MAP_TYPE_LRU_PERCPU_HASH) |
                                bit(BPF_MAP_TYPE_LPM_TRIE);
constexpr uint64_t kQueueStack = bit(BPF_MAP_TYPE_QUEUE) | bit(BPF_MAP_TYPE_STACK);
constexpr uint64_t kRingbuf = bit(BPF_MAP_TYPE_RINGBUF);
constexpr uint64_t kStackTrace = bit(BPF_MAP_TYPE_STACK_TRACE);
constexpr uint64_t kDevMaps = bit(BPF_MAP_TYPE_DEVMAP) | bit(BPF_MAP_TYPE_DEVMAP_HASH);
constexpr uint64_t kCpuMap = bit(BPF_MAP_TYPE_CPUMAP);
// Programs only look maps up in map-in-map (check_map_func_compatibility).
constexpr uint64_t kMapsOfMaps = bit(BPF_MAP_TYPE_ARRAY_OF_MAPS) | bit(BPF_MAP_TYPE_HASH_OF_MAPS);

using A = ArgType;
using R = RetType;
constexpr auto D = A::DontCare;

constexpr HelperProto kProtos[] = {
    {BPF_FUNC_map_lookup_elem, "map_lookup_elem", R::PtrToMapValueOrNull,
     {A::ConstMapPtr, A::PtrToMapKey, D, D, D}, false, false, false, kAll, kPlainMaps | kMapsOfMaps},
    {BPF_FUNC_map_update_elem, "map_update_elem", R::Integer,
     {A::ConstMapPtr, A::PtrToMapKey, A::PtrToMapValue, A::Anything, D}, false, false, false, kAll, kPlainMaps},
    {BPF_FUNC_map_delete_elem, "map_delete_elem", R::Integer,
     {A::ConstMapPtr, A::PtrToMapKey, D, D, D}, false, false, false, kAll, kPlainMaps},
    {BPF_FUNC_probe_read, "probe_read", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything, D, D}, true, true, false, kTracing, 0},
    {BPF_FUNC_ktime_get_ns, "ktime_get_ns", R::Integer, {D, D, D, D, D}, false, false, false, kAll, 0},
    {BPF_FUNC_trace_printk, "trace_printk", R::Integer,
     {A::PtrToMem, A::ConstSize, D, D, D}, true, true, false, kAll, 0},
    {BPF_FUNC_get_prandom_u32, "get_prandom_u32", R::Integer, {D, D, D, D, D}, false, false, false, kAll, 0},
    {BPF_FUNC_get_smp_processor_id, "get_smp_processor_id", R::Integer, {D, D, D, D, D}, false, false,
     false, kAll, 0},
    {BPF_FUNC_skb_store_bytes, "skb_store_bytes", R::Integer,
     {A::PtrToCtx, A::Anything, A::PtrToMem, A::ConstSize, A::Anything}, false, false, true, kTc, 0},
    {BPF_FUNC_l3_csum_replace, "l3_csum_replace", R::Integer,
     {A::PtrToCtx, A::Anything, A::Anything, A::Anything, A::Anything}, false, false, true, kTc, 0},
    {BPF_FUNC_l4_csum_replace, "l4_csum_replace", R::Integer,
     {A::PtrToCtx, A::Anything, A::Anything, A::Anything, A::Anything}, false, false, true, kTc, 0},
    {BPF_FUNC_tail_call, "tail_call", R::Void, {A::PtrToCtx, A::ConstMapPtr, A::Anything, D, D}, false,
     false, false, kAll, bit(BPF_MAP_TYPE_PROG_ARRAY)},
    {BPF_FUNC_get_current_pid_tgid, "get_current_pid_tgid", R::Integer, {D, D, D, D, D}, false, false,
     false, kTracing, 0},
    {BPF_FUNC_get_current_uid_gid, "get_current_uid_gid", R::Integer, {D, D, D, D, D}, false, false,
     false, kTracing, 0},
    {BPF_FUNC_get_current_comm, "get_current_comm", R::Integer, {A::PtrToUninitMem, A::ConstSize, D, D, D},
     false, false, false, kTracing, 0},
    {BPF_FUNC_redirect, "redirect", R::Integer, {A::Anything, A::Anything, D, D, D}, false, false, false, kTc | kXdp,
     0},
    {BPF_FUNC_perf_event_output, "perf_event_output", R::Integer,
     {A::PtrToCtx, A::ConstMapPtr, A::Anything, A::PtrToMem, A::ConstSizeOrZero}, true, false, false, kAll,
     bit(BPF_MAP_TYPE_PERF_EVENT_ARRAY)},
    {BPF_FUNC_skb_load_bytes, "skb_load_bytes", R::Integer,
     {A::PtrToCtx, A::Anything, A::PtrToUninitMem, A::ConstSize, D}, false, false, false, kSkb, 0},
    {BPF_FUNC_get_stackid, "get_stackid", R::Integer, {A::PtrToCtx, A::ConstMapPtr, A::Anything, D, D}, true,
     false, false, kTracing, kStackTrace},
    {BPF_FUNC_csum_diff, "csum_diff", R::Integer,
     {A::PtrToMemOrNull, A::ConstSizeOrZero, A::PtrToMemOrNull, A::ConstSizeOrZero, A::Anything}, false,
     false, false, kTc | kXdp, 0},
    {BPF_FUNC_xdp_adjust_head, "xdp_adjust_head", R::Integer, {A::PtrToCtx, A::Anything, D, D, D}, false,
     false, true, kXdp, 0},
    {BPF_FUNC_probe_read_str, "probe_read_str", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything, D, D}, true, true, false, kTracing, 0},
    {BPF_FUNC_skb_adjust_room, "skb_adjust_room", R::Integer,
     {A::PtrToCtx, A::Anything, A::Anything, A::Anything, D}, false, false, true, kTc, 0},
    {BPF_FUNC_redirect_map, "redirect_map", R::Integer, {A::ConstMapPtr, A::Anything, A::Anything, D, D}, false,
     false, false, kXdp, kDevMaps | kCpuMap},
    {BPF_FUNC_xdp_adjust_meta, "xdp_adjust_meta", R::Integer, {A::PtrToCtx, A::Anything, D, D, D}, false,
     false, true, kXdp, 0},
    {BPF_FUNC_xdp_adjust_tail, "xdp_adjust_tail", R::Integer, {A::PtrToCtx, A::Anything, D, D, D}, false,
     false, true, kXdp, 0},
    {BPF_FUNC_map_push_elem, "map_push_elem", R::Integer,
     {A::ConstMapPtr, A::PtrToMapValue, A::Anything, D, D}, false, false, false, kAll, kQueueStack},
    {BPF_FUNC_map_pop_elem, "map_pop_elem", R::Integer, {A::ConstMapPtr, A::PtrToUninitMapValue, D, D, D},
     false, false, false, kAll, kQueueStack},
    {BPF_FUNC_map_peek_elem, "map_peek_elem", R::Integer, {A::ConstMapPtr, A::PtrToUninitMapValue, D, D, D},
     false, false, false, kAll, kQueueStack},
    // CAP_BPF only; maps holding a lock are refused to socket filters and tracing (verifier).
    {BPF_FUNC_spin_lock, "spin_lock", R::Void, {A::PtrToSpinLock, D, D, D, D}, false, true, false, kAll, 0},
    {BPF_FUNC_spin_unlock, "spin_unlock", R::Void, {A::PtrToSpinLock, D, D, D, D}, false, true, false, kAll, 0},
    {BPF_FUNC_probe_read_user, "probe_read_user", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything, D, D}, true, true, false, kTracing, 0},
    {BPF_FUNC_probe_read_kernel, "probe_read_kernel", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything, D, D}, true, true, false, kAll, 0},
    {BPF_FUNC_probe_read_user_str, "probe_read_user_str", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything, D, D}, true, true, false, kTracing, 0},
    {BPF_FUNC_probe_read_kernel_str, "probe_read_kernel_str", R::Integer,
     {A::PtrToUninitMem, A::ConstSizeOrZero, A::Anything, D, D}, true, true, false, kAll, 0},
    {BPF_FUNC_ktime_get_boot_ns, "ktime_get_boot_ns", R::Integer, {D, D, D, D, D}, false, false, false,
     kAll, 0},
    {BPF_FUNC_ringbuf_output, "ringbuf_output", R::Integer,
     {A::ConstMapPtr, A::PtrToMem, A::ConstSizeOrZero, A::Anything, D}, false, false, false, kAll, kRingbuf},
    {BPF_FUNC_ringbuf_reserve, "ringbuf_reserve", R::PtrToAllocMemOrNull,
     {A::ConstMapPtr, A::ConstAllocSizeOrZero, A::Anything, D, D}, false, false, false, kAll, kRingbuf},
    {BPF_FUNC_ringbuf_submit, "ringbuf_submit", R::Void, {A::PtrToAllocMem, A::Anything, D, D, D}, false,
     false, false, kAll, 0},
    {BPF_FUNC_ringbuf_discard, "ringbuf_discard", R::Void, {A::PtrToAllocMem, A::Anything, D, D, D}, false,
     false, false, kAll, 0},
    {BPF_FUNC_ringbuf_query, "ringbuf_query", R::Integer, {A::ConstMapPtr, A::Anything, D, D, D}, false,
     false, false, kAll, kRingbuf},
    {BPF_FUNC_trace_vprintk, "trace_vprintk", R::Integer,
     {A::PtrToMem, A::ConstSize, A::PtrToMemOrNull, A::ConstSizeOrZero, D}, true, true, false, kAll, 0},
    // CAP_BPF only; the callback and its context are checked by the verifier's explorer.
    {BPF_FUNC_loop, "loop", R::Integer, {A::Anything, A::PtrToFunc, A::PtrToStackOrNull, A::Anything, D}, false,
     true, false, kAll, 0},
};

constexpr bool sorted_by_id() {
    for (size_t i = 1; i < std::size(kProtos); ++i)
        if (kProtos[i - 1].id >= kProtos[i].id) return false;
    return true;
}
static_assert(sorted_by_id(), "keep kProtos ordered by helper number");

// Map types that only work with their own helpers.
constexpr uint64_t kSpecialMaps = bit(BPF_MAP_TYPE_PROG_ARRAY) | bit(BPF_MAP_TYPE_PERF_EVENT_ARRAY) |
                                  kRingbuf | kQueueStack | kStackTrace | kDevMaps | kCpuMap | kMapsOfMaps;

}  // namespace

std::span<const HelperProto> all_prototypes() noexcept { return kProtos; }

const HelperProto* find_prototype(uint32_t id) noexcept {
    auto it = std::lower_bound(std::begin(kProtos), std::end(kProtos), id,
                               [](const HelperProto& p, uint32_t v) { return p.id < v; });
    return it != std::end(kProtos) && it->id == id ? &*it : nullptr;
}

unsigned arg_count(const HelperProto& proto) noexcept {
    unsigned n = 0;
    for (unsigned i = 0; i < kMaxArgs; ++i)
        if (proto.args[i] != ArgType::DontCare) n = i + 1;
    return n;
}

bool allowed_for(const HelperProto& proto, uint32_t prog_type) noexcept {
    return prog_type < 64 && (proto.prog_types & bit(prog_type)) != 0;
}

bool map_compatible(const HelperProto& proto, uint32_t map_type) noexcept {
    if (map_type >= 64) return false;
    if (proto.map_types != 0) return (proto.map_types & bit(map_type)) != 0;
    return (kSpecialMaps & bit(map_type)) == 0;
}

bool is_gpl_compatible(std::string_view license) noexcept {
    constexpr std::string_view kGpl[] = {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
                                         "Dual MIT/GPL", "Dual MPL/GPL"};
    return std::find(std::begin(kGpl), std::end(kGpl), license) != std::end(kGpl);
}

}  // namespace bpfrt::helpers
