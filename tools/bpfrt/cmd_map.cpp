// bpfrt map list OBJ: the maps an ELF object defines, with the BTF types of
// their keys and values, and its global variables with their initial values.
// bpfrt map dump OBJ: the maps as a program would find them at its first
// run (global data written, the rest empty), printed as `bpfrt run` prints
// them after its run (btf_format.hpp).
#include "btf_format.hpp"
#include "commands.hpp"
#include "object_cli.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace bpfrt::cli {
namespace {

struct MapArgs {
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

// A global's initial value, decoded with its BTF type.
TypedValue initial_value(const ObjectFile& obj, const GlobalVariable& g) {
    const ObjectMap* map = obj.find_map(g.section);
    if (!map || map->initial.size() < size_t{g.offset} + g.size) return {};
    return obj.decode(g.btf_type_id, std::span(map->initial).subspan(g.offset, g.size));
}

Json list_json(const ObjectFile& obj) {
    auto out = Json::array();
    for (const auto& m : obj.maps()) {
        Json j = {{"name", m.name},
                            {"section", m.section},
                            {"origin", origin_name(m.origin)},
                            {"type", map_type_name(m.type)},
                            {"key_size", m.key_size},
                            {"value_size", m.value_size},
                            {"max_entries", m.max_entries},
                            {"map_flags", m.map_flags},
                            {"read_only", m.read_only},
                            {"notes", m.notes}};
        if (const auto key = obj.btf_type_name(m.btf_key_type_id); !key.empty()) j["key_type"] = key;
        if (const auto value = obj.btf_type_name(m.btf_value_type_id); !value.empty()) j["value_type"] = value;
        out.push_back(std::move(j));
    }
    return out;
}

int list_maps(const MapArgs& args) {
    auto obj = ObjectFile::open(args.object);
    if (!obj) {
        fmt::print(stderr, "bpfrt map list: {}\n", obj.error().message);
        return kExitUsage;
    }
    if (args.json) {
        fmt::print("{}\n", list_json(*obj).dump());
        return kExitOk;
    }
    fmt::print("{:<20} {:<16} {:>5} {:>7} {:>9} {:>7}  {}\n", "NAME", "TYPE", "KEY", "VALUE", "ENTRIES", "FLAGS",
               "ORIGIN");
    for (const auto& m : obj->maps()) {
        fmt::print("{:<20} {:<16} {:>5} {:>7} {:>9} {:>#7x}  {}{}\n", m.name, map_type_name(m.type), m.key_size,
                   m.value_size, m.max_entries, m.map_flags, origin_name(m.origin), m.read_only ? " (read-only)" : "");
        const auto key = obj->btf_type_name(m.btf_key_type_id);
        const auto value = obj->btf_type_name(m.btf_value_type_id);
        if (!key.empty() || (!value.empty() && m.origin != MapOrigin::GlobalData))
            fmt::print("    key {}, value {}\n", key.empty() ? "(no type)" : key, value.empty() ? "(no type)" : value);
        for (const auto& note : m.notes) fmt::print("    note: {}\n", note);
    }
    if (obj->globals().empty()) return kExitOk;
    fmt::print("\n{:<24} {:<16} {:>6} {:>5}  {}\n", "GLOBAL", "SECTION", "OFFSET", "SIZE", "INITIAL VALUE");
    for (const auto& g : obj->globals())
        fmt::print("{:<24} {:<16} {:>6} {:>5}  {}  ({})\n", g.name, g.section, g.offset, g.size,
                   to_string(initial_value(*obj, g)), obj->btf_type_name(g.btf_type_id));
    return kExitOk;
}

int dump_object_maps(const MapArgs& args) {
    Runtime rt;  // before the object: ~ObjectFile closes its handles in it
    auto obj = ObjectFile::open(args.object);
    if (!obj) {
        fmt::print(stderr, "bpfrt map dump: {}\n", obj.error().message);
        return kExitUsage;
    }
    if (auto created = obj->create_maps(rt); !created) {
        fmt::print(stderr, "bpfrt map dump: {}\n", created.error().message);
        return kExitFailed;
    }
    const auto maps = dump_maps(rt, *obj, {});
    if (args.json) {
        auto out = Json::array();
        for (const MapDump& m : maps) out.push_back(map_json(*obj, m));
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    for (const MapDump& m : maps) fmt::print("{}", format_map_table(*obj, m));
    return kExitOk;
}

void add_object_argument(CLI::App& cmd, MapArgs& args, const char* json_help) {
    cmd.add_option("OBJ", args.object, "ELF object (clang -target bpf)")->required()->check(CLI::ExistingFile);
    cmd.add_flag("--json", args.json, json_help);
}

}  // namespace

void add_map_command(CLI::App& app, int* status) {
    auto* map = app.add_subcommand("map", "Inspect the maps of an ELF object");
    map->require_subcommand(1);
    auto* list = map->add_subcommand("list", "List the maps (with key and value types) and global variables (with "
                                             "initial values) an object defines");
    auto list_args = std::make_shared<MapArgs>();
    add_object_argument(*list, *list_args, "Print a JSON array");
    list->callback([=] { *status = list_maps(*list_args); });
    auto* dump = map->add_subcommand("dump", "Create the maps of an object and print their contents (global "
                                             "variables by name), as bpfrt run prints them");
    auto dump_args = std::make_shared<MapArgs>();
    add_object_argument(*dump, *dump_args, "Print a JSON array of maps");
    dump->callback([=] { *status = dump_object_maps(*dump_args); });
}

}  // namespace bpfrt::cli
