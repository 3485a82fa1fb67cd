#include "helpers/redirect_helpers.hpp"

#include "helpers/prototypes.hpp"
#include "maps/map.hpp"
#include "runtime/program.hpp"

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cstring>
#include <string>

namespace bpfrt::helpers {

namespace {

thread_local RedirectTarget current;

const runtime::ProgramObject* program_of(const vm::ExecContext& ctx) {
    return static_cast<const runtime::ProgramObject*>(ctx.program);
}

bool is_tc(uint32_t type) { return type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT; }

// The XDP actions a failed map lookup may return (the low bits of flags).
constexpr uint64_t kActionMask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;

uint64_t redirect(uint64_t ifindex, uint64_t flags, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    const runtime::ProgramObject* program = program_of(ctx);
    if (program != nullptr && is_tc(program->type)) {
        if ((flags & ~uint64_t{BPF_F_INGRESS}) != 0) return TC_ACT_SHOT;
        current = RedirectTarget{.set = true, .ifindex = static_cast<uint32_t>(ifindex), .flags = flags};
        return TC_ACT_REDIRECT;
    }
    if (flags != 0) return XDP_ABORTED;
    current = RedirectTarget{.set = true, .ifindex = static_cast<uint32_t>(ifindex)};
    return XDP_REDIRECT;
}

bool is_devmap(uint32_t map_type) {
    return map_type == BPF_MAP_TYPE_DEVMAP || map_type == BPF_MAP_TYPE_DEVMAP_HASH;
}

// The flags besides the fallback action a map type takes (the flag_mask its
// map_redirect passes to the kernel's __bpf_xdp_redirect_map).
uint64_t redirect_flag_mask(uint32_t map_type) {
    return is_devmap(map_type) ? uint64_t{BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS} : 0;
}

uint64_t redirect_map(uint64_t map_reg, uint64_t key, uint64_t flags, uint64_t, uint64_t, vm::ExecContext& ctx) {
    auto* map = reinterpret_cast<maps::Map*>(static_cast<uintptr_t>(map_reg));
    const runtime::ProgramObject* program = program_of(ctx);
    // Checked runs (never packet programs, which are verified) could pass anything.
    if (ctx.checked && (program == nullptr || !program->uses_map(map))) return XDP_ABORTED;
    const uint32_t map_type = map->spec().type;
    const bool to_cpu = map_type == BPF_MAP_TYPE_CPUMAP;
    if (!is_devmap(map_type) && !to_cpu) return XDP_ABORTED;  // XSKMAP is not implemented
    if ((flags & ~(kActionMask | redirect_flag_mask(map_type))) != 0) return XDP_ABORTED;
    const auto index = static_cast<uint32_t>(key);
    const void* value = map->prog_lookup(&index);
    const bool broadcast = (flags & BPF_F_BROADCAST) != 0;
    if (value == nullptr && !broadcast) {
        current = RedirectTarget{};  // the last lookup wins, as the kernel
        return flags & kActionMask;
    }
    uint32_t ifindex = 0;
    if (value != nullptr && !to_cpu) ifindex = __atomic_load_n(static_cast<const uint32_t*>(value), __ATOMIC_RELAXED);
    current = RedirectTarget{.set = true,
                             .ifindex = ifindex,
                             .flags = broadcast ? flags & (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS) : 0,
                             .map = map,
                             .key = index,
                             .to_cpu = to_cpu};
    return XDP_REDIRECT;
}

void add(vm::HelperTable& table, uint32_t id, vm::HelperFn fn) {
    const HelperProto* proto = find_prototype(id);
    table.set(id, vm::Helper{fn, proto != nullptr ? std::string(proto->name) : std::to_string(id), false});
}

}  // namespace

RedirectTarget& redirect_target() noexcept { return current; }
void clear_redirect() noexcept { current = RedirectTarget{}; }

void register_redirect_helpers(vm::HelperTable& table) {
    add(table, BPF_FUNC_redirect, redirect);
    add(table, BPF_FUNC_redirect_map, redirect_map);
}

}  // namespace bpfrt::helpers
