// bpfrt verify OBJ: bpfrt's verifier on the programs of an ELF object (or
// on a raw/assembly program with --type). Exit 0 accepted, 1 rejected, 2
// usage or load errors. As a privileged BPF_PROG_LOAD without flags on
// x86-64: alignment is checked only with --strict-alignment.
#include "commands.hpp"
#include "object_cli.hpp"
#include "program_file.hpp"
#include "verifier/verifier.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfrt::cli {
namespace {

struct VerifyArgs {
    std::string input;
    std::string program;
    std::string type;
    uint32_t log_level = 1;
    bool unprivileged = false;
    bool strict_alignment = false;  // BPF_F_STRICT_ALIGNMENT; off as the kernel on x86-64
    bool json = false;
};

struct Verdict {
    std::string name;
    std::string section;
    uint32_t type = 0;
    ObjectVerdict result;
};

Result<std::vector<Verdict>> verify_object(const VerifyArgs& args, std::optional<uint32_t> type) {
    auto obj = ObjectFile::open(args.input);
    if (!obj) return std::unexpected(obj.error());
    auto progs = select_programs(*obj, args.program);
    if (!progs) return std::unexpected(progs.error());
    std::vector<Verdict> out;
    for (const ObjectProgram* p : *progs) {
        ObjectVerifyOptions opt;
        opt.prog_type = type;
        opt.log_level = args.log_level;
        opt.privileged = !args.unprivileged;
        opt.strict_alignment = args.strict_alignment;
        auto r = obj->verify(*p, opt);
        if (!r) return std::unexpected(r.error());
        out.push_back({p->name, p->section, type.value_or(p->type), std::move(*r)});
    }
    return out;
}

// Raw bytecode or assembly: no maps, the type from --type.
Result<std::vector<Verdict>> verify_plain(const VerifyArgs& args, std::optional<uint32_t> type) {
    if (!type) return fail(EINVAL, "a raw or assembly program needs --type (xdp, socket_filter, ...)");
    auto insns = read_program(args.input);
    if (!insns) return std::unexpected(insns.error());
    verifier::VerifyInput in;
    in.insns = *insns;
    in.prog_type = *type;
    in.license = "GPL";
    in.privileged = !args.unprivileged;
    in.strict_alignment = args.strict_alignment;
    in.log_level = args.log_level;
    const auto r = verifier::verify(in);
    return std::vector<Verdict>{{args.input, "", *type,
                                 ObjectVerdict{r.accepted, r.error_code, r.message, r.log, r.processed_insns,
                                               r.max_stack_depth, r.time_ns}}};
}

void print(const VerifyArgs& args, const std::vector<Verdict>& verdicts, bool all_accepted) {
    if (args.json) {
        nlohmann::json progs = nlohmann::json::array();
        uint64_t processed = 0;
        double time_ns = 0;
        std::string log;
        for (const auto& v : verdicts) {
            processed += v.result.processed_insns;
            time_ns += v.result.time_ns;
            log += v.result.log;
            progs.push_back({{"program", v.name},
                             {"section", v.section},
                             {"type", program_type_name(v.type)},
                             {"verdict", v.result.accepted ? "accepted" : "rejected"},
                             {"error", v.result.message},
                             {"processed_insns", v.result.processed_insns},
                             {"max_stack_depth", v.result.max_stack_depth},
                             {"time_ns", v.result.time_ns},
                             {"log", v.result.log}});
        }
        const nlohmann::json out = {{"verdict", all_accepted ? "accepted" : "rejected"},
                                    {"processed_insns", processed},
                                    {"time_ns", time_ns},
                                    {"log", log},
                                    {"programs", progs}};
        fmt::print("{}\n", out.dump(2));
        return;
    }
    for (const auto& v : verdicts) {
        if (!v.result.accepted || args.log_level >= 2) fmt::print("{}", v.result.log);
        fmt::print("{}: {} ({} insns processed, {:.1f} us){}{}\n", v.name,
                   v.result.accepted ? "accepted" : "rejected", v.result.processed_insns, v.result.time_ns / 1000,
                   v.result.accepted ? "" : ": ", v.result.message);
    }
}

int run_verify(const VerifyArgs& args) {
    std::optional<uint32_t> type;
    if (!args.type.empty()) {
        type = program_type_by_name(args.type);
        if (!type) {
            fmt::print(stderr, "bpfrt verify: unknown program type '{}'\n", args.type);
            return kExitUsage;
        }
    }
    auto verdicts = is_elf_file(args.input) ? verify_object(args, type) : verify_plain(args, type);
    if (!verdicts) {
        fmt::print(stderr, "bpfrt verify: {}\n", verdicts.error().message);
        return kExitUsage;
    }
    const bool all = std::all_of(verdicts->begin(), verdicts->end(), [](auto& v) { return v.result.accepted; });
    print(args, *verdicts, all);
    return all ? kExitOk : kExitFailed;
}

}  // namespace

void add_verify_command(CLI::App& app, int* status) {
    auto* cmd = app.add_subcommand("verify", "Run bpfrt's verifier on the programs of an ELF object "
                                             "(exit 0 accepted, 1 rejected, 2 error)");
    auto args = std::make_shared<VerifyArgs>();
    cmd->add_option("OBJ", args->input, "ELF object (or raw bytecode / assembly with --type)")
        ->required()
        ->check(CLI::ExistingFile);
    cmd->add_option("--program", args->program, "Verify only this program (default: every program)");
    cmd->add_option("--type", args->type, "Program type instead of the section's (xdp, socket_filter, sched_cls...)");
    cmd->add_option("--log-level", args->log_level, "Verifier log level: 0 none, 1 failures, 2 every instruction")
        ->check(CLI::Range(0, 2));
    cmd->add_flag("--unprivileged", args->unprivileged, "Apply the rules for unprivileged users");
    cmd->add_flag("--strict-alignment", args->strict_alignment,
                  "Require aligned packet, context and map value accesses (BPF_F_STRICT_ALIGNMENT; "
                  "by default off, as the kernel on x86-64)");
    cmd->add_flag("--json", args->json, "Print JSON: verdict, processed_insns, time_ns, log, programs");
    cmd->callback([=] { *status = run_verify(*args); });
}

}  // namespace bpfrt::cli
