// The hash table behind HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH
// (internal to src/maps; hash.cpp).
//
// Layout, for lookups that touch as little memory as possible:
//  - buckets are 4-byte element indices (the head of a chain), with the
//    writers' locks in a separate, cache-line padded stripe array;
//  - elements live in slabs (chunks of doubling size, allocated on demand
//    and never freed before the table), each element one contiguous block:
//    next index, 32-bit hash (compared before the key), key, value, and
//    for LRU tables the LRU links after the value.
// Readers never lock: they follow chains with acquire loads inside a
// ReadSection; writers publish complete elements with release stores.
// Updates take an element from a per-slot free list (no allocation) and
// replace the old element, as the kernel does; the old one, like a deleted
// one, is kept aside and reused only after every ReadSection that could see
// it has ended: the table is a ReclaimDomain (reclaim.hpp).
#pragma once

#include "maps/reclaim.hpp"
#include "maps/util.hpp"

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace bpfrt::maps::detail {

class SlabHashTable final : public ReclaimDomain {
public:
    static constexpr uint32_t kNil = UINT32_MAX;  // the end of a chain or list

    // value_bytes: the value area of each element (a multiple of 8).
    SlabHashTable(uint32_t key_size, size_t value_bytes, uint32_t max_entries, bool lru);
    ~SlabHashTable();

    // Lock-free; the caller holds a ReadSection. The element's value, or null.
    std::byte* find_value(const void* key) const noexcept {
        std::byte* e = find(key);
        return e == nullptr ? nullptr : e + value_offset_;
    }
    // The same, marking the element recently used (LRU program lookups).
    std::byte* find_value_touch(const void* key) const noexcept;

    // Inserts or replaces under `flags` (BPF_ANY/NOEXIST/EXIST, already
    // checked). A new element's value is filled by fill(value) before it
    // is published. With `in_place` and an existing key, in_place(value) is
    // called under the writer lock instead of replacing (per-CPU maps, as
    // the kernel). Full: -E2BIG, or an eviction for LRU tables.
    template <class Fill, class InPlace>
    long upsert(const void* key, uint64_t flags, Fill&& fill, InPlace* in_place);
    template <class Fill>
    long upsert(const void* key, uint64_t flags, Fill&& fill) {
        return upsert(key, flags, std::forward<Fill>(fill), static_cast<void (*)(std::byte*)>(nullptr));
    }

    // Removes the key; copy(value) is called first when given (lookup and
    // delete). 0 or -ENOENT.
    template <class Copy>
    long erase(const void* key, Copy* copy);
    long erase(const void* key) { return erase(key, static_cast<void (*)(std::byte*)>(nullptr)); }

    // The kernel's order: the key's successor in its bucket, then the
    // following buckets; a missing or null key gives the first key.
    long next_key(const void* key_or_null, void* next_out) const noexcept;

    // ReclaimDomain
    void seal(uint64_t epoch) noexcept override;
    void recycle(uint64_t oldest_active) noexcept override;
    size_t pending() const noexcept override;

private:
    struct Header {
        std::atomic<uint32_t> next{kNil};  // chain link
        uint32_t hash = 0;
    };
    struct LruLinks {  // after the value; prev/next under lru_writer_.lock
        uint32_t prev = kNil;
        uint32_t next = kNil;
        std::atomic<uint32_t> referenced{0};  // second-chance bit, set by program lookups
        uint32_t unused = 0;
    };
    // A writer lock and the elements unlinked under it since the last
    // seal (so that retiring an element takes no other lock).
    struct alignas(64) Stripe {
        mutable SpinLock lock;
        std::vector<uint32_t> unlinked;
    };
    struct Sealed {
        uint64_t epoch;
        std::vector<uint32_t> items;
    };
    // Free elements, per slot so that threads on different slots do not
    // share a lock.
    struct alignas(64) Slot {
        mutable SpinLock lock;
        std::vector<uint32_t> free;  // a stack: taking one touches no element
        // Elements this slot's threads unlinked since the last round (a
        // heuristic: racy increments may be lost).
        std::atomic<uint32_t> unlinked_since_round{0};
    };
    static constexpr unsigned kMaxChunks = 33;

    // ---- elements ----
    std::byte* element(uint32_t index) const noexcept {
        const unsigned chunk = static_cast<unsigned>(std::bit_width(index >> first_chunk_shift_));
        // biased_[c] is the address element 0 would have if chunk c started there.
        return reinterpret_cast<std::byte*>(biased_[chunk].load(std::memory_order_relaxed) + uintptr_t{index} * stride_);
    }
    static Header& header(std::byte* e) noexcept { return *reinterpret_cast<Header*>(e); }
    std::byte* key_of(std::byte* e) const noexcept { return e + sizeof(Header); }
    LruLinks& links(std::byte* e) const noexcept { return *reinterpret_cast<LruLinks*>(e + lru_offset_); }
    LruLinks& links(uint32_t index) const noexcept { return links(element(index)); }

    uint32_t hash_key(const void* key) const noexcept;
    bool same_key(std::byte* e, const void* key) const noexcept;
    std::byte* find(const void* key) const noexcept;
    // Buckets are chosen by the hash's high bits (see hash_key).
    uint32_t bucket_index(uint32_t hash) const noexcept { return static_cast<uint32_t>(uint64_t{hash} >> bucket_shift_); }
    std::atomic<uint32_t>& bucket(uint32_t hash) const noexcept { return buckets_[bucket_index(hash)]; }
    Stripe& stripe(uint32_t hash) const noexcept { return stripes_[bucket_index(hash) & (n_stripes_ - 1)]; }
    // The lock of writers of this key, with its unlinked list.
    Stripe& writer(uint32_t hash) const noexcept { return lru_ ? lru_writer_ : stripe(hash); }
    // The link holding the element with this key (or the final kNil link).
    std::atomic<uint32_t>* find_link(uint32_t hash, const void* key) const noexcept;
    std::atomic<uint32_t>* link_to(uint32_t index) const noexcept;  // the link holding `index`

    // ---- element supply ----
    Slot& my_slot() const noexcept;
    uint32_t allocate();  // an element's index; kNil: out of memory (-ENOMEM)
    void init_element(std::byte* e, const void* key, uint32_t hash) const noexcept;
    uint32_t pop_free(Slot& s) noexcept;                 // under s.lock
    uint32_t take_free_or_reclaim(Slot& s);
    uint32_t bump_or_grow();
    size_t chunk_bytes(unsigned chunk) const noexcept {
        return (size_t{1} << (first_chunk_shift_ + (chunk == 0 ? 0 : chunk - 1))) * stride_;
    }
    void push_free(Slot& s, uint32_t index) noexcept;    // under s.lock
    void release_unpublished(uint32_t index) noexcept;   // never reachable: free at once
    // Unlinked under w.lock: reused after the sections that could see it.
    void retire_locked(Stripe& w, uint32_t index) noexcept;

    // ---- writers ----
    bool reserve_count() noexcept;  // count_ < max: count_++
    void unlink(std::atomic<uint32_t>* link, uint32_t index) noexcept;  // writer lock held
    void evict_one() noexcept;                                          // LRU, under lru_writer_.lock
    void lru_push_front(uint32_t index) noexcept;
    void lru_remove(uint32_t index) noexcept;

    const uint32_t key_size_;
    const size_t key_bytes_;
    const size_t value_bytes_;
    const size_t value_offset_;
    const size_t lru_offset_;
    const size_t stride_;
    const uint32_t max_entries_;
    const bool lru_;
    uint32_t n_buckets_ = 0;
    unsigned bucket_shift_ = 32;  // 32 - log2(n_buckets_)
    uint32_t n_stripes_ = 0;
    unsigned n_slots_ = 0;
    unsigned first_chunk_shift_ = 0;  // the first chunk holds 1 << shift elements
    uint32_t reclaim_threshold_ = 0;  // unlinked elements of a slot that start a round
    std::unique_ptr<std::atomic<uint32_t>[]> buckets_;
    std::unique_ptr<Stripe[]> stripes_;
    std::unique_ptr<Slot[]> slots_;
    std::array<std::atomic<uintptr_t>, kMaxChunks> biased_{};
    std::array<std::byte*, kMaxChunks> chunks_{};
    std::mutex grow_mutex_;
    unsigned n_chunks_ = 0;                // under grow_mutex_
    std::atomic<uint32_t> capacity_{0};    // elements in the allocated chunks
    std::atomic<uint32_t> bump_{0};        // elements never handed out start here
    std::atomic<uint32_t> count_{0};
    mutable Stripe lru_writer_;  // LRU tables: the lock of every writer, and of the LRU list
    mutable std::mutex sealed_mutex_;  // rounds only
    std::vector<Sealed> sealed_;       // increasing epochs
    size_t sealed_count_ = 0;
    uint32_t lru_head_ = kNil;
    uint32_t lru_tail_ = kNil;
};

template <class Fill, class InPlace>
long SlabHashTable::upsert(const void* key, uint64_t flags, Fill&& fill, InPlace* in_place) {
    const uint32_t hash = hash_key(key);
    Stripe& w = writer(hash);
    SpinLock& lock = w.lock;
    if (in_place != nullptr && flags != BPF_NOEXIST) {
        // Per-CPU maps update an existing element in place: try that first,
        // without taking an element.
        std::lock_guard guard(lock);
        std::atomic<uint32_t>* link = find_link(hash, key);
        const uint32_t old = link->load(std::memory_order_relaxed);
        if (old != kNil) {
            (*in_place)(element(old) + value_offset_);
            return 0;
        }
        if (flags == BPF_EXIST) return -ENOENT;
    }
    // Take an element (its index only: no access to it yet) and prefetch
    // it, so that its cache miss overlaps the bucket walk's.
    const uint32_t fresh = allocate();
    if (fresh == kNil) return -ENOMEM;
    std::byte* e = element(fresh);
    __builtin_prefetch(e, 1);
    std::unique_lock guard(lock);
    std::atomic<uint32_t>* link = find_link(hash, key);
    const uint32_t old = link->load(std::memory_order_relaxed);
    long err = 0;
    if (old != kNil && flags == BPF_NOEXIST) err = -EEXIST;
    if (old == kNil && flags == BPF_EXIST) err = -ENOENT;
    if (err == 0 && old != kNil && in_place != nullptr) {  // appeared meanwhile
        (*in_place)(element(old) + value_offset_);
        err = 1;
    }
    if (err == 0 && old == kNil && !reserve_count()) {
        if (!lru_) {
            err = -E2BIG;
        } else {
            evict_one();
            count_.fetch_add(1, std::memory_order_relaxed);
            link = find_link(hash, key);  // the victim may have been in this bucket
        }
    }
    if (err != 0) {
        guard.unlock();
        release_unpublished(fresh);
        return err > 0 ? 0 : err;
    }
    init_element(e, key, hash);
    fill(e + value_offset_);
    if (old != kNil) {
        std::byte* old_e = element(old);
        header(e).next.store(header(old_e).next.load(std::memory_order_relaxed), std::memory_order_relaxed);
        if (lru_) lru_remove(old);
        link->store(fresh, std::memory_order_release);
    } else {
        std::atomic<uint32_t>& head = bucket(hash);
        header(e).next.store(head.load(std::memory_order_relaxed), std::memory_order_relaxed);
        head.store(fresh, std::memory_order_release);
    }
    if (lru_) lru_push_front(fresh);
    if (old != kNil) retire_locked(w, old);
    return 0;
}

template <class Copy>
long SlabHashTable::erase(const void* key, Copy* copy) {
    const uint32_t hash = hash_key(key);
    Stripe& w = writer(hash);
    std::lock_guard guard(w.lock);
    std::atomic<uint32_t>* link = find_link(hash, key);
    const uint32_t index = link->load(std::memory_order_relaxed);
    if (index == kNil) return -ENOENT;
    if (copy != nullptr) (*copy)(element(index) + value_offset_);
    unlink(link, index);
    retire_locked(w, index);
    return 0;
}

}  // namespace bpfrt::maps::detail
