// Hand-checked encodings (against the insn.h macros), labels, immediates and
// error messages of the assembler.
#include "isa/asm_syntax.hpp"

#include <bpfrt/asm.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <initializer_list>
#include <string>

namespace {

using bpfrt::isa::assemble;
using bpfrt::isa::asm_syntax::to_word;

std::vector<uint64_t> words(std::span<const bpf_insn> prog) {
    std::vector<uint64_t> out;
    for (const bpf_insn& insn : prog) out.push_back(to_word(insn));
    return out;
}

// `text` assembles to exactly `expected`.
void expect_asm(std::string_view text, std::initializer_list<bpf_insn> expected) {
    SCOPED_TRACE(std::string(text));
    auto prog = assemble(text);
    ASSERT_TRUE(prog.has_value()) << prog.error().message;
    EXPECT_EQ(words(*prog), words(std::vector<bpf_insn>(expected)));
}

TEST(AsmEncoding, AluImm) {
    expect_asm("mov %r0, 1", {BPF_MOV64_IMM(0, 1)});
    expect_asm("mov32 %r9, 0x7fffffff", {BPF_MOV32_IMM(9, 0x7fffffff)});
    expect_asm("add32 %r1, -3", {BPF_ALU32_IMM(BPF_ADD, 1, -3)});
    expect_asm("lsh %r10, 63", {BPF_ALU64_IMM(BPF_LSH, 10, 63)});
    expect_asm("sdiv %r1, 7", {BPF_ALU64_IMM_OFF(BPF_DIV, 1, 7, 1)});
    expect_asm("smod32 %r2, -7", {BPF_ALU32_IMM_OFF(BPF_MOD, 2, -7, 1)});
    expect_asm("arsh32 %r3, 31", {BPF_ALU32_IMM(BPF_ARSH, 3, 31)});
}

TEST(AsmEncoding, AluReg) {
    expect_asm("add32 %r1, %r2", {BPF_ALU32_REG(BPF_ADD, 1, 2)});
    expect_asm("xor %r10, %r9", {BPF_ALU64_REG(BPF_XOR, 10, 9)});
    expect_asm("mov %r0, %r1", {BPF_MOV64_REG(0, 1)});
    expect_asm("movsx864 %r0, %r1", {BPF_MOVSX64_REG(0, 1, 8)});
    expect_asm("movsx3264 %r2, %r3", {BPF_MOVSX64_REG(2, 3, 32)});
    expect_asm("movsx1632 %r4, %r5", {BPF_MOVSX32_REG(4, 5, 16)});
    expect_asm("smod32 %r3, %r4", {BPF_ALU32_REG_OFF(BPF_MOD, 3, 4, 1)});
}

TEST(AsmEncoding, Unary) {
    expect_asm("neg %r0", {BPF_ALU64_IMM(BPF_NEG, 0, 0)});
    expect_asm("neg32 %r7", {BPF_ALU32_IMM(BPF_NEG, 7, 0)});
    expect_asm("be16 %r0", {BPF_ENDIAN(BPF_TO_BE, 0, 16)});
    expect_asm("le32 %r2", {BPF_ENDIAN(BPF_TO_LE, 2, 32)});
    expect_asm("be64 %r1", {BPF_ENDIAN(BPF_TO_BE, 1, 64)});
    expect_asm("bswap64 %r3", {BPF_BSWAP(3, 64)});
    expect_asm("swap16 %r3", {BPF_BSWAP(3, 16)});
    expect_asm("swap32 %r4", {BPF_BSWAP(4, 32)});
}

TEST(AsmEncoding, LoadImm64) {
    expect_asm("lddw %r0, 0x1122334455667788", {BPF_LD_IMM64(0, 0x1122334455667788ULL)});
    expect_asm("lddw %r2, -1", {BPF_LD_IMM64(2, ~0ULL)});
    expect_asm("lddw %r2, 18446744073709551615", {BPF_LD_IMM64(2, ~0ULL)});
    expect_asm("lddw %r3, -9223372036854775808", {BPF_LD_IMM64(3, 0x8000000000000000ULL)});
    expect_asm("lddw %r1, map_fd 3", {BPF_LD_MAP_FD(1, 3)});
    expect_asm("lddw %r1, map_value 3 + 8", {BPF_LD_MAP_VALUE(1, 3, 8)});
    expect_asm("lddw %r1, map_value 3+8", {BPF_LD_MAP_VALUE(1, 3, 8)});
    expect_asm("lddw %r1, map_value 3 - 8", {BPF_LD_MAP_VALUE(1, 3, -8)});
    expect_asm("lddw %r4, map_idx 0", {BPF_LD_IMM64_RAW(4, BPF_PSEUDO_MAP_IDX, 0)});
    expect_asm("lddw %r4, map_idx_value 2 + 16",
               {BPF_LD_IMM64_RAW(4, BPF_PSEUDO_MAP_IDX_VALUE, (16ULL << 32) | 2)});
    expect_asm("lddw %r5, btf_id 77", {BPF_LD_IMM64_RAW(5, BPF_PSEUDO_BTF_ID, 77)});
    expect_asm("lddw %r6, func 9", {BPF_LD_IMM64_RAW(6, BPF_PSEUDO_FUNC, 9)});
}

TEST(AsmEncoding, LegacyPacketLoads) {
    expect_asm("ldabsw 12", {BPF_LD_ABS(BPF_W, 12)});
    expect_asm("ldabsb 0", {BPF_LD_ABS(BPF_B, 0)});
    expect_asm("ldindh %r1, 4", {BPF_LD_IND(BPF_H, 1, 4)});
    expect_asm("ldindw %r9, -2", {BPF_LD_IND(BPF_W, 9, -2)});
}

TEST(AsmEncoding, LoadsAndStores) {
    expect_asm("ldxw %r0, [%r1+4]", {BPF_LDX_MEM(BPF_W, 0, 1, 4)});
    expect_asm("ldxdw %r0, [%r1]", {BPF_LDX_MEM(BPF_DW, 0, 1, 0)});
    expect_asm("ldxh %r2, [ %r3 - 4 ]", {BPF_LDX_MEM(BPF_H, 2, 3, -4)});
    expect_asm("ldxb %r9, [%r0+0x7fff]", {BPF_LDX_MEM(BPF_B, 9, 0, 0x7fff)});
    expect_asm("ldxsb %r0, [%r10-1]", {BPF_LDX_MEMSX(BPF_B, 0, 10, -1)});
    expect_asm("ldxsw %r0, [%r10-32768]", {BPF_LDX_MEMSX(BPF_W, 0, 10, -32768)});
    expect_asm("stw [%r1+2], 5", {BPF_ST_MEM(BPF_W, 1, 2, 5)});
    expect_asm("stdw [%r10-8], 0xffffffff", {BPF_ST_MEM(BPF_DW, 10, -8, -1)});
    expect_asm("stb [%r10-1], 0xff", {BPF_ST_MEM(BPF_B, 10, -1, 0xff)});
    expect_asm("stxdw [%r10-8], %r1", {BPF_STX_MEM(BPF_DW, 10, 1, -8)});
    expect_asm("stxh [%r1], %r2", {BPF_STX_MEM(BPF_H, 1, 2, 0)});
}

TEST(AsmEncoding, Atomics) {
    expect_asm("lock add [%r1+0], %r2", {BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 1, 2, 0)});
    expect_asm("lock add32 [%r10-8], %r1", {BPF_ATOMIC_OP(BPF_W, BPF_ADD, 10, 1, -8)});
    expect_asm("lock fetch xor32 [%r10-8], %r1", {BPF_ATOMIC_OP(BPF_W, BPF_XOR | BPF_FETCH, 10, 1, -8)});
    expect_asm("lock fetch and [%r3+16], %r4", {BPF_ATOMIC_OP(BPF_DW, BPF_AND | BPF_FETCH, 3, 4, 16)});
    expect_asm("lock or32 [%r1], %r2", {BPF_ATOMIC_OP(BPF_W, BPF_OR, 1, 2, 0)});
    expect_asm("lock xchg [%r1], %r2", {BPF_ATOMIC_OP(BPF_DW, BPF_XCHG, 1, 2, 0)});
    expect_asm("lock cmpxchg32 [%r1+4], %r2", {BPF_ATOMIC_OP(BPF_W, BPF_CMPXCHG, 1, 2, 4)});
}

TEST(AsmEncoding, JumpsWithOffsets) {
    expect_asm("ja +3", {BPF_JMP_A(3)});
    expect_asm("ja -1", {BPF_JMP_A(-1)});
    expect_asm("ja 0", {BPF_JMP_A(0)});
    expect_asm("ja32 +70000", {BPF_JMP32_A(70000)});
    expect_asm("jeq %r1, 5, +2", {BPF_JMP_IMM(BPF_JEQ, 1, 5, 2)});
    expect_asm("jsgt32 %r1, 0xffffffff, -4", {BPF_JMP32_IMM(BPF_JSGT, 1, -1, -4)});
    expect_asm("jgt %r1, 0x80000000, +1", {BPF_JMP_IMM(BPF_JGT, 1, INT32_MIN, 1)});
    expect_asm("jne32 %r1, %r2, +2", {BPF_JMP32_REG(BPF_JNE, 1, 2, 2)});
    expect_asm("jsle %r10, %r0, -32768", {BPF_JMP_REG(BPF_JSLE, 10, 0, -32768)});
}

TEST(AsmEncoding, Calls) {
    expect_asm("call 5", {BPF_EMIT_CALL(5)});
    expect_asm("call %r2", {BPF_CALLX(2)});
    expect_asm("callx %r2", {BPF_CALLX(2)});
    expect_asm("call local +3", {BPF_CALL_REL(3)});
    expect_asm("call local -1", {BPF_CALL_REL(-1)});
    expect_asm("exit", {BPF_EXIT_INSN()});
}

TEST(AsmEncoding, RawSlots) {
    expect_asm(".raw 0x0000000000000095", {BPF_EXIT_INSN()});
    expect_asm(".raw 0x00000004000321ff", {BPFRT_INSN(0xff, 1, 2, 3, 4)});
    expect_asm(".raw 0xffffffffffffffff", {BPFRT_INSN(0xff, 0xf, 0xf, -1, -1)});
}

TEST(AsmLabels, ForwardAndBackwardJumpsCountLddwAsTwoSlots) {
    expect_asm(R"(
start:
    lddw %r0, 1        # slots 0-1
    jeq %r0, 1, done   # slot 2 -> 5
    ja start           # slot 3 -> 0
    ja32 done          # slot 4 -> 5
done:
    exit
)",
               {BPF_LD_IMM64(0, 1), BPF_JMP_IMM(BPF_JEQ, 0, 1, 2), BPF_JMP_A(-4), BPF_JMP32_A(0),
                BPF_EXIT_INSN()});
}

TEST(AsmLabels, CallLocalResolvesToTheFunction) {
    expect_asm("call local f\nexit\nf:\nmov %r0, 1\nexit\n",
               {BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()});
}

TEST(AsmLabels, ImplicitExitLabelIsTheFirstExit) {
    // As in the suite's jeq32-imm.data: `exit` names the first exit instruction.
    expect_asm("jeq %r1, 0xb, exit\nmov %r0, 2\nexit\nexit\n",
               {BPF_JMP_IMM(BPF_JEQ, 1, 0xb, 1), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN(), BPF_EXIT_INSN()});
}

TEST(AsmLabels, LabelsMayShareNamesWithMnemonics) {
    expect_asm("ja exit\nmov:\nexit\nexit:\nja mov\n",
               {BPF_JMP_A(1), BPF_EXIT_INSN(), BPF_JMP_A(-2)});
    expect_asm("ja lock\nlock: lock add [%r1], %r2\n",
               {BPF_JMP_A(0), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 1, 2, 0)});
}

TEST(AsmLabels, LabelAtTheEndAndBeforeAnInstructionOnOneLine) {
    expect_asm("ja end\nL1: mov %r0, 0\nend:", {BPF_JMP_A(1), BPF_MOV64_IMM(0, 0)});
}

TEST(AsmSyntax, CommentsBlankLinesCrLfAndSlotNumbers) {
    expect_asm("# header\r\n\r\n  mov %r0, 1 # trailing\r\n\t   0: exit\n   12: exit\n",
               {BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN(), BPF_EXIT_INSN()});
    auto empty = assemble("# nothing\n\n");
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->empty());
}

TEST(AsmSyntax, Imm32AcceptsSignedAndUnsignedSpellings) {
    expect_asm("mov %r0, 0xffffffff", {BPF_MOV64_IMM(0, -1)});
    expect_asm("mov %r0, 4294967295", {BPF_MOV64_IMM(0, -1)});
    expect_asm("mov %r0, -2147483648", {BPF_MOV64_IMM(0, INT32_MIN)});
    expect_asm("mov %r0, -0x80000000", {BPF_MOV64_IMM(0, INT32_MIN)});
    expect_asm("mov %r0, +17", {BPF_MOV64_IMM(0, 17)});
    expect_asm("mov %r0, 0X1F", {BPF_MOV64_IMM(0, 31)});
}

// ---- Errors: each names the line and the problem ----

struct BadInput {
    std::string text;
    size_t line;
    std::string says;
};

TEST(AsmErrors, MalformedInputNamesTheLineAndTheProblem) {
    const std::string ok = "mov %r0, 0\n# comment\n";  // the bad line is line 3
    const BadInput cases[] = {
        {ok + "foo %r0, 1", 3, "unknown mnemonic 'foo'"},
        {ok + "lock foo [%r1], %r2", 3, "unknown mnemonic 'lock foo'"},
        {ok + "mov %r11, 1", 3, "bad register '%r11'"},
        {ok + "mov %rx, 1", 3, "bad register '%rx'"},
        {ok + "mov r1, 1", 3, "bad register 'r1'"},
        {ok + "mov %r0, 0x100000000", 3, "out of range for 32 bits"},
        {ok + "mov %r0, -2147483649", 3, "out of range for 32 bits"},
        {ok + "lddw %r0, 0x10000000000000000", 3, "out of range for 64 bits"},
        {ok + "lddw %r0, -9223372036854775809", 3, "out of range for 64 bits"},
        {ok + "mov %r0, abc", 3, "expected an immediate, got 'abc'"},
        {ok + "ja nowhere", 3, "unknown label 'nowhere'"},
        {ok + "mov %r0", 3, "'mov' takes 2 operands, got 1"},
        {ok + "exit %r0", 3, "'exit' takes 0 operands, got 1"},
        {ok + "jeq %r1, 5", 3, "'jeq' takes 3 operands, got 2"},
        {ok + "add %r0, , 1", 3, "empty operand"},
        {ok + "ja +32768", 3, "out of 16-bit range"},
        {ok + "jeq %r1, 1, -32769", 3, "out of 16-bit range"},
        {ok + "ldxw %r0, [%r1+40000]", 3, "out of 16-bit range"},
        {ok + "ldxw %r0, %r1", 3, "expected a memory operand"},
        {ok + "ldxw %r0, [%r1+]", 3, "bad offset"},
        {ok + "x:\nx: exit", 4, "duplicate label 'x' (first defined on line 3)"},
        {ok + "1x: exit", 3, "bad label name '1x'"},
        {ok + "lddw %r0, map_foo 1", 3, "lddw: expected a number or one of map_fd"},
        {ok + "lddw %r0, map_value 1 + x", 3, "expected a number after '+'"},
        {ok + ".raw 0x1ffffffffffffffff", 3, "out of range for 64 bits"},
        {ok + ".raw", 3, ".raw takes one 64-bit number"},
        {ok + "ja $", 3, "expected a label or +/-offset"},
        {ok + "%r0, 1", 3, "expected a mnemonic"},
    };
    for (const BadInput& c : cases) {
        SCOPED_TRACE(c.text);
        auto prog = assemble(c.text);
        ASSERT_FALSE(prog.has_value());
        EXPECT_EQ(prog.error().code, EINVAL);
        const std::string prefix = "line " + std::to_string(c.line) + ": ";
        EXPECT_TRUE(prog.error().message.starts_with(prefix)) << prog.error().message;
        EXPECT_NE(prog.error().message.find(c.says), std::string::npos) << prog.error().message;
    }
}

TEST(AsmErrors, LabelTooFarForA16BitOffset) {
    std::string text = "ja far\n";
    for (int i = 0; i < 40000; ++i) text += "mov %r0, 0\n";
    text += "far: exit\n";
    auto prog = assemble(text);
    ASSERT_FALSE(prog.has_value());
    EXPECT_EQ(prog.error().message, "line 1: jump to 'far' out of 16-bit range (offset 40000)");
    // ja32 reaches it.
    text.replace(0, 2, "ja32");
    auto wide = assemble(text);
    ASSERT_TRUE(wide.has_value()) << wide.error().message;
    EXPECT_EQ(wide->front().imm, 40000);
}

TEST(AsmErrors, GarbageNeverCrashes) {
    // Every prefix of a tricky program either assembles or fails cleanly.
    const std::string text =
        "lock fetch cmpxchg32 [%r10-8], %r1\nlddw %r1, map_value 3 + 8\njeq %r1, 0x80000000, exit\n"
        "ldxw %r0, [%r1+4]\ncall local f\nf: exit\n";
    for (size_t n = 0; n <= text.size(); ++n) {
        auto prog = assemble(text.substr(0, n));
        if (!prog) {
            EXPECT_TRUE(prog.error().message.starts_with("line ")) << prog.error().message;
        }
    }
}

}  // namespace
