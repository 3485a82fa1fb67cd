// Soundness fuzzing: random programs that the verifier accepts must run in
// the interpreter's checked mode without a single out-of-bounds access.
//
// Programs are generated from a small grammar that produces many accepted
// programs: arithmetic on r0-r5 (ALU64 and ALU32), forward conditional
// jumps, loads from the context, stack stores and loads, and map-value
// accesses with variable offsets, variable-offset stack accesses (privileged),
// bounded loops, spills and fills (whole and narrow) and linked register
// copies, so that state pruning (precision and liveness marks) is exercised.
// Each accepted program runs several times on different data.
// BPFRT_VERIFIER_FUZZ_N sets the count (default 100000, about 2 s).
#include "verify_helpers.hpp"

#include <bpfrt/vm.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>

namespace bpfrt::verifier::testing {
namespace {

using Prog = std::vector<bpf_insn>;

constexpr int32_t kValueMap = 42;      // array, 1 entry, 64-byte value
constexpr uint32_t kValueSize = 64;
constexpr uint32_t kCtxSize = 168;     // kprobe pt_regs

std::optional<MapInfo> fuzz_map(int32_t h) {
    if (h == kValueMap) return MapInfo{BPF_MAP_TYPE_ARRAY, 4, kValueSize, 1, 0, false};
    return std::nullopt;
}

class Generator {
public:
    explicit Generator(uint64_t seed) : rng_(seed) {}

    Prog program() {
        // r6 = &value, r7 = ctx
        Prog p = {BPF_LD_MAP_VALUE(BPF_REG_6, kValueMap, 0)};
        p.push_back(BPF_MOV64_REG(BPF_REG_7, BPF_REG_1));
        for (int r = 0; r <= 5; ++r) p.push_back(init_reg(r));
        const int body = 4 + static_cast<int>(rng_() % 24);
        std::vector<Prog> parts;
        for (int i = 0; i < body; ++i) parts.push_back(piece());
        // Forward jumps are patched to land on a piece boundary.
        std::vector<size_t> starts;
        for (const Prog& part : parts) {
            starts.push_back(p.size());
            p.insert(p.end(), part.begin(), part.end());
        }
        const size_t end = p.size();
        p.push_back(rng_() % 2 ? BPF_MOV64_IMM(BPF_REG_0, 0) : BPF_MOV64_REG(BPF_REG_0, reg()));
        p.push_back(BPF_EXIT_INSN());
        for (size_t i = 0; i < starts.size(); ++i) {
            bpf_insn& in = p[starts[i]];
            if (BPF_CLASS(in.code) != BPF_JMP && BPF_CLASS(in.code) != BPF_JMP32) continue;
            if (BPF_OP(in.code) == BPF_CALL || BPF_OP(in.code) == BPF_EXIT) continue;
            const size_t first = i + 1;
            const size_t pick = first + rng_() % (starts.size() - first + 1);
            const size_t target = pick < starts.size() ? starts[pick] : end;
            in.off = static_cast<int16_t>(target - starts[i] - 1);
        }
        return p;
    }

private:
    int reg() { return static_cast<int>(rng_() % 6); }
    int32_t imm() {
        switch (rng_() % 6) {
            case 0: return static_cast<int32_t>(rng_() % 8);
            case 1: return static_cast<int32_t>(rng_() % 80) - 8;
            case 2: return -static_cast<int32_t>(rng_() % 8);
            case 3: return static_cast<int32_t>(rng_() % 4096);
            case 4: return static_cast<int32_t>(1u << (rng_() % 32));
            default: return static_cast<int32_t>(rng_());
        }
    }
    bpf_insn init_reg(int r) {
        if (rng_() % 2) return BPF_MOV64_IMM(r, imm());
        return BPF_LDX_MEM(BPF_DW, r, BPF_REG_7, static_cast<int16_t>(8 * (rng_() % 21)));
    }
    int size() {
        static constexpr int kSizes[] = {BPF_B, BPF_H, BPF_W, BPF_DW};
        return kSizes[rng_() % 4];
    }
    Prog piece() {
        static constexpr int kAlu[] = {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH,
                                       BPF_RSH, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH};
        static constexpr int kJmp[] = {BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
                                       BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE};
        const int op = kAlu[rng_() % std::size(kAlu)];
        const int jop = kJmp[rng_() % std::size(kJmp)];
        switch (rng_() % 16) {
            case 0: return {BPF_ALU64_IMM(op, reg(), imm())};
            case 1: return {BPF_ALU64_REG(op, reg(), reg())};
            case 2: return {BPF_ALU32_IMM(op, reg(), imm())};
            case 3: return {BPF_ALU32_REG(op, reg(), reg())};
            case 4: return {BPF_JMP_IMM(jop, reg(), imm(), 0)};
            case 5: return {BPF_JMP_REG(jop, reg(), reg(), 0)};
            case 6: return {BPF_JMP32_IMM(jop, reg(), imm(), 0)};
            case 7: {  // value access through r8 = r6 + rX
                const int r = reg();
                const auto off = static_cast<int16_t>(static_cast<int>(rng_() % 80) - 8);
                const int sz = size();
                if (rng_() % 2) return {BPF_MOV64_REG(BPF_REG_8, BPF_REG_6), BPF_ALU64_REG(BPF_ADD, BPF_REG_8, r), BPF_LDX_MEM(sz, reg(), BPF_REG_8, off)};
                return {BPF_MOV64_REG(BPF_REG_8, BPF_REG_6), BPF_ALU64_REG(BPF_ADD, BPF_REG_8, r), BPF_STX_MEM(sz, BPF_REG_8, reg(), off)};
            }
            case 8: {  // stack
                const int sz = size();
                const int bytes = sz == BPF_DW ? 8 : sz == BPF_W ? 4 : sz == BPF_H ? 2 : 1;
                const auto off = static_cast<int16_t>(-bytes * static_cast<int>(1 + rng_() % (520 / bytes)));
                if (rng_() % 2) return {BPF_STX_MEM(sz, BPF_REG_10, reg(), off)};
                return {BPF_LDX_MEM(sz, reg(), BPF_REG_10, off)};
            }
            case 9: return {BPF_LDX_MEM(size(), reg(), BPF_REG_7, static_cast<int16_t>(rng_() % 176))};
            case 10: {  // bounds check then value access with the checked register
                const int r = reg();
                const int32_t lim = static_cast<int32_t>(rng_() % 72);
                return {BPF_JMP_IMM(BPF_JGT, r, lim, 3), BPF_MOV64_REG(BPF_REG_8, BPF_REG_6), BPF_ALU64_REG(BPF_ADD, BPF_REG_8, r),
                        BPF_LDX_MEM(size(), reg(), BPF_REG_8, 0)};
            }
            case 11: {  // variable-offset stack access (privileged): r9 = fp + base + (rX & mask)
                const auto mask = static_cast<int32_t>(rng_() % 2 ? 0x38 : rng_() % 128);
                const auto base = -static_cast<int32_t>(8 * (1 + rng_() % 66));
                const int sz = size();
                Prog p = {BPF_MOV64_REG(BPF_REG_9, reg()), BPF_ALU64_IMM(BPF_AND, BPF_REG_9, mask),
                          BPF_ALU64_REG(BPF_ADD, BPF_REG_9, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_9, base)};
                if (rng_() % 2) p.push_back(BPF_STX_MEM(sz, BPF_REG_9, reg(), 0));
                else p.push_back(BPF_LDX_MEM(sz, reg(), BPF_REG_9, 0));
                return p;
            }
            case 13: {  // bounded loop around a straight piece: r9 counts
                Prog body = straight_piece();
                const auto n = static_cast<int32_t>(1 + rng_() % 6);
                Prog p = {BPF_MOV64_IMM(BPF_REG_9, 0)};
                p.insert(p.end(), body.begin(), body.end());
                p.push_back(BPF_ALU64_IMM(BPF_ADD, BPF_REG_9, 1));
                p.push_back(BPF_JMP_IMM(BPF_JLT, BPF_REG_9, n, static_cast<int16_t>(-static_cast<int>(body.size()) - 2)));
                return p;
            }
            case 14: {  // spill and fill through an aligned slot, whole or narrow
                const auto off = static_cast<int16_t>(-8 * static_cast<int>(1 + rng_() % 8));
                const int sz = rng_() % 2 ? BPF_DW : BPF_W;
                return {BPF_STX_MEM(sz, BPF_REG_10, reg(), off), BPF_LDX_MEM(sz, reg(), BPF_REG_10, off)};
            }
            case 15: {  // a copy checked in place of the original, the original used as an offset
                const int a = reg(), b = reg();
                const int32_t lim = static_cast<int32_t>(rng_() % 72);
                return {BPF_MOV64_REG(a, b), BPF_JMP_IMM(BPF_JGT, a, lim, 3), BPF_MOV64_REG(BPF_REG_8, BPF_REG_6),
                        BPF_ALU64_REG(BPF_ADD, BPF_REG_8, b), BPF_LDX_MEM(size(), reg(), BPF_REG_8, 0)};
            }
            default: return {BPF_ALU64_IMM(BPF_AND, reg(), static_cast<int32_t>(rng_() % 64))};
        }
    }
    // A piece without jumps (a loop body).
    Prog straight_piece() {
        for (;;) {
            Prog p = piece();
            bool jumps = false;
            for (const bpf_insn& in : p)
                if ((BPF_CLASS(in.code) == BPF_JMP || BPF_CLASS(in.code) == BPF_JMP32) && BPF_OP(in.code) != BPF_CALL)
                    jumps = true;
            if (!jumps) {
                bool uses_r9 = false;
                for (const bpf_insn& in : p) uses_r9 |= in.dst_reg == BPF_REG_9;
                if (!uses_r9) return p;
            }
        }
    }

    std::mt19937_64 rng_;
};

constexpr int kRunsPerProgram = 4;

// Input data: each 8-byte word random, small, zero or all ones, so that both
// sides of the generated comparisons are taken.
template <size_t N>
void fill(std::array<uint8_t, N>& buf, std::mt19937_64& rng) {
    for (size_t i = 0; i < N; i += 8) {
        uint64_t v = rng();
        switch (rng() % 4) {
            case 0: v %= 80; break;
            case 1: v = 0; break;
            case 2: v = ~uint64_t{0} - v % 8; break;
            default: break;
        }
        std::memcpy(buf.data() + i, &v, std::min<size_t>(8, N - i));
    }
}

uint64_t fake_prandom(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext&) { return 4; }

std::string dump(const Prog& p) {
    std::string out;
    for (const bpf_insn& in : p)
        out += "{" + std::to_string(in.code) + "," + std::to_string(in.dst_reg) + "," + std::to_string(in.src_reg) + "," +
               std::to_string(in.off) + "," + std::to_string(in.imm) + "} ";
    return out;
}

// The oracle itself: an out-of-bounds program (rejected by the verifier) faults in checked mode.
TEST(Fuzz, CheckedModeCatchesOutOfBounds) {
    std::array<uint8_t, kValueSize> value{};
    const auto addr = reinterpret_cast<uintptr_t>(value.data());
    const Prog p = {BPF_LD_IMM64(BPF_REG_6, addr), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_6, kValueSize), BPF_EXIT_INSN()};
    VerifyInput in;
    const Prog as_map = {BPF_LD_MAP_VALUE(BPF_REG_6, kValueMap, 0), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_6, kValueSize), BPF_EXIT_INSN()};
    in.insns = as_map;
    in.prog_type = BPF_PROG_TYPE_KPROBE;
    in.map_info = fuzz_map;
    EXPECT_FALSE(verify(in).accepted);
    vm::HelperTable helpers;
    auto prog = vm::make_interpreter(p, &helpers, vm::Mode::Checked);
    ASSERT_TRUE(prog.has_value());
    vm::ExecContext ctx;
    ctx.allow(value.data(), value.size(), true);
    EXPECT_FALSE((*prog)->run(0, 0, ctx).has_value());
}

TEST(Fuzz, AcceptedProgramsRunWithoutFaults) {
    const char* env = std::getenv("BPFRT_VERIFIER_FUZZ_N");
    const long n = env ? std::strtol(env, nullptr, 10) : 100000;
    Generator gen(0x5eed);
    vm::HelperTable helpers;
    helpers.set(BPF_FUNC_get_prandom_u32, vm::Helper{fake_prandom, "get_prandom_u32", false});
    std::array<uint8_t, kCtxSize> ctx_buf{};
    std::array<uint8_t, kValueSize> value{};
    std::mt19937_64 data_rng(1);
    long accepted = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {
        Prog p = gen.program();
        VerifyInput in;
        in.insns = p;
        in.prog_type = BPF_PROG_TYPE_KPROBE;
        in.license = "GPL";
        in.map_info = fuzz_map;
        in.max_processed = 200'000;
        const VerifyResult r = verify(in);
        if (!r.accepted) continue;
        ++accepted;
        // Resolve the direct value load to the buffer's address, as the loader would.
        const auto addr = reinterpret_cast<uintptr_t>(value.data());
        p[0].src_reg = 0;
        p[0].imm = static_cast<int32_t>(static_cast<uint32_t>(addr));
        p[1].imm = static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint64_t>(addr) >> 32));
        auto prog = vm::make_interpreter(p, &helpers, vm::Mode::Checked);
        ASSERT_TRUE(prog.has_value()) << prog.error().message << "\n" << dump(p);
        for (int run = 0; run < kRunsPerProgram; ++run) {
            fill(ctx_buf, data_rng);
            fill(value, data_rng);
            vm::ExecContext ctx;
            ctx.allow(ctx_buf.data(), ctx_buf.size(), false);
            ctx.allow(value.data(), value.size(), true);
            auto ran = (*prog)->run(reinterpret_cast<uintptr_t>(ctx_buf.data()), 0, ctx);
            ASSERT_TRUE(ran.has_value()) << "accepted program faulted: " << ran.error().message
                                         << "\nprogram: " << dump(p) << "\nverifier: processed " << r.processed_insns;
        }
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("fuzz: %ld programs, %ld accepted, %.1f s\n", n, accepted, s);
    EXPECT_GT(accepted, n / 20) << "the generator should produce accepted programs";
}

}  // namespace
}  // namespace bpfrt::verifier::testing
