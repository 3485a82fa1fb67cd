// The internals of a Runtime: the handle table, the helper table programs
// call through, and the one implementation of each bpf() command (used by
// the typed C++ API and, through it, by the C API).
#pragma once

#include "runtime/handle_table.hpp"
#include "runtime/program.hpp"

#include <bpfrt/jit.hpp>
#include <bpfrt/runtime.hpp>
#include <bpfrt/vm.hpp>

#include "helpers/prototypes.hpp"

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace bpfrt::runtime {

class State {
public:
    State();

    // Runtime::set_privileged: the privilege of loads that choose none.
    std::atomic<bool> privileged{true};
    // Runtime::set_engine: the engine and blinding of loads that choose none.
    std::atomic<jit::Engine> engine{jit::Engine::Auto};
    std::atomic<bool> constant_blinding{false};

    HandleTable handles;
    // Helpers available to programs of this runtime (map helpers with the
    // kernel's numbers). Shared with every program loaded.
    // Replaced (copy on write) when the host registers a helper, so that
    // programs already loaded keep the table they were prepared with.
    std::shared_ptr<vm::HelperTable> helpers;
    // Prototypes of helpers the host registered, checked by the verifier.
    std::vector<helpers::HelperProto> host_protos;
    std::deque<std::string> host_names;  // storage of host_protos[i].name
    mutable std::mutex helpers_mutex;    // guards helpers (the pointer) and host_protos

    std::shared_ptr<vm::HelperTable> helper_table() const {
        std::lock_guard lock(helpers_mutex);
        return helpers;
    }

    // bpf_trace_printk output: to the callback when one is set, else kept
    // (up to kMaxTraceBytes, oldest lines dropped) until the host takes it.
    static constexpr size_t kMaxTraceBytes = 1 << 20;
    void trace(std::string_view program, std::string_view message);
    std::function<void(std::string_view program, std::string_view message)> trace_callback;
    std::deque<std::string> trace_lines;
    size_t trace_bytes = 0;
    uint64_t trace_dropped = 0;
    mutable std::mutex trace_mutex;

    // The object behind a handle, by kind: EBADF when the handle is not
    // open, EINVAL when it names the other kind (as the kernel's
    // __bpf_map_get / __bpf_prog_get).
    Result<bridge::MapRef> map_at(int fd) const;
    Result<std::shared_ptr<ProgramObject>> program_at(int fd) const;

    Result<std::shared_ptr<ProgramObject>> load(const ProgLoad& in, std::string& log);
    Result<TestRunResult> test_run(const TestRun& in);
};

// Runs a loaded program once with r1, r2, holding what a run needs (the
// maps' read section, the program's context in `ctx`). Every run of a
// program goes through here.
// `exec` replaces program.exec (the same instructions prepared for another
// engine, e.g. the JIT).
Result<uint64_t> run_program(const ProgramObject& program, uint64_t r1, uint64_t r2,
                             vm::ExecContext& ctx, const vm::Program* exec = nullptr);
// The same through a direct entry (jit::DirectEntry) prepared once for the
// program's engine: for callers that run one program many times on one thread.
Result<uint64_t> run_program(const ProgramObject& program, uint64_t r1, uint64_t r2,
                             vm::ExecContext& ctx, jit::DirectEntry& entry);

}  // namespace bpfrt::runtime
