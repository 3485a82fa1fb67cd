// BPF_MAP_TYPE_PERF_EVENT_ARRAY and the "perf events" its slots hold.
//
// In the kernel each slot of the array holds a perf event (an fd from
// perf_event_open of PERF_COUNT_SW_BPF_OUTPUT, normally one per CPU), and
// bpf_perf_event_output() appends a sample to the ring buffer of the event in
// slot `flags & BPF_F_INDEX_MASK` (BPF_F_CURRENT_CPU: the running CPU's).
// bpfrt keeps the design in user space:
//
//  - PerfEventBuffer is the perf event: a byte ring of the kernel's perf
//    records (PERF_RECORD_SAMPLE with the raw data, PERF_RECORD_LOST), bound
//    to one CPU slot (maps::current_cpu_slot()). It is a runtime Object of
//    kind PerfEvent, so a handle can name it as a perf event fd names the
//    kernel's event.
//  - PerfEventArray is the map: BPF_MAP_UPDATE_ELEM stores the buffer a
//    handle names (as the kernel stores the event an fd names),
//    BPF_MAP_DELETE_ELEM removes it. The host reader (bpfrt::PerfBuffer,
//    include/bpfrt/perf_buffer.hpp) creates one buffer per CPU slot and
//    stores it under its map key, as libbpf's perf_buffer__new does.
//
// Kernel semantics kept: map creation (key_size = value_size = 4, flags),
// element errors (update flags != BPF_ANY: EINVAL; index >= max_entries:
// E2BIG; a handle that is not a perf event: EBADF; lookup: ENOTSUPP), the
// slots emptied when the last handle of the map is closed unless
// BPF_F_PRESERVE_ELEMS, and the helper's results: -E2BIG (index out of
// range), -ENOENT (empty slot), -EOPNOTSUPP (the slot's buffer belongs to
// another CPU slot than the running thread's), -ENOSPC (no room: the record
// is counted lost and a PERF_RECORD_LOST precedes the next sample that
// fits). The sample's raw size is, as the kernel's, the data size rounded so
// that the u32 size field plus the data end on 8 bytes, padded with zeros.
//
// One addition: a record whose total size would not fit the perf header's
// 16-bit size (data over 65516 bytes) is refused with -ENOSPC and counted
// lost (the kernel writes a corrupt record there).
#pragma once

#include "maps/fd_slots.hpp"
#include "maps/map.hpp"
#include "maps/util.hpp"

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace bpfrt::maps {

// Wakes a consumer waiting for any of several buffers (one per reader).
struct PerfWakeup {
    std::atomic<int> waiters{0};
    std::mutex mutex;
    std::condition_variable cv;
    // After a record is published: wakes the waiting consumer, if any.
    void notify() noexcept;
};

class PerfEventBuffer final : public Object {
public:
    // Largest data area of one buffer (bytes).
    static constexpr size_t kMaxDataSize = size_t{1} << 28;
    // Largest data a sample can carry: 65535-byte records (u16 size), 8-aligned.
    static constexpr uint64_t kMaxSampleData = 0xfff8 - sizeof(uint64_t) - sizeof(uint32_t);

    // `data_size`: a power of 2, a multiple of kPageSize, <= kMaxDataSize
    // (EINVAL otherwise; ENOMEM when it cannot be allocated). `cpu`: the CPU
    // slot whose programs may write it. `wakeup` may be shared by buffers.
    static Result<std::shared_ptr<PerfEventBuffer>> create(uint32_t cpu, size_t data_size,
                                                           std::shared_ptr<PerfWakeup> wakeup);
    PerfEventBuffer(uint32_t cpu, size_t data_size, std::unique_ptr<uint64_t[]> data,
                    std::shared_ptr<PerfWakeup> wakeup);

    ObjectKind kind() const noexcept override { return ObjectKind::PerfEvent; }
    uint32_t cpu() const noexcept { return cpu_; }
    size_t data_size() const noexcept { return mask_ + 1; }

    // ---- Producers (any threads) ----
    // Appends a sample whose raw data is `data` followed by `extra` (the
    // packet bytes of the skb/xdp variants). 0, or -ENOSPC (counted lost).
    long output(std::span<const std::byte> data, std::span<const std::byte> extra = {}) noexcept;

    // ---- The consumer (one thread at a time) ----
    // Passes each record, in order, to `sample(raw data)` or `lost(count)`.
    // Returns the number of records passed.
    size_t consume(const std::function<void(std::span<const std::byte>)>& sample,
                   const std::function<void(uint64_t)>& lost);
    // True when a record (or a loss not yet reported) is waiting.
    bool has_data() const noexcept;
    // Records lost since the buffer was created.
    uint64_t lost_total() const noexcept { return lost_total_.load(std::memory_order_relaxed); }

private:
    void copy_in(uint64_t pos, const void* src, size_t size) noexcept;
    void copy_out(uint64_t pos, void* dst, size_t size) const noexcept;
    void write_lost(uint64_t pos, uint64_t count) noexcept;
    // Under the producer lock: the sample (after a pending PERF_RECORD_LOST)
    // if it fits, else one more pending loss. False when lost.
    bool write_sample(std::span<const std::byte> data, std::span<const std::byte> extra) noexcept;
    uint64_t take_lost_if_drained(uint64_t tail) noexcept;

    const uint32_t cpu_;
    const uint64_t mask_;
    std::unique_ptr<uint64_t[]> data_;  // 8-aligned: record headers are never split
    std::shared_ptr<PerfWakeup> wakeup_;
    detail::SpinLock producer_lock_;
    std::atomic<uint64_t> pending_lost_{0};  // written under producer_lock_
    alignas(64) std::atomic<uint64_t> head_{0};  // producers publish
    alignas(64) std::atomic<uint64_t> tail_{0};  // the consumer frees
    std::atomic<uint64_t> lost_total_{0};
    std::vector<std::byte> scratch_;  // consumer: a record wrapping around the end
};

class PerfEventArray final : public Map {
public:
    using Map::update;
    explicit PerfEventArray(const MapSpec& spec);

    // ---- Host side ----
    Result<void> lookup(const void* key, void* value_out) override;  // ENOTSUPP, as the kernel
    Result<void> update(const void* key, const void* value, uint64_t flags) override;  // EBADF: no resolver
    Result<void> update(const void* key, const void* value, uint64_t flags, const FdResolver& resolve) override;
    Result<void> erase(const void* key) override;
    Result<void> get_next_key(const void* key, void* next_out) override;
    void on_last_handle_closed() noexcept override;

    // The buffer in slot `index` (nullptr when empty or out of range).
    std::shared_ptr<PerfEventBuffer> buffer(uint32_t index) const;
    // Empties slot `index` if it still holds `expected` (a reader going away).
    void clear_if(uint32_t index, const PerfEventBuffer* expected) noexcept;

    // ---- Program side: bpf_perf_event_output ----
    // `index`: flags & BPF_F_INDEX_MASK. 0 or -E2BIG, -ENOENT, -EOPNOTSUPP, -ENOSPC.
    long output(uint64_t index, std::span<const std::byte> data, std::span<const std::byte> extra = {}) noexcept;

private:
    detail::FdSlots slots_;
    std::mutex host_mutex_;  // host updates and deletes (programs read lock-free)
};

}  // namespace bpfrt::maps
