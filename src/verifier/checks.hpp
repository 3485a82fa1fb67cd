// Safety checks of single operations: register reads, memory accesses per
// region (stack, map value, helper memory, context, packet) and helper calls
// against their prototypes.
#pragma once

#include "verifier/env.hpp"

#include <optional>
#include <string_view>

namespace bpfrt::verifier {

Check check_reg_read(const State& st, int regno);
Check check_reg_write(int regno);
// The context pointer unmodified (fixed and variable offset zero), as memory
// accesses, helpers and LD_ABS need it.
Check check_ctx_reg(const RegState& reg, int regno);

enum class Access { Read, Write };

// What a store writes: a register, or an immediate (BPF_ST).
struct StoreValue {
    int regno = -1;                 // -1: immediate
    std::optional<uint64_t> imm;    // value of an immediate store
};

// Checks `*(size *)(R[ptr_regno] + insn_off)`. A read puts the loaded value
// into `dst_regno` (if >= 0; sign-extended when `sign_extend`); a write
// records `value` in the stack when the target is the stack.
Check check_mem_access(Env& env, State& st, int ptr_regno, int insn_off, int size, Access kind, int dst_regno,
                       bool sign_extend, const StoreValue& value);

// Checks an atomic read-modify-write on *(size *)(R[ptr_regno] + off).
Check check_atomic_access(Env& env, State& st, int ptr_regno, int off, int size, int src_regno);

// A call to a helper: existence, program type, license, arguments; then
// clobbers R1-R5 and sets R0 from the prototype's return type.
Check check_helper_call(Env& env, State& st, int32_t helper_id, size_t pc);

// ---- bpf_spin_lock ----

// Whether a map value pointer keeps its id after a NULL check: the id names
// the element whose lock bpf_spin_lock/unlock take (maps with a lock only).
bool keeps_value_id(const Env& env, const RegState& reg);
// `what` (an exit of the main program, LD_ABS...) may not run while the
// path holds a bpf_spin_lock.
Check check_no_lock_held(const State& st, std::string_view what);
// The kernel's check_map_prog_compatibility: whether a program of this type
// may use `map` at all (maps holding a bpf_spin_lock: not socket filters nor
// tracing programs).
Check check_map_prog_compat(const Env& env, const MapInfo& map);

}  // namespace bpfrt::verifier
