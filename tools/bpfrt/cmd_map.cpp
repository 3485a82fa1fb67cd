// bpfrt map list OBJ: the maps an ELF object defines.
#include "commands.hpp"
#include "object_cli.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfrt::cli {
namespace {

struct MapListArgs {
    std::string object;
    bool json = false;
};

const char* origin_name(MapOrigin origin) {
    switch (origin) {
        case MapOrigin::BtfDefined: return "btf";
        case MapOrigin::Legacy: return "legacy";
        case MapOrigin::GlobalData: return "global-data";
    }
    return "?";
}

int list_maps(const MapListArgs& args) {
    auto obj = ObjectFile::open(args.object);
    if (!obj) {
        fmt::print(stderr, "bpfrt map list: {}\n", obj.error().message);
        return kExitUsage;
    }
    if (args.json) {
        auto out = nlohmann::json::array();
        for (const auto& m : obj->maps())
            out.push_back({{"name", m.name},
                           {"section", m.section},
                           {"origin", origin_name(m.origin)},
                           {"type", map_type_name(m.type)},
                           {"key_size", m.key_size},
                           {"value_size", m.value_size},
                           {"max_entries", m.max_entries},
                           {"map_flags", m.map_flags},
                           {"read_only", m.read_only},
                           {"notes", m.notes}});
        fmt::print("{}\n", out.dump());
        return kExitOk;
    }
    fmt::print("{:<20} {:<16} {:>5} {:>7} {:>9} {:>7}  {}\n", "NAME", "TYPE", "KEY", "VALUE", "ENTRIES", "FLAGS",
               "ORIGIN");
    for (const auto& m : obj->maps()) {
        fmt::print("{:<20} {:<16} {:>5} {:>7} {:>9} {:>#7x}  {}{}\n", m.name, map_type_name(m.type), m.key_size,
                   m.value_size, m.max_entries, m.map_flags, origin_name(m.origin), m.read_only ? " (read-only)" : "");
        for (const auto& note : m.notes) fmt::print("    note: {}\n", note);
    }
    if (obj->globals().empty()) return kExitOk;
    fmt::print("\n{:<24} {:<16} {:>6} {:>5}\n", "GLOBAL", "SECTION", "OFFSET", "SIZE");
    for (const auto& g : obj->globals()) fmt::print("{:<24} {:<16} {:>6} {:>5}\n", g.name, g.section, g.offset, g.size);
    return kExitOk;
}

}  // namespace

void add_map_command(CLI::App& app, int* status) {
    auto* map = app.add_subcommand("map", "Inspect the maps of an ELF object");
    map->require_subcommand(1);
    auto* list = map->add_subcommand("list", "List the maps and global variables an object defines");
    auto args = std::make_shared<MapListArgs>();
    list->add_option("OBJ", args->object, "ELF object (clang -target bpf)")->required()->check(CLI::ExistingFile);
    list->add_flag("--json", args->json, "Print a JSON array");
    list->callback([=] { *status = list_maps(*args); });
}

}  // namespace bpfrt::cli
