// State pruning (issue 8): precision marks (scalars no decision used compare
// as any scalar), stack liveness (slots never read again are not compared)
// and loops whose iterations each hold a branch stay linear; values a
// decision used keep their ranges.
#include "verify_helpers.hpp"

#include <gtest/gtest.h>

namespace bpfrt::verifier::testing {
namespace {

using Prog = std::vector<bpf_insn>;

// n diamonds on random values; each side of diamond i gives `reg` a
// different constant; the program ends with `tail`.
Prog diamonds(int n, int reg, const Prog& tail) {
    Prog p;
    for (int i = 0; i < n; ++i) {
        p.push_back(BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32));
        p.push_back(BPF_JMP_IMM(BPF_JGT, BPF_REG_0, 10, 2));
        p.push_back(BPF_MOV64_IMM(reg, 2 * i));
        p.push_back(BPF_JMP_A(1));
        p.push_back(BPF_MOV64_IMM(reg, 2 * i + 1));
    }
    p.insert(p.end(), tail.begin(), tail.end());
    return p;
}

TEST(Pruning, ValuesNoDecisionUsesArePruned) {
    // 2^20 paths, each with its own r6: linear with precision tracking.
    const VerifyResult r = run(diamonds(20, BPF_REG_6, {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}));
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_LT(r.processed_insns, 1000u);
}

TEST(Pruning, ValueADecisionUsesIsKeptPerPath) {
    // r6 decides a branch at the end: the paths differ where it matters, and
    // the one with the value that takes the bad branch is found.
    const Prog tail = {
        BPF_JMP_IMM(BPF_JNE, BPF_REG_6, 39, 2),
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, 8),  // out of the stack: only for r6 == 39
        BPF_EXIT_INSN(),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
    const VerifyResult r = run(diamonds(20, BPF_REG_6, tail));
    EXPECT_FALSE(r.accepted);
}

// `n` diamonds, each leaving a pointer (fp) on one side and a number on the
// other in its own stack slot (fp-8, fp-16, ...).
Prog slot_diamonds(int n) {
    Prog p;
    for (int i = 0; i < n; ++i) {
        const auto off = static_cast<int16_t>(-8 * (i + 1));
        p.push_back(BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32));
        p.push_back(BPF_JMP_IMM(BPF_JGT, BPF_REG_0, 10, 2));
        p.push_back(BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_10, off));
        p.push_back(BPF_JMP_A(1));
        p.push_back(BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_0, off));
    }
    return p;
}

TEST(Pruning, StackSlotsNeverReadAreNotCompared) {
    // Each diamond leaves a pointer on one side and a number on the other in
    // its own slot, never read again: liveness makes the joins match.
    Prog p = slot_diamonds(20);
    p.push_back(BPF_MOV64_IMM(BPF_REG_0, 0));
    p.push_back(BPF_EXIT_INSN());
    const VerifyResult r = run(p);
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_LT(r.processed_insns, 1000u);
}

TEST(Pruning, StackSlotReadLaterKeepsPathsApart) {
    // The same, but the last slot is read and dereferenced: the path that
    // left a number there must fail.
    Prog p = slot_diamonds(20);
    p.push_back(BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, -8));
    p.push_back(BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, -16));
    p.push_back(BPF_MOV64_IMM(BPF_REG_0, 0));
    p.push_back(BPF_EXIT_INSN());
    const VerifyResult r = run(p);
    EXPECT_FALSE(r.accepted);
}

TEST(Pruning, LoopWithABranchPerIterationStaysLinear) {
    // for (i = 0; i < 64; i++) { if (random) sum += i; }  -- 2^64 paths unpruned.
    const Prog p = {
        BPF_MOV64_IMM(BPF_REG_6, 0),
        BPF_MOV64_IMM(BPF_REG_7, 0),
        BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32),  // loop head
        BPF_JMP_IMM(BPF_JGT, BPF_REG_0, 10, 1),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_7, BPF_REG_6),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_6, 1),
        BPF_JMP_IMM(BPF_JLT, BPF_REG_6, 64, -5),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
    const VerifyResult r = run(p);
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_LT(r.processed_insns, 64u * 5 * 4);
}

TEST(Pruning, LoopCounterBoundsAreExact) {
    // The counter decides the exit and indexes a 16-byte map value: i < 16 passes, i < 17 does not.
    auto prog = [](int32_t bound) {
        return Prog{
            BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
            BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
            BPF_LD_MAP_FD(BPF_REG_1, kArray),
            BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
            BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 7),
            BPF_MOV64_IMM(BPF_REG_6, 0),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_0),  // loop head
            BPF_ALU64_REG(BPF_ADD, BPF_REG_1, BPF_REG_6),
            BPF_ST_MEM(BPF_B, BPF_REG_1, 0, 1),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_6, 1),
            BPF_JMP_IMM(BPF_JLT, BPF_REG_6, bound, -5),
            BPF_MOV64_IMM(BPF_REG_0, 0),
            BPF_EXIT_INSN(),
        };
    };
    EXPECT_TRUE(run(prog(16)).accepted);
    EXPECT_FALSE(run(prog(17)).accepted);
}

}  // namespace
}  // namespace bpfrt::verifier::testing
