// Explaining a rejection: where each register's value came from (origins
// stamped during exploration), and the summary that opens a rejection's log:
// the root cause in plain words, the instruction, its C source line, the
// register's type and range, the instruction that made that value, and a
// hint when the fix is a common one.
#pragma once

#include "verifier/env.hpp"

#include <cstdint>
#include <string>

namespace bpfrt::verifier {

// Gives every register and spilled register of `st` whose origin is unset
// (values made by the instruction just checked) the origin `insn`
// (Origin::kEntry for the initial state). Copies keep their origin.
void stamp_origins(State& st, uint32_t insn);

struct Diagnosis {
    int64_t insn = -1;       // the instruction the rejection is about (-1: the whole program)
    std::string plain;       // the root cause in plain words, one sentence
    int regno = -1;          // the register it is about (-1: none)
    std::string reg;         // its type and range at the error, "map_value_or_null(id=1,off=0,ks=4,vs=8)"
    std::string origin;      // "insn 6: call 1 (bpf_map_lookup_elem) (file.c:18: ...)", or a sentence
    std::vector<std::string> notes;  // further facts (the path that leaks, where an offset was added...)
    std::string hint;        // the usual fix; empty when none is common
};

// A rejection found while exploring: `message` is the verifier's message
// (without the instruction prefix), `insn` the instruction (env.pc), `state`
// the state before it (nullptr if unknown), `trace` the failing path (empty
// below log_level 1).
Diagnosis diagnose(const Env& env, const std::string& message, int64_t insn, const State* state, const Trace& trace);

// The combined stack of a call chain is too large: names the call that
// makes it so.
Diagnosis diagnose_stack_depth(const Env& env);

// The summary block that opens the log of a rejection (ends with a blank line).
std::string summary_text(const Env& env, const Diagnosis& d);

}  // namespace bpfrt::verifier
