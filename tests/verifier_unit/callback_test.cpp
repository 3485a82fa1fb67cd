// bpf_loop (helper 181): the callback given by lddw BPF_PSEUDO_FUNC is
// verified as a function called back with (index, ctx) any number of times
// up to nr_loops, returning 0 or 1, as the kernel does; and the
// calling-context and frame rules for bpf-to-bpf calls.
#include "verify_helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace bpfrt::verifier::testing {
namespace {

using Prog = std::vector<bpf_insn>;

constexpr int32_t kLoop = 181;  // BPF_FUNC_loop

// r2 = the function `off` slots after the lddw's second slot.
bpf_insn func_lo(int off) { return BPF_LD_IMM64_RAW_1(BPF_REG_2, BPF_PSEUDO_FUNC, off); }
bpf_insn func_hi() { return BPF_LD_IMM64_RAW_2(0); }

// ctx (8 bytes at fp-8) = 0; bpf_loop(nr, cb, &ctx, flags); return ctx
// read back; then the callback body.
Prog loop_program(int32_t nr_loops, int32_t flags, const Prog& callback, bool nr_from_random = false) {
    Prog p = {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0)};
    if (nr_from_random) {
        p.push_back(BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32));
        p.push_back(BPF_MOV64_REG(BPF_REG_1, BPF_REG_0));
    } else {
        p.push_back(BPF_MOV64_IMM(BPF_REG_1, nr_loops));
    }
    const size_t lddw_at = p.size();
    p.push_back(func_lo(0));
    p.push_back(func_hi());
    p.push_back(BPF_MOV64_REG(BPF_REG_3, BPF_REG_10));
    p.push_back(BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8));
    p.push_back(BPF_MOV64_IMM(BPF_REG_4, flags));
    p.push_back(BPF_EMIT_CALL(kLoop));
    p.push_back(BPF_MOV64_IMM(BPF_REG_0, 0));
    p.push_back(BPF_EXIT_INSN());
    p[lddw_at].imm = static_cast<int32_t>(p.size() - lddw_at - 1);
    p.insert(p.end(), callback.begin(), callback.end());
    return p;
}

// The callback adds 1 to *ctx and returns `ret`.
Prog counting_callback(int32_t ret) {
    return {
        BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_2, 0),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, 1),
        BPF_STX_MEM(BPF_DW, BPF_REG_2, BPF_REG_3, 0),
        BPF_MOV64_IMM(BPF_REG_0, ret),
        BPF_EXIT_INSN(),
    };
}

Options xdp() { return Options{.prog_type = BPF_PROG_TYPE_XDP}; }

// The callback adds an unknown value to *ctx and returns `ret`.
Prog summing_callback(int32_t ret) {
    return {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_2),
        BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32),
        BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_6, 0),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_3, BPF_REG_0),
        BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_3, 0),
        BPF_MOV64_IMM(BPF_REG_0, ret),
        BPF_EXIT_INSN(),
    };
}

TEST(Callback, LoopConvergesWhenTheStateRepeats) {
    const VerifyResult r = run(loop_program(1000, 0, summing_callback(0)), xdp());
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_LT(r.processed_insns, 100u) << "the callback converges instead of being unrolled 1000 times";
}

TEST(Callback, CountingCallbackUnrolledUpToNrLoops) {
    // *ctx = 0, 1, 2, ...: no iteration covers the next, so the kernel's
    // model explores nr_loops of them.
    const VerifyResult r = run(loop_program(100, 0, counting_callback(0)), xdp());
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_GE(r.processed_insns, 100u * 5);
    EXPECT_LT(r.processed_insns, 100u * 20);
}

TEST(Callback, CallbackReturningTwoRejected) {
    const VerifyResult r = run(loop_program(10, 0, counting_callback(2)), xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_EQ(r.error_code, EINVAL);
    EXPECT_NE(r.message.find("At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]"),
              std::string::npos) << r.message;
}

TEST(Callback, CallbackReturningOneAccepted) {
    EXPECT_TRUE(run(loop_program(10, 0, counting_callback(1)), xdp()).accepted);
}

TEST(Callback, CallbackReturningAPointerRejected) {
    const Prog stack = {BPF_MOV64_REG(BPF_REG_0, BPF_REG_2), BPF_EXIT_INSN()};
    VerifyResult r = run(loop_program(10, 0, stack), xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("cannot return stack pointer to the caller"), std::string::npos) << r.message;
    const Prog map = {BPF_LD_MAP_FD(BPF_REG_0, kArray), BPF_EXIT_INSN()};
    r = run(loop_program(10, 0, map), xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("R0 not a scalar value"), std::string::npos) << r.message;
}

TEST(Callback, NonZeroFlagsAcceptedAsTheKernelDoes) {
    // The helper returns -EINVAL at run time; the verifier does not refuse it.
    EXPECT_TRUE(run(loop_program(10, 1, counting_callback(0)), xdp()).accepted);
}

TEST(Callback, UnknownNumberOfIterationsConverges) {
    const VerifyResult r = run(loop_program(0, 0, summing_callback(1), true), xdp());
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_LT(r.processed_insns, 100u);
}

TEST(Callback, CounterWithUnknownIterationsNeverConverges) {
    Options o = xdp();
    o.max_processed = 20'000;
    const VerifyResult r = run(loop_program(0, 0, counting_callback(0), true), o);
    ASSERT_FALSE(r.accepted);
    EXPECT_EQ(r.error_code, E2BIG) << r.message;
}

TEST(Callback, ZeroIterationsNeverEntersTheCallback) {
    // nr_loops = 0: the kernel does not explore the body (here an invalid access).
    const Prog bad = {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, 8), BPF_EXIT_INSN()};
    EXPECT_TRUE(run(loop_program(0, 0, bad), xdp()).accepted);
    EXPECT_FALSE(run(loop_program(1, 0, bad), xdp()).accepted);
}

TEST(Callback, IndexIsUnboundedInTheCallback) {
    // index used as a stack offset without a bound: rejected.
    const Prog cb = {
        BPF_MOV64_REG(BPF_REG_3, BPF_REG_10), BPF_ALU64_REG(BPF_ADD, BPF_REG_3, BPF_REG_1),
        BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_3, -1), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN(),
    };
    EXPECT_FALSE(run(loop_program(10, 0, cb), xdp()).accepted);
}

TEST(Callback, ContextBeyondItsSlotRejected) {
    const Prog cb = {BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_2, 8), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};
    EXPECT_FALSE(run(loop_program(10, 0, cb), xdp()).accepted);
}

TEST(Callback, CounterGrowingEachIterationIsCheckedAfterTheLoop) {
    // *ctx counts iterations (up to 20); after the loop it indexes a 16-byte map value:
    // some iteration counts are out of bounds.
    Prog p = {
        BPF_ST_MEM(BPF_W, BPF_REG_10, -12, 0),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -12),
        BPF_LD_MAP_FD(BPF_REG_1, kArray),
        BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_0),
        BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0),
        BPF_MOV64_IMM(BPF_REG_1, 20),
    };
    const size_t lddw_at = p.size();
    p.push_back(func_lo(0));
    p.push_back(func_hi());
    const Prog tail = {
        BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8),
        BPF_MOV64_IMM(BPF_REG_4, 0),
        BPF_EMIT_CALL(kLoop),
        BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, -8),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_6, BPF_REG_1),
        BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_6, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
    p.insert(p.end(), tail.begin(), tail.end());
    p[lddw_at].imm = static_cast<int32_t>(p.size() - lddw_at - 1);
    const Prog cb = counting_callback(0);
    p.insert(p.end(), cb.begin(), cb.end());
    const VerifyResult r = run(p, xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("invalid access to map value"), std::string::npos) << r.message;
    // With at most 15 iterations every count is in bounds.
    p[11] = BPF_MOV64_IMM(BPF_REG_1, 15);
    const VerifyResult ok = run(p, xdp());
    EXPECT_TRUE(ok.accepted) << ok.message;
}

TEST(Callback, ScalarInsteadOfAFunctionRejected) {
    Prog p = loop_program(10, 0, counting_callback(0));
    p.insert(p.begin() + 4, BPF_MOV64_IMM(BPF_REG_2, 5));
    p[2].imm += 1;
    const VerifyResult r = run(p, xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("R2 type=scalar expected=func"), std::string::npos) << r.message;
}

TEST(Callback, ModifiedFunctionPointerRejected) {
    Prog p = loop_program(10, 0, counting_callback(0));
    p.insert(p.begin() + 4, BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, 8));
    p[2].imm += 1;  // the callback moved one slot further
    const VerifyResult r = run(p, xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("dereference of modified func ptr R2 off=8 disallowed"), std::string::npos) << r.message;
}

TEST(Callback, ContextMustBeStackOrNull) {
    Prog p = loop_program(10, 0, {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()});
    p[5] = BPF_MOV64_IMM(BPF_REG_3, 0);  // NULL: accepted
    EXPECT_TRUE(run(p, xdp()).accepted);
    p[5] = BPF_MOV64_IMM(BPF_REG_3, 4);
    const VerifyResult r = run(p, xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("R3 type=scalar expected=fp"), std::string::npos) << r.message;
}

TEST(Callback, NeedsAPrivilegedLoad) {
    // As a bpf-to-bpf call: refused before verification (EPERM).
    Options o;
    o.privileged = false;
    const VerifyResult r = run(loop_program(10, 0, counting_callback(0)), o);
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.error_code, EPERM) << r.message;
}

TEST(Callback, RecursiveCallbackRejected) {
    // The callback passes itself to bpf_loop again.
    Prog p = loop_program(10, 0, {});
    const Prog cb = {
        BPF_MOV64_IMM(BPF_REG_1, 2),
        BPF_LD_IMM64_RAW_1(BPF_REG_2, BPF_PSEUDO_FUNC, -2),  // the callback's own first slot
        BPF_LD_IMM64_RAW_2(0),
        BPF_MOV64_IMM(BPF_REG_3, 0),
        BPF_MOV64_IMM(BPF_REG_4, 0),
        BPF_EMIT_CALL(kLoop),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
    p.insert(p.end(), cb.begin(), cb.end());
    const VerifyResult r = run(p, xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("recursive call"), std::string::npos) << r.message;
}

TEST(Callback, CallbackStackCountsInTheCombinedStackSize) {
    // main uses 512 bytes; the callback another 8: over the 512-byte limit.
    Prog p = loop_program(10, 0, {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()});
    p.insert(p.begin(), BPF_ST_MEM(BPF_DW, BPF_REG_10, -512, 0));
    const VerifyResult r = run(p, xdp());
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("combined stack size"), std::string::npos) << r.message;
}

// ---- bpf-to-bpf calls: one verification per calling context, 8 frames ----

// main calls f twice with different constants; f uses its argument as a
// map value offset. Each call is checked in its own context.
TEST(Calls, EachCallingContextChecked) {
    auto prog = [](int32_t second) {
        return Prog{
            BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
            BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
            BPF_LD_MAP_FD(BPF_REG_1, kArray),
            BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
            BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 8),
            BPF_MOV64_REG(BPF_REG_6, BPF_REG_0),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
            BPF_MOV64_IMM(BPF_REG_2, 4),
            BPF_CALL_REL(5),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
            BPF_MOV64_IMM(BPF_REG_2, second),
            BPF_CALL_REL(2),
            BPF_MOV64_IMM(BPF_REG_0, 0),
            BPF_EXIT_INSN(),
            // f(value, off): *(u8 *)(value + off)
            BPF_ALU64_REG(BPF_ADD, BPF_REG_1, BPF_REG_2),
            BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_1, 0),
            BPF_EXIT_INSN(),
        };
    };
    EXPECT_TRUE(run(prog(15)).accepted);
    const VerifyResult r = run(prog(16));
    ASSERT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("invalid access to map value"), std::string::npos) << r.message;
}

TEST(Calls, CalleeVerifiedOncePerDistinctContext) {
    // 2^10 paths reach one call site with different (imprecise) arguments;
    // the callee, itself 10 diamonds, is explored about once.
    Prog p;
    for (int i = 0; i < 10; ++i) {
        p.push_back(BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32));
        p.push_back(BPF_JMP_IMM(BPF_JGT, BPF_REG_0, 5, 1));
        p.push_back(BPF_MOV64_IMM(BPF_REG_7, i));
        p.push_back(BPF_ALU64_IMM(BPF_ADD, BPF_REG_7, 1));
    }
    p.push_back(BPF_MOV64_REG(BPF_REG_1, BPF_REG_7));
    p.push_back(BPF_CALL_REL(2));
    p.push_back(BPF_MOV64_IMM(BPF_REG_0, 0));
    p.push_back(BPF_EXIT_INSN());
    for (int i = 0; i < 10; ++i) {
        p.push_back(BPF_JMP_IMM(BPF_JGT, BPF_REG_1, i, 1));
        p.push_back(BPF_MOV64_IMM(BPF_REG_2, i));
        p.push_back(BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1));
        p.push_back(BPF_MOV64_IMM(BPF_REG_3, 0));
    }
    p.push_back(BPF_MOV64_IMM(BPF_REG_0, 0));
    p.push_back(BPF_EXIT_INSN());
    Prog with_r7 = {BPF_MOV64_IMM(BPF_REG_7, 0)};
    with_r7.insert(with_r7.end(), p.begin(), p.end());
    const VerifyResult r = run(with_r7);
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_LT(r.processed_insns, 1000u);
}

}  // namespace
}  // namespace bpfrt::verifier::testing
