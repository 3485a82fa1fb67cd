// Local calls, helpers, callx, tail calls, unwinding, and concurrent runs.
#include "vm_test_util.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

namespace bpfrt::vm::test {
namespace {

class Calls : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(Modes, Calls, ::testing::Values(Mode::Verified, Mode::Checked), mode_name);

TEST_P(Calls, LocalCallPassesArgumentsAndPreservesR6ToR9) {
    // The conformance suite's call_local.data.
    const Prog p = {
        BPF_MOV64_IMM(0, 0), BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 2), BPF_MOV64_IMM(3, 3), BPF_MOV64_IMM(4, 4),
        BPF_MOV64_IMM(5, 5), BPF_MOV64_IMM(6, 6), BPF_MOV64_IMM(7, 7), BPF_MOV64_IMM(8, 8), BPF_MOV64_IMM(9, 9),
        BPF_CALL_REL(8),                                       // 10 -> 19
        BPF_JMP_IMM(BPF_JNE, 0, 15, 5),                        // 11
        BPF_JMP_IMM(BPF_JNE, 6, 6, 4), BPF_JMP_IMM(BPF_JNE, 7, 7, 3), BPF_JMP_IMM(BPF_JNE, 8, 8, 2),
        BPF_JMP_IMM(BPF_JNE, 9, 9, 1),                         // 15
        BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN(),                  // 16, 17
        BPF_MOV64_IMM(0, -1),                                  // 18 (failed) falls into...
        // 19: func1
        BPF_MOV64_IMM(0, 0), BPF_ALU64_REG(BPF_ADD, 0, 1), BPF_ALU64_REG(BPF_ADD, 0, 2), BPF_ALU64_REG(BPF_ADD, 0, 3),
        BPF_ALU64_REG(BPF_ADD, 0, 4), BPF_ALU64_REG(BPF_ADD, 0, 5), BPF_MOV64_IMM(6, 0), BPF_MOV64_IMM(7, 0),
        BPF_MOV64_IMM(8, 0), BPF_MOV64_IMM(9, 0), BPF_EXIT_INSN()};
    EXPECT_EQ(r0_of(p, GetParam()), 1u);
}

TEST_P(Calls, CalleeGetsAFreshFrameAndMayUseTheCallersThroughAPointer) {
    const Prog p = {
        BPF_ST_MEM(BPF_DW, 10, -8, 100),     // caller's slot
        BPF_MOV64_REG(1, 10), BPF_ALU64_IMM(BPF_ADD, 1, -8),
        BPF_CALL_REL(3),                     // 3 -> 7
        BPF_LDX_MEM(BPF_DW, 1, 10, -8),      // caller's slot after the call
        BPF_ALU64_REG(BPF_ADD, 0, 1), BPF_EXIT_INSN(),
        // callee (7): writes its own r10-8, adds 1 to the caller's slot through r1
        BPF_ST_MEM(BPF_DW, 10, -8, 5), BPF_LDX_MEM(BPF_DW, 2, 1, 0), BPF_ALU64_IMM(BPF_ADD, 2, 1),
        BPF_STX_MEM(BPF_DW, 1, 2, 0), BPF_LDX_MEM(BPF_DW, 0, 10, -8), BPF_EXIT_INSN()};
    EXPECT_EQ(r0_of(p, GetParam()), 5u + 101u);
}

// f(n) = n == 0 ? 0 : 1 + f(n - 1), called with n in r1.
Prog recursion(int n) {
    return {BPF_MOV64_IMM(1, n), BPF_CALL_REL(1), BPF_EXIT_INSN(),
            // f (3)
            BPF_MOV64_IMM(0, 0), BPF_JMP_IMM(BPF_JEQ, 1, 0, 4), BPF_ALU64_IMM(BPF_SUB, 1, 1), BPF_CALL_REL(-4),
            BPF_ALU64_IMM(BPF_ADD, 0, 1), BPF_ST_MEM(BPF_DW, 10, -512, 0), BPF_EXIT_INSN()};
}

TEST_P(Calls, RecursionStopsAtTheCallDepthLimit) {
    // main + 7 calls = kMaxCallDepth frames: fine; one more is an error.
    EXPECT_EQ(r0_of(recursion(static_cast<int>(kMaxCallDepth) - 2), GetParam()), kMaxCallDepth - 2);
    auto r = run(recursion(static_cast<int>(kMaxCallDepth) - 1), GetParam());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_TRUE(contains(r.error().message, "call depth")) << r.error().message;
    EXPECT_TRUE(contains(r.error().message, "call local -4")) << r.error().message;
    EXPECT_FALSE(run(recursion(1000), GetParam()));
}

// ---- Helpers ----

uint64_t gather_bytes(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, ExecContext&) {
    return (a & 0xff) << 32 | (b & 0xff) << 24 | (c & 0xff) << 16 | (d & 0xff) << 8 | (e & 0xff);
}
uint64_t unwind(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) { return r1; }
uint64_t request_exit(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    ctx.exit_requested = true;
    ctx.exit_value = r1;
    return 0;
}
// Tail call into the program in ctx.user.
uint64_t tail_call(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    ctx.tail_call_target = static_cast<const Program*>(ctx.user);
    return 0;
}

HelperTable test_helpers() {
    HelperTable t;
    t.set(0, {gather_bytes, "gather_bytes", false});
    t.set(5, {unwind, "unwind", true});
    t.set(6, {request_exit, "request_exit", false});
    t.set(12, {tail_call, "tail_call", false});
    return t;
}

TEST_P(Calls, HelperGetsR1ToR5AndClobbersNothingElse) {
    const HelperTable h = test_helpers();
    const Prog p = {BPF_MOV64_IMM(1, 1), BPF_MOV64_IMM(2, 2), BPF_MOV64_IMM(3, 3), BPF_MOV64_IMM(4, 4),
                    BPF_MOV64_IMM(5, 5), BPF_MOV64_IMM(6, 6), BPF_EMIT_CALL(0), BPF_ALU64_REG(BPF_ADD, 0, 6),
                    BPF_EXIT_INSN()};
    EXPECT_EQ(r0_of(p, GetParam(), {}, &h), 0x0102030405ull + 6);
}

TEST_P(Calls, UnwindOnZeroEndsTheProgram) {
    const HelperTable h = test_helpers();
    // call_unwind_fail.data: the helper returns r1 = -1, not zero, so the program goes on.
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(1, -1), BPF_EMIT_CALL(5), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()}, GetParam(), {}, &h),
              2u);
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(1, 0), BPF_EMIT_CALL(5), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()}, GetParam(), {}, &h),
              0u);
    // Also from inside a local call.
    EXPECT_EQ(r0_of({BPF_CALL_REL(2), BPF_MOV64_IMM(0, 3), BPF_EXIT_INSN(), BPF_MOV64_IMM(1, 0), BPF_EMIT_CALL(5),
                     BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()},
                    GetParam(), {}, &h),
              0u);
}

TEST_P(Calls, CallxCallsTheHelperNumberInTheRegister) {
    const HelperTable h = test_helpers();
    // callx.data
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(1, -1), BPF_MOV64_IMM(2, 5), BPF_CALLX(2), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()},
                    GetParam(), {}, &h),
              2u);
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(1, 0), BPF_MOV64_IMM(2, 5), BPF_CALLX(2), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()},
                    GetParam(), {}, &h),
              0u);
    for (uint64_t bad : {uint64_t{7}, uint64_t{1} << 32 | 5, ~uint64_t{0}}) {
        auto r = run({BPF_LD_IMM64(2, bad), BPF_CALLX(2), BPF_EXIT_INSN()}, GetParam(), {}, &h);
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, EINVAL);
        EXPECT_TRUE(contains(r.error().message, "callx %r2")) << r.error().message;
    }
}

TEST_P(Calls, ExitRequestedByAHelper) {
    const HelperTable h = test_helpers();
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(1, 42), BPF_EMIT_CALL(6), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()}, GetParam(), {}, &h),
              42u);
}

TEST_P(Calls, TailCallContinuesInTheTargetWithTheSameR1) {
    const HelperTable h = test_helpers();
    std::vector<uint8_t> mem(8, 0);
    // Target: r0 = *(u8*)(r1) + 1000 + its own fresh stack slot (zero-initialised by us).
    auto target = prepare({BPF_ST_MEM(BPF_DW, 10, -8, 1000), BPF_LDX_MEM(BPF_B, 0, 1, 0),
                           BPF_LDX_MEM(BPF_DW, 2, 10, -8), BPF_ALU64_REG(BPF_ADD, 0, 2), BPF_EXIT_INSN()},
                          GetParam(), &h);
    // Caller: writes 7 to mem, tail-calls from inside a local call; nothing after the call runs.
    auto caller = prepare({BPF_ST_MEM(BPF_B, 1, 0, 7), BPF_CALL_REL(2), BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN(),
                           BPF_EMIT_CALL(12), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()},
                          GetParam(), &h);
    ExecContext ctx;
    ctx.allow(mem.data(), mem.size(), true);
    ctx.user = target.get();
    auto r = caller->run(reinterpret_cast<uintptr_t>(mem.data()), mem.size(), ctx);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, 1007u);
    EXPECT_EQ(ctx.tail_calls, 1u);
}

TEST_P(Calls, TailCallsStopAt33) {
    const HelperTable h = test_helpers();
    alignas(8) std::array<uint8_t, 8> counter{};
    // Each run adds 1 to the counter and tail-calls itself; the 34th call's request is refused.
    auto self = prepare({BPF_MOV64_IMM(2, 1), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 1, 2, 0), BPF_EMIT_CALL(12),
                         BPF_MOV64_IMM(0, 7), BPF_EXIT_INSN()},
                        GetParam(), &h);
    ExecContext ctx;
    ctx.allow(counter.data(), counter.size(), true);
    ctx.user = self.get();
    auto r = self->run(reinterpret_cast<uintptr_t>(counter.data()), 0, ctx);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(*r, 7u);
    EXPECT_EQ(counter[0], 34);
    EXPECT_EQ(ctx.tail_calls, 33u);
}

TEST(CallsAcrossModes, TailCallIntoAProgramOfTheOtherMode) {
    const HelperTable h = test_helpers();
    auto target = prepare({BPF_MOV64_REG(0, 1), BPF_EXIT_INSN()}, Mode::Checked, &h);
    auto caller = prepare({BPF_EMIT_CALL(12), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()}, Mode::Verified, &h);
    ExecContext ctx;
    ctx.user = target.get();
    EXPECT_EQ(caller->run(55, 0, ctx).value(), 55u);
}

// Returns 1 when ctx.checked and [r1, r1 + r2) is writable per ctx, else 0.
uint64_t probe_region(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    return ctx.checked && ctx.is_allowed(r1, r2, true) ? 1 : 0;
}

TEST_P(Calls, CheckedRunsTellHelpersAndExposeTheStack) {
    HelperTable h;
    h.set(1, {probe_region, "probe_region", false});
    auto prog = prepare({BPF_MOV64_REG(1, 10), BPF_ALU64_IMM(BPF_ADD, 1, -16), BPF_MOV64_IMM(2, 16), BPF_EMIT_CALL(1),
                         BPF_EXIT_INSN()},
                        GetParam(), &h);
    ExecContext ctx;
    uint8_t other[4];
    ctx.allow(other, sizeof other, false);
    EXPECT_EQ(prog->run(0, 0, ctx).value(), GetParam() == Mode::Checked ? 1u : 0u);
    EXPECT_FALSE(ctx.checked);
    EXPECT_EQ(ctx.regions().size(), 1u);  // the stack region is gone again
}

// ---- Concurrency: one Program, two threads, atomics on shared memory ----

TEST_P(Calls, TwoThreadsAtomicAddsGiveTheExactSum) {
    constexpr int kLoop = 1000;
    constexpr int kRuns = 200;
    // Loop kLoop times: lock add [r1], 1 (64-bit) and lock add32 [r1+8], 3.
    auto prog = prepare({BPF_MOV64_IMM(3, kLoop), BPF_MOV64_IMM(2, 1), BPF_MOV64_IMM(4, 3),
                         BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 1, 2, 0), BPF_ATOMIC_OP(BPF_W, BPF_ADD, 1, 4, 8),
                         BPF_ALU64_IMM(BPF_SUB, 3, 1), BPF_JMP_IMM(BPF_JNE, 3, 0, -4), BPF_MOV64_IMM(0, 0),
                         BPF_EXIT_INSN()},
                        GetParam());
    alignas(8) std::array<uint8_t, 16> shared{};
    std::atomic<int> failures{0};
    auto worker = [&] {
        ExecContext ctx;
        ctx.allow(shared.data(), shared.size(), true);
        for (int i = 0; i < kRuns; ++i)
            if (!prog->run(reinterpret_cast<uintptr_t>(shared.data()), 0, ctx)) ++failures;
    };
    std::thread a(worker), b(worker);
    a.join();
    b.join();
    EXPECT_EQ(failures.load(), 0);
    uint64_t sum64 = 0;
    uint32_t sum32 = 0;
    std::memcpy(&sum64, shared.data(), 8);
    std::memcpy(&sum32, shared.data() + 8, 4);
    EXPECT_EQ(sum64, 2u * kLoop * kRuns);
    EXPECT_EQ(sum32, 3u * 2u * kLoop * kRuns);
}

}  // namespace
}  // namespace bpfrt::vm::test
