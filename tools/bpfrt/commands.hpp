// The bpfrt command-line tool: one function per subcommand, each adding
// itself to the CLI11 app. Exit codes: 0 success, 1 the program failed or
// was rejected, 2 usage or input errors.
#pragma once

#include <CLI/CLI.hpp>

namespace bpfrt::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Each registers a subcommand; the callback stores the exit code in *status.
void add_asm_command(CLI::App& app, int* status);
void add_disasm_command(CLI::App& app, int* status);
void add_exec_command(CLI::App& app, int* status);
void add_jit_dump_command(CLI::App& app, int* status);
void add_verify_command(CLI::App& app, int* status);
void add_prog_command(CLI::App& app, int* status);
void add_map_command(CLI::App& app, int* status);
void add_test_run_command(CLI::App& app, int* status);
void add_run_command(CLI::App& app, int* status);

}  // namespace bpfrt::cli
