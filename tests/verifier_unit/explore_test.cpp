// Path exploration: pruning, loops, the budget and the log.
#include "verify_helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>

namespace bpfrt::verifier::testing {
namespace {

using Prog = std::vector<bpf_insn>;

// 20 diamonds on fresh random values: 2^20 paths, linear with pruning.
Prog diamonds(int n) {
    Prog p;
    for (int i = 0; i < n; ++i) {
        p.push_back(BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32));
        p.push_back(BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 1));
        p.push_back(BPF_MOV64_IMM(BPF_REG_2, i));
        p.push_back(BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0));  // join point
    }
    p.push_back(BPF_MOV64_IMM(BPF_REG_0, 0));
    p.push_back(BPF_EXIT_INSN());
    return p;
}

TEST(Explore, PruningKeepsTwoToTheTwentyPathsFast) {
    const auto t0 = std::chrono::steady_clock::now();
    const VerifyResult r = run(diamonds(20));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_LT(r.processed_insns, 1000u);
    EXPECT_LT(ms, 1000.0);
}

TEST(Explore, BoundedLoopOfThousandIterationsAccepted) {
    const Prog p = {
        BPF_MOV64_IMM(BPF_REG_1, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_0, 3),  // loop head
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1),
        BPF_JMP_IMM(BPF_JLT, BPF_REG_1, 1000, -3),
        BPF_EXIT_INSN(),
    };
    const VerifyResult r = run(p);
    ASSERT_TRUE(r.accepted) << r.message;
    EXPECT_GE(r.processed_insns, 3000u);
}

TEST(Explore, LoopOverStackBufferAccepted) {
    // for (i = 0; i < 8; i++) buf[i] = i;  with buf on the stack
    const Prog p = {
        BPF_MOV64_IMM(BPF_REG_1, 0),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),  // loop head
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -64),
        BPF_MOV64_REG(BPF_REG_3, BPF_REG_1),
        BPF_ALU64_IMM(BPF_LSH, BPF_REG_3, 3),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_2, BPF_REG_3),
        BPF_STX_MEM(BPF_DW, BPF_REG_2, BPF_REG_1, 0),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1),
        BPF_JMP_IMM(BPF_JLT, BPF_REG_1, 8, -8),
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -8),
        BPF_EXIT_INSN(),
    };
    const VerifyResult r = run(p, {.privileged = false});
    EXPECT_FALSE(r.accepted);  // unprivileged: loops are back edges
    const VerifyResult r2 = run(p);
    EXPECT_TRUE(r2.accepted) << r2.message;
}

TEST(Explore, InfiniteLoopRejectedNamingTheBackEdge) {
    const Prog self = {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_JMP_A(-1)};
    VerifyResult r = run(self);
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.error_code, EINVAL);
    EXPECT_NE(r.message.find("infinite loop detected at insn 1 (the jump from insn 1"), std::string::npos) << r.message;

    const Prog stuck = {
        BPF_MOV64_IMM(BPF_REG_1, 0),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_1),  // 1: loop head
        BPF_JMP_IMM(BPF_JLT, BPF_REG_1, 10, -2),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
    r = run(stuck);
    EXPECT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("infinite loop detected at insn 1 (the jump from insn 2"), std::string::npos) << r.message;
}

TEST(Explore, NeverRepeatingLoopHitsTheBudget) {
    const Prog p = {BPF_MOV64_IMM(BPF_REG_1, 0), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1), BPF_JMP_A(-2)};
    Options o;
    o.max_processed = 100'000;
    const VerifyResult r = run(p, o);
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.error_code, E2BIG);
    EXPECT_NE(r.message.find("too large"), std::string::npos) << r.message;
}

TEST(Explore, UnknownLoopBoundIsNotAccepted) {
    // while (r1 != 0) r1 += 1;  with r1 unknown: repeats a state, or runs out of budget
    const Prog p = {
        BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32), BPF_MOV64_REG(BPF_REG_1, BPF_REG_0),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1), BPF_JMP_IMM(BPF_JNE, BPF_REG_1, 0, -2),
        BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};
    Options o;
    o.max_processed = 100'000;
    const VerifyResult r = run(p, o);
    EXPECT_FALSE(r.accepted);
}

const Prog kNullDeref = {
    BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
    BPF_LD_MAP_FD(BPF_REG_1, kHash), BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
    BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_0, 0), BPF_EXIT_INSN()};

TEST(Log, LevelZeroIsEmpty) {
    const VerifyResult r = run(kNullDeref);
    EXPECT_FALSE(r.accepted);
    EXPECT_TRUE(r.log.empty());
    EXPECT_NE(r.message.find("insn 6 (ldxdw r0, [r0+0])"), std::string::npos) << r.message;
}

TEST(Log, LevelOneShowsTheFailingPathAndState) {
    Options o;
    o.log_level = 1;
    const VerifyResult r = run(kNullDeref, o);
    EXPECT_NE(r.log.find("0: (62) stw [r10-4], 0"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("6: (79) ldxdw r0, [r0+0]"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("R0 invalid mem access 'map_value_or_null'"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("R0=map_value_or_null(id=1,off=0,ks=4,vs=8)"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("processed 6 insns (limit 1000000) max_states_per_insn"), std::string::npos) << r.log;
}

TEST(Log, LevelTwoShowsEveryInstructionsState) {
    Options o;
    o.log_level = 2;
    const VerifyResult r = run({BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, o);
    ASSERT_TRUE(r.accepted);
    EXPECT_NE(r.log.find("0: (b7) mov r0, 0\t; R1=ctx() R10=fp0"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("1: (95) exit\t; R0=0 R1=ctx() R10=fp0"), std::string::npos) << r.log;
    EXPECT_NE(r.log.find("processed 2 insns"), std::string::npos) << r.log;
}

TEST(Log, SourceLinesFromLineInfo) {
    VerifyInput in;
    in.insns = kNullDeref;
    in.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    in.license = "GPL";
    in.log_level = 1;
    in.map_info = test_map;
    in.line_info = {{0, "prog.c", 10, "int key = 0;"}, {6, "prog.c", 12, "return *value;"}};
    const VerifyResult r = verify(in);
    EXPECT_NE(r.log.find("; return *value; @ prog.c:12"), std::string::npos) << r.log;
    EXPECT_NE(r.message.find("prog.c:12: return *value;"), std::string::npos) << r.message;
}

// bpfrt's raw-memory program type (bpfrt exec): r1 = ctx_size bytes, r2 = ctx_size.
TEST(RawMemory, AccessesWithinTheMemoryAndItsLength) {
    VerifyInput in;
    in.prog_type = kProgTypeRawMemory;
    in.ctx_size = 8;
    in.strict_alignment = false;
    const Prog inside = {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, 3), BPF_STX_MEM(BPF_B, BPF_REG_1, BPF_REG_0, 7),
                         BPF_EXIT_INSN()};
    in.insns = inside;
    VerifyResult r = verify(in);
    EXPECT_TRUE(r.accepted) << r.message;

    const Prog past_end = {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, 5), BPF_EXIT_INSN()};
    in.insns = past_end;
    r = verify(in);
    EXPECT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("invalid access to memory, mem_size=8 off=5 size=4"), std::string::npos) << r.message;

    // r2 is the known length: a bounds check with it proves nothing more, but the value is exact.
    const Prog length = {BPF_JMP_IMM(BPF_JEQ, BPF_REG_2, 8, 1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_1, 100),
                         BPF_MOV64_REG(BPF_REG_0, BPF_REG_2), BPF_EXIT_INSN()};
    in.insns = length;
    r = verify(in);
    EXPECT_TRUE(r.accepted) << r.message;  // the out-of-bounds load is on a path that cannot happen

    const Prog helper = {BPF_EMIT_CALL(BPF_FUNC_ktime_get_ns), BPF_EXIT_INSN()};
    in.insns = helper;
    EXPECT_FALSE(verify(in).accepted);
}

}  // namespace
}  // namespace bpfrt::verifier::testing
