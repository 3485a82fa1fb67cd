// The runtime with the map types of src/maps: per-CPU sizes, program
// arrays holding programs, maps of maps used by programs.
#include "test_util.hpp"

#include "runtime/state.hpp"

#include "maps/map.hpp"

namespace bpfrt::test {
namespace {

TEST(MapTypes, PerCpuHostValuesCoverEverySlot) {
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2);
    ASSERT_GE(map, 3) << bpfrt_last_error();
    auto info = Runtime::from_c(rt.get()).map_info(map);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->host_value_size, 8u * maps::possible_cpus());
    // Programs add to their slot; the host sees the sum over slots.
    const std::vector<bpf_insn> insns = {
        BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 1),
        BPF_LD_MAP_FD(BPF_REG_1, map),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 2),
        BPF_MOV32_IMM(BPF_REG_1, 3),
        BPF_STX_XADD(BPF_W, BPF_REG_0, BPF_REG_1, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
    const int prog = load_filter(rt.get(), insns);
    const auto frame = ip_frame(6);
    ASSERT_EQ(bpfrt_prog_test_run(rt.get(), prog, 5, frame.data(), 64, nullptr, nullptr, nullptr, nullptr), 0);
    std::vector<uint64_t> slots(maps::possible_cpus());
    uint32_t key = 1;
    ASSERT_EQ(bpfrt_lookup_elem(rt.get(), map, &key, slots.data()), 0);
    uint64_t sum = 0;
    for (uint64_t v : slots) sum += static_cast<uint32_t>(v);
    EXPECT_EQ(sum, 15u);
}

TEST(MapTypes, ProgramArrayCycleIsFreedWithTheRuntime) {
    std::weak_ptr<Object> array_object, prog_object;
    {
        auto rt = new_runtime();
        const int array = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
        ASSERT_GE(array, 3) << bpfrt_last_error();
        // A program referencing the array that it is stored in.
        const std::vector<bpf_insn> insns = {BPF_LD_MAP_FD(BPF_REG_2, array), BPF_MOV64_IMM(BPF_REG_0, 0),
                                             BPF_EXIT_INSN()};
        const int prog = load_filter(rt.get(), insns);
        uint32_t key = 0;
        uint32_t value = static_cast<uint32_t>(prog);
        ASSERT_EQ(bpfrt_update_elem(rt.get(), array, &key, &value, BPF_ANY), 0) << bpfrt_last_error();
        uint32_t map_as_prog = static_cast<uint32_t>(array);
        EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), array, &key, &map_as_prog, BPF_ANY); }), EINVAL);
        uint32_t closed = 99;
        EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), array, &key, &closed, BPF_ANY); }), EBADF);
        array_object = Runtime::from_c(rt.get()).state().handles.get(array);
        prog_object = Runtime::from_c(rt.get()).state().handles.get(prog);
    }
    EXPECT_TRUE(array_object.expired());
    EXPECT_TRUE(prog_object.expired());
}

TEST(MapTypes, ProgramsUseInnerMaps) {
    auto rt = new_runtime();
    const int inner = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    auto attr = zero_attr();
    attr.map_type = BPF_MAP_TYPE_ARRAY_OF_MAPS;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    attr.inner_map_fd = static_cast<uint32_t>(inner);
    const int outer = bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &attr, sizeof attr);
    ASSERT_GE(outer, 3) << bpfrt_last_error();
    uint32_t key = 0, value = static_cast<uint32_t>(inner);
    ASSERT_EQ(bpfrt_update_elem(rt.get(), outer, &key, &value, BPF_ANY), 0) << bpfrt_last_error();
    // inner = lookup(outer, 0); v = lookup(inner, 0); *v += 7
    const std::vector<bpf_insn> insns = {
        BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
        BPF_LD_MAP_FD(BPF_REG_1, outer),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 7),
        BPF_MOV64_REG(BPF_REG_1, BPF_REG_0),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 2),
        BPF_MOV64_IMM(BPF_REG_1, 7),
        BPF_STX_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
    const int prog = load_filter(rt.get(), insns);
    ASSERT_EQ(run_once(rt.get(), prog, ip_frame(6)), 0u);
    ASSERT_EQ(bpfrt_close(rt.get(), inner), 0);  // the outer map keeps it
    ASSERT_EQ(run_once(rt.get(), prog, ip_frame(6)), 0u);
    // Read it back through the outer map's id? Through a fresh program instead:
    const std::vector<bpf_insn> read = {
        BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
        BPF_LD_MAP_FD(BPF_REG_1, outer),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 5),
        BPF_MOV64_REG(BPF_REG_1, BPF_REG_0),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2),
        BPF_MOV64_IMM(BPF_REG_0, 99),
        BPF_EXIT_INSN(),
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
    EXPECT_EQ(run_once(rt.get(), load_filter(rt.get(), read), ip_frame(6)), 14u);
}

}  // namespace
}  // namespace bpfrt::test
