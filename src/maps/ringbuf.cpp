// BPF_MAP_TYPE_RINGBUF (see ringbuf.hpp).
#include "maps/ringbuf.hpp"

#include "maps/factories.hpp"
#include "maps/util.hpp"

#include <fmt/format.h>

#include <bit>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

namespace bpfrt::maps {

namespace {

constexpr uint32_t kHeaderSize = BPF_RINGBUF_HDR_SZ;
constexpr uint32_t kLenFlags = BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT;
constexpr uint64_t kMaxRecordSize = UINT32_MAX / 4;  // RINGBUF_MAX_RECORD_SZ

// Consumers waiting in poll(), any ring: producers notify only when some
// consumer waits (a shared condition; spurious wakeups are re-checked).
struct Waiters {
    std::atomic<int> count{0};
    std::mutex mutex;
    std::condition_variable cv;
};
Waiters& waiters() {
    static Waiters* w = new Waiters;  // never destroyed: producers may run at exit
    return *w;
}

uint32_t* header_len(std::byte* header) { return reinterpret_cast<uint32_t*>(header); }

}  // namespace

RingBuf::RingBuf(const MapSpec& spec, std::byte* data) : Map(spec), data_(data), mask_(spec.max_entries - 1) {}
RingBuf::~RingBuf() { std::free(data_); }

void* RingBuf::reserve(uint64_t size, uint64_t flags) noexcept {
    if (flags != 0 || size > kMaxRecordSize) return nullptr;
    const uint64_t len = detail::round_up8(size + kHeaderSize);
    const uint64_t ring_size = mask_ + 1;
    if (len > ring_size) return nullptr;
    // Producers serialise on a spin lock, as the kernel's rb->spinlock.
    while (producer_lock_.exchange(true, std::memory_order_acquire)) {
        while (producer_lock_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
    const uint64_t cons = consumer_pos_.load(std::memory_order_acquire);
    uint64_t prod = producer_pos_.load(std::memory_order_relaxed);
    const uint64_t offset = prod & mask_;
    const uint64_t pad = offset + len > ring_size ? ring_size - offset : 0;
    if (prod + pad + len - cons > mask_) {
        producer_lock_.store(false, std::memory_order_release);
        return nullptr;
    }
    if (pad != 0) {
        // A committed, discarded record over the tail of the ring.
        std::byte* filler = data_ + offset;
        __atomic_store_n(header_len(filler) + 1, 0u, __ATOMIC_RELAXED);
        __atomic_store_n(header_len(filler), static_cast<uint32_t>(pad - kHeaderSize) | BPF_RINGBUF_DISCARD_BIT,
                         __ATOMIC_RELEASE);
        prod += pad;
    }
    std::byte* header = data_ + (prod & mask_);
    __atomic_store_n(header_len(header) + 1, static_cast<uint32_t>((prod & mask_) / kPageSize), __ATOMIC_RELAXED);
    __atomic_store_n(header_len(header), static_cast<uint32_t>(size) | BPF_RINGBUF_BUSY_BIT, __ATOMIC_RELAXED);
    producer_pos_.store(prod + len, std::memory_order_release);
    producer_lock_.store(false, std::memory_order_release);
    return header + kHeaderSize;
}

void RingBuf::commit(void* sample, uint64_t flags, bool discard) noexcept {
    std::byte* header = static_cast<std::byte*>(sample) - kHeaderSize;
    uint32_t len = __atomic_load_n(header_len(header), __ATOMIC_RELAXED);
    len ^= BPF_RINGBUF_BUSY_BIT;
    if (discard) len |= BPF_RINGBUF_DISCARD_BIT;
    // Publishes the payload; seq_cst pairs with the waiters count below.
    __atomic_exchange_n(header_len(header), len, __ATOMIC_SEQ_CST);
    if (flags & BPF_RB_NO_WAKEUP) return;
    Waiters& w = waiters();
    if (w.count.load(std::memory_order_seq_cst) > 0) {
        std::lock_guard lock(w.mutex);
        w.cv.notify_all();
    }
}

void RingBuf::submit(void* sample, uint64_t flags) noexcept { commit(sample, flags, false); }
void RingBuf::discard(void* sample, uint64_t flags) noexcept { commit(sample, flags, true); }

long RingBuf::output(const void* data, uint64_t size, uint64_t flags) noexcept {
    if (flags & ~uint64_t{BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP}) return -EINVAL;
    void* sample = reserve(size, 0);
    if (sample == nullptr) return -EAGAIN;
    std::memcpy(sample, data, size);
    submit(sample, flags);
    return 0;
}

uint64_t RingBuf::query(uint64_t flags) const noexcept {
    const uint64_t cons = consumer_pos_.load(std::memory_order_acquire);
    const uint64_t prod = producer_pos_.load(std::memory_order_acquire);
    switch (flags) {
    case BPF_RB_AVAIL_DATA: return prod - cons;
    case BPF_RB_RING_SIZE: return mask_ + 1;
    case BPF_RB_CONS_POS: return cons;
    case BPF_RB_PROD_POS: return prod;
    default: return 0;
    }
}

namespace {
Result<void> no_elements(const void* key) {
    if (key != nullptr) return fail(EINVAL, "ring buffers take no key");
    return fail(kENOTSUPP, "ring buffers have no elements; use a consumer");
}
}  // namespace

Result<void> RingBuf::lookup(const void* key, void*) { return no_elements(key); }
Result<void> RingBuf::update(const void* key, const void*, uint64_t) { return no_elements(key); }
Result<void> RingBuf::erase(const void* key) { return no_elements(key); }
Result<void> RingBuf::get_next_key(const void* key, void*) { return no_elements(key); }
Result<void> RingBuf::lookup_and_delete(const void* key, void*) { return no_elements(key); }

long RingBuf::consume(const std::function<int(const void*, size_t)>& callback) {
    long count = 0;
    uint64_t cons = consumer_pos_.load(std::memory_order_relaxed);
    for (;;) {
        const uint64_t prod = producer_pos_.load(std::memory_order_acquire);
        bool progressed = false;
        while (cons < prod) {
            std::byte* header = data_ + (cons & mask_);
            const uint32_t len = __atomic_load_n(header_len(header), __ATOMIC_ACQUIRE);
            if (len & BPF_RINGBUF_BUSY_BIT) return count;  // in order: wait for it
            progressed = true;
            const uint32_t size = len & ~kLenFlags;
            cons += detail::round_up8(uint64_t{size} + kHeaderSize);
            int verdict = 0;
            if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
                verdict = callback(header + kHeaderSize, size);
                ++count;
            }
            consumer_pos_.store(cons, std::memory_order_release);
            if (verdict < 0) return verdict;
            if (verdict != 0) return count;
        }
        if (!progressed) return count;
    }
}

bool RingBuf::has_data() const noexcept {
    const uint64_t cons = consumer_pos_.load(std::memory_order_seq_cst);
    const uint64_t prod = producer_pos_.load(std::memory_order_seq_cst);
    if (cons >= prod) return false;
    return !(__atomic_load_n(header_len(data_ + (cons & mask_)), __ATOMIC_SEQ_CST) & BPF_RINGBUF_BUSY_BIT);
}

RingBufferConsumer::RingBufferConsumer(std::shared_ptr<Map> ring, Callback callback) {
    (void)add(std::move(ring), std::move(callback));
}

Result<void> RingBufferConsumer::add(std::shared_ptr<Map> ring, Callback callback) {
    if (ring == nullptr || ring->spec().type != BPF_MAP_TYPE_RINGBUF) return fail(EINVAL, "not a ring buffer map");
    if (!callback) return fail(EINVAL, "a ring buffer consumer needs a callback");
    rings_.push_back(Ring{std::static_pointer_cast<RingBuf>(std::move(ring)), std::move(callback)});
    return {};
}

long RingBufferConsumer::consume() {
    long total = 0;
    for (Ring& r : rings_) {
        const long n = r.map->consume(r.callback);
        if (n < 0) return n;
        total += n;
    }
    return total;
}

bool RingBufferConsumer::any_data() const noexcept {
    for (const Ring& r : rings_) {
        if (r.map->has_data()) return true;
    }
    return false;
}

long RingBufferConsumer::poll(int timeout_ms) {
    if (const long n = consume(); n != 0 || timeout_ms == 0) return n;
    Waiters& w = waiters();
    w.count.fetch_add(1, std::memory_order_seq_cst);
    {
        std::unique_lock lock(w.mutex);
        if (timeout_ms < 0) {
            w.cv.wait(lock, [&] { return any_data(); });
        } else {
            w.cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return any_data(); });
        }
    }
    w.count.fetch_sub(1, std::memory_order_seq_cst);
    return consume();
}

namespace detail {

Result<std::shared_ptr<Map>> create_ringbuf(const MapSpec& spec) {
    if (spec.map_flags & ~uint32_t{BPF_F_NUMA_NODE}) return fail(EINVAL, "ring buffers take no map_flags but BPF_F_NUMA_NODE");
    if (spec.key_size != 0 || spec.value_size != 0 || !std::has_single_bit(spec.max_entries) ||
        spec.max_entries % kPageSize != 0)
        return fail(EINVAL, "ring buffers need key_size 0, value_size 0 and max_entries a power of 2 multiple of the page size");
    if (spec.max_entries > kMaxPreallocBytes)
        return fail(ENOMEM, fmt::format("a ring of {} bytes exceeds bpfrt's limit of {} bytes", spec.max_entries, kMaxPreallocBytes));
    auto* data = static_cast<std::byte*>(std::calloc(spec.max_entries, 1));
    if (data == nullptr) return fail(ENOMEM, "out of memory for the ring buffer");
    return std::make_shared<RingBuf>(spec, data);
}

}  // namespace detail

}  // namespace bpfrt::maps
