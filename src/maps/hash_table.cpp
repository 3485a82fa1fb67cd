// The lock-free-read hash table (see hash_table.hpp).
#include "maps/hash_table.hpp"

#include <bit>
#include <new>

namespace bpfrt::maps::detail {

namespace {

// Buckets are a power of two up to this cap (16 bytes each), whatever
// max_entries says: memory is never sized from an untrusted count.
constexpr uint32_t kMaxBuckets = 1u << 16;

uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

}  // namespace

HashTable::HashTable(uint32_t key_size, size_t value_bytes, uint32_t max_entries, bool lru,
                     void (*destroy_value)(std::byte*))
    : key_size_(key_size),
      key_bytes_(round_up8(key_size)),
      value_bytes_(value_bytes),
      max_entries_(max_entries),
      lru_(lru),
      destroy_value_(destroy_value),
      n_buckets_(std::min(std::bit_ceil(std::max(max_entries, 1u)), kMaxBuckets)),
      buckets_(std::make_unique<Bucket[]>(n_buckets_)) {}

HashTable::~HashTable() {
    // Nobody can reach the table any more; retired elements are already
    // owned by the reclaimer.
    for (uint32_t i = 0; i < n_buckets_; ++i) {
        HashElement* e = buckets_[i].head.load(std::memory_order_relaxed);
        while (e != nullptr) {
            HashElement* next = e->next.load(std::memory_order_relaxed);
            free_element(e);
            e = next;
        }
    }
}

uint32_t HashTable::hash_key(const void* key) const noexcept {
    if (key_size_ == 4) {  // the common case, without a variable-size copy
        uint32_t word;
        std::memcpy(&word, key, 4);
        return static_cast<uint32_t>(mix((0x9e3779b97f4a7c15ULL ^ word) * 0xbf58476d1ce4e5b9ULL));
    }
    const auto* bytes = static_cast<const std::byte*>(key);
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ key_size_;
    size_t off = 0;
    for (; off + 8 <= key_size_; off += 8) {
        uint64_t word;
        std::memcpy(&word, bytes + off, 8);
        h = (h ^ word) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 29;
    }
    if (off < key_size_) {
        uint64_t word = 0;
        std::memcpy(&word, bytes + off, key_size_ - off);
        h = (h ^ word) * 0xbf58476d1ce4e5b9ULL;
    }
    return static_cast<uint32_t>(mix(h));
}

namespace {
// Key comparison with constant sizes for the common 4- and 8-byte keys
// (no library call in the lookup loop).
template <size_t N>
bool same_key(const std::byte* a, const void* b) {
    return std::memcmp(a, b, N) == 0;
}
}  // namespace

HashElement* HashTable::find(const void* key) const noexcept {
    const uint32_t hash = hash_key(key);
    HashElement* e = bucket(hash).head.load(std::memory_order_acquire);
    if (key_size_ == 4) {
        for (; e != nullptr; e = e->next.load(std::memory_order_acquire)) {
            if (e->hash == hash && same_key<4>(e->key(), key)) return e;
        }
        return nullptr;
    }
    if (key_size_ == 8) {
        for (; e != nullptr; e = e->next.load(std::memory_order_acquire)) {
            if (e->hash == hash && same_key<8>(e->key(), key)) return e;
        }
        return nullptr;
    }
    for (; e != nullptr; e = e->next.load(std::memory_order_acquire)) {
        if (e->hash == hash && std::memcmp(e->key(), key, key_size_) == 0) return e;
    }
    return nullptr;
}

std::atomic<HashElement*>* HashTable::find_link(Bucket& b, const void* key, uint32_t hash) const noexcept {
    std::atomic<HashElement*>* link = &b.head;
    for (HashElement* e = link->load(std::memory_order_relaxed); e != nullptr; e = link->load(std::memory_order_relaxed)) {
        if (e->hash == hash && std::memcmp(e->key(), key, key_size_) == 0) return link;
        link = &e->next;
    }
    return link;
}

HashElement* HashTable::allocate(const void* key, uint32_t hash) const {
    void* raw = ::operator new(sizeof(HashElement) + key_bytes_ + value_bytes_ + (lru_ ? sizeof(LruLinks) : 0));
    auto* e = new (raw) HashElement;
    if (lru_) new (&links(e)) LruLinks;
    e->hash = hash;
    e->key_bytes = static_cast<uint32_t>(key_bytes_);
    e->destroy_value = destroy_value_;
    std::memset(e->key(), 0, key_bytes_);
    std::memcpy(e->key(), key, key_size_);
    return e;
}

void HashTable::free_element(void* element) noexcept {
    auto* e = static_cast<HashElement*>(element);
    if (e->destroy_value != nullptr) e->destroy_value(e->value(e->key_bytes));
    e->~HashElement();
    ::operator delete(element);
}

bool HashTable::reserve_slot() noexcept {
    uint32_t n = count_.load(std::memory_order_relaxed);
    do {
        if (n >= max_entries_) return false;
    } while (!count_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return true;
}

void HashTable::unlink(std::atomic<HashElement*>* link, HashElement* e) noexcept {
    link->store(e->next.load(std::memory_order_relaxed), std::memory_order_release);
    if (lru_) lru_remove(e);
    count_.fetch_sub(1, std::memory_order_relaxed);
    retire(e, &free_element);
}

void HashTable::lru_push_front(HashElement* e) noexcept {
    links(e).prev = nullptr;
    links(e).next = lru_head_;
    if (lru_head_ != nullptr) links(lru_head_).prev = e;
    lru_head_ = e;
    if (lru_tail_ == nullptr) lru_tail_ = e;
}

void HashTable::lru_remove(HashElement* e) noexcept {
    LruLinks& l = links(e);
    (l.prev != nullptr ? links(l.prev).next : lru_head_) = l.next;
    (l.next != nullptr ? links(l.next).prev : lru_tail_) = l.prev;
    l.prev = l.next = nullptr;
}

void HashTable::evict_one() noexcept {
    // Second chance: a referenced element moves to the front once, so at
    // most two passes over the list find a victim.
    const uint32_t limit = 2 * count_.load(std::memory_order_relaxed) + 1;
    HashElement* victim = lru_tail_;
    for (uint32_t i = 0; i < limit && victim != nullptr && victim->referenced.load(std::memory_order_relaxed); ++i) {
        victim->referenced.store(0, std::memory_order_relaxed);
        lru_remove(victim);
        lru_push_front(victim);
        victim = lru_tail_;
    }
    if (victim == nullptr) return;
    Bucket& b = bucket(victim->hash);
    std::atomic<HashElement*>* link = &b.head;
    while (link->load(std::memory_order_relaxed) != victim) link = &link->load(std::memory_order_relaxed)->next;
    unlink(link, victim);
}

long HashTable::next_key(const void* key_or_null, void* next_out) const noexcept {
    uint32_t start = 0;
    if (key_or_null != nullptr) {
        if (HashElement* e = find(key_or_null)) {
            if (HashElement* next = e->next.load(std::memory_order_acquire)) {
                std::memcpy(next_out, next->key(), key_size_);
                return 0;
            }
            start = (e->hash & (n_buckets_ - 1)) + 1;
        }
    }
    for (uint32_t i = start; i < n_buckets_; ++i) {
        if (HashElement* e = buckets_[i].head.load(std::memory_order_acquire)) {
            std::memcpy(next_out, e->key(), key_size_);
            return 0;
        }
    }
    return -ENOENT;
}

}  // namespace bpfrt::maps::detail
