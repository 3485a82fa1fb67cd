// BPF_MAP_TYPE_CPUMAP: the kernel's create limits, host operations and
// their errno values (cpu_map_alloc, cpu_map_update_elem, ...), and what
// bpf_redirect_map sees through prog_lookup.
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace bpfrt::maps::test {
namespace {

// The value bytes of struct bpf_cpumap_val {qsize, bpf_prog.fd/id}.
struct CpumapVal {
    uint32_t qsize = 0;
    int32_t prog = 0;
};

int update(Map& map, uint32_t cpu, CpumapVal value, uint64_t flags = BPF_ANY) {
    return err(map.update(&cpu, &value, flags));
}

// The value at `cpu`, or the errno in qsize with prog -1.
CpumapVal lookup(Map& map, uint32_t cpu) {
    CpumapVal out{0xdead, 0x0bad};
    if (auto r = map.lookup(&cpu, &out); !r) return {static_cast<uint32_t>(r.error().code), -1};
    return out;
}

std::vector<uint32_t> keys(Map& map) {
    std::vector<uint32_t> out;
    uint32_t key = 0, next = 0;
    for (bool first = true; out.size() <= map.spec().max_entries; first = false) {
        if (!map.get_next_key(first ? nullptr : &key, &next)) break;
        out.push_back(key = next);
    }
    return out;
}

TEST(CpuMap, CreateLimits) {
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 4, 4), 0);  // qsize only
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 8, 4), 0);  // struct bpf_cpumap_val
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 0, 4), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 2, 4), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 12, 4), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 8, 4, 4), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 4, 0), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 4, 4, BPF_F_NUMA_NODE), 0);
    for (uint32_t flags : {BPF_F_NO_PREALLOC, BPF_F_RDONLY, BPF_F_WRONLY, BPF_F_RDONLY_PROG, BPF_F_MMAPABLE,
                           BPF_F_INNER_MAP, BPF_F_ZERO_SEED})
        EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 4, 4, flags), EINVAL) << std::hex << flags;
    // At most NR_CPUS entries; the size checks come first.
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 4, kernel_nr_cpus()), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 4, kernel_nr_cpus() + 1), E2BIG);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 4, 0xffffffff), E2BIG);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_CPUMAP, 4, 12, 0xffffffff), EINVAL);
    EXPECT_GE(kernel_nr_cpus(), possible_cpus());
}

TEST(CpuMap, UpdateLookupDelete) {
    auto map = make_map(BPF_MAP_TYPE_CPUMAP, 4, 8, 4);
    ASSERT_TRUE(map);
    EXPECT_EQ(lookup(*map, 0).qsize, uint32_t{ENOENT});  // every slot starts empty
    EXPECT_EQ(update(*map, 0, {192, 0}), 0);
    const CpumapVal got = lookup(*map, 0);
    EXPECT_EQ(got.qsize, 192u);
    EXPECT_EQ(got.prog, 0);  // bpf_prog.id: no program
    EXPECT_EQ(update(*map, 0, {256, -1}, BPF_EXIST), 0);  // fd -1 (or 0): no program
    EXPECT_EQ(lookup(*map, 0).qsize, 256u);
    EXPECT_EQ(lookup(*map, 0).prog, 0);
    EXPECT_EQ(update(*map, 0, {16384, 0}), 0);  // the largest queue
    // The kernel's order: flags, index, BPF_NOEXIST, qsize, possible CPU, program.
    EXPECT_EQ(update(*map, 0, {64, 0}, BPF_EXIST + 1), EINVAL);
    EXPECT_EQ(update(*map, 4, {64, 0}, BPF_EXIST + 1), EINVAL);
    EXPECT_EQ(update(*map, 4, {64, 0}), E2BIG);
    EXPECT_EQ(update(*map, 4, {64, 0}, BPF_NOEXIST), E2BIG);
    EXPECT_EQ(update(*map, 0, {64, 0}, BPF_NOEXIST), EEXIST);
    EXPECT_EQ(update(*map, 0, {16385, 0}, BPF_NOEXIST), EEXIST);
    EXPECT_EQ(update(*map, 0, {16385, 0}), EOVERFLOW);
    EXPECT_EQ(update(*map, 0, {64, 5}), EINVAL);  // a program: not supported
    EXPECT_EQ(lookup(*map, 0).qsize, 16384u);      // failed updates change nothing
    EXPECT_EQ(update(*map, 0, {0, 5}), 0);         // qsize 0 deletes (the program is not looked at)
    EXPECT_EQ(lookup(*map, 0).qsize, uint32_t{ENOENT});
    const uint32_t used = 1, empty = 2, beyond = 4;
    EXPECT_EQ(update(*map, used, {8, 0}), 0);
    EXPECT_EQ(err(map->erase(&used)), 0);
    EXPECT_EQ(lookup(*map, used).qsize, uint32_t{ENOENT});
    EXPECT_EQ(err(map->erase(&empty)), 0);  // deleting an empty slot is fine
    EXPECT_EQ(err(map->erase(&beyond)), EINVAL);
    EXPECT_EQ(lookup(*map, 4).qsize, uint32_t{ENOENT});
    EXPECT_EQ(err(map->lookup_and_delete(&empty, nullptr)), kENOTSUPP);
}

TEST(CpuMap, QsizeOnlyValues) {
    auto map = make_map(BPF_MAP_TYPE_CPUMAP, 4, 4, 2);
    ASSERT_TRUE(map);
    const uint32_t cpu = 0, qsize = 100;
    ASSERT_EQ(err(map->update(&cpu, &qsize, BPF_ANY)), 0);
    uint32_t out[2] = {0, 0xfeed};
    ASSERT_EQ(err(map->lookup(&cpu, out)), 0);
    EXPECT_EQ(out[0], 100u);
    EXPECT_EQ(out[1], 0xfeedu);  // only value_size bytes are written
}

TEST(CpuMap, OnlyPossibleCpus) {
    const uint32_t cpus = possible_cpus();
    if (cpus + 1 > kernel_nr_cpus()) GTEST_SKIP() << "every CPU number up to NR_CPUS is possible here";
    auto map = make_map(BPF_MAP_TYPE_CPUMAP, 4, 4, cpus + 1);
    ASSERT_TRUE(map);
    EXPECT_EQ(update(*map, cpus - 1, {8, 0}), 0);
    EXPECT_EQ(update(*map, cpus, {8, 0}), ENODEV);
    EXPECT_EQ(update(*map, cpus, {0, 0}), ENODEV);            // even to delete
    EXPECT_EQ(update(*map, cpus, {16385, 0}), EOVERFLOW);     // the qsize check comes first
    const uint32_t impossible = cpus;
    EXPECT_EQ(err(map->erase(&impossible)), 0);  // delete only checks the range
}

TEST(CpuMap, NextKeyIsArrayOrder) {
    auto map = make_map(BPF_MAP_TYPE_CPUMAP, 4, 4, 3);
    ASSERT_TRUE(map);
    EXPECT_EQ(keys(*map), (std::vector<uint32_t>{0, 1, 2}));  // empty slots are listed too
    uint32_t next = 99;
    const uint32_t last = 2, beyond = 7;
    EXPECT_EQ(err(map->get_next_key(&last, &next)), ENOENT);
    ASSERT_EQ(err(map->get_next_key(&beyond, &next)), 0);  // an unknown key restarts
    EXPECT_EQ(next, 0u);
}

TEST(CpuMap, ProgramSide) {
    auto map = make_map(BPF_MAP_TYPE_CPUMAP, 4, 8, 2);
    ASSERT_TRUE(map);
    const uint32_t cpu0 = 0, cpu1 = 1, beyond = 2;
    EXPECT_EQ(map->prog_lookup(&cpu0), nullptr);
    ASSERT_EQ(update(*map, 0, {32, 0}), 0);
    ASSERT_NE(map->prog_lookup(&cpu0), nullptr);  // what bpf_redirect_map finds
    EXPECT_EQ(map->prog_lookup(&cpu1), nullptr);
    EXPECT_EQ(map->prog_lookup(&beyond), nullptr);
    // Programs may not change entries (the verifier refuses the calls too).
    const CpumapVal v{32, 0};
    EXPECT_EQ(map->prog_update(&cpu1, &v, BPF_ANY), -EINVAL);
    EXPECT_EQ(map->prog_delete(&cpu0), -EINVAL);
    EXPECT_NE(map->prog_lookup(&cpu0), nullptr);
}

}  // namespace
}  // namespace bpfrt::maps::test
