// Shared by the commands that take ELF objects (verify, prog, map,
// test-run, disasm, exec): opening an object and choosing its programs.
#pragma once

#include <bpfrt/object.hpp>

#include <string>
#include <vector>

namespace bpfrt::cli {

// Whether the file starts with the ELF magic.
bool is_elf_file(const std::string& path);

// The programs a command works on: the one named `name`, or, when empty,
// every autoload program (or every program when none autoloads).
Result<std::vector<ObjectProgram*>> select_programs(ObjectFile& obj, const std::string& name);

// `bpfrt disasm OBJ [--program NAME]`: each program with its source lines.
int print_object_disassembly(const std::string& path, const std::string& program);

}  // namespace bpfrt::cli
