#include "helpers/map_helpers.hpp"

#include "helpers/helper_args.hpp"
#include "helpers/prototypes.hpp"
#include "runtime/map_bridge.hpp"
#include "runtime/program.hpp"

#include <cerrno>
#include <string>

namespace bpfrt::helpers {

namespace {

using runtime::bridge::MapObject;
using namespace args;  // error_code, as_pointer, map_arg, memory_ok

uint64_t map_lookup_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    MapObject* map = map_arg(r1, ctx);
    if (map == nullptr || !memory_ok(r2, runtime::bridge::key_size(*map), false, ctx)) return 0;
    void* value = runtime::bridge::prog_lookup(*map, as_pointer(r2));
    if (value != nullptr && ctx.checked && runtime::bridge::holds_maps(*map)) {
        // An inner map: usable as a map argument for the rest of the run.
        if (auto* run = static_cast<runtime::RunState*>(ctx.user)) run->inner_maps.push_back(value);
    } else if (value != nullptr && ctx.checked) {
        const size_t size = runtime::bridge::prog_value_size(*map);
        const bool writable = runtime::bridge::prog_value_writable(*map);
        if (!ctx.is_allowed(reinterpret_cast<uintptr_t>(value), size, writable)) ctx.allow(value, size, writable);
    }
    return reinterpret_cast<uintptr_t>(value);
}

uint64_t map_update_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t, vm::ExecContext& ctx) {
    MapObject* map = map_arg(r1, ctx);
    if (map == nullptr) return error_code(-EINVAL);
    if (!memory_ok(r2, runtime::bridge::key_size(*map), false, ctx) ||
        !memory_ok(r3, runtime::bridge::prog_value_size(*map), false, ctx))
        return error_code(-EFAULT);
    return error_code(runtime::bridge::prog_update(*map, as_pointer(r2), as_pointer(r3), r4));
}

uint64_t map_delete_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    MapObject* map = map_arg(r1, ctx);
    if (map == nullptr) return error_code(-EINVAL);
    if (!memory_ok(r2, runtime::bridge::key_size(*map), false, ctx)) return error_code(-EFAULT);
    return error_code(runtime::bridge::prog_delete(*map, as_pointer(r2)));
}

uint64_t map_push_elem(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t, uint64_t, vm::ExecContext& ctx) {
    MapObject* map = map_arg(r1, ctx);
    if (map == nullptr) return error_code(-EINVAL);
    if (!memory_ok(r2, runtime::bridge::prog_value_size(*map), false, ctx)) return error_code(-EFAULT);
    return error_code(runtime::bridge::prog_push(*map, as_pointer(r2), r3));
}

// pop and peek write value_size bytes at r2.
template <long (*Take)(MapObject&, void*)>
uint64_t map_take_elem(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    MapObject* map = map_arg(r1, ctx);
    if (map == nullptr) return error_code(-EINVAL);
    if (!memory_ok(r2, runtime::bridge::prog_value_size(*map), true, ctx)) return error_code(-EFAULT);
    return error_code(Take(*map, as_pointer(r2)));
}

void add(vm::HelperTable& table, uint32_t id, vm::HelperFn fn) {
    const HelperProto* proto = find_prototype(id);
    table.set(id, vm::Helper{fn, proto != nullptr ? std::string(proto->name) : std::to_string(id), false});
}

}  // namespace

void register_map_helpers(vm::HelperTable& table) {
    add(table, BPF_FUNC_map_lookup_elem, map_lookup_elem);
    add(table, BPF_FUNC_map_update_elem, map_update_elem);
    add(table, BPF_FUNC_map_delete_elem, map_delete_elem);
    add(table, BPF_FUNC_map_push_elem, map_push_elem);
    add(table, BPF_FUNC_map_pop_elem, map_take_elem<runtime::bridge::prog_pop>);
    add(table, BPF_FUNC_map_peek_elem, map_take_elem<runtime::bridge::prog_peek>);
}

}  // namespace bpfrt::helpers
