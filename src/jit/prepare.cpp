// The structural checks of program preparation, the same the interpreter
// makes (src/vm/interpreter.cpp), so that both engines accept the same programs.
#include "jit/compiler.hpp"

#include <bpfrt/asm.hpp>

#include <fmt/format.h>

#include <cerrno>

namespace bpfrt::jit {
namespace {

using isa::Op;

std::unexpected<Error> refuse(std::span<const bpf_insn> insns, size_t pc, std::string_view why) {
    return fail(EINVAL, fmt::format("pc {}: `{}`: {}", pc, isa::format_instruction(insns, pc), why));
}

bool is_cmpxchg(Op op) { return op == Op::ATOMIC_CMPXCHG64 || op == Op::ATOMIC_CMPXCHG32; }

// Registers the operation assigns besides dst (for the r10 check).
bool writes_reg(const isa::Instruction& insn, uint8_t r) {
    if (isa::writes_dst(insn.op) && insn.dst == r) return true;
    const isa::OpInfo& row = insn.info();
    if (row.form == isa::Form::Atomic) {
        const bool fetches = (row.disc_value & BPF_FETCH) != 0;
        if (fetches && !is_cmpxchg(insn.op) && insn.src == r) return true;
        if (is_cmpxchg(insn.op) && r == 0) return true;
    }
    if ((row.form == isa::Form::LoadAbs || row.form == isa::Form::LoadInd) && r == 0) return true;
    return false;
}

bool can_fall_through(Op op) { return op != Op::EXIT && op != Op::JA && op != Op::JA32; }

}  // namespace

Result<PreparedProgram> prepare(std::span<const bpf_insn> insns) {
    if (insns.empty()) return fail(EINVAL, "empty program");
    if (insns.size() > INT32_MAX / 2) return fail(E2BIG, "program too large");
    const size_t n = insns.size();
    PreparedProgram prog;
    prog.at.resize(n);
    prog.starts.assign(n, false);
    Op last = Op::EXIT;
    for (size_t pc = 0; pc < n;) {
        auto insn = isa::decode(insns, pc);
        if (!insn) return std::unexpected(insn.error());
        prog.at[pc] = *insn;
        prog.starts[pc] = true;
        last = insn->op;
        pc += insn->slots();
    }
    if (can_fall_through(last)) return fail(EINVAL, "the last instruction falls through past the end of the program");

    for (size_t pc = 0; pc < n; ++pc) {
        if (!prog.starts[pc]) continue;
        const isa::Instruction& insn = prog.at[pc];
        if (writes_reg(insn, BPF_REG_10)) return refuse(insns, pc, "r10 (the frame pointer) is read-only");
        if (isa::is_jump(insn.op) || insn.op == Op::CALL_LOCAL) {
            const int64_t target = isa::branch_target(insn, pc);
            if (target < 0 || target >= static_cast<int64_t>(n))
                return refuse(insns, pc, fmt::format("jump to {} is outside the program", target));
            if (!prog.starts[static_cast<size_t>(target)])
                return refuse(insns, pc, fmt::format("jump to {}, the second slot of an lddw", target));
        }
    }
    return prog;
}

}  // namespace bpfrt::jit
