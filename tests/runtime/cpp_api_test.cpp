// The typed C++ API: named command structs, Result values, RAII handles.
#include "test_util.hpp"

namespace bpfrt::test {
namespace {

TEST(CppApi, MapRoundTrip) {
    Runtime rt;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 8,
                              .name = "counts"});
    ASSERT_TRUE(map) << map.error().message;
    EXPECT_EQ(map->fd(), 3);
    const uint32_t key = 5;
    const uint64_t value = 77;
    ASSERT_TRUE(rt.map_update_elem({map->fd(), bytes_of(key), bytes_of(value), BPF_NOEXIST}));
    auto again = rt.map_update_elem({map->fd(), bytes_of(key), bytes_of(value), BPF_NOEXIST});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, EEXIST);
    uint64_t out = 0;
    ASSERT_TRUE(rt.map_lookup_elem({map->fd(), bytes_of(key)}, writable_bytes_of(out)));
    EXPECT_EQ(out, 77u);
    uint32_t next = 0;
    ASSERT_TRUE(rt.map_get_next_key({map->fd(), std::nullopt}, writable_bytes_of(next)));
    EXPECT_EQ(next, 5u);
    EXPECT_EQ(rt.map_get_next_key({map->fd(), bytes_of(key)}, writable_bytes_of(next)).error().code, ENOENT);
    ASSERT_TRUE(rt.map_delete_elem({map->fd(), bytes_of(key)}));
    auto missing = rt.map_lookup_elem({map->fd(), bytes_of(key)}, writable_bytes_of(out));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENOENT);
    EXPECT_FALSE(missing.error().message.empty());
}

TEST(CppApi, WrongSizesAreEinval) {
    Runtime rt;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 8});
    ASSERT_TRUE(map);
    const uint64_t wide_key = 1;
    const uint64_t value = 1;
    const uint32_t key = 1;
    EXPECT_EQ(rt.map_update_elem({map->fd(), bytes_of(wide_key), bytes_of(value)}).error().code, EINVAL);
    EXPECT_EQ(rt.map_update_elem({map->fd(), bytes_of(key), bytes_of(key)}).error().code, EINVAL);
    uint32_t small = 0;
    EXPECT_EQ(rt.map_lookup_elem({map->fd(), bytes_of(key)}, writable_bytes_of(small)).error().code, EINVAL);
    auto info = rt.map_info(map->fd());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->key_size, 4u);
    EXPECT_EQ(info->host_value_size, 8u);
    EXPECT_EQ(rt.map_create({.map_type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 8,
                             .name = "sixteen_chars_xx"})
                  .error()
                  .code,
              EINVAL);
}

TEST(CppApi, HandlesCloseOnDestructionAndMove) {
    Runtime rt;
    {
        auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1});
        ASSERT_TRUE(map);
        EXPECT_EQ(rt.open_handles(), 1u);
        MapHandle moved = std::move(*map);
        EXPECT_FALSE(*map);
        EXPECT_TRUE(moved);
        MapHandle other;
        other = std::move(moved);
        EXPECT_EQ(rt.open_handles(), 1u);
    }
    EXPECT_EQ(rt.open_handles(), 0u);
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1});
    const int fd = map->release();
    map->reset();  // released: nothing to close
    EXPECT_EQ(rt.open_handles(), 1u);
    EXPECT_TRUE(rt.close(fd));
    EXPECT_EQ(rt.close(fd).error().code, EBADF);
}

TEST(CppApi, LoadAndTestRun) {
    Runtime rt;
    const std::vector<bpf_insn> insns = {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_LD_ABS(BPF_B, 23), BPF_EXIT_INSN()};
    auto loaded = rt.prog_load({.prog_type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = insns, .license = "GPL",
                                .log_level = 1, .name = "proto"});
    ASSERT_TRUE(loaded.program) << loaded.program.error().message;
    EXPECT_NE(loaded.log.find("processed 3 insns"), std::string::npos) << loaded.log;
    const auto frame = ip_frame(17);
    auto result = rt.prog_test_run({.prog_fd = loaded.program->fd(), .data = std::as_bytes(std::span(frame)),
                                    .repeat = 10});
    ASSERT_TRUE(result) << result.error().message;
    EXPECT_EQ(result->retval, 17u);
    EXPECT_EQ(result->data_out.size(), 64u);
    EXPECT_TRUE(result->ctx_out.empty());
}

TEST(CppApi, FailedLoadKeepsTheLog) {
    Runtime rt;
    const std::vector<bpf_insn> insns = {BPF_LD_MAP_FD(BPF_REG_1, 50), BPF_EXIT_INSN()};
    auto loaded = rt.prog_load({.prog_type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = insns, .license = "GPL",
                                .log_level = 1});
    ASSERT_FALSE(loaded.program);
    EXPECT_EQ(loaded.program.error().code, EBADF);
    EXPECT_NE(loaded.log.find("fd 50"), std::string::npos) << loaded.log;
    EXPECT_EQ(rt.open_handles(), 0u);
}

TEST(CppApi, CRuntimeViewIsTheSameRuntime) {
    Runtime rt;
    const int fd = bpfrt_create_map(rt.c_runtime(), BPF_MAP_TYPE_HASH, 4, 4, 4);
    ASSERT_GE(fd, 3);
    EXPECT_EQ(rt.open_handles(), 1u);
    EXPECT_EQ(&Runtime::from_c(rt.c_runtime()), &rt);
}

}  // namespace
}  // namespace bpfrt::test

extern "C" int bpfrt_c_api_calls(void);

namespace bpfrt::test {
namespace {

TEST(CApi, EveryWrapperFromC) { EXPECT_EQ(bpfrt_c_api_calls(), 0) << bpfrt_last_error(); }

}  // namespace
}  // namespace bpfrt::test
