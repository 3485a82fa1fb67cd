// Reading helper arguments (internal to src/helpers): the run's context, a
// map of the running program, and memory a checked (unverified) run may
// pass. In verified runs the verifier has proven every argument; in checked
// runs a helper must not trust them.
#pragma once

#include "maps/map.hpp"
#include "runtime/program.hpp"

#include <bpfrt/insn.h>
#include <bpfrt/vm.hpp>

#include <cstdint>

namespace bpfrt::helpers::args {

inline uint64_t error_code(long err) { return static_cast<uint64_t>(static_cast<int64_t>(err)); }
inline void* as_pointer(uint64_t reg) { return reinterpret_cast<void*>(static_cast<uintptr_t>(reg)); }

inline const runtime::ProgramObject* program_of(const vm::ExecContext& ctx) {
    return static_cast<const runtime::ProgramObject*>(ctx.program);
}
inline runtime::RunState* run_of(const vm::ExecContext& ctx) { return static_cast<runtime::RunState*>(ctx.user); }

// The map in `reg`, or nullptr when a checked run passes something that is
// not a map of the running program (or one it obtained from a map-in-map).
inline maps::Map* map_arg(uint64_t reg, const vm::ExecContext& ctx) {
    if (ctx.checked) {
        const runtime::ProgramObject* program = program_of(ctx);
        const runtime::RunState* run = run_of(ctx);
        const void* map = as_pointer(reg);
        if (!((program != nullptr && program->uses_map(map)) || (run != nullptr && run->knows_map(map))))
            return nullptr;
    }
    return static_cast<maps::Map*>(as_pointer(reg));
}

// Whether `size` bytes at `reg` may be passed (always in verified runs).
inline bool memory_ok(uint64_t reg, size_t size, bool write, const vm::ExecContext& ctx) {
    if (!ctx.checked || size == 0) return true;
    return ctx.is_allowed(static_cast<uintptr_t>(reg), size, write);
}

// The run's own context when `reg` is it and the program's type passes
// `type_ok`; nullptr otherwise (only a checked run can pass anything else).
template <class Ctx>
Ctx* context_arg(uint64_t reg, const vm::ExecContext& ctx, bool (*type_ok)(uint32_t)) {
    const runtime::ProgramObject* program = program_of(ctx);
    const runtime::RunState* run = run_of(ctx);
    if (program == nullptr || !type_ok(program->type)) return nullptr;
    if (run == nullptr || run->context != reg) return nullptr;
    return static_cast<Ctx*>(as_pointer(reg));
}

}  // namespace bpfrt::helpers::args
