// bpfrt test-run OBJ: BPF_PROG_TEST_RUN from the command line. The object's
// maps are created and one program loaded in a fresh Runtime, then run on a
// packet (a file's bytes or N zero bytes), with a context from a file
// (--ctx-in: a struct __sk_buff or xdp_md, as the kernel takes it) and the
// context and packet after the run written to files (--ctx-out, --data-out).
#include "commands.hpp"
#include "engine_option.hpp"
#include "object_cli.hpp"
#include "program_file.hpp"

#include <bpfrt/runtime.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfrt::cli {
namespace {

// The programs prog arrays' `.values` name: a tail call reaches them.
Result<void> load_tail_call_targets(ObjectFile& obj, Runtime& runtime) {
    for (const ObjectMap& map : obj.maps()) {
        if (map.type != BPF_MAP_TYPE_PROG_ARRAY) continue;
        for (const ObjectMap::SlotInit& init : map.slot_inits) {
            ObjectProgram* target = obj.find_program(init.target);
            if (target == nullptr || target->fd >= 0) continue;
            if (auto ok = obj.load_program(runtime, *target); !ok) {
                if (!target->load_log.empty()) fmt::print(stderr, "{}", target->load_log);
                return fail(ok.error().code, fmt::format("tail call target of '{}': {}", map.name, ok.error().message));
            }
        }
    }
    return {};
}

struct TestRunArgs {
    std::string object;
    std::string program;
    std::string data_file;
    std::string ctx_in_file;
    std::string ctx_out_file;
    std::string data_out_file;
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
    std::vector<std::byte> ctx_in;
    if (!args.ctx_in_file.empty()) {
        auto bytes = read_file_bytes(args.ctx_in_file);
        if (!bytes) return fail_with(bytes.error().message, kExitUsage);
        ctx_in.assign(reinterpret_cast<const std::byte*>(bytes->data()),
                      reinterpret_cast<const std::byte*>(bytes->data() + bytes->size()));
        if (ctx_in.empty()) return fail_with(fmt::format("{} is empty: no context", args.ctx_in_file), kExitUsage);
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
    if (auto ok = load_tail_call_targets(*obj, runtime); !ok) return fail_with(ok.error().message, kExitFailed);
    TestRun in;
    in.prog_fd = prog.fd;
    in.data = data;
    in.ctx = ctx_in;
    in.want_ctx_out = !args.ctx_out_file.empty();
    in.repeat = args.repeat;
    auto result = runtime.prog_test_run(in);
    if (!result) return fail_with(fmt::format("{}: {}", prog.name, result.error().message), kExitFailed);
    if (!args.ctx_out_file.empty()) {
        if (result->ctx_out.empty())
            return fail_with(fmt::format("{}: programs of this type give no context back", prog.name), kExitFailed);
        if (auto w = write_file_bytes(args.ctx_out_file, result->ctx_out.data(), result->ctx_out.size()); !w)
            return fail_with(w.error().message, kExitFailed);
    }
    if (!args.data_out_file.empty())
        if (auto w = write_file_bytes(args.data_out_file, result->data_out.data(), result->data_out.size()); !w)
            return fail_with(w.error().message, kExitFailed);
    if (args.json) {
        nlohmann::json out = {{"program", prog.name},         {"retval", result->retval},
                              {"runs", args.repeat},          {"ns_per_run", result->duration_ns},
                              {"engine", engine_name(engine)}, {"data_out", result->data_out.size()}};
        if (!args.ctx_out_file.empty()) out["ctx_out"] = result->ctx_out.size();
        fmt::print("{}\n", out.dump());
        return kExitOk;
    }
    fmt::print("retval = {:#x} ({})\n", result->retval, static_cast<int32_t>(result->retval));
    fmt::print("{} run(s), {} ns per run ({}), data_out {} bytes\n", args.repeat, result->duration_ns, engine_name(engine),
               result->data_out.size());
    if (!args.data_out_file.empty()) fmt::print("data_out written to {}\n", args.data_out_file);
    if (!args.ctx_out_file.empty())
        fmt::print("ctx_out {} bytes written to {}\n", result->ctx_out.size(), args.ctx_out_file);
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
    cmd->add_option("--ctx-in", args->ctx_in_file,
                    "File whose bytes are the context: a struct __sk_buff (socket filters, tc) or xdp_md (XDP) "
                    "with the fields the kernel accepts, or the context of syscall programs")
        ->check(CLI::ExistingFile);
    cmd->add_option("--ctx-out", args->ctx_out_file,
                    "Write the context after the run to this file (packet programs; without --ctx-in they start "
                    "from a zeroed context, as the kernel: for XDP, data_end 0 makes the whole packet fragments)");
    cmd->add_option("--data-out", args->data_out_file, "Write the packet after the run to this file");
    cmd->add_option("--repeat", args->repeat, "Run N times; report the mean time per run")
        ->check(CLI::Range(1u, 100000000u));
    add_engine_option(*cmd, args->engine);
    cmd->add_flag("--json", args->json,
                  "Print JSON: retval, runs, ns_per_run, engine, data_out (length), ctx_out (length, with --ctx-out)");
    cmd->callback([=] { *status = run_test(*args); });
}

}  // namespace bpfrt::cli
