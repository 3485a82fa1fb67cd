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
// MEMBARRIER_CMD_PRIVATE_EXPEDITED instead). retire() only queues the
// element (no shared counter is written per element); a reclamation round,
// under one lock, seals everything queued so far with the current epoch e
// and then advances the epoch to e + 1. An element sealed at epoch e is freed
// when every thread is either outside a section or entered at an epoch > e
// (such a thread read the epoch after the round, so it started after the
// unlink and cannot reach the element).
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpfrt::maps {

namespace detail {
// This thread's section nesting depth (inline: a nested section, as the
// one every map lookup opens inside a program run, is one increment).
inline thread_local unsigned read_depth = 0;
void enter_read_section() noexcept;  // the outermost section begins
void leave_read_section() noexcept;  // ... and ends
}  // namespace detail

class ReadSection {
public:
    ReadSection() noexcept {
        if (detail::read_depth++ == 0) detail::enter_read_section();
    }
    ~ReadSection() {
        if (--detail::read_depth == 0) detail::leave_read_section();
    }
    ReadSection(const ReadSection&) = delete;
    ReadSection& operator=(const ReadSection&) = delete;
};

// True when the calling thread is inside a ReadSection.
inline bool in_read_section() noexcept { return detail::read_depth != 0; }

// Frees `ptr` with `deleter(ptr)` once no section that could see it remains.
// Call after the element is unlinked (no new reader can find it).
void retire(void* ptr, void (*deleter)(void*)) noexcept;

template <class T>
void retire_delete(T* ptr) noexcept {
    retire(ptr, [](void* p) { delete static_cast<T*>(p); });
}

// A container that recycles its own elements instead of retire()ing each
// one (the hash maps' element pools: no allocation, no deleter call per
// element). It keeps what it unlinked; in every reclamation round the
// reclaimer seals those elements with the current epoch, advances the epoch,
// and then tells the domain which seals no active section can see. The
// callbacks run under the reclaimer's lock and must not call back into this
// file (retire, reclaim_now...). Their pending elements count in
// pending_reclaims().
class ReclaimDomain {
public:
    // Stamp every element unlinked so far and not yet sealed with `epoch`.
    virtual void seal(uint64_t epoch) noexcept = 0;
    // Elements sealed with an epoch < oldest_active may be reused.
    virtual void recycle(uint64_t oldest_active) noexcept = 0;
    // Elements unlinked and not yet recycled.
    virtual size_t pending() const noexcept = 0;

protected:
    ReclaimDomain() = default;
    ~ReclaimDomain() = default;
    ReclaimDomain(const ReclaimDomain&) = delete;
    ReclaimDomain& operator=(const ReclaimDomain&) = delete;
};

// A domain takes part in rounds from register_domain until
// unregister_domain returns (which waits for a round in progress).
void register_domain(ReclaimDomain* domain) noexcept;
void unregister_domain(ReclaimDomain* domain) noexcept;

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
