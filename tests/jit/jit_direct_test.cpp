// jit::DirectEntry: the same results as Program::run for every way a run
// ends (return, exit request, unwinding helper, packet load out of bounds,
// unknown helper, call depth, tail calls into JIT and interpreter programs),
// run after run through one entry, with ExecContext restored as run() does.
#include <bpfrt/asm.hpp>
#include <bpfrt/jit.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using bpfrt::jit::DirectEntry;
using bpfrt::vm::ExecContext;
using bpfrt::vm::HelperTable;
using bpfrt::vm::Program;

std::vector<bpf_insn> assemble(const std::string& text) {
    auto r = bpfrt::isa::assemble(text);
    EXPECT_TRUE(r) << r.error().message;
    return r.value_or(std::vector<bpf_insn>{});
}

std::unique_ptr<Program> jit_of(const std::string& text, const HelperTable* helpers,
                                const bpfrt::jit::JitOptions& options = {}) {
    auto jit = bpfrt::jit::make_jit(assemble(text), helpers, options);
    EXPECT_TRUE(jit) << jit.error().message;
    return jit ? std::move(*jit) : nullptr;
}

std::string describe(const bpfrt::Result<uint64_t>& r) {
    return r ? "r0 = " + std::to_string(*r) : "error " + std::to_string(r.error().code) + ": " + r.error().message;
}

// Three runs through one entry agree with run() each time, in r0 or error.
void expect_same_as_run(const Program& prog, uint64_t r1, uint64_t r2, ExecContext& ctx, const std::string& what) {
    DirectEntry entry(prog);
    for (int i = 0; i < 3; ++i) {
        const auto want = prog.run(r1, r2, ctx);
        const auto got = entry.run(r1, r2, ctx);
        EXPECT_EQ(describe(got), describe(want)) << what << ", run " << i;
        if (!got && !want) {
            EXPECT_EQ(got.error().code, want.error().code) << what;
        }
    }
}

uint64_t add_helper(uint64_t a, uint64_t b, uint64_t, uint64_t, uint64_t, ExecContext&) { return a + b; }
uint64_t stop_helper(uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    ctx.exit_requested = true;
    ctx.exit_value = a;
    return 0;
}
uint64_t ident_helper(uint64_t a, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) { return a; }
// A helper that fails as kernel helpers do: a negative errno in r0.
uint64_t failing_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) {
    return static_cast<uint64_t>(-int64_t{EINVAL});
}
// Records what a helper sees of the run: ctx.checked and ctx.stack_top.
struct Seen {
    bool checked = true;
    uintptr_t stack_top = 0;
};
uint64_t seen_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    auto* seen = static_cast<Seen*>(ctx.user);
    seen->checked = ctx.checked;
    seen->stack_top = ctx.stack_top;
    return 0;
}

HelperTable test_helpers() {
    HelperTable t;
    t.set(1, {&add_helper, "add", false});
    t.set(2, {&stop_helper, "stop", false});
    t.set(3, {&failing_helper, "fail", false});
    t.set(4, {&seen_helper, "seen", false});
    t.set(5, {&ident_helper, "unwind", true});
    return t;
}

TEST(JitDirect, IsDirectOnlyForJitPrograms) {
    auto jit = jit_of("mov %r0, 1\nexit", nullptr);
    auto interp = bpfrt::vm::make_interpreter(assemble("mov %r0, 1\nexit"), nullptr, bpfrt::vm::Mode::Verified);
    ASSERT_TRUE(jit && interp);
    EXPECT_TRUE(DirectEntry(*jit).direct());
    EXPECT_FALSE(DirectEntry(**interp).direct());
    EXPECT_EQ(&DirectEntry(*jit).program(), jit.get());
}

TEST(JitDirect, SameResultsAsRun) {
    const HelperTable helpers = test_helpers();
    const char* programs[] = {
        "mov %r0, 1\nexit",
        "mov %r0, %r1\nadd %r0, %r2\nexit",  // r1, r2 reach the program
        "mov %r6, 4\nmov %r1, 2\nmov %r2, 3\ncall 1\nadd %r0, %r6\nexit",
        "mov %r1, 42\ncall local f\nmov %r0, 1\nexit\nf:\ncall 2\nmov %r0, 2\nexit",  // exit request
        "mov %r1, 0\ncall local f\nmov %r0, 1\nexit\nf:\ncall 5\nmov %r0, 2\nexit",   // unwinding helper
        "mov %r1, 7\nmov %r2, 5\ncallx %r2\nadd %r0, 1\nexit",
        "call 3\nexit",                                      // a helper's error code
        "call 3\njsge %r0, 0, +1\nmov %r0, 99\nexit",
        "stdw [%r10-8], 5\nmov %r1, 3\nlock fetch add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit",
        "ldabsw 4\nexit",
        "mov %r0, 5\nldabsw 6\nmov %r0, 9\nexit",  // out of the packet: r0 = 0
    };
    uint8_t packet[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (const char* text : programs) {
        for (const bpfrt::jit::JitOptions& o : {bpfrt::jit::JitOptions{}, bpfrt::jit::JitOptions{true, false}}) {
            auto jit = jit_of(text, &helpers, o);
            ASSERT_TRUE(jit) << text;
            ExecContext ctx;
            ctx.packet = packet;
            ctx.packet_len = sizeof packet;
            expect_same_as_run(*jit, 10, 20, ctx, text);
        }
    }
}

TEST(JitDirect, HelperFailuresAreTheErrorsOfRun) {
    const HelperTable helpers = test_helpers();
    for (const char* text : {"call 77\nexit", "mov %r3, 99\ncallx %r3\nexit", "f:\ncall local f\nexit"}) {
        auto jit = jit_of(text, &helpers);
        ASSERT_TRUE(jit);
        ExecContext ctx;
        DirectEntry entry(*jit);
        const auto want = jit->run(0, 0, ctx);
        const auto got = entry.run(0, 0, ctx);
        ASSERT_FALSE(want) << text;
        ASSERT_FALSE(got) << text;
        EXPECT_EQ(got.error().code, EINVAL);
        EXPECT_EQ(got.error().message, want.error().message);
    }
    // An error does not stick to the entry: the next run of a program that
    // fails only on some inputs returns normally.
    auto jit = jit_of("jeq %r1, 0, +2\nmov %r0, 5\nexit\ncall 77\nexit", &helpers);
    ASSERT_TRUE(jit);
    DirectEntry entry(*jit);
    ExecContext ctx;
    auto failed = entry.run(0, 0, ctx);
    ASSERT_FALSE(failed);
    EXPECT_NE(failed.error().message.find("unknown helper 77"), std::string::npos) << failed.error().message;
    auto ok = entry.run(1, 0, ctx);
    ASSERT_TRUE(ok) << ok.error().message;
    EXPECT_EQ(*ok, 5u);
}

TEST(JitDirect, RestoresTheContextAsRunDoes) {
    const HelperTable helpers = test_helpers();
    for (const char* text : {"call 4\nmov %r0, 1\nexit", "call 4\ncall 77\nexit"}) {  // returns; fails
        auto jit = jit_of(text, &helpers);
        ASSERT_TRUE(jit);
        DirectEntry entry(*jit);
        Seen seen;
        ExecContext ctx;
        ctx.user = &seen;
        ctx.checked = true;
        ctx.stack_top = 1234;
        ctx.exit_requested = true;  // left over from an earlier run: cleared
        (void)entry.run(0, 0, ctx);
        EXPECT_FALSE(seen.checked) << text;
        EXPECT_NE(seen.stack_top, 0u) << text;
        EXPECT_NE(seen.stack_top, 1234u) << text;
        EXPECT_TRUE(ctx.checked) << text;
        EXPECT_EQ(ctx.stack_top, 1234u) << text;
        EXPECT_EQ(ctx.tail_call_target, nullptr) << text;
    }
}

// A tail-call helper: continues in the program held by ctx.user.
uint64_t tail_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    ctx.tail_call_target = static_cast<const Program*>(ctx.user);
    return 0;
}

TEST(JitDirect, TailCallsAsRun) {
    HelperTable helpers;
    helpers.set(12, {&tail_helper, "tail_call", false});
    // Counts its runs in r1's memory and tail-calls ctx.user; after 33 tail
    // calls the call falls through and the program returns the count.
    const std::string counting = "ldxdw %r0, [%r1]\nadd %r0, 1\nstxdw [%r1], %r0\nmov %r6, %r1\ncall 12\n"
                                 "ldxdw %r0, [%r6]\nexit";
    auto jit = jit_of(counting, &helpers);
    auto interp = bpfrt::vm::make_interpreter(assemble(counting), &helpers, bpfrt::vm::Mode::Verified);
    ASSERT_TRUE(jit && interp);
    DirectEntry entry(*jit);
    for (const Program* target : {jit.get(), interp->get()}) {  // into JIT code, into the interpreter
        for (int run = 0; run < 2; ++run) {
            uint64_t counter = 0;
            ExecContext ctx;
            ctx.user = const_cast<Program*>(target);
            auto r = entry.run(reinterpret_cast<uint64_t>(&counter), 0, ctx);
            ASSERT_TRUE(r) << r.error().message;
            EXPECT_EQ(*r, 34u);
            EXPECT_EQ(ctx.tail_calls, 33u);
            EXPECT_EQ(ctx.tail_call_target, nullptr);
        }
    }
    // A tail call into a program that then fails: run()'s error.
    auto failing = jit_of("call 77\nexit", &helpers);
    ASSERT_TRUE(failing);
    uint64_t counter = 0;
    ExecContext ctx;
    ctx.user = failing.get();
    const auto want = jit->run(reinterpret_cast<uint64_t>(&counter), 0, ctx);
    ctx.tail_calls = 0;
    const auto got = entry.run(reinterpret_cast<uint64_t>(&counter), 0, ctx);
    ASSERT_FALSE(want);
    ASSERT_FALSE(got);
    EXPECT_EQ(got.error().message, want.error().message);
}

TEST(JitDirect, InterpreterProgramsGoThroughRun) {
    const HelperTable helpers = test_helpers();
    auto interp = bpfrt::vm::make_interpreter(assemble("mov %r1, 7\ncall 5\nadd %r0, %r2\nexit"), &helpers,
                                              bpfrt::vm::Mode::Verified);
    ASSERT_TRUE(interp);
    ExecContext ctx;
    expect_same_as_run(**interp, 1, 2, ctx, "interpreter");
}

}  // namespace
