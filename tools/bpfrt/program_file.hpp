// Reading programs given on the command line: raw bytecode (.bin, any file
// whose size is a multiple of 8 and that is not text), assembly (.s / .asm)
// and, later, ELF objects.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bpfrt::cli {

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path);
Result<std::vector<bpf_insn>> read_program(const std::string& path);
// The same, and for ELF objects the program named `program` (or the only
// program when empty), linked with its subprograms. Programs that use maps
// need a Runtime (bpfrt test-run): they are refused here.
Result<std::vector<bpf_insn>> read_program(const std::string& path, const std::string& program);
Result<void> write_file_bytes(const std::string& path, const void* data, size_t size);

}  // namespace bpfrt::cli
