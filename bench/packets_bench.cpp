// Packets per second over the bundled capture (3000 packets, in memory):
// the count-by-protocol socket filter (sockex1) and the XDP parser in bpfrt's
// interpreter and JIT, against libpcap's classic-BPF filter of an equivalent
// expression, in the same run. Each iteration runs over every packet.
#include "attach/packet_io.hpp"
#include "attach/packet_runner.hpp"

#include <bpfrt/events.hpp>
#include <bpfrt/jit.hpp>
#include <bpfrt/object.hpp>
#include <bpfrt/runtime.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace bench {
struct ClassicFilter;
ClassicFilter* classic_compile(const std::string& expression);
uint64_t classic_run(ClassicFilter* f, const std::vector<std::vector<uint8_t>>& packets);
}  // namespace bench

namespace {

const std::vector<std::vector<uint8_t>>& capture() {
    static const auto packets = [] {
        std::vector<std::vector<uint8_t>> out;
        auto src = bpfrt::attach::open_capture_file(BPFRT_EXAMPLE_CAPTURE);
        if (!src) return out;
        bpfrt::attach::Packet p;
        while (true) {
            auto more = (*src)->next(p);
            if (!more || !*more) break;
            out.emplace_back(p.data.begin(), p.data.end());
        }
        return out;
    }();
    return packets;
}

void run_object(benchmark::State& state, const char* object, const char* program, bpfrt::attach::Engine engine) {
    bpfrt::Runtime rt;
    auto obj = bpfrt::ObjectFile::open(std::string(BPFRT_BPF_OBJECT_DIR) + "/" + object);
    if (!obj || !obj->load(rt)) return state.SkipWithError("cannot load the object");
    bpfrt::attach::PacketRunOptions options;
    options.engine = engine;
    auto runner = bpfrt::attach::PacketRunner::create(rt, obj->find_program(program)->fd, options);
    if (!runner) return state.SkipWithError(runner.error().message.c_str());
    const auto& packets = capture();
    for (auto _ : state) {
        for (const auto& p : packets) {
            auto v = (*runner)->run(p);
            benchmark::DoNotOptimize(v);
        }
    }
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * packets.size()));
}

void BM_Sockex1_Interpreter(benchmark::State& s) { run_object(s, "sockex1.o", "bpf_prog1", bpfrt::attach::Engine::Interpreter); }
void BM_Sockex1_Jit(benchmark::State& s) { run_object(s, "sockex1.o", "bpf_prog1", bpfrt::attach::Engine::Jit); }
void BM_XdpParser_Interpreter(benchmark::State& s) { run_object(s, "xdp_parser.o", "xdp_parse", bpfrt::attach::Engine::Interpreter); }
void BM_XdpParser_Jit(benchmark::State& s) { run_object(s, "xdp_parser.o", "xdp_parse", bpfrt::attach::Engine::Jit); }

void run_classic(benchmark::State& state, const char* expression) {
    bench::ClassicFilter* f = bench::classic_compile(expression);
    const auto& packets = capture();
    for (auto _ : state) benchmark::DoNotOptimize(bench::classic_run(f, packets));
    state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * packets.size()));
}

// sockex1 reads the IPv4 protocol byte: "ip proto \tcp" does that (and checks the ethertype).
void BM_Libpcap_IpProtoTcp(benchmark::State& s) { run_classic(s, "ip proto \\tcp"); }
// The XDP parser walks Ethernet, IPv4/IPv6 and TCP/UDP headers.
void BM_Libpcap_TcpOrUdp(benchmark::State& s) { run_classic(s, "tcp or udp"); }

// A host event nobody is attached to: the cost of a disabled tracepoint.
void BM_EventRaise_NothingAttached(benchmark::State& state) {
    bpfrt::Runtime rt;
    bpfrt::Event event(rt, "idle", 16);
    uint64_t ctx[2] = {0, 0};
    for (auto _ : state) {
        benchmark::DoNotOptimize(ctx);
        benchmark::DoNotOptimize(event.raise(ctx));
    }
}

BENCHMARK(BM_EventRaise_NothingAttached);
BENCHMARK(BM_Sockex1_Interpreter);
BENCHMARK(BM_Sockex1_Jit);
BENCHMARK(BM_Libpcap_IpProtoTcp);
BENCHMARK(BM_XdpParser_Interpreter);
BENCHMARK(BM_XdpParser_Jit);
BENCHMARK(BM_Libpcap_TcpOrUdp);

}  // namespace

BENCHMARK_MAIN();
