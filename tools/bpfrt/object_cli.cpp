#include "object_cli.hpp"

#include "commands.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace bpfrt::cli {

bool is_elf_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    char magic[4] = {};
    return in.read(magic, sizeof magic) && std::memcmp(magic, "\x7f" "ELF", 4) == 0;
}

Result<std::vector<ObjectProgram*>> select_programs(ObjectFile& obj, const std::string& name) {
    std::vector<ObjectProgram*> out;
    if (!name.empty()) {
        ObjectProgram* prog = obj.find_program(name);
        if (!prog) {
            std::string names;
            for (const auto& p : obj.programs()) names += (names.empty() ? "" : ", ") + p.name;
            return fail(ENOENT, fmt::format("{}: no program '{}' (programs: {})", obj.name(), name, names));
        }
        out.push_back(prog);
        return out;
    }
    for (auto& p : obj.programs())
        if (p.autoload) out.push_back(&p);
    if (out.empty())
        for (auto& p : obj.programs()) out.push_back(&p);
    if (out.empty()) return fail(ENOENT, fmt::format("{}: the object has no programs", obj.name()));
    return out;
}

int print_object_disassembly(const std::string& path, const std::string& program) {
    auto obj = ObjectFile::open(path);
    if (!obj) {
        fmt::print(stderr, "bpfrt disasm: {}\n", obj.error().message);
        return kExitUsage;
    }
    auto progs = select_programs(*obj, program);
    if (!progs) {
        fmt::print(stderr, "bpfrt disasm: {}\n", progs.error().message);
        return kExitUsage;
    }
    bool first = true;
    for (const ObjectProgram* p : *progs) {
        fmt::print("{}# {} (section '{}', {}, {} insns)\n", first ? "" : "\n", p->name, p->section,
                   program_type_name(p->type), p->insns.size());
        fmt::print("{}", disassemble_with_source(*p));
        first = false;
    }
    return kExitOk;
}

}  // namespace bpfrt::cli
