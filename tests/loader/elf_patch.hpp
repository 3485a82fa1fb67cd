// Test helpers: reading the compiled objects and corrupting them at known
// places (headers, section headers, symbols, relocations).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <elf.h>

namespace loader_test {

std::string example_path(const std::string& name);  // examples/bpf/NAME.o
std::string test_object_path(const std::string& name);  // tests/loader/bpf/NAME.o
// The bytes of a file; empty (and a GTest failure) when missing.
std::vector<std::byte> read_bytes(const std::string& path);

// A view of a well-formed object's layout, used to patch it.
class ElfPatch {
public:
    explicit ElfPatch(std::vector<std::byte> bytes) : bytes_(std::move(bytes)) {}
    std::vector<std::byte>& bytes() { return bytes_; }

    Elf64_Ehdr header() const { return get<Elf64_Ehdr>(0); }
    void set_header(const Elf64_Ehdr& h) { put(0, h); }
    // Offset of section header `index` in the file.
    size_t shdr_offset(size_t index) const { return header().e_shoff + index * sizeof(Elf64_Shdr); }
    Elf64_Shdr shdr(size_t index) const { return get<Elf64_Shdr>(shdr_offset(index)); }
    void set_shdr(size_t index, const Elf64_Shdr& s) { put(shdr_offset(index), s); }
    std::optional<size_t> section(const std::string& name) const;
    std::optional<size_t> section_of_type(uint32_t type) const;
    // Offset in the file of symbol `name` (in .symtab).
    std::optional<size_t> symbol_offset(const std::string& name) const;

    template <class T>
    T get(size_t off) const {
        T v;
        std::memcpy(&v, bytes_.data() + off, sizeof v);
        return v;
    }
    template <class T>
    void put(size_t off, const T& v) {
        std::memcpy(bytes_.data() + off, &v, sizeof v);
    }

private:
    std::vector<std::byte> bytes_;
};

}  // namespace loader_test
