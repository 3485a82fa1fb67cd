// What generated code and the C++ side of a JIT run share: the per-run state
// the code reaches through r12, and the ExecContext field offsets it uses.
#pragma once

#include <bpfrt/vm.hpp>

#include <cstddef>
#include <cstdint>

namespace bpfrt::jit {

// How a run of generated code ended.
enum class RunStatus : uint32_t {
    Returned = 0,  // r0 is the result
    TailCall = 1,  // continue in ctx.tail_call_target (already counted)
    Error = 2,     // error_kind at error_pc
};

enum class RunError : uint32_t {
    None = 0,
    UnknownHelper = 1,  // error_arg: the helper number
    CallDepth = 2,
};

// Per-run state, on the C++ stack of Program::run; r12 points to it while the
// generated code runs. Standard layout: the code addresses fields with offsetof.
struct RunState {
    vm::ExecContext* ctx = nullptr;
    const vm::HelperTable* helpers = nullptr;  // for callx
    uint64_t entry_rsp = 0;     // rsp before the main function is called; aborts return to it
    uint64_t depth_limit = 0;   // a local call from rsp <= this would exceed kMaxCallDepth
    uint64_t ctx_arg = 0;       // r1 at the last helper call: a tail call target's context
    uint64_t error_pc = 0;
    uint64_t error_arg = 0;
    uint64_t callx_id = 0;      // helper number of the current callx
    RunStatus status = RunStatus::Returned;
    RunError error_kind = RunError::None;
    uint8_t callx_error = 0;    // set by the callx trampoline: no such helper
    uint8_t callx_unwind = 0;   // set by the callx trampoline: unwind_on_zero helper returned 0
};

// The entry point of generated code: r1, r2, and the run state.
using EntryFn = uint64_t (*)(uint64_t r1, uint64_t r2, RunState* state);

// callx goes through C++: the helper is found at run time.
uint64_t callx_trampoline(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunState* state);

// Offsets of the ExecContext fields generated code reads and writes
// (ExecContext is not standard layout, so they are measured, not offsetof).
struct ContextOffsets {
    int32_t packet;
    int32_t packet_len;
    int32_t exit_requested;
    int32_t exit_value;
    int32_t tail_call_target;
    int32_t tail_calls;
    int32_t stack_top;
};
const ContextOffsets& context_offsets() noexcept;

}  // namespace bpfrt::jit
