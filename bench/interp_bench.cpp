// Interpreter vs native C++ on the same logic and the same input.
//
// Three programs written with the insn.h macros: an arithmetic loop, a
// memory-walking checksum over a 1500-byte packet, and a branchy Collatz
// walk. Each runs in the interpreter (Verified and Checked mode) and as the
// same logic in C++ (this file is compiled with -O2, see interp.cmake), all in
// one benchmark run. Results are checked against each other before timing.
#include <bpfrt/insn.h>
#include <bpfrt/vm.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

using bpfrt::vm::ExecContext;
using bpfrt::vm::Mode;
using Prog = std::vector<bpf_insn>;

constexpr uint64_t kArithIterations = 1000;
constexpr size_t kPacketSize = 1500;
constexpr uint64_t kCollatzLimit = 200;

// ---- Arithmetic: acc += i * K; acc ^= acc >> 13; acc += 0x1234, for i < r1 ----

constexpr int32_t kMulConst = 0x2545F491;

const Prog kArith = {
    BPF_MOV64_IMM(0, 0),
    BPF_MOV64_IMM(2, 0),
    BPF_MOV64_REG(3, 2),  // 2: loop
    BPF_ALU64_IMM(BPF_MUL, 3, kMulConst),
    BPF_ALU64_REG(BPF_ADD, 0, 3),
    BPF_MOV64_REG(4, 0),
    BPF_ALU64_IMM(BPF_RSH, 4, 13),
    BPF_ALU64_REG(BPF_XOR, 0, 4),
    BPF_ALU64_IMM(BPF_ADD, 0, 0x1234),
    BPF_ALU64_IMM(BPF_ADD, 2, 1),
    BPF_JMP_REG(BPF_JNE, 2, 1, -9),  // 10 -> 2
    BPF_EXIT_INSN(),
};

[[gnu::noinline]] uint64_t native_arith(uint64_t n) {
    uint64_t acc = 0;
    for (uint64_t i = 0; i != n; ++i) {
        acc += i * static_cast<uint64_t>(kMulConst);
        acc ^= acc >> 13;
        acc += 0x1234;
    }
    return acc;
}

// ---- Memory: Internet checksum of the r2 bytes at r1 (16-bit big-endian words) ----

const Prog kChecksum = {
    BPF_MOV64_IMM(0, 0),
    BPF_MOV64_REG(3, 1),
    BPF_MOV64_REG(4, 1),
    BPF_ALU64_REG(BPF_ADD, 4, 2),
    BPF_LDX_MEM(BPF_H, 5, 3, 0),  // 4: loop
    BPF_ENDIAN(BPF_TO_BE, 5, 16),
    BPF_ALU64_REG(BPF_ADD, 0, 5),
    BPF_ALU64_IMM(BPF_ADD, 3, 2),
    BPF_JMP_REG(BPF_JLT, 3, 4, -5),  // 8 -> 4
    BPF_MOV64_REG(5, 0),
    BPF_ALU64_IMM(BPF_RSH, 5, 16),
    BPF_ALU64_IMM(BPF_AND, 0, 0xffff),
    BPF_ALU64_REG(BPF_ADD, 0, 5),
    BPF_MOV64_REG(5, 0),
    BPF_ALU64_IMM(BPF_RSH, 5, 16),
    BPF_ALU64_REG(BPF_ADD, 0, 5),
    BPF_ALU64_IMM(BPF_AND, 0, 0xffff),
    BPF_ALU64_IMM(BPF_XOR, 0, 0xffff),
    BPF_EXIT_INSN(),
};

[[gnu::noinline]] uint64_t native_checksum(const uint8_t* p, size_t len) {
    uint64_t sum = 0;
    const uint8_t* end = p + len;
    do {
        uint16_t w;
        std::memcpy(&w, p, 2);
        sum += __builtin_bswap16(w);
        p += 2;
    } while (p < end);
    sum = (sum & 0xffff) + (sum >> 16);
    sum += sum >> 16;
    return (sum & 0xffff) ^ 0xffff;
}

// ---- Branches: total Collatz steps of every start value 1..r1 ----

const Prog kCollatz = {
    BPF_MOV64_IMM(0, 0),
    BPF_MOV64_IMM(2, 1),
    BPF_MOV64_REG(3, 2),               // 2: outer
    BPF_JMP_IMM(BPF_JEQ, 3, 1, 7),     // 3: inner -> 11
    BPF_JMP_IMM(BPF_JSET, 3, 1, 2),    // -> 7
    BPF_ALU64_IMM(BPF_RSH, 3, 1),
    BPF_JMP_A(2),                      // -> 9
    BPF_ALU64_IMM(BPF_MUL, 3, 3),      // 7
    BPF_ALU64_IMM(BPF_ADD, 3, 1),
    BPF_ALU64_IMM(BPF_ADD, 0, 1),      // 9
    BPF_JMP_A(-8),                     // 10 -> 3
    BPF_ALU64_IMM(BPF_ADD, 2, 1),      // 11
    BPF_JMP_REG(BPF_JLE, 2, 1, -11),   // 12 -> 2
    BPF_EXIT_INSN(),
};

[[gnu::noinline]] uint64_t native_collatz(uint64_t limit) {
    uint64_t total = 0;
    for (uint64_t s = 1; s <= limit; ++s) {
        uint64_t n = s;
        while (n != 1) {
            n = (n & 1) ? 3 * n + 1 : n >> 1;
            ++total;
        }
    }
    return total;
}

// ---- Harness ----

std::vector<uint8_t>& packet() {
    static std::vector<uint8_t> p = [] {
        std::vector<uint8_t> v(kPacketSize);
        uint32_t x = 12345;
        for (auto& b : v) {
            x = x * 1103515245u + 12345u;
            b = static_cast<uint8_t>(x >> 16);
        }
        return v;
    }();
    return p;
}

struct Input {
    uint64_t r1, r2;
};

Input input_for(const Prog& prog) {
    if (&prog == &kChecksum) return {reinterpret_cast<uintptr_t>(packet().data()), packet().size()};
    if (&prog == &kCollatz) return {kCollatzLimit, 0};
    return {kArithIterations, 0};
}

uint64_t native_for(const Prog& prog, Input in) {
    if (&prog == &kChecksum) return native_checksum(reinterpret_cast<const uint8_t*>(in.r1), in.r2);
    if (&prog == &kCollatz) return native_collatz(in.r1);
    return native_arith(in.r1);
}

void run_interpreter(benchmark::State& state, const Prog* prog, Mode mode) {
    auto program = bpfrt::vm::make_interpreter(*prog, nullptr, mode);
    if (!program) {
        state.SkipWithError(program.error().message.c_str());
        return;
    }
    const Input in = input_for(*prog);
    ExecContext ctx;
    ctx.allow(packet().data(), packet().size(), false);
    auto first = (*program)->run(in.r1, in.r2, ctx);
    if (!first || *first != native_for(*prog, in)) {
        state.SkipWithError(first ? "interpreter and native results differ" : first.error().message.c_str());
        return;
    }
    for (auto _ : state) {
        uint64_t r1 = in.r1;
        benchmark::DoNotOptimize(r1);
        auto r = (*program)->run(r1, in.r2, ctx);
        benchmark::DoNotOptimize(r);
    }
}

void run_native(benchmark::State& state, const Prog* prog) {
    const Input in = input_for(*prog);
    for (auto _ : state) {
        Input copy = in;
        benchmark::DoNotOptimize(copy);
        uint64_t r = native_for(*prog, copy);
        benchmark::DoNotOptimize(r);
    }
}

void register_all() {
    struct Named {
        const char* name;
        const Prog* prog;
    };
    for (const Named n : {Named{"arith", &kArith}, Named{"checksum", &kChecksum}, Named{"collatz", &kCollatz}}) {
        benchmark::RegisterBenchmark((std::string(n.name) + "/native").c_str(), run_native, n.prog);
        benchmark::RegisterBenchmark((std::string(n.name) + "/verified").c_str(), run_interpreter, n.prog,
                                     Mode::Verified);
        benchmark::RegisterBenchmark((std::string(n.name) + "/checked").c_str(), run_interpreter, n.prog,
                                     Mode::Checked);
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_all();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
