// Functional tests of every map type: the kernel's errors and semantics.
#include "maps/prog_array.hpp"
#include "maps/reclaim.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <array>
#include <mutex>
#include <set>
#include <thread>

namespace bpfrt::maps::test {
namespace {

// ---------------------------------------------------------------- create

TEST(MapsCreate, RejectsBadParametersLikeTheKernel) {
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 0, 4, 1), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, 0, 1), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, 4, 0), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, 4, 1, 1u << 20), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_NO_COMMON_LRU), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_RDONLY | BPF_F_WRONLY), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_MMAPABLE), EINVAL);
    // key_size + value_size must stay below KMALLOC_MAX_SIZE - sizeof(struct htab_elem).
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, (1u << 22) - 56, 1, BPF_F_NO_PREALLOC), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH, 4, (1u << 22) - 52, 1, BPF_F_NO_PREALLOC), E2BIG);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_LRU_HASH, 4, 4, 1, BPF_F_NO_PREALLOC), kENOTSUPP);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_LRU_HASH, 4, 4, 1, BPF_F_NO_COMMON_LRU), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_PERCPU_HASH, 4, 32768, 1), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_PERCPU_HASH, 4, 32769, 1), E2BIG);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32769, 1), E2BIG);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, BPF_F_NUMA_NODE), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY, 8, 4, 1), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY, 4, 0, 1), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY, 4, 4, 0), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_NO_PREALLOC), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY, 4, 1u << 31, 1), E2BIG);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY, 4, 4, 1u << 30), ENOMEM);  // bpfrt's preallocation cap
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_MMAPABLE), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, BPF_F_MMAPABLE), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 1), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1, BPF_F_RDONLY_PROG), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_QUEUE, 4, 4, 1), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_QUEUE, 0, 4, 1, BPF_F_NO_PREALLOC), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_STACK, 0, (1u << 22) + 1, 1), E2BIG);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_RINGBUF, 0, 0, 3 * 4096), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_RINGBUF, 0, 0, 2048), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_RINGBUF, 4, 0, 4096), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 1), EINVAL);  // BPF_F_NO_PREALLOC required
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_LPM_TRIE, 4, 4, 1, BPF_F_NO_PREALLOC), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_LPM_TRIE, 260, 4, 1, BPF_F_NO_PREALLOC), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_LPM_TRIE, 261, 4, 1, BPF_F_NO_PREALLOC), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_LPM_TRIE, 8, 4194024, 1, BPF_F_NO_PREALLOC), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_LPM_TRIE, 8, 4194025, 1, BPF_F_NO_PREALLOC), EINVAL);
    EXPECT_EQ(create_errno(9999, 4, 4, 1), EINVAL);
    MapSpec named{BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, nullptr, "bad name!"};
    EXPECT_EQ(create_map(named).error().code, EINVAL);
}

TEST(MapsCreate, MapInMapTemplateChecks) {
    auto inner = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1), EINVAL);  // no template
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, inner), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 8, 1, 0, inner), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 8, 4, 1, 0, inner), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, BPF_F_RDONLY_PROG, inner), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH_OF_MAPS, 8, 4, 1, 0, inner), 0);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH_OF_MAPS, 8, 8, 1, 0, inner), EINVAL);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH_OF_MAPS, 8, 4, 1, BPF_F_RDONLY_PROG, inner), 0);
    auto outer = make_map(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, inner);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, outer), EINVAL);
    auto progs = make_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, progs), kENOTSUPP);
    auto ring = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 1, 0, ring), 0);
}

TEST(MapsCreate, PerCpuValueSizesAndIds) {
    auto percpu = make_map(BPF_MAP_TYPE_PERCPU_HASH, 4, 12, 4);
    EXPECT_EQ(percpu->host_value_size(), 16u * possible_cpus());
    EXPECT_EQ(percpu->prog_value_size(), 12u);
    auto plain = make_map(BPF_MAP_TYPE_HASH, 4, 12, 4);
    EXPECT_EQ(plain->host_value_size(), 12u);
    EXPECT_NE(percpu->id(), plain->id());
    EXPECT_EQ(plain->kind(), ObjectKind::Map);
    EXPECT_GE(possible_cpus(), 1u);
    EXPECT_LT(current_cpu_slot(), possible_cpus());
}

// ---------------------------------------------------------------- hash

TEST(HashMap, FlagsAndErrors) {
    auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 2);
    uint32_t k = 1;
    uint64_t v = 10, out = 0;
    EXPECT_EQ(err(m->lookup(&k, &out)), ENOENT);
    EXPECT_EQ(err(m->update(&k, &v, BPF_EXIST)), ENOENT);
    EXPECT_EQ(err(m->update(&k, &v, 4)), EINVAL);  // BPF_F_LOCK without a spin lock
    EXPECT_EQ(err(m->update(&k, &v, 99)), EINVAL);
    EXPECT_EQ(err(m->update(&k, &v, BPF_NOEXIST)), 0);
    EXPECT_EQ(err(m->update(&k, &v, BPF_NOEXIST)), EEXIST);
    v = 11;
    EXPECT_EQ(err(m->update(&k, &v, BPF_EXIST)), 0);
    EXPECT_EQ(err(m->lookup(&k, &out)), 0);
    EXPECT_EQ(out, 11u);
    k = 2;
    EXPECT_EQ(err(m->update(&k, &v, BPF_ANY)), 0);
    k = 3;
    EXPECT_EQ(err(m->update(&k, &v, BPF_ANY)), E2BIG);  // full
    EXPECT_EQ(err(m->update(&k, &v, BPF_NOEXIST)), E2BIG);
    EXPECT_EQ(err(m->update(&k, &v, BPF_EXIST)), ENOENT);
    k = 2;
    EXPECT_EQ(err(m->update(&k, &v, BPF_ANY)), 0);  // replacing works when full
    EXPECT_EQ(err(m->lookup_and_delete(&k, &out)), 0);
    EXPECT_EQ(err(m->lookup_and_delete(&k, &out)), ENOENT);
    EXPECT_EQ(err(m->erase(&k)), ENOENT);
    k = 1;
    EXPECT_EQ(err(m->erase(&k)), 0);
    EXPECT_EQ(err(m->lookup(&k, &out)), ENOENT);
}

TEST(HashMap, IterationVisitsEveryKeyOnce) {
    auto m = make_map(BPF_MAP_TYPE_HASH, 8, 4, 1000);
    for (uint64_t k = 0; k < 500; ++k) {
        uint32_t v = static_cast<uint32_t>(k);
        ASSERT_EQ(err(m->update(&k, &v, BPF_ANY)), 0);
    }
    std::set<uint64_t> seen;
    uint64_t key = 0;
    const void* prev = nullptr;
    uint64_t prev_key = 0;
    for (int i = 0; i < 1000; ++i) {
        auto r = m->get_next_key(prev, &key);
        if (!r) {
            EXPECT_EQ(r.error().code, ENOENT);
            break;
        }
        EXPECT_TRUE(seen.insert(key).second);
        prev_key = key;
        prev = &prev_key;
    }
    EXPECT_EQ(seen.size(), 500u);
    // A missing key restarts from the first key.
    uint64_t missing = 123456, first = 0, again = 0;
    ASSERT_EQ(err(m->get_next_key(nullptr, &first)), 0);
    ASSERT_EQ(err(m->get_next_key(&missing, &again)), 0);
    EXPECT_EQ(first, again);
    auto empty = make_map(BPF_MAP_TYPE_HASH, 8, 4, 10);
    EXPECT_EQ(err(empty->get_next_key(nullptr, &key)), ENOENT);
}

TEST(HashMap, ProgramSide) {
    auto m = make_map(BPF_MAP_TYPE_HASH, 4, 4, 1);
    ReadSection section;
    uint32_t k = 7, v = 1;
    EXPECT_EQ(m->prog_lookup(&k), nullptr);
    EXPECT_EQ(m->prog_update(&k, &v, BPF_EXIST), -ENOENT);
    EXPECT_EQ(m->prog_update(&k, &v, BPF_ANY), 0);
    EXPECT_EQ(m->prog_update(&k, &v, BPF_NOEXIST), -EEXIST);
    uint32_t k2 = 8;
    EXPECT_EQ(m->prog_update(&k2, &v, BPF_ANY), -E2BIG);
    auto* p = static_cast<uint32_t*>(m->prog_lookup(&k));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
    EXPECT_EQ(*p, 1u);
    *p = 42;
    uint32_t out = 0;
    EXPECT_EQ(err(m->lookup(&k, &out)), 0);
    EXPECT_EQ(out, 42u);
    EXPECT_EQ(m->prog_delete(&k), 0);
    EXPECT_EQ(m->prog_delete(&k), -ENOENT);
    EXPECT_EQ(*p, 42u);  // still readable: freed only after the section
    EXPECT_EQ(m->prog_push(&v, 0), -EINVAL);
    EXPECT_EQ(m->prog_pop(&v), -EINVAL);
}

TEST(PerCpuHash, HostSeesAllSlotsProgramItsOwn) {
    const unsigned cpus = possible_cpus();
    auto m = make_map(BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 4);
    uint32_t k = 1;
    std::vector<uint64_t> host(cpus);
    for (unsigned c = 0; c < cpus; ++c) host[c] = 100 + c;
    ASSERT_EQ(err(m->update(&k, host.data(), BPF_ANY)), 0);
    ReadSection section;
    auto* mine = static_cast<uint32_t*>(m->prog_lookup(&k));
    ASSERT_NE(mine, nullptr);
    EXPECT_EQ(*mine, 100 + current_cpu_slot());
    *mine = 7;
    std::vector<uint64_t> out(cpus);
    ASSERT_EQ(err(m->lookup(&k, out.data())), 0);
    EXPECT_EQ(out[current_cpu_slot()], 7u);
    // A program update of a new key sets its slot only; others are zero.
    uint32_t k2 = 2, v = 5;
    ASSERT_EQ(m->prog_update(&k2, &v, BPF_ANY), 0);
    ASSERT_EQ(err(m->lookup(&k2, out.data())), 0);
    for (unsigned c = 0; c < cpus; ++c) EXPECT_EQ(out[c], c == current_cpu_slot() ? 5u : 0u);
    // In place: the pointer a program holds sees host updates.
    for (unsigned c = 0; c < cpus; ++c) host[c] = 9;
    ASSERT_EQ(err(m->update(&k, host.data(), BPF_EXIST)), 0);
    EXPECT_EQ(*mine, 9u);
}

TEST(PerCpu, SlotsAreAssignedPerThread) {
    std::set<unsigned> slots;
    std::vector<std::thread> threads;
    std::mutex mu;
    for (unsigned i = 0; i < possible_cpus() && i < 8; ++i) {
        threads.emplace_back([&] {
            const unsigned s = current_cpu_slot();
            EXPECT_EQ(s, current_cpu_slot());  // stable within a thread
            std::lock_guard lock(mu);
            slots.insert(s);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_GE(slots.size(), 1u);
    for (unsigned s : slots) EXPECT_LT(s, possible_cpus());
}

// ---------------------------------------------------------------- LRU

TEST(LruHash, EvictsLeastRecentlyUsedInsteadOfE2big) {
    auto m = make_map(BPF_MAP_TYPE_LRU_HASH, 4, 4, 4);
    for (uint32_t k = 0; k < 4; ++k) ASSERT_EQ(err(m->update(&k, &k, BPF_ANY)), 0);
    {
        ReadSection section;
        uint32_t hot = 0;
        ASSERT_NE(m->prog_lookup(&hot), nullptr);  // key 0 gets a second chance
    }
    for (uint32_t k = 10; k < 12; ++k) ASSERT_EQ(err(m->update(&k, &k, BPF_ANY)), 0);
    uint32_t out = 0, key = 0;
    EXPECT_EQ(err(m->lookup(&key, &out)), 0) << "recently used key 0 was evicted";
    key = 1;
    EXPECT_EQ(err(m->lookup(&key, &out)), ENOENT);
    key = 2;
    EXPECT_EQ(err(m->lookup(&key, &out)), ENOENT);
    for (uint32_t k : {3u, 10u, 11u}) EXPECT_EQ(err(m->lookup(&k, &out)), 0) << k;
    key = 11;
    EXPECT_EQ(err(m->update(&key, &key, BPF_NOEXIST)), EEXIST);
    // Count stays at max_entries.
    int n = 0;
    uint32_t cur = 0;
    const void* prev = nullptr;
    while (m->get_next_key(prev, &cur) && n < 100) {
        ++n;
        key = cur;
        prev = &key;
    }
    EXPECT_EQ(n, 4);
}

TEST(LruPerCpuHash, WorksLikePerCpuWithEviction) {
    auto m = make_map(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 2);
    std::vector<uint64_t> v(possible_cpus(), 3);
    for (uint32_t k = 0; k < 5; ++k) ASSERT_EQ(err(m->update(&k, v.data(), BPF_ANY)), 0);
    uint32_t k = 4;
    std::vector<uint64_t> out(possible_cpus());
    ASSERT_EQ(err(m->lookup(&k, out.data())), 0);
    EXPECT_EQ(out[0], 3u);
    k = 0;
    EXPECT_EQ(err(m->lookup(&k, out.data())), ENOENT);
}

// ---------------------------------------------------------------- array

TEST(ArrayMap, IndexErrorsAndNoDelete) {
    auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 3);
    uint32_t k = 3, v = 5, out = 1;
    EXPECT_EQ(err(m->update(&k, &v, BPF_ANY)), E2BIG);
    EXPECT_EQ(err(m->update(&k, &v, BPF_NOEXIST)), E2BIG);
    EXPECT_EQ(err(m->lookup(&k, &out)), ENOENT);
    k = 0;
    EXPECT_EQ(err(m->lookup(&k, &out)), 0);
    EXPECT_EQ(out, 0u);  // zero-initialised
    EXPECT_EQ(err(m->update(&k, &v, BPF_NOEXIST)), EEXIST);
    EXPECT_EQ(err(m->update(&k, &v, BPF_EXIST)), 0);
    EXPECT_EQ(err(m->update(&k, &v, 4)), EINVAL);
    EXPECT_EQ(err(m->erase(&k)), EINVAL);
    EXPECT_EQ(err(m->lookup_and_delete(&k, &out)), kENOTSUPP);
    EXPECT_EQ(err(m->lookup(&k, &out)), 0);
    EXPECT_EQ(out, 5u);
    ReadSection section;
    EXPECT_EQ(m->prog_delete(&k), -EINVAL);
    k = 3;
    EXPECT_EQ(m->prog_lookup(&k), nullptr);
    EXPECT_EQ(m->prog_update(&k, &v, BPF_ANY), -E2BIG);
}

TEST(ArrayMap, NextKeyOrder) {
    auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 3);
    uint32_t next = 99, k = 7;
    EXPECT_EQ(err(m->get_next_key(nullptr, &next)), 0);
    EXPECT_EQ(next, 0u);
    EXPECT_EQ(err(m->get_next_key(&k, &next)), 0);  // out of range: the first
    EXPECT_EQ(next, 0u);
    k = 1;
    EXPECT_EQ(err(m->get_next_key(&k, &next)), 0);
    EXPECT_EQ(next, 2u);
    k = 2;
    EXPECT_EQ(err(m->get_next_key(&k, &next)), ENOENT);
}

TEST(ArrayMap, DirectValueAddress) {
    auto one = make_map(BPF_MAP_TYPE_ARRAY, 4, 16, 1);
    auto addr = one->direct_value_addr(8);
    ASSERT_TRUE(addr.has_value());
    uint32_t k = 0;
    EXPECT_EQ(static_cast<std::byte*>(*addr) - static_cast<std::byte*>(one->prog_lookup(&k)), 8);
    EXPECT_EQ(one->direct_value_addr(16).error().code, EINVAL);
    auto many = make_map(BPF_MAP_TYPE_ARRAY, 4, 16, 2);
    EXPECT_EQ(many->direct_value_addr(0).error().code, kENOTSUPP);
    auto hash = make_map(BPF_MAP_TYPE_HASH, 4, 16, 2);
    EXPECT_EQ(hash->direct_value_addr(0).error().code, kENOTSUPP);
}

TEST(PerCpuArray, SlotsAndHostView) {
    const unsigned cpus = possible_cpus();
    auto m = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2);
    uint32_t k = 1, v = 9;
    ASSERT_EQ(m->prog_update(&k, &v, BPF_ANY), 0);
    std::vector<uint64_t> out(cpus, 77);
    ASSERT_EQ(err(m->lookup(&k, out.data())), 0);
    for (unsigned c = 0; c < cpus; ++c) EXPECT_EQ(out[c], c == current_cpu_slot() ? 9u : 0u);
    std::vector<uint64_t> all(cpus, 4);
    ASSERT_EQ(err(m->update(&k, all.data(), BPF_ANY)), 0);
    EXPECT_EQ(*static_cast<uint32_t*>(m->prog_lookup(&k)), 4u);
    EXPECT_EQ(err(m->lookup_and_delete(&k, out.data())), kENOTSUPP);
}

// ---------------------------------------------------------------- prog array

TEST(ProgArray, HandlesAndTailCallSlots) {
    auto m = make_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
    Handles handles;
    auto prog = std::make_shared<FakeProgram>(77);
    const int prog_fd = handles.add(prog);
    const int map_fd = handles.add(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1));
    auto resolve = handles.resolver();
    uint32_t k = 0, out = 0;
    EXPECT_EQ(err(m->lookup(&k, &out)), ENOENT);
    k = 5;
    EXPECT_EQ(err(m->lookup(&k, &out)), ENOENT);
    EXPECT_EQ(err(m->update(&k, &prog_fd, BPF_ANY, resolve)), E2BIG);
    k = 0;
    EXPECT_EQ(err(m->update(&k, &prog_fd, BPF_NOEXIST, resolve)), EINVAL);
    EXPECT_EQ(err(m->update(&k, &map_fd, BPF_ANY, resolve)), EINVAL);
    const int bad_fd = 1000;
    EXPECT_EQ(err(m->update(&k, &bad_fd, BPF_ANY, resolve)), EBADF);
    EXPECT_EQ(err(m->update(&k, &prog_fd, BPF_ANY)), EBADF);  // no resolver
    EXPECT_EQ(err(m->update(&k, &prog_fd, BPF_ANY, resolve)), 0);
    EXPECT_EQ(m->prog_array_get(0), prog);
    EXPECT_EQ(m->prog_array_get(1), nullptr);
    EXPECT_EQ(m->prog_array_get(2), nullptr);
    EXPECT_EQ(err(m->lookup(&k, &out)), kENOTSUPP);  // no id source registered
    set_program_id_function([](const Object& o) { return static_cast<const FakeProgram&>(o).id(); });
    EXPECT_EQ(err(m->lookup(&k, &out)), 0);
    EXPECT_EQ(out, 77u);
    set_program_id_function(nullptr);
    uint32_t next = 9;
    EXPECT_EQ(err(m->get_next_key(nullptr, &next)), 0);
    EXPECT_EQ(next, 0u);
    k = 1;
    EXPECT_EQ(err(m->erase(&k)), ENOENT);
    k = 7;
    EXPECT_EQ(err(m->erase(&k)), E2BIG);
    k = 0;
    EXPECT_EQ(err(m->erase(&k)), 0);
    EXPECT_EQ(m->prog_array_get(0), nullptr);
    EXPECT_EQ(err(m->update(&k, &prog_fd, BPF_ANY, resolve)), 0);
    m->on_last_handle_closed();  // empties, as the kernel
    EXPECT_EQ(m->prog_array_get(0), nullptr);
    EXPECT_EQ(m->prog_lookup(&k), nullptr);
    EXPECT_EQ(m->prog_update(&k, &prog_fd, BPF_ANY), -EINVAL);
}

// ---------------------------------------------------------------- queue / stack

TEST(QueueStack, OrderOverwriteAndErrors) {
    auto q = make_map(BPF_MAP_TYPE_QUEUE, 0, 4, 2);
    auto s = make_map(BPF_MAP_TYPE_STACK, 0, 4, 2);
    uint32_t out = 0;
    for (auto& m : {q, s}) {
        EXPECT_EQ(err(m->lookup(nullptr, &out)), ENOENT);
        EXPECT_EQ(err(m->lookup_and_delete(nullptr, &out)), ENOENT);
        uint32_t v = 1;
        EXPECT_EQ(err(m->update(nullptr, &v, BPF_NOEXIST)), EINVAL);
        EXPECT_EQ(err(m->update(nullptr, &v, 7)), EINVAL);
        EXPECT_EQ(err(m->update(nullptr, &v, BPF_ANY)), 0);
        v = 2;
        EXPECT_EQ(err(m->update(nullptr, &v, BPF_ANY)), 0);
        v = 3;
        EXPECT_EQ(err(m->update(nullptr, &v, BPF_ANY)), E2BIG);
        EXPECT_EQ(err(m->update(nullptr, &v, BPF_EXIST)), 0);  // drops the oldest (1)
        EXPECT_EQ(err(m->erase(nullptr)), EINVAL);
        EXPECT_EQ(err(m->get_next_key(nullptr, &out)), EINVAL);
        uint32_t key = 0;
        EXPECT_EQ(err(m->lookup(&key, &out)), EINVAL);
    }
    ASSERT_EQ(err(q->lookup(nullptr, &out)), 0);
    EXPECT_EQ(out, 2u);  // queue peeks the oldest
    ASSERT_EQ(err(q->lookup_and_delete(nullptr, &out)), 0);
    EXPECT_EQ(out, 2u);
    ASSERT_EQ(err(q->lookup_and_delete(nullptr, &out)), 0);
    EXPECT_EQ(out, 3u);
    ASSERT_EQ(err(s->lookup_and_delete(nullptr, &out)), 0);
    EXPECT_EQ(out, 3u);  // stack pops the newest
    ASSERT_EQ(err(s->lookup_and_delete(nullptr, &out)), 0);
    EXPECT_EQ(out, 2u);
    EXPECT_EQ(err(s->lookup_and_delete(nullptr, &out)), ENOENT);
}

TEST(QueueStack, ProgramSideAndLongRuns) {
    auto q = make_map(BPF_MAP_TYPE_QUEUE, 0, 8, 5);
    uint64_t v = 0, out = 0;
    EXPECT_EQ(q->prog_peek(&out), -ENOENT);
    EXPECT_EQ(q->prog_pop(&out), -ENOENT);
    uint64_t expect = 0;
    for (uint64_t i = 0; i < 100; ++i) {  // wraps the ring many times
        v = i;
        ASSERT_EQ(q->prog_push(&v, 0), 0);
        if (i % 4 == 3) {
            ASSERT_EQ(q->prog_peek(&out), 0);
            EXPECT_EQ(out, expect);
            for (int j = 0; j < 4; ++j) {
                ASSERT_EQ(q->prog_pop(&out), 0);
                EXPECT_EQ(out, expect++);
            }
        }
    }
    EXPECT_EQ(expect, 100u);
    EXPECT_EQ(q->prog_push(&v, BPF_NOEXIST), -EINVAL);
    EXPECT_EQ(q->prog_lookup(&v), nullptr);
    EXPECT_EQ(q->prog_update(nullptr, &v, 0), -EINVAL);
}

// ---------------------------------------------------------------- LPM trie

struct Lpm4 {
    uint32_t prefixlen;
    uint8_t data[4];
};

TEST(LpmTrie, LongestPrefixMatch) {
    auto m = make_map(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 10, BPF_F_NO_PREALLOC);
    auto put = [&](uint32_t len, std::array<uint8_t, 4> d, uint32_t v, uint64_t flags = BPF_ANY) {
        Lpm4 k{len, {d[0], d[1], d[2], d[3]}};
        return err(m->update(&k, &v, flags));
    };
    auto get = [&](uint32_t len, std::array<uint8_t, 4> d) -> int64_t {
        Lpm4 k{len, {d[0], d[1], d[2], d[3]}};
        uint32_t out = 0;
        return m->lookup(&k, &out) ? int64_t{out} : int64_t{-1};
    };
    ASSERT_EQ(put(8, {10, 0, 0, 0}, 1), 0);
    ASSERT_EQ(put(16, {10, 1, 0, 0}, 2), 0);
    ASSERT_EQ(put(24, {10, 1, 2, 0}, 3), 0);
    ASSERT_EQ(put(0, {0, 0, 0, 0}, 99), 0);  // default route
    ASSERT_EQ(put(12, {192, 160, 0, 0}, 4), 0);  // 192.160/12 covers 192.160-175
    EXPECT_EQ(get(32, {10, 1, 2, 3}), 3);
    EXPECT_EQ(get(32, {10, 1, 3, 3}), 2);
    EXPECT_EQ(get(32, {10, 2, 3, 3}), 1);
    EXPECT_EQ(get(32, {11, 2, 3, 3}), 99);
    EXPECT_EQ(get(32, {192, 175, 1, 1}), 4);
    EXPECT_EQ(get(32, {192, 176, 1, 1}), 99);
    EXPECT_EQ(get(16, {10, 1, 2, 3}), 2);  // the key's prefixlen bounds the match
    EXPECT_EQ(get(33, {10, 1, 2, 3}), -1);
    EXPECT_EQ(put(33, {10, 1, 2, 3}, 5), EINVAL);
    EXPECT_EQ(put(8, {10, 9, 9, 9}, 5, BPF_NOEXIST), EEXIST);  // same /8
    EXPECT_EQ(put(9, {10, 0, 0, 0}, 5, BPF_EXIST), ENOENT);
    EXPECT_EQ(put(9, {10, 0, 0, 0}, 5, 3), EINVAL);
    Lpm4 del{16, {10, 1, 77, 77}};
    EXPECT_EQ(err(m->erase(&del)), 0);  // bits past the prefix do not matter
    EXPECT_EQ(err(m->erase(&del)), ENOENT);
    del.prefixlen = 40;
    EXPECT_EQ(err(m->erase(&del)), EINVAL);
    EXPECT_EQ(get(32, {10, 1, 3, 3}), 1);
    uint32_t out = 0;
    EXPECT_EQ(err(m->lookup_and_delete(&del, &out)), kENOTSUPP);
    ReadSection section;
    Lpm4 k{32, {10, 1, 2, 200}};
    auto* p = static_cast<uint32_t*>(m->prog_lookup(&k));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(*p, 3u);
}

TEST(LpmTrie, FullIterationAndNoSpace) {
    auto m = make_map(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 3, BPF_F_NO_PREALLOC);
    uint32_t v = 1;
    Lpm4 keys[] = {{8, {10, 0, 0, 0}}, {16, {10, 1, 0, 0}}, {32, {1, 2, 3, 4}}};
    for (auto& k : keys) ASSERT_EQ(err(m->update(&k, &v, BPF_ANY)), 0);
    Lpm4 extra{24, {9, 9, 9, 0}};
    EXPECT_EQ(err(m->update(&extra, &v, BPF_ANY)), ENOSPC);
    EXPECT_EQ(err(m->update(&keys[0], &v, BPF_ANY)), 0);  // replacing is fine when full
    std::set<std::pair<uint32_t, uint32_t>> seen;
    Lpm4 cur{}, prev{};
    const void* p = nullptr;
    for (int i = 0; i < 10; ++i) {
        if (!m->get_next_key(p, &cur)) break;
        uint32_t d;
        std::memcpy(&d, cur.data, 4);
        seen.insert({cur.prefixlen, d});
        prev = cur;
        p = &prev;
    }
    EXPECT_EQ(seen.size(), 3u);
}

// ---------------------------------------------------------------- map in map

TEST(MapInMap, ArrayOfMaps) {
    auto tmpl = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
    auto outer = make_map(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, 0, tmpl);
    Handles handles;
    auto inner = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
    const int inner_fd = handles.add(inner);
    const int wrong_type = handles.add(make_map(BPF_MAP_TYPE_HASH, 4, 4, 1));
    const int wrong_max = handles.add(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 5));
    const int wrong_flags = handles.add(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_RDONLY_PROG));
    const int prog = handles.add(std::make_shared<FakeProgram>(1));
    auto resolve = handles.resolver();
    uint32_t k = 0, out = 0;
    EXPECT_EQ(err(outer->update(&k, &inner_fd, BPF_NOEXIST, resolve)), EINVAL);
    EXPECT_EQ(err(outer->update(&k, &wrong_type, BPF_ANY, resolve)), EINVAL);
    EXPECT_EQ(err(outer->update(&k, &wrong_max, BPF_ANY, resolve)), EINVAL);
    EXPECT_EQ(err(outer->update(&k, &wrong_flags, BPF_ANY, resolve)), EINVAL);
    EXPECT_EQ(err(outer->update(&k, &prog, BPF_ANY, resolve)), EINVAL);
    const int bad = 99;
    EXPECT_EQ(err(outer->update(&k, &bad, BPF_ANY, resolve)), EBADF);
    k = 5;
    EXPECT_EQ(err(outer->update(&k, &inner_fd, BPF_ANY, resolve)), E2BIG);
    EXPECT_EQ(err(outer->lookup(&k, &out)), ENOENT);
    EXPECT_EQ(err(outer->erase(&k)), E2BIG);
    k = 0;
    EXPECT_EQ(err(outer->lookup(&k, &out)), ENOENT);
    ASSERT_EQ(err(outer->update(&k, &inner_fd, BPF_ANY, resolve)), 0);
    ASSERT_EQ(err(outer->lookup(&k, &out)), 0);
    EXPECT_EQ(out, inner->id());
    {
        ReadSection section;
        EXPECT_EQ(outer->prog_lookup(&k), inner.get());
    }
    EXPECT_EQ(err(outer->erase(&k)), 0);
    EXPECT_EQ(err(outer->erase(&k)), ENOENT);
    EXPECT_EQ(outer->prog_lookup(&k), nullptr);
    // BPF_F_INNER_MAP templates accept any max_entries.
    auto flexible = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 7, BPF_F_INNER_MAP);
    auto outer2 = make_map(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, flexible);
    const int big = handles.add(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 9, BPF_F_INNER_MAP));
    EXPECT_EQ(err(outer2->update(&k, &big, BPF_ANY, resolve)), 0);
    EXPECT_EQ(err(outer2->update(&k, &wrong_max, BPF_ANY, resolve)), EINVAL);  // flags differ
}

TEST(MapInMap, HashOfMapsKeepsInnerAliveForReaders) {
    auto tmpl = make_map(BPF_MAP_TYPE_HASH, 4, 4, 4);
    auto outer = make_map(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 1, 0, tmpl);
    Handles handles;
    const int a = handles.add(make_map(BPF_MAP_TYPE_HASH, 4, 4, 100));  // max_entries not compared for hashes
    auto resolve = handles.resolver();
    uint32_t k = 3, out = 0;
    ASSERT_EQ(err(outer->update(&k, &a, BPF_NOEXIST, resolve)), 0);
    EXPECT_EQ(err(outer->update(&k, &a, BPF_NOEXIST, resolve)), EEXIST);
    uint32_t k2 = 4;
    EXPECT_EQ(err(outer->update(&k2, &a, BPF_ANY, resolve)), E2BIG);
    EXPECT_EQ(err(outer->update(&k2, &a, 9, resolve)), EINVAL);
    ASSERT_EQ(err(outer->lookup(&k, &out)), 0);
    std::weak_ptr<Object> watch = handles.objects[static_cast<size_t>(a)];
    {
        ReadSection section;
        auto* inner = static_cast<Map*>(outer->prog_lookup(&k));
        ASSERT_NE(inner, nullptr);
        handles.objects.clear();  // the host closes its handle ...
        ASSERT_EQ(err(outer->erase(&k)), 0);  // ... and removes the inner map
        reclaim_now();
        EXPECT_FALSE(watch.expired());  // still alive for this reader
        uint32_t ik = 1, iv = 2;
        EXPECT_EQ(inner->prog_update(&ik, &iv, BPF_ANY), 0);
    }
    synchronize();
    EXPECT_TRUE(watch.expired());
    uint32_t next = 0;
    EXPECT_EQ(err(outer->get_next_key(nullptr, &next)), ENOENT);
}

// ---------------------------------------------------------------- reclamation

TEST(Reclaim, DeletedValuesLiveUntilTheSectionEnds) {
    auto m = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4);
    uint32_t k = 1;
    uint64_t v = 5;
    ASSERT_EQ(err(m->update(&k, &v, BPF_ANY)), 0);
    synchronize();
    const size_t before = pending_reclaims();
    {
        ReadSection section;
        auto* p = static_cast<uint64_t*>(m->prog_lookup(&k));
        ASSERT_NE(p, nullptr);
        std::thread host([&] {
            ASSERT_EQ(err(m->erase(&k)), 0);
            reclaim_now();  // must not free what the section may still read
        });
        host.join();
        EXPECT_EQ(*p, 5u);  // ASan would report a use after free here
        EXPECT_GT(pending_reclaims(), before);
        {
            ReadSection nested;  // nesting is free
            EXPECT_TRUE(in_read_section());
        }
        EXPECT_TRUE(in_read_section());
    }
    EXPECT_FALSE(in_read_section());
    synchronize();
    EXPECT_EQ(pending_reclaims(), 0u);
}

}  // namespace
}  // namespace bpfrt::maps::test
