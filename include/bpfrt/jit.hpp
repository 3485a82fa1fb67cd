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

// The machine code of a JIT-compiled program, for debugging: the bytes, the
// address they run at, and where each instruction slot's code starts
// (insn_offsets[pc], one entry per slot plus one for the end of the
// program's body; the second slot of an lddw has its first slot's offset).
struct JitCode {
    std::span<const uint8_t> bytes;
    uint64_t address = 0;
    std::vector<uint32_t> insn_offsets;
    uint32_t body_start = 0;   // code before it: the prologue and epilogue
    uint32_t stubs_start = 0;  // code from it on: out-of-line stubs
};

// The code of `program`, or EINVAL when it was not made by make_jit().
Result<JitCode> jit_code(const vm::Program& program);

// The generated code of `program` disassembled (capstone, Intel syntax),
// each eBPF instruction followed by the machine instructions compiled from it;
// prologue, epilogue and out-of-line stubs are labelled.
Result<std::string> jit_disassemble(const vm::Program& program, std::span<const bpf_insn> insns);

}  // namespace bpfrt::jit
