// Disassembler output, `.raw` fallback, and the round trip of every operation
// of the opcode table through text.
#include "isa/asm_syntax.hpp"
#include "isa/opcodes.hpp"

#include <bpfrt/asm.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {

using namespace bpfrt::isa;

std::vector<uint64_t> words(std::span<const bpf_insn> prog) {
    std::vector<uint64_t> out;
    for (const bpf_insn& insn : prog) out.push_back(asm_syntax::to_word(insn));
    return out;
}

// disassemble(prog) is `text`, and `text` assembles back to prog.
void expect_disasm(const std::vector<bpf_insn>& prog, const std::string& text, const DisasmOptions& options = {}) {
    EXPECT_EQ(disassemble(prog, options), text);
    auto again = assemble(text);
    ASSERT_TRUE(again.has_value()) << again.error().message << "\n" << text;
    EXPECT_EQ(words(*again), words(prog)) << text;
}

const std::vector<bpf_insn> kSmall = {
    BPF_MOV64_IMM(0, 1),
    BPF_JMP_IMM(BPF_JEQ, 1, 5, 2),  // to the exit at slot 4
    BPF_LD_IMM64(2, 0x1122334455667788ULL),
    BPF_EXIT_INSN(),
};

TEST(Disasm, LabelsOffsetsAndSlotNumbers) {
    expect_disasm(kSmall,
                  "mov %r0, 1\n"
                  "jeq %r1, 5, L4\n"
                  "lddw %r2, 0x1122334455667788\n"
                  "L4:\n"
                  "exit\n");
    expect_disasm(kSmall,
                  "mov %r0, 1\n"
                  "jeq %r1, 5, +2\n"
                  "lddw %r2, 0x1122334455667788\n"
                  "exit\n",
                  {.labels = false});
    expect_disasm(kSmall,
                  "   0: mov %r0, 1\n"
                  "   1: jeq %r1, 5, L4\n"
                  "   2: lddw %r2, 0x1122334455667788\n"
                  "L4:\n"
                  "   4: exit\n",
                  {.labels = true, .show_offsets = true});
}

TEST(Disasm, EveryFormPrintsInTheAssemblerSyntax) {
    const std::vector<std::pair<bpf_insn, std::string>> cases = {
        {BPF_ALU32_IMM(BPF_ADD, 1, -3), "add32 %r1, -3"},
        {BPF_ALU64_IMM_OFF(BPF_DIV, 1, 7, 1), "sdiv %r1, 7"},
        {BPF_ALU64_REG(BPF_XOR, 10, 9), "xor %r10, %r9"},
        {BPF_MOVSX64_REG(0, 1, 8), "movsx864 %r0, %r1"},
        {BPF_ALU64_IMM(BPF_NEG, 0, 0), "neg %r0"},
        {BPF_ENDIAN(BPF_TO_BE, 0, 16), "be16 %r0"},
        {BPF_BSWAP(3, 32), "bswap32 %r3"},
        {BPF_LD_ABS(BPF_W, 12), "ldabsw 12"},
        {BPF_LD_IND(BPF_H, 1, 4), "ldindh %r1, 4"},
        {BPF_LDX_MEM(BPF_W, 0, 1, 4), "ldxw %r0, [%r1+4]"},
        {BPF_LDX_MEM(BPF_DW, 0, 1, 0), "ldxdw %r0, [%r1]"},
        {BPF_LDX_MEMSX(BPF_B, 0, 10, -1), "ldxsb %r0, [%r10-1]"},
        {BPF_ST_MEM(BPF_W, 1, 2, 5), "stw [%r1+2], 5"},
        {BPF_STX_MEM(BPF_DW, 10, 1, -8), "stxdw [%r10-8], %r1"},
        {BPF_ATOMIC_OP(BPF_W, BPF_XOR | BPF_FETCH, 10, 1, -8), "lock fetch xor32 [%r10-8], %r1"},
        {BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, 1, 2, 0), "lock cmpxchg [%r1], %r2"},
        {BPF_JMP_A(-1), "ja -1"},
        {BPF_JMP_A(0), "ja +0"},
        {BPF_JMP32_A(70000), "ja32 +70000"},
        {BPF_JMP32_REG(BPF_JNE, 1, 2, 2), "jne32 %r1, %r2, +2"},
        {BPF_JMP_IMM(BPF_JSGT, 1, -1, -4), "jsgt %r1, -1, -4"},
        {BPF_EMIT_CALL(5), "call 5"},
        {BPF_CALL_REL(3), "call local +3"},
        {BPF_CALLX(2), "callx %r2"},
        {BPF_EXIT_INSN(), "exit"},
    };
    for (const auto& [insn, text] : cases) {
        const std::vector<bpf_insn> prog = {insn};
        EXPECT_EQ(format_instruction(prog, 0), text);
        expect_disasm(prog, text + "\n", {.labels = false});
    }
}

TEST(Disasm, PseudoLddw) {
    expect_disasm({BPF_LD_MAP_FD(1, 3)}, "lddw %r1, map_fd 3\n");
    expect_disasm({BPF_LD_MAP_VALUE(1, 3, 8)}, "lddw %r1, map_value 3 + 8\n");
    expect_disasm({BPF_LD_MAP_VALUE(1, 3, 0)}, "lddw %r1, map_value 3 + 0\n");
    expect_disasm({BPF_LD_MAP_VALUE(1, 3, -8)}, "lddw %r1, map_value 3 - 8\n");
    expect_disasm({BPF_LD_MAP_VALUE(1, 3, INT32_MIN)}, "lddw %r1, map_value 3 - 2147483648\n");
    expect_disasm({BPF_LD_IMM64_RAW(1, BPF_PSEUDO_MAP_FD, 0x500000003ULL)}, "lddw %r1, map_fd 3 + 5\n");
    expect_disasm({BPF_LD_IMM64_RAW(6, BPF_PSEUDO_FUNC, 9)}, "lddw %r6, func 9\n");
    expect_disasm({BPF_LD_IMM64(0, ~0ULL)}, "lddw %r0, 0xffffffffffffffff\n");
}

TEST(Disasm, UndecodableSlotsBecomeRawLines) {
    const std::vector<bpf_insn> prog = {
        BPFRT_INSN(0xff, 1, 2, 3, 4),                      // unknown opcode
        BPFRT_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 3, 0, 1),  // reserved src_reg set
        BPFRT_INSN(BPF_ALU64 | BPF_MOV | BPF_X, 11, 1, 0, 0), // register 11
        BPF_MOV64_IMM(0, 7),
        BPFRT_INSN(BPF_LD | BPF_DW | BPF_IMM, 1, 0, 0, 1),  // lddw whose second slot
        BPF_EXIT_INSN(),                                    //   is not a lddw tail
        BPFRT_INSN(BPF_LD | BPF_DW | BPF_IMM, 1, 0, 0, 1),  // lddw cut off at the end
    };
    expect_disasm(prog,
                  ".raw 0x00000004000321ff\n"
                  ".raw 0x00000001000030b7\n"
                  ".raw 0x0000000000001bbf\n"
                  "mov %r0, 7\n"
                  ".raw 0x0000000100000118\n"
                  "exit\n"
                  ".raw 0x0000000100000118\n");
    EXPECT_EQ(format_instruction(prog, 0), ".raw 0x00000004000321ff");
    EXPECT_EQ(format_instruction(prog, 3), "mov %r0, 7");
    EXPECT_EQ(format_instruction(prog, prog.size()), "");
}

TEST(Disasm, JumpsIntoLddwOrOutsideTheProgramStayNumeric) {
    const std::vector<bpf_insn> prog = {
        BPF_JMP_A(1),    // into the middle of the lddw
        BPF_LD_IMM64(0, 5),
        BPF_JMP_A(-10),  // before the start
        BPF_JMP_A(100),  // past the end
        BPF_JMP_A(-1),   // to itself
        BPF_JMP_A(0),    // to the end of the program
    };
    expect_disasm(prog,
                  "ja +1\n"
                  "lddw %r0, 0x5\n"
                  "ja -10\n"
                  "ja +100\n"
                  "L5:\n"
                  "ja L5\n"
                  "ja L7\n"
                  "L7:\n");
}

TEST(Disasm, CallLocalGetsALabel) {
    const std::vector<bpf_insn> prog = {BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_IMM(0, 1), BPF_EXIT_INSN()};
    expect_disasm(prog, "call local L2\nexit\nL2:\nmov %r0, 1\nexit\n");
}

// ---- Every operation of the opcode table ----

// Field values to try; the decoder keeps the combinations an operation allows.
constexpr uint8_t kRegs[] = {0, 1, 10};
constexpr int16_t kOffs[] = {0, -1, 1, std::numeric_limits<int16_t>::min(), std::numeric_limits<int16_t>::max()};
constexpr int32_t kImms[] = {0, -1, 7, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
constexpr uint64_t kImm64s[] = {0, 1, ~0ULL, 0x8000000000000000ULL, 0x00000000ffffffffULL, 0x1122334455667788ULL};

// All valid instructions built from the value grid, one program.
std::vector<bpf_insn> every_operation(std::vector<Op>& covered) {
    std::vector<bpf_insn> prog;
    for (const OpInfo& row : all_ops()) {
        size_t kept = 0;
        std::vector<Instruction> insns;
        if (row.op == Op::LDDW) {
            for (uint8_t dst : kRegs)
                for (uint8_t pseudo = 0; pseudo <= BPF_PSEUDO_MAP_IDX_VALUE; ++pseudo)
                    for (uint64_t imm : kImm64s) insns.push_back(make_lddw(dst, imm, pseudo));
        } else {
            for (uint8_t dst : kRegs)
                for (uint8_t src : kRegs)
                    for (int16_t off : kOffs)
                        for (int32_t imm : kImms) insns.push_back(Instruction{row.op, dst, src, off, imm, 0});
        }
        for (const Instruction& insn : insns) {
            std::vector<bpf_insn> bytes;
            encode(insn, bytes);
            auto decoded = decode(bytes, 0);
            if (!decoded || decoded->op != row.op) continue;  // a field the operation must leave zero
            prog.insert(prog.end(), bytes.begin(), bytes.end());
            ++kept;
        }
        if (kept > 0) covered.push_back(row.op);
    }
    return prog;
}

TEST(DisasmTable, EveryOperationRoundTripsThroughText) {
    std::vector<Op> covered;
    const std::vector<bpf_insn> prog = every_operation(covered);
    EXPECT_EQ(covered.size(), kOpCount) << "some operation has no valid encoding in the value grid";
    ASSERT_TRUE(decode_all(prog).has_value());

    for (const DisasmOptions& options : {DisasmOptions{.labels = true, .show_offsets = false},
                                         DisasmOptions{.labels = false, .show_offsets = false},
                                         DisasmOptions{.labels = true, .show_offsets = true}}) {
        const std::string text = disassemble(prog, options);
        EXPECT_EQ(text.find(".raw"), std::string::npos);
        auto again = assemble(text);
        ASSERT_TRUE(again.has_value()) << again.error().message;
        EXPECT_EQ(words(*again), words(prog));
    }
}

TEST(DisasmTable, EachInstructionRoundTripsAlone) {
    std::vector<Op> covered;
    const std::vector<bpf_insn> prog = every_operation(covered);
    size_t count = 0;
    for (size_t pc = 0; pc < prog.size();) {
        auto insn = decode(prog, pc);
        ASSERT_TRUE(insn.has_value());
        const std::string line = format_instruction(prog, pc);
        auto again = assemble(line);
        ASSERT_TRUE(again.has_value()) << line << ": " << again.error().message;
        const std::span<const bpf_insn> original(prog.data() + pc, insn->slots());
        EXPECT_EQ(words(*again), words(original)) << line;
        // The mnemonic is the table's.
        EXPECT_TRUE(line.starts_with(insn->info().mnemonic)) << line;
        pc += insn->slots();
        ++count;
    }
    EXPECT_GT(count, 2 * kOpCount);
}

TEST(DisasmTable, RandomSlotsRoundTripAsTextOrRaw) {
    // Arbitrary bytes: whatever decodes is printed as code, the rest as .raw,
    // and the text always assembles back to the same bytes.
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    std::vector<bpf_insn> prog;
    for (int i = 0; i < 4000; ++i) {
        bpf_insn insn = asm_syntax::from_word(next());
        // Bias towards real opcodes so that many slots decode.
        if (i % 2 == 0) {
            const auto ops = all_ops();
            const OpInfo& row = ops[next() % ops.size()];
            insn.code = row.code;
        }
        if (i % 4 == 0) insn.off = static_cast<int16_t>(next() % 16) - 8;
        prog.push_back(insn);
    }
    for (bool labels : {true, false}) {
        const std::string text = disassemble(prog, {.labels = labels});
        auto again = assemble(text);
        ASSERT_TRUE(again.has_value()) << again.error().message;
        EXPECT_EQ(words(*again), words(prog));
    }
}

}  // namespace
