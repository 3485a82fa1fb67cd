// eBPF to x86-64 code generation (x86-64 hosts only).
#pragma once

#include "isa/opcodes.hpp"
#include "isa/structure.hpp"

#include <bpfrt/error.hpp>
#include <bpfrt/jit.hpp>
#include <bpfrt/vm.hpp>

#include <cstdint>
#include <span>
#include <vector>

namespace bpfrt::jit {

struct CompiledCode {
    std::vector<uint8_t> bytes;           // position independent
    std::vector<uint32_t> insn_offsets;   // code offset per slot, plus the end of the body
    uint32_t body_start = 0;              // after the prologue
    uint32_t stubs_start = 0;             // out-of-line code after the body
    // Programs whose functions helpers call back: the offset of the callback
    // trampoline, uint64_t (const void* function, uint64_t r1, uint64_t r2,
    // RunState*), which runs the function in a frame below the one that
    // called the helper (RunState::helper_rbp). 0: none.
    uint32_t callback_entry = 0;
};

// A program that passed the structural checks both engines make
// (isa::decode_program, src/isa/structure.hpp).
using PreparedProgram = isa::DecodedProgram;

// Generates the code. Helpers are looked up now; a call to a missing one
// becomes a run-time error, as in the interpreter.
Result<CompiledCode> compile(const PreparedProgram& prog, const vm::HelperTable* helpers, const JitOptions& options);

}  // namespace bpfrt::jit
