// eBPF assembler and disassembler, in the syntax of the bpf_conformance suite.
//
// One instruction or label per line; `#` starts a comment (whole line or
// trailing); blank lines are ignored. Registers are %r0..%r10. Numbers are
// decimal or 0x-hex, optionally negative.
//
//   mov %r0, 1            add32 %r1, %r2        neg %r0     movsx864 %r0, %r1
//   be16 %r0   le32 %r0   bswap64 %r0 (swap16/32/64 are accepted as aliases)
//   lddw %r0, 0x1122334455667788
//   ldxw %r0, [%r1+4]     ldxsb %r0, [%r1-4]    stw [%r1+2], 5
//   stxdw [%r10-8], %r1   lock add [%r1+0], %r2 lock fetch xor32 [%r10-8], %r1
//   lock xchg [%r1], %r2  lock cmpxchg32 [%r1], %r2
//   ja label  ja +3  ja -1  ja32 label  jeq %r1, 5, label  jne32 %r1, %r2, +2
//   call 5 (helper)  call %r2 / callx %r2 (through a register)  call local func1
//   exit      ldabsw 12   ldindh %r1, 4
//   name:     (a label, on its own line or before an instruction)
//   .raw 0x0000000000000095   (one slot given as a 64-bit word: opcode in bits
//                              0-7, dst 8-11, src 12-15, off 16-31, imm 32-63)
//
// Immediates: an imm32 accepts -2^31 .. 2^32-1 (0xffffffff means -1); an
// lddw immediate accepts -2^63 .. 2^64-1; offsets -32768 .. 32767.
// Jump targets are a label or a signed slot offset (+3, -1, relative to the
// next slot); lddw counts as two slots.
//
// Pseudo lddw (src_reg != 0) is written with a keyword naming the src_reg:
//   lddw %r1, map_fd 3            (BPF_PSEUDO_MAP_FD, imm = 3)
//   lddw %r1, map_value 3 + 8     (BPF_PSEUDO_MAP_VALUE, imm = 3, second imm = 8)
// The keywords are map_fd (1), map_value (2), btf_id (3), func (4), map_idx (5),
// map_idx_value (6); any of them takes an optional `+ N` / `- N` for the
// second slot's imm.
//
// Like the bpf_conformance assembler, a jump to the name `exit` goes to the
// first `exit` instruction unless a label named `exit` is defined. Labels may
// share names with mnemonics. A leading slot number (`12: mov %r0, 1`, as
// printed by DisasmOptions::show_offsets) is ignored.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bpfrt::isa {

// Assembles `text`. Errors (EINVAL) say "line N: <what>".
Result<std::vector<bpf_insn>> assemble(std::string_view text);

struct DisasmOptions {
    bool labels = true;         // jump targets as labels (Lnn:) instead of +off
    bool show_offsets = false;  // prefix each line with its slot number ("  12: ")
};

// Disassembles a program into text that assemble() accepts and that gives back
// the same bytes. Undecodable slots are printed as `.raw 0x<16 hex digits>`.
std::string disassemble(std::span<const bpf_insn> prog, const DisasmOptions& = {});

// One instruction (as at slot pc) in the same syntax, jump targets as +off/-off.
// An undecodable slot (or pc past the end) gives a `.raw` line / an empty string.
std::string format_instruction(std::span<const bpf_insn> prog, size_t pc);

}  // namespace bpfrt::isa
