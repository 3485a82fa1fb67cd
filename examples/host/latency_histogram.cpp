// A host application traced by an eBPF program: a small workload raises the
// event "op_done" after each operation with its duration; the tracing program
// examples/bpf/latency_hist.c builds a log2 latency histogram in a map, which
// this program prints at the end. Also shows what an event costs when nothing
// is attached.
//
//   latency_histogram [latency_hist.o] [operations]
#include <bpfrt/events.hpp>
#include <bpfrt/object.hpp>
#include <bpfrt/runtime.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

// The context of "op_done" (the layout latency_hist.c reads).
struct OpDone {
    uint64_t common = 0;
    uint64_t duration_ns = 0;
    uint32_t op = 0;
    uint32_t reserved = 0;
};

uint64_t now_ns() {
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

// One operation of the workload: sorting a vector of a random size (most are
// small, a few large), so that durations spread over several powers of two.
uint64_t operation(std::mt19937& rng, std::vector<uint32_t>& buffer) {
    const unsigned pick = rng() % 100;
    const size_t n = pick < 70 ? 16 + rng() % 64 : pick < 95 ? 256 + rng() % 1024 : 8192 + rng() % 8192;
    buffer.resize(n);
    for (auto& v : buffer) v = static_cast<uint32_t>(rng());
    std::sort(buffer.begin(), buffer.end());
    return buffer[n / 2];
}

void print_histogram(const std::vector<uint64_t>& slots) {
    size_t first = slots.size(), last = 0;
    uint64_t max = 0;
    for (size_t i = 0; i < slots.size(); ++i)
        if (slots[i] != 0) first = std::min(first, i), last = i, max = std::max(max, slots[i]);
    if (first == slots.size()) {
        std::printf("(no operations recorded)\n");
        return;
    }
    std::printf("%24s : %-8s %s\n", "duration (ns)", "count", "distribution");
    for (size_t i = first; i <= last; ++i) {
        const uint64_t low = uint64_t{1} << i, high = (uint64_t{1} << (i + 1)) - 1;
        const int stars = static_cast<int>(slots[i] * 40 / max);
        std::printf("%10llu -> %-10llu : %-8llu |%-40s|\n", static_cast<unsigned long long>(low),
                    static_cast<unsigned long long>(high), static_cast<unsigned long long>(slots[i]),
                    std::string(static_cast<size_t>(stars), '*').c_str());
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::string object = argc > 1 ? argv[1] : BPFRT_LATENCY_OBJECT;
    const unsigned operations = argc > 2 ? static_cast<unsigned>(std::stoul(argv[2])) : 20000;

    bpfrt::Runtime rt;  // before the object, which closes its handles in it
    auto obj = bpfrt::ObjectFile::open(object);
    if (!obj) return std::fprintf(stderr, "%s\n", obj.error().message.c_str()), 1;
    if (auto loaded = obj->load(rt); !loaded) return std::fprintf(stderr, "%s\n", loaded.error().message.c_str()), 1;

    bpfrt::Event op_done(rt, "op_done", sizeof(OpDone));
    bpfrt::Event idle(rt, "idle", sizeof(OpDone));  // nothing attached: the cost of a disabled tracepoint

    // The workload, untraced, with an event nobody listens to.
    std::mt19937 rng(1);
    std::vector<uint32_t> buffer;
    OpDone record;
    constexpr unsigned kIdleRaises = 10'000'000;
    const uint64_t t0 = now_ns();
    for (unsigned i = 0; i < kIdleRaises; ++i) {
        record.op = i;
        idle.raise(&record);
    }
    const double idle_ns = static_cast<double>(now_ns() - t0) / kIdleRaises;

    if (auto attached = op_done.attach(obj->find_program("record_latency")->fd); !attached)
        return std::fprintf(stderr, "%s\n", attached.error().message.c_str()), 1;
    uint64_t checksum = 0, traced_ns = 0;
    for (unsigned i = 0; i < operations; ++i) {
        const uint64_t start = now_ns();
        checksum += operation(rng, buffer);
        record.duration_ns = now_ns() - start;
        record.op = i;
        const uint64_t raised = now_ns();
        op_done.raise(&record);
        traced_ns += now_ns() - raised;
    }

    const bpfrt::ObjectMap* map = obj->find_map("latency_log2");
    std::vector<uint64_t> slots(map->max_entries);
    for (uint32_t key = 0; key < slots.size(); ++key)
        (void)rt.map_lookup_elem({.map_fd = map->fd, .key = std::as_bytes(std::span(&key, 1))},
                                 std::as_writable_bytes(std::span(&slots[key], 1)));
    std::printf("%u operations (checksum %llu), latency histogram from the tracing program:\n\n", operations,
                static_cast<unsigned long long>(checksum));
    print_histogram(slots);
    std::printf("\nraise() with nothing attached: %.2f ns; with the program attached: %.0f ns per event\n", idle_ns,
                static_cast<double>(traced_ns) / operations);
    return 0;
}
