// Instruction text for the interpreter's error messages.
//
// A small formatter of the vm's own, derived from the opcode table (mnemonic
// and Form), because the disassembler (bpfrt::isa::format_instruction) was
// written in parallel. Same syntax as the conformance suite: %rN registers.
#pragma once

#include "isa/opcodes.hpp"

#include <string>

namespace bpfrt::vm::detail {

std::string format_insn(const isa::Instruction& insn);

}  // namespace bpfrt::vm::detail
