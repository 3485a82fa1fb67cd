// The verifier inside BPF_PROG_LOAD: the privilege of a load (per load in the
// C++ API, runtime-wide in the C API) and the kernel's errno per rejection.
#include <bpfrt/bpf.h>
#include <bpfrt/runtime.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <vector>

namespace {

using Prog = std::vector<bpf_insn>;

const Prog kReturn2 = {BPF_MOV64_IMM(BPF_REG_0, 2), BPF_EXIT_INSN()};
const Prog kReturnFp = {BPF_MOV64_REG(BPF_REG_0, BPF_REG_10), BPF_EXIT_INSN()};  // leaks a pointer

int load_errno(bpfrt::Runtime& rt, uint32_t type, const Prog& insns, std::optional<bool> privileged) {
    bpfrt::ProgLoad in;
    in.prog_type = type;
    in.insns = insns;
    in.license = "GPL";
    in.privileged = privileged;
    in.log_level = 1;
    const bpfrt::ProgLoadResult r = rt.prog_load(in);
    return r.program ? 0 : r.program.error().code;
}

TEST(RuntimeLoad, PrivilegeIsChosenPerLoadOrByTheRuntime) {
    bpfrt::Runtime rt;
    EXPECT_TRUE(rt.privileged());
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_XDP, kReturn2, std::nullopt), 0);
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_XDP, kReturn2, false), EPERM);
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_SOCKET_FILTER, kReturnFp, std::nullopt), 0);
    rt.set_privileged(false);
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_SOCKET_FILTER, kReturnFp, std::nullopt), EACCES);
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_SOCKET_FILTER, kReturnFp, true), 0);
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_SOCKET_FILTER, kReturn2, std::nullopt), 0);
}

TEST(RuntimeLoad, KernelErrnoPerRejection) {
    bpfrt::Runtime rt;
    const Prog malformed = {BPF_RAW_INSN(0xf5, 0, 0, 0, 0), BPF_EXIT_INSN()};
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_SOCKET_FILTER, malformed, true), EINVAL);
    const Prog uninit = {BPF_EXIT_INSN()};  // R0 never written
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_SOCKET_FILTER, uninit, true), EACCES);
    Prog big(4097, BPF_MOV64_IMM(BPF_REG_0, 0));
    big.push_back(BPF_EXIT_INSN());
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_SOCKET_FILTER, big, false), E2BIG);
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_SOCKET_FILTER, big, true), 0);
}

TEST(RuntimeLoad, CApiSetsTheRuntimeDefault) {
    bpfrt::Runtime rt;
    EXPECT_EQ(bpfrt_runtime_set_privileged(rt.c_runtime(), 0), 0);
    EXPECT_FALSE(rt.privileged());
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_KPROBE, kReturn2, std::nullopt), EPERM);
    EXPECT_EQ(bpfrt_runtime_set_privileged(rt.c_runtime(), 1), 0);
    EXPECT_EQ(load_errno(rt, BPF_PROG_TYPE_KPROBE, kReturn2, std::nullopt), 0);
    errno = 0;
    EXPECT_EQ(bpfrt_runtime_set_privileged(nullptr, 1), -1);
    EXPECT_EQ(errno, EINVAL);
}

}  // namespace
