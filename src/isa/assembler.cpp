// Assembler for the bpf_conformance syntax (see include/bpfrt/asm.hpp).
//
// Mnemonics and operand layouts come from the opcode table: a mnemonic names
// one or two operations (the Imm and Reg variants), and the operation's Form
// says which operands it takes. Labels are resolved after the last line.
#include <bpfrt/asm.hpp>

#include "isa/asm_syntax.hpp"
#include "isa/opcodes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bpfrt::isa {
namespace {

// Returns the error of `expr` from the enclosing function, or assigns its value.
#define ASSIGN_OR_RETURN(lhs, expr)                                 \
    do {                                                            \
        auto result_ = (expr);                                      \
        if (!result_) return std::unexpected(std::move(result_.error())); \
        lhs = *result_;                                             \
    } while (0)

#define RETURN_IF_ERROR(expr)                                       \
    do {                                                            \
        auto result_ = (expr);                                      \
        if (!result_) return std::unexpected(std::move(result_.error())); \
    } while (0)

// ---- Characters and words ----

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ident_start(char c) { return is_letter(c) || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c) || c == '.'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool is_identifier(std::string_view s) {
    return !s.empty() && is_ident_start(s.front()) && std::ranges::all_of(s, is_ident_char);
}

// Length of the identifier-character run at the start of s.
size_t word_length(std::string_view s) {
    size_t n = 0;
    while (n < s.size() && is_ident_char(s[n])) ++n;
    return n;
}

// ---- The mnemonic index, built from the opcode table ----

struct MnemonicIndex {
    std::unordered_map<std::string_view, std::vector<Op>> ops;
    size_t max_words = 1;  // "lock fetch add" has 3
};

const MnemonicIndex& mnemonics() {
    static const MnemonicIndex index = [] {
        MnemonicIndex m;
        for (const OpInfo& row : all_ops()) {
            m.ops[row.mnemonic].push_back(row.op);
            const size_t words = 1 + static_cast<size_t>(std::ranges::count(row.mnemonic, ' '));
            m.max_words = std::max(m.max_words, words);
        }
        return m;
    }();
    return index;
}

// The table's spelling of a mnemonic: swap16/32/64 are bswap16/32/64.
std::string canonical_mnemonic(std::string_view written) {
    if (written.starts_with("swap")) return "b" + std::string(written);
    return std::string(written);
}

// Whether `word` begins a mnemonic of several words ("lock", "call").
bool begins_long_mnemonic(std::string_view word) {
    for (const auto& [name, ops] : mnemonics().ops)
        if (name.size() > word.size() && name.starts_with(word) && name[word.size()] == ' ') return true;
    return false;
}

// ---- Numbers ----

struct Number {
    bool negative = false;
    uint64_t magnitude = 0;
    bool overflow = false;  // more than 64 bits of magnitude
};

// Decimal or 0x-hex with an optional sign; nullopt if s is not a number.
std::optional<Number> parse_number(std::string_view s) {
    Number n;
    if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
        n.negative = s.front() == '-';
        s.remove_prefix(1);
    }
    int base = 10;
    if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    }
    if (s.empty()) return std::nullopt;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n.magnitude, base);
    if (end != s.data() + s.size()) return std::nullopt;
    if (ec == std::errc::result_out_of_range) {
        n.overflow = true;
    } else if (ec != std::errc{}) {
        return std::nullopt;
    }
    return n;
}

// The value of n if it lies in [min, max] (min < 0 < max, both within int64).
std::optional<int64_t> in_range(const Number& n, int64_t min, int64_t max) {
    if (n.overflow) return std::nullopt;
    if (n.negative) {
        const uint64_t limit = static_cast<uint64_t>(-(min + 1)) + 1;
        if (n.magnitude > limit) return std::nullopt;
        return static_cast<int64_t>(0 - n.magnitude);
    }
    if (n.magnitude > static_cast<uint64_t>(max)) return std::nullopt;
    return static_cast<int64_t>(n.magnitude);
}

// An imm64: -2^63 .. 2^64-1, negative values in two's complement.
std::optional<uint64_t> as_u64(const Number& n) {
    if (n.overflow) return std::nullopt;
    if (!n.negative) return n.magnitude;
    if (n.magnitude > (uint64_t{1} << 63)) return std::nullopt;
    return 0 - n.magnitude;
}

constexpr int64_t kImm32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kImm32Max = std::numeric_limits<uint32_t>::max();  // 0xffffffff is -1
constexpr int64_t kOff16Min = std::numeric_limits<int16_t>::min();
constexpr int64_t kOff16Max = std::numeric_limits<int16_t>::max();

// Number of operands each Form is written with.
size_t operand_count(Form form) {
    switch (form) {
        case Form::Exit: return 0;
        case Form::Unary:
        case Form::LoadAbs:
        case Form::Jump:
        case Form::Jump32:
        case Form::CallHelper:
        case Form::CallLocal:
        case Form::CallReg: return 1;
        case Form::CondImm:
        case Form::CondReg: return 3;
        default: return 2;
    }
}

bool takes_src_register(Form form) { return form == Form::AluReg || form == Form::CondReg; }

struct MemRef {
    uint8_t reg = 0;
    int16_t off = 0;
};

class Assembler {
public:
    Result<std::vector<bpf_insn>> run(std::string_view text);

private:
    using Status = Result<void>;

    std::unexpected<Error> error(std::string what) const {
        return fail(EINVAL, fmt::format("line {}: {}", line_, what));
    }

    Status statement(std::string_view text);
    Status define_label(std::string_view name);
    Status instruction(std::string_view text);
    Status raw_slot(std::string_view operand);
    Status encode_operands(Op op, const std::vector<std::string_view>& operands);
    Status lddw(uint8_t dst, std::string_view value);
    Status resolve_fixups();

    Result<uint8_t> reg(std::string_view s) const;
    Result<int32_t> imm32(std::string_view s) const;
    Result<MemRef> mem(std::string_view s) const;
    // A jump target: a signed slot offset, or a label resolved later. `wide`:
    // the offset goes to the 32-bit imm instead of the 16-bit off.
    Result<int32_t> target(std::string_view s, bool wide);

    struct Label {
        size_t slot;
        size_t line;
    };
    struct Fixup {
        size_t slot;
        size_t line;
        std::string label;
        bool wide;
    };

    std::vector<bpf_insn> out_;
    std::unordered_map<std::string, Label> labels_;
    std::optional<size_t> first_exit_;
    std::vector<Fixup> fixups_;
    size_t line_ = 0;
};

Result<std::vector<bpf_insn>> Assembler::run(std::string_view text) {
    size_t start = 0;
    while (start <= text.size()) {
        ++line_;
        size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        std::string_view line = text.substr(start, end - start);
        if (const size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
        RETURN_IF_ERROR(statement(trim(line)));
        start = end + 1;
    }
    RETURN_IF_ERROR(resolve_fixups());
    return std::move(out_);
}

Assembler::Status Assembler::statement(std::string_view text) {
    // A slot number as printed by disassemble(show_offsets): "12: ..."
    size_t digits = 0;
    while (digits < text.size() && is_digit(text[digits])) ++digits;
    if (digits > 0 && digits < text.size() && text[digits] == ':') text = trim(text.substr(digits + 1));

    const size_t name_len = word_length(text);
    if (name_len > 0 && name_len < text.size() && text[name_len] == ':') {
        const std::string_view name = text.substr(0, name_len);
        if (!is_identifier(name)) return error(fmt::format("bad label name '{}'", name));
        RETURN_IF_ERROR(define_label(name));
        text = trim(text.substr(name_len + 1));
    }
    if (text.empty()) return {};
    return instruction(text);
}

Assembler::Status Assembler::define_label(std::string_view name) {
    const auto [it, inserted] = labels_.try_emplace(std::string(name), Label{out_.size(), line_});
    if (!inserted)
        return error(fmt::format("duplicate label '{}' (first defined on line {})", name, it->second.line));
    return {};
}

Assembler::Status Assembler::instruction(std::string_view text) {
    if (text.starts_with(".raw") && (text.size() == 4 || is_space(text[4]))) return raw_slot(trim(text.substr(4)));

    // The mnemonic is the longest run of leading words the table knows.
    std::vector<std::string_view> words;
    std::vector<size_t> word_ends;
    for (size_t pos = 0; words.size() < mnemonics().max_words;) {
        const size_t len = word_length(text.substr(pos));
        if (len == 0) break;
        words.push_back(text.substr(pos, len));
        word_ends.push_back(pos + len);
        pos += len;
        if (pos < text.size() && !is_space(text[pos])) break;
        while (pos < text.size() && is_space(text[pos])) ++pos;
    }
    std::string mnemonic;
    const std::vector<Op>* candidates = nullptr;
    size_t used = words.size();
    for (; used > 0; --used) {
        std::string written(words[0]);
        for (size_t i = 1; i < used; ++i) written += " " + std::string(words[i]);
        mnemonic = canonical_mnemonic(written);
        if (auto it = mnemonics().ops.find(mnemonic); it != mnemonics().ops.end()) {
            candidates = &it->second;
            break;
        }
    }
    if (candidates == nullptr) {
        if (words.empty()) return error(fmt::format("expected a mnemonic, got '{}'", text));
        std::string shown(words[0]);
        if (begins_long_mnemonic(words[0]))
            for (size_t i = 1; i < words.size(); ++i) shown += " " + std::string(words[i]);
        return error(fmt::format("unknown mnemonic '{}'", shown));
    }

    std::vector<std::string_view> operands;
    const std::string_view rest = trim(text.substr(word_ends[used - 1]));
    for (size_t pos = 0; !rest.empty();) {
        const size_t comma = rest.find(',', pos);
        const std::string_view operand = trim(rest.substr(pos, comma == std::string_view::npos ? rest.npos : comma - pos));
        if (operand.empty()) return error(fmt::format("'{}': empty operand", mnemonic));
        operands.push_back(operand);
        if (comma == std::string_view::npos) break;
        pos = comma + 1;
    }

    Op op = candidates->front();
    const bool register_first = !operands.empty() && operands[0].starts_with('%');
    if (info(op).form == Form::CallHelper && operands.size() == 1 && register_first) {
        op = Op::CALLX;  // `call %r2`, as the bpf_conformance assembler writes callx
    } else if (candidates->size() > 1 && operands.size() > 1) {
        const bool register_second = operands[1].starts_with('%');
        for (Op cand : *candidates)
            if (takes_src_register(info(cand).form) == register_second) op = cand;
    }
    const size_t expected = operand_count(info(op).form);
    if (operands.size() != expected)
        return error(fmt::format("'{}' takes {} operand{}, got {}", mnemonic, expected, expected == 1 ? "" : "s",
                                 operands.size()));
    return encode_operands(op, operands);
}

Assembler::Status Assembler::raw_slot(std::string_view operand) {
    const auto n = parse_number(operand);
    if (!n || operand.empty() || operand.find(',') != std::string_view::npos)
        return error(fmt::format(".raw takes one 64-bit number, got '{}'", operand));
    if (n->negative || n->overflow) return error(fmt::format(".raw value '{}' out of range for 64 bits", operand));
    out_.push_back(asm_syntax::from_word(n->magnitude));
    return {};
}

Assembler::Status Assembler::encode_operands(Op op, const std::vector<std::string_view>& operands) {
    Instruction insn = make(op);
    MemRef m;
    switch (info(op).form) {
        case Form::AluImm:
        case Form::CondImm:
            ASSIGN_OR_RETURN(insn.dst, reg(operands[0]));
            ASSIGN_OR_RETURN(insn.imm, imm32(operands[1]));
            break;
        case Form::AluReg:
        case Form::CondReg:
            ASSIGN_OR_RETURN(insn.dst, reg(operands[0]));
            ASSIGN_OR_RETURN(insn.src, reg(operands[1]));
            break;
        case Form::Unary:
        case Form::CallReg: ASSIGN_OR_RETURN(insn.dst, reg(operands[0])); break;
        case Form::LoadImm64: {
            uint8_t dst = 0;
            ASSIGN_OR_RETURN(dst, reg(operands[0]));
            return lddw(dst, operands[1]);
        }
        case Form::LoadAbs:
        case Form::CallHelper: ASSIGN_OR_RETURN(insn.imm, imm32(operands[0])); break;
        case Form::LoadInd:
            ASSIGN_OR_RETURN(insn.src, reg(operands[0]));
            ASSIGN_OR_RETURN(insn.imm, imm32(operands[1]));
            break;
        case Form::Load:
            ASSIGN_OR_RETURN(insn.dst, reg(operands[0]));
            ASSIGN_OR_RETURN(m, mem(operands[1]));
            insn.src = m.reg;
            insn.off = m.off;
            break;
        case Form::StoreImm:
            ASSIGN_OR_RETURN(m, mem(operands[0]));
            ASSIGN_OR_RETURN(insn.imm, imm32(operands[1]));
            insn.dst = m.reg;
            insn.off = m.off;
            break;
        case Form::StoreReg:
        case Form::Atomic:
            ASSIGN_OR_RETURN(m, mem(operands[0]));
            ASSIGN_OR_RETURN(insn.src, reg(operands[1]));
            insn.dst = m.reg;
            insn.off = m.off;
            break;
        case Form::Jump: {
            int32_t off = 0;
            ASSIGN_OR_RETURN(off, target(operands[0], false));
            insn.off = static_cast<int16_t>(off);
            break;
        }
        case Form::Jump32:
        case Form::CallLocal: ASSIGN_OR_RETURN(insn.imm, target(operands[0], true)); break;
        case Form::Exit:
            if (!first_exit_) first_exit_ = out_.size();
            break;
    }
    if (is_conditional(op)) {
        int32_t off = 0;
        ASSIGN_OR_RETURN(off, target(operands[2], false));
        insn.off = static_cast<int16_t>(off);
    }
    encode(insn, out_);
    return {};
}

Assembler::Status Assembler::lddw(uint8_t dst, std::string_view value) {
    if (auto n = parse_number(value)) {
        const auto v = as_u64(*n);
        if (!v) return error(fmt::format("immediate '{}' out of range for 64 bits", value));
        encode(make_lddw(dst, *v), out_);
        return {};
    }
    // Pseudo form: KEYWORD IMM [(+|-) IMM2]
    const size_t kw_len = word_length(value);
    const auto src = asm_syntax::pseudo_src(value.substr(0, kw_len));
    if (kw_len == 0 || !src) {
        std::string kinds;
        for (const auto& k : asm_syntax::kPseudoKinds) kinds += fmt::format(", {}", k.keyword);
        return error(fmt::format("lddw: expected a number or one of{} N, got '{}'", kinds.substr(1), value));
    }
    std::string_view rest = trim(value.substr(kw_len));
    const size_t sign = rest.find_first_of("+-", 1);
    int32_t lo = 0;
    int32_t hi = 0;
    ASSIGN_OR_RETURN(lo, imm32(trim(rest.substr(0, sign))));
    if (sign != std::string_view::npos) {
        const std::string_view second = trim(rest.substr(sign + 1));
        auto n = parse_number(second);
        if (!n || second.starts_with('+') || second.starts_with('-'))
            return error(fmt::format("lddw: expected a number after '{}', got '{}'", rest[sign], second));
        n->negative = rest[sign] == '-';
        const auto v = in_range(*n, kImm32Min, kImm32Max);
        if (!v) return error(fmt::format("immediate '{}' out of range for 32 bits", second));
        hi = static_cast<int32_t>(static_cast<uint32_t>(*v));
    }
    const uint64_t imm64 = uint64_t{static_cast<uint32_t>(lo)} | (uint64_t{static_cast<uint32_t>(hi)} << 32);
    encode(make_lddw(dst, imm64, *src), out_);
    return {};
}

Result<uint8_t> Assembler::reg(std::string_view s) const {
    uint8_t r = 0;
    if (s.size() >= 3 && s.starts_with("%r")) {
        const auto [end, ec] = std::from_chars(s.data() + 2, s.data() + s.size(), r);
        if (ec == std::errc{} && end == s.data() + s.size() && r <= BPF_REG_10 && is_digit(s[2])) return r;
    }
    return error(fmt::format("bad register '{}' (expected %r0 .. %r10)", s));
}

Result<int32_t> Assembler::imm32(std::string_view s) const {
    const auto n = parse_number(s);
    if (!n) return error(fmt::format("expected an immediate, got '{}'", s));
    const auto v = in_range(*n, kImm32Min, kImm32Max);
    if (!v) return error(fmt::format("immediate '{}' out of range for 32 bits", s));
    return static_cast<int32_t>(static_cast<uint32_t>(*v));
}

Result<MemRef> Assembler::mem(std::string_view s) const {
    if (s.size() < 2 || s.front() != '[' || s.back() != ']')
        return error(fmt::format("expected a memory operand like [%r1+8], got '{}'", s));
    const std::string_view inner = trim(s.substr(1, s.size() - 2));
    const size_t sign = inner.find_first_of("+-");
    MemRef m;
    ASSIGN_OR_RETURN(m.reg, reg(trim(inner.substr(0, sign))));
    if (sign == std::string_view::npos) return m;
    const std::string_view offset = trim(inner.substr(sign + 1));
    auto n = parse_number(offset);
    if (!n || offset.starts_with('+') || offset.starts_with('-'))
        return error(fmt::format("bad offset in memory operand '{}'", s));
    n->negative = inner[sign] == '-';
    const auto v = in_range(*n, kOff16Min, kOff16Max);
    if (!v) return error(fmt::format("offset in '{}' out of 16-bit range", s));
    m.off = static_cast<int16_t>(*v);
    return m;
}

Result<int32_t> Assembler::target(std::string_view s, bool wide) {
    if (is_identifier(s)) {
        fixups_.push_back(Fixup{out_.size(), line_, std::string(s), wide});
        return 0;
    }
    const auto n = parse_number(s);
    if (!n) return error(fmt::format("expected a label or +/-offset as jump target, got '{}'", s));
    const auto v = wide ? in_range(*n, kImm32Min, std::numeric_limits<int32_t>::max())
                        : in_range(*n, kOff16Min, kOff16Max);
    if (!v) return error(fmt::format("jump offset '{}' out of {}-bit range", s, wide ? 32 : 16));
    return static_cast<int32_t>(*v);
}

Assembler::Status Assembler::resolve_fixups() {
    for (const Fixup& f : fixups_) {
        line_ = f.line;
        std::optional<size_t> slot;
        if (auto it = labels_.find(f.label); it != labels_.end()) {
            slot = it->second.slot;
        } else if (f.label == "exit") {
            slot = first_exit_;  // the conformance suite's implicit label
        }
        if (!slot) return error(fmt::format("unknown label '{}'", f.label));
        const int64_t delta = static_cast<int64_t>(*slot) - static_cast<int64_t>(f.slot) - 1;
        if (f.wide) {
            if (delta < kImm32Min || delta > std::numeric_limits<int32_t>::max())
                return error(fmt::format("jump to '{}' out of 32-bit range", f.label));
            out_[f.slot].imm = static_cast<int32_t>(delta);
        } else {
            if (delta < kOff16Min || delta > kOff16Max)
                return error(fmt::format("jump to '{}' out of 16-bit range (offset {})", f.label, delta));
            out_[f.slot].off = static_cast<int16_t>(delta);
        }
    }
    return {};
}

#undef ASSIGN_OR_RETURN
#undef RETURN_IF_ERROR

}  // namespace

Result<std::vector<bpf_insn>> assemble(std::string_view text) { return Assembler{}.run(text); }

}  // namespace bpfrt::isa
