// Semantics of every operation of the opcode table, in both modes.
#include "vm_test_util.hpp"

#include "isa/opcodes.hpp"

#include <climits>
#include <cstring>
#include <set>

namespace bpfrt::vm::test {
namespace {

class Semantics : public ::testing::TestWithParam<Mode> {};
INSTANTIATE_TEST_SUITE_P(Modes, Semantics, ::testing::Values(Mode::Verified, Mode::Checked), mode_name);

constexpr uint64_t kMin64 = 0x8000000000000000ull;
constexpr uint64_t kAll = ~0ull;

// r0 = a; r2 = b; <insn on r0 (and r2)>; exit
uint64_t alu(Mode mode, bpf_insn insn, uint64_t a, uint64_t b = 0) {
    return r0_of({BPF_LD_IMM64(BPF_REG_0, a), BPF_LD_IMM64(BPF_REG_2, b), insn, BPF_EXIT_INSN()}, mode);
}

struct AluCase {
    const char* what;
    bpf_insn insn;
    uint64_t a, b, want;
};

TEST_P(Semantics, Arithmetic) {
    const AluCase cases[] = {
        {"add64", BPF_ALU64_REG(BPF_ADD, 0, 2), 1, 2, 3},
        {"add64 wraps", BPF_ALU64_REG(BPF_ADD, 0, 2), kAll, 2, 1},
        {"add64 imm sign-extends", BPF_ALU64_IMM(BPF_ADD, 0, -1), 5, 0, 4},
        {"add32 wraps and zero-extends", BPF_ALU32_REG(BPF_ADD, 0, 2), 0xffffffff00000001ull, 0xffffffff, 0},
        {"add32 imm", BPF_ALU32_IMM(BPF_ADD, 0, -1), 0x100000000ull, 0, 0xffffffff},
        {"sub64", BPF_ALU64_REG(BPF_SUB, 0, 2), 0, 1, kAll},
        {"sub32", BPF_ALU32_REG(BPF_SUB, 0, 2), 0, 1, 0xffffffff},
        {"sub64 imm", BPF_ALU64_IMM(BPF_SUB, 0, 3), 10, 0, 7},
        {"sub32 imm", BPF_ALU32_IMM(BPF_SUB, 0, 3), 0x500000002ull, 0, 0xffffffff},
        {"mul64", BPF_ALU64_REG(BPF_MUL, 0, 2), 0x100000001ull, 0x100000001ull, 0x200000001ull},
        {"mul64 intmin*-1", BPF_ALU64_IMM(BPF_MUL, 0, -1), kMin64, 0, kMin64},
        {"mul32 intmin*-1", BPF_ALU32_REG(BPF_MUL, 0, 2), 0x80000000, kAll, 0x80000000},
        {"mul32 overflow", BPF_ALU32_REG(BPF_MUL, 0, 2), 0x10000, 0x10001, 0x10000},
        {"mul32 imm", BPF_ALU32_IMM(BPF_MUL, 0, 3), 0x100000005ull, 0, 15},
        {"div64", BPF_ALU64_REG(BPF_DIV, 0, 2), 100, 7, 14},
        {"div64 by zero", BPF_ALU64_REG(BPF_DIV, 0, 2), 100, 0, 0},
        {"div64 imm is sign-extended (unsigned)", BPF_ALU64_IMM(BPF_DIV, 0, -1), kAll, 0, 1},
        {"div64 imm zero", BPF_ALU64_IMM(BPF_DIV, 0, 0), 5, 0, 0},
        {"div32 ignores high bits", BPF_ALU32_REG(BPF_DIV, 0, 2), 0x100000006ull, 0x100000002ull, 3},
        {"div32 by zero", BPF_ALU32_REG(BPF_DIV, 0, 2), 7, 0x100000000ull, 0},
        {"div32 imm", BPF_ALU32_IMM(BPF_DIV, 0, -2), 0xffffffff, 0, 1},
        {"mod64", BPF_ALU64_REG(BPF_MOD, 0, 2), 100, 7, 2},
        {"mod64 by zero keeps dst", BPF_ALU64_REG(BPF_MOD, 0, 2), 0x123456789ull, 0, 0x123456789ull},
        {"mod64 imm", BPF_ALU64_IMM(BPF_MOD, 0, 10), 1234, 0, 4},
        {"mod32 by zero zero-extends dst", BPF_ALU32_REG(BPF_MOD, 0, 2), 0x700000005ull, 0x100000000ull, 5},
        {"mod32 imm zero", BPF_ALU32_IMM(BPF_MOD, 0, 0), 0x700000005ull, 0, 5},
        {"mod32", BPF_ALU32_REG(BPF_MOD, 0, 2), 0x100000011ull, 5, 2},
        {"sdiv64", BPF_ALU64_REG_OFF(BPF_DIV, 0, 2, 1), static_cast<uint64_t>(-7), 2, static_cast<uint64_t>(-3)},
        {"sdiv64 intmin/-1", BPF_ALU64_REG_OFF(BPF_DIV, 0, 2, 1), kMin64, kAll, kMin64},
        {"sdiv64 by zero", BPF_ALU64_REG_OFF(BPF_DIV, 0, 2, 1), 5, 0, 0},
        {"sdiv64 imm", BPF_ALU64_IMM_OFF(BPF_DIV, 0, -2, 1), 9, 0, static_cast<uint64_t>(-4)},
        {"sdiv64 imm intmin/-1", BPF_ALU64_IMM_OFF(BPF_DIV, 0, -1, 1), kMin64, 0, kMin64},
        {"sdiv32", BPF_ALU32_REG_OFF(BPF_DIV, 0, 2, 1), 0xfffffff9, 2, 0xfffffffd},
        {"sdiv32 intmin/-1", BPF_ALU32_REG_OFF(BPF_DIV, 0, 2, 1), 0x80000000, 0xffffffff, 0x80000000},
        {"sdiv32 by zero", BPF_ALU32_REG_OFF(BPF_DIV, 0, 2, 1), 5, 0, 0},
        {"sdiv32 imm", BPF_ALU32_IMM_OFF(BPF_DIV, 0, -1, 1), 0x180000000ull, 0, 0x80000000},
        {"smod64", BPF_ALU64_REG_OFF(BPF_MOD, 0, 2, 1), static_cast<uint64_t>(-7), 2, kAll},
        {"smod64 intmin%-1", BPF_ALU64_REG_OFF(BPF_MOD, 0, 2, 1), kMin64, kAll, 0},
        {"smod64 by zero keeps dst", BPF_ALU64_REG_OFF(BPF_MOD, 0, 2, 1), kMin64 | 3, 0, kMin64 | 3},
        {"smod64 imm", BPF_ALU64_IMM_OFF(BPF_MOD, 0, -3, 1), 7, 0, 1},
        {"smod32", BPF_ALU32_REG_OFF(BPF_MOD, 0, 2, 1), 0xfffffff9, 2, 0xffffffff},
        {"smod32 intmin%-1", BPF_ALU32_REG_OFF(BPF_MOD, 0, 2, 1), 0x80000000, 0xffffffff, 0},
        {"smod32 by zero", BPF_ALU32_REG_OFF(BPF_MOD, 0, 2, 1), 0x900000005ull, 0, 5},
        {"smod32 imm", BPF_ALU32_IMM_OFF(BPF_MOD, 0, 5, 1), 0xfffffff9, 0, 0xfffffffe},
        {"or64", BPF_ALU64_REG(BPF_OR, 0, 2), 0xf0, 0x0f00000000ull, 0xf000000f0ull},
        {"or32", BPF_ALU32_IMM(BPF_OR, 0, 1), 0x100000000ull, 0, 1},
        {"or64 imm", BPF_ALU64_IMM(BPF_OR, 0, -16), 1, 0, 0xfffffffffffffff1ull},
        {"or32 reg", BPF_ALU32_REG(BPF_OR, 0, 2), 0x100000001ull, 0x200000002ull, 3},
        {"and64", BPF_ALU64_REG(BPF_AND, 0, 2), 0xff00ff00ff00ull, 0x0ff00ff00ff0ull, 0x0f000f000f00ull},
        {"and64 imm", BPF_ALU64_IMM(BPF_AND, 0, -1), 0x123456789ull, 0, 0x123456789ull},
        {"and32", BPF_ALU32_IMM(BPF_AND, 0, -1), 0x123456789ull, 0, 0x23456789},
        {"and32 reg", BPF_ALU32_REG(BPF_AND, 0, 2), kAll, 0xf0f0, 0xf0f0},
        {"xor64", BPF_ALU64_REG(BPF_XOR, 0, 2), 0xff, 0x0f, 0xf0},
        {"xor64 imm", BPF_ALU64_IMM(BPF_XOR, 0, -1), 0, 0, kAll},
        {"xor32", BPF_ALU32_REG(BPF_XOR, 0, 2), kAll, 0, 0xffffffff},
        {"xor32 imm", BPF_ALU32_IMM(BPF_XOR, 0, 1), 0x300000003ull, 0, 2},
        {"mov64", BPF_MOV64_REG(0, 2), 1, kAll, kAll},
        {"mov64 imm sign-extends", BPF_MOV64_IMM(0, -1), 0, 0, kAll},
        {"mov32 zero-extends", BPF_MOV32_REG(0, 2), 1, kAll, 0xffffffff},
        {"mov32 imm", BPF_MOV32_IMM(0, -1), 5, 0, 0xffffffff},
        {"lsh64", BPF_ALU64_REG(BPF_LSH, 0, 2), 1, 63, kMin64},
        {"lsh64 masks to 6 bits", BPF_ALU64_REG(BPF_LSH, 0, 2), 1, 65, 2},
        {"lsh64 imm", BPF_ALU64_IMM(BPF_LSH, 0, 4), 0x1000000000000001ull, 0, 0x10},
        {"lsh32 masks to 5 bits", BPF_ALU32_REG(BPF_LSH, 0, 2), 1, 33, 2},
        {"lsh32 truncates", BPF_ALU32_IMM(BPF_LSH, 0, 4), 0x1f0000001ull, 0, 0x10},
        {"rsh64", BPF_ALU64_REG(BPF_RSH, 0, 2), kMin64, 63, 1},
        {"rsh64 imm masks", BPF_ALU64_IMM(BPF_RSH, 0, 68), 0x100, 0, 0x10},
        {"rsh32 ignores high bits", BPF_ALU32_IMM(BPF_RSH, 0, 4), 0x1000000f0ull, 0, 0xf},
        {"rsh32 reg masks", BPF_ALU32_REG(BPF_RSH, 0, 2), 0x80000000, 0x3f, 1},
        {"arsh64", BPF_ALU64_REG(BPF_ARSH, 0, 2), kMin64, 4, 0xf800000000000000ull},
        {"arsh64 imm masks", BPF_ALU64_IMM(BPF_ARSH, 0, 64 + 8), kAll << 8, 0, kAll},
        {"arsh32", BPF_ALU32_REG(BPF_ARSH, 0, 2), 0x80000000, 4, 0xf8000000},
        {"arsh32 imm zero-extends", BPF_ALU32_IMM(BPF_ARSH, 0, 36), 0xffffffff80000000ull, 0, 0xf8000000},
        {"arsh32 positive", BPF_ALU32_IMM(BPF_ARSH, 0, 1), 0x10000000, 0, 0x08000000},
        {"neg64", BPF_ALU64_IMM(BPF_NEG, 0, 0), 1, 0, kAll},
        {"neg64 intmin", BPF_ALU64_IMM(BPF_NEG, 0, 0), kMin64, 0, kMin64},
        {"neg32", BPF_ALU32_IMM(BPF_NEG, 0, 0), 1, 0, 0xffffffff},
        {"neg32 intmin", BPF_ALU32_IMM(BPF_NEG, 0, 0), 0x80000000, 0, 0x80000000},
        {"movsx8 64", BPF_MOVSX64_REG(0, 2, 8), 0, 0x1ff80, kAll << 7},
        {"movsx16 64", BPF_MOVSX64_REG(0, 2, 16), 0, 0x18000, kAll << 15},
        {"movsx32 64", BPF_MOVSX64_REG(0, 2, 32), 0, 0x180000000ull, kAll << 31},
        {"movsx32 64 positive", BPF_MOVSX64_REG(0, 2, 32), 0, 0x17fffffffull, 0x7fffffff},
        {"movsx8 32", BPF_MOVSX32_REG(0, 2, 8), 0, 0x180, 0xffffff80},
        {"movsx16 32", BPF_MOVSX32_REG(0, 2, 16), 0, 0x8000, 0xffff8000},
        {"le16", BPF_ENDIAN(BPF_TO_LE, 0, 16), 0x1122334455667788ull, 0, 0x7788},
        {"le32", BPF_ENDIAN(BPF_TO_LE, 0, 32), 0x1122334455667788ull, 0, 0x55667788},
        {"le64", BPF_ENDIAN(BPF_TO_LE, 0, 64), 0x1122334455667788ull, 0, 0x1122334455667788ull},
        {"be16", BPF_ENDIAN(BPF_TO_BE, 0, 16), 0x1122334455667788ull, 0, 0x8877},
        {"be32", BPF_ENDIAN(BPF_TO_BE, 0, 32), 0x1122334455667788ull, 0, 0x88776655},
        {"be64", BPF_ENDIAN(BPF_TO_BE, 0, 64), 0x1122334455667788ull, 0, 0x8877665544332211ull},
        {"bswap16", BPF_BSWAP(0, 16), 0x1122334455667788ull, 0, 0x8877},
        {"bswap32", BPF_BSWAP(0, 32), 0x1122334455667788ull, 0, 0x88776655},
        {"bswap64", BPF_BSWAP(0, 64), 0x1122334455667788ull, 0, 0x8877665544332211ull},
    };
    for (const AluCase& c : cases) EXPECT_EQ(alu(GetParam(), c.insn, c.a, c.b), c.want) << c.what;
}

TEST_P(Semantics, Lddw) {
    EXPECT_EQ(r0_of({BPF_LD_IMM64(0, 0x123456789abcdef0ull), BPF_EXIT_INSN()}, GetParam()), 0x123456789abcdef0ull);
    EXPECT_EQ(r0_of({BPF_LD_IMM64(0, kAll), BPF_EXIT_INSN()}, GetParam()), kAll);
}

// Every conditional jump: r0 = 1 when taken, 0 when not.
bool taken(Mode mode, bpf_insn jump, uint64_t a, uint64_t b) {
    jump.off = 1;
    const uint64_t r = r0_of({BPF_LD_IMM64(1, a), BPF_LD_IMM64(2, b), BPF_MOV64_IMM(0, 1), jump,
                              BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN()},
                             mode);
    return r == 1;
}

struct JumpCase {
    int op;
    uint64_t a, b;
    bool want64, want32;  // register forms, 64 and 32-bit compares
};

TEST_P(Semantics, ConditionalJumps) {
    const uint64_t neg1 = kAll;
    const JumpCase cases[] = {
        {BPF_JEQ, 5, 5, true, true},
        {BPF_JEQ, 0x100000005ull, 5, false, true},
        {BPF_JNE, 0x100000005ull, 5, true, false},
        {BPF_JGT, 0x100000000ull, 1, true, false},
        {BPF_JGT, neg1, 1, true, true},
        {BPF_JGE, 7, 7, true, true},
        {BPF_JGE, 6, 7, false, false},
        {BPF_JLT, 1, 0x100000000ull, true, false},
        {BPF_JLE, 7, 7, true, true},
        {BPF_JLE, 8, 7, false, false},
        {BPF_JSET, 0x100000000ull, 0x100000000ull, true, false},
        {BPF_JSET, 6, 1, false, false},
        {BPF_JSGT, neg1, 1, false, false},
        {BPF_JSGT, 1, neg1, true, true},
        {BPF_JSGT, 0x80000000, 1, true, false},  // positive in 64 bits, negative in 32
        {BPF_JSGE, neg1, neg1, true, true},
        {BPF_JSGE, kMin64, 0, false, true},
        {BPF_JSLT, neg1, 0, true, true},
        {BPF_JSLT, 0x80000000, 0, false, true},
        {BPF_JSLE, 3, 3, true, true},
        {BPF_JSLE, 4, 3, false, false},
    };
    const Mode m = GetParam();
    for (const JumpCase& c : cases) {
        SCOPED_TRACE(::testing::Message() << "op " << std::hex << c.op << " a=" << c.a << " b=" << c.b);
        EXPECT_EQ(taken(m, BPF_JMP_REG(c.op, 1, 2, 0), c.a, c.b), c.want64);
        EXPECT_EQ(taken(m, BPF_JMP32_REG(c.op, 1, 2, 0), c.a, c.b), c.want32);
        // Immediate forms when b fits a sign-extended imm.
        if (static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(c.b))) == c.b) {
            EXPECT_EQ(taken(m, BPF_JMP_IMM(c.op, 1, static_cast<int32_t>(c.b), 0), c.a, 0), c.want64);
        }
        {
            EXPECT_EQ(taken(m, BPF_JMP32_IMM(c.op, 1, static_cast<int32_t>(c.b), 0), c.a, 0), c.want32);
        }
    }
}

TEST_P(Semantics, ImmediateJumpSignExtends) {
    EXPECT_TRUE(taken(GetParam(), BPF_JMP_IMM(BPF_JEQ, 1, -1, 0), kAll, 0));
    EXPECT_FALSE(taken(GetParam(), BPF_JMP_IMM(BPF_JEQ, 1, -1, 0), 0xffffffff, 0));
    EXPECT_TRUE(taken(GetParam(), BPF_JMP32_IMM(BPF_JEQ, 1, -1, 0), 0xffffffff, 0));
    EXPECT_TRUE(taken(GetParam(), BPF_JMP_IMM(BPF_JGT, 1, -2, 0), kAll, 0));  // unsigned compare of sign-extended imm
}

TEST_P(Semantics, UnconditionalJumps) {
    // ja skips one instruction; ja32 jumps backwards and forwards by imm.
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(0, 1), BPF_JMP_A(1), BPF_MOV64_IMM(0, 2), BPF_EXIT_INSN()}, GetParam()), 1u);
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(0, 0), BPF_JMP32_A(2),                    // 1 -> 4
                     BPF_ALU64_IMM(BPF_ADD, 0, 10), BPF_EXIT_INSN(),          // 2, 3
                     BPF_ALU64_IMM(BPF_ADD, 0, 1), BPF_JMP32_A(-4)},          // 4, 5 -> 2
                    GetParam()),
              11u);
    // Backward conditional loop: sum 1..10.
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(0, 0), BPF_MOV64_IMM(1, 10), BPF_ALU64_REG(BPF_ADD, 0, 1),
                     BPF_ALU64_IMM(BPF_SUB, 1, 1), BPF_JMP_IMM(BPF_JNE, 1, 0, -3), BPF_EXIT_INSN()},
                    GetParam()),
              55u);
}

TEST_P(Semantics, LoadsAndStores) {
    std::vector<uint8_t> mem = {0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0, 0, 0, 0, 0, 0, 0, 0};
    const Mode m = GetParam();
    EXPECT_EQ(r0_of({BPF_LDX_MEM(BPF_B, 0, 1, 1), BPF_EXIT_INSN()}, m, mem), 0x82u);
    EXPECT_EQ(r0_of({BPF_LDX_MEM(BPF_H, 0, 1, 1), BPF_EXIT_INSN()}, m, mem), 0x8382u);  // unaligned
    EXPECT_EQ(r0_of({BPF_LDX_MEM(BPF_W, 0, 1, 0), BPF_EXIT_INSN()}, m, mem), 0x84838281u);
    EXPECT_EQ(r0_of({BPF_LDX_MEM(BPF_DW, 0, 1, 0), BPF_EXIT_INSN()}, m, mem), 0x8887868584838281ull);
    EXPECT_EQ(r0_of({BPF_LDX_MEMSX(BPF_B, 0, 1, 0), BPF_EXIT_INSN()}, m, mem), 0xffffffffffffff81ull);
    EXPECT_EQ(r0_of({BPF_LDX_MEMSX(BPF_H, 0, 1, 0), BPF_EXIT_INSN()}, m, mem), 0xffffffffffff8281ull);
    EXPECT_EQ(r0_of({BPF_LDX_MEMSX(BPF_W, 0, 1, 0), BPF_EXIT_INSN()}, m, mem), 0xffffffff84838281ull);
    // Negative offsets.
    EXPECT_EQ(r0_of({BPF_ALU64_IMM(BPF_ADD, 1, 8), BPF_LDX_MEM(BPF_B, 0, 1, -1), BPF_EXIT_INSN()}, m, mem), 0x88u);

    // Stores of every size, immediate and register, to memory and the stack.
    EXPECT_EQ(r0_of({BPF_ST_MEM(BPF_B, 1, 8, 0x11), BPF_ST_MEM(BPF_H, 1, 9, 0x2233), BPF_ST_MEM(BPF_W, 1, 11, -1),
                     BPF_LDX_MEM(BPF_DW, 0, 1, 8), BPF_EXIT_INSN()},
                    m, mem),
              0x00ffffffff223311ull);
    EXPECT_EQ(r0_of({BPF_ST_MEM(BPF_DW, 10, -8, -2), BPF_LDX_MEM(BPF_DW, 0, 10, -8), BPF_EXIT_INSN()}, m), kAll - 1);
    EXPECT_EQ(r0_of({BPF_LD_IMM64(2, 0x1122334455667788ull), BPF_STX_MEM(BPF_DW, 10, 2, -16),
                     BPF_STX_MEM(BPF_W, 10, 2, -24), BPF_STX_MEM(BPF_H, 10, 2, -32), BPF_STX_MEM(BPF_B, 10, 2, -40),
                     BPF_LDX_MEM(BPF_DW, 0, 10, -16), BPF_LDX_MEM(BPF_W, 3, 10, -24),
                     BPF_ALU64_REG(BPF_XOR, 0, 3), BPF_LDX_MEM(BPF_H, 3, 10, -32), BPF_ALU64_REG(BPF_XOR, 0, 3),
                     BPF_LDX_MEM(BPF_B, 3, 10, -40), BPF_ALU64_REG(BPF_XOR, 0, 3), BPF_EXIT_INSN()},
                    m),
              0x1122334455667788ull ^ 0x55667788u ^ 0x7788u ^ 0x88u);
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(2, 0x55), BPF_STX_MEM(BPF_B, 1, 2, 15), BPF_LDX_MEM(BPF_B, 0, 1, 15),
                     BPF_EXIT_INSN()},
                    m, mem),
              0x55u);
    EXPECT_EQ(mem[15], 0x55);
}

TEST_P(Semantics, R1AndR2AreTheArguments) {
    std::vector<uint8_t> mem(24);
    EXPECT_EQ(r0_of({BPF_MOV64_REG(0, 2), BPF_EXIT_INSN()}, GetParam(), mem), 24u);
}

// Atomics on memory: dst = base register, src = operand, the result in r0.
uint64_t atomic_case(Mode mode, int size, int op, uint64_t mem_init, uint64_t operand, uint64_t r0_init,
                     uint64_t* mem_after, uint64_t* src_after) {
    alignas(8) std::array<uint8_t, 16> mem{};
    std::memcpy(mem.data() + 8, &mem_init, 8);
    auto r = run({BPF_LD_IMM64(0, r0_init), BPF_LD_IMM64(2, operand), BPF_ATOMIC_OP(size, op, 1, 2, 8),
                  BPF_STX_MEM(BPF_DW, 1, 2, 0), BPF_EXIT_INSN()},
                 mode, mem);
    EXPECT_TRUE(r) << r.error().message;
    std::memcpy(mem_after, mem.data() + 8, 8);
    std::memcpy(src_after, mem.data(), 8);
    return r ? *r : 0;
}

TEST_P(Semantics, Atomics) {
    const Mode m = GetParam();
    const uint64_t init = 0x1111111100000003ull;
    struct Case {
        const char* what;
        int size, op;
        uint64_t operand, want_mem, want_src;
    };
    const uint64_t opnd = 0x100000005ull;
    const Case cases[] = {
        {"add64", BPF_DW, BPF_ADD, opnd, init + opnd, opnd},
        {"or64", BPF_DW, BPF_OR, opnd, init | opnd, opnd},
        {"and64", BPF_DW, BPF_AND, opnd, init & opnd, opnd},
        {"xor64", BPF_DW, BPF_XOR, opnd, init ^ opnd, opnd},
        {"fetch add64", BPF_DW, BPF_ADD | BPF_FETCH, opnd, init + opnd, init},
        {"fetch or64", BPF_DW, BPF_OR | BPF_FETCH, opnd, init | opnd, init},
        {"fetch and64", BPF_DW, BPF_AND | BPF_FETCH, opnd, init & opnd, init},
        {"fetch xor64", BPF_DW, BPF_XOR | BPF_FETCH, opnd, init ^ opnd, init},
        {"xchg64", BPF_DW, BPF_XCHG, opnd, opnd, init},
        // 32-bit: only the low word changes; fetched values are zero-extended.
        {"add32", BPF_W, BPF_ADD, opnd, 0x1111111100000008ull, opnd},
        {"or32", BPF_W, BPF_OR, opnd, 0x1111111100000007ull, opnd},
        {"and32", BPF_W, BPF_AND, opnd, 0x1111111100000001ull, opnd},
        {"xor32", BPF_W, BPF_XOR, opnd, 0x1111111100000006ull, opnd},
        {"fetch add32", BPF_W, BPF_ADD | BPF_FETCH, opnd, 0x1111111100000008ull, 3},
        {"fetch or32", BPF_W, BPF_OR | BPF_FETCH, opnd, 0x1111111100000007ull, 3},
        {"fetch and32", BPF_W, BPF_AND | BPF_FETCH, opnd, 0x1111111100000001ull, 3},
        {"fetch xor32", BPF_W, BPF_XOR | BPF_FETCH, opnd, 0x1111111100000006ull, 3},
        {"xchg32", BPF_W, BPF_XCHG, opnd, 0x1111111100000005ull, 3},
    };
    for (const Case& c : cases) {
        uint64_t mem_after = 0, src_after = 0;
        atomic_case(m, c.size, c.op, init, c.operand, 0, &mem_after, &src_after);
        EXPECT_EQ(mem_after, c.want_mem) << c.what;
        EXPECT_EQ(src_after, c.want_src) << c.what;
    }
    // cmpxchg: stores src when r0 equals memory; r0 gets the old value either way.
    uint64_t mem_after = 0, src_after = 0;
    EXPECT_EQ(atomic_case(m, BPF_DW, BPF_CMPXCHG, init, 42, init, &mem_after, &src_after), init);
    EXPECT_EQ(mem_after, 42u);
    EXPECT_EQ(atomic_case(m, BPF_DW, BPF_CMPXCHG, init, 42, 1, &mem_after, &src_after), init);
    EXPECT_EQ(mem_after, init);
    EXPECT_EQ(atomic_case(m, BPF_W, BPF_CMPXCHG, init, 42, 0xff00000003ull, &mem_after, &src_after), 3u);
    EXPECT_EQ(mem_after, 0x111111110000002aull);
    EXPECT_EQ(atomic_case(m, BPF_W, BPF_CMPXCHG, init, 42, 4, &mem_after, &src_after), 3u);
    EXPECT_EQ(mem_after, init);
    EXPECT_EQ(src_after, 42u);
}

TEST_P(Semantics, AtomicsOnTheStack) {
    EXPECT_EQ(r0_of({BPF_ST_MEM(BPF_DW, 10, -8, 40), BPF_MOV64_IMM(1, 2), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, 10, 1, -8),
                     BPF_LDX_MEM(BPF_DW, 0, 10, -8), BPF_EXIT_INSN()},
                    GetParam()),
              42u);
}

TEST_P(Semantics, ExitNotLast) {
    EXPECT_EQ(r0_of({BPF_MOV64_IMM(0, 0), BPF_EXIT_INSN(), BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()}, GetParam()), 0u);
}

TEST_P(Semantics, LdAbsAndLdInd) {
    const Mode m = GetParam();
    const uint8_t packet[] = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60};
    auto ld = [&](const Prog& p, uint64_t r1 = 0) -> uint64_t {
        auto prog = prepare(p, m);
        if (!prog) return 0xbad;
        ExecContext ctx;
        ctx.packet = packet;
        ctx.packet_len = sizeof packet;
        auto r = prog->run(r1, 0, ctx);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : 0xbad;
    };
    // R0 is the network-order value converted to host order.
    EXPECT_EQ(ld({BPF_LD_ABS(BPF_B, 1), BPF_EXIT_INSN()}), 0x20u);
    EXPECT_EQ(ld({BPF_LD_ABS(BPF_H, 1), BPF_EXIT_INSN()}), 0x2030u);
    EXPECT_EQ(ld({BPF_LD_ABS(BPF_W, 2), BPF_EXIT_INSN()}), 0x30405060u);
    EXPECT_EQ(ld({BPF_MOV64_IMM(3, 1), BPF_LD_IND(BPF_W, 3, 1), BPF_EXIT_INSN()}), 0x30405060u);
    EXPECT_EQ(ld({BPF_MOV64_IMM(3, 4), BPF_LD_IND(BPF_H, 3, 0), BPF_EXIT_INSN()}), 0x5060u);
    EXPECT_EQ(ld({BPF_MOV64_IMM(3, 5), BPF_LD_IND(BPF_B, 3, 0), BPF_EXIT_INSN()}), 0x60u);
    // Outside the packet the program ends with r0 = 0, whatever follows.
    EXPECT_EQ(ld({BPF_MOV64_IMM(0, 7), BPF_LD_ABS(BPF_W, 3), BPF_MOV64_IMM(0, 9), BPF_EXIT_INSN()}), 0u);
    EXPECT_EQ(ld({BPF_MOV64_IMM(0, 7), BPF_LD_ABS(BPF_B, 6), BPF_MOV64_IMM(0, 9), BPF_EXIT_INSN()}), 0u);
    EXPECT_EQ(ld({BPF_MOV64_IMM(0, 7), BPF_LD_ABS(BPF_B, -1), BPF_MOV64_IMM(0, 9), BPF_EXIT_INSN()}), 0u);
    EXPECT_EQ(ld({BPF_MOV64_IMM(3, -4), BPF_LD_IND(BPF_B, 3, 2), BPF_MOV64_IMM(0, 9), BPF_EXIT_INSN()}), 0u);
    EXPECT_EQ(ld({BPF_MOV64_IMM(3, 3), BPF_LD_IND(BPF_W, 3, 0), BPF_MOV64_IMM(0, 9), BPF_EXIT_INSN()}), 0u);
    // Inside: execution continues (r1 left as it was: the interpreter does not clobber r1-r5).
    EXPECT_EQ(ld({BPF_LD_ABS(BPF_B, 0), BPF_MOV64_REG(0, 1), BPF_EXIT_INSN()}, 77), 77u);
}

TEST(Coverage, EveryTableOperationHasAHandler) {
    // make_interpreter must accept one instance of every operation in the table.
    for (const isa::OpInfo& row : isa::all_ops()) {
        isa::Instruction insn = row.op == isa::Op::LDDW ? isa::make_lddw(1, 5) : isa::make(row.op);
        if (row.form == isa::Form::CallHelper || row.form == isa::Form::CallLocal) continue;  // tested elsewhere
        std::vector<bpf_insn> raw;
        isa::encode(insn, raw);
        raw.push_back(BPF_EXIT_INSN());
        auto p = make_interpreter(raw, nullptr, Mode::Verified);
        EXPECT_TRUE(p) << row.mnemonic << ": " << p.error().message;
    }
}

}  // namespace
}  // namespace bpfrt::vm::test
