// bpfrt test-run OBJ: BPF_PROG_TEST_RUN from the command line. The object's
// maps are created and one program loaded in a fresh Runtime, then run on a
// packet (a file's bytes or N zero bytes).
#include "commands.hpp"
#include "engine_option.hpp"
#include "object_cli.hpp"
#include "program_file.hpp"

#include <bpfrt/runtime.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfrt::cli {
namespace {

struct TestRunArgs {
    std::string object;
    std::string program;
    std::string data_file;
    size_t size = 64;
    uint32_t repeat = 1;
    std::string engine = "auto";
    bool json = false;
};

int fail_with(const std::string& message, int code) {
    fmt::print(stderr, "bpfrt test-run: {}\n", message);
    return code;
}

int run_test(const TestRunArgs& args) {
    std::vector<std::byte> data(args.size);
    if (!args.data_file.empty()) {
        auto bytes = read_file_bytes(args.data_file);
        if (!bytes) return fail_with(bytes.error().message, kExitUsage);
        data.assign(reinterpret_cast<const std::byte*>(bytes->data()),
                    reinterpret_cast<const std::byte*>(bytes->data() + bytes->size()));
    }
    Runtime runtime;  // before the object: its handles close first
    const jit::Engine engine = parse_engine(args.engine);
    runtime.set_engine(engine);
    auto obj = ObjectFile::open(args.object);
    if (!obj) return fail_with(obj.error().message, kExitUsage);
    auto progs = select_programs(*obj, args.program);
    if (!progs) return fail_with(progs.error().message, kExitUsage);
    if (progs->size() != 1)
        return fail_with(fmt::format("{} has {} programs; choose one with --program", args.object, progs->size()),
                         kExitUsage);
    ObjectProgram& prog = *progs->front();
    if (auto ok = obj->load_program(runtime, prog); !ok) {
        if (!prog.load_log.empty()) fmt::print(stderr, "{}", prog.load_log);
        return fail_with(ok.error().message, kExitFailed);
    }
    TestRun in;
    in.prog_fd = prog.fd;
    in.data = data;
    in.repeat = args.repeat;
    auto result = runtime.prog_test_run(in);
    if (!result) return fail_with(fmt::format("{}: {}", prog.name, result.error().message), kExitFailed);
    if (args.json) {
        const nlohmann::json out = {{"program", prog.name},         {"retval", result->retval},
                                    {"runs", args.repeat},          {"ns_per_run", result->duration_ns},
                                    {"engine", engine_name(engine)}, {"data_out", result->data_out.size()}};
        fmt::print("{}\n", out.dump());
        return kExitOk;
    }
    fmt::print("retval = {:#x} ({})\n", result->retval, static_cast<int32_t>(result->retval));
    fmt::print("{} run(s), {} ns per run ({}), data_out {} bytes\n", args.repeat, result->duration_ns, engine_name(engine),
               result->data_out.size());
    return kExitOk;
}

}  // namespace

void add_test_run_command(CLI::App& app, int* status) {
    auto* cmd = app.add_subcommand("test-run", "Load a program of an ELF object and run it on a packet "
                                               "(BPF_PROG_TEST_RUN)");
    auto args = std::make_shared<TestRunArgs>();
    cmd->add_option("OBJ", args->object, "ELF object (clang -target bpf)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--program", args->program, "The program to run (needed when the object has several)");
    auto* data = cmd->add_option("--data", args->data_file, "File whose bytes are the packet")
                     ->check(CLI::ExistingFile);
    cmd->add_option("--size", args->size, "Run on N zero bytes (default 64)")
        ->check(CLI::Range(1, 65535))
        ->excludes(data);
    cmd->add_option("--repeat", args->repeat, "Run N times; report the mean time per run")
        ->check(CLI::Range(1u, 100000000u));
    add_engine_option(*cmd, args->engine);
    cmd->add_flag("--json", args->json, "Print JSON: retval, runs, ns_per_run, engine, data_out (length)");
    cmd->callback([=] { *status = run_test(*args); });
}

}  // namespace bpfrt::cli
