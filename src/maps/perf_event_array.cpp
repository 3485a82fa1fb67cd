// BPF_MAP_TYPE_PERF_EVENT_ARRAY and its perf event buffers (see perf_event_array.hpp).
#include "maps/perf_event_array.hpp"

#include "maps/factories.hpp"
#include "maps/fd_array_check.hpp"
#include "maps/reclaim.hpp"

#include <linux/perf_event.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <new>

namespace bpfrt::maps {

namespace {

constexpr size_t kHeaderSize = sizeof(perf_event_header);                    // 8
constexpr size_t kRawSizeField = sizeof(uint32_t);                            // PERF_SAMPLE_RAW's u32 size
constexpr size_t kLostRecordSize = kHeaderSize + 2 * sizeof(uint64_t);        // header, id, lost
constexpr uint64_t kLostRecordId = 0;                                         // the kernel's event id

static_assert(kHeaderSize == 8 && kLostRecordSize == 24);

}  // namespace

void PerfWakeup::notify() noexcept {
    // seq_cst pairs with the consumer's increment before it checks for data.
    if (waiters.load(std::memory_order_seq_cst) == 0) return;
    std::lock_guard lock(mutex);
    cv.notify_all();
}

// ---- PerfEventBuffer ----

Result<std::shared_ptr<PerfEventBuffer>> PerfEventBuffer::create(uint32_t cpu, size_t data_size,
                                                                 std::shared_ptr<PerfWakeup> wakeup) {
    if (!std::has_single_bit(data_size) || data_size % kPageSize != 0 || data_size > kMaxDataSize)
        return fail(EINVAL, fmt::format("a perf buffer needs a power of 2 multiple of {} bytes up to {}, not {}",
                                        kPageSize, kMaxDataSize, data_size));
    if (wakeup == nullptr) wakeup = std::make_shared<PerfWakeup>();
    std::unique_ptr<uint64_t[]> data(new (std::nothrow) uint64_t[data_size / sizeof(uint64_t)]());
    if (data == nullptr) return fail(ENOMEM, fmt::format("out of memory for a perf buffer of {} bytes", data_size));
    return std::make_shared<PerfEventBuffer>(cpu, data_size, std::move(data), std::move(wakeup));
}

PerfEventBuffer::PerfEventBuffer(uint32_t cpu, size_t data_size, std::unique_ptr<uint64_t[]> data,
                                 std::shared_ptr<PerfWakeup> wakeup)
    : cpu_(cpu), mask_(data_size - 1), data_(std::move(data)), wakeup_(std::move(wakeup)) {}

void PerfEventBuffer::copy_in(uint64_t pos, const void* src, size_t size) noexcept {
    if (size == 0) return;  // src/dst may be null then
    auto* ring = reinterpret_cast<std::byte*>(data_.get());
    const size_t offset = pos & mask_;
    const size_t first = std::min(size, data_size() - offset);
    std::memcpy(ring + offset, src, first);
    if (size > first) std::memcpy(ring, static_cast<const std::byte*>(src) + first, size - first);
}

void PerfEventBuffer::copy_out(uint64_t pos, void* dst, size_t size) const noexcept {
    if (size == 0) return;  // src/dst may be null then
    const auto* ring = reinterpret_cast<const std::byte*>(data_.get());
    const size_t offset = pos & mask_;
    const size_t first = std::min(size, data_size() - offset);
    std::memcpy(dst, ring + offset, first);
    if (size > first) std::memcpy(static_cast<std::byte*>(dst) + first, ring, size - first);
}

void PerfEventBuffer::write_lost(uint64_t pos, uint64_t count) noexcept {
    const perf_event_header header{PERF_RECORD_LOST, 0, static_cast<uint16_t>(kLostRecordSize)};
    copy_in(pos, &header, kHeaderSize);
    copy_in(pos + kHeaderSize, &kLostRecordId, sizeof kLostRecordId);
    copy_in(pos + kHeaderSize + sizeof kLostRecordId, &count, sizeof count);
}

long PerfEventBuffer::output(std::span<const std::byte> data, std::span<const std::byte> extra) noexcept {
    const bool written = write_sample(data, extra);
    // Outside the producer lock. A loss wakes a consumer too: it reports
    // losses of a drained ring itself.
    wakeup_->notify();
    return written ? 0 : -ENOSPC;
}

bool PerfEventBuffer::write_sample(std::span<const std::byte> data, std::span<const std::byte> extra) noexcept {
    const uint64_t payload = uint64_t{data.size()} + extra.size();
    const bool too_large = payload > kMaxSampleData;
    // The kernel's raw size: u32 size + data padded to 8 bytes.
    const uint64_t raw_size = too_large ? 0 : detail::round_up8(payload + kRawSizeField) - kRawSizeField;
    const uint64_t record = kHeaderSize + kRawSizeField + raw_size;
    std::lock_guard lock(producer_lock_);
    const uint64_t head = head_.load(std::memory_order_relaxed);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    const uint64_t pending = pending_lost_.load(std::memory_order_relaxed);
    const uint64_t needed = record + (pending != 0 ? kLostRecordSize : 0);
    // As the kernel's CIRC_SPACE: one byte always stays free.
    if (too_large || needed > mask_ - (head - tail)) {
        pending_lost_.store(pending + 1, std::memory_order_relaxed);
        lost_total_.fetch_add(1, std::memory_order_relaxed);  // before any report of it
        return false;
    }
    uint64_t pos = head;
    if (pending != 0) {
        write_lost(pos, pending);
        pos += kLostRecordSize;
        pending_lost_.store(0, std::memory_order_relaxed);
    }
    const perf_event_header header{PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL, static_cast<uint16_t>(record)};
    const auto raw32 = static_cast<uint32_t>(raw_size);
    copy_in(pos, &header, kHeaderSize);
    copy_in(pos + kHeaderSize, &raw32, sizeof raw32);
    const uint64_t at = pos + kHeaderSize + kRawSizeField;
    copy_in(at, data.data(), data.size());
    copy_in(at + data.size(), extra.data(), extra.size());
    constexpr uint64_t kZeros = 0;
    copy_in(at + payload, &kZeros, raw_size - payload);  // < 8 bytes of padding
    // Publishes the record; seq_cst pairs with the waiter count in PerfWakeup::notify.
    head_.store(pos + record, std::memory_order_seq_cst);
    return true;
}

uint64_t PerfEventBuffer::take_lost_if_drained(uint64_t tail) noexcept {
    if (pending_lost_.load(std::memory_order_relaxed) == 0) return 0;
    std::lock_guard lock(producer_lock_);
    // Only when nothing was written since: the losses come after every
    // record consumed, and a record written later would carry them itself.
    if (head_.load(std::memory_order_relaxed) != tail) return 0;
    return pending_lost_.exchange(0, std::memory_order_relaxed);
}

size_t PerfEventBuffer::consume(const std::function<void(std::span<const std::byte>)>& sample,
                                const std::function<void(uint64_t)>& lost) {
    size_t count = 0;
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    const auto* ring = reinterpret_cast<const std::byte*>(data_.get());
    while (tail < head) {
        perf_event_header header{};
        copy_out(tail, &header, kHeaderSize);
        if (header.type == PERF_RECORD_SAMPLE) {
            uint32_t raw_size = 0;
            copy_out(tail + kHeaderSize, &raw_size, sizeof raw_size);
            const uint64_t start = tail + kHeaderSize + kRawSizeField;
            const std::byte* bytes = ring + (start & mask_);
            if ((start & mask_) + raw_size > data_size()) {  // wraps around the end: copy it whole
                scratch_.resize(raw_size);
                copy_out(start, scratch_.data(), raw_size);
                bytes = scratch_.data();
            }
            if (sample) sample(std::span<const std::byte>(bytes, raw_size));
        } else if (header.type == PERF_RECORD_LOST) {
            uint64_t n = 0;
            copy_out(tail + kHeaderSize + sizeof kLostRecordId, &n, sizeof n);
            if (lost) lost(n);
        }
        tail += header.size;
        tail_.store(tail, std::memory_order_release);  // the record's room is free again
        ++count;
    }
    if (const uint64_t n = take_lost_if_drained(tail); n != 0) {
        if (lost) lost(n);
        ++count;
    }
    return count;
}

bool PerfEventBuffer::has_data() const noexcept {
    return head_.load(std::memory_order_seq_cst) != tail_.load(std::memory_order_relaxed) ||
           pending_lost_.load(std::memory_order_relaxed) != 0;
}

// ---- PerfEventArray ----

PerfEventArray::PerfEventArray(const MapSpec& spec) : Map(spec), slots_(spec.max_entries) {}

Result<void> PerfEventArray::lookup(const void*, void*) {
    return fail(kENOTSUPP, "lookup: perf event arrays cannot be read (as the kernel's)");
}

Result<void> PerfEventArray::update(const void*, const void*, uint64_t) {
    return fail(EBADF, "update: a perf event array needs a handle resolver");
}

Result<void> PerfEventArray::update(const void* key, const void* value, uint64_t flags, const FdResolver& resolve) {
    if (flags != BPF_ANY) return fail(EINVAL, "update: perf event arrays take only BPF_ANY");
    const uint32_t index = detail::index_of(key);
    if (index >= slots_.count()) return fail(E2BIG, "update: index out of range");
    int fd = 0;
    std::memcpy(&fd, value, sizeof fd);
    auto object = resolve(fd);
    if (!object) return std::unexpected(object.error());
    // As the kernel's perf_event_get(): any other kind of handle is EBADF.
    if (*object == nullptr || (*object)->kind() != ObjectKind::PerfEvent)
        return fail(EBADF, fmt::format("update: handle {} is not a perf event", fd));
    std::lock_guard lock(host_mutex_);
    slots_.set(index, std::move(*object));
    return {};
}

Result<void> PerfEventArray::erase(const void* key) {
    const uint32_t index = detail::index_of(key);
    if (index >= slots_.count()) return fail(E2BIG, "delete: index out of range");
    std::lock_guard lock(host_mutex_);
    if (!slots_.clear(index)) return fail(ENOENT, "delete: no perf event at this index");
    return {};
}

Result<void> PerfEventArray::get_next_key(const void* key, void* next_out) {
    return detail::array_next_key(spec_.max_entries, key, next_out);
}

void PerfEventArray::on_last_handle_closed() noexcept {
    // As the kernel's perf_event_fd_array_release.
    if (spec_.map_flags & BPF_F_PRESERVE_ELEMS) return;
    std::lock_guard lock(host_mutex_);
    for (uint32_t i = 0; i < slots_.count(); ++i) slots_.clear(i);
}

std::shared_ptr<PerfEventBuffer> PerfEventArray::buffer(uint32_t index) const {
    if (index >= slots_.count()) return nullptr;
    return std::static_pointer_cast<PerfEventBuffer>(slots_.get_ref(index));
}

void PerfEventArray::clear_if(uint32_t index, const PerfEventBuffer* expected) noexcept {
    if (index >= slots_.count()) return;
    std::lock_guard lock(host_mutex_);
    if (slots_.get_ref(index).get() == expected) slots_.clear(index);
}

long PerfEventArray::output(uint64_t index, std::span<const std::byte> data, std::span<const std::byte> extra) noexcept {
    const unsigned cpu = current_cpu_slot();
    if (index == BPF_F_CURRENT_CPU) index = cpu;
    if (index >= slots_.count()) return -E2BIG;
    ReadSection section;  // nested in the run's: the buffer outlives a concurrent delete
    auto* buffer = static_cast<PerfEventBuffer*>(slots_.get(static_cast<uint32_t>(index)));
    if (buffer == nullptr) return -ENOENT;
    if (buffer->cpu() != cpu) return -EOPNOTSUPP;  // the kernel's event->oncpu != cpu
    return buffer->output(data, extra);
}

namespace detail {

Result<std::shared_ptr<Map>> create_perf_event_array(const MapSpec& spec) {
    // fd_array_map_alloc_check, where perf event arrays alone may preserve elements.
    MapSpec checked = spec;
    checked.map_flags &= ~uint32_t{BPF_F_PRESERVE_ELEMS};
    if (auto ok = check_fd_array_spec(checked); !ok) return std::unexpected(ok.error());
    return std::make_shared<PerfEventArray>(spec);
}

}  // namespace detail

}  // namespace bpfrt::maps
