// Epoch-based deferred reclamation (see reclaim.hpp).
#include "maps/reclaim.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <thread>
#include <vector>

namespace bpfrt::maps {

namespace {

// One per thread that ever entered a section; reused after the thread
// exits, never freed (a handful of cache lines per thread).
struct alignas(64) ThreadRecord {
    std::atomic<uint64_t> epoch{0};  // 0: outside any section
    std::atomic<bool> in_use{true};
    ThreadRecord* next = nullptr;    // immutable once published
};

// Retired elements gathered before a reclamation is attempted.
constexpr size_t kBatch = 1024;

struct Retired {
    void* ptr;
    void (*deleter)(void*);
    uint64_t epoch;  // sealed: sections that entered at <= epoch may see it
};

struct Registry {
    std::atomic<uint64_t> global_epoch{1};  // advanced only in rounds, under round_mutex
    std::atomic<ThreadRecord*> records{nullptr};
    std::mutex round_mutex;  // one round at a time; guards `domains`
    std::vector<ReclaimDomain*> domains;
    std::mutex retired_mutex;
    std::vector<Retired> queued;   // retired since the last round (not sealed)
    std::vector<Retired> sealed;   // sealed, waiting for their sections to end
    size_t next_attempt = kBatch;  // queued + sealed size that triggers the next round (under the mutex)
};

// Never destroyed: threads and static destructors may retire until exit.
Registry& registry() {
    static Registry* r = new Registry;
    return *r;
}

ThreadRecord* acquire_record() {
    Registry& reg = registry();
    for (ThreadRecord* r = reg.records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
        bool expected = false;
        if (!r->in_use.load(std::memory_order_relaxed) &&
            r->in_use.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
            return r;
        }
    }
    auto* fresh = new ThreadRecord;
    ThreadRecord* head = reg.records.load(std::memory_order_relaxed);
    do {
        fresh->next = head;
    } while (!reg.records.compare_exchange_weak(head, fresh, std::memory_order_release, std::memory_order_relaxed));
    return fresh;
}

struct ThreadState {
    ThreadRecord* record = nullptr;
    ~ThreadState() {
        if (record != nullptr) {
            record->epoch.store(0, std::memory_order_release);
            record->in_use.store(false, std::memory_order_release);
        }
    }
};

thread_local ThreadState tls;

// Asymmetric fences: with membarrier(2), readers need only a compiler
// barrier after publishing their epoch, and the (rare) reclaimer makes
// every running thread of the process execute a full barrier instead. A
// full fence per section would stall on the cache misses of the lookups
// around it. Without membarrier, readers use a real fence.
// A full fence. ThreadSanitizer does not support atomic_thread_fence (and
// g++ warns about it), so TSan builds use a seq_cst read-modify-write of a
// private atomic instead: also a full barrier on x86, and visible to TSan.
void full_fence() {
#if defined(__SANITIZE_THREAD__)
    static std::atomic<int> fence_word{0};
    fence_word.fetch_add(0, std::memory_order_seq_cst);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

bool init_membarrier() {
    const long cmds = ::syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED)) return false;
    return ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

bool use_membarrier() {
    static const bool enabled = init_membarrier();
    return enabled;
}

void reader_fence() {
    if (use_membarrier()) {
        std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
        full_fence();
    }
}

void reclaimer_fence() {
    full_fence();
    if (use_membarrier() && ::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
        std::abort();  // registered, so it cannot fail; never run unsafely
    }
}

// The oldest epoch an active section entered at (max when none).
uint64_t oldest_active_epoch() {
    reclaimer_fence();
    uint64_t oldest = std::numeric_limits<uint64_t>::max();
    for (ThreadRecord* r = registry().records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
        const uint64_t e = r->epoch.load(std::memory_order_acquire);
        if (e != 0) oldest = std::min(oldest, e);
    }
    return oldest;
}

}  // namespace

namespace detail {

void enter_read_section() noexcept {
    ThreadState& t = tls;
    if (t.record == nullptr) t.record = acquire_record();
    const uint64_t e = registry().global_epoch.load(std::memory_order_acquire);
    t.record->epoch.store(e, std::memory_order_relaxed);
    // Publish before reading any map pointer (pairs with the reclaimer's fence).
    reader_fence();
}

void leave_read_section() noexcept { tls.record->epoch.store(0, std::memory_order_release); }

}  // namespace detail

void retire(void* ptr, void (*deleter)(void*)) noexcept {
    Registry& reg = registry();
    bool attempt = false;
    {
        std::lock_guard lock(reg.retired_mutex);
        reg.queued.push_back(Retired{ptr, deleter, 0});
        attempt = reg.queued.size() + reg.sealed.size() >= reg.next_attempt;
    }
    if (attempt) reclaim_now();
}

void register_domain(ReclaimDomain* domain) noexcept {
    Registry& reg = registry();
    std::lock_guard lock(reg.round_mutex);
    reg.domains.push_back(domain);
}

void unregister_domain(ReclaimDomain* domain) noexcept {
    Registry& reg = registry();
    std::lock_guard lock(reg.round_mutex);
    std::erase(reg.domains, domain);
}

namespace {

// One round, under round_mutex: seals what was unlinked so far with the
// current epoch e, advances the epoch to e + 1, lets the domains recycle
// and moves the freeable retired elements to `ready` (their deleters run
// outside the locks: they may destroy maps, which unregister domains).
// Returns e.
uint64_t round_locked(Registry& reg, std::vector<Retired>& ready) {
    const uint64_t e = reg.global_epoch.load(std::memory_order_relaxed);
    {
        std::lock_guard lock(reg.retired_mutex);
        for (Retired& r : reg.queued) r.epoch = e;
        reg.sealed.insert(reg.sealed.end(), reg.queued.begin(), reg.queued.end());
        reg.queued.clear();
    }
    for (ReclaimDomain* d : reg.domains) d->seal(e);
    // A section that reads e + 1 starts after everything sealed above was
    // unlinked (the release pairs with ReadSection's acquire load).
    reg.global_epoch.store(e + 1, std::memory_order_release);
    const uint64_t oldest = oldest_active_epoch();
    for (ReclaimDomain* d : reg.domains) d->recycle(oldest);
    std::lock_guard lock(reg.retired_mutex);
    auto keep = std::partition(reg.sealed.begin(), reg.sealed.end(), [&](const Retired& r) { return r.epoch >= oldest; });
    ready.assign(keep, reg.sealed.end());
    reg.sealed.erase(keep, reg.sealed.end());
    // Retry after the pending list doubles, so that a long section costs
    // amortised O(1) per retire.
    reg.next_attempt = std::max<size_t>(kBatch, 2 * (reg.sealed.size() + reg.queued.size()));
    return e;
}

uint64_t run_round() {
    Registry& reg = registry();
    std::vector<Retired> ready;
    uint64_t e = 0;
    {
        std::lock_guard lock(reg.round_mutex);
        e = round_locked(reg, ready);
    }
    for (const Retired& r : ready) r.deleter(r.ptr);
    return e;
}

}  // namespace

size_t reclaim_now() noexcept {
    run_round();
    return pending_reclaims();
}

size_t pending_reclaims() noexcept {
    Registry& reg = registry();
    std::lock_guard round_lock(reg.round_mutex);
    size_t n = 0;
    for (const ReclaimDomain* d : reg.domains) n += d->pending();
    std::lock_guard lock(reg.retired_mutex);
    return n + reg.queued.size() + reg.sealed.size();
}

void synchronize() noexcept {
    if (in_read_section()) {
        reclaim_now();
        return;
    }
    // Everything retired before this call is sealed at <= now; sections
    // that entered at <= now may still be running.
    const uint64_t now = run_round();
    while (oldest_active_epoch() <= now) std::this_thread::yield();
    reclaim_now();
}

}  // namespace bpfrt::maps
