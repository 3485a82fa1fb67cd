#include "commands.hpp"
#include "program_file.hpp"

#include <bpfrt/asm.hpp>

#include <fmt/format.h>

#include <string>

namespace bpfrt::cli {
namespace {

int assemble_file(const std::string& input, const std::string& output) {
    auto text = read_file_bytes(input);
    if (!text) {
        fmt::print(stderr, "bpfrt asm: {}\n", text.error().message);
        return kExitUsage;
    }
    auto prog = isa::assemble(std::string(text->begin(), text->end()));
    if (!prog) {
        fmt::print(stderr, "bpfrt asm: {}: {}\n", input, prog.error().message);
        return kExitFailed;
    }
    if (auto ok = write_file_bytes(output, prog->data(), prog->size() * sizeof(bpf_insn)); !ok) {
        fmt::print(stderr, "bpfrt asm: {}\n", ok.error().message);
        return kExitUsage;
    }
    return kExitOk;
}

}  // namespace

void add_asm_command(CLI::App& app, int* status) {
    auto* cmd = app.add_subcommand("asm", "Assemble a program (conformance-suite syntax) into raw bytecode");
    auto input = std::make_shared<std::string>();
    auto output = std::make_shared<std::string>();
    cmd->add_option("FILE.s", *input, "Assembly source")->required()->check(CLI::ExistingFile);
    cmd->add_option("-o,--output", *output, "Output file of 8-byte instructions")->required();
    cmd->callback([=] { *status = assemble_file(*input, *output); });
}

}  // namespace bpfrt::cli
