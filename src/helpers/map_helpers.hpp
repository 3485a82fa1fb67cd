// The map helpers of programs, with the kernel's numbers:
// map_lookup_elem (1), map_update_elem (2), map_delete_elem (3),
// map_push_elem (87), map_pop_elem (88), map_peek_elem (89).
//
// r1 is the map as loaded by a resolved BPF_LD_MAP_FD. In checked runs
// (unverified programs) every argument is checked first: the map must be
// one the running program referenced at load time, and key/value pointers
// must lie in memory the program may access (its stack, map values);
// otherwise lookup gives NULL and the others -EINVAL / -EFAULT. A value
// returned by map_lookup_elem is added to the memory the program may access
// for the rest of the run.
#pragma once

#include <bpfrt/vm.hpp>

namespace bpfrt::helpers {

void register_map_helpers(vm::HelperTable& table);

}  // namespace bpfrt::helpers
