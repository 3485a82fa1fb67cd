// bpfrt exec: run a program with r1 = input memory and r2 = its length (the
// conformance convention) and print r0.
//
// The program is verified first as bpfrt's raw-memory program type
// (verifier::kProgTypeRawMemory: r1 points to the --mem bytes, r2 is their
// length, no helper calls) and then runs without per-access checks
// (vm::Mode::Verified) on the engine of --engine (auto: the JIT where
// supported). A rejected program is not run: the verifier log is printed and
// the exit code is 1. --trusted skips the verifier and runs the program in the
// interpreter with every access checked (vm::Mode::Checked), as programs that
// call the conformance helpers need; the JIT runs verified programs only.
#include "commands.hpp"
#include "engine_option.hpp"
#include "helpers/conformance.hpp"
#include "program_file.hpp"

#include "verifier/verifier.hpp"

#include <bpfrt/jit.hpp>
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
    std::string engine = "auto";
    bool trusted = false;
    bool json = false;
    uint32_t log_level = 1;
};

struct RunStats {
    uint64_t r0 = 0;
    double ns_per_run = 0;
    std::string engine;  // what ran it: "interp" or "jit"
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
                              {"engine", stats.engine}};
        fmt::print("{}\n", out.dump());
        return;
    }
    fmt::print("r0 = {:#x} ({})\n", stats.r0, static_cast<int64_t>(stats.r0));
    if (args.repeat > 1) fmt::print("{} runs, {:.1f} ns per run ({})\n", args.repeat, stats.ns_per_run, stats.engine);
}

// The verifier's verdict on the program as a raw-memory program of mem_size
// bytes; prints the log of a rejection.
bool verified(const ExecArgs& args, std::span<const bpf_insn> prog, size_t mem_size) {
    if (mem_size > UINT32_MAX) {
        fmt::print(stderr, "bpfrt exec: --mem is larger than 4 GiB; use --trusted\n");
        return false;
    }
    verifier::VerifyInput in;
    in.insns = prog;
    in.prog_type = verifier::kProgTypeRawMemory;
    in.license = "GPL";
    in.log_level = args.log_level;
    in.ctx_size = static_cast<uint32_t>(mem_size);
    in.strict_alignment = false;  // plain bytes: the interpreter loads unaligned values safely
    const verifier::VerifyResult r = verifier::verify(in);
    if (r.accepted) return true;
    fmt::print(stderr, "{}", r.log);
    fmt::print(stderr, "bpfrt exec: {}: rejected by the verifier: {}\n(use --trusted to run it with every access "
                       "checked instead)\n", args.program, r.message);
    return false;
}

int exec_program(const ExecArgs& args) {
    const jit::Engine engine = parse_engine(args.engine);
    if (args.trusted && engine == jit::Engine::Jit) {
        fmt::print(stderr, "bpfrt exec: --engine jit runs verified programs only; --trusted programs run in the "
                           "checked interpreter (drop one of the two)\n");
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
    if (!args.trusted && !verified(args, *prog, mem.size())) return kExitFailed;
    static const vm::HelperTable helpers = helpers::conformance_helpers();
    // Without a verifier verdict every access is bounds-checked (interpreter).
    auto vm = args.trusted ? vm::make_interpreter(*prog, &helpers, vm::Mode::Checked)
                           : jit::make_program(*prog, &helpers, engine);
    if (!vm) {
        fmt::print(stderr, "bpfrt exec: {}: {}\n", args.program, vm.error().message);
        return kExitFailed;
    }
    auto stats = run_repeatedly(**vm, mem, args.repeat);
    if (!stats) {
        fmt::print(stderr, "bpfrt exec: {}: {}\n", args.program, stats.error().message);
        return kExitFailed;
    }
    stats->engine = args.trusted ? "interp" : engine_name(engine);
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
    add_engine_option(*cmd, args->engine);
    cmd->add_flag("--trusted", args->trusted,
                  "Skip the verifier and run with every access checked (needed for the conformance helpers)");
    cmd->add_option("--log-level", args->log_level, "Verifier log on rejection: 1 the failing path, 2 every insn")
        ->check(CLI::Range(1, 2));
    cmd->add_flag("--json", args->json, "Print one JSON object: r0, runs, ns_per_run, engine");
    cmd->callback([=] { *status = exec_program(*args); });
}

}  // namespace bpfrt::cli
