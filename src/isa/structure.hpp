// The structural checks every engine makes when it prepares a program: the
// program decodes through the opcode table, its last instruction does not
// fall through, no instruction writes r10, and every jump and local call
// lands on an instruction inside the program. The interpreter (src/vm) and
// the JIT (src/jit) both use them, so that they accept the same programs.
#pragma once

#include "isa/opcodes.hpp"

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstddef>
#include <expected>
#include <span>
#include <string_view>
#include <vector>

namespace bpfrt::isa {

// A program that passed the structural checks: one decoded instruction per
// slot that starts an instruction (the second slot of an lddw does not).
struct DecodedProgram {
    std::vector<Instruction> at;  // indexed by slot; meaningful where starts[pc]
    std::vector<bool> starts;
};

// Decodes `insns` and makes the structural checks. EINVAL with a message
// naming the instruction ("pc N: `insn`: why"); E2BIG when the program is too
// large to index with an int32 jump offset.
Result<DecodedProgram> decode_program(std::span<const bpf_insn> insns);

// The EINVAL error of an instruction, in the words of decode_program:
// "pc N: `<instruction>`: <why>". For engines' own preparation checks.
std::unexpected<Error> instruction_error(std::span<const bpf_insn> insns, size_t pc, std::string_view why);

// Registers the instruction assigns: dst for operations that write it, and
// the implicit ones (a fetching atomic's src, cmpxchg's r0, LD_ABS/LD_IND's r0).
bool writes_register(const Instruction& insn, uint8_t reg) noexcept;

}  // namespace bpfrt::isa
