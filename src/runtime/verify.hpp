// The verifier step of BPF_PROG_LOAD.
//
// PROG_LOAD runs, in order: attribute checks, map reference collection
// (lddw BPF_PSEUDO_MAP_FD / _VALUE -> map objects), verify(), lddw
// resolution to addresses, preparation for the engine. verify() is the one
// boundary where the verifier of issue 4 slots in: it takes the kernel's
// inputs (verifier::VerifyInput) and gives accept/reject plus the log.
//
// Program types the verifier knows (verifier::context_for) are verified in
// full and then run in vm::Mode::Verified; the verifier also reports every
// context access for the runtime's context conversion. Other types
// (SYSCALL) only get the structural check (every slot decodes through the
// opcode table, every map reference names a map) and run in vm::Mode::Checked,
// where every memory access is bounds-checked at run time.
#pragma once

#include "verifier/verifier.hpp"

namespace bpfrt::runtime {

// Whether verify() proves programs of `prog_type` safe (then they run in
// vm::Mode::Verified); false where it only checks structure.
bool verifier_proves_safety(uint32_t prog_type);

verifier::VerifyResult verify(const verifier::VerifyInput& input);

}  // namespace bpfrt::runtime
