#include "elf_patch.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace loader_test {

std::string example_path(const std::string& name) { return std::string(BPFRT_EXAMPLE_OBJECTS) + "/" + name + ".o"; }
std::string test_object_path(const std::string& name) {
    return std::string(BPFRT_TEST_OBJECTS) + "/" + name + ".o";
}

std::vector<std::byte> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_FALSE(chars.empty()) << "cannot read " << path;
    std::vector<std::byte> out(chars.size());
    std::memcpy(out.data(), chars.data(), chars.size());
    return out;
}

std::optional<size_t> ElfPatch::section(const std::string& name) const {
    const auto h = header();
    const auto names = shdr(h.e_shstrndx);
    for (size_t i = 1; i < h.e_shnum; ++i) {
        const char* n = reinterpret_cast<const char*>(bytes_.data() + names.sh_offset + shdr(i).sh_name);
        if (name == n) return i;
    }
    return std::nullopt;
}

std::optional<size_t> ElfPatch::section_of_type(uint32_t type) const {
    for (size_t i = 1; i < header().e_shnum; ++i)
        if (shdr(i).sh_type == type) return i;
    return std::nullopt;
}

std::optional<size_t> ElfPatch::symbol_offset(const std::string& name) const {
    const auto symtab_index = section_of_type(SHT_SYMTAB);
    if (!symtab_index) return std::nullopt;
    const auto symtab = shdr(*symtab_index);
    const auto strtab = shdr(symtab.sh_link);
    for (size_t off = symtab.sh_offset; off < symtab.sh_offset + symtab.sh_size; off += sizeof(Elf64_Sym)) {
        const auto sym = get<Elf64_Sym>(off);
        const char* n = reinterpret_cast<const char*>(bytes_.data() + strtab.sh_offset + sym.st_name);
        if (name == n) return off;
    }
    return std::nullopt;
}

}  // namespace loader_test
