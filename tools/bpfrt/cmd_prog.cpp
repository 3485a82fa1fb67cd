// bpfrt prog list OBJ: the programs of an ELF object.
#include "commands.hpp"
#include "object_cli.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfrt::cli {
namespace {

struct ProgListArgs {
    std::string object;
    bool json = false;
};

int list_programs(const ProgListArgs& args) {
    auto obj = ObjectFile::open(args.object);
    if (!obj) {
        fmt::print(stderr, "bpfrt prog list: {}\n", obj.error().message);
        return kExitUsage;
    }
    if (args.json) {
        auto out = nlohmann::json::array();
        for (const auto& p : obj->programs())
            out.push_back({{"name", p.name},
                           {"section", p.section},
                           {"type", program_type_name(p.type)},
                           {"insns", p.insns.size()},
                           {"autoload", p.autoload},
                           {"map_references", p.map_refs.size()},
                           {"line_info", p.line_info.size()}});
        fmt::print("{}\n", out.dump());
        return kExitOk;
    }
    fmt::print("{:<24} {:<24} {:<16} {:>6} {:>5} {:>9}  {}\n", "NAME", "SECTION", "TYPE", "INSNS", "MAPS",
               "LINEINFO", "KIND");
    for (const auto& p : obj->programs())
        fmt::print("{:<24} {:<24} {:<16} {:>6} {:>5} {:>9}  {}\n", p.name, p.section, program_type_name(p.type),
                   p.insns.size(), p.map_refs.size(), p.line_info.size(), p.autoload ? "program" : "subprogram");
    fmt::print("license: \"{}\"", obj->license());
    if (auto v = obj->kernel_version()) fmt::print(", kernel version {:#x}", *v);
    fmt::print("\n");
    return kExitOk;
}

}  // namespace

void add_prog_command(CLI::App& app, int* status) {
    auto* prog = app.add_subcommand("prog", "Inspect the programs of an ELF object");
    prog->require_subcommand(1);
    auto* list = prog->add_subcommand("list", "List the programs of an object: name, section, type, size");
    auto args = std::make_shared<ProgListArgs>();
    list->add_option("OBJ", args->object, "ELF object (clang -target bpf)")->required()->check(CLI::ExistingFile);
    list->add_flag("--json", args->json, "Print a JSON array");
    list->callback([=] { *status = list_programs(*args); });
}

}  // namespace bpfrt::cli
