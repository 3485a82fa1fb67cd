// Deferred reclamation (epoch-based, RCU-like) for map elements.
//
// A program gets raw pointers into maps (map_lookup_elem) and may use them
// until it returns, while the host or another program deletes or replaces
// the element. So a map never frees an element it unlinked: it retire()s
// it, and the element is freed once no ReadSection that could have seen it
// is still active.
//
// Usage (the runtime does this around every program run):
//
//     {
//         bpfrt::maps::ReadSection section;   // cheap: a thread-local store + a fence
//         run_program();                       // map value pointers valid until here
//     }
//
// Sections nest (only the outermost counts) and are per thread. A section
// must not be held for long: it delays freeing everything retired after it
// began. Freeing happens in retire() (in batches) or in reclaim_now().
//
// How: a global epoch counter; a thread entering its outermost section
// publishes the epoch it read (then a fence: only a compiler barrier where
// membarrier(2) is available, the reclaimer then issuing
// MEMBARRIER_CMD_PRIVATE_EXPEDITED instead); retire() stamps the
// element with the epoch it advanced from. An element retired at epoch e
// is freed when every thread is either outside a section or entered at an
// epoch > e (such a thread started after the unlink and cannot reach it).
#pragma once

#include <cstddef>

namespace bpfrt::maps {

class ReadSection {
public:
    ReadSection() noexcept;
    ~ReadSection();
    ReadSection(const ReadSection&) = delete;
    ReadSection& operator=(const ReadSection&) = delete;
};

// True when the calling thread is inside a ReadSection.
bool in_read_section() noexcept;

// Frees `ptr` with `deleter(ptr)` once no section that could see it remains.
// Call after the element is unlinked (no new reader can find it).
void retire(void* ptr, void (*deleter)(void*)) noexcept;

template <class T>
void retire_delete(T* ptr) noexcept {
    retire(ptr, [](void* p) { delete static_cast<T*>(p); });
}

// Frees every retired element no active section can see; returns how many
// remain pending.
size_t reclaim_now() noexcept;
// Number of retired elements not yet freed.
size_t pending_reclaims() noexcept;
// Waits until every section active at the call has ended, then frees what
// it can. Not from inside a section (it would wait for itself): then it
// only calls reclaim_now().
void synchronize() noexcept;

}  // namespace bpfrt::maps
