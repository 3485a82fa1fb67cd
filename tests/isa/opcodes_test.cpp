#include "isa/opcodes.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace bpfrt::isa;

TEST(Opcodes, EveryOperationRoundTripsThroughEncodeAndDecode) {
    for (const OpInfo& row : all_ops()) {
        Instruction insn = row.op == Op::LDDW ? make_lddw(3, 0x1122334455667788ull)
                                              : make(row.op, 0, 0, 0, 0);
        std::vector<bpf_insn> raw;
        encode(insn, raw);
        auto back = decode(raw, 0);
        ASSERT_TRUE(back) << row.mnemonic << ": " << back.error().message;
        EXPECT_EQ(back->op, row.op) << row.mnemonic;
        EXPECT_EQ(*back, insn) << row.mnemonic;
    }
}

TEST(Opcodes, MnemonicsAndDiscriminatorsAreUnique) {
    std::set<std::tuple<uint8_t, int, int32_t>> seen;
    std::set<std::pair<std::string_view, Form>> names;
    for (const OpInfo& row : all_ops()) {
        EXPECT_TRUE(seen.insert({row.code, static_cast<int>(row.disc_field), row.disc_value}).second)
            << row.mnemonic;
        EXPECT_TRUE(names.insert({row.mnemonic, row.form}).second) << row.mnemonic;
    }
}

TEST(Opcodes, RejectsUnknownOpcodesAndReservedFields) {
    std::vector<bpf_insn> p = {BPF_RAW_INSN(0xff, 0, 0, 0, 0)};
    auto r = decode(p, 0);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("unknown opcode 0xff"), std::string::npos) << r.error().message;

    p = {BPF_RAW_INSN(BPF_ALU64 | BPF_ADD | BPF_K, 1, 2, 0, 5)};  // src_reg set on an imm form
    r = decode(p, 0);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("src_reg must be 0"), std::string::npos);

    p = {BPF_RAW_INSN(BPF_ALU64 | BPF_ADD | BPF_X, 11, 2, 0, 0)};
    EXPECT_FALSE(decode(p, 0));

    p = {BPF_RAW_INSN(BPF_LD | BPF_DW | BPF_IMM, 1, 0, 0, 5)};  // lddw without its second slot
    r = decode(p, 0);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("second slot"), std::string::npos);

    p = {BPF_RAW_INSN(BPF_ALU64 | BPF_DIV | BPF_K, 1, 0, 2, 5)};  // div with off=2 is nothing
    EXPECT_FALSE(decode(p, 0));
    p = {BPF_RAW_INSN(BPF_STX | BPF_B | BPF_ATOMIC, 1, 2, 0, BPF_ADD)};  // 8-bit atomics do not exist
    EXPECT_FALSE(decode(p, 0));
}

TEST(Opcodes, DecodesDiscriminatedOperations) {
    std::vector<bpf_insn> p = {BPF_ALU64_IMM_OFF(BPF_DIV, 1, 7, 1), BPF_MOVSX64_REG(1, 2, 16),
                               BPF_ENDIAN(BPF_TO_BE, 3, 32), BPF_BSWAP(4, 64),
                               BPF_ATOMIC_OP(BPF_W, BPF_XOR | BPF_FETCH, 1, 2, -8), BPF_CALL_REL(3),
                               BPF_LD_IMM64(5, 0xdeadbeefcafef00dull), BPF_JMP32_A(-2), BPF_EXIT_INSN()};
    auto all = decode_all(p);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 9u);
    EXPECT_EQ((*all)[0].op, Op::SDIV64_IMM);
    EXPECT_EQ((*all)[1].op, Op::MOVSX16_64);
    EXPECT_EQ((*all)[2].op, Op::BE32);
    EXPECT_EQ((*all)[3].op, Op::BSWAP64);
    EXPECT_EQ((*all)[4].op, Op::ATOMIC_FETCH_XOR32);
    EXPECT_EQ((*all)[5].op, Op::CALL_LOCAL);
    EXPECT_EQ((*all)[6].op, Op::LDDW);
    EXPECT_EQ((*all)[6].imm64, 0xdeadbeefcafef00dull);
    EXPECT_EQ((*all)[7].op, Op::JA32);
    EXPECT_EQ(branch_target((*all)[7], 8), 7);
    EXPECT_EQ((*all)[8].op, Op::EXIT);
}
