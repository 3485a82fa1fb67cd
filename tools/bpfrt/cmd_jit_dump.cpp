// bpfrt jit-dump PROGRAM: the x86-64 code the JIT generates for a program,
// disassembled with capstone, each eBPF instruction followed by its code.
#include "commands.hpp"
#include "program_file.hpp"

#include <bpfrt/jit.hpp>

#include <fmt/format.h>

#include <memory>
#include <string>

namespace bpfrt::cli {
namespace {

struct JitDumpArgs {
    std::string input;
    bool blinding = false;
};

int jit_dump(const JitDumpArgs& args) {
    if (!jit::jit_supported()) {
        fmt::print(stderr, "bpfrt jit-dump: the JIT is not supported on this machine (x86-64 only)\n");
        return kExitFailed;
    }
    auto prog = read_program(args.input);
    if (!prog) {
        fmt::print(stderr, "bpfrt jit-dump: {}\n", prog.error().message);
        return kExitUsage;
    }
    // Helpers are resolved at compile time; without a table every helper call
    // compiles to the "unknown helper" error path, which is enough to read the code.
    const vm::HelperTable no_helpers;
    auto compiled = jit::make_jit(*prog, &no_helpers, jit::JitOptions{.constant_blinding = args.blinding});
    if (!compiled) {
        fmt::print(stderr, "bpfrt jit-dump: {}: {}\n", args.input, compiled.error().message);
        return kExitFailed;
    }
    auto text = jit::jit_disassemble(**compiled, *prog);
    if (!text) {
        fmt::print(stderr, "bpfrt jit-dump: {}\n", text.error().message);
        return kExitFailed;
    }
    fmt::print("{}", *text);
    return kExitOk;
}

}  // namespace

void add_jit_dump_command(CLI::App& app, int* status) {
    auto* cmd = app.add_subcommand("jit-dump", "Show the x86-64 code the JIT generates for a program");
    auto args = std::make_shared<JitDumpArgs>();
    cmd->add_option("PROGRAM", args->input, "Program: raw bytecode (.bin) or assembly (.s)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_flag("--blinding", args->blinding, "Compile with constant blinding");
    cmd->callback([=] { *status = jit_dump(*args); });
}

}  // namespace bpfrt::cli
