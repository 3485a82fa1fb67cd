// The map commands through the C API: results and every errno path.
#include "test_util.hpp"

#include <set>

namespace bpfrt::test {
namespace {

class MapCommands : public ::testing::Test {
protected:
    CRuntime rt = new_runtime();
    int hash = -1;
    int array = -1;

    void SetUp() override {
        hash = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 8, 4);
        array = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 4);
        ASSERT_GE(hash, 3) << bpfrt_last_error();
        ASSERT_GE(array, 3) << bpfrt_last_error();
    }
    // A program handle, for wrong-kind checks.
    int program() {
        const std::vector<bpf_insn> insns = {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};
        return load_filter(rt.get(), insns);
    }
};

TEST_F(MapCommands, HandlesAreLowestFreeFromThree) {
    EXPECT_EQ(hash, 3);
    EXPECT_EQ(array, 4);
    EXPECT_EQ(bpfrt_close(rt.get(), hash), 0);
    EXPECT_EQ(bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 4, 1), 3);
    EXPECT_EQ(bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 4, 1), 5);
}

TEST_F(MapCommands, CreateErrors) {
    EXPECT_EQ(errno_of([&] { return bpfrt_create_map(rt.get(), BPF_MAP_TYPE_UNSPEC, 4, 8, 1); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_create_map(rt.get(), static_cast<bpf_map_type>(999), 4, 8, 1); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 0, 8, 1); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 0, 1); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 8, 0); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 8, 8, 1); }), EINVAL);
    auto attr = zero_attr();
    attr.map_type = BPF_MAP_TYPE_HASH;
    attr.key_size = 4;
    attr.value_size = 8;
    attr.max_entries = 1;
    attr.map_flags = 1u << 30;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &attr, sizeof attr); }), EINVAL);
}

TEST_F(MapCommands, UpdateLookupDeleteHash) {
    uint32_t key = 7;
    uint64_t value = 42, out = 0;
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), hash, &key, &out); }), ENOENT);
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_EXIST); }), ENOENT);
    EXPECT_EQ(bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_NOEXIST), 0);
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_NOEXIST); }), EEXIST);
    EXPECT_EQ(bpfrt_lookup_elem(rt.get(), hash, &key, &out), 0);
    EXPECT_EQ(out, 42u);
    value = 43;
    EXPECT_EQ(bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_EXIST), 0);
    EXPECT_EQ(bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_ANY), 0);
    EXPECT_EQ(bpfrt_lookup_elem(rt.get(), hash, &key, &out), 0);
    EXPECT_EQ(out, 43u);
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), hash, &key, &value, 99); }), EINVAL);
    EXPECT_EQ(bpfrt_delete_elem(rt.get(), hash, &key), 0);
    EXPECT_EQ(errno_of([&] { return bpfrt_delete_elem(rt.get(), hash, &key); }), ENOENT);
}

TEST_F(MapCommands, FullHashIsE2big) {
    uint64_t value = 1;
    for (uint32_t key = 0; key < 4; ++key) EXPECT_EQ(bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_ANY), 0);
    uint32_t key = 4;
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_ANY); }), E2BIG);
    key = 0;  // replacing an existing element still works when full
    EXPECT_EQ(bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_ANY), 0);
}

TEST_F(MapCommands, ArraySemantics) {
    uint32_t key = 2;
    uint64_t value = 5, out = 1;
    EXPECT_EQ(bpfrt_lookup_elem(rt.get(), array, &key, &out), 0);
    EXPECT_EQ(out, 0u);
    EXPECT_EQ(bpfrt_update_elem(rt.get(), array, &key, &value, BPF_ANY), 0);
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), array, &key, &value, BPF_NOEXIST); }), EEXIST);
    EXPECT_EQ(errno_of([&] { return bpfrt_delete_elem(rt.get(), array, &key); }), EINVAL);
    key = 4;
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), array, &key, &out); }), ENOENT);
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), array, &key, &value, BPF_ANY); }), E2BIG);
}

TEST_F(MapCommands, GetNextKeyWalksTheMap) {
    uint64_t value = 0;
    std::set<uint32_t> inserted = {10, 20, 30};
    for (uint32_t key : inserted) ASSERT_EQ(bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_ANY), 0);
    std::set<uint32_t> seen;
    uint32_t next = 0;
    ASSERT_EQ(bpfrt_get_next_key(rt.get(), hash, nullptr, &next), 0);  // NULL: first key
    seen.insert(next);
    uint32_t key = next;
    while (bpfrt_get_next_key(rt.get(), hash, &key, &next) == 0) {
        seen.insert(next);
        key = next;
    }
    EXPECT_EQ(errno, ENOENT);
    EXPECT_EQ(seen, inserted);
    uint32_t missing = 999;  // a missing key gives the first key
    EXPECT_EQ(bpfrt_get_next_key(rt.get(), hash, &missing, &next), 0);
    EXPECT_TRUE(inserted.count(next));
    // Arrays: 0, 1, 2, 3, then ENOENT.
    EXPECT_EQ(bpfrt_get_next_key(rt.get(), array, nullptr, &next), 0);
    EXPECT_EQ(next, 0u);
    key = 3;
    EXPECT_EQ(errno_of([&] { return bpfrt_get_next_key(rt.get(), array, &key, &next); }), ENOENT);
    // Empty map.
    const int empty = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 8, 4);
    EXPECT_EQ(errno_of([&] { return bpfrt_get_next_key(rt.get(), empty, nullptr, &next); }), ENOENT);
}

TEST_F(MapCommands, BadHandlesAreEbadf) {
    uint32_t key = 0;
    uint64_t value = 0;
    for (int fd : {-1, 0, 1, 2, 99, 1 << 30}) {
        EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), fd, &key, &value); }), EBADF) << fd;
        EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), fd, &key, &value, 0); }), EBADF) << fd;
        EXPECT_EQ(errno_of([&] { return bpfrt_delete_elem(rt.get(), fd, &key); }), EBADF) << fd;
        EXPECT_EQ(errno_of([&] { return bpfrt_get_next_key(rt.get(), fd, nullptr, &key); }), EBADF) << fd;
        EXPECT_EQ(errno_of([&] { return bpfrt_close(rt.get(), fd); }), EBADF) << fd;
    }
    ASSERT_EQ(bpfrt_close(rt.get(), hash), 0);  // closed: EBADF from then on
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), hash, &key, &value); }), EBADF);
}

TEST_F(MapCommands, ProgramHandleWhereAMapIsNeededIsEinval) {
    const int prog = program();
    uint32_t key = 0;
    uint64_t value = 0;
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), prog, &key, &value); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), prog, &key, &value, 0); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_delete_elem(rt.get(), prog, &key); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_get_next_key(rt.get(), prog, nullptr, &key); }), EINVAL);
    // and a map where a program is needed
    unsigned char frame[64] = {};
    EXPECT_EQ(errno_of([&] {
                  return bpfrt_prog_test_run(rt.get(), hash, 1, frame, sizeof frame, nullptr, nullptr, nullptr, nullptr);
              }),
              EINVAL);
}

TEST_F(MapCommands, NullPointersAreEfault) {
    uint32_t key = 0;
    uint64_t value = 0;
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), hash, nullptr, &value); }), EFAULT);
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), hash, &key, nullptr); }), EFAULT);
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), hash, nullptr, &value, 0); }), EFAULT);
    EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), hash, &key, nullptr, 0); }), EFAULT);
    EXPECT_EQ(errno_of([&] { return bpfrt_delete_elem(rt.get(), hash, nullptr); }), EFAULT);
    EXPECT_EQ(errno_of([&] { return bpfrt_get_next_key(rt.get(), hash, nullptr, nullptr); }), EFAULT);
}

TEST_F(MapCommands, LookupFlagsMustBeZero) {
    uint32_t key = 0;
    uint64_t value = 0;
    auto attr = zero_attr();
    attr.map_fd = static_cast<uint32_t>(array);
    attr.key = reinterpret_cast<uintptr_t>(&key);
    attr.value = reinterpret_cast<uintptr_t>(&value);
    attr.flags = BPF_F_LOCK;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_LOOKUP_ELEM, &attr, sizeof attr); }), EINVAL);
}

TEST_F(MapCommands, QueueAndStack) {
    const int queue = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_QUEUE, 0, 4, 2);
    const int stack = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_STACK, 0, 4, 2);
    ASSERT_GE(queue, 3) << bpfrt_last_error();
    ASSERT_GE(stack, 3) << bpfrt_last_error();
    for (int map : {queue, stack}) {
        for (uint32_t v : {1u, 2u}) EXPECT_EQ(bpfrt_update_elem(rt.get(), map, nullptr, &v, BPF_ANY), 0);
        uint32_t v = 3;
        EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), map, nullptr, &v, BPF_ANY); }), E2BIG);
        int key = 0;  // a key for a map without keys
        EXPECT_EQ(errno_of([&] { return bpfrt_update_elem(rt.get(), map, &key, &v, BPF_ANY); }), EINVAL);
    }
    auto pop = [&](int map, uint32_t* out) {
        auto attr = zero_attr();
        attr.map_fd = static_cast<uint32_t>(map);
        attr.value = reinterpret_cast<uintptr_t>(out);
        return bpfrt_bpf(rt.get(), BPF_MAP_LOOKUP_AND_DELETE_ELEM, &attr, sizeof attr);
    };
    uint32_t out = 0;
    EXPECT_EQ(bpfrt_lookup_elem(rt.get(), queue, nullptr, &out), 0);  // peek
    EXPECT_EQ(out, 1u);
    EXPECT_EQ(pop(queue, &out), 0);
    EXPECT_EQ(out, 1u);
    EXPECT_EQ(pop(stack, &out), 0);
    EXPECT_EQ(out, 2u);
    EXPECT_EQ(pop(queue, &out), 0);
    EXPECT_EQ(out, 2u);
    EXPECT_EQ(errno_of([&] { return pop(queue, &out); }), ENOENT);
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), queue, nullptr, &out); }), ENOENT);
    EXPECT_EQ(errno_of([&] { return pop(queue, nullptr); }), EFAULT);
}

TEST_F(MapCommands, LookupAndDeleteOnHash) {
    uint32_t key = 1;
    uint64_t value = 9, out = 0;
    ASSERT_EQ(bpfrt_update_elem(rt.get(), hash, &key, &value, BPF_ANY), 0);
    auto attr = zero_attr();
    attr.map_fd = static_cast<uint32_t>(hash);
    attr.key = reinterpret_cast<uintptr_t>(&key);
    attr.value = reinterpret_cast<uintptr_t>(&out);
    EXPECT_EQ(bpfrt_bpf(rt.get(), BPF_MAP_LOOKUP_AND_DELETE_ELEM, &attr, sizeof attr), 0);
    EXPECT_EQ(out, 9u);
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_LOOKUP_AND_DELETE_ELEM, &attr, sizeof attr); }),
              ENOENT);
}

}  // namespace
}  // namespace bpfrt::test
