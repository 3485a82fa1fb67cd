// The hash table behind HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and
// HASH_OF_MAPS (internal to src/maps).
//
// Readers never lock: buckets are singly linked lists of immutable-key
// elements published with release stores, read with acquire loads inside a
// ReadSection. Writers lock the bucket (or, for LRU tables, one table-wide
// mutex that also guards the LRU list). A replaced or deleted element is
// retired (reclaim.hpp), never freed in place, so readers' pointers stay
// valid until their section ends.
#pragma once

#include "maps/reclaim.hpp"
#include "maps/util.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace bpfrt::maps::detail {

// Layout: this header, the key (rounded up to 8), the value area, and for
// LRU tables the LruLinks (kept out of the header so that plain elements
// stay small: 32 bytes + key + value).
struct HashElement {
    std::atomic<HashElement*> next{nullptr};
    void (*destroy_value)(std::byte*) = nullptr;  // for values owning resources
    uint32_t hash = 0;
    uint32_t key_bytes = 0;              // key size rounded up to 8: where the value starts
    std::atomic<uint8_t> referenced{0};  // LRU second-chance bit, set by program lookups

    std::byte* key() noexcept { return reinterpret_cast<std::byte*>(this) + sizeof(HashElement); }
    std::byte* value(size_t key_span) noexcept { return key() + key_span; }
};
static_assert(sizeof(HashElement) % 8 == 0, "keys and values stay 8-byte aligned");

struct LruLinks {  // the LRU list, under the table mutex
    HashElement* prev = nullptr;
    HashElement* next = nullptr;
};

class HashTable {
public:
    // value_bytes: the value area of each element (a multiple of 8).
    // destroy_value: called on a value when its element is freed (or null).
    HashTable(uint32_t key_size, size_t value_bytes, uint32_t max_entries, bool lru,
              void (*destroy_value)(std::byte*) = nullptr);
    ~HashTable();
    HashTable(const HashTable&) = delete;
    HashTable& operator=(const HashTable&) = delete;

    size_t key_bytes() const noexcept { return key_bytes_; }
    uint32_t size() const noexcept { return count_.load(std::memory_order_relaxed); }

    // Lock-free; the caller holds a ReadSection.
    HashElement* find(const void* key) const noexcept;
    std::byte* find_value(const void* key) const noexcept {
        HashElement* e = find(key);
        return e == nullptr ? nullptr : e->value(key_bytes_);
    }

    // Inserts or replaces under `flags` (BPF_ANY/NOEXIST/EXIST, already
    // checked to be one of them). A new element's value is filled by
    // fill(value, old_value_or_null) before it is published. When
    // `in_place` is given and the key exists, in_place(old_value) is called
    // under the writer lock instead of replacing (per-CPU maps, as the
    // kernel). Full: -E2BIG, or an eviction for LRU tables.
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

    // Marks an element recently used (LRU program lookups).
    static void touch(HashElement* e) noexcept {
        if (e->referenced.load(std::memory_order_relaxed) == 0) e->referenced.store(1, std::memory_order_relaxed);
    }

private:
    struct Bucket {
        std::atomic<HashElement*> head{nullptr};
        SpinLock lock;
    };

    uint32_t hash_key(const void* key) const noexcept;
    Bucket& bucket(uint32_t hash) const noexcept { return buckets_[hash & (n_buckets_ - 1)]; }
    // The link pointing at the element with this key (or at null) in `b`.
    std::atomic<HashElement*>* find_link(Bucket& b, const void* key, uint32_t hash) const noexcept;
    HashElement* allocate(const void* key, uint32_t hash) const;
    static void free_element(void* element) noexcept;
    bool reserve_slot() noexcept;  // count_ < max: count_++
    void evict_one() noexcept;     // LRU, under mutex_
    LruLinks& links(HashElement* e) const noexcept {
        return *reinterpret_cast<LruLinks*>(e->value(key_bytes_) + value_bytes_);
    }
    void lru_push_front(HashElement* e) noexcept;
    void lru_remove(HashElement* e) noexcept;
    // Unlinks the element at *link (writer lock held) and retires it.
    void unlink(std::atomic<HashElement*>* link, HashElement* e) noexcept;

    const uint32_t key_size_;
    const size_t key_bytes_;
    const size_t value_bytes_;
    const uint32_t max_entries_;
    const bool lru_;
    void (*const destroy_value_)(std::byte*);
    uint32_t n_buckets_;
    std::unique_ptr<Bucket[]> buckets_;
    std::atomic<uint32_t> count_{0};
    std::mutex mutex_;  // LRU tables: every writer, and the LRU list
    HashElement* lru_head_ = nullptr;
    HashElement* lru_tail_ = nullptr;
};

template <class Fill, class InPlace>
long HashTable::upsert(const void* key, uint64_t flags, Fill&& fill, InPlace* in_place) {
    const uint32_t hash = hash_key(key);
    Bucket& b = bucket(hash);
    std::unique_lock<std::mutex> table_lock(mutex_, std::defer_lock);
    std::unique_lock<SpinLock> bucket_lock(b.lock, std::defer_lock);
    if (lru_) {
        table_lock.lock();
    } else {
        bucket_lock.lock();
    }
    std::atomic<HashElement*>* link = find_link(b, key, hash);
    HashElement* old = link->load(std::memory_order_relaxed);
    if (old != nullptr && flags == BPF_NOEXIST) return -EEXIST;
    if (old == nullptr && flags == BPF_EXIST) return -ENOENT;
    if (old != nullptr && in_place != nullptr) {
        (*in_place)(old->value(key_bytes_));
        return 0;
    }
    if (old == nullptr && !reserve_slot()) {
        if (!lru_) return -E2BIG;
        evict_one();
        count_.fetch_add(1, std::memory_order_relaxed);
        link = find_link(b, key, hash);  // the victim may have been in this bucket
    }
    HashElement* fresh = allocate(key, hash);
    fill(fresh->value(key_bytes_), old == nullptr ? nullptr : old->value(key_bytes_));
    if (old != nullptr) {
        fresh->next.store(old->next.load(std::memory_order_relaxed), std::memory_order_relaxed);
        if (lru_) lru_remove(old);
        link->store(fresh, std::memory_order_release);
        retire(old, &free_element);
    } else {
        fresh->next.store(b.head.load(std::memory_order_relaxed), std::memory_order_relaxed);
        b.head.store(fresh, std::memory_order_release);
    }
    if (lru_) lru_push_front(fresh);
    return 0;
}

template <class Copy>
long HashTable::erase(const void* key, Copy* copy) {
    const uint32_t hash = hash_key(key);
    Bucket& b = bucket(hash);
    std::unique_lock<std::mutex> table_lock(mutex_, std::defer_lock);
    std::unique_lock<SpinLock> bucket_lock(b.lock, std::defer_lock);
    if (lru_) {
        table_lock.lock();
    } else {
        bucket_lock.lock();
    }
    std::atomic<HashElement*>* link = find_link(b, key, hash);
    HashElement* e = link->load(std::memory_order_relaxed);
    if (e == nullptr) return -ENOENT;
    if (copy != nullptr) (*copy)(e->value(key_bytes_));
    unlink(link, e);
    return 0;
}

}  // namespace bpfrt::maps::detail
