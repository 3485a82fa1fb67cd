#include "commands.hpp"
#include "object_cli.hpp"
#include "program_file.hpp"

#include <bpfrt/asm.hpp>

#include <fmt/format.h>

#include <string>

namespace bpfrt::cli {
namespace {

struct DisasmArgs {
    std::string input;
    bool no_labels = false;
    bool offsets = false;
    std::string program;
};

int disassemble_file(const DisasmArgs& args) {
    if (is_elf_file(args.input)) return print_object_disassembly(args.input, args.program);
    auto prog = read_program(args.input);
    if (!prog) {
        fmt::print(stderr, "bpfrt disasm: {}\n", prog.error().message);
        return kExitUsage;
    }
    isa::DisasmOptions opt;
    opt.labels = !args.no_labels;
    opt.show_offsets = args.offsets;
    fmt::print("{}", isa::disassemble(*prog, opt));
    return kExitOk;
}

}  // namespace

void add_disasm_command(CLI::App& app, int* status) {
    auto* cmd = app.add_subcommand("disasm", "Disassemble a program (raw bytecode or assembly)");
    auto args = std::make_shared<DisasmArgs>();
    cmd->add_option("FILE", args->input, "Program: raw bytecode (.bin), assembly (.s) or ELF object (.o)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_flag("--no-labels", args->no_labels, "Print jump targets as +off instead of labels");
    cmd->add_flag("--offsets", args->offsets, "Prefix each instruction with its slot number");
    cmd->add_option("--program", args->program, "ELF objects: only this program (default: all, with source lines)");
    cmd->callback([=] { *status = disassemble_file(*args); });
}

}  // namespace bpfrt::cli
