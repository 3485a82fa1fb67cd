// bpfrt run: load an ELF object and run one of its packet programs over every
// packet of a capture file or a live interface, then print a summary (packets,
// verdicts, rate) and every map of the object.
//
// Map tables (btf_format.hpp): keys and values decoded with the object's BTF
// (integers, enums by name, strings, structs, arrays...; without types,
// integers of 1, 2, 4 or 8 bytes and hex otherwise), global variables by
// name; an ARRAY / PERCPU_ARRAY with 4-byte keys and 256 entries in a packet
// program is read as indexed by IP protocol ("proto 6 (tcp): N"); per-CPU
// maps show each CPU's value (and the sum of integers); zero entries of
// arrays are not listed. --json prints the whole summary as one JSON object.
#include "btf_format.hpp"
#include "commands.hpp"
#include "engine_option.hpp"

#include "attach/packet_io.hpp"
#include "attach/packet_runner.hpp"

#include <bpfrt/object.hpp>
#include <bpfrt/perf_buffer.hpp>
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
    std::vector<std::string> redirect_to;  // IFINDEX=FILE or IFINDEX=@NAME
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

// The samples programs send to a perf event array of the object, read
// through a PerfBuffer as a libbpf tool would; --trace prints each one.
struct PerfReader {
    std::string map;
    uint64_t samples = 0;
    uint64_t bytes = 0;
    uint64_t lost = 0;
    std::optional<PerfBuffer> buffer;
};

Result<std::vector<std::unique_ptr<PerfReader>>> open_perf_readers(Runtime& rt, const ObjectFile& obj, bool trace) {
    std::vector<std::unique_ptr<PerfReader>> readers;
    for (const ObjectMap& map : obj.maps()) {
        if (map.type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) continue;
        auto reader = std::make_unique<PerfReader>();
        reader->map = map.name;
        PerfReader* r = reader.get();
        auto sample = [r, trace](uint32_t cpu, std::span<const std::byte> data) {
            ++r->samples;
            r->bytes += data.size();
            if (!trace) return;
            std::string hex;
            for (size_t i = 0; i < std::min<size_t>(data.size(), 32); ++i)
                hex += fmt::format("{}{:02x}", i == 0 ? "" : " ", static_cast<unsigned>(data[i]));
            fmt::print("perf: {} cpu {}: {} bytes: {}{}\n", r->map, cpu, data.size(), hex, data.size() > 32 ? " ..." : "");
        };
        auto lost = [r](uint32_t, uint64_t n) { r->lost += n; };
        auto buffer = PerfBuffer::create(rt, map.fd, sample, lost, {.page_count = 64});
        if (!buffer)
            return fail(buffer.error().code, fmt::format("perf event array '{}': {}", map.name, buffer.error().message));
        reader->buffer.emplace(std::move(*buffer));
        readers.push_back(std::move(reader));
    }
    return readers;
}

void consume_perf(std::vector<std::unique_ptr<PerfReader>>& readers) {
    for (auto& r : readers) r->buffer->consume();
}

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
    for (const std::string& spec : args.redirect_to) {
        auto iface = attach::interface_from_spec(spec, (*source)->link_type());
        if (!iface) return fail_with(iface.error(), kExitUsage);
        if (auto added = (*runner)->add_interface(std::move(*iface)); !added)
            return fail_with(Error{added.error().code, fmt::format("--redirect-to {}: {}", spec, added.error().message)},
                             kExitUsage);
    }
    std::unique_ptr<attach::PacketSink> sink;
    if (!args.out.empty()) {
        auto created = attach::PacketSink::create(args.out, (*source)->link_type());
        if (!created) return fail_with(created.error(), kExitUsage);
        sink = std::move(*created);
    }

    auto perf = open_perf_readers(rt, *obj, args.trace);
    if (!perf) return fail_with(perf.error(), kExitFailed);

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
            // Each CPU slot's ring holds 256 KiB: drained often enough for records up to ~4 KiB a
            // packet; after every packet with --trace, so that samples print in order with traces.
            if (!perf->empty() && (args.trace || (totals.packets & 63) == 0)) consume_perf(*perf);
        }
        consume_perf(*perf);
        totals.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    if (sink)
        if (auto closed = sink->close(); !closed) return fail_with(closed.error(), kExitFailed);

    const std::vector<MapDump> maps = dump_maps(rt, *obj, {.packet_program = true});
    const std::vector<std::string> redirects = attach::describe_redirects((*runner)->redirect_stats());

    const double rate = totals.seconds > 0 ? static_cast<double>(totals.packets) / totals.seconds : 0;
    const std::string engine = engine_name(parse_engine(args.engine));  // packet programs are verified
    if (args.json) {
        Json out = {{"object", args.object},
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
        if (!redirects.empty()) out["redirects"] = redirects;
        for (const auto& r : *perf)
            out["perf_events"][r->map] = {{"samples", r->samples}, {"bytes", r->bytes}, {"lost", r->lost}};
        Json maps_json = Json::array();
        for (const MapDump& m : maps) maps_json.push_back(map_json(*obj, m));
        out["maps"] = std::move(maps_json);
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
    for (const std::string& line : redirects) fmt::print("redirect: {}\n", line);
    for (const auto& r : *perf)
        fmt::print("perf events {}: {} samples ({} bytes), {} lost\n", r->map, r->samples, r->bytes, r->lost);
    if (sink) fmt::print("wrote {} packets to {}\n", totals.written, args.out);
    for (const MapDump& m : maps) fmt::print("{}", format_map_table(*obj, m));
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
    cmd->add_option("--out", args->out,
                    "write kept (socket filter) or passed packets (XDP: XDP_PASS, XDP_TX, and redirects into a CPU map) "
                    "to this pcap");
    cmd->add_option("--redirect-to", args->redirect_to,
                    "IFINDEX=FILE.pcap or IFINDEX=@INTERFACE: where frames the program redirects or transmits "
                    "(XDP_TX) to interface IFINDEX go; repeatable. Without it such frames count as errors");
    cmd->add_flag("--trace", args->trace,
                  "print the bpf_printk / bpf_trace_printk stream and every perf event sample (its first 32 bytes)");
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
