// The maps of a loaded object, read from a Runtime and printed as tables or
// JSON with keys and values decoded by the object's BTF (bpfrt run, bpfrt
// map dump).
//
// Decoding lives in the library (ObjectFile::decode_key/decode_value, text by
// bpfrt::to_string); this file adds what only the CLI needs: JSON through
// nlohmann-json (not a dependency of libbpfrt), per-CPU slots, sorting,
// hiding zero array entries, and the protocol-indexed counters of packet
// programs.
#pragma once

#include <bpfrt/object.hpp>
#include <bpfrt/runtime.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace bpfrt::cli {

// Objects keep their members in order (struct fields as declared).
using Json = nlohmann::ordered_json;

// Numbers as JSON numbers (u64 and s64 exact), enums by name (their number
// when no enumerator matches), strings, structs as objects, arrays as
// arrays, pointers and bytes as hex strings.
Json to_json(const TypedValue& value);

struct MapEntry {
    TypedValue key;
    std::vector<TypedValue> values;  // one, or one per CPU for per-CPU maps
    std::optional<uint64_t> sum;     // per-CPU integer values: their sum
    const char* protocol = nullptr;  // protocol-indexed counters: the key's name ("tcp")
};

struct MapDump {
    const ObjectMap* map = nullptr;
    bool per_cpu = false;
    bool by_protocol = false;    // an array of 256 counters a packet program indexes by IP protocol
    uint64_t zero_entries = 0;   // array entries that are all zero, not listed
    bool truncated = false;      // more entries than MapDumpOptions::max_entries
    std::vector<MapEntry> entries;  // sorted by key
    std::optional<TypedValue> variables;  // global data: a Struct of the variables
};

struct MapDumpOptions {
    bool packet_program = false;  // read 256-entry arrays as counters by IP protocol
    size_t max_entries = 10000;   // enough for a terminal
};

// Every map of a loaded object worth printing: not ring buffers, program
// arrays and other maps without values, nor global data without variables
// (string literals).
std::vector<MapDump> dump_maps(Runtime& rt, const ObjectFile& obj, const MapDumpOptions& options);

// The table: a header line, then one line per entry ("  key: value") or
// variable ("  name = value").
std::string format_map_table(const ObjectFile& obj, const MapDump& dump);
Json map_json(const ObjectFile& obj, const MapDump& dump);

}  // namespace bpfrt::cli
