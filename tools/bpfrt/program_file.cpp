#include "program_file.hpp"

#include "object_cli.hpp"

#include <bpfrt/asm.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace bpfrt::cli {
namespace {

bool has_suffix(const std::string& s, std::string_view suffix) { return s.ends_with(suffix); }

bool is_elf(const std::vector<uint8_t>& bytes) {
    return bytes.size() >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
}

Result<std::vector<bpf_insn>> read_object_program(const std::string& path, const std::string& name) {
    auto obj = ObjectFile::open(path);
    if (!obj) return std::unexpected(obj.error());
    auto progs = select_programs(*obj, name);
    if (!progs) return std::unexpected(progs.error());
    if (progs->size() != 1)
        return fail(EINVAL, fmt::format("{} has {} programs; choose one with --program", path, progs->size()));
    const ObjectProgram& prog = *progs->front();
    if (!prog.map_refs.empty())
        return fail(EINVAL, fmt::format("{}: program '{}' uses maps; run it with `bpfrt test-run`", path, prog.name));
    return prog.insns;
}

}  // namespace

Result<std::vector<uint8_t>> read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(errno ? errno : ENOENT, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return fail(EIO, fmt::format("cannot read {}", path));
    return bytes;
}

Result<void> write_file_bytes(const std::string& path, const void* data, size_t size) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return fail(errno ? errno : EACCES, fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out) return fail(EIO, fmt::format("cannot write {}", path));
    return {};
}

Result<std::vector<bpf_insn>> read_program(const std::string& path) { return read_program(path, ""); }

Result<std::vector<bpf_insn>> read_program(const std::string& path, const std::string& program) {
    auto bytes = read_file_bytes(path);
    if (!bytes) return std::unexpected(bytes.error());
    if (is_elf(*bytes)) return read_object_program(path, program);
    if (has_suffix(path, ".s") || has_suffix(path, ".asm")) {
        const std::string text(bytes->begin(), bytes->end());
        auto prog = isa::assemble(text);
        if (!prog) return fail(EINVAL, fmt::format("{}: {}", path, prog.error().message));
        return prog;
    }
    if (bytes->empty() || bytes->size() % sizeof(bpf_insn) != 0)
        return fail(EINVAL, fmt::format("{}: raw bytecode must be a non-empty multiple of 8 bytes (got {})",
                                        path, bytes->size()));
    std::vector<bpf_insn> prog(bytes->size() / sizeof(bpf_insn));
    std::memcpy(prog.data(), bytes->data(), bytes->size());
    return prog;
}

}  // namespace bpfrt::cli
