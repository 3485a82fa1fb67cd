// Decoded eBPF instructions and the opcode table (see opcodes.def).
//
// decode() turns raw slots into an Instruction whose `op` names exactly one
// operation of RFC 9669, rejecting unknown opcodes and non-zero reserved
// fields; encode() is its inverse. Everything that reads programs (assembler,
// disassembler, interpreter, verifier, JIT) works on Instruction and OpInfo.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace bpfrt::isa {

enum class Op : uint8_t {
#define OP(name, code, disc, mnemonic, form, width) name,
#include "isa/opcodes.def"
#undef OP
};

// Number of operations in the table.
inline constexpr size_t kOpCount = 0
#define OP(name, code, disc, mnemonic, form, width) +1
#include "isa/opcodes.def"
#undef OP
    ;

// Operand layout: which fields an operation uses (all others must be zero)
// and how it is written in assembly.
enum class Form : uint8_t {
    AluImm,      // add %rD, imm
    AluReg,      // add %rD, %rS
    Unary,       // neg %rD / be16 %rD
    LoadImm64,   // lddw %rD, imm64           (src: BPF_PSEUDO_* kind)
    LoadAbs,     // ldabsw imm
    LoadInd,     // ldindw %rS, imm
    Load,        // ldxw %rD, [%rS+off]
    StoreImm,    // stw [%rD+off], imm
    StoreReg,    // stxw [%rD+off], %rS
    Atomic,      // lock add [%rD+off], %rS
    Jump,        // ja +off
    Jump32,      // ja32 +imm
    CondImm,     // jeq %rD, imm, +off
    CondReg,     // jeq %rD, %rS, +off
    CallHelper,  // call imm
    CallLocal,   // call local +imm
    CallReg,     // callx %rD
    Exit,        // exit
};

// Which field, besides the opcode byte, tells operations apart.
enum class DiscField : uint8_t { None, Off, Imm, Src };

struct OpInfo {
    Op op;
    uint8_t code;           // opcode byte
    DiscField disc_field;   // discriminating field
    int32_t disc_value;     // its value for this operation
    std::string_view mnemonic;
    Form form;
    uint8_t width;          // bits: ALU width, access size or compare width
};

const OpInfo& info(Op op) noexcept;
std::span<const OpInfo> all_ops() noexcept;

// A decoded instruction. For lddw, imm64 holds the full 64-bit immediate
// (imm is its low half) and the instruction occupies two slots.
struct Instruction {
    Op op{};
    uint8_t dst = 0;
    uint8_t src = 0;
    int16_t off = 0;
    int32_t imm = 0;
    uint64_t imm64 = 0;

    const OpInfo& info() const noexcept { return isa::info(op); }
    size_t slots() const noexcept { return op == Op::LDDW ? 2 : 1; }
    bool operator==(const Instruction&) const = default;
};

// Decodes the instruction at slot `pc`. Errors (EINVAL) name the slot and the
// problem: unknown opcode, reserved field not zero, register out of range,
// lddw missing its second slot.
Result<Instruction> decode(std::span<const bpf_insn> prog, size_t pc);

// Decodes a whole program; the result has one entry per instruction (an
// lddw is one entry), in order.
Result<std::vector<Instruction>> decode_all(std::span<const bpf_insn> prog);

// Appends the encoding of `insn` (one or two slots) to `out`.
void encode(const Instruction& insn, std::vector<bpf_insn>& out);

// Instruction builders for code that constructs programs.
Instruction make(Op op, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0);
Instruction make_lddw(uint8_t dst, uint64_t imm64, uint8_t pseudo_src = 0);

// Facts derived from the table, for the verifier, interpreter and JIT.
bool is_alu(Op op) noexcept;          // ALU/ALU64 class
bool is_jump(Op op) noexcept;         // Jump, Jump32, CondImm, CondReg
bool is_conditional(Op op) noexcept;  // CondImm, CondReg
bool writes_dst(Op op) noexcept;      // the operation assigns dst_reg
// Jump target of a jump or local call at slot `pc` (relative to the next slot).
int64_t branch_target(const Instruction& insn, size_t pc) noexcept;

}  // namespace bpfrt::isa
