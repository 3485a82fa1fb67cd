// What generated code and the C++ side of a JIT run share: the per-run state
// the code reaches through r12, and the ExecContext field offsets it uses.
#pragma once

#include <bpfrt/jit.hpp>
#include <bpfrt/vm.hpp>

#include <cstddef>
#include <cstdint>

namespace bpfrt::jit {

// The run state and entry point are declared in <bpfrt/jit.hpp> (the
// direct entry's inline fast path needs them).
using detail::EntryFn;
using detail::RunError;
using detail::RunState;
using detail::RunStatus;

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
