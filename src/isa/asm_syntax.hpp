// Pieces of the assembly syntax shared by the assembler and disassembler
// (and by tests that read `-- raw` sections).
#pragma once

#include <bpfrt/insn.h>

#include <cstdint>
#include <optional>
#include <string_view>

namespace bpfrt::isa::asm_syntax {

// Keywords for the src_reg of a pseudo lddw (BPF_PSEUDO_* values of insn.h).
struct PseudoKind {
    uint8_t src;
    std::string_view keyword;
};

inline constexpr PseudoKind kPseudoKinds[] = {
    {BPF_PSEUDO_MAP_FD, "map_fd"},       {BPF_PSEUDO_MAP_VALUE, "map_value"},
    {BPF_PSEUDO_BTF_ID, "btf_id"},       {BPF_PSEUDO_FUNC, "func"},
    {BPF_PSEUDO_MAP_IDX, "map_idx"},     {BPF_PSEUDO_MAP_IDX_VALUE, "map_idx_value"},
};

inline std::optional<std::string_view> pseudo_keyword(uint8_t src) {
    for (const auto& k : kPseudoKinds)
        if (k.src == src) return k.keyword;
    return std::nullopt;
}

inline std::optional<uint8_t> pseudo_src(std::string_view keyword) {
    for (const auto& k : kPseudoKinds)
        if (k.keyword == keyword) return k.src;
    return std::nullopt;
}

// A slot as the 64-bit word of `.raw` lines and `-- raw` sections: the
// little-endian reading of its 8 bytes (opcode in bits 0-7, dst 8-11,
// src 12-15, off 16-31, imm 32-63), independent of the host byte order.
inline uint64_t to_word(const bpf_insn& insn) {
    return uint64_t{insn.code} | (uint64_t{insn.dst_reg} << 8) | (uint64_t{insn.src_reg} << 12) |
           (uint64_t{static_cast<uint16_t>(insn.off)} << 16) |
           (uint64_t{static_cast<uint32_t>(insn.imm)} << 32);
}

inline bpf_insn from_word(uint64_t word) {
    bpf_insn insn{};
    insn.code = static_cast<uint8_t>(word);
    insn.dst_reg = static_cast<uint8_t>((word >> 8) & 0xf);
    insn.src_reg = static_cast<uint8_t>((word >> 12) & 0xf);
    insn.off = static_cast<int16_t>(static_cast<uint16_t>(word >> 16));
    insn.imm = static_cast<int32_t>(static_cast<uint32_t>(word >> 32));
    return insn;
}

}  // namespace bpfrt::isa::asm_syntax
