// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH.
//
// One element per key in a SlabHashTable (slab_hash.hpp). A plain update
// replaces the element (a new one is published, the old one reused only
// after the sections that could see it), as the kernel does; per-CPU
// variants update existing values in place, as the kernel does. LRU
// variants evict the least recently used element (second chance on program
// lookups) instead of failing with E2BIG.
#include "maps/factories.hpp"
#include "maps/slab_hash.hpp"
#include "maps/value_lock.hpp"

#include <fmt/format.h>

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define BPFRT_POISON(addr, size) ASAN_POISON_MEMORY_REGION(addr, size)
#define BPFRT_UNPOISON(addr, size) ASAN_UNPOISON_MEMORY_REGION(addr, size)
#else
#define BPFRT_POISON(addr, size) ((void)(addr), (void)(size))
#define BPFRT_UNPOISON(addr, size) ((void)(addr), (void)(size))
#endif

namespace bpfrt::maps::detail {

// ---------------------------------------------------------------- SlabHashTable

namespace {

// Buckets are a power of two up to this cap, whatever max_entries says:
// memory is never sized from an untrusted count.
constexpr uint32_t kMaxBuckets = 1u << 16;
// Writer lock stripes (one cache line each).
constexpr uint32_t kMaxStripes = 256;
// The first slab chunk: bit_ceil(max_entries) elements, within these bytes.
constexpr size_t kFirstChunkBytes = size_t{16} << 20;
// Unlinked elements a slot gathers before it starts a reclamation round:
// enough that the round's cost (a membarrier, a scan) is amortised.
constexpr size_t kReclaimBatchBytes = size_t{256} << 10;
constexpr std::align_val_t kChunkAlign{64};

// A wyhash-style mix: the 128-bit product folded (fast, and every input
// bit reaches the low bits used for the bucket).
__extension__ using u128 = unsigned __int128;
inline uint64_t mum(uint64_t a, uint64_t b) {
    const u128 r = static_cast<u128>(a) * b;
    return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
constexpr uint64_t kSeed0 = 0xa0761d6478bd642fULL;
constexpr uint64_t kSeed1 = 0xe7037ed1a0b428dbULL;
constexpr uint64_t kFibonacci = 0x9e3779b97f4a7c15ULL;  // 2^64 / golden ratio

template <size_t N>
uint64_t load_word(const std::byte* p) {
    uint64_t w = 0;
    std::memcpy(&w, p, N);
    return w;
}

// Chunks of 2 MiB or more are mapped on their own and asked for huge
// pages: lookups land anywhere in them, and a TLB miss costs a page walk
// (two-dimensional under virtualisation).
constexpr size_t kHugePage = size_t{2} << 20;

void* allocate_chunk(size_t bytes) {
    if (bytes < kHugePage) return ::operator new(bytes, kChunkAlign, std::nothrow);
    const size_t mapped = (bytes + kHugePage - 1) & ~(kHugePage - 1);
    // Over-map by one huge page to align the start.
    void* raw = ::mmap(nullptr, mapped + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + kHugePage - 1) & ~uintptr_t{kHugePage - 1};
    const size_t head = start - reinterpret_cast<uintptr_t>(raw);
    if (head != 0) ::munmap(raw, head);
    if (kHugePage - head != 0) ::munmap(reinterpret_cast<void*>(start + mapped), kHugePage - head);
    ::madvise(reinterpret_cast<void*>(start), mapped, MADV_HUGEPAGE);  // a hint: failure is harmless
    return reinterpret_cast<void*>(start);
}

void free_chunk(void* chunk, size_t bytes) {
    BPFRT_UNPOISON(chunk, bytes);  // the memory may be mapped again for something else
    if (bytes < kHugePage) {
        ::operator delete(chunk, kChunkAlign);
        return;
    }
    ::munmap(chunk, (bytes + kHugePage - 1) & ~(kHugePage - 1));
}

// A per-thread index choosing a free-list slot.
unsigned thread_slot() {
    static std::atomic<unsigned> next{0};
    thread_local const unsigned slot = next.fetch_add(1, std::memory_order_relaxed);
    return slot;
}

}  // namespace

SlabHashTable::SlabHashTable(uint32_t key_size, size_t value_bytes, uint32_t max_entries, bool lru)
    : key_size_(key_size),
      key_bytes_(round_up8(key_size)),
      value_bytes_(value_bytes),
      value_offset_(sizeof(Header) + key_bytes_),
      lru_offset_(value_offset_ + value_bytes_),
      stride_([&] {
          const size_t bytes = lru_offset_ + (lru ? sizeof(LruLinks) : 0);
          // Small elements never straddle a cache line.
          return bytes < 64 ? std::bit_ceil(bytes) : bytes;
      }()),
      max_entries_(max_entries),
      lru_(lru) {
    n_buckets_ = std::min(std::bit_ceil(std::max(max_entries, 1u)), kMaxBuckets);
    bucket_shift_ = 32 - static_cast<unsigned>(std::countr_zero(n_buckets_));
    n_stripes_ = std::min(n_buckets_, kMaxStripes);
    n_slots_ = std::bit_ceil(std::min(possible_cpus(), 64u));
    const size_t wanted = std::bit_ceil(size_t{std::max(max_entries, 16u)});
    const size_t fitting = std::bit_floor(std::max<size_t>(kFirstChunkBytes / stride_, 1));
    first_chunk_shift_ = static_cast<unsigned>(std::countr_zero(std::min(wanted, fitting)));
    reclaim_threshold_ = static_cast<uint32_t>(std::clamp<size_t>(
        std::max<size_t>(max_entries / (4 * n_slots_), kReclaimBatchBytes / stride_), 16, 1u << 16));
    buckets_ = std::make_unique<std::atomic<uint32_t>[]>(n_buckets_);
    for (uint32_t i = 0; i < n_buckets_; ++i) buckets_[i].store(kNil, std::memory_order_relaxed);
    stripes_ = std::make_unique<Stripe[]>(n_stripes_);
    slots_ = std::make_unique<Slot[]>(n_slots_);
    register_domain(this);
}

SlabHashTable::~SlabHashTable() {
    // Nobody can reach the table any more; after this no round sees it.
    unregister_domain(this);
    for (unsigned c = 0; c < n_chunks_; ++c) free_chunk(chunks_[c], chunk_bytes(c));
}

// ---- lookups

// Integer keys: a xor-shift folding high bits down, then Fibonacci hashing
// (the product's high bits choose the bucket). Dense or regularly spaced
// keys (counters, ports, addresses in either byte order) then spread
// almost without collisions, unlike with a random-like hash, which keeps
// chains short and branches predictable; random keys do as with any hash.
uint32_t SlabHashTable::hash_key(const void* key) const noexcept {
    const auto* bytes = static_cast<const std::byte*>(key);
    if (key_size_ == 4) {
        uint64_t k = load_word<4>(bytes);
        k ^= k >> 16;
        return static_cast<uint32_t>((k * kFibonacci) >> 32);
    }
    if (key_size_ == 8) {
        uint64_t k = load_word<8>(bytes);
        k ^= k >> 32;
        k ^= k >> 16;
        return static_cast<uint32_t>((k * kFibonacci) >> 32);
    }
    uint64_t h = kSeed0 ^ key_size_;
    size_t off = 0;
    for (; off + 8 <= key_size_; off += 8) h = mum(h ^ load_word<8>(bytes + off), kSeed1);
    if (off < key_size_) {
        uint64_t tail = 0;
        std::memcpy(&tail, bytes + off, key_size_ - off);
        h = mum(h ^ tail, kSeed1);
    }
    return static_cast<uint32_t>(mum(h, kSeed0) >> 32);
}

bool SlabHashTable::same_key(std::byte* e, const void* key) const noexcept {
    // Constant sizes for the common 4- and 8-byte keys: no library call.
    if (key_size_ == 4) return std::memcmp(key_of(e), key, 4) == 0;
    if (key_size_ == 8) return std::memcmp(key_of(e), key, 8) == 0;
    return std::memcmp(key_of(e), key, key_size_) == 0;
}

std::byte* SlabHashTable::find(const void* key) const noexcept {
    const uint32_t hash = hash_key(key);
    for (uint32_t i = bucket(hash).load(std::memory_order_acquire); i != kNil;) {
        std::byte* e = element(i);
        if (header(e).hash == hash && same_key(e, key)) return e;
        i = header(e).next.load(std::memory_order_acquire);
    }
    return nullptr;
}

std::byte* SlabHashTable::find_value_touch(const void* key) const noexcept {
    std::byte* e = find(key);
    if (e == nullptr) return nullptr;
    if (lru_) {
        std::atomic<uint32_t>& referenced = links(e).referenced;
        if (referenced.load(std::memory_order_relaxed) == 0) referenced.store(1, std::memory_order_relaxed);
    }
    return e + value_offset_;
}

std::atomic<uint32_t>* SlabHashTable::find_link(uint32_t hash, const void* key) const noexcept {
    std::atomic<uint32_t>* link = &bucket(hash);
    for (uint32_t i = link->load(std::memory_order_relaxed); i != kNil; i = link->load(std::memory_order_relaxed)) {
        std::byte* e = element(i);
        if (header(e).hash == hash && same_key(e, key)) return link;
        link = &header(e).next;
    }
    return link;
}

std::atomic<uint32_t>* SlabHashTable::link_to(uint32_t index) const noexcept {
    std::atomic<uint32_t>* link = &bucket(header(element(index)).hash);
    for (uint32_t i = link->load(std::memory_order_relaxed); i != index; i = link->load(std::memory_order_relaxed)) {
        link = &header(element(i)).next;
    }
    return link;
}

long SlabHashTable::next_key(const void* key_or_null, void* next_out) const noexcept {
    uint32_t start = 0;
    if (key_or_null != nullptr) {
        if (std::byte* e = find(key_or_null)) {
            const uint32_t next = header(e).next.load(std::memory_order_acquire);
            if (next != kNil) {
                std::memcpy(next_out, key_of(element(next)), key_size_);
                return 0;
            }
            start = bucket_index(header(e).hash) + 1;
        }
    }
    for (uint32_t b = start; b < n_buckets_; ++b) {
        const uint32_t i = buckets_[b].load(std::memory_order_acquire);
        if (i != kNil) {
            std::memcpy(next_out, key_of(element(i)), key_size_);
            return 0;
        }
    }
    return -ENOENT;
}

// ---- element supply

SlabHashTable::Slot& SlabHashTable::my_slot() const noexcept { return slots_[thread_slot() & (n_slots_ - 1)]; }

uint32_t SlabHashTable::allocate() {
    const uint32_t index = take_free_or_reclaim(my_slot());
    return index != kNil ? index : bump_or_grow();
}

void SlabHashTable::init_element(std::byte* e, const void* key, uint32_t hash) const noexcept {
    BPFRT_UNPOISON(e + sizeof(Header), stride_ - sizeof(Header));
    header(e).hash = hash;
    std::memset(key_of(e), 0, key_bytes_);
    std::memcpy(key_of(e), key, key_size_);
    if (lru_) links(e).referenced.store(0, std::memory_order_relaxed);  // a reused element starts cold
}

uint32_t SlabHashTable::pop_free(Slot& s) noexcept {
    if (s.free.empty()) return kNil;
    const uint32_t index = s.free.back();
    s.free.pop_back();
    return index;
}

void SlabHashTable::push_free(Slot& s, uint32_t index) noexcept {
    // A recycled element is unreachable: ASan reports any late access.
    BPFRT_POISON(element(index) + sizeof(Header), stride_ - sizeof(Header));
    s.free.push_back(index);
}

uint32_t SlabHashTable::take_free_or_reclaim(Slot& s) {
    {
        std::lock_guard lock(s.lock);
        if (const uint32_t index = pop_free(s); index != kNil) return index;
    }
    // Enough unlinked since the last round: start one (under no lock).
    if (s.unlinked_since_round.load(std::memory_order_relaxed) < reclaim_threshold_) return kNil;
    s.unlinked_since_round.store(0, std::memory_order_relaxed);
    reclaim_now();
    std::lock_guard lock(s.lock);
    return pop_free(s);
}

uint32_t SlabHashTable::bump_or_grow() {
    for (;;) {
        uint32_t b = bump_.load(std::memory_order_relaxed);
        while (b < capacity_.load(std::memory_order_acquire)) {
            if (bump_.compare_exchange_weak(b, b + 1, std::memory_order_relaxed)) {
                std::byte* e = element(b);
                new (e) Header;
                if (lru_) new (e + lru_offset_) LruLinks;
                return b;
            }
        }
        // Before growing, take what other slots have freed.
        for (unsigned i = 0; i < n_slots_; ++i) {
            std::lock_guard lock(slots_[i].lock);
            if (const uint32_t index = pop_free(slots_[i]); index != kNil) return index;
        }
        std::lock_guard grow(grow_mutex_);
        if (bump_.load(std::memory_order_relaxed) < capacity_.load(std::memory_order_relaxed)) continue;
        const unsigned c = n_chunks_;
        const uint64_t first = uint64_t{1} << first_chunk_shift_;
        const uint64_t start = c == 0 ? 0 : first << (c - 1);
        const uint64_t size = c == 0 ? first : first << (c - 1);
        if (c == kMaxChunks || start + size >= kNil) return kNil;
        void* chunk = allocate_chunk(size * stride_);
        if (chunk == nullptr) return kNil;
        chunks_[c] = static_cast<std::byte*>(chunk);
        biased_[c].store(reinterpret_cast<uintptr_t>(chunk) - start * stride_, std::memory_order_relaxed);
        n_chunks_ = c + 1;
        capacity_.store(static_cast<uint32_t>(start + size), std::memory_order_release);
    }
}

void SlabHashTable::release_unpublished(uint32_t index) noexcept {
    Slot& s = my_slot();
    std::lock_guard lock(s.lock);
    push_free(s, index);
}

void SlabHashTable::retire_locked(Stripe& w, uint32_t index) noexcept {
    w.unlinked.push_back(index);
    std::atomic<uint32_t>& n = my_slot().unlinked_since_round;
    n.store(n.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

void SlabHashTable::seal(uint64_t epoch) noexcept {
    std::vector<uint32_t> items;
    auto take = [&](Stripe& w) {
        std::lock_guard lock(w.lock);
        if (items.empty()) {
            items.swap(w.unlinked);
        } else {
            items.insert(items.end(), w.unlinked.begin(), w.unlinked.end());
            w.unlinked.clear();
        }
    };
    if (lru_) take(lru_writer_);
    for (uint32_t i = 0; i < n_stripes_; ++i) take(stripes_[i]);
    if (items.empty()) return;
    std::lock_guard lock(sealed_mutex_);
    sealed_count_ += items.size();
    sealed_.push_back(Sealed{epoch, std::move(items)});
}

void SlabHashTable::recycle(uint64_t oldest_active) noexcept {
    std::vector<uint32_t> items;
    {
        std::lock_guard lock(sealed_mutex_);
        size_t done = 0;
        for (; done < sealed_.size() && sealed_[done].epoch < oldest_active; ++done) {
            items.insert(items.end(), sealed_[done].items.begin(), sealed_[done].items.end());
        }
        sealed_.erase(sealed_.begin(), sealed_.begin() + static_cast<std::ptrdiff_t>(done));
        sealed_count_ -= items.size();
    }
    // Shared out among the slots' free lists.
    const size_t share = (items.size() + n_slots_ - 1) / n_slots_;
    for (unsigned i = 0; i < n_slots_ && !items.empty(); ++i) {
        const size_t n = std::min(share, items.size());
        Slot& s = slots_[i];
        std::lock_guard lock(s.lock);
        s.free.reserve(s.free.size() + n);
        for (size_t k = items.size() - n; k < items.size(); ++k) push_free(s, items[k]);
        items.resize(items.size() - n);
    }
}

size_t SlabHashTable::pending() const noexcept {
    size_t n = 0;
    auto count = [&](const Stripe& w) {
        std::lock_guard lock(w.lock);
        n += w.unlinked.size();
    };
    if (lru_) count(lru_writer_);
    for (uint32_t i = 0; i < n_stripes_; ++i) count(stripes_[i]);
    std::lock_guard lock(sealed_mutex_);
    return n + sealed_count_;
}

// ---- writers

bool SlabHashTable::reserve_count() noexcept {
    uint32_t n = count_.load(std::memory_order_relaxed);
    do {
        if (n >= max_entries_) return false;
    } while (!count_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
    return true;
}

void SlabHashTable::unlink(std::atomic<uint32_t>* link, uint32_t index) noexcept {
    link->store(header(element(index)).next.load(std::memory_order_relaxed), std::memory_order_release);
    if (lru_) lru_remove(index);
    count_.fetch_sub(1, std::memory_order_relaxed);
}

void SlabHashTable::lru_push_front(uint32_t index) noexcept {
    LruLinks& l = links(index);
    l.prev = kNil;
    l.next = lru_head_;
    if (lru_head_ != kNil) links(lru_head_).prev = index;
    lru_head_ = index;
    if (lru_tail_ == kNil) lru_tail_ = index;
}

void SlabHashTable::lru_remove(uint32_t index) noexcept {
    LruLinks& l = links(index);
    (l.prev != kNil ? links(l.prev).next : lru_head_) = l.next;
    (l.next != kNil ? links(l.next).prev : lru_tail_) = l.prev;
    l.prev = l.next = kNil;
}

void SlabHashTable::evict_one() noexcept {
    // Second chance: a referenced element moves to the front once, so at
    // most two passes over the list find a victim.
    const uint32_t limit = 2 * count_.load(std::memory_order_relaxed) + 1;
    uint32_t victim = lru_tail_;
    for (uint32_t i = 0; i < limit && victim != kNil && links(victim).referenced.load(std::memory_order_relaxed); ++i) {
        links(victim).referenced.store(0, std::memory_order_relaxed);
        lru_remove(victim);
        lru_push_front(victim);
        victim = lru_tail_;
    }
    if (victim == kNil) return;
    unlink(link_to(victim), victim);
    retire_locked(lru_writer_, victim);
}


namespace {

constexpr uint32_t kHashFlags = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | kAccessMask | BPF_F_ZERO_SEED;
constexpr uint64_t kHtabElemSize = 48;  // sizeof(struct htab_elem): part of the kernel's size limit

class HashMap final : public Map {
public:
    using Map::update;
    explicit HashMap(const MapSpec& spec)
        : Map(spec),
          percpu_(is_percpu_type(spec.type)),
          lru_(spec.type == BPF_MAP_TYPE_LRU_HASH || spec.type == BPF_MAP_TYPE_LRU_PERCPU_HASH),
          slot_bytes_(round_up8(spec.value_size)),
          table_(spec.key_size, percpu_ ? slot_bytes_ * possible_cpus() : slot_bytes_, spec.max_entries, lru_) {}

    Result<void> lookup(const void* key, void* value_out) override {
        ReadSection section;
        const std::byte* value = table_.find_value(key);
        if (value == nullptr) return fail(ENOENT, "lookup: no element with this key");
        load_value(value_out, value, host_value_size());
        return {};
    }

    Result<void> update(const void* key, const void* value, uint64_t flags) override {
        if (!percpu_) return errno_result(update_shared(key, value, flags), "update");
        if (check_update_flags(flags) != 0) return fail(EINVAL, fmt::format("update: invalid flags {:#x}", flags));
        const size_t bytes = host_value_size();
        auto fill = [&](std::byte* dst) { store_value(dst, value, bytes); };
        auto in_place = [&](std::byte* dst) { store_value(dst, value, bytes); };
        return errno_result(table_.upsert(key, flags, fill, &in_place), "update");
    }

    Result<void> erase(const void* key) override { return errno_result(table_.erase(key), "delete"); }

    Result<void> get_next_key(const void* key, void* next_out) override {
        ReadSection section;
        return errno_result(table_.next_key(key, next_out), "get_next_key");
    }

    Result<void> lookup_and_delete(const void* key, void* value_out) override {
        const size_t bytes = host_value_size();
        auto copy = [&](std::byte* value) {
            if (spec_.spin_lock_off < 0) return load_value(value_out, value, bytes);
            ValueLockGuard hold(value, spec_.spin_lock_off);  // a program may still hold it
            load_value(value_out, value, bytes);
        };
        return errno_result(table_.erase(key, &copy), "lookup_and_delete");
    }

    void* prog_lookup(const void* key) override {
        ReadSection section;  // nested in the run's section: a counter increment
        std::byte* value = lru_ ? table_.find_value_touch(key) : table_.find_value(key);
        if (value == nullptr) return nullptr;
        return percpu_ ? value + current_cpu_slot() * slot_bytes_ : value;
    }

    long prog_update(const void* key, const void* value, uint64_t flags) override {
        if (!percpu_) return update_shared(key, value, flags);
        if (long err = check_update_flags(flags)) return err;
        // This CPU's slot only; a new element's other slots are zero.
        const size_t offset = current_cpu_slot() * slot_bytes_;
        auto fill = [&](std::byte* dst) {
            zero_value(dst, slot_bytes_ * possible_cpus());
            store_value(dst + offset, value, spec_.value_size);
        };
        auto in_place = [&](std::byte* dst) { store_value(dst + offset, value, spec_.value_size); };
        return table_.upsert(key, flags, fill, &in_place);
    }

    long prog_delete(const void* key) override { return table_.erase(key); }

private:
    // An update of a map with one value per key (host or program), as the
    // kernel's htab_map_update_elem: a new element's bpf_spin_lock is free;
    // BPF_F_LOCK copies into an existing element in place, holding its lock.
    long update_shared(const void* key, const void* value, uint64_t flags) {
        const uint64_t mode = flags & ~uint64_t{BPF_F_LOCK};
        if (check_update_flags(mode) != 0) return -EINVAL;
        const int32_t lock_off = spec_.spin_lock_off;
        const size_t bytes = spec_.value_size;
        auto fill = [&](std::byte* dst) { store_new_value(dst, value, bytes, lock_off); };
        if (!(flags & BPF_F_LOCK)) return table_.upsert(key, mode, fill);
        if (lock_off < 0) return -EINVAL;  // no bpf_spin_lock to hold (never in LRU maps: refused at creation)
        auto locked = [&](std::byte* dst) {
            ValueLockGuard hold(dst, lock_off);
            store_value_keep_lock(dst, value, bytes, lock_off);
        };
        return table_.upsert(key, mode, fill, &locked);
    }

    const bool percpu_;
    const bool lru_;
    const size_t slot_bytes_;
    SlabHashTable table_;
};

}  // namespace

Result<void> check_hash_spec(const MapSpec& spec) {
    const bool percpu = is_percpu_type(spec.type);
    const bool lru = spec.type == BPF_MAP_TYPE_LRU_HASH || spec.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    const bool prealloc = (spec.map_flags & BPF_F_NO_PREALLOC) == 0;
    const bool percpu_lru = (spec.map_flags & BPF_F_NO_COMMON_LRU) != 0;
    if ((spec.map_flags & ~kHashFlags) != 0 || !access_flags_ok(spec.map_flags))
        return fail(EINVAL, fmt::format("map_flags {:#x} are not valid for a hash map", spec.map_flags));
    if (!lru && percpu_lru) return fail(EINVAL, "BPF_F_NO_COMMON_LRU is only for LRU maps");
    if (lru && !prealloc) return fail(kENOTSUPP, "LRU maps cannot have BPF_F_NO_PREALLOC");
    if ((spec.map_flags & BPF_F_NUMA_NODE) && (percpu || percpu_lru))
        return fail(EINVAL, "per-CPU maps cannot be bound to a NUMA node");
    if (spec.max_entries == 0 || spec.key_size == 0 || spec.value_size == 0)
        return fail(EINVAL, "hash maps need key_size, value_size and max_entries > 0");
    if (uint64_t{spec.key_size} + spec.value_size >= kKmallocMaxSize - kHtabElemSize)
        return fail(E2BIG, fmt::format("key_size + value_size must be below {}", kKmallocMaxSize - kHtabElemSize));
    if (percpu && round_up8(spec.value_size) > kPercpuMaxValueSize)
        return fail(E2BIG, fmt::format("per-CPU values are limited to {} bytes", kPercpuMaxValueSize));
    // The kernel's bucket array (16 bytes per bucket) must fit in 4 GiB.
    if (std::bit_ceil(uint64_t{spec.max_entries}) > UINT32_MAX / 16)
        return fail(E2BIG, "max_entries is too large for a hash map");
    return {};
}

Result<std::shared_ptr<Map>> create_hash(const MapSpec& spec) {
    if (auto ok = check_hash_spec(spec); !ok) return std::unexpected(ok.error());
    return std::make_shared<HashMap>(spec);
}

}  // namespace bpfrt::maps::detail
