// bpfrt run: load an ELF object and run one of its packet programs over every
// packet of a capture file or a live interface, then print a summary (packets,
// verdicts, rate) and every map of the object.
//
// Map tables: keys and values of 4 or 8 bytes are shown as integers, others
// in hex (the loader does not expose BTF types of keys and values yet); an
// ARRAY / PERCPU_ARRAY with 4-byte keys and 256 entries in a packet program is
// read as indexed by IP protocol ("proto 6 (tcp): N"); per-CPU values are
// summed over the CPU slots; zero entries of arrays are not listed.
#include "commands.hpp"
#include "engine_option.hpp"

#include "attach/packet_io.hpp"
#include "attach/packet_runner.hpp"

#include <bpfrt/object.hpp>
#include <bpfrt/runtime.hpp>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bpfrt::cli {
namespace {

struct RunArgs {
    std::string object;
    std::string program;
    std::string pcap;
    std::string interface;
    uint64_t count = 0;
    std::string out;
    bool trace = false;
    bool json = false;
    std::string engine = "auto";
    std::string pkt_type = "outgoing";
    bool network_view = false;
};

struct Totals {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t kept = 0;
    uint64_t kept_bytes = 0;
    uint64_t written = 0;
    std::map<std::string, uint64_t> actions;  // XDP
    double seconds = 0;
};

std::optional<uint32_t> pkt_type_by_name(const std::string& name) {
    static const std::map<std::string, uint32_t> kTypes = {
        {"host", PACKET_HOST},         {"broadcast", PACKET_BROADCAST}, {"multicast", PACKET_MULTICAST},
        {"otherhost", PACKET_OTHERHOST}, {"outgoing", PACKET_OUTGOING},
    };
    auto it = kTypes.find(name);
    if (it == kTypes.end()) return std::nullopt;
    return it->second;
}

const char* protocol_name(uint32_t proto) {
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

bool is_array(uint32_t type) { return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY; }
bool is_percpu(uint32_t type) {
    return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

std::string hex(const std::byte* p, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", std::to_integer<unsigned>(p[i]));
    return s;
}

// An integer of 1, 2, 4 or 8 bytes (host order), or nullopt.
std::optional<uint64_t> as_integer(const std::byte* p, size_t n) {
    uint64_t v = 0;
    if (n != 1 && n != 2 && n != 4 && n != 8) return std::nullopt;
    std::memcpy(&v, p, n);
    return v;
}

struct MapEntry {
    std::string key;
    std::string value;
    std::optional<uint64_t> key_int;
    std::optional<uint64_t> value_int;
    const char* proto = nullptr;
};

struct MapTable {
    const ObjectMap* map = nullptr;
    bool by_protocol = false;
    uint64_t hidden_zero = 0;
    std::vector<MapEntry> entries;
};

// Sums the 8-byte-rounded slots of a per-CPU value of `value_size` bytes.
std::vector<std::byte> sum_slots(const std::vector<std::byte>& all, uint32_t value_size) {
    const size_t stride = (value_size + 7) / 8 * 8;
    std::vector<std::byte> sum(value_size);
    if (value_size != 8 && value_size != 4) {
        std::copy_n(all.begin(), value_size, sum.begin());  // not numbers: show the first slot
        return sum;
    }
    uint64_t total = 0;
    for (size_t off = 0; off + value_size <= all.size(); off += stride) total += *as_integer(&all[off], value_size);
    std::memcpy(sum.data(), &total, value_size);
    return sum;
}

Result<MapTable> read_map(Runtime& rt, const ObjectMap& map, bool packet_program) {
    MapTable table;
    table.map = &map;
    table.by_protocol = packet_program && is_array(map.type) && map.key_size == 4 && map.max_entries == 256;
    auto info = rt.map_info(map.fd);
    if (!info) return std::unexpected(info.error());
    std::vector<std::byte> key(map.key_size), next(map.key_size), value(info->host_value_size);
    bool first = true;
    while (true) {
        MapGetNextKey in{.map_fd = map.fd};
        if (!first) in.key = std::span<const std::byte>(key);
        auto r = rt.map_get_next_key(in, next);
        if (!r) break;  // ENOENT: the end
        first = false;
        key = next;
        if (!rt.map_lookup_elem({.map_fd = map.fd, .key = key}, value)) continue;
        std::vector<std::byte> shown = is_percpu(map.type) ? sum_slots(value, map.value_size) : value;
        MapEntry e;
        e.key_int = as_integer(key.data(), key.size());
        e.value_int = as_integer(shown.data(), shown.size());
        if (is_array(map.type) && std::all_of(shown.begin(), shown.end(), [](std::byte b) { return b == std::byte{0}; })) {
            ++table.hidden_zero;
            continue;
        }
        e.key = e.key_int ? std::to_string(*e.key_int) : hex(key.data(), key.size());
        e.value = e.value_int ? std::to_string(*e.value_int) : hex(shown.data(), shown.size());
        if (table.by_protocol && e.key_int) e.proto = protocol_name(static_cast<uint32_t>(*e.key_int));
        table.entries.push_back(std::move(e));
        if (table.entries.size() >= 10000) break;  // enough for a terminal
    }
    return table;
}

void print_table(const MapTable& t) {
    const ObjectMap& m = *t.map;
    fmt::print("map {} ({}, {} entries, key {} B, value {} B{}):\n", m.name, map_type_name(m.type), m.max_entries,
               m.key_size, m.value_size, is_percpu(m.type) ? ", summed over CPUs" : "");
    if (t.entries.empty()) fmt::print("  (empty)\n");
    // Protocol-indexed counters: named protocols one per line, the rest summed
    // (non-IP frames give arbitrary "protocols" to a filter reading byte 23).
    uint64_t other_sum = 0, other_count = 0;
    for (const MapEntry& e : t.entries) {
        if (t.by_protocol && e.proto == nullptr && e.value_int) {
            other_sum += *e.value_int;
            ++other_count;
        } else if (t.by_protocol) {
            fmt::print("  proto {} ({}): {}\n", e.key, e.proto ? e.proto : "?", e.value);
        } else {
            fmt::print("  {}: {}\n", e.key, e.value);
        }
    }
    if (other_count != 0)
        fmt::print("  other protocol numbers ({} of them, --json lists each): {}\n", other_count, other_sum);
    if (t.hidden_zero != 0) fmt::print("  ({} zero entries not shown)\n", t.hidden_zero);
}

nlohmann::json table_json(const MapTable& t) {
    nlohmann::json entries = nlohmann::json::array();
    for (const MapEntry& e : t.entries) {
        nlohmann::json j;
        if (e.key_int) j["key"] = *e.key_int; else j["key"] = e.key;
        if (e.value_int) j["value"] = *e.value_int; else j["value"] = e.value;
        if (e.proto) j["protocol"] = e.proto;
        entries.push_back(std::move(j));
    }
    return {{"name", t.map->name},          {"type", map_type_name(t.map->type)}, {"key_size", t.map->key_size},
            {"value_size", t.map->value_size}, {"max_entries", t.map->max_entries}, {"entries", entries},
            {"zero_entries_not_shown", t.hidden_zero}};
}

// The program to run: --program, else the only packet program of the object.
Result<ObjectProgram*> pick_program(ObjectFile& obj, const std::string& name) {
    if (!name.empty()) {
        ObjectProgram* p = obj.find_program(name);
        if (p == nullptr) return fail(EINVAL, fmt::format("{} has no program '{}'", obj.name(), name));
        return p;
    }
    std::vector<ObjectProgram*> packet;
    for (ObjectProgram& p : obj.programs()) {
        const bool is_packet = p.type == BPF_PROG_TYPE_SOCKET_FILTER || p.type == BPF_PROG_TYPE_XDP ||
                               p.type == BPF_PROG_TYPE_SCHED_CLS || p.type == BPF_PROG_TYPE_SCHED_ACT;
        if (is_packet && p.autoload) packet.push_back(&p);
    }
    if (packet.empty()) return fail(EINVAL, fmt::format("{} has no packet program (socket, xdp, tc)", obj.name()));
    if (packet.size() > 1) {
        std::string names;
        for (auto* p : packet) names += " " + p->name;
        return fail(EINVAL, fmt::format("{} has several packet programs, choose one with --program:{}", obj.name(), names));
    }
    return packet.front();
}

class Progress {
public:
    explicit Progress(const attach::PacketSource& source) : source_(source), on_(isatty(STDERR_FILENO) != 0) {}
    void update(uint64_t packets) {
        if (!on_ || (packets & 1023) != 0) return;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::milliseconds(100)) return;
        last_ = now;
        const uint64_t total = source_.total_size();
        if (total == 0) {
            std::fprintf(stderr, "\r%llu packets", static_cast<unsigned long long>(packets));
        } else {
            const double f = std::min(1.0, static_cast<double>(source_.position()) / static_cast<double>(total));
            const int width = 40, filled = static_cast<int>(f * width);
            std::fprintf(stderr, "\r[%s%s] %3d%% %llu packets", std::string(static_cast<size_t>(filled), '#').c_str(),
                         std::string(static_cast<size_t>(width - filled), ' ').c_str(), static_cast<int>(f * 100),
                         static_cast<unsigned long long>(packets));
        }
        shown_ = true;
    }
    ~Progress() {
        if (shown_) std::fprintf(stderr, "\r%*s\r", 70, "");
    }

private:
    const attach::PacketSource& source_;
    bool on_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_{};
};

int fail_with(const Error& e, int code) {
    fmt::print(stderr, "bpfrt run: {}\n", e.message);
    return code;
}

int run(const RunArgs& args) {
    if (args.pcap.empty() == args.interface.empty()) {
        fmt::print(stderr, "bpfrt run: give exactly one of --pcap FILE and --interface IF\n");
        return kExitUsage;
    }
    const auto pkt_type = pkt_type_by_name(args.pkt_type);
    if (!pkt_type) {
        fmt::print(stderr, "bpfrt run: unknown --pkt-type '{}' (host, broadcast, multicast, otherhost, outgoing)\n",
                   args.pkt_type);
        return kExitUsage;
    }
    Runtime rt;  // before the object: ~ObjectFile closes its handles in it
    auto obj = ObjectFile::open(args.object);
    if (!obj) return fail_with(obj.error(), kExitUsage);
    auto chosen = pick_program(*obj, args.program);
    if (!chosen) return fail_with(chosen.error(), kExitUsage);
    // Only the chosen program is loaded (others may be of types that cannot run here).
    for (ObjectProgram& p : obj->programs()) p.autoload = (&p == *chosen);
    rt.set_engine(parse_engine(args.engine));
    if (auto loaded = obj->load(rt); !loaded) return fail_with(loaded.error(), kExitFailed);
    const ObjectProgram& prog = **chosen;

    if (args.trace)
        rt.set_trace_callback([](std::string_view program, std::string_view message) {
            fmt::print("trace: {}: {}\n", program, message);
        });
    else
        rt.set_trace_callback([](std::string_view, std::string_view) {});

    attach::PacketRunOptions options;
    options.pkt_type = *pkt_type;
    options.view = args.network_view ? runtime::SkbView::Network : runtime::SkbView::Ethernet;
    options.engine = attach::Engine::AsLoaded;
    auto runner = attach::PacketRunner::create(rt, prog.fd, options);
    if (!runner) return fail_with(runner.error(), kExitFailed);

    auto source = args.pcap.empty() ? attach::open_live_capture(args.interface, 1000, args.count)
                                    : attach::open_capture_file(args.pcap);
    if (!source) return fail_with(source.error(), kExitUsage);
    std::unique_ptr<attach::PacketSink> sink;
    if (!args.out.empty()) {
        auto created = attach::PacketSink::create(args.out, (*source)->link_type());
        if (!created) return fail_with(created.error(), kExitUsage);
        sink = std::move(*created);
    }

    Totals totals;
    const bool xdp = (*runner)->is_xdp();
    {
        Progress progress(**source);
        attach::Packet packet;
        const auto start = std::chrono::steady_clock::now();
        while (args.count == 0 || totals.packets < args.count) {
            auto more = (*source)->next(packet);
            if (!more) return fail_with(more.error(), kExitFailed);
            if (!*more) break;
            auto verdict = (*runner)->run(packet.data);
            if (!verdict) return fail_with(verdict.error(), kExitFailed);
            ++totals.packets;
            totals.bytes += packet.data.size();
            if (xdp) ++totals.actions[attach::xdp_action_name(verdict->r0)];
            if (verdict->keep) {
                ++totals.kept;
                totals.kept_bytes += verdict->out.size();
                if (sink) {
                    const uint32_t wire = xdp ? static_cast<uint32_t>(verdict->out.size()) : packet.wire_len;
                    if (auto w = sink->write(verdict->out, wire, packet.timestamp_ns); !w)
                        return fail_with(w.error(), kExitFailed);
                    ++totals.written;
                }
            }
            progress.update(totals.packets);
        }
        totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (sink)
        if (auto closed = sink->close(); !closed) return fail_with(closed.error(), kExitFailed);

    std::vector<MapTable> tables;
    for (const ObjectMap& m : obj->maps()) {
        if (m.origin == MapOrigin::GlobalData || m.type == BPF_MAP_TYPE_RINGBUF || m.type == BPF_MAP_TYPE_PROG_ARRAY)
            continue;
        auto t = read_map(rt, m, true);
        if (t) tables.push_back(std::move(*t));
    }

    const double rate = totals.seconds > 0 ? static_cast<double>(totals.packets) / totals.seconds : 0;
    const std::string engine = engine_name(parse_engine(args.engine));  // packet programs are verified
    if (args.json) {
        nlohmann::json out = {{"object", args.object},
                              {"program", prog.name},
                              {"type", program_type_name(prog.type)},
                              {"engine", engine},
                              {"packets", totals.packets},
                              {"bytes", totals.bytes},
                              {"seconds", totals.seconds},
                              {"packets_per_second", rate}};
        if (xdp)
            out["actions"] = totals.actions;
        else
            out["verdicts"] = {{"kept", totals.kept}, {"dropped", totals.packets - totals.kept},
                               {"kept_bytes", totals.kept_bytes}};
        if (sink) out["written"] = totals.written;
        nlohmann::json maps = nlohmann::json::array();
        for (const MapTable& t : tables) maps.push_back(table_json(t));
        out["maps"] = maps;
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    fmt::print("program {} ({}) from {}, {}\n", prog.name, program_type_name(prog.type), args.object, engine);
    fmt::print("packets: {} ({} bytes) in {:.3f} s, {:.0f} packets/s\n", totals.packets, totals.bytes, totals.seconds,
               rate);
    if (xdp) {
        std::string line;
        for (const auto& [action, n] : totals.actions) line += fmt::format("{}{} {}", line.empty() ? "" : ", ", action, n);
        fmt::print("actions: {}\n", line.empty() ? "none" : line);
    } else {
        fmt::print("verdicts: kept {} ({} bytes), dropped {}\n", totals.kept, totals.kept_bytes,
                   totals.packets - totals.kept);
    }
    if (sink) fmt::print("wrote {} packets to {}\n", totals.written, args.out);
    for (const MapTable& t : tables) print_table(t);
    return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, int* status) {
    auto args = std::make_shared<RunArgs>();
    CLI::App* cmd = app.add_subcommand("run", "Run a packet program of an ELF object over a capture or an interface");
    cmd->add_option("object", args->object, "ELF object (clang -target bpf)")->required()->check(CLI::ExistingFile);
    cmd->add_option("--program", args->program, "program to run (default: the object's only packet program)");
    cmd->add_option("--pcap", args->pcap, "pcap or pcapng file")->check(CLI::ExistingFile);
    cmd->add_option("--interface", args->interface, "capture live on this interface (needs CAP_NET_RAW)");
    cmd->add_option("--count", args->count, "stop after this many packets (0: all)");
    cmd->add_option("--out", args->out, "write kept (socket filter) or passed/TX (XDP) packets to this pcap");
    cmd->add_flag("--trace", args->trace, "print the bpf_printk / bpf_trace_printk stream");
    cmd->add_flag("--json", args->json, "print the summary as JSON");
    add_engine_option(*cmd, args->engine);
    cmd->add_option("--pkt-type", args->pkt_type,
                    "skb->pkt_type of every packet: host, broadcast, multicast, otherhost, outgoing (default)");
    cmd->add_flag("--network-view", args->network_view,
                  "socket filters see packets from the network header (as the kernel's test run) instead of "
                  "the Ethernet header (as a packet socket)");
    cmd->callback([args, status] { *status = run(*args); });
}

}  // namespace bpfrt::cli
