// Targeted JIT tests: edge cases of the arithmetic, calls, tail calls,
// exit requests, packet loads, errors, W^X code memory, blinding, dumps.
#include "jit_test_util.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/jit.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace {

using bpfrt::jit::JitOptions;
using bpfrt::vm::ExecContext;
using bpfrt::vm::HelperTable;

std::vector<bpf_insn> assemble(const std::string& text) {
    auto r = bpfrt::isa::assemble(text);
    EXPECT_TRUE(r) << r.error().message;
    return r.value_or(std::vector<bpf_insn>{});
}

// Runs `text` on the interpreter and on every JIT variant; expects the same r0 everywhere.
uint64_t run_both(const std::string& text, const HelperTable* helpers = nullptr, uint64_t r1 = 0, uint64_t r2 = 0) {
    const auto insns = assemble(text);
    auto interp = bpfrt::vm::make_interpreter(insns, helpers, bpfrt::vm::Mode::Verified);
    EXPECT_TRUE(interp) << interp.error().message;
    if (!interp) return 0;
    ExecContext ctx;
    const auto expected = (*interp)->run(r1, r2, ctx);
    EXPECT_TRUE(expected) << expected.error().message;
    for (const JitOptions& o : {JitOptions{}, JitOptions{true, true}, JitOptions{false, false}}) {
        auto jit = bpfrt::jit::make_jit(insns, helpers, o);
        EXPECT_TRUE(jit) << jit.error().message;
        if (!jit) continue;
        ExecContext jctx;
        const auto got = (*jit)->run(r1, r2, jctx);
        EXPECT_TRUE(got) << got.error().message;
        if (got && expected) {
            EXPECT_EQ(*got, *expected) << text << "\nblinding " << o.constant_blinding;
        }
    }
    return expected.value_or(0);
}

TEST(Jit, Supported) { EXPECT_TRUE(bpfrt::jit::jit_supported()); }

TEST(Jit, DivisionEdgeCases) {
    EXPECT_EQ(run_both("mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit"), 0u);
    EXPECT_EQ(run_both("mov %r0, 7\nmov %r1, 0\nmod %r0, %r1\nexit"), 7u);
    EXPECT_EQ(run_both("lddw %r0, 0xffffffff00000007\nmov %r1, 0\nmod32 %r0, %r1\nexit"), 7u);
    EXPECT_EQ(run_both("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1\nexit"), 0x8000000000000000u);
    EXPECT_EQ(run_both("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsmod %r0, %r1\nexit"), 0u);
    EXPECT_EQ(run_both("mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit"), 0x80000000u);
    EXPECT_EQ(run_both("mov %r0, -7\nsdiv %r0, 2\nexit"), static_cast<uint64_t>(-3));
    EXPECT_EQ(run_both("mov %r0, -7\nsmod %r0, 2\nexit"), static_cast<uint64_t>(-1));
    EXPECT_EQ(run_both("mov %r0, 100\nmov %r3, 7\ndiv %r3, 2\nadd %r0, %r3\nexit"), 103u);  // r3 is rdx
    EXPECT_EQ(run_both("mov %r3, 100\nmov %r0, 7\nmod %r3, %r0\nmov %r0, %r3\nexit"), 2u);
    EXPECT_EQ(run_both("mov %r0, 0\nmov %r3, 100\nmov %r4, 9\ndiv %r3, %r4\nadd %r0, %r3\nexit"), 11u);
}

TEST(Jit, ShiftsMaskAndZeroExtend) {
    EXPECT_EQ(run_both("mov %r0, 1\nmov %r4, 65\nlsh %r0, %r4\nexit"), 2u);  // r4 is rcx
    EXPECT_EQ(run_both("mov %r4, 1\nmov %r1, 33\nlsh32 %r4, %r1\nmov %r0, %r4\nexit"), 2u);
    EXPECT_EQ(run_both("mov %r4, 3\nlsh %r4, %r4\nmov %r0, %r4\nexit"), 24u);
    EXPECT_EQ(run_both("lddw %r0, 0xffffffff80000000\nmov %r1, 0\narsh32 %r0, %r1\nexit"), 0x80000000u);
    EXPECT_EQ(run_both("lddw %r0, 0xffffffff80000000\narsh32 %r0, 32\nexit"), 0x80000000u);
    EXPECT_EQ(run_both("mov %r0, -16\narsh %r0, 2\nexit"), static_cast<uint64_t>(-4));
}

TEST(Jit, ByteOrderAndSignExtension) {
    EXPECT_EQ(run_both("lddw %r0, 0x1122334455667788\nbe16 %r0\nexit"), 0x8877u);
    EXPECT_EQ(run_both("lddw %r0, 0x1122334455667788\nbe32 %r0\nexit"), 0x88776655u);
    EXPECT_EQ(run_both("lddw %r0, 0x1122334455667788\nbswap64 %r0\nexit"), 0x8877665544332211u);
    EXPECT_EQ(run_both("lddw %r0, 0x1122334455667788\nle16 %r0\nexit"), 0x7788u);
    EXPECT_EQ(run_both("lddw %r0, 0x1122334455667788\nle32 %r0\nexit"), 0x55667788u);
    EXPECT_EQ(run_both("mov %r1, 0x80\nmovsx864 %r0, %r1\nexit"), static_cast<uint64_t>(-128));
    EXPECT_EQ(run_both("mov %r1, 0x8000\nmovsx1632 %r0, %r1\nexit"), 0xffff8000u);
    EXPECT_EQ(run_both("stw [%r10-4], -2\nldxsw %r0, [%r10-4]\nexit"), static_cast<uint64_t>(-2));
    EXPECT_EQ(run_both("sth [%r10-4], -2\nldxsh %r0, [%r10-4]\nexit"), static_cast<uint64_t>(-2));
}

TEST(Jit, Atomics) {
    EXPECT_EQ(run_both("stdw [%r10-8], 5\nmov %r1, 3\nlock fetch add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit"), 13u);
    EXPECT_EQ(run_both("stdw [%r10-8], 6\nmov %r0, 3\nlock fetch or [%r10-8], %r0\nldxdw %r1, [%r10-8]\nlsh %r1, 8\nor %r0, %r1\nexit"), 0x706u);
    EXPECT_EQ(run_both("stw [%r10-4], 6\nmov %r2, 3\nlock fetch xor32 [%r10-4], %r2\nldxw %r0, [%r10-4]\nlsh %r0, 8\nor %r0, %r2\nexit"), 0x506u);
    EXPECT_EQ(run_both("stdw [%r10-8], 6\nmov %r0, 6\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r1, [%r10-8]\nlsh %r1, 8\nor %r0, %r1\nexit"), 0x906u);
    EXPECT_EQ(run_both("stw [%r10-4], 6\nlddw %r0, 0x100000006\nmov %r1, 9\nlock cmpxchg32 [%r10-4], %r1\nexit"), 6u);
    EXPECT_EQ(run_both("stdw [%r10-8], 6\nmov %r1, 9\nlock xchg [%r10-8], %r1\nldxdw %r0, [%r10-8]\nlsh %r0, 8\nor %r0, %r1\nexit"), 0x906u);
}

uint64_t add_helper(uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t, ExecContext&) { return a + b; }
uint64_t stop_helper(uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    ctx.exit_requested = true;
    ctx.exit_value = a;
    return 0;
}
uint64_t ident_helper(uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) { return a; }

HelperTable test_helpers() {
    HelperTable t;
    t.set(1, {&add_helper, "add", false});
    t.set(2, {&stop_helper, "stop", false});
    t.set(5, {&ident_helper, "unwind", true});
    return t;
}

TEST(Jit, HelperCallsExitRequestsAndUnwinding) {
    const HelperTable helpers = test_helpers();
    EXPECT_EQ(run_both("mov %r6, 4\nmov %r1, 2\nmov %r2, 3\ncall 1\nadd %r0, %r6\nexit", &helpers), 9u);
    EXPECT_EQ(run_both("mov %r1, 42\ncall local f\nmov %r0, 1\nexit\nf:\ncall 2\nmov %r0, 2\nexit", &helpers), 42u);
    EXPECT_EQ(run_both("mov %r1, 0\ncall local f\nmov %r0, 1\nexit\nf:\ncall 5\nmov %r0, 2\nexit", &helpers), 0u);
    EXPECT_EQ(run_both("mov %r1, 7\ncall 5\nadd %r0, 1\nexit", &helpers), 8u);
    EXPECT_EQ(run_both("mov %r1, 7\nmov %r2, 5\ncallx %r2\nadd %r0, 1\nexit", &helpers), 8u);
    EXPECT_EQ(run_both("mov %r1, 0\nmov %r2, 5\ncallx %r2\nadd %r0, 1\nexit", &helpers), 0u);
}

TEST(Jit, UnknownHelperAndCallDepthAreErrors) {
    const HelperTable helpers = test_helpers();
    auto jit = bpfrt::jit::make_jit(assemble("call 77\nexit"), &helpers);
    ASSERT_TRUE(jit);
    ExecContext ctx;
    auto r = (*jit)->run(0, 0, ctx);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unknown helper 77"), std::string::npos) << r.error().message;
    auto jitx = bpfrt::jit::make_jit(assemble("mov %r3, 99\ncallx %r3\nexit"), &helpers);
    r = (*jitx)->run(0, 0, ctx);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unknown helper 99"), std::string::npos) << r.error().message;
    // Infinite recursion: stopped at kMaxCallDepth frames, as by the interpreter.
    const auto rec = assemble("f:\ncall local f\nexit");
    auto interp = bpfrt::vm::make_interpreter(rec, &helpers, bpfrt::vm::Mode::Verified);
    auto jitr = bpfrt::jit::make_jit(rec, &helpers);
    ASSERT_TRUE(interp && jitr);
    auto a = (*interp)->run(0, 0, ctx);
    auto b = (*jitr)->run(0, 0, ctx);
    ASSERT_FALSE(a);
    ASSERT_FALSE(b);
    EXPECT_EQ(a.error().message, b.error().message);
}

// The System V ABI wants rsp 16-byte aligned at every call: whatever the
// entry saves and reserves (it depends on the registers the program names,
// its stack use and its calls), a helper finds its frame aligned.
[[gnu::noinline]] uint64_t frame_misalignment(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) {
    return reinterpret_cast<uintptr_t>(__builtin_frame_address(0)) % 16;
}

TEST(Jit, HelpersSeeAnAlignedStackWhateverTheEntrySaves) {
    HelperTable helpers;
    helpers.set(1, {&frame_misalignment, "misalignment", false});
    const char* uses[] = {"", "mov %r6, 1\n", "mov %r6, 1\nmov %r7, 1\n", "mov %r6, 1\nmov %r7, 1\nmov %r8, 1\n",
                          "mov %r6, 1\nmov %r7, 1\nmov %r8, 1\nmov %r9, 1\n", "stdw [%r10-8], 1\n"};
    for (const char* use : uses) {
        const std::string direct = std::string(use) + "call 1\nexit";
        const std::string local = std::string(use) + "call local f\nexit\nf:\ncall 1\nexit";
        const std::string packet = std::string(use) + "ldabsb 0\ncall 1\nexit";
        for (const std::string& text : {direct, local, packet}) {
            auto jit = bpfrt::jit::make_jit(assemble(text), &helpers);
            ASSERT_TRUE(jit) << text;
            const uint8_t byte = 1;
            ExecContext ctx;
            ctx.packet = &byte;
            ctx.packet_len = 1;
            auto r = (*jit)->run(0, 0, ctx);
            ASSERT_TRUE(r) << r.error().message;
            EXPECT_EQ(*r, 0u) << text;
        }
    }
}

// Programs that need no state, no stack or no saved registers get an entry
// without them: the caller's callee-saved registers must survive all shapes.
TEST(Jit, EveryEntryShapeKeepsTheCallersRegisters) {
    EXPECT_EQ(run_both("mov %r0, 3\nexit"), 3u);
    EXPECT_EQ(run_both("mov %r6, 3\nmov %r9, 4\nmov %r0, %r6\nadd %r0, %r9\nexit"), 7u);
    EXPECT_EQ(run_both("stdw [%r10-8], 5\nldxdw %r0, [%r10-8]\nexit"), 5u);
    EXPECT_EQ(run_both("mov %r7, 2\nstdw [%r10-512], 5\nldxdw %r0, [%r10-512]\nadd %r0, %r7\nexit"), 7u);
    EXPECT_EQ(run_both("mov %r1, 6\ncall local f\nexit\nf:\nmov %r0, %r1\nexit"), 6u);
    EXPECT_EQ(run_both("jeq %r1, 0, +2\nmov %r0, 1\nexit\nmov %r0, 2\nexit"), 2u);  // two exits
}

TEST(Jit, LocalCallsKeepCalleeSavedRegistersAndFrames) {
    EXPECT_EQ(run_both(R"(
        mov %r6, 1
        mov %r7, 2
        mov %r8, 3
        mov %r9, 4
        stdw [%r10-8], 100
        mov %r1, 10
        call local f
        add %r0, %r6
        add %r0, %r7
        add %r0, %r8
        add %r0, %r9
        ldxdw %r1, [%r10-8]
        add %r0, %r1
        exit
        f:
        stdw [%r10-8], 1000
        mov %r6, 50
        mov %r7, 50
        mov %r8, 50
        mov %r9, 50
        ldxdw %r0, [%r10-8]
        add %r0, %r1
        exit)"), 1120u);
}

TEST(Jit, PacketLoads) {
    uint8_t packet[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    const auto run = [&](const std::string& text) {
        const auto insns = assemble(text);
        auto interp = bpfrt::vm::make_interpreter(insns, nullptr, bpfrt::vm::Mode::Verified);
        auto jit = bpfrt::jit::make_jit(insns, nullptr);
        EXPECT_TRUE(interp && jit);
        ExecContext ctx;
        ctx.packet = packet;
        ctx.packet_len = sizeof packet;
        auto a = (*interp)->run(0, 0, ctx);
        auto b = (*jit)->run(0, 0, ctx);
        EXPECT_EQ(a.value_or(1234), b.value_or(4321)) << text;
        return b.value_or(0);
    };
    EXPECT_EQ(run("ldabsw 4\nexit"), 0x55667788u);
    EXPECT_EQ(run("ldabsh 6\nexit"), 0x7788u);
    EXPECT_EQ(run("ldabsb 7\nexit"), 0x88u);
    EXPECT_EQ(run("mov %r0, 5\nldabsw 5\nmov %r0, 9\nexit"), 0u);  // out of bounds ends the program
    EXPECT_EQ(run("mov %r1, 3\nldindh %r1, 2\nexit"), 0x6677u);
    EXPECT_EQ(run("mov %r1, -1\nldindb %r1, 1\nexit"), 0x11u);
    EXPECT_EQ(run("mov %r1, -2\nldindb %r1, 1\nexit"), 0u);
    EXPECT_EQ(run("mov %r0, 3\ncall local f\nmov %r0, 9\nexit\nf:\nldabsw 100\nexit"), 0u);
}

// A tail-call helper: continues in the program held by ctx.user.
uint64_t tail_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    ctx.tail_call_target = static_cast<const bpfrt::vm::Program*>(ctx.user);
    return 0;
}

TEST(Jit, TailCallsStopAfter33) {
    HelperTable helpers;
    helpers.set(12, {&tail_helper, "tail_call", false});
    // Counts its runs in r1's memory, then tail-calls itself; after the
    // limit the call falls through and the program returns the count.
    const auto insns = assemble("ldxdw %r0, [%r1]\nadd %r0, 1\nstxdw [%r1], %r0\nmov %r6, %r1\ncall 12\n"
                                "ldxdw %r0, [%r6]\nexit");
    for (bool use_jit : {false, true}) {
        auto prog = use_jit ? bpfrt::jit::make_jit(insns, &helpers)
                            : bpfrt::vm::make_interpreter(insns, &helpers, bpfrt::vm::Mode::Verified);
        ASSERT_TRUE(prog);
        uint64_t counter = 0;
        ExecContext ctx;
        ctx.user = const_cast<bpfrt::vm::Program*>(prog->get());
        auto r = (*prog)->run(reinterpret_cast<uint64_t>(&counter), 0, ctx);
        ASSERT_TRUE(r) << r.error().message;
        EXPECT_EQ(*r, 34u) << (use_jit ? "jit" : "interpreter");
        EXPECT_EQ(ctx.tail_calls, 33u);
    }
}

TEST(Jit, RefusesWhatTheInterpreterRefuses) {
    for (const char* text : {"mov %r10, 1\nexit", "ja +5\nexit", "mov %r0, 1", "lddw %r0, 1\nja -2\nexit"}) {
        const auto insns = assemble(text);
        auto jit = bpfrt::jit::make_jit(insns, nullptr);
        auto interp = bpfrt::vm::make_interpreter(insns, nullptr, bpfrt::vm::Mode::Verified);
        ASSERT_FALSE(jit) << text;
        ASSERT_FALSE(interp) << text;
        EXPECT_EQ(jit.error().code, EINVAL);
        EXPECT_EQ(jit.error().message, interp.error().message);
    }
    EXPECT_FALSE(bpfrt::jit::make_jit({}, nullptr));
}

// The code mapping is never writable and executable at once.
TEST(Jit, CodeIsReadExecuteOnly) {
    auto jit = bpfrt::jit::make_jit(assemble("mov %r0, 1\nexit"), nullptr);
    ASSERT_TRUE(jit);
    auto code = bpfrt::jit::jit_code(**jit);
    ASSERT_TRUE(code);
    std::ifstream maps("/proc/self/maps");
    std::string line;
    bool found = false;
    while (std::getline(maps, line)) {
        unsigned long lo = 0, hi = 0;
        char perms[5] = {};
        if (std::sscanf(line.c_str(), "%lx-%lx %4s", &lo, &hi, perms) != 3) continue;
        EXPECT_FALSE(perms[1] == 'w' && perms[2] == 'x') << "writable and executable mapping: " << line;
        if (code->address >= lo && code->address < hi) {
            found = true;
            EXPECT_EQ(std::string(perms).substr(0, 3), "r-x") << line;
        }
    }
    EXPECT_TRUE(found);
}

bool contains(std::span<const uint8_t> bytes, uint32_t value) {
    uint8_t pattern[4];
    std::memcpy(pattern, &value, 4);
    return std::search(bytes.begin(), bytes.end(), pattern, pattern + 4) != bytes.end();
}

TEST(Jit, BlindingHidesImmediates) {
    const auto insns = assemble("mov %r0, 0x3c1a2b4d\nadd %r0, 0x3c1a2b4d\njeq %r0, 0x3c1a2b4d, +1\n"
                                "stw [%r10-4], 0x3c1a2b4d\nlddw %r1, 0x3c1a2b4d3c1a2b4d\nexit");
    auto plain = bpfrt::jit::make_jit(insns, nullptr);
    auto blinded = bpfrt::jit::make_jit(insns, nullptr, {.constant_blinding = true});
    ASSERT_TRUE(plain && blinded);
    EXPECT_TRUE(contains(bpfrt::jit::jit_code(**plain)->bytes, 0x3c1a2b4d));
    EXPECT_FALSE(contains(bpfrt::jit::jit_code(**blinded)->bytes, 0x3c1a2b4d));
    ExecContext ctx;
    EXPECT_EQ((*plain)->run(0, 0, ctx).value(), (*blinded)->run(0, 0, ctx).value());
}

TEST(Jit, DisassemblyShowsEachInstruction) {
    const auto insns = assemble("mov %r0, 1\nlock add [%r10-8], %r0\nlddw %r1, 5\nexit");
    auto jit = bpfrt::jit::make_jit(insns, nullptr);
    ASSERT_TRUE(jit);
    auto text = bpfrt::jit::jit_disassemble(**jit, insns);
    ASSERT_TRUE(text) << text.error().message;
    EXPECT_NE(text->find("; 0: mov %r0, 1"), std::string::npos) << *text;
    EXPECT_NE(text->find("lock add"), std::string::npos) << *text;
    EXPECT_NE(text->find("; 2: lddw %r1, 0x5"), std::string::npos) << *text;
    EXPECT_EQ(text->find("; 3:"), std::string::npos) << *text;
    EXPECT_NE(text->find("; 4: exit"), std::string::npos) << *text;
    auto interp = bpfrt::vm::make_interpreter(insns, nullptr, bpfrt::vm::Mode::Verified);
    EXPECT_FALSE(bpfrt::jit::jit_disassemble(**interp, insns));
}

TEST(Jit, MakeProgramPicksTheEngine) {
    const auto insns = assemble("mov %r0, 3\nexit");
    auto a = bpfrt::jit::make_program(insns, nullptr);
    auto i = bpfrt::jit::make_program(insns, nullptr, bpfrt::jit::Engine::Interpreter);
    ASSERT_TRUE(a && i);
    EXPECT_TRUE(bpfrt::jit::jit_code(**a).has_value());
    EXPECT_FALSE(bpfrt::jit::jit_code(**i).has_value());
    ExecContext ctx;
    EXPECT_EQ((*a)->run(0, 0, ctx).value(), 3u);
    EXPECT_EQ((*i)->run(0, 0, ctx).value(), 3u);
}

}  // namespace
