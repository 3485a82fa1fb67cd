// libFuzzer harness over the ELF loader: any byte string must give either a
// parsed object or an Error, never a crash, leak or undefined behaviour.
// Parsed objects are also walked the way the CLI does (disassembly with
// source lines, globals, map references), since those read what the parser
// produced.
#include <bpfrt/object.hpp>

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

namespace {

int silent(enum libbpf_print_level, const char*, va_list) { return 0; }

void exercise(bpfrt::ObjectFile& obj) {
    size_t total = 0;
    for (const auto& prog : obj.programs()) {
        total += bpfrt::disassemble_with_source(prog).size();
        for (const auto& ref : prog.map_refs)
            if (ref.map_index >= obj.maps().size() || ref.insn_off + 1 >= prog.insns.size()) std::abort();
    }
    for (const auto& g : obj.globals()) {
        std::vector<std::byte> zeros(g.size);
        if (!obj.set_global(g.name, zeros)) std::abort();  // every listed global must be settable
    }
    (void)total;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    libbpf_set_print(silent);  // hostile BTF makes libbpf chatty
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto obj = bpfrt::ObjectFile::open_bytes(std::as_bytes(std::span(data, size)), "fuzz.o");
    if (!obj) {
        if (obj.error().message.empty()) std::abort();  // every error must say what is wrong
        return 0;
    }
    exercise(*obj);
    return 0;
}
