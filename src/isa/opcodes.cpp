#include "isa/opcodes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace bpfrt::isa {
namespace {

#define NONE DiscField::None, 0
#define OFF(v) DiscField::Off, (v)
#define IMM(v) DiscField::Imm, (v)
#define SRC(v) DiscField::Src, (v)

constexpr OpInfo kOps[] = {
#define OP(name, code, disc, mnemonic, form, width) \
    {Op::name, static_cast<uint8_t>(code), disc, mnemonic, Form::form, width},
#include "isa/opcodes.def"
#undef OP
};

#undef NONE
#undef OFF
#undef IMM
#undef SRC

static_assert(std::size(kOps) == kOpCount);

// Rows grouped by opcode byte: first row index and count per byte.
struct ByCode {
    std::array<uint16_t, 256> first{};
    std::array<uint8_t, 256> count{};
    std::array<uint8_t, kOpCount> order{};
};

constexpr ByCode make_by_code() {
    ByCode t{};
    size_t n = 0;
    for (unsigned code = 0; code < 256; ++code) {
        t.first[code] = static_cast<uint16_t>(n);
        for (size_t i = 0; i < kOpCount; ++i) {
            if (kOps[i].code == code) {
                t.order[n++] = static_cast<uint8_t>(i);
                ++t.count[code];
            }
        }
    }
    return t;
}

constexpr ByCode kByCode = make_by_code();

struct FieldUse {
    bool dst, src, off, imm;
};

constexpr FieldUse uses(Form f) {
    switch (f) {
        case Form::AluImm: return {true, false, false, true};
        case Form::AluReg: return {true, true, false, false};
        case Form::Unary: return {true, false, false, false};
        case Form::LoadImm64: return {true, true, false, true};
        case Form::LoadAbs: return {false, false, false, true};
        case Form::LoadInd: return {false, true, false, true};
        case Form::Load: return {true, true, true, false};
        case Form::StoreImm: return {true, false, true, true};
        case Form::StoreReg: return {true, true, true, false};
        case Form::Atomic: return {true, true, true, false};
        case Form::Jump: return {false, false, true, false};
        case Form::Jump32: return {false, false, false, true};
        case Form::CondImm: return {true, false, true, true};
        case Form::CondReg: return {true, true, true, false};
        case Form::CallHelper: return {false, false, false, true};
        case Form::CallLocal: return {false, false, false, true};
        case Form::CallReg: return {true, false, false, false};
        case Form::Exit: return {false, false, false, false};
    }
    return {};
}

int32_t field_value(const bpf_insn& raw, DiscField f) {
    switch (f) {
        case DiscField::Off: return raw.off;
        case DiscField::Imm: return raw.imm;
        case DiscField::Src: return raw.src_reg;
        case DiscField::None: break;
    }
    return 0;
}

bool matches(const OpInfo& row, const bpf_insn& raw) {
    return row.disc_field == DiscField::None || field_value(raw, row.disc_field) == row.disc_value;
}

std::unexpected<Error> bad(size_t pc, std::string what) {
    return fail(EINVAL, fmt::format("invalid instruction at {}: {}", pc, what));
}

// Checks that every field the operation neither uses nor is told apart by is zero.
Result<void> check_reserved(const OpInfo& row, const bpf_insn& raw, size_t pc) {
    const FieldUse u = uses(row.form);
    auto reserved = [&](DiscField f, bool used) { return !used && row.disc_field != f; };
    if (!u.dst && raw.dst_reg != 0) return bad(pc, fmt::format("{}: dst_reg must be 0", row.mnemonic));
    if (reserved(DiscField::Src, u.src) && raw.src_reg != 0)
        return bad(pc, fmt::format("{}: src_reg must be 0", row.mnemonic));
    if (reserved(DiscField::Off, u.off) && raw.off != 0)
        return bad(pc, fmt::format("{}: off must be 0", row.mnemonic));
    if (reserved(DiscField::Imm, u.imm) && raw.imm != 0)
        return bad(pc, fmt::format("{}: imm must be 0", row.mnemonic));
    if (raw.dst_reg > BPF_REG_10) return bad(pc, fmt::format("invalid register r{}", raw.dst_reg));
    if (raw.src_reg > BPF_REG_10 && u.src && row.form != Form::LoadImm64)
        return bad(pc, fmt::format("invalid register r{}", raw.src_reg));
    return {};
}

}  // namespace

const OpInfo& info(Op op) noexcept { return kOps[static_cast<size_t>(op)]; }

std::span<const OpInfo> all_ops() noexcept { return kOps; }

Result<Instruction> decode(std::span<const bpf_insn> prog, size_t pc) {
    if (pc >= prog.size()) return bad(pc, "past the end of the program");
    const bpf_insn& raw = prog[pc];
    const OpInfo* row = nullptr;
    const unsigned first = kByCode.first[raw.code];
    for (unsigned i = 0; i < kByCode.count[raw.code]; ++i) {
        const OpInfo& cand = kOps[kByCode.order[first + i]];
        if (matches(cand, raw)) {
            row = &cand;
            break;
        }
    }
    if (row == nullptr) {
        if (kByCode.count[raw.code] == 0) return bad(pc, fmt::format("unknown opcode {:#04x}", raw.code));
        return bad(pc, fmt::format("opcode {:#04x} with off={} imm={} src_reg={} is not an instruction",
                                   raw.code, raw.off, raw.imm, raw.src_reg));
    }
    if (auto ok = check_reserved(*row, raw, pc); !ok) return std::unexpected(ok.error());

    Instruction insn{row->op, raw.dst_reg, raw.src_reg, raw.off, raw.imm, 0};
    if (row->op == Op::LDDW) {
        if (raw.src_reg > BPF_PSEUDO_MAP_IDX_VALUE)
            return bad(pc, fmt::format("lddw: unknown src_reg {}", raw.src_reg));
        if (pc + 1 >= prog.size()) return bad(pc, "lddw is missing its second slot");
        const bpf_insn& hi = prog[pc + 1];
        if (hi.code != 0 || hi.dst_reg != 0 || hi.src_reg != 0 || hi.off != 0)
            return bad(pc + 1, "second slot of lddw must have only imm set");
        insn.imm64 = static_cast<uint32_t>(raw.imm) | (static_cast<uint64_t>(static_cast<uint32_t>(hi.imm)) << 32);
    }
    return insn;
}

Result<std::vector<Instruction>> decode_all(std::span<const bpf_insn> prog) {
    std::vector<Instruction> out;
    out.reserve(prog.size());
    for (size_t pc = 0; pc < prog.size();) {
        auto insn = decode(prog, pc);
        if (!insn) return std::unexpected(insn.error());
        pc += insn->slots();
        out.push_back(*insn);
    }
    return out;
}

void encode(const Instruction& insn, std::vector<bpf_insn>& out) {
    const OpInfo& row = info(insn.op);
    bpf_insn raw{};
    raw.code = row.code;
    raw.dst_reg = insn.dst & 0xf;
    raw.src_reg = insn.src & 0xf;
    raw.off = insn.off;
    raw.imm = insn.imm;
    switch (row.disc_field) {
        case DiscField::Off: raw.off = static_cast<int16_t>(row.disc_value); break;
        case DiscField::Imm: raw.imm = row.disc_value; break;
        case DiscField::Src: raw.src_reg = static_cast<uint8_t>(row.disc_value) & 0xf; break;
        case DiscField::None: break;
    }
    if (insn.op == Op::LDDW) {
        raw.imm = static_cast<int32_t>(static_cast<uint32_t>(insn.imm64));
        out.push_back(raw);
        bpf_insn hi{};
        hi.imm = static_cast<int32_t>(static_cast<uint32_t>(insn.imm64 >> 32));
        out.push_back(hi);
        return;
    }
    out.push_back(raw);
}

Instruction make(Op op, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    Instruction insn{op, dst, src, off, imm, 0};
    const OpInfo& row = info(op);
    switch (row.disc_field) {
        case DiscField::Off: insn.off = static_cast<int16_t>(row.disc_value); break;
        case DiscField::Imm: insn.imm = row.disc_value; break;
        case DiscField::Src: insn.src = static_cast<uint8_t>(row.disc_value); break;
        case DiscField::None: break;
    }
    return insn;
}

Instruction make_lddw(uint8_t dst, uint64_t imm64, uint8_t pseudo_src) {
    Instruction insn{Op::LDDW, dst, pseudo_src, 0, static_cast<int32_t>(static_cast<uint32_t>(imm64)), imm64};
    return insn;
}

bool is_alu(Op op) noexcept {
    const uint8_t cls = BPF_CLASS(info(op).code);
    return cls == BPF_ALU || cls == BPF_ALU64;
}

bool is_conditional(Op op) noexcept {
    const Form f = info(op).form;
    return f == Form::CondImm || f == Form::CondReg;
}

bool is_jump(Op op) noexcept {
    const Form f = info(op).form;
    return f == Form::Jump || f == Form::Jump32 || is_conditional(op);
}

bool writes_dst(Op op) noexcept {
    switch (info(op).form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Unary:
        case Form::LoadImm64:
        case Form::Load: return true;
        default: return false;
    }
}

int64_t branch_target(const Instruction& insn, size_t pc) noexcept {
    const Form f = insn.info().form;
    const int64_t delta = (f == Form::Jump32 || f == Form::CallLocal) ? insn.imm : insn.off;
    return static_cast<int64_t>(pc) + 1 + delta;
}

}  // namespace bpfrt::isa
