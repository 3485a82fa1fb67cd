// The verifier step of BPF_PROG_LOAD.
//
// PROG_LOAD runs, in order: attribute checks, map reference collection
// (lddw BPF_PSEUDO_MAP_FD / _VALUE -> map objects), verify(), lddw
// resolution to addresses, preparation for the engine. verify() is the one
// boundary where the verifier of issue 4 slots in: it takes the kernel's
// inputs (verifier::VerifyInput) and gives accept/reject plus the log.
//
// Until that verifier exists, verify() only checks structure: every slot
// decodes through the opcode table (unknown opcodes, reserved fields,
// registers: EINVAL as the kernel) and every map reference names a map.
// Programs are therefore prepared in vm::Mode::Checked, where every memory
// access is bounds-checked at run time.
#pragma once

#include "verifier/verifier.hpp"

namespace bpfrt::runtime {

// True once verify() proves programs safe (then programs may run in
// vm::Mode::Verified); false while it only checks structure.
inline constexpr bool kVerifierProvesSafety = false;

verifier::VerifyResult verify(const verifier::VerifyInput& input);

}  // namespace bpfrt::runtime
