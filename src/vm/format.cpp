#include "vm/format.hpp"

#include <fmt/format.h>

namespace bpfrt::vm::detail {
namespace {

std::string mem(int reg, int16_t off) {
    return off < 0 ? fmt::format("[%r{}-{}]", reg, -static_cast<int>(off))
                   : fmt::format("[%r{}+{}]", reg, off);
}

std::string rel(int64_t delta) { return delta < 0 ? fmt::format("{}", delta) : fmt::format("+{}", delta); }

}  // namespace

std::string format_insn(const isa::Instruction& insn) {
    using isa::Form;
    const isa::OpInfo& row = insn.info();
    const std::string_view mn = row.mnemonic;
    const int d = insn.dst;
    const int s = insn.src;
    switch (row.form) {
        case Form::AluImm: return fmt::format("{} %r{}, {}", mn, d, insn.imm);
        case Form::AluReg: return fmt::format("{} %r{}, %r{}", mn, d, s);
        case Form::Unary: return fmt::format("{} %r{}", mn, d);
        case Form::LoadImm64: return fmt::format("{} %r{}, {:#x}", mn, d, insn.imm64);
        case Form::LoadAbs: return fmt::format("{} {}", mn, insn.imm);
        case Form::LoadInd: return fmt::format("{} %r{}, {}", mn, s, insn.imm);
        case Form::Load: return fmt::format("{} %r{}, {}", mn, d, mem(s, insn.off));
        case Form::StoreImm: return fmt::format("{} {}, {}", mn, mem(d, insn.off), insn.imm);
        case Form::StoreReg:
        case Form::Atomic: return fmt::format("{} {}, %r{}", mn, mem(d, insn.off), s);
        case Form::Jump: return fmt::format("{} {}", mn, rel(insn.off));
        case Form::Jump32: return fmt::format("{} {}", mn, rel(insn.imm));
        case Form::CondImm: return fmt::format("{} %r{}, {}, {}", mn, d, insn.imm, rel(insn.off));
        case Form::CondReg: return fmt::format("{} %r{}, %r{}, {}", mn, d, s, rel(insn.off));
        case Form::CallHelper: return fmt::format("{} {}", mn, insn.imm);
        case Form::CallLocal: return fmt::format("{} {}", mn, rel(insn.imm));
        case Form::CallReg: return fmt::format("{} %r{}", mn, d);
        case Form::Exit: return std::string(mn);
    }
    return std::string(mn);
}

}  // namespace bpfrt::vm::detail
