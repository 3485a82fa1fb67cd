// bpfrt: assemble, disassemble, verify and run eBPF programs in user space.
#include "commands.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
    CLI::App app{"bpfrt: a user-space eBPF runtime (assembler, disassembler, interpreter)"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "bpfrt 0.1.0");
    int status = bpfrt::cli::kExitOk;
    bpfrt::cli::add_asm_command(app, &status);
    bpfrt::cli::add_disasm_command(app, &status);
    bpfrt::cli::add_exec_command(app, &status);
    bpfrt::cli::add_jit_dump_command(app, &status);
    bpfrt::cli::add_verify_command(app, &status);
    bpfrt::cli::add_prog_command(app, &status);
    bpfrt::cli::add_map_command(app, &status);
    bpfrt::cli::add_test_run_command(app, &status);
    bpfrt::cli::add_run_command(app, &status);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : bpfrt::cli::kExitUsage;
    }
    return status;
}
