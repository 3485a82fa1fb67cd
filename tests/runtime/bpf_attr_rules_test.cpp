// bpfrt_bpf(): the kernel's size rules, unknown commands, NULL attr.
#include "test_util.hpp"

#include <array>

namespace bpfrt::test {
namespace {

TEST(AttrRules, NullAttrIsEfault) {
    auto rt = new_runtime();
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, nullptr, sizeof(union bpf_attr)); }), EFAULT);
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, nullptr, 0); }), EFAULT);
}

TEST(AttrRules, UnknownCommandIsEinval) {
    auto rt = new_runtime();
    auto attr = zero_attr();
    for (int cmd : {-1, int{BPF_OBJ_PIN}, int{BPF_PROG_ATTACH}, int{BPF_BTF_LOAD}, int{BPF_PROG_BIND_MAP}, 1000, 0x62660000})
        EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), cmd, &attr, sizeof attr); }), EINVAL) << cmd;
    EXPECT_NE(std::string(bpfrt_last_error()).find("command"), std::string::npos);
}

union BigAttr {
    union bpf_attr attr;
    std::array<unsigned char, sizeof(union bpf_attr) + 64> bytes;
};

union bpf_attr hash_create_attr() {
    auto attr = zero_attr();
    attr.map_type = BPF_MAP_TYPE_HASH;
    attr.key_size = 4;
    attr.value_size = 8;
    attr.max_entries = 16;
    return attr;
}

TEST(AttrRules, LargerAttrMustBeZeroPastTheUnion) {
    auto rt = new_runtime();
    BigAttr big{};
    big.attr = hash_create_attr();
    EXPECT_GE(bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &big.attr, sizeof big), 3) << bpfrt_last_error();
    big.bytes[sizeof(union bpf_attr) + 10] = 1;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &big.attr, sizeof big); }), E2BIG);
    // Only `size` bytes are looked at.
    EXPECT_GE(bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &big.attr, sizeof(union bpf_attr) + 10), 3);
}

TEST(AttrRules, SmallerAttrIsZeroExtended) {
    auto rt = new_runtime();
    auto attr = hash_create_attr();
    // Up to max_entries: map_flags and the rest are read as zero.
    const unsigned size = offsetof(union bpf_attr, map_flags);
    BigAttr garbage{};
    garbage.bytes.fill(0xff);
    std::memcpy(&garbage.attr, &attr, size);
    EXPECT_GE(bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &garbage.attr, size), 3) << bpfrt_last_error();
    // Too small to carry max_entries: a zero max_entries is invalid.
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &garbage.attr, 12); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &garbage.attr, 0); }), EINVAL);
}

TEST(AttrRules, BytesPastTheCommandsFieldsAreEinval) {
    auto rt = new_runtime();
    auto attr = hash_create_attr();
    const int map = bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &attr, sizeof attr);
    ASSERT_GE(map, 3);
    auto lookup = zero_attr();
    int key = 0;
    long long value = 0;
    lookup.map_fd = static_cast<uint32_t>(map);
    lookup.key = reinterpret_cast<uintptr_t>(&key);
    lookup.value = reinterpret_cast<uintptr_t>(&value);
    reinterpret_cast<unsigned char*>(&lookup)[offsetof(union bpf_attr, flags) + 8] = 1;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_LOOKUP_ELEM, &lookup, sizeof lookup); }), EINVAL);
    // The close command uses only the first __u32.
    auto close = zero_attr();
    close.map_fd = static_cast<uint32_t>(map);
    close.key = 1;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPFRT_CMD_CLOSE, &close, sizeof close); }), EINVAL);
    close.key = 0;
    EXPECT_EQ(bpfrt_bpf(rt.get(), BPFRT_CMD_CLOSE, &close, sizeof close), 0);
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPFRT_CMD_CLOSE, &close, sizeof close); }), EBADF);
}

TEST(AttrRules, UnsupportedFeaturesInKnownFieldsAreEinval) {
    auto rt = new_runtime();
    auto attr = hash_create_attr();
    attr.btf_fd = 3;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &attr, sizeof attr); }), EINVAL);
    attr = hash_create_attr();
    attr.map_ifindex = 1;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &attr, sizeof attr); }), EINVAL);
}

TEST(AttrRules, ObjectNames) {
    auto rt = new_runtime();
    auto attr = hash_create_attr();
    std::memcpy(attr.map_name, "counts.v1_", 11);
    EXPECT_GE(bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &attr, sizeof attr), 3) << bpfrt_last_error();
    std::memcpy(attr.map_name, "bad name", 9);
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &attr, sizeof attr); }), EINVAL);
    std::memset(attr.map_name, 'a', sizeof attr.map_name);  // no NUL within 16 bytes
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_MAP_CREATE, &attr, sizeof attr); }), EINVAL);
}

TEST(AttrRules, NullRuntimeIsEinval) {
    auto attr = hash_create_attr();
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(nullptr, BPF_MAP_CREATE, &attr, sizeof attr); }), EINVAL);
    bpfrt_runtime_free(nullptr);  // allowed
}

}  // namespace
}  // namespace bpfrt::test
