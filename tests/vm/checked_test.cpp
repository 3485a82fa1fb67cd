// Preparation refusals (both modes) and checked-mode memory violations.
#include "vm_test_util.hpp"

#include <cerrno>

namespace bpfrt::vm::test {
namespace {

class Preparation : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(Modes, Preparation, ::testing::Values(Mode::Verified, Mode::Checked), mode_name);

Error refusal(const Prog& p, Mode mode, const HelperTable* helpers = nullptr) {
    auto r = make_interpreter(p, helpers, mode);
    EXPECT_FALSE(r) << "program was accepted";
    return r ? Error{} : r.error();
}

TEST_P(Preparation, RefusesEmptyAndUndecodablePrograms) {
    EXPECT_EQ(refusal({}, GetParam()).code, EINVAL);
    Error e = refusal({BPF_RAW_INSN(0xff, 0, 0, 0, 0), BPF_EXIT_INSN()}, GetParam());
    EXPECT_EQ(e.code, EINVAL);
    EXPECT_TRUE(contains(e.message, "unknown opcode")) << e.message;
}

TEST_P(Preparation, RefusesJumpsOutOfRange) {
    Error e = refusal({BPF_JMP_A(5), BPF_EXIT_INSN()}, GetParam());
    EXPECT_EQ(e.code, EINVAL);
    EXPECT_TRUE(contains(e.message, "pc 0")) << e.message;
    EXPECT_TRUE(contains(e.message, "outside the program")) << e.message;
    EXPECT_EQ(refusal({BPF_JMP_IMM(BPF_JEQ, 1, 0, -2), BPF_EXIT_INSN()}, GetParam()).code, EINVAL);
    EXPECT_EQ(refusal({BPF_JMP32_A(1), BPF_EXIT_INSN()}, GetParam()).code, EINVAL);
    EXPECT_EQ(refusal({BPF_CALL_REL(3), BPF_EXIT_INSN()}, GetParam()).code, EINVAL);
}

TEST_P(Preparation, RefusesJumpsIntoTheSecondSlotOfLddw) {
    Error e = refusal({BPF_JMP_A(1), BPF_LD_IMM64(0, 1), BPF_EXIT_INSN()}, GetParam());
    EXPECT_TRUE(contains(e.message, "second slot of an lddw")) << e.message;
}

TEST_P(Preparation, RefusesFallingOffTheEnd) {
    Error e = refusal({BPF_MOV64_IMM(0, 0)}, GetParam());
    EXPECT_TRUE(contains(e.message, "past the end")) << e.message;
    EXPECT_EQ(refusal({BPF_MOV64_IMM(0, 0), BPF_JMP_IMM(BPF_JEQ, 0, 0, -2)}, GetParam()).code, EINVAL);
    EXPECT_EQ(refusal({BPF_EXIT_INSN(), BPF_LD_IMM64(0, 1)}, GetParam()).code, EINVAL);
}

TEST_P(Preparation, RefusesWritesToR10) {
    Error e = refusal({BPF_MOV64_IMM(10, 0), BPF_EXIT_INSN()}, GetParam());
    EXPECT_TRUE(contains(e.message, "r10")) << e.message;
    EXPECT_TRUE(contains(e.message, "mov %r10, 0")) << e.message;
    refusal({BPF_LDX_MEM(BPF_DW, 10, 1, 0), BPF_EXIT_INSN()}, GetParam());
    refusal({BPF_ATOMIC_OP(BPF_DW, BPF_XCHG, 1, 10, 0), BPF_EXIT_INSN()}, GetParam());
    // Reading r10 and storing through it are fine.
    EXPECT_TRUE(make_interpreter(Prog{BPF_MOV64_REG(1, 10), BPF_ST_MEM(BPF_DW, 10, -8, 0), BPF_EXIT_INSN()}, nullptr,
                                 GetParam()));
}

TEST(PreparationChecked, CheckedModeRefusesUnknownHelpers) {
    HelperTable helpers;
    helpers.set(1, Helper{+[](uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) -> uint64_t { return 0; },
                          "one", false});
    const Prog p = {BPF_EMIT_CALL(2), BPF_EXIT_INSN()};
    Error e = refusal(p, Mode::Checked, &helpers);
    EXPECT_EQ(e.code, EINVAL);
    EXPECT_TRUE(contains(e.message, "helper 2")) << e.message;
    refusal(p, Mode::Checked, nullptr);
    EXPECT_TRUE(make_interpreter(Prog{BPF_EMIT_CALL(1), BPF_EXIT_INSN()}, &helpers, Mode::Checked));
    // Verified programs were checked by the verifier; a missing helper still fails cleanly at run time.
    auto prog = prepare(p, Mode::Verified, &helpers);
    ExecContext ctx;
    auto r = prog->run(0, 0, ctx);
    ASSERT_FALSE(r);
    EXPECT_TRUE(contains(r.error().message, "unknown helper 2")) << r.error().message;
}

// ---- Checked-mode violations: an error naming the instruction, memory untouched ----

Error violation(const Prog& p, std::span<uint8_t> mem, bool writable = true) {
    auto r = run(p, Mode::Checked, mem, nullptr, writable);
    EXPECT_FALSE(r) << "program ran to the end, r0 = " << (r ? *r : 0);
    return r ? Error{} : r.error();
}

TEST(Checked, StackUnderflowAndOverflow) {
    Error e = violation({BPF_LDX_MEM(BPF_DW, 0, 10, -520), BPF_EXIT_INSN()}, {});
    EXPECT_EQ(e.code, EFAULT);
    EXPECT_TRUE(contains(e.message, "pc 0")) << e.message;
    EXPECT_TRUE(contains(e.message, "ldxdw %r0, [%r10-520]")) << e.message;
    EXPECT_TRUE(contains(e.message, "read of 8 bytes at 0x")) << e.message;
    // The frame ends at r10: [r10, r10+8) is past the top of the stack.
    e = violation({BPF_ST_MEM(BPF_DW, 10, 0, 1), BPF_EXIT_INSN()}, {});
    EXPECT_TRUE(contains(e.message, "write of 8 bytes")) << e.message;
    violation({BPF_LDX_MEM(BPF_B, 0, 10, 0), BPF_EXIT_INSN()}, {});
    violation({BPF_LDX_MEM(BPF_W, 0, 10, -514), BPF_EXIT_INSN()}, {});  // straddles the bottom
    violation({BPF_LDX_MEM(BPF_DW, 0, 10, -4), BPF_EXIT_INSN()}, {});   // straddles the top
    // The edges themselves are fine.
    EXPECT_EQ(r0_of({BPF_ST_MEM(BPF_DW, 10, -512, 3), BPF_LDX_MEM(BPF_DW, 0, 10, -512), BPF_ST_MEM(BPF_B, 10, -1, 1),
                     BPF_EXIT_INSN()},
                    Mode::Checked),
              3u);
}

TEST(Checked, AccessOutsideInputMemory) {
    std::vector<uint8_t> buf(32, 0xaa);
    std::span<uint8_t> allowed(buf.data() + 8, 16);  // guard bytes on each side
    Error e = violation({BPF_LDX_MEM(BPF_W, 0, 1, 14), BPF_EXIT_INSN()}, allowed);
    EXPECT_EQ(e.code, EFAULT);
    EXPECT_TRUE(contains(e.message, "read of 4 bytes")) << e.message;
    violation({BPF_LDX_MEM(BPF_B, 0, 1, -1), BPF_EXIT_INSN()}, allowed);
    e = violation({BPF_ST_MEM(BPF_B, 1, 16, 0), BPF_EXIT_INSN()}, allowed);
    EXPECT_TRUE(contains(e.message, "stb [%r1+16], 0")) << e.message;
    violation({BPF_MOV64_IMM(2, 0), BPF_STX_MEM(BPF_DW, 1, 2, -8), BPF_EXIT_INSN()}, allowed);
    violation({BPF_MOV64_IMM(2, 0), BPF_STX_MEM(BPF_DW, 1, 2, 12), BPF_EXIT_INSN()}, allowed);
    // A store that faults after earlier good stores: the earlier ones happened, the faulting one did not.
    violation({BPF_ST_MEM(BPF_B, 1, 0, 1), BPF_ST_MEM(BPF_W, 1, 13, 0), BPF_EXIT_INSN()}, allowed);
    EXPECT_EQ(buf[8], 1);
    for (size_t i = 0; i < buf.size(); ++i) {
        if (i == 8) continue;
        EXPECT_EQ(buf[i], 0xaa) << "byte " << i;
    }
    // Null and wild pointers.
    violation({BPF_MOV64_IMM(1, 0), BPF_LDX_MEM(BPF_B, 0, 1, 0), BPF_EXIT_INSN()}, {});
    violation({BPF_LD_IMM64(1, ~0ull), BPF_LDX_MEM(BPF_DW, 0, 1, 0), BPF_EXIT_INSN()}, {});
}

TEST(Checked, WriteToReadOnlyRegion) {
    std::vector<uint8_t> buf(16, 7);
    EXPECT_EQ(run({BPF_LDX_MEM(BPF_B, 0, 1, 3), BPF_EXIT_INSN()}, Mode::Checked, buf, nullptr, false).value(), 7u);
    Error e = violation({BPF_ST_MEM(BPF_B, 1, 3, 9), BPF_EXIT_INSN()}, buf, false);
    EXPECT_TRUE(contains(e.message, "write of 1 bytes")) << e.message;
    violation({BPF_MOV64_IMM(2, 1), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 1, 2, 8), BPF_EXIT_INSN()}, buf, false);
    for (uint8_t b : buf) EXPECT_EQ(b, 7);
}

TEST(Checked, MisalignedAtomic) {
    alignas(8) std::array<uint8_t, 16> buf{};
    Error e = violation({BPF_MOV64_IMM(2, 1), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 1, 2, 4), BPF_EXIT_INSN()}, buf);
    EXPECT_EQ(e.code, EFAULT);
    EXPECT_TRUE(contains(e.message, "misaligned")) << e.message;
    EXPECT_TRUE(contains(e.message, "lock add [%r1+4], %r2")) << e.message;
    violation({BPF_MOV64_IMM(2, 1), BPF_ATOMIC_OP(BPF_W, BPF_XCHG, 1, 2, 2), BPF_EXIT_INSN()}, buf);
    violation({BPF_MOV64_IMM(2, 1), BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, 10, 2, -4), BPF_EXIT_INSN()}, {});
    for (uint8_t b : buf) EXPECT_EQ(b, 0);
    // Aligned 32-bit atomics at a 4-byte offset are fine.
    EXPECT_EQ(run({BPF_MOV64_IMM(2, 5), BPF_ATOMIC_OP(BPF_W, BPF_ADD, 1, 2, 4), BPF_LDX_MEM(BPF_W, 0, 1, 4),
                   BPF_EXIT_INSN()},
                  Mode::Checked, buf)
                  .value(),
              5u);
}

TEST(Checked, CheckedStackStartsZeroed) {
    EXPECT_EQ(r0_of({BPF_LDX_MEM(BPF_DW, 0, 10, -256), BPF_EXIT_INSN()}, Mode::Checked), 0u);
}

}  // namespace
}  // namespace bpfrt::vm::test
