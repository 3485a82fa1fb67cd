// Disassembler: prints programs in the syntax assemble() reads (see
// include/bpfrt/asm.hpp), so that assembling the output gives the same bytes.
#include <bpfrt/asm.hpp>

#include "isa/asm_syntax.hpp"
#include "isa/opcodes.hpp"

#include <fmt/format.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace bpfrt::isa {
namespace {

// Jump targets that have a label, by slot.
using LabelSlots = std::set<int64_t>;

std::string raw_line(const bpf_insn& slot) { return fmt::format(".raw {:#018x}", asm_syntax::to_word(slot)); }

std::string label_name(int64_t slot) { return fmt::format("L{}", slot); }

std::string reg(uint8_t r) { return fmt::format("%r{}", r); }

// [%rN], [%rN+off], [%rN-off]
std::string mem(uint8_t r, int16_t off) {
    if (off == 0) return fmt::format("[%r{}]", r);
    return fmt::format("[%r{}{:+}]", r, off);
}

std::string target(const Instruction& insn, size_t pc, const LabelSlots* labels) {
    const int64_t slot = branch_target(insn, pc);
    if (labels != nullptr && labels->contains(slot)) return label_name(slot);
    const Form f = insn.info().form;
    const int32_t delta = (f == Form::Jump32 || f == Form::CallLocal) ? insn.imm : insn.off;
    return fmt::format("{:+}", delta);
}

// lddw %rD, 0x...  or  lddw %rD, map_value 3 + 8 (pseudo forms)
std::string lddw_operand(const Instruction& insn) {
    const auto keyword = asm_syntax::pseudo_keyword(insn.src);
    if (insn.src == 0 || !keyword) return fmt::format("{:#x}", insn.imm64);
    const auto lo = static_cast<int32_t>(static_cast<uint32_t>(insn.imm64));
    const auto hi = static_cast<int32_t>(static_cast<uint32_t>(insn.imm64 >> 32));
    const bool value_kind = insn.src == BPF_PSEUDO_MAP_VALUE || insn.src == BPF_PSEUDO_MAP_IDX_VALUE;
    if (hi == 0 && !value_kind) return fmt::format("{} {}", *keyword, lo);
    const char sign = hi < 0 ? '-' : '+';
    const uint32_t magnitude = hi < 0 ? 0u - static_cast<uint32_t>(hi) : static_cast<uint32_t>(hi);
    return fmt::format("{} {} {} {}", *keyword, lo, sign, magnitude);
}

std::string format(const Instruction& insn, size_t pc, const LabelSlots* labels) {
    const OpInfo& row = insn.info();
    const std::string_view mn = row.mnemonic;
    switch (row.form) {
        case Form::AluImm: return fmt::format("{} {}, {}", mn, reg(insn.dst), insn.imm);
        case Form::AluReg: return fmt::format("{} {}, {}", mn, reg(insn.dst), reg(insn.src));
        case Form::Unary: return fmt::format("{} {}", mn, reg(insn.dst));
        case Form::LoadImm64: return fmt::format("{} {}, {}", mn, reg(insn.dst), lddw_operand(insn));
        case Form::LoadAbs: return fmt::format("{} {}", mn, insn.imm);
        case Form::LoadInd: return fmt::format("{} {}, {}", mn, reg(insn.src), insn.imm);
        case Form::Load: return fmt::format("{} {}, {}", mn, reg(insn.dst), mem(insn.src, insn.off));
        case Form::StoreImm: return fmt::format("{} {}, {}", mn, mem(insn.dst, insn.off), insn.imm);
        case Form::StoreReg:
        case Form::Atomic: return fmt::format("{} {}, {}", mn, mem(insn.dst, insn.off), reg(insn.src));
        case Form::Jump:
        case Form::Jump32:
        case Form::CallLocal: return fmt::format("{} {}", mn, target(insn, pc, labels));
        case Form::CondImm:
            return fmt::format("{} {}, {}, {}", mn, reg(insn.dst), insn.imm, target(insn, pc, labels));
        case Form::CondReg:
            return fmt::format("{} {}, {}, {}", mn, reg(insn.dst), reg(insn.src), target(insn, pc, labels));
        case Form::CallHelper: return fmt::format("{} {}", mn, insn.imm);
        case Form::CallReg: return fmt::format("{} {}", mn, reg(insn.dst));
        case Form::Exit: return std::string(mn);
    }
    return raw_line(bpf_insn{});  // not reached: every Form is handled above
}

bool has_branch_target(Op op) { return is_jump(op) || info(op).form == Form::CallLocal; }

// One printed line: a decoded instruction, or (when decoding fails) one raw slot.
struct Entry {
    size_t pc;
    std::optional<Instruction> insn;
};

std::vector<Entry> split(std::span<const bpf_insn> prog) {
    std::vector<Entry> entries;
    for (size_t pc = 0; pc < prog.size();) {
        auto insn = decode(prog, pc);
        if (insn) {
            entries.push_back({pc, *insn});
            pc += insn->slots();
        } else {
            entries.push_back({pc, std::nullopt});
            ++pc;
        }
    }
    return entries;
}

// Targets that begin a printed line (or are the end of the program) get labels;
// others (out of range, inside an lddw) stay numeric.
LabelSlots collect_labels(const std::vector<Entry>& entries, size_t end) {
    std::set<int64_t> starts{static_cast<int64_t>(end)};
    for (const Entry& e : entries) starts.insert(static_cast<int64_t>(e.pc));
    LabelSlots labels;
    for (const Entry& e : entries) {
        if (!e.insn || !has_branch_target(e.insn->op)) continue;
        const int64_t slot = branch_target(*e.insn, e.pc);
        if (starts.contains(slot)) labels.insert(slot);
    }
    return labels;
}

}  // namespace

std::string disassemble(std::span<const bpf_insn> prog, const DisasmOptions& options) {
    const std::vector<Entry> entries = split(prog);
    const LabelSlots labels = options.labels ? collect_labels(entries, prog.size()) : LabelSlots{};
    std::string out;
    for (const Entry& e : entries) {
        if (labels.contains(static_cast<int64_t>(e.pc))) out += label_name(static_cast<int64_t>(e.pc)) + ":\n";
        if (options.show_offsets) out += fmt::format("{:4}: ", e.pc);
        out += e.insn ? format(*e.insn, e.pc, &labels) : raw_line(prog[e.pc]);
        out += '\n';
    }
    if (labels.contains(static_cast<int64_t>(prog.size()))) out += label_name(static_cast<int64_t>(prog.size())) + ":\n";
    return out;
}

std::string format_instruction(std::span<const bpf_insn> prog, size_t pc) {
    if (pc >= prog.size()) return {};
    auto insn = decode(prog, pc);
    if (!insn) return raw_line(prog[pc]);
    return format(*insn, pc, nullptr);
}

}  // namespace bpfrt::isa
