#include "btf_format.hpp"

#include <bpfrt/bpf.h>

#include <fmt/format.h>

#include <algorithm>
#include <compare>

namespace bpfrt::cli {
namespace {

using Kind = TypedValue::Kind;

bool is_array(uint32_t type) { return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY; }
bool is_percpu(uint32_t type) {
    return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}
// Maps a host cannot read values of (or whose values mean nothing to print).
bool has_no_values(uint32_t type) {
    return type == BPF_MAP_TYPE_RINGBUF || type == BPF_MAP_TYPE_PROG_ARRAY || type == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
           type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

const char* protocol_name(uint64_t proto) {
    switch (proto) {
    case 1: return "icmp";
    case 2: return "igmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 41: return "ipv6";
    case 47: return "gre";
    case 50: return "esp";
    case 58: return "icmpv6";
    case 132: return "sctp";
    default: return nullptr;
    }
}

bool all_zero(std::span<const std::byte> bytes) {
    return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

bool is_number(const TypedValue& v) { return v.kind == Kind::Integer && !v.is_signed; }

// Keys in the order a reader expects: numbers by value, text by text,
// structs and arrays member by member.
std::strong_ordering compare(const TypedValue& a, const TypedValue& b) {
    if (a.kind != b.kind) return a.kind <=> b.kind;
    switch (a.kind) {
        case Kind::Integer:
        case Kind::Enum:
            if (a.is_signed) return a.as_signed() <=> b.as_signed();
            return a.integer <=> b.integer;
        case Kind::Bool:
        case Kind::Pointer: return a.integer <=> b.integer;
        case Kind::Float: return std::strong_order(a.real, b.real);
        case Kind::String:
        case Kind::Bytes: return a.text <=> b.text;
        case Kind::Struct:
        case Kind::Array:
            for (size_t i = 0; i < std::min(a.members.size(), b.members.size()); ++i)
                if (auto c = compare(a.members[i], b.members[i]); c != 0) return c;
            return a.members.size() <=> b.members.size();
    }
    return std::strong_ordering::equal;
}

// One entry: its key, and its value (per-CPU: each CPU's slot).
MapEntry decode_entry(const ObjectFile& obj, const ObjectMap& map, std::span<const std::byte> key,
                      std::span<const std::byte> value, bool per_cpu) {
    MapEntry e;
    e.key = obj.decode_key(map, key);
    if (!per_cpu) {
        e.values.push_back(obj.decode_value(map, value));
        return e;
    }
    const size_t stride = (size_t{map.value_size} + 7) / 8 * 8;  // slots are 8-byte aligned
    for (size_t off = 0; stride != 0 && value.size() - off >= stride; off += stride)
        e.values.push_back(obj.decode_value(map, value.subspan(off, map.value_size)));
    if (std::all_of(e.values.begin(), e.values.end(), is_number)) {
        uint64_t sum = 0;
        for (const auto& v : e.values) sum += v.integer;  // counters: wrap as the program's would
        e.sum = sum;
    }
    return e;
}

Result<MapDump> dump_global_data(Runtime& rt, const ObjectFile& obj, const ObjectMap& map) {
    MapDump dump;
    dump.map = &map;
    auto info = rt.map_info(map.fd);
    if (!info) return std::unexpected(info.error());
    const uint32_t key = 0;
    std::vector<std::byte> value(info->host_value_size);
    if (auto r = rt.map_lookup_elem({.map_fd = map.fd, .key = std::as_bytes(std::span(&key, 1))}, value); !r)
        return std::unexpected(r.error());
    dump.variables = obj.decode_value(map, value);
    return dump;
}

Result<MapDump> dump_map(Runtime& rt, const ObjectFile& obj, const ObjectMap& map, const MapDumpOptions& options) {
    if (map.origin == MapOrigin::GlobalData) return dump_global_data(rt, obj, map);
    MapDump dump;
    dump.map = &map;
    dump.per_cpu = is_percpu(map.type);
    auto info = rt.map_info(map.fd);
    if (!info) return std::unexpected(info.error());
    std::vector<std::byte> key(map.key_size), next(map.key_size), value(info->host_value_size);
    for (bool first = true;; first = false) {
        MapGetNextKey in{.map_fd = map.fd};
        if (!first) in.key = std::span<const std::byte>(key);
        if (!rt.map_get_next_key(in, next)) break;  // ENOENT: the end
        key = next;
        if (!rt.map_lookup_elem({.map_fd = map.fd, .key = key}, value)) continue;  // deleted meanwhile
        if (is_array(map.type) && all_zero(value)) {
            ++dump.zero_entries;
            continue;
        }
        if (dump.entries.size() >= options.max_entries) {
            dump.truncated = true;
            break;
        }
        dump.entries.push_back(decode_entry(obj, map, key, value, dump.per_cpu));
    }
    std::stable_sort(dump.entries.begin(), dump.entries.end(),
                     [](const MapEntry& a, const MapEntry& b) { return compare(a.key, b.key) < 0; });
    dump.by_protocol = options.packet_program && is_array(map.type) && map.key_size == 4 && map.max_entries == 256;
    if (dump.by_protocol)
        for (MapEntry& e : dump.entries)
            if (e.key.kind == Kind::Integer) e.protocol = protocol_name(e.key.integer);
    return dump;
}

// "struct flow_key", or "4 B" without a type.
std::string type_or_size(const ObjectFile& obj, uint32_t type_id, uint32_t size) {
    std::string name = obj.btf_type_name(type_id);
    return name.empty() ? fmt::format("{} B", size) : name;
}

std::string value_text(const MapEntry& e) {
    if (e.values.size() == 1) return to_string(e.values.front());
    std::string cpus;
    for (size_t i = 0; i < e.values.size(); ++i)
        cpus += fmt::format("{}cpu{}={}", i ? " " : "", i, to_string(e.values[i]));
    return e.sum ? fmt::format("{} ({})", *e.sum, cpus) : cpus;
}

// The protocol's counter of a protocol-indexed map: the sum over CPUs, or the value.
std::optional<uint64_t> counter(const MapEntry& e) {
    if (e.sum) return e.sum;
    if (e.values.size() == 1 && is_number(e.values.front())) return e.values.front().integer;
    return std::nullopt;
}

}  // namespace

Json to_json(const TypedValue& v) {
    switch (v.kind) {
        case Kind::Integer:
            if (v.is_signed) return v.as_signed();
            return v.integer;
        case Kind::Bool: return v.integer != 0;
        case Kind::Float: return v.real;
        case Kind::Enum:
            if (!v.text.empty()) return v.text;
            if (v.is_signed) return v.as_signed();
            return v.integer;
        case Kind::String:
        case Kind::Bytes: return v.text;
        case Kind::Pointer: return fmt::format("{:#x}", v.integer);
        case Kind::Struct: {
            Json out = Json::object();
            for (const auto& m : v.members) out[m.name] = to_json(m);
            return out;
        }
        case Kind::Array: {
            Json out = Json::array();
            for (const auto& m : v.members) out.push_back(to_json(m));
            return out;
        }
    }
    return nullptr;
}

std::vector<MapDump> dump_maps(Runtime& rt, const ObjectFile& obj, const MapDumpOptions& options) {
    std::vector<MapDump> out;
    for (const ObjectMap& m : obj.maps()) {
        if (m.fd < 0 || has_no_values(m.type)) continue;
        auto dump = dump_map(rt, obj, m, options);
        if (!dump) continue;
        if (dump->variables && dump->variables->kind != Kind::Struct) continue;  // string literals
        out.push_back(std::move(*dump));
    }
    return out;
}

std::string format_map_table(const ObjectFile& obj, const MapDump& t) {
    const ObjectMap& m = *t.map;
    std::string out;
    if (t.variables) {
        out += fmt::format("global data {} ({} B{}):\n", m.name, m.value_size, m.read_only ? ", read-only" : "");
        for (const TypedValue& var : t.variables->members) out += fmt::format("  {} = {}\n", var.name, to_string(var));
        return out;
    }
    out += fmt::format("map {} ({}, {} entries, key {}, value {}):\n", m.name, map_type_name(m.type), m.max_entries,
                       type_or_size(obj, m.btf_key_type_id, m.key_size),
                       type_or_size(obj, m.btf_value_type_id, m.value_size));
    if (t.entries.empty()) out += "  (empty)\n";
    // Protocol-indexed counters: named protocols one per line, the rest summed
    // (non-IP frames give arbitrary "protocols" to a filter reading byte 23).
    uint64_t other_sum = 0, other_count = 0;
    for (const MapEntry& e : t.entries) {
        const auto count = counter(e);
        if (t.by_protocol && !e.protocol && e.key.kind == Kind::Integer && count) {
            other_sum += *count;
            ++other_count;
        } else if (t.by_protocol && e.protocol) {
            out += fmt::format("  proto {} ({}): {}\n", to_string(e.key), e.protocol, value_text(e));
        } else {
            out += fmt::format("  {}: {}\n", to_string(e.key), value_text(e));
        }
    }
    if (other_count != 0)
        out += fmt::format("  other protocol numbers ({} of them, --json lists each): {}\n", other_count, other_sum);
    if (t.zero_entries != 0) out += fmt::format("  ({} zero entries not shown)\n", t.zero_entries);
    if (t.truncated) out += fmt::format("  (more entries not shown: the first {} are)\n", t.entries.size());
    return out;
}

Json map_json(const ObjectFile& obj, const MapDump& t) {
    const ObjectMap& m = *t.map;
    Json out = {{"name", m.name},
                          {"type", map_type_name(m.type)},
                          {"key_size", m.key_size},
                          {"value_size", m.value_size},
                          {"max_entries", m.max_entries}};
    if (const auto key_type = obj.btf_type_name(m.btf_key_type_id); !key_type.empty()) out["key_type"] = key_type;
    if (const auto value_type = obj.btf_type_name(m.btf_value_type_id); !value_type.empty())
        out["value_type"] = value_type;
    if (t.variables) {
        out["global_data"] = true;
        out["read_only"] = m.read_only;
        out["variables"] = to_json(*t.variables);
        return out;
    }
    Json entries = Json::array();
    for (const MapEntry& e : t.entries) {
        Json j = {{"key", to_json(e.key)}};
        if (e.values.size() == 1) {
            j["value"] = to_json(e.values.front());
        } else {
            if (e.sum) j["value"] = *e.sum;
            Json cpus = Json::array();
            for (const auto& v : e.values) cpus.push_back(to_json(v));
            j["cpus"] = std::move(cpus);
        }
        if (e.protocol) j["protocol"] = e.protocol;
        entries.push_back(std::move(j));
    }
    out["entries"] = std::move(entries);
    out["zero_entries_not_shown"] = t.zero_entries;
    if (t.truncated) out["truncated"] = true;
    return out;
}

}  // namespace bpfrt::cli
