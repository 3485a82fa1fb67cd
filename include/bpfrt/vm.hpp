// The execution engine interface: a program prepared for execution and the
// context it runs in. The interpreter (src/vm) implements it today; the JIT
// (src/jit) will implement the same interface.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::vm {

inline constexpr size_t kStackSize = BPFRT_STACK_SIZE;  // bytes per frame
inline constexpr size_t kMaxCallDepth = 8;               // frames, as the kernel's MAX_CALL_FRAMES
inline constexpr size_t kRunStackSize = kStackSize * kMaxCallDepth;  // the whole stack of one run

class ExecContext;

// A helper callable with `call imm`. Arguments are r1-r5; the result goes to r0.
using HelperFn = uint64_t (*)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
                              ExecContext& ctx);

struct Helper {
    HelperFn fn = nullptr;
    std::string name;
    // The program ends at once with r0 = 0 when this helper returns 0 (the
    // semantics of a tail call that leaves the program; used by the
    // conformance suite's helper 5).
    bool unwind_on_zero = false;
};

// Helpers by number. A program calling a number without an entry is refused
// when it is prepared (checked mode) or by the verifier.
class HelperTable {
public:
    void set(uint32_t id, Helper helper);
    const Helper* find(uint32_t id) const noexcept;
    std::span<const Helper> entries() const noexcept { return helpers_; }

private:
    std::vector<Helper> helpers_;  // indexed by helper number; fn == nullptr when absent
};

// A range of host memory a program may touch in checked mode.
struct MemoryRegion {
    uintptr_t start = 0;
    size_t size = 0;
    bool writable = false;
};

// Per-run state: what the program may touch, the packet for LD_ABS/LD_IND,
// and requests from helpers to the engine. One per run; not shared between
// threads.
class ExecContext {
public:
    // Memory the program may access in checked mode besides its own stack.
    // Helpers that hand out pointers (map_lookup_elem) add their regions.
    void allow(const void* start, size_t size, bool writable);
    std::span<const MemoryRegion> regions() const noexcept { return regions_; }
    // Whether [addr, addr + size) lies in one of regions() or, during a run,
    // in the run's stack (see stack_top).
    bool is_allowed(uintptr_t addr, size_t size, bool write) const noexcept;
    // Drops every region added after the first `count`.
    void truncate_regions(size_t count) noexcept;

    // True while a Mode::Checked program runs, so helpers know to check the
    // pointers they are given with is_allowed() (in verified mode the
    // verifier has proven the pointer arguments of their prototypes).
    bool checked = false;

    // The top of the running program's stack (r10 at entry; the stack is the
    // kRunStackSize bytes below it), set by every engine in both modes for
    // the length of a run, 0 outside runs. is_allowed() counts the whole
    // stack as writable, so helpers whose source pointer no verifier checks
    // (probe_read*, the %s of trace_printk) can copy from and to the
    // program's own stack in verified runs too.
    uintptr_t stack_top = 0;

    // The packet seen by LD_ABS / LD_IND (socket filters). An access outside
    // it ends the program with r0 = 0, as in the kernel.
    const uint8_t* packet = nullptr;
    size_t packet_len = 0;

    // Opaque pointers for the embedding layer (runtime, program object).
    void* runtime = nullptr;
    void* program = nullptr;
    void* user = nullptr;

    // Set by a helper to make the engine stop after the call returns, with
    // r0 = exit_value (used by tail calls into nothing and unwinding helpers).
    bool exit_requested = false;
    uint64_t exit_value = 0;
    // Set by the tail-call helper: the engine continues in this program, with
    // the same r1 (context), instead of returning to the caller.
    const class Program* tail_call_target = nullptr;
    unsigned tail_calls = 0;  // taken so far in this run (limit 33, as the kernel)

    // For helpers that call a function of the program back (bpf_loop): set
    // by the engine while a helper runs (nullptr where the engine cannot).
    // Calls the function whose first instruction is slot `entry` (what an
    // lddw BPF_PSEUDO_FUNC loads after loading) with r1, r2, in a new stack
    // frame below the helper's caller, and returns its r0. When it fails
    // (checked mode), the helper stores the error in call_error and sets
    // exit_requested: the run then ends with that error.
    Result<uint64_t> (*call_function)(ExecContext& ctx, uint64_t entry, uint64_t r1, uint64_t r2) = nullptr;
    const void* call_site = nullptr;  // the engine's, for call_function
    std::optional<Error> call_error;

private:
    std::vector<MemoryRegion> regions_;
};

enum class Mode {
    // For verified programs: no per-instruction checks.
    Verified,
    // For unverified programs: every memory access is checked against the
    // stack and ExecContext regions, calls against the helper table and the
    // call depth; a violation stops the program with an error.
    Checked,
};

// A program decoded and prepared for repeated execution. Immutable and safe
// to run from several threads at once.
class Program {
public:
    virtual ~Program() = default;
    // Runs with r1, r2 as given (r10 = top of a fresh stack). Returns r0, or
    // in checked mode an error (EFAULT for memory, EINVAL otherwise) whose
    // message names the instruction.
    virtual Result<uint64_t> run(uint64_t r1, uint64_t r2, ExecContext& ctx) const = 0;
    virtual Mode mode() const noexcept = 0;
    virtual size_t size() const noexcept = 0;  // instruction slots
};

// Prepares `insns` for the interpreter. Fails (EINVAL) on undecodable
// instructions, jumps out of range or into an lddw's second slot, and in
// checked mode on calls to helpers missing from `helpers`. `helpers` must
// outlive the program.
Result<std::unique_ptr<Program>> make_interpreter(std::span<const bpf_insn> insns,
                                                  const HelperTable* helpers, Mode mode);

}  // namespace bpfrt::vm
