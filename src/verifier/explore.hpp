// Path exploration (the kernel's do_check): symbolic execution of every path
// with branch refinement, state pruning at prune points, loop detection and a
// processed-instruction budget.
#pragma once

#include "verifier/env.hpp"

#include <optional>

namespace bpfrt::verifier {

struct ExploreStats {
    uint64_t processed = 0;
    uint64_t total_states = 0;
    uint64_t peak_states = 0;
    uint64_t max_states_per_insn = 0;
    // The failing path (log_level >= 1) and its state at the error.
    Trace fail_trace;
    std::optional<State> fail_state;
};

// On failure the error's message is the root cause; env.pc is the instruction.
Check explore(Env& env, ExploreStats& stats);

}  // namespace bpfrt::verifier
