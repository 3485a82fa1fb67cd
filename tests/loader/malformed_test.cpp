// Malformed, truncated and hostile objects: each gives an error that names
// what is wrong, and none crashes the loader (ASan/UBSan builds check this).
#include "elf_patch.hpp"

#include <bpfrt/object.hpp>

#include <gtest/gtest.h>

#include <random>

using bpfrt::ObjectFile;
using loader_test::ElfPatch;

namespace {

ElfPatch example(const std::string& name) { return ElfPatch(loader_test::read_bytes(loader_test::example_path(name))); }

// Opening must fail with a message containing `words`.
void expect_error(std::span<const std::byte> bytes, const std::string& words) {
    auto obj = ObjectFile::open_bytes(bytes, "bad.o");
    ASSERT_FALSE(obj) << "loaded, expected an error containing '" << words << "'";
    EXPECT_NE(obj.error().message.find(words), std::string::npos) << obj.error().message;
    EXPECT_NE(obj.error().code, 0);
}

// The relocation section that applies to section `target`.
size_t rel_section_for(const ElfPatch& p, size_t target) {
    for (size_t i = 1; i < p.header().e_shnum; ++i)
        if (p.shdr(i).sh_type == SHT_REL && p.shdr(i).sh_info == target) return i;
    ADD_FAILURE() << "no relocation section";
    return 0;
}

}  // namespace

TEST(Malformed, TruncatedAtManyOffsets) {
    const auto full = loader_test::read_bytes(loader_test::example_path("globals"));
    ASSERT_TRUE(ObjectFile::open_bytes(full));
    for (size_t size = 0; size < full.size(); size += (size < 128 ? 1 : 37)) {
        auto obj = ObjectFile::open_bytes(std::span(full).first(size), "cut.o");
        ASSERT_FALSE(obj) << "truncated to " << size << " bytes but loaded";
        EXPECT_FALSE(obj.error().message.empty());
    }
}

TEST(Malformed, NotElf) {
    const std::string text = "this is not an object file at all, just text";
    expect_error(std::as_bytes(std::span(text)), "not an ELF file");
    expect_error({}, "not an ELF file");
}

TEST(Malformed, WrongClassMachineEndianType) {
    auto p = example("sockex1");
    auto bytes = p.bytes();
    bytes[EI_CLASS] = std::byte{ELFCLASS32};
    expect_error(bytes, "wrong ELF class");

    bytes = p.bytes();
    bytes[EI_DATA] = std::byte{ELFDATA2MSB};
    expect_error(bytes, "big-endian");

    ElfPatch m(p.bytes());
    auto h = m.header();
    h.e_machine = EM_X86_64;
    m.set_header(h);
    expect_error(m.bytes(), "wrong machine 62");

    ElfPatch t(p.bytes());
    h = t.header();
    h.e_type = ET_EXEC;
    t.set_header(h);
    expect_error(t.bytes(), "not a relocatable object");
}

TEST(Malformed, BadSectionIndexes) {
    auto base = example("sockex1");
    {
        ElfPatch p(base.bytes());
        auto h = p.header();
        h.e_shstrndx = 200;
        p.set_header(h);
        expect_error(p.bytes(), "section");
    }
    {
        ElfPatch p(base.bytes());
        const size_t symtab = *p.section_of_type(SHT_SYMTAB);
        auto s = p.shdr(symtab);
        s.sh_link = 999;
        p.set_shdr(symtab, s);
        expect_error(p.bytes(), "string table index 999");
    }
    {
        ElfPatch p(base.bytes());
        const size_t rel = rel_section_for(p, *p.section("socket"));
        auto s = p.shdr(rel);
        s.sh_info = 999;
        p.set_shdr(rel, s);
        expect_error(p.bytes(), "applies to section 999");
    }
    {
        ElfPatch p(base.bytes());
        const size_t off = *p.symbol_offset("my_map");
        auto sym = p.get<Elf64_Sym>(off);
        sym.st_shndx = 0x7000;
        p.put(off, sym);
        expect_error(p.bytes(), "names section 28672");
    }
    {
        ElfPatch p(base.bytes());
        const size_t sec = *p.section("socket");
        auto s = p.shdr(sec);
        s.sh_offset = p.bytes().size() - 4;
        p.set_shdr(sec, s);
        expect_error(p.bytes(), "past the end of the file");
    }
}

TEST(Malformed, RelocationToMissingSymbol) {
    auto p = example("sockex1");
    const size_t rel = rel_section_for(p, *p.section("socket"));
    const size_t off = p.shdr(rel).sh_offset;
    auto r = p.get<Elf64_Rel>(off);
    r.r_info = ELF64_R_INFO(4000, ELF64_R_TYPE(r.r_info));
    p.put(off, r);
    expect_error(p.bytes(), "missing symbol");
}

TEST(Malformed, RelocationToUndefinedSymbol) {
    auto p = example("sockex1");
    const size_t off = *p.symbol_offset("my_map");
    auto sym = p.get<Elf64_Sym>(off);
    sym.st_shndx = SHN_UNDEF;
    p.put(off, sym);
    expect_error(p.bytes(), "undefined symbol 'my_map'");
}

TEST(Malformed, RelocationOnTheWrongInstruction) {
    auto p = example("sockex1");
    const size_t rel = rel_section_for(p, *p.section("socket"));
    const size_t off = p.shdr(rel).sh_offset;
    auto r = p.get<Elf64_Rel>(off);
    r.r_offset = 0;  // insn 0 is `r6 = r1`
    p.put(off, r);
    expect_error(p.bytes(), "not on an lddw");

    r.r_offset = 3;
    p.put(off, r);
    expect_error(p.bytes(), "instruction boundary");

    r.r_offset = 8 * 7;
    r.r_info = ELF64_R_INFO(ELF64_R_SYM(r.r_info), 7);
    p.put(off, r);
    expect_error(p.bytes(), "type 7");
}

TEST(Malformed, CorruptedBtf) {
    auto base = example("sockex1");
    const size_t btf = *base.section(".BTF");
    {
        ElfPatch p(base.bytes());
        p.put<uint16_t>(p.shdr(btf).sh_offset, 0x1234);  // magic
        expect_error(p.bytes(), "corrupted BTF");
    }
    {
        ElfPatch p(base.bytes());
        p.put<uint32_t>(p.shdr(btf).sh_offset + 20, 0x7fffffff);  // str_len
        expect_error(p.bytes(), "corrupted BTF");
    }
    {
        ElfPatch p(base.bytes());
        p.put<uint32_t>(p.shdr(btf).sh_offset + 4, 100000);  // hdr_len
        expect_error(p.bytes(), "corrupted BTF");
    }
    const size_t ext = *base.section(".BTF.ext");
    {
        ElfPatch p(base.bytes());
        p.put<uint32_t>(p.shdr(ext).sh_offset + 20, 0x7fffffff);  // line_info_len
        expect_error(p.bytes(), "corrupted .BTF.ext");
    }
    {
        ElfPatch p(base.bytes());
        const auto hdr_len = p.get<uint32_t>(p.shdr(ext).sh_offset + 4);
        const auto line_off = p.get<uint32_t>(p.shdr(ext).sh_offset + 16);
        p.put<uint32_t>(p.shdr(ext).sh_offset + hdr_len + line_off, 2);  // record size
        expect_error(p.bytes(), "record size 2");
    }
}

TEST(Malformed, LicenseNotTerminated) {
    auto p = example("sockex1");
    const auto lic = p.shdr(*p.section("license"));
    for (size_t i = 0; i < lic.sh_size; ++i) p.bytes()[lic.sh_offset + i] = std::byte{'X'};
    expect_error(p.bytes(), "license section");
}

// Random corruption of every example: errors or success, never a crash.
TEST(Malformed, RandomByteFlipsNeverCrash) {
    std::mt19937 rng(12345);
    for (const char* name : {"sockex1", "globals", "subprograms", "xdp_parser"}) {
        const auto base = loader_test::read_bytes(loader_test::example_path(name));
        ASSERT_FALSE(base.empty());
        for (int round = 0; round < 300; ++round) {
            auto bytes = base;
            const int flips = 1 + static_cast<int>(rng() % 8);
            for (int i = 0; i < flips; ++i)
                bytes[rng() % bytes.size()] = static_cast<std::byte>(rng() & 0xff);
            auto obj = ObjectFile::open_bytes(bytes, "fuzzed.o");
            if (!obj) {
                EXPECT_FALSE(obj.error().message.empty());
            }
        }
    }
}

// Found by the loader fuzzer: BTF naming two globals alike (or leaving a name
// empty) made set_global() reach the wrong variable. Such objects are refused.
TEST(Malformed, GlobalsWithDuplicateOrEmptyNamesAreRefused) {
    const std::string path = std::string(BPFRT_SOURCE_DIR) + "/tests/loader/data/fuzz_duplicate_global_names.o";
    auto obj = bpfrt::ObjectFile::open(path);
    ASSERT_FALSE(obj);
    EXPECT_NE(obj.error().message.find("corrupted BTF"), std::string::npos) << obj.error().message;
}
