#include <bpfrt/events.hpp>

#include "runtime/program.hpp"
#include "runtime/state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <vector>

namespace bpfrt {

struct Event::Attached {
    std::vector<std::shared_ptr<runtime::ProgramObject>> programs;
};

namespace {

bool is_tracing_type(uint32_t type) {
    return type == BPF_PROG_TYPE_TRACEPOINT || type == BPF_PROG_TYPE_RAW_TRACEPOINT || type == BPF_PROG_TYPE_KPROBE;
}

}  // namespace

Event::Event(Runtime& runtime, std::string name, size_t ctx_size)
    : runtime_(runtime), name_(std::move(name)), ctx_size_(ctx_size), programs_(std::shared_ptr<const Attached>(std::make_shared<Attached>())) {}

Event::~Event() = default;

Result<void> Event::attach(int prog_fd) {
    auto program = runtime_.state().program_at(prog_fd);
    if (!program) return std::unexpected(program.error());
    const runtime::ProgramObject& p = **program;
    if (!is_tracing_type(p.type))
        return fail(EINVAL, fmt::format("program '{}' (type {}) is not a tracing program (tracepoint, "
                                        "raw_tracepoint or kprobe)",
                                        p.name, p.type));
    if (p.max_ctx_offset > ctx_size_)
        return fail(EACCES, fmt::format("program '{}' reads {} bytes of its context, event '{}' has {}", p.name,
                                        p.max_ctx_offset, name_, ctx_size_));
    std::lock_guard lock(mutex_);
    auto current = programs_.load();
    if (std::find(current->programs.begin(), current->programs.end(), *program) != current->programs.end())
        return fail(EEXIST, fmt::format("program '{}' is already attached to '{}'", p.name, name_));
    auto next = std::make_shared<Attached>(*current);
    next->programs.push_back(std::move(*program));
    programs_.store(std::shared_ptr<const Attached>(std::move(next)));
    count_.fetch_add(1, std::memory_order_relaxed);
    return {};
}

Result<void> Event::detach(int prog_fd) {
    auto program = runtime_.state().program_at(prog_fd);
    if (!program) return std::unexpected(program.error());
    std::lock_guard lock(mutex_);
    auto current = programs_.load();
    auto next = std::make_shared<Attached>(*current);
    auto it = std::find(next->programs.begin(), next->programs.end(), *program);
    if (it == next->programs.end()) return fail(ENOENT, fmt::format("the program is not attached to '{}'", name_));
    next->programs.erase(it);
    programs_.store(std::shared_ptr<const Attached>(std::move(next)));
    count_.fetch_sub(1, std::memory_order_relaxed);
    return {};
}

size_t Event::raise_attached(const void* ctx, std::span<const ReadableMemory> readable) {
    const auto attached = programs_.load();
    size_t ran = 0;
    vm::ExecContext exec;
    for (const auto& program : attached->programs) {
        exec.truncate_regions(0);
        exec.runtime = &runtime_.state();
        exec.allow(ctx, ctx_size_, false);
        for (const ReadableMemory& m : readable) exec.allow(m.start, m.size, false);
        auto r0 = runtime::run_program(*program, reinterpret_cast<uintptr_t>(ctx), 0, exec);
        if (!r0) errors_.fetch_add(1, std::memory_order_relaxed);
        ++ran;
    }
    return ran;
}

}  // namespace bpfrt
