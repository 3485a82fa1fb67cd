// The six test helpers of the bpf_conformance suite's reference plugin, so
// that its programs (call 5, callx) run unchanged under bpfrt.
#pragma once

#include <bpfrt/vm.hpp>

namespace bpfrt::helpers {

// 0 gather_bytes, 1 memfrob, 2 no-op, 3 integer square root, 4 strcmp,
// 5 unwind (returns r1; the program ends with r0 = 0 when it returns 0).
vm::HelperTable conformance_helpers();

}  // namespace bpfrt::helpers
