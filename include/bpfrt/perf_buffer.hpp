// Reading BPF_MAP_TYPE_PERF_EVENT_ARRAY maps, as libbpf's perf_buffer.
//
// Programs send samples with bpf_perf_event_output(ctx, &map, flags, data,
// size) to the perf event in slot `flags & BPF_F_INDEX_MASK` of the map,
// normally BPF_F_CURRENT_CPU: the slot of the CPU they run on. In bpfrt a
// "CPU" is a CPU slot: each thread running programs has one
// (bpf_get_smp_processor_id(), 0 .. possible CPUs - 1).
//
// A PerfBuffer does for a map what libbpf's perf_buffer__new does: for every
// CPU slot i below min(max_entries, possible CPUs) it opens a perf event
// buffer (a ring of page_count pages) and stores it in the map under key i,
// through BPF_MAP_UPDATE_ELEM with the buffer's handle, as libbpf stores a
// perf event fd. From then on programs' samples land in the ring of their
// slot, and poll() / consume() pass them to the sample callback with the
// slot they came from. The destructor takes the buffers out of the map again
// (slots replaced meanwhile are left alone).
//
// The data given to the sample callback is the kernel's raw sample: the
// program's bytes (then, for socket filter, tc and XDP programs, the packet
// bytes flags' BPF_F_CTXLEN_MASK asked for) padded with zeros so that the
// size plus 4 is a multiple of 8, exactly what libbpf passes on. Samples that
// find their ring full are lost (the helper returns -ENOSPC): the lost
// callback gets their number, in stream order, as libbpf's lost_cb.
//
//   auto pb = bpfrt::PerfBuffer::create(rt, events_map_fd,
//       [](uint32_t cpu, std::span<const std::byte> data) { ... },
//       [](uint32_t cpu, uint64_t lost) { ... });
//   while (running) pb->poll(100);
//
// Programs may produce on any number of threads while one thread polls;
// poll() and consume() may also be called from several threads (they take
// turns). Callbacks run on the polling thread; `data` is valid during the
// call only. The map stays alive as long as the PerfBuffer. A moved-from
// PerfBuffer may only be destroyed or assigned to.
#pragma once

#include <bpfrt/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

namespace bpfrt {

class Runtime;

struct PerfBufferOptions {
    // Pages of 4096 bytes per CPU slot: a power of 2 (libbpf's page_cnt).
    size_t page_count = 8;
};

class PerfBuffer {
public:
    using SampleCallback = std::function<void(uint32_t cpu, std::span<const std::byte> data)>;
    using LostCallback = std::function<void(uint32_t cpu, uint64_t lost)>;

    // EBADF: `map_fd` is not open; EINVAL: not a perf event array, no sample
    // callback, page_count not a power of 2 (or over 65536 pages); ENOMEM;
    // errors of storing the buffers in the map.
    static Result<PerfBuffer> create(Runtime& runtime, int map_fd, SampleCallback sample, LostCallback lost = {},
                                     const PerfBufferOptions& options = {});
    PerfBuffer(PerfBuffer&&) noexcept;
    PerfBuffer& operator=(PerfBuffer&&) noexcept;
    PerfBuffer(const PerfBuffer&) = delete;
    PerfBuffer& operator=(const PerfBuffer&) = delete;
    ~PerfBuffer();

    // Passes every waiting record to the callbacks; returns how many
    // (samples and lost notifications).
    long consume();
    // As consume(), waiting up to timeout_ms (< 0: forever) when nothing waits.
    long poll(int timeout_ms);
    // Consumes the buffer of one CPU slot only (libbpf's perf_buffer__consume_buffer). EINVAL: no such buffer.
    Result<long> consume_buffer(size_t index);
    // Number of buffers (CPU slots) (libbpf's perf_buffer__buffer_cnt).
    size_t buffer_count() const noexcept;
    // Samples lost so far in every buffer (whether or not reported yet).
    uint64_t lost() const noexcept;

private:
    struct Impl;
    explicit PerfBuffer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace bpfrt
