// Host events that tracing programs attach to: the user-space counterpart of
// kernel tracepoints.
//
//   bpfrt::Event op_done(rt, "op_done", sizeof(OpDone));   // declare
//   op_done.attach(prog_fd);                                  // any number of programs
//   op_done.raise(&record);                                   // runs them all
//
// Programs of type BPF_PROG_TYPE_TRACEPOINT, RAW_TRACEPOINT or KPROBE attach;
// they see the context struct as read-only memory (r1). For TRACEPOINT the
// first 8 bytes are the common header the kernel keeps from programs: start
// the struct with a u64 the program does not read. A program may read only
// within the event's size: attach() fails with EACCES when the program reads
// further (the verifier records the furthest byte, as the kernel's
// max_ctx_offset). Many programs per event, one program on many events.
//
// raise() is one relaxed atomic load when nothing is attached. Attaching and
// detaching may happen while other threads raise the event; a raise runs the
// programs attached when it starts. An attachment keeps its program alive
// after the handle is closed, until detach() or the Event is destroyed.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/runtime.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>

namespace bpfrt {

// Host memory a program may copy with bpf_probe_read_kernel/user(_str)
// during one raise (besides the context itself).
struct ReadableMemory {
    const void* start = nullptr;
    size_t size = 0;
};

class Event {
public:
    // `ctx_size`: bytes of the context struct raise() is given.
    Event(Runtime& runtime, std::string name, size_t ctx_size);
    ~Event();
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    const std::string& name() const noexcept { return name_; }
    size_t ctx_size() const noexcept { return ctx_size_; }

    // EBADF/EINVAL: not a program; EINVAL: not a tracing program type;
    // EACCES: the program reads past ctx_size; EEXIST: already attached.
    Result<void> attach(int prog_fd);
    // ENOENT: not attached.
    Result<void> detach(int prog_fd);
    size_t attached() const noexcept { return count_.load(std::memory_order_relaxed); }

    // Runs every attached program on `ctx` (ctx_size bytes). Returns how
    // many ran. Programs failing at run time (only unverified ones can) are
    // counted in errors().
    size_t raise(const void* ctx) {
        if (count_.load(std::memory_order_relaxed) == 0) return 0;
        return raise_attached(ctx, {});
    }
    size_t raise(const void* ctx, std::initializer_list<ReadableMemory> readable) {
        if (count_.load(std::memory_order_relaxed) == 0) return 0;
        return raise_attached(ctx, std::span<const ReadableMemory>(readable.begin(), readable.size()));
    }
    uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }

private:
    struct Attached;
    size_t raise_attached(const void* ctx, std::span<const ReadableMemory> readable);

    Runtime& runtime_;
    std::string name_;
    size_t ctx_size_;
    std::atomic<size_t> count_{0};
    std::atomic<uint64_t> errors_{0};
    mutable std::mutex mutex_;          // writers (attach/detach)
    std::atomic<std::shared_ptr<const Attached>> programs_;  // replaced on change
};

}  // namespace bpfrt
