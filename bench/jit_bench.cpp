// JIT vs interpreter vs native C++ vs the kernel's JIT, on six programs:
// an empty one (the fixed cost of a run), an arithmetic loop, a checksum
// over a 1500-byte packet, a hash-map-heavy loop, an Ethernet/IPv4/TCP
// header parser and the count-by-protocol filter (LD_ABS + map lookup +
// atomic add). Each runs, in one benchmark run,
//   interp:  the interpreter (Mode::Verified), one Program::run per iteration;
//   jit:     the JIT through its direct entry (jit::DirectEntry::run), as a
//            caller running one program many times uses it;
//   jit_run: the JIT through the virtual Program::run (the fixed cost the
//            direct entry saves);
//   native:  the same logic in C++ (-O2, noinline), one call per iteration;
//   kernel:  the host kernel's JIT through BPF_PROG_TEST_RUN (its `duration`
//            per run, with repeat), where bpf() is permitted.
// Results are checked against each other before timing (the kernel's r0 is
// compared in its low 32 bits, which is all TEST_RUN shows).
//
// Maps. hashmap runs on a real BPF_MAP_TYPE_HASH of bpfrt: a Runtime
// creates the map, and both engines run the same program against it through
// the runtime's map helpers (src/helpers/map_helpers.cpp). The program is
// loaded with PROG_LOAD (engine Interpreter, then Jit) when our verifier
// accepts it; when it does not (today: it gives up on the 64-iteration loop,
// which the kernel's verifier accepts, see the kernel row) the program is
// prepared as PROG_LOAD prepares a verified one: the lddw resolved to the
// map object (load.cpp's resolve()), the runtime's helper table, each engine
// (a note on stderr says which). The native code does the same work on the
// same map object through its C++ interface (maps::Map::prog_lookup /
// prog_update, what the helpers call). Each run of all three holds a
// maps::ReadSection, as the runtime does around a run. The kernel row uses
// its own BPF_MAP_TYPE_HASH. count_by_protocol keeps a plain 256-counter
// host array behind helper 1 (the kernel: BPF_MAP_TYPE_ARRAY).
#include "kernel_oracle.hpp"

#include "maps/map.hpp"
#include "maps/reclaim.hpp"
#include "runtime/program.hpp"
#include "runtime/state.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/bpf.h>
#include <bpfrt/jit.hpp>
#include <bpfrt/runtime.hpp>
#include <bpfrt/vm.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace {

using bpfrt::vm::ExecContext;
using bpfrt::vm::Program;

constexpr size_t kPacketSize = 1500;
constexpr int kArithIterations = 1000;
constexpr int kMapOps = 64;

// The count-by-protocol array: 256 u64 counters; lookup returns &counters[key].
uint64_t array_lookup(uint64_t map, uint64_t key, uint64_t, uint64_t, uint64_t, ExecContext&) {
    uint32_t k;
    std::memcpy(&k, reinterpret_cast<const void*>(key), sizeof k);
    if (k >= 256) return 0;
    return map + k * 8;
}

// ---- Programs (assembly; MAP is replaced by the map reference of the engine) ----

// The kernel gives r1 = context; every program starts from constants or the packet.
const char* kEmpty = R"(
    mov %r0, 0
    exit
)";

[[gnu::noinline]] uint64_t native_empty() { return 0; }

const char* kArith = R"(
    mov %r1, 1000
    mov %r0, 0
    mov %r2, 0
loop:
    mov %r3, %r2
    mul %r3, 0x2545F491
    add %r0, %r3
    mov %r4, %r0
    rsh %r4, 13
    xor %r0, %r4
    add %r0, 0x1234
    add %r2, 1
    jne %r2, %r1, loop
    exit
)";

[[gnu::noinline]] uint64_t native_arith(uint64_t n) {
    uint64_t acc = 0;
    for (uint64_t i = 0; i != n; ++i) {
        acc += i * uint64_t{0x2545F491};
        acc ^= acc >> 13;
        acc += 0x1234;
    }
    return acc;
}

// Packet programs get r2 = start, r3 = end. PROLOGUE sets them: from r1/r2
// (pointer, length) in our engines, from the xdp_md context in the kernel.
const char* kOursPacketPrologue = "mov %r3, %r1\nadd %r3, %r2\nmov %r2, %r1\n";
const char* kXdpPacketPrologue = "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\n";

// Internet checksum over 16-bit big-endian words, bounds-checked per word
// (at most 750 words: a bound the kernel's verifier can see).
const char* kChecksum = R"(
    mov %r0, 0
    mov %r6, 0
loop:
    jge %r6, 750, done
    add %r6, 1
    mov %r5, %r2
    add %r5, 2
    jgt %r5, %r3, done
    ldxh %r4, [%r2+0]
    be16 %r4
    add %r0, %r4
    mov %r2, %r5
    ja loop
done:
    mov %r5, %r0
    rsh %r5, 16
    and %r0, 0xffff
    add %r0, %r5
    mov %r5, %r0
    rsh %r5, 16
    add %r0, %r5
    and %r0, 0xffff
    xor %r0, 0xffff
    exit
)";

[[gnu::noinline]] uint64_t native_checksum(const uint8_t* p, const uint8_t* end) {
    uint64_t sum = 0;
    for (int i = 0; i < 750 && p + 2 <= end; ++i) {
        uint16_t w;
        std::memcpy(&w, p, 2);
        sum += std::byteswap(w);
        p += 2;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum += sum >> 16;
    return (sum & 0xffff) ^ 0xffff;
}

// Ethernet / IPv4 / TCP: r0 = a hash of addresses and ports, 0 when not IPv4+TCP or too short.
const char* kParser = R"(
    mov %r0, 0
    mov %r4, %r2
    add %r4, 34
    jgt %r4, %r3, out
    ldxh %r5, [%r2+12]
    jne %r5, 0x0008, out
    ldxb %r5, [%r2+23]
    jne %r5, 6, out
    ldxb %r5, [%r2+14]
    and %r5, 0xf
    lsh %r5, 2
    jlt %r5, 20, out
    add %r4, %r5
    sub %r4, 20
    mov %r6, %r4
    add %r6, 20
    jgt %r6, %r3, out
    ldxw %r0, [%r2+26]
    ldxw %r5, [%r2+30]
    mul %r0, 0x01000193
    xor %r0, %r5
    ldxh %r5, [%r4+0]
    be16 %r5
    mul %r0, 0x01000193
    xor %r0, %r5
    ldxh %r5, [%r4+2]
    be16 %r5
    mul %r0, 0x01000193
    xor %r0, %r5
    ldxb %r5, [%r4+13]
    mul %r0, 0x01000193
    xor %r0, %r5
    and %r0, 0x7fffffff
out:
    exit
)";

[[gnu::noinline]] uint64_t native_parser(const uint8_t* p, const uint8_t* end) {
    auto ld16 = [](const uint8_t* a) { uint16_t v; std::memcpy(&v, a, 2); return v; };
    auto ld32 = [](const uint8_t* a) { uint32_t v; std::memcpy(&v, a, 4); return v; };
    if (p + 34 > end || ld16(p + 12) != 0x0008 || p[23] != 6) return 0;
    const uint64_t ihl = (p[14] & 0xfu) << 2;
    if (ihl < 20) return 0;
    const uint8_t* tcp = p + 14 + ihl;
    if (tcp + 20 > end) return 0;
    uint64_t h = ld32(p + 26);
    h = (h * 0x01000193) ^ ld32(p + 30);
    h = (h * 0x01000193) ^ std::byteswap(ld16(tcp));
    h = (h * 0x01000193) ^ std::byteswap(ld16(tcp + 2));
    h = (h * 0x01000193) ^ tcp[13];
    return h & 0x7fffffff;
}

// 64 hash map operations: count keys (i * 2654435761) & 255.
const char* kHashMap = R"(
    mov %r6, 0
loop:
    mov %r1, %r6
    mul32 %r1, 0x9E3779B1
    and %r1, 255
    stxw [%r10-4], %r1
    MAP
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, insert
    mov %r1, 1
    lock add [%r0+0], %r1
    ja next
insert:
    stdw [%r10-16], 1
    MAP
    mov %r2, %r10
    add %r2, -4
    mov %r3, %r10
    add %r3, -16
    mov %r4, 0
    call 2
next:
    add %r6, 1
    jlt %r6, 64, loop
    mov %r0, 0
    exit
)";

// The map the helpers reach, called as they call it (bridge::prog_lookup / prog_update).
[[gnu::noinline]] uint64_t native_hashmap(bpfrt::maps::Map& m) {
    for (uint32_t i = 0; i < kMapOps; ++i) {
        const uint32_t k = (i * 0x9E3779B1u) & 255;
        if (void* v = m.prog_lookup(&k)) {
            std::atomic_ref<uint64_t>(*static_cast<uint64_t*>(v)).fetch_add(1);
        } else {
            const uint64_t one = 1;
            m.prog_update(&k, &one, BPF_ANY);
        }
    }
    return 0;
}

// The original filter: count packets per IP protocol (the packet starts at the IP header).
const char* kCountByProtocol = R"(
    mov %r6, %r1
    ldabsb 9
    stxw [%r10-4], %r0
    MAP
    mov %r2, %r10
    add %r2, -4
    call 1
    jeq %r0, 0, out
    mov %r1, 1
    lock add [%r0+0], %r1
out:
    mov %r0, 0
    exit
)";

[[gnu::noinline]] uint64_t native_count(const uint8_t* ip, size_t len, uint64_t* counters) {
    if (len < 10) return 0;
    std::atomic_ref<uint64_t>(counters[ip[9]]).fetch_add(1);
    return 0;
}

std::vector<bpf_insn> build(std::string text, const std::string& prologue, const std::string& map_ref) {
    text = prologue + text;
    for (size_t at; (at = text.find("MAP")) != std::string::npos;) text.replace(at, 3, map_ref);
    auto insns = bpfrt::isa::assemble(text);
    if (!insns) {
        std::fprintf(stderr, "assembly failed: %s\n", insns.error().message.c_str());
        std::abort();
    }
    return *insns;
}

std::string map_lddw(const void* p) { return "lddw %r1, " + std::to_string(reinterpret_cast<uint64_t>(p)); }

// ---- Shared state ----
struct Inputs {
    uint8_t packet[kPacketSize];
    uint64_t counters[256] = {};
    Inputs() {
        for (size_t i = 0; i < kPacketSize; ++i) packet[i] = static_cast<uint8_t>(i * 7 + 3);
        // Ethernet + IPv4 (IHL 5, TCP) + TCP ports 1234 -> 80.
        const uint8_t hdr[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45, 0, 0x05, 0xc8, 0, 0, 0x40, 0,
                               64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x04, 0xd2, 0x00, 0x50};
        std::memcpy(packet, hdr, sizeof hdr);
    }
};
Inputs& inputs() {
    static Inputs in;
    return in;
}

bpfrt::vm::HelperTable& helpers_array() {
    static bpfrt::vm::HelperTable t = [] {
        bpfrt::vm::HelperTable h;
        h.set(1, {&array_lookup, "map_lookup_elem", false});
        return h;
    }();
    return t;
}

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "%s\n", what.c_str());
    std::exit(1);
}

// The hashmap program on bpfrt's own BPF_MAP_TYPE_HASH: one Runtime, one
// map, the program prepared once per engine as PROG_LOAD prepares it.
struct RuntimeHash {
    bpfrt::Runtime rt;
    bpfrt::MapHandle map;
    std::shared_ptr<bpfrt::maps::Map> map_object;
    std::shared_ptr<bpfrt::runtime::ProgramObject> loaded_interp, loaded_jit;  // through PROG_LOAD
    std::unique_ptr<Program> prepared_interp, prepared_jit;                     // or as load.cpp prepares them
    const Program* interp = nullptr;
    const Program* jit = nullptr;

    RuntimeHash() {
        auto m = rt.map_create({.map_type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 256});
        if (!m) die("hashmap: map_create: " + m.error().message);
        map = std::move(*m);
        auto object = rt.state().map_at(map.fd());
        if (!object) die("hashmap: map_at: " + object.error().message);
        map_object = std::move(*object);
        std::string why;
        loaded_interp = load(bpfrt::jit::Engine::Interpreter, why);
        if (loaded_interp) loaded_jit = load(bpfrt::jit::Engine::Jit, why);
        if (loaded_interp && loaded_jit) {
            interp = loaded_interp->exec.get();
            jit = loaded_jit->exec.get();
            return;
        }
        // Our verifier refuses the program (the kernel's accepts it: see the
        // kernel row). Prepare it as PROG_LOAD would after verification: the
        // lddw resolved to the map object (load.cpp's resolve()) and the
        // runtime's helper table (its map helpers), in each engine.
        std::fprintf(stderr,
                     "hashmap: PROG_LOAD refuses the program (%s); both engines run it prepared as PROG_LOAD "
                     "prepares verified programs (same map, same helper table)\n",
                     why.c_str());
        const auto insns = build(kHashMap, "", map_lddw(map_object.get()));
        const auto helpers = rt.state().helper_table();
        auto i = bpfrt::jit::make_program(insns, helpers.get(), bpfrt::jit::Engine::Interpreter);
        auto j = bpfrt::jit::make_program(insns, helpers.get(), bpfrt::jit::Engine::Jit);
        if (!i || !j) die("hashmap: " + (i ? j : i).error().message);
        prepared_interp = std::move(*i);
        prepared_jit = std::move(*j);
        interp = prepared_interp.get();
        jit = prepared_jit.get();
    }

    std::shared_ptr<bpfrt::runtime::ProgramObject> load(bpfrt::jit::Engine engine, std::string& why) {
        const auto insns = build(kHashMap, "", "lddw %r1, map_fd " + std::to_string(map.fd()));
        bpfrt::ProgLoad in;
        in.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
        in.insns = insns;
        in.license = "GPL";
        in.engine = engine;
        auto loaded = rt.prog_load(in);
        if (!loaded.program) {
            why = loaded.program.error().message;
            return nullptr;
        }
        auto object = rt.state().program_at(loaded.program->fd());
        if (!object) die("hashmap: program_at: " + object.error().message);
        if (!(*object)->verified) die("hashmap: the program should run verified");
        return std::move(*object);
    }

    // The count of key 0 (every run adds one).
    uint64_t count_of_key0() {
        const uint32_t key = 0;
        uint64_t value = 0;
        auto found = rt.map_lookup_elem({.map_fd = map.fd(), .key = std::as_bytes(std::span(&key, 1))},
                                        std::as_writable_bytes(std::span(&value, 1)));
        return found ? value : 0;
    }
};
RuntimeHash& runtime_hash() {
    static RuntimeHash h;
    return h;
}

// One benchmark program: its code for our engines and how it runs.
struct Case {
    std::string name;
    std::vector<bpf_insn> ours;  // built by make_program() for both engines, unless given below
    const bpfrt::vm::HelperTable* helpers;
    uint64_t r1, r2;
    const uint8_t* packet;  // for LD_ABS
    size_t packet_len;
    uint64_t (*native)();
    // Kernel: program type, code (with map fds), test-run input.
    uint32_t kernel_type;
    std::vector<bpf_insn> kernel;
    std::vector<uint8_t> kernel_data;
    // Programs loaded through a Runtime (hashmap); runs then hold a ReadSection.
    const Program* interp = nullptr;
    const Program* jit = nullptr;
};

uint64_t run_native_empty() { return native_empty(); }
uint64_t run_native_arith() { return native_arith(kArithIterations); }
uint64_t run_native_checksum() { return native_checksum(inputs().packet, inputs().packet + kPacketSize); }
uint64_t run_native_parser() { return native_parser(inputs().packet, inputs().packet + kPacketSize); }
uint64_t run_native_hashmap() {
    bpfrt::maps::ReadSection section;  // as the runtime holds around a run
    return native_hashmap(*runtime_hash().map_object);
}
uint64_t run_native_count() { return native_count(inputs().packet + 14, kPacketSize - 14, inputs().counters); }

std::vector<bpfrt::kernel::Fd>& kernel_maps() {
    static std::vector<bpfrt::kernel::Fd> maps;
    return maps;
}

std::vector<Case> make_cases(bool kernel_ok) {
    Inputs& in = inputs();
    const auto pkt = reinterpret_cast<uint64_t>(in.packet);
    std::vector<uint8_t> frame(in.packet, in.packet + kPacketSize);
    std::string hash_fd = "mov %r1, 0", array_fd = "mov %r1, 0";
    if (kernel_ok) {
        auto h = bpfrt::kernel::create_map(BPF_MAP_TYPE_HASH, 4, 8, 256);
        auto a = bpfrt::kernel::create_map(BPF_MAP_TYPE_ARRAY, 4, 8, 256);
        if (h.fd.valid()) hash_fd = "lddw %r1, map_fd " + std::to_string(h.fd.get());
        if (a.fd.valid()) array_fd = "lddw %r1, map_fd " + std::to_string(a.fd.get());
        kernel_maps().push_back(std::move(h.fd));
        kernel_maps().push_back(std::move(a.fd));
    }
    RuntimeHash& hash = runtime_hash();
    std::vector<Case> cases;
    cases.push_back({"empty", build(kEmpty, "", ""), nullptr, 0, 0, nullptr, 0, &run_native_empty,
                     BPF_PROG_TYPE_SOCKET_FILTER, build(kEmpty, "", ""), std::vector<uint8_t>(64, 0)});
    cases.push_back({"arith", build(kArith, "", ""), nullptr, 0, 0, nullptr, 0, &run_native_arith,
                     BPF_PROG_TYPE_SOCKET_FILTER, build(kArith, "", ""), std::vector<uint8_t>(64, 0)});
    cases.push_back({"checksum", build(kChecksum, kOursPacketPrologue, ""), nullptr, pkt, kPacketSize, nullptr, 0,
                     &run_native_checksum, BPF_PROG_TYPE_XDP, build(kChecksum, kXdpPacketPrologue, ""), frame});
    cases.push_back({"hashmap", {}, nullptr, 0, 0, nullptr, 0, &run_native_hashmap, BPF_PROG_TYPE_SOCKET_FILTER,
                     build(kHashMap, "", hash_fd), std::vector<uint8_t>(64, 0), hash.interp, hash.jit});
    cases.push_back({"parser", build(kParser, kOursPacketPrologue, ""), nullptr, pkt, kPacketSize, nullptr, 0,
                     &run_native_parser, BPF_PROG_TYPE_XDP, build(kParser, kXdpPacketPrologue, ""), frame});
    cases.push_back({"count_by_protocol", build(kCountByProtocol, "", map_lddw(in.counters)), &helpers_array(), 0, 0,
                     in.packet + 14, kPacketSize - 14, &run_native_count, BPF_PROG_TYPE_SOCKET_FILTER,
                     build(kCountByProtocol, "", array_fd), frame});
    return cases;
}

ExecContext context_for(const Case& c) {
    ExecContext ctx;
    ctx.packet = c.packet;
    ctx.packet_len = c.packet_len;
    return ctx;
}

// Runs through the virtual Program::run (interp, jit_run).
void run_virtual(benchmark::State& state, const Program* prog, const Case* c, uint64_t expected) {
    ExecContext ctx = context_for(*c);
    const bool section = c->interp != nullptr;
    auto first = prog->run(c->r1, c->r2, ctx);
    if (!first || *first != expected) {
        state.SkipWithError("result differs from native");
        return;
    }
    if (section) {
        for (auto _ : state) {
            bpfrt::maps::ReadSection s;
            benchmark::DoNotOptimize(prog->run(c->r1, c->r2, ctx));
        }
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(prog->run(c->r1, c->r2, ctx));
}

// Runs through the JIT's direct entry (jit).
void run_direct(benchmark::State& state, const Program* prog, const Case* c, uint64_t expected) {
    ExecContext ctx = context_for(*c);
    const bool section = c->interp != nullptr;
    bpfrt::jit::DirectEntry entry(*prog);
    if (!entry.direct()) {
        state.SkipWithError("no direct entry: not a JIT program");
        return;
    }
    auto first = entry.run(c->r1, c->r2, ctx);
    if (!first || *first != expected) {
        state.SkipWithError("result differs from native");
        return;
    }
    if (section) {
        for (auto _ : state) {
            bpfrt::maps::ReadSection s;
            benchmark::DoNotOptimize(entry.run(c->r1, c->r2, ctx));
        }
        return;
    }
    for (auto _ : state) benchmark::DoNotOptimize(entry.run(c->r1, c->r2, ctx));
}

void run_native(benchmark::State& state, const Case* c) {
    for (auto _ : state) benchmark::DoNotOptimize(c->native());
}

// The kernel measures itself: `duration` is the mean ns per run over `repeat` runs.
void run_kernel(benchmark::State& state, int fd, const Case* c, uint64_t expected) {
    constexpr uint32_t kRepeat = 10000;
    auto first = bpfrt::kernel::test_run(fd, c->kernel_data, {}, 1);
    if (first.error != 0) {
        state.SkipWithError(("TEST_RUN failed: " + bpfrt::kernel::errno_name(first.error)).c_str());
        return;
    }
    if (first.retval != static_cast<uint32_t>(expected)) {
        state.SkipWithError("kernel result differs from native");
        return;
    }
    double total_ns = 0;
    uint64_t runs = 0;
    for (auto _ : state) {
        auto r = bpfrt::kernel::test_run(fd, c->kernel_data, {}, kRepeat);
        total_ns += static_cast<double>(r.duration_ns) * kRepeat;
        runs += kRepeat;
        state.SetIterationTime(static_cast<double>(r.duration_ns) * 1e-9 * kRepeat);
    }
    state.counters["ns_per_run"] = runs > 0 ? total_ns / static_cast<double>(runs) : 0;
}

// The hashmap program must do its map work on every engine: one run adds
// one to the count of key 0 of the runtime's map.
void check_hash_effect(const std::string& what, const std::function<void()>& run_once) {
    RuntimeHash& hash = runtime_hash();
    const uint64_t before = hash.count_of_key0();
    run_once();
    const uint64_t after = hash.count_of_key0();
    if (after != before + 1 && !(before == 0 && after == 1))
        die("hashmap/" + what + ": key 0 went from " + std::to_string(before) + " to " + std::to_string(after));
}

void check_hashmap(const Case& c) {
    ExecContext ctx;
    bpfrt::jit::DirectEntry entry(*c.jit);
    check_hash_effect("native", [&] { (void)c.native(); });
    check_hash_effect("interp", [&] {
        bpfrt::maps::ReadSection s;
        (void)c.interp->run(0, 0, ctx);
    });
    check_hash_effect("jit", [&] {
        bpfrt::maps::ReadSection s;
        (void)entry.run(0, 0, ctx);
    });
    check_hash_effect("jit_run", [&] {
        bpfrt::maps::ReadSection s;
        (void)c.jit->run(0, 0, ctx);
    });
}

}  // namespace

int main(int argc, char** argv) {
    std::string why;
    const bool kernel_ok = bpfrt::kernel::kernel_bpf_available(&why);
    if (!kernel_ok) std::fprintf(stderr, "kernel rows skipped: %s\n", why.c_str());
    static std::vector<Case> cases = make_cases(kernel_ok);
    static std::vector<std::unique_ptr<Program>> keep;
    static std::vector<bpfrt::kernel::Fd> kernel_progs;
    for (const Case& c : cases) {
        const Program* ip = c.interp;
        const Program* jp = c.jit;
        if (ip == nullptr) {
            auto interp = bpfrt::jit::make_program(c.ours, c.helpers, bpfrt::jit::Engine::Interpreter);
            auto jit = bpfrt::jit::make_program(c.ours, c.helpers, bpfrt::jit::Engine::Jit);
            if (!interp || !jit) die(c.name + ": " + (interp ? jit : interp).error().message);
            ip = keep.emplace_back(std::move(*interp)).get();
            jp = keep.emplace_back(std::move(*jit)).get();
        } else {
            check_hashmap(c);
        }
        const uint64_t expected = c.native();
        benchmark::RegisterBenchmark((c.name + "/interp").c_str(), run_virtual, ip, &c, expected);
        benchmark::RegisterBenchmark((c.name + "/jit").c_str(), run_direct, jp, &c, expected);
        benchmark::RegisterBenchmark((c.name + "/jit_run").c_str(), run_virtual, jp, &c, expected);
        benchmark::RegisterBenchmark((c.name + "/native").c_str(), run_native, &c);
        if (!kernel_ok) continue;
        auto loaded = bpfrt::kernel::prog_load(c.kernel_type, c.kernel, "GPL");
        if (!loaded.accepted()) {
            std::fprintf(stderr, "%s: the kernel rejects the program (%s):\n%s\n", c.name.c_str(),
                         bpfrt::kernel::errno_name(loaded.error).c_str(), loaded.log.c_str());
            continue;
        }
        const int fd = loaded.fd.get();
        kernel_progs.push_back(std::move(loaded.fd));
        benchmark::RegisterBenchmark((c.name + "/kernel").c_str(), run_kernel, fd, &c, expected)->UseManualTime();
    }
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
