// The internals of a Runtime: the handle table, the helper table programs
// call through, and the one implementation of each bpf() command (used by
// the typed C++ API and, through it, by the C API).
#pragma once

#include "runtime/handle_table.hpp"
#include "runtime/program.hpp"

#include <bpfrt/runtime.hpp>
#include <bpfrt/vm.hpp>

#include <memory>

namespace bpfrt::runtime {

class State {
public:
    State();

    HandleTable handles;
    // Helpers available to programs of this runtime (map helpers with the
    // kernel's numbers). Shared with every program loaded.
    std::shared_ptr<vm::HelperTable> helpers;

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
Result<uint64_t> run_program(const ProgramObject& program, uint64_t r1, uint64_t r2,
                             vm::ExecContext& ctx);

}  // namespace bpfrt::runtime
