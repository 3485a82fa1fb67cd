// bpfrt exec: run a program with r1 = input memory and r2 = its length (the
// conformance convention) and print r0.
#include "commands.hpp"
#include "helpers/conformance.hpp"
#include "program_file.hpp"

#include <bpfrt/vm.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace bpfrt::cli {
namespace {

struct ExecArgs {
    std::string program;
    std::string mem_file;
    std::string name;  // program of an ELF object
    uint64_t repeat = 1;
    std::string engine = "interp";
    bool trusted = false;
    bool json = false;
};

struct RunStats {
    uint64_t r0 = 0;
    double ns_per_run = 0;
};

Result<RunStats> run_repeatedly(const vm::Program& prog, std::vector<uint8_t>& mem, uint64_t repeat) {
    RunStats stats;
    const auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < repeat; ++i) {
        vm::ExecContext ctx;
        ctx.allow(mem.data(), mem.size(), true);
        ctx.packet = mem.data();
        ctx.packet_len = mem.size();
        auto r0 = prog.run(reinterpret_cast<uint64_t>(mem.data()), mem.size(), ctx);
        if (!r0) return std::unexpected(r0.error());
        stats.r0 = *r0;
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    stats.ns_per_run = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()) /
                       static_cast<double>(repeat);
    return stats;
}

void print_result(const ExecArgs& args, const RunStats& stats) {
    if (args.json) {
        nlohmann::json out = {{"r0", stats.r0},
                              {"r0_hex", fmt::format("{:#x}", stats.r0)},
                              {"runs", args.repeat},
                              {"ns_per_run", stats.ns_per_run},
                              {"engine", args.engine}};
        fmt::print("{}\n", out.dump());
        return;
    }
    fmt::print("r0 = {:#x} ({})\n", stats.r0, static_cast<int64_t>(stats.r0));
    if (args.repeat > 1) fmt::print("{} runs, {:.1f} ns per run ({})\n", args.repeat, stats.ns_per_run, args.engine);
}

int exec_program(const ExecArgs& args) {
    if (args.engine != "interp") {
        fmt::print(stderr, "bpfrt exec: engine '{}' is not available in this build (use interp)\n", args.engine);
        return kExitUsage;
    }
    auto prog = read_program(args.program, args.name);
    if (!prog) {
        fmt::print(stderr, "bpfrt exec: {}\n", prog.error().message);
        return kExitUsage;
    }
    std::vector<uint8_t> mem;
    if (!args.mem_file.empty()) {
        auto bytes = read_file_bytes(args.mem_file);
        if (!bytes) {
            fmt::print(stderr, "bpfrt exec: {}\n", bytes.error().message);
            return kExitUsage;
        }
        mem = std::move(*bytes);
    }
    // Without a verifier verdict every access is bounds-checked.
    static const vm::HelperTable helpers = helpers::conformance_helpers();
    auto vm = vm::make_interpreter(*prog, &helpers, vm::Mode::Checked);
    if (!vm) {
        fmt::print(stderr, "bpfrt exec: {}: {}\n", args.program, vm.error().message);
        return kExitFailed;
    }
    auto stats = run_repeatedly(**vm, mem, args.repeat);
    if (!stats) {
        fmt::print(stderr, "bpfrt exec: {}: {}\n", args.program, stats.error().message);
        return kExitFailed;
    }
    print_result(args, *stats);
    return kExitOk;
}

}  // namespace

void add_exec_command(CLI::App& app, int* status) {
    auto* cmd = app.add_subcommand("exec", "Run a program with r1 = input memory, r2 = its length; print r0");
    auto args = std::make_shared<ExecArgs>();
    cmd->add_option("PROGRAM", args->program, "Raw bytecode (.bin), assembly (.s) or ELF object (.o)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--program", args->name, "ELF objects: the program to run (a function of any section)");
    cmd->add_option("--mem", args->mem_file, "File whose bytes are the input memory")->check(CLI::ExistingFile);
    cmd->add_option("--repeat", args->repeat, "Run N times and report the mean ns per run")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--engine", args->engine, "Execution engine")->check(CLI::IsMember({"interp", "jit"}));
    cmd->add_flag("--trusted", args->trusted, "Skip verification (the program runs with every access checked)");
    cmd->add_flag("--json", args->json, "Print one JSON object: r0, runs, ns_per_run, engine");
    cmd->callback([=] { *status = exec_program(*args); });
}

}  // namespace bpfrt::cli
