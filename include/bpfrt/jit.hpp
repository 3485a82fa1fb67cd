// The JIT: verified programs compiled to x86-64 machine code.
//
// make_jit() implements the same vm::Program interface as the interpreter
// (vm.hpp) with Mode::Verified semantics: no per-access bounds checks, the
// verifier having proven every access. Results (r0, memory, helper effects)
// are those of the interpreter. The generated code lives in memory that is
// writable while it is written and executable afterwards, never both, and is
// freed with the program.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>
#include <bpfrt/vm.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::jit {

struct JitOptions {
    // Constant blinding, as the kernel's bpf_jit_blind_constants: every
    // immediate of the program reaches the machine code only XORed with a
    // random key (fresh per program and instruction) and is rebuilt in a
    // scratch register at run time, so untrusted programs cannot plant
    // chosen byte sequences in executable memory.
    bool constant_blinding = false;
    // Use BMI2 (shlx/shrx/sarx) for register shifts when the CPU has it.
    // Off forces the classic `shl r, cl` sequences (tests cover both).
    bool use_bmi2 = true;
};

// True where the JIT can run: an x86-64 host.
bool jit_supported() noexcept;

// Compiles `insns`, which must have been accepted by the verifier. Fails with
// EINVAL on the structural errors the interpreter also refuses (undecodable
// instructions, jumps out of range or into an lddw's second slot, writes to
// r10, a last instruction falling through), ENOTSUP where !jit_supported()
// and ENOMEM when code memory cannot be mapped. Helpers are resolved when
// the program is compiled; `helpers` must outlive the program.
Result<std::unique_ptr<vm::Program>> make_jit(std::span<const bpf_insn> insns, const vm::HelperTable* helpers,
                                              const JitOptions& options = {});

// Which engine runs a program.
enum class Engine {
    Auto,         // the JIT where jit_supported(), the interpreter elsewhere
    Interpreter,  // the interpreter in Mode::Verified
    Jit,          // the JIT (ENOTSUP where unsupported)
};

// Prepares a verified program for the chosen engine.
Result<std::unique_ptr<vm::Program>> make_program(std::span<const bpf_insn> insns, const vm::HelperTable* helpers,
                                                  Engine engine = Engine::Auto, const JitOptions& options = {});

// ---- Direct entry ----

namespace detail {

// How a run of generated code ended.
enum class RunStatus : uint32_t {
    Returned = 0,  // r0 is the result
    TailCall = 1,  // continue in ctx.tail_call_target (already counted)
    Error = 2,     // error_kind at error_pc
};

enum class RunError : uint32_t {
    None = 0,
    UnknownHelper = 1,  // error_arg: the helper number
    CallDepth = 2,
};

// The state of a run of generated code, which reaches it through r12.
// Standard layout: the code generator addresses fields with offsetof. The
// code writes `status` only when a run does not simply return, so a state
// whose status is Returned can be used again for the next run.
struct RunState {
    vm::ExecContext* ctx = nullptr;
    const vm::HelperTable* helpers = nullptr;  // for callx
    uint64_t entry_rsp = 0;     // rsp before the main function is called; aborts return to it
    uint64_t depth_limit = 0;   // a local call from rsp <= this would exceed kMaxCallDepth
    uint64_t ctx_arg = 0;       // r1 at the last helper call: a tail call target's context
    uint64_t error_pc = 0;
    uint64_t error_arg = 0;
    uint64_t callx_id = 0;      // helper number of the current callx
    RunStatus status = RunStatus::Returned;
    RunError error_kind = RunError::None;
    uint8_t callx_error = 0;    // set by the callx trampoline: no such helper
    uint8_t callx_unwind = 0;   // set by the callx trampoline: unwind_on_zero helper returned 0
    // Programs whose functions helpers call back (bpf_loop):
    const void* program = nullptr;  // the program running, for ExecContext::call_function
    uint64_t helper_rbp = 0;        // r10 of the frame that made the last helper call
    uint64_t callback_rsp = 0;      // rsp inside the innermost callback trampoline (0: none); aborts return there
};

// The entry point of generated code: r1, r2, and the run state.
using EntryFn = uint64_t (*)(uint64_t r1, uint64_t r2, RunState* state);

}  // namespace detail

// A direct entry into a program, for callers that run one program many
// times: run() gives exactly what program.run() gives (r0, effects on memory,
// maps and ctx, helper errors, tail calls into any engine), without the
// virtual call and with the per-run state prepared once. For a JIT-compiled
// program the fast path is inline here: a few ExecContext stores and one
// call into the generated code; anything but a plain return (a tail call, an
// error) continues out of line. Other programs (the interpreter) go through
// program.run(), so callers need no case of their own.
//
// One DirectEntry per thread: it holds the state of the run in progress, so
// it is not reentrant either (a helper must not run the same entry while it
// runs; copies are independent). The program must outlive it.
//
//     jit::DirectEntry entry(*program);          // once
//     for (...) {
//         auto r0 = entry.run(r1, r2, ctx);      // per run, as program->run(r1, r2, ctx)
//         if (!r0) return std::unexpected(r0.error());
//     }
class DirectEntry {
public:
    explicit DirectEntry(const vm::Program& program) noexcept;

    // True when run() calls generated code directly (the program was made by make_jit()).
    bool direct() const noexcept { return entry_ != nullptr; }
    const vm::Program& program() const noexcept { return *program_; }

    Result<uint64_t> run(uint64_t r1, uint64_t r2, vm::ExecContext& ctx) {
        if (entry_ == nullptr) return program_->run(r1, r2, ctx);
        // What JitProgram::run does around the generated code (src/jit/jit.cpp).
        ctx.exit_requested = false;
        ctx.tail_call_target = nullptr;
        const bool was_checked = ctx.checked;
        const uintptr_t was_stack_top = ctx.stack_top;
        ctx.checked = false;
        state_.ctx = &ctx;
        const uint64_t r0 = entry_(r1, r2, &state_);
        if (state_.status != detail::RunStatus::Returned) [[unlikely]]
            return finish(r2, ctx, was_checked, was_stack_top);
        ctx.checked = was_checked;
        ctx.stack_top = was_stack_top;
        return r0;
    }

private:
    // A run that ended in a tail call or an error: follows the chain as
    // program.run() does, restores ctx, and readies state_ for the next run.
    [[gnu::cold]] Result<uint64_t> finish(uint64_t r2, vm::ExecContext& ctx, bool was_checked, uintptr_t was_stack_top);

    const vm::Program* program_;
    detail::EntryFn entry_ = nullptr;
    detail::RunState state_{};
};

// The machine code of a JIT-compiled program, for debugging: the bytes, the
// address they run at, and where each instruction slot's code starts
// (insn_offsets[pc], one entry per slot plus one for the end of the
// program's body; the second slot of an lddw has its first slot's offset).
struct JitCode {
    std::span<const uint8_t> bytes;
    uint64_t address = 0;
    std::vector<uint32_t> insn_offsets;
    uint32_t body_start = 0;   // code before it: the entry (prologue; the epilogue too with local calls)
    uint32_t stubs_start = 0;  // code from it on: out-of-line code (shared epilogue, stubs)
};

// The code of `program`, or EINVAL when it was not made by make_jit().
Result<JitCode> jit_code(const vm::Program& program);

// The generated code of `program` disassembled (capstone, Intel syntax),
// each eBPF instruction followed by the machine instructions compiled from it;
// prologue, epilogue and out-of-line stubs are labelled.
Result<std::string> jit_disassemble(const vm::Program& program, std::span<const bpf_insn> insns);

}  // namespace bpfrt::jit
