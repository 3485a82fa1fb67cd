// PerfBuffer (include/bpfrt/perf_buffer.hpp): one perf event buffer per CPU
// slot, stored in the map by handle, and the consumer side over them.
#include <bpfrt/perf_buffer.hpp>

#include "maps/perf_event_array.hpp"
#include "runtime/map_bridge.hpp"
#include "runtime/state.hpp"

#include <bpfrt/runtime.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <mutex>
#include <vector>

namespace bpfrt {

namespace {
constexpr size_t kMaxPageCount = maps::PerfEventBuffer::kMaxDataSize / maps::kPageSize;  // 65536
}

struct PerfBuffer::Impl {
    std::shared_ptr<maps::PerfEventArray> map;
    std::shared_ptr<maps::PerfWakeup> wakeup = std::make_shared<maps::PerfWakeup>();
    std::vector<std::shared_ptr<maps::PerfEventBuffer>> buffers;  // index = map key = CPU slot
    SampleCallback sample;
    LostCallback lost;
    std::mutex consume_mutex;  // consumers take turns

    Impl() = default;
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;
    ~Impl() {
        // As libbpf's perf_buffer__free: the slots no longer feed anyone.
        for (size_t i = 0; i < buffers.size(); ++i) map->clear_if(static_cast<uint32_t>(i), buffers[i].get());
    }

    // Under consume_mutex.
    long consume_one(maps::PerfEventBuffer& buffer) {
        const uint32_t cpu = buffer.cpu();
        const size_t n = buffer.consume([&](std::span<const std::byte> data) { sample(cpu, data); },
                                        [&](uint64_t count) {
                                            if (lost) lost(cpu, count);
                                        });
        return static_cast<long>(n);
    }

    bool any_data() const noexcept {
        return std::any_of(buffers.begin(), buffers.end(), [](const auto& b) { return b->has_data(); });
    }
};

Result<PerfBuffer> PerfBuffer::create(Runtime& runtime, int map_fd, SampleCallback sample, LostCallback lost,
                                      const PerfBufferOptions& options) {
    runtime::State& state = runtime.state();
    auto map = state.map_at(map_fd);
    if (!map) return std::unexpected(map.error());
    if ((*map)->spec().type != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
        return fail(EINVAL, fmt::format("handle {} is not a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY)", map_fd));
    if (!sample) return fail(EINVAL, "a perf buffer needs a sample callback");
    if (!std::has_single_bit(options.page_count) || options.page_count > kMaxPageCount)
        return fail(EINVAL, fmt::format("page_count must be a power of 2 up to {}, not {}", kMaxPageCount,
                                        options.page_count));

    auto impl = std::make_unique<Impl>();
    impl->map = std::static_pointer_cast<maps::PerfEventArray>(*map);
    impl->sample = std::move(sample);
    impl->lost = std::move(lost);
    auto resolve = [&state](int fd) -> Result<ObjectRef> {
        ObjectRef object = state.handles.get(fd);
        if (!object) return fail(EBADF, fmt::format("handle {} is not open", fd));
        return object;
    };
    const uint32_t slots = std::min<uint32_t>(impl->map->spec().max_entries, maps::possible_cpus());
    for (uint32_t cpu = 0; cpu < slots; ++cpu) {
        auto buffer = maps::PerfEventBuffer::create(cpu, options.page_count * maps::kPageSize, impl->wakeup);
        if (!buffer) return std::unexpected(buffer.error());
        // Stored by handle (BPF_MAP_UPDATE_ELEM), as libbpf stores a perf event fd.
        auto handle = state.handles.open(*buffer);
        if (!handle) return std::unexpected(handle.error());
        const int fd = *handle;
        auto stored = runtime::bridge::update(*impl->map, std::as_bytes(std::span(&cpu, 1)),
                                              std::as_bytes(std::span(&fd, 1)), BPF_ANY, resolve);
        (void)state.handles.close(fd);  // the map holds the buffer now
        if (!stored) return std::unexpected(stored.error());
        impl->buffers.push_back(std::move(*buffer));
    }
    return PerfBuffer(std::move(impl));
}

PerfBuffer::PerfBuffer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PerfBuffer::PerfBuffer(PerfBuffer&&) noexcept = default;
PerfBuffer& PerfBuffer::operator=(PerfBuffer&&) noexcept = default;
PerfBuffer::~PerfBuffer() = default;

long PerfBuffer::consume() {
    std::lock_guard lock(impl_->consume_mutex);
    long total = 0;
    for (auto& buffer : impl_->buffers) total += impl_->consume_one(*buffer);
    return total;
}

long PerfBuffer::poll(int timeout_ms) {
    if (const long n = consume(); n != 0 || timeout_ms == 0) return n;
    maps::PerfWakeup& w = *impl_->wakeup;
    // Announced before looking for data: a producer publishing after the
    // look sees the waiter and notifies under the mutex (PerfWakeup::notify).
    w.waiters.fetch_add(1, std::memory_order_seq_cst);
    {
        std::unique_lock lock(w.mutex);
        auto ready = [this] { return impl_->any_data(); };
        if (timeout_ms < 0) {
            w.cv.wait(lock, ready);
        } else {
            w.cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready);
        }
    }
    w.waiters.fetch_sub(1, std::memory_order_seq_cst);
    return consume();
}

Result<long> PerfBuffer::consume_buffer(size_t index) {
    if (index >= impl_->buffers.size())
        return fail(EINVAL, fmt::format("no buffer {} (the perf buffer has {})", index, impl_->buffers.size()));
    std::lock_guard lock(impl_->consume_mutex);
    return impl_->consume_one(*impl_->buffers[index]);
}

size_t PerfBuffer::buffer_count() const noexcept { return impl_->buffers.size(); }

uint64_t PerfBuffer::lost() const noexcept {
    uint64_t total = 0;
    for (const auto& buffer : impl_->buffers) total += buffer->lost_total();
    return total;
}

}  // namespace bpfrt
