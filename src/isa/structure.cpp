#include "isa/structure.hpp"

#include <bpfrt/asm.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>

namespace bpfrt::isa {
namespace {

bool is_cmpxchg(Op op) { return op == Op::ATOMIC_CMPXCHG64 || op == Op::ATOMIC_CMPXCHG32; }

bool can_fall_through(Op op) { return op != Op::EXIT && op != Op::JA && op != Op::JA32; }

// Decodes every instruction, marking the slots that start one.
Result<DecodedProgram> decode_slots(std::span<const bpf_insn> insns) {
    const size_t n = insns.size();
    DecodedProgram prog;
    prog.at.resize(n);
    prog.starts.assign(n, false);
    Op last = Op::EXIT;
    for (size_t pc = 0; pc < n;) {
        auto insn = decode(insns, pc);
        if (!insn) return std::unexpected(insn.error());
        prog.at[pc] = *insn;
        prog.starts[pc] = true;
        last = insn->op;
        pc += insn->slots();
    }
    if (can_fall_through(last)) return fail(EINVAL, "the last instruction falls through past the end of the program");
    return prog;
}

}  // namespace

std::unexpected<Error> instruction_error(std::span<const bpf_insn> insns, size_t pc, std::string_view why) {
    return fail(EINVAL, fmt::format("pc {}: `{}`: {}", pc, format_instruction(insns, pc), why));
}

bool writes_register(const Instruction& insn, uint8_t reg) noexcept {
    if (writes_dst(insn.op) && insn.dst == reg) return true;
    const OpInfo& row = insn.info();
    if (row.form == Form::Atomic) {
        const bool fetches = (row.disc_value & BPF_FETCH) != 0;
        if (fetches && !is_cmpxchg(insn.op) && insn.src == reg) return true;
        if (is_cmpxchg(insn.op) && reg == 0) return true;
    }
    return (row.form == Form::LoadAbs || row.form == Form::LoadInd) && reg == 0;
}

Result<DecodedProgram> decode_program(std::span<const bpf_insn> insns) {
    if (insns.empty()) return fail(EINVAL, "empty program");
    if (insns.size() > INT32_MAX / 2) return fail(E2BIG, "program too large");
    auto prog = decode_slots(insns);
    if (!prog) return prog;
    const size_t n = insns.size();
    for (size_t pc = 0; pc < n; ++pc) {
        if (!prog->starts[pc]) continue;
        const Instruction& insn = prog->at[pc];
        if (writes_register(insn, BPF_REG_10))
            return instruction_error(insns, pc, "r10 (the frame pointer) is read-only");
        if (!is_jump(insn.op) && insn.op != Op::CALL_LOCAL) continue;
        const int64_t target = branch_target(insn, pc);
        if (target < 0 || target >= static_cast<int64_t>(n))
            return instruction_error(insns, pc, fmt::format("jump to {} is outside the program", target));
        if (!prog->starts[static_cast<size_t>(target)])
            return instruction_error(insns, pc, fmt::format("jump to {}, the second slot of an lddw", target));
    }
    return prog;
}

}  // namespace bpfrt::isa
