#include "verifier/log.hpp"

#include "helpers/prototypes.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace bpfrt::verifier {
namespace {

using isa::Form;

std::string mem(int reg, int16_t off) {
    return off >= 0 ? fmt::format("[r{}+{}]", reg, off) : fmt::format("[r{}{}]", reg, off);
}
std::string rel(int64_t v) { return v >= 0 ? fmt::format("+{}", v) : fmt::format("{}", v); }

char byte_char(SlotType t) {
    switch (t) {
        case SlotType::Invalid: return '?';
        case SlotType::Misc: return 'm';
        case SlotType::Zero: return '0';
        case SlotType::Spill: return 'r';
    }
    return '?';
}

}  // namespace

TraceNode::~TraceNode() {
    std::shared_ptr<TraceNode> next = std::move(prev);
    while (next && next.use_count() == 1) next = std::move(next->prev);
}

std::string format_insn(const isa::Instruction& in) {
    const isa::OpInfo& row = in.info();
    const std::string_view mn = row.mnemonic;
    switch (row.form) {
        case Form::AluImm: return fmt::format("{} r{}, {}", mn, in.dst, in.imm);
        case Form::AluReg: return fmt::format("{} r{}, r{}", mn, in.dst, in.src);
        case Form::Unary: return fmt::format("{} r{}", mn, in.dst);
        case Form::LoadImm64:
            if (in.src == BPF_PSEUDO_MAP_FD || in.src == BPF_PSEUDO_MAP_IDX)
                return fmt::format("{} r{}, map[{}]", mn, in.dst, in.imm);
            if (in.src == BPF_PSEUDO_MAP_VALUE || in.src == BPF_PSEUDO_MAP_IDX_VALUE)
                return fmt::format("{} r{}, map_value[{}]+{}", mn, in.dst, in.imm, static_cast<uint32_t>(in.imm64 >> 32));
            return fmt::format("{} r{}, {:#x}", mn, in.dst, in.imm64);
        case Form::LoadAbs: return fmt::format("{} {}", mn, in.imm);
        case Form::LoadInd: return fmt::format("{} r{}, {}", mn, in.src, in.imm);
        case Form::Load: return fmt::format("{} r{}, {}", mn, in.dst, mem(in.src, in.off));
        case Form::StoreImm: return fmt::format("{} {}, {}", mn, mem(in.dst, in.off), in.imm);
        case Form::StoreReg:
        case Form::Atomic: return fmt::format("{} {}, r{}", mn, mem(in.dst, in.off), in.src);
        case Form::Jump: return fmt::format("{} {}", mn, rel(in.off));
        case Form::Jump32: return fmt::format("{} {}", mn, rel(in.imm));
        case Form::CondImm: return fmt::format("{} r{}, {}, {}", mn, in.dst, in.imm, rel(in.off));
        case Form::CondReg: return fmt::format("{} r{}, r{}, {}", mn, in.dst, in.src, rel(in.off));
        case Form::CallHelper: {
            const auto* proto = helpers::find_prototype(static_cast<uint32_t>(in.imm));
            return proto ? fmt::format("{} {} (bpf_{})", mn, in.imm, proto->name) : fmt::format("{} {}", mn, in.imm);
        }
        case Form::CallLocal: return fmt::format("{} {}", mn, rel(in.imm));
        case Form::CallReg: return fmt::format("{} r{}", mn, in.dst);
        case Form::Exit: return std::string(mn);
    }
    return std::string(mn);
}

std::string Log::state_str(const State& st) const {
    std::string out;
    for (size_t f = 0; f < st.frames.size(); ++f) {
        const Frame& fr = st.frames[f];
        if (st.frames.size() > 1) out += fmt::format("{}frame{}:", out.empty() ? "" : " ", f);
        for (int r = 0; r < kNumRegs; ++r) {
            const RegState& reg = fr.regs[static_cast<size_t>(r)];
            if (!reg.is_init()) continue;
            out += fmt::format("{}R{}={}", out.empty() ? "" : " ", r, reg_str(reg, &maps_));
        }
        for (size_t k = 0; k < fr.stack.size(); ++k) {
            const StackSlot& s = *fr.stack.slot(k);
            const int off = -8 * static_cast<int>(k + 1);
            if (s.is_spill()) {
                out += fmt::format(" fp{}={}", off, reg_str(s.spilled, &maps_));
                continue;
            }
            if (std::all_of(s.bytes.begin(), s.bytes.end(), [](SlotType t) { return t == SlotType::Invalid; }))
                continue;
            std::string bytes;
            for (SlotType t : s.bytes) bytes += byte_char(t);
            out += fmt::format(" fp{}={}", off, bytes);
        }
    }
    return out;
}

const LineInfo* Log::line_info_for(size_t pc, bool exact) const {
    const LineInfo* best = nullptr;
    for (const LineInfo& li : in_.line_info) {
        if (li.insn_off > pc) break;
        if (li.line != 0) best = &li;  // line 0: code the compiler made up, no source line
    }
    if (best && exact && best->insn_off != pc) return nullptr;
    return best;
}

std::string Log::source_line(size_t pc) const {
    const LineInfo* li = line_info_for(pc, false);
    if (!li) return {};
    return fmt::format("{}:{}: {}", li->file, li->line, li->text);
}

std::string Log::insn_line(size_t pc) const {
    std::string out;
    if (const LineInfo* li = line_info_for(pc, true)) out += fmt::format("; {} @ {}:{}\n", li->text, li->file, li->line);
    const isa::Instruction& in = cfg_.at(pc);
    out += fmt::format("{}: ({:02x}) {}", pc, isa::info(in.op).code, format_insn(in));
    return out;
}

void Log::insn_with_state(size_t pc, const State& st) {
    text_ += insn_line(pc);
    text_ += "\t; ";
    text_ += state_str(st);
    text_ += '\n';
}

void Log::failing_path(const Trace& trace) {
    std::vector<uint32_t> pcs;
    for (const TraceNode* n = trace.get(); n; n = n->prev.get()) pcs.push_back(n->pc);
    constexpr size_t kMaxShown = 4096;  // keep the log readable on long paths
    size_t shown = std::min(pcs.size(), kMaxShown);
    if (shown < pcs.size()) text_ += fmt::format("... {} earlier instructions of this path not shown\n", pcs.size() - shown);
    for (size_t i = shown; i-- > 0;) {
        text_ += insn_line(pcs[i]);
        text_ += '\n';
    }
}

void Log::line(const std::string& text) {
    text_ += text;
    text_ += '\n';
}

void Log::prepend(const std::string& text) { text_.insert(0, text); }

}  // namespace bpfrt::verifier
