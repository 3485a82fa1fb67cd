// The ELF container of an eBPF object: sections, symbols and relocations,
// every offset, index and size checked against the file before use.
//
// libelf reads the headers; the section contents, symbols, strings and
// relocations are then decoded here from the bytes, with our own bounds
// checks (hostile section indexes and sizes never reach libelf's accessors).
// Only 64-bit little-endian objects for EM_BPF are accepted.
#pragma once

#include <bpfrt/error.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::loader {

struct Section {
    uint32_t index = 0;
    std::string name;
    uint32_t name_offset = 0;  // sh_name
    uint32_t type = 0;   // SHT_*
    uint64_t flags = 0;  // SHF_*
    uint64_t size = 0;   // sh_size (NOBITS sections have no data)
    uint32_t link = 0;
    uint32_t info = 0;
    uint64_t entsize = 0;
    std::span<const std::byte> data;  // the contents (empty for NOBITS)
};

struct Symbol {
    uint32_t index = 0;
    std::string name;
    uint8_t type = 0;     // STT_*
    uint8_t bind = 0;     // STB_*
    uint16_t shndx = 0;   // section index (SHN_UNDEF, SHN_ABS... possible)
    uint64_t value = 0;
    uint64_t size = 0;
};

struct Relocation {
    uint64_t offset = 0;  // in the target section
    uint32_t type = 0;    // R_BPF_*
    uint32_t symbol = 0;  // index into ElfFile::symbols (checked)
};

// Relocation types of the BPF ELF ABI (llvm/BinaryFormat/ELFRelocs/BPF.def).
inline constexpr uint32_t kRelocNone = 0;
inline constexpr uint32_t kReloc64_64 = 1;     // lddw imm64 <- symbol (maps, global data)
inline constexpr uint32_t kReloc64_Abs64 = 2;  // data (BTF, debug info)
inline constexpr uint32_t kReloc64_Abs32 = 3;
inline constexpr uint32_t kReloc64_NoDyld32 = 4;
inline constexpr uint32_t kReloc64_32 = 10;    // call imm <- function

struct ElfFile {
    std::vector<Section> sections;  // by index; [0] is the null section
    std::vector<Symbol> symbols;    // by symbol-table index; empty without .symtab
    // Relocations that apply to each section, by section index.
    std::vector<std::vector<Relocation>> relocations;

    const Section* section_by_name(std::string_view name) const noexcept;
    // The section a symbol is defined in, or null (undefined, special index).
    const Section* section_of(const Symbol& sym) const noexcept;
};

// Parses `bytes`, which must stay alive as long as the result.
Result<ElfFile> read_elf(std::span<const std::byte> bytes);

}  // namespace bpfrt::loader
