// The oracle itself: where bpf() is permitted, the kernel accepts a trivial
// program, rejects an uninitialised read with EACCES and a log, and runs.
#include "kernel_oracle.hpp"

#include <gtest/gtest.h>

#include <cerrno>

namespace {

using namespace bpfrt::kernel;

void skip_without_bpf() {
    std::string why;
    if (!kernel_bpf_available(&why)) GTEST_SKIP() << "kernel oracle unavailable: " << why;
}

TEST(KernelOracle, AcceptsAndRunsTrivialProgram) {
    skip_without_bpf();
    if (testing::Test::IsSkipped()) return;
    const bpf_insn prog[] = {BPF_MOV64_IMM(BPF_REG_0, 7), BPF_EXIT_INSN()};
    LoadResult load = prog_load(BPF_PROG_TYPE_SOCKET_FILTER, prog, "GPL");
    ASSERT_TRUE(load.accepted()) << errno_name(load.error) << "\n" << load.log;
    std::vector<uint8_t> packet(64, 0);
    TestRunResult run = test_run(load.fd.get(), packet);
    ASSERT_EQ(run.error, 0) << errno_name(run.error);
    EXPECT_EQ(run.retval, 7u);
}

TEST(KernelOracle, RejectsUninitialisedRegisterWithLog) {
    skip_without_bpf();
    if (testing::Test::IsSkipped()) return;
    const bpf_insn prog[] = {BPF_EXIT_INSN()};
    LoadResult load = prog_load(BPF_PROG_TYPE_SOCKET_FILTER, prog, "GPL");
    EXPECT_FALSE(load.accepted());
    EXPECT_EQ(load.error, EACCES);
    EXPECT_NE(load.log.find("R0 !read_ok"), std::string::npos) << load.log;
}

TEST(KernelOracle, MapRoundTrip) {
    skip_without_bpf();
    if (testing::Test::IsSkipped()) return;
    MapResult map = create_map(BPF_MAP_TYPE_HASH, 4, 8, 4);
    ASSERT_TRUE(map.fd.valid()) << errno_name(map.error);
    uint32_t key = 3;
    uint64_t value = 0x1122334455667788, back = 0;
    ASSERT_EQ(map_update(map.fd.get(), &key, &value), 0);
    ASSERT_EQ(map_lookup(map.fd.get(), &key, &back), 0);
    EXPECT_EQ(back, value);
    uint32_t missing = 9;
    EXPECT_EQ(map_lookup(map.fd.get(), &missing, &back), ENOENT);
}

TEST(KernelOracle, ErrnoNames) {
    EXPECT_EQ(errno_name(EACCES), "EACCES");
    EXPECT_EQ(errno_from_name("E2BIG"), E2BIG);
    EXPECT_EQ(errno_from_name("nonsense"), 0);
}

}  // namespace
