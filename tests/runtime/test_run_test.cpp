// BPF_PROG_TEST_RUN: inputs per program type, outputs, size rules, errors.
#include "test_util.hpp"

namespace bpfrt::test {
namespace {

// r0 = skb->len (the frame's length) after an LD_ABS of frame[23].
const std::vector<bpf_insn> kLengthAndByte = {
    BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
    BPF_LD_ABS(BPF_B, 23),  // r0 = frame[23], checks LD_ABS sees the frame
    BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_6, offsetof(struct __sk_buff, len)),
    BPF_EXIT_INSN(),
};

TEST(TestRun, SocketFilterSeesTheFrame) {
    auto rt = new_runtime();
    // r0 = frame[14 + 9] via LD_ABS, + skb->len (r1 is the __sk_buff).
    const std::vector<bpf_insn> insns = {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
        BPF_LD_ABS(BPF_B, 14 + 9),
        BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_6, offsetof(struct __sk_buff, len)),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1),
        BPF_EXIT_INSN(),
    };
    const int fd = load_filter(rt.get(), insns);
    EXPECT_EQ(run_once(rt.get(), fd, ip_frame(17)), 17u + 64u);
}

TEST(TestRun, LdAbsOutsideThePacketEndsWithZero) {
    auto rt = new_runtime();
    const std::vector<bpf_insn> insns = {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_LD_ABS(BPF_W, 100),
                                         BPF_MOV64_IMM(BPF_REG_0, 1), BPF_EXIT_INSN()};
    const int fd = load_filter(rt.get(), insns);
    EXPECT_EQ(run_once(rt.get(), fd, ip_frame(6)), 0u);
}

TEST(TestRun, SocketFilterCannotWriteThePacket) {
    auto rt = new_runtime();
    // r1 is the __sk_buff; socket filters may write only cb[]: the verifier refuses.
    const std::vector<bpf_insn> insns = {BPF_ST_MEM(BPF_B, BPF_REG_1, 0, 1), BPF_MOV64_IMM(BPF_REG_0, 0),
                                         BPF_EXIT_INSN()};
    EXPECT_EQ(errno_of([&] {
                  return bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, insns.data(),
                                         static_cast<int>(insns.size()), "GPL", nullptr, 0, 0);
              }),
              EACCES);
}

TEST(TestRun, SchedClsWritesThePacketAndDataOutHasIt) {
    auto rt = new_runtime();
    // if (data + 1 <= data_end) data[0] = 0xab; return skb->len
    const std::vector<bpf_insn> insns = {
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct __sk_buff, data)),
        BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, offsetof(struct __sk_buff, data_end)),
        BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 1),
        BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 1),
        BPF_ST_MEM(BPF_B, BPF_REG_2, 0, 0xab),
        BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, offsetof(struct __sk_buff, len)),
        BPF_EXIT_INSN(),
    };
    const int fd = load_filter(rt.get(), insns, BPF_PROG_TYPE_SCHED_CLS);
    const auto frame = ip_frame(6, 60);
    std::vector<unsigned char> out(100, 0);
    unsigned size_out = static_cast<unsigned>(out.size()), retval = 0, duration = 1234;
    ASSERT_EQ(bpfrt_prog_test_run(rt.get(), fd, 1, frame.data(), 60, out.data(), &size_out, &retval, &duration), 0)
        << bpfrt_last_error();
    EXPECT_EQ(retval, 60u);
    EXPECT_EQ(size_out, 60u);
    EXPECT_EQ(out[0], 0xab);
    EXPECT_EQ(out[12], 0x08);
    EXPECT_EQ(out[60], 0);
    EXPECT_EQ(frame[0], 0);  // the input is not modified
}

TEST(TestRun, DataOutTooSmallIsEnospcWithWhatFits) {
    auto rt = new_runtime();
    const int fd = load_filter(rt.get(), kLengthAndByte, BPF_PROG_TYPE_SCHED_CLS);
    const auto frame = ip_frame(6);
    std::vector<unsigned char> out(20, 0xee);
    unsigned size_out = 16, retval = 0;
    EXPECT_EQ(errno_of([&] {
                  return bpfrt_prog_test_run(rt.get(), fd, 1, frame.data(), 64, out.data(), &size_out, &retval, nullptr);
              }),
              ENOSPC);
    EXPECT_EQ(size_out, 64u);  // the full size, as the kernel reports it
    EXPECT_EQ(retval, 64u);    // retval is still written
    EXPECT_EQ(out[12], 0x08);
    EXPECT_EQ(out[16], 0xee);  // nothing past the capacity
}

TEST(TestRun, RepeatAndDuration) {
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    // Counts its runs in the map.
    const std::vector<bpf_insn> insns = {
        BPF_LD_MAP_VALUE(BPF_REG_1, map, 0),
        BPF_MOV64_IMM(BPF_REG_2, 1),
        BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_1, BPF_REG_2, 0),
        BPF_MOV64_IMM(BPF_REG_0, -1),
        BPF_EXIT_INSN(),
    };
    const int fd = load_filter(rt.get(), insns);
    const auto frame = ip_frame(6);
    unsigned retval = 0, duration = 0xffffffff;
    ASSERT_EQ(bpfrt_prog_test_run(rt.get(), fd, 1000, frame.data(), 64, nullptr, nullptr, &retval, &duration), 0);
    EXPECT_EQ(retval, 0xffffffffu);  // the low 32 bits of r0
    EXPECT_LT(duration, 10'000'000u);
    ASSERT_EQ(bpfrt_prog_test_run(rt.get(), fd, 0, frame.data(), 64, nullptr, nullptr, &retval, nullptr), 0);
    uint32_t key = 0;
    uint64_t runs = 0;
    ASSERT_EQ(bpfrt_lookup_elem(rt.get(), map, &key, &runs), 0);
    EXPECT_EQ(runs, 1001u);  // repeat 0 runs once
}

TEST(TestRun, InputErrors) {
    auto rt = new_runtime();
    const int fd = load_filter(rt.get(), kLengthAndByte);
    const auto frame = ip_frame(6);
    auto run = [&](union bpf_attr& attr) { return bpfrt_bpf(rt.get(), BPF_PROG_TEST_RUN, &attr, sizeof attr); };
    auto base = [&] {
        auto attr = zero_attr();
        attr.test.prog_fd = static_cast<uint32_t>(fd);
        attr.test.data_in = reinterpret_cast<uintptr_t>(frame.data());
        attr.test.data_size_in = 64;
        return attr;
    };
    auto attr = base();
    EXPECT_EQ(run(attr), 0) << bpfrt_last_error();
    attr.test.data_size_in = 13;  // shorter than an Ethernet header
    EXPECT_EQ(errno_of([&] { return run(attr); }), EINVAL);
    attr = base();
    attr.test.data_in = 0;
    EXPECT_EQ(errno_of([&] { return run(attr); }), EFAULT);
    attr = base();
    attr.test.flags = BPF_F_TEST_RUN_ON_CPU;
    EXPECT_EQ(errno_of([&] { return run(attr); }), EINVAL);
    attr = base();
    attr.test.cpu = 1;
    EXPECT_EQ(errno_of([&] { return run(attr); }), EINVAL);
    attr = base();
    attr.test.batch_size = 1;
    EXPECT_EQ(errno_of([&] { return run(attr); }), EINVAL);
    attr = base();
    uint64_t ctx = 1;  // __sk_buff.len: not a field a ctx_in may set
    attr.test.ctx_in = reinterpret_cast<uintptr_t>(&ctx);
    attr.test.ctx_size_in = 8;
    EXPECT_EQ(errno_of([&] { return run(attr); }), EINVAL);
    attr = base();
    attr.test.ctx_size_in = 8;  // ctx_in NULL: the pair is refused before anything is read
    EXPECT_EQ(errno_of([&] { return run(attr); }), EINVAL);
    attr = base();
    attr.test.prog_fd = 77;
    EXPECT_EQ(errno_of([&] { return run(attr); }), EBADF);
}

TEST(TestRun, SyscallProgramsGetTheContextBack) {
    auto rt = new_runtime();
    // ctx->b = ctx->a * 2; return ctx->a + 1
    const std::vector<bpf_insn> insns = {
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 0),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_0),
        BPF_ALU64_IMM(BPF_MUL, BPF_REG_2, 2),
        BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_2, 8),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_0, 1),
        BPF_EXIT_INSN(),
    };
    const int fd = load_filter(rt.get(), insns, BPF_PROG_TYPE_SYSCALL);
    uint64_t ctx[2] = {21, 0};
    auto attr = zero_attr();
    attr.test.prog_fd = static_cast<uint32_t>(fd);
    attr.test.ctx_in = reinterpret_cast<uintptr_t>(ctx);
    attr.test.ctx_size_in = sizeof ctx;
    ASSERT_EQ(bpfrt_bpf(rt.get(), BPF_PROG_TEST_RUN, &attr, sizeof attr), 0) << bpfrt_last_error();
    EXPECT_EQ(attr.test.retval, 22u);
    EXPECT_EQ(ctx[1], 42u);
    // Reading past the context is caught.
    attr.test.ctx_size_in = 8;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_PROG_TEST_RUN, &attr, sizeof attr); }), EFAULT);
    // No data, no repeat.
    attr.test.ctx_size_in = sizeof ctx;
    attr.test.repeat = 2;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_PROG_TEST_RUN, &attr, sizeof attr); }), EINVAL);
}

TEST(TestRun, SmallAttrGetsOnlyItsBytesWritten) {
    auto rt = new_runtime();
    const int fd = load_filter(rt.get(), kLengthAndByte);
    const auto frame = ip_frame(6);
    struct {
        union bpf_attr attr;
        unsigned char guard[8];
    } s;
    std::memset(&s, 0, sizeof s);
    s.attr.test.prog_fd = static_cast<uint32_t>(fd);
    s.attr.test.data_in = reinterpret_cast<uintptr_t>(frame.data());
    s.attr.test.data_size_in = 64;
    // Up to and including `duration`.
    const unsigned size = offsetof(union bpf_attr, test.duration) + 4;
    std::memset(reinterpret_cast<unsigned char*>(&s.attr) + size, 0x5a, sizeof s.attr - size);
    ASSERT_EQ(bpfrt_bpf(rt.get(), BPF_PROG_TEST_RUN, &s.attr, size), 0) << bpfrt_last_error();
    EXPECT_EQ(s.attr.test.retval, 64u);
    EXPECT_EQ(reinterpret_cast<unsigned char*>(&s.attr)[size], 0x5a);
}

}  // namespace
}  // namespace bpfrt::test
