// bpf_spin_lock (93) and bpf_spin_unlock (94) over the struct bpf_spin_lock
// ({ __u32 val; }: 0 free, 1 held) inside a map value, as the kernel's
// arch spin lock: a test-and-test-and-set lock that spins (and yields when
// contended for long), acquire on lock, release on unlock.
//
// The verifier guarantees that a verified program takes one lock at a time,
// calls nothing while holding it and releases it before it exits. A checked
// (unverified) program is not trusted with that: in a checked run, taking a
// lock while this thread holds one, or unlocking one it does not hold, does
// nothing; a checked program that exits holding a lock leaves it held (a
// later checked run on this thread may release it).
//
// Note: the map implementations copy whole values on updates from programs
// and the host; the kernel's copy_map_value skips the lock. Update a value
// that holds a lock only under that lock, or not while others may hold it.
#pragma once

#include <bpfrt/vm.hpp>

namespace bpfrt::helpers {

void register_lock_helpers(vm::HelperTable& table);

}  // namespace bpfrt::helpers
