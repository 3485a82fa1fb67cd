// BPF_MAP_TYPE_RINGBUF: a multi-producer, single-consumer ring of
// variable-size records, with the kernel's record format.
//
// Producers (programs, on any threads) reserve a record, fill it and
// submit or discard it, or output() a copy in one step. Each record starts
// with the kernel's 8-byte header {u32 len; u32 pg_off}: len holds the
// payload size, BPF_RINGBUF_BUSY_BIT while reserved and
// BPF_RINGBUF_DISCARD_BIT when discarded; records are 8-byte aligned.
// The consumer reads committed records in order and stops at the first
// still-busy one, exactly as libbpf's ring_buffer__consume does.
//
// One difference from the kernel: the kernel maps the data area twice so
// that a record crossing the end of the ring is contiguous. bpfrt instead
// skips to the start of the ring, writing a discarded padding record over
// the unused tail; the consumer skips it like any discarded record. So a
// record needs room for itself plus that padding.
//
// Use from programs: map.type == BPF_MAP_TYPE_RINGBUF, then
// static_cast<RingBuf&>(map).reserve(...) etc.
#pragma once

#include "maps/map.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace bpfrt::maps {

class RingBuf final : public Map {
public:
    using Map::update;
    RingBuf(const MapSpec& spec, std::byte* data);
    ~RingBuf() override;
    RingBuf(const RingBuf&) = delete;
    RingBuf& operator=(const RingBuf&) = delete;

    // ---- Program side (the bpf_ringbuf_* helpers) ----
    // A record of `size` bytes (8-byte aligned pointer), or nullptr when the
    // ring has no room or flags != 0.
    void* reserve(uint64_t size, uint64_t flags) noexcept;
    // Commit or drop a reserved record. flags: BPF_RB_NO_WAKEUP keeps a
    // waiting consumer asleep; BPF_RB_FORCE_WAKEUP or 0 wake it.
    void submit(void* sample, uint64_t flags) noexcept;
    void discard(void* sample, uint64_t flags) noexcept;
    // reserve + copy + submit: 0, -EINVAL (flags) or -EAGAIN (no room).
    long output(const void* data, uint64_t size, uint64_t flags) noexcept;
    // BPF_RB_AVAIL_DATA, BPF_RB_RING_SIZE, BPF_RB_CONS_POS, BPF_RB_PROD_POS; 0 otherwise.
    uint64_t query(uint64_t flags) const noexcept;

    // ---- Host side: no element operations (kENOTSUPP, EINVAL with a key) ----
    Result<void> lookup(const void* key, void* value_out) override;
    Result<void> update(const void* key, const void* value, uint64_t flags) override;
    Result<void> erase(const void* key) override;
    Result<void> get_next_key(const void* key, void* next_key_out) override;
    Result<void> lookup_and_delete(const void* key, void* value_out) override;

    // ---- Consumer (one at a time per ring; see RingBufferConsumer) ----
    // Calls `callback(data, size)` for each committed record in order;
    // stops after a callback returning non-zero. Returns the number of
    // records passed to the callback, or the callback's value if negative.
    long consume(const std::function<int(const void*, size_t)>& callback);
    // True when a committed (not busy) record is waiting.
    bool has_data() const noexcept;

private:
    void commit(void* sample, uint64_t flags, bool discard) noexcept;

    std::byte* data_;
    const uint64_t mask_;
    alignas(64) std::atomic<uint64_t> consumer_pos_{0};
    alignas(64) std::atomic<uint64_t> producer_pos_{0};
    std::atomic<bool> producer_lock_{false};
};

// Consumes records of one or more ring buffers with a callback per ring,
// like libbpf's ring_buffer__new/add/poll/consume. Not thread-safe itself:
// one thread consumes (producers may be on any number of threads).
class RingBufferConsumer {
public:
    // Return 0 to continue; non-zero stops the current consume/poll.
    using Callback = std::function<int(const void* data, size_t size)>;

    RingBufferConsumer() = default;
    RingBufferConsumer(std::shared_ptr<Map> ring, Callback callback);  // ring must be a RINGBUF
    // EINVAL when `ring` is not a ring buffer.
    Result<void> add(std::shared_ptr<Map> ring, Callback callback);

    // Consumes what is available in every ring. Returns the number of
    // records consumed, or a negative callback return value.
    long consume();
    // Like consume(), but when nothing is available waits up to
    // timeout_ms (< 0: forever) for a record to be submitted.
    long poll(int timeout_ms);

private:
    struct Ring {
        std::shared_ptr<RingBuf> map;
        Callback callback;
    };
    bool any_data() const noexcept;
    std::vector<Ring> rings_;
};

}  // namespace bpfrt::maps
