// The map helpers from programs: lookup, update, delete, push, pop, peek,
// and their argument checks in checked (unverified) runs.
#include "test_util.hpp"

namespace bpfrt::test {
namespace {

// r0 = helper(map, fp-8 as key/value, fp-16 as value, flags) with
// *(u64*)(fp-8) = a, *(u64*)(fp-16) = b.
std::vector<bpf_insn> call_with_stack(int map, int helper, int32_t a, int32_t b, int32_t flags) {
    return {
        BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, a),
        BPF_ST_MEM(BPF_DW, BPF_REG_10, -16, b),
        BPF_LD_MAP_FD(BPF_REG_1, map),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8),
        BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -16),
        BPF_MOV64_IMM(BPF_REG_4, flags),
        BPF_CALL_FUNC(helper),
        BPF_EXIT_INSN(),
    };
}

int32_t run_helper(bpfrt_runtime* rt, int map, int helper, int32_t a, int32_t b, int32_t flags = BPF_ANY) {
    const int prog = load_filter(rt, call_with_stack(map, helper, a, b, flags));
    const int32_t r = static_cast<int32_t>(run_once(rt, prog, ip_frame(6)));
    bpfrt_close(rt, prog);
    return r;
}

TEST(MapHelpers, UpdateLookupDeleteFromPrograms) {
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 8, 8, 2);
    EXPECT_EQ(run_helper(rt.get(), map, BPF_FUNC_map_update_elem, 1, 100), 0);
    EXPECT_EQ(run_helper(rt.get(), map, BPF_FUNC_map_update_elem, 1, 100, BPF_NOEXIST), -EEXIST);
    EXPECT_EQ(run_helper(rt.get(), map, BPF_FUNC_map_update_elem, 2, 200, BPF_EXIST), -ENOENT);
    EXPECT_EQ(run_helper(rt.get(), map, BPF_FUNC_map_update_elem, 2, 200), 0);
    EXPECT_EQ(run_helper(rt.get(), map, BPF_FUNC_map_update_elem, 3, 300), -E2BIG);
    uint64_t key = 1, value = 0;
    ASSERT_EQ(bpfrt_lookup_elem(rt.get(), map, &key, &value), 0);
    EXPECT_EQ(value, 100u);
    EXPECT_EQ(run_helper(rt.get(), map, BPF_FUNC_map_delete_elem, 1, 0), 0);
    EXPECT_EQ(run_helper(rt.get(), map, BPF_FUNC_map_delete_elem, 1, 0), -ENOENT);
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), map, &key, &value); }), ENOENT);
    // lookup: r0 is a pointer (non-zero) or NULL
    EXPECT_NE(run_helper(rt.get(), map, BPF_FUNC_map_lookup_elem, 2, 0), 0);
    EXPECT_EQ(run_helper(rt.get(), map, BPF_FUNC_map_lookup_elem, 1, 0), 0);
}

TEST(MapHelpers, LookedUpValueIsReadableAndWritable) {
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 4);
    // value[2] += 5; return value[2] read back; reading past the value faults.
    const std::vector<bpf_insn> insns = {
        BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 2),
        BPF_LD_MAP_FD(BPF_REG_1, map),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 4),
        BPF_MOV64_IMM(BPF_REG_1, 5),
        BPF_STX_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0),
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_0, 0),
        BPF_EXIT_INSN(),
        BPF_MOV64_IMM(BPF_REG_0, 99),
        BPF_EXIT_INSN(),
    };
    const int prog = load_filter(rt.get(), insns);
    EXPECT_EQ(run_once(rt.get(), prog, ip_frame(6)), 5u);
    EXPECT_EQ(run_once(rt.get(), prog, ip_frame(6)), 10u);
    auto past = insns;
    past[8] = BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_0, 8);  // one past the 8-byte value: the verifier refuses
    EXPECT_EQ(errno_of([&] {
                  return bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, past.data(),
                                         static_cast<int>(past.size()), "GPL", nullptr, 0, 0);
              }),
              EACCES);
}

TEST(MapHelpers, QueueHelpers) {
    auto rt = new_runtime();
    const int queue = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_QUEUE, 0, 8, 2);
    ASSERT_GE(queue, 3);
    // push(map, fp-8 = 11), push 12; peek into fp-8 and return it; pop twice.
    auto push = [&](int32_t v) {
        const std::vector<bpf_insn> insns = {
            BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, v), BPF_LD_MAP_FD(BPF_REG_1, queue),
            BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8),
            BPF_MOV64_IMM(BPF_REG_3, BPF_ANY),   BPF_CALL_FUNC(BPF_FUNC_map_push_elem),
            BPF_EXIT_INSN(),
        };
        return static_cast<int32_t>(run_once(rt.get(), load_filter(rt.get(), insns), ip_frame(6)));
    };
    auto take = [&](int helper) {
        const std::vector<bpf_insn> insns = {
            BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, -1),
            BPF_LD_MAP_FD(BPF_REG_1, queue),
            BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8),
            BPF_CALL_FUNC(helper),
            BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 1),
            BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -8),
            BPF_EXIT_INSN(),
        };
        return static_cast<int32_t>(run_once(rt.get(), load_filter(rt.get(), insns), ip_frame(6)));
    };
    EXPECT_EQ(push(11), 0);
    EXPECT_EQ(push(12), 0);
    EXPECT_EQ(push(13), -E2BIG);
    EXPECT_EQ(take(BPF_FUNC_map_peek_elem), 11);
    EXPECT_EQ(take(BPF_FUNC_map_pop_elem), 11);
    EXPECT_EQ(take(BPF_FUNC_map_pop_elem), 12);
    EXPECT_EQ(take(BPF_FUNC_map_pop_elem), -ENOENT);
}

TEST(MapHelpers, ForgedArgumentsAreRefusedAtLoad) {
    // Verified program types: the verifier refuses what checked runs used to catch.
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 8, 8, 2);
    auto load_errno = [&](const std::vector<bpf_insn>& insns) {
        return errno_of([&] {
            return bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, insns.data(), static_cast<int>(insns.size()),
                                   "GPL", nullptr, 0, 0);
        });
    };
    // A map pointer the program did not load.
    const std::vector<bpf_insn> forged = {
        BPF_LD_IMM64(BPF_REG_1, 0x1000),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8),
        BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_EXIT_INSN(),
    };
    EXPECT_EQ(load_errno(forged), EACCES);
    // A key pointer outside the program's memory.
    const std::vector<bpf_insn> wild_key = {
        BPF_LD_MAP_FD(BPF_REG_1, map),
        BPF_LD_IMM64(BPF_REG_2, 0x1000),
        BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8),
        BPF_MOV64_IMM(BPF_REG_4, 0),
        BPF_CALL_FUNC(BPF_FUNC_map_update_elem),
        BPF_EXIT_INSN(),
    };
    EXPECT_EQ(load_errno(wild_key), EACCES);
    // A key partly outside the stack (fp - 4, 8 bytes).
    auto partly = call_with_stack(map, BPF_FUNC_map_delete_elem, 1, 0, 0);
    partly[5] = BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4);
    EXPECT_EQ(load_errno(partly), EACCES);
}

}  // namespace
}  // namespace bpfrt::test
