#include "loader/elf_reader.hpp"

#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace bpfrt::loader {
namespace {

constexpr uint16_t kMachineBpf = 247;  // EM_BPF (older elf.h lack it)
constexpr size_t kMaxSections = 65535;

struct ElfCloser {
    void operator()(Elf* e) const noexcept { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

std::string libelf_error() {
    const char* msg = elf_errmsg(-1);
    return msg ? msg : "unknown libelf error";
}

// A NUL-terminated string at `offset` of a string table, or an error naming
// `what` when the offset or the terminator is out of bounds.
Result<std::string> string_at(std::span<const std::byte> table, uint64_t offset, std::string_view what) {
    if (offset >= table.size())
        return fail(EINVAL, fmt::format("{}: string offset {} is past the end of its string table ({} bytes)",
                                        what, offset, table.size()));
    const auto* start = reinterpret_cast<const char*>(table.data()) + offset;
    const size_t len = strnlen(start, table.size() - offset);
    if (len == table.size() - offset)
        return fail(EINVAL, fmt::format("{}: string at offset {} is not NUL-terminated", what, offset));
    return std::string(start, len);
}

Result<void> check_header(const std::byte* bytes, size_t size) {
    if (size < EI_NIDENT || std::memcmp(bytes, ELFMAG, SELFMAG) != 0)
        return fail(EINVAL, "not an ELF file (bad magic)");
    const auto* ident = reinterpret_cast<const unsigned char*>(bytes);
    if (ident[EI_CLASS] != ELFCLASS64)
        return fail(EINVAL, fmt::format("wrong ELF class {} (eBPF objects are 64-bit, ELFCLASS64)",
                                        ident[EI_CLASS]));
    if (ident[EI_DATA] != ELFDATA2LSB)
        return fail(EINVAL, ident[EI_DATA] == ELFDATA2MSB
                                ? "big-endian object (-target bpfeb) is not supported; compile with -target bpf"
                                : "bad ELF data encoding");
    if (size < sizeof(Elf64_Ehdr)) return fail(EINVAL, "truncated ELF header");
    Elf64_Ehdr ehdr;
    std::memcpy(&ehdr, bytes, sizeof ehdr);
    if (ehdr.e_machine != kMachineBpf)
        return fail(EINVAL, fmt::format("wrong machine {} in the ELF header (expected EM_BPF, 247)", ehdr.e_machine));
    if (ehdr.e_type != ET_REL)
        return fail(EINVAL, fmt::format("ELF type {} is not a relocatable object (ET_REL)", ehdr.e_type));
    if (ehdr.e_shentsize != sizeof(Elf64_Shdr))
        return fail(EINVAL, fmt::format("bad section header size {}", ehdr.e_shentsize));
    if (ehdr.e_shoff > size || (size - ehdr.e_shoff) / sizeof(Elf64_Shdr) < ehdr.e_shnum)
        return fail(EINVAL, "section header table is past the end of the file (truncated?)");
    return {};
}

Result<Section> read_section(Elf* elf, size_t index, std::span<const std::byte> file) {
    Elf_Scn* scn = elf_getscn(elf, index);
    GElf_Shdr shdr;
    if (!scn || !gelf_getshdr(scn, &shdr))
        return fail(EINVAL, fmt::format("section {}: cannot read its header: {}", index, libelf_error()));
    Section s;
    s.index = static_cast<uint32_t>(index);
    s.type = shdr.sh_type;
    s.flags = shdr.sh_flags;
    s.size = shdr.sh_size;
    s.link = shdr.sh_link;
    s.info = shdr.sh_info;
    s.entsize = shdr.sh_entsize;
    if (s.type != SHT_NOBITS && s.type != SHT_NULL) {
        if (shdr.sh_offset > file.size() || file.size() - shdr.sh_offset < shdr.sh_size)
            return fail(EINVAL, fmt::format("section {}: contents (offset {}, {} bytes) are past the end of "
                                            "the file ({} bytes; truncated?)",
                                            index, shdr.sh_offset, shdr.sh_size, file.size()));
        s.data = file.subspan(shdr.sh_offset, shdr.sh_size);
    }
    s.name_offset = shdr.sh_name;  // resolved once the section-name table is known
    return s;
}

Result<void> name_sections(std::vector<Section>& sections, size_t shstrndx) {
    if (shstrndx == SHN_UNDEF || shstrndx >= sections.size())
        return fail(EINVAL, fmt::format("section-name table index {} is out of range ({} sections)", shstrndx,
                                        sections.size()));
    const Section& names = sections[shstrndx];
    if (names.type != SHT_STRTAB)
        return fail(EINVAL, fmt::format("section-name table (section {}) is not a string table", shstrndx));
    const auto table = names.data;
    for (auto& s : sections) {
        if (s.index == 0) continue;
        auto name = string_at(table, s.name_offset, fmt::format("name of section {}", s.index));
        if (!name) return std::unexpected(name.error());
        s.name = std::move(*name);
    }
    return {};
}

Result<std::vector<Symbol>> read_symbols(const std::vector<Section>& sections) {
    const Section* symtab = nullptr;
    for (const auto& s : sections) {
        if (s.type != SHT_SYMTAB) continue;
        if (symtab) return fail(EINVAL, "more than one symbol table");
        symtab = &s;
    }
    std::vector<Symbol> symbols;
    if (!symtab) return symbols;
    if (symtab->entsize != sizeof(Elf64_Sym) || symtab->data.size() % sizeof(Elf64_Sym) != 0)
        return fail(EINVAL, fmt::format("symbol table '{}': bad entry size {} or size {}", symtab->name,
                                        symtab->entsize, symtab->data.size()));
    if (symtab->link == 0 || symtab->link >= sections.size() || sections[symtab->link].type != SHT_STRTAB)
        return fail(EINVAL, fmt::format("symbol table '{}': its string table index {} is bad", symtab->name,
                                        symtab->link));
    const auto strings = sections[symtab->link].data;
    const size_t count = symtab->data.size() / sizeof(Elf64_Sym);
    symbols.reserve(count);
    for (size_t i = 0; i < count; ++i) {
        Elf64_Sym raw;
        std::memcpy(&raw, symtab->data.data() + i * sizeof raw, sizeof raw);
        Symbol sym;
        sym.index = static_cast<uint32_t>(i);
        auto name = string_at(strings, raw.st_name, fmt::format("name of symbol {}", i));
        if (!name) return std::unexpected(name.error());
        sym.name = std::move(*name);
        sym.type = ELF64_ST_TYPE(raw.st_info);
        sym.bind = ELF64_ST_BIND(raw.st_info);
        sym.shndx = raw.st_shndx;
        sym.value = raw.st_value;
        sym.size = raw.st_size;
        if (sym.shndx != SHN_UNDEF && sym.shndx < SHN_LORESERVE && sym.shndx >= sections.size())
            return fail(EINVAL, fmt::format("symbol '{}' (index {}) names section {}, but there are only {}",
                                            sym.name, i, sym.shndx, sections.size()));
        if (sym.shndx == SHN_XINDEX)
            return fail(EINVAL, fmt::format("symbol '{}' uses extended section indexes (SHN_XINDEX), "
                                            "which eBPF objects never need", sym.name));
        symbols.push_back(std::move(sym));
    }
    return symbols;
}

Result<void> read_relocations(const std::vector<Section>& sections, size_t symbol_count,
                              std::vector<std::vector<Relocation>>& out) {
    out.assign(sections.size(), {});
    for (const auto& s : sections) {
        if (s.type == SHT_RELA)
            return fail(EINVAL, fmt::format("section '{}': RELA relocations are not used by eBPF objects", s.name));
        if (s.type != SHT_REL) continue;
        if (s.info == 0 || s.info >= sections.size())
            return fail(EINVAL, fmt::format("relocation section '{}' applies to section {}, which does not exist",
                                            s.name, s.info));
        if (s.entsize != sizeof(Elf64_Rel) || s.data.size() % sizeof(Elf64_Rel) != 0)
            return fail(EINVAL, fmt::format("relocation section '{}': bad entry size {} or size {}", s.name,
                                            s.entsize, s.data.size()));
        const Section& target = sections[s.info];
        for (size_t i = 0; i < s.data.size() / sizeof(Elf64_Rel); ++i) {
            Elf64_Rel raw;
            std::memcpy(&raw, s.data.data() + i * sizeof raw, sizeof raw);
            Relocation r;
            r.offset = raw.r_offset;
            r.type = static_cast<uint32_t>(ELF64_R_TYPE(raw.r_info));
            const uint64_t sym = ELF64_R_SYM(raw.r_info);
            if (sym >= symbol_count)
                return fail(EINVAL, fmt::format("relocation {} of '{}' names symbol {}, but the symbol table has "
                                                "{} (missing symbol)", i, s.name, sym, symbol_count));
            r.symbol = static_cast<uint32_t>(sym);
            if (r.offset >= target.size)
                return fail(EINVAL, fmt::format("relocation {} of '{}' is at offset {}, past the end of '{}'", i,
                                                s.name, r.offset, target.name));
            out[s.info].push_back(r);
        }
    }
    return {};
}

}  // namespace

const Section* ElfFile::section_by_name(std::string_view name) const noexcept {
    for (const auto& s : sections)
        if (s.index != 0 && s.name == name) return &s;
    return nullptr;
}

const Section* ElfFile::section_of(const Symbol& sym) const noexcept {
    if (sym.shndx == SHN_UNDEF || sym.shndx >= SHN_LORESERVE || sym.shndx >= sections.size()) return nullptr;
    return &sections[sym.shndx];
}

Result<ElfFile> read_elf(std::span<const std::byte> bytes) {
    if (auto ok = check_header(bytes.data(), bytes.size()); !ok) return std::unexpected(ok.error());
    if (elf_version(EV_CURRENT) == EV_NONE) return fail(EINVAL, "libelf: " + libelf_error());
    // libelf only reads the image (ELF_C_READ_MEMORY); the cast is its API.
    ElfPtr elf(elf_memory(const_cast<char*>(reinterpret_cast<const char*>(bytes.data())), bytes.size()));
    if (!elf) return fail(EINVAL, "cannot parse ELF: " + libelf_error());
    if (elf_kind(elf.get()) != ELF_K_ELF) return fail(EINVAL, "not an ELF object");
    size_t shnum = 0;
    size_t shstrndx = 0;
    if (elf_getshdrnum(elf.get(), &shnum) != 0) return fail(EINVAL, "cannot count sections: " + libelf_error());
    if (shnum == 0) return fail(EINVAL, "the object has no sections");
    if (shnum > kMaxSections) return fail(EINVAL, fmt::format("too many sections ({})", shnum));
    if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0)
        return fail(EINVAL, "cannot find the section-name table: " + libelf_error());

    ElfFile file;
    file.sections.reserve(shnum);
    for (size_t i = 0; i < shnum; ++i) {
        auto s = read_section(elf.get(), i, bytes);
        if (!s) return std::unexpected(s.error());
        file.sections.push_back(std::move(*s));
    }
    if (auto ok = name_sections(file.sections, shstrndx); !ok) return std::unexpected(ok.error());
    auto symbols = read_symbols(file.sections);
    if (!symbols) return std::unexpected(symbols.error());
    file.symbols = std::move(*symbols);
    if (auto ok = read_relocations(file.sections, file.symbols.size(), file.relocations); !ok)
        return std::unexpected(ok.error());
    return file;
}

}  // namespace bpfrt::loader
