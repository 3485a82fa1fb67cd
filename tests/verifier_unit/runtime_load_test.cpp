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

// ---- bpf_loop: a function of the program called back by a helper ----

namespace loop {

constexpr int32_t kLoop = 181;  // BPF_FUNC_loop

// sum (fp-8) = 0; ret = bpf_loop(10, cb, &sum, flags); return sum * 100 + ret,
// where cb(i, &sum) adds i (through a bpf-to-bpf call) and stops after i == 6.
Prog program(int32_t flags) {
    return {
        BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0),
        BPF_MOV64_IMM(BPF_REG_1, 10),
        BPF_LD_IMM64_RAW_1(BPF_REG_2, BPF_PSEUDO_FUNC, 9),  // cb at slot 12
        BPF_LD_IMM64_RAW_2(0),
        BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8),
        BPF_MOV64_IMM(BPF_REG_4, flags),
        BPF_EMIT_CALL(kLoop),
        BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, -8),
        BPF_ALU64_IMM(BPF_MUL, BPF_REG_1, 100),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1),
        BPF_EXIT_INSN(),
        // cb (slot 12): r6 = i; add(&sum, i); return i == 6
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
        BPF_MOV64_REG(BPF_REG_1, BPF_REG_2),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_6),
        BPF_CALL_REL(4),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_JMP_IMM(BPF_JNE, BPF_REG_6, 6, 1),
        BPF_MOV64_IMM(BPF_REG_0, 1),
        BPF_EXIT_INSN(),
        // add (slot 20): *r1 += r2
        BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_1, 0),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_3, BPF_REG_2),
        BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_3, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
}

bpfrt::Result<uint32_t> load_and_run(bpfrt::Runtime& rt, const Prog& insns, std::optional<bpfrt::jit::Engine> engine) {
    bpfrt::ProgLoad in;
    in.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    in.insns = insns;
    in.license = "GPL";
    in.engine = engine;
    in.log_level = 1;
    bpfrt::ProgLoadResult loaded = rt.prog_load(in);
    if (!loaded.program) return std::unexpected(loaded.program.error());
    std::vector<std::byte> packet(64);
    bpfrt::TestRun run;
    run.prog_fd = loaded.program->fd();
    run.data = packet;
    auto r = rt.prog_test_run(run);
    if (!r) return std::unexpected(r.error());
    return r->retval;
}

}  // namespace loop

TEST(RuntimeLoad, BpfLoopCallsTheCallbackOnEveryEngine) {
    bpfrt::Runtime rt;
    // i = 0..6: sum 21, bpf_loop returns 7 (stopped by the callback).
    for (auto engine : {std::optional<bpfrt::jit::Engine>{}, std::optional{bpfrt::jit::Engine::Interpreter},
                        std::optional{bpfrt::jit::Engine::Auto}, std::optional{bpfrt::jit::Engine::Jit}}) {
        if (engine == bpfrt::jit::Engine::Jit && !bpfrt::jit::jit_supported()) continue;
        auto r = loop::load_and_run(rt, loop::program(0), engine);
        ASSERT_TRUE(r.has_value()) << r.error().message;
        EXPECT_EQ(*r, 2107u);
    }
    // Non-zero flags: -EINVAL and no call.
    for (auto engine : {bpfrt::jit::Engine::Interpreter, bpfrt::jit::Engine::Auto}) {
        auto bad_flags = loop::load_and_run(rt, loop::program(1), engine);
        ASSERT_TRUE(bad_flags.has_value()) << bad_flags.error().message;
        EXPECT_EQ(*bad_flags, static_cast<uint32_t>(-EINVAL));
    }
}

