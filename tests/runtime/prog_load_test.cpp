// BPF_PROG_LOAD: results, the log rules and every errno path.
#include "test_util.hpp"

namespace bpfrt::test {
namespace {

const std::vector<bpf_insn> kReturn7 = {BPF_MOV64_IMM(BPF_REG_0, 7), BPF_EXIT_INSN()};

int load(bpfrt_runtime* rt, const std::vector<bpf_insn>& insns, char* log = nullptr, unsigned log_size = 0,
         unsigned log_level = 0, bpf_prog_type type = BPF_PROG_TYPE_SOCKET_FILTER) {
    return bpfrt_prog_load(rt, type, insns.data(), static_cast<int>(insns.size()), "GPL", log, log_size, log_level);
}

TEST(ProgLoad, LoadsAndRuns) {
    auto rt = new_runtime();
    const int fd = load(rt.get(), kReturn7);
    ASSERT_GE(fd, 3) << bpfrt_last_error();
    const auto frame = ip_frame(6);
    EXPECT_EQ(run_once(rt.get(), fd, frame), 7u);
}

TEST(ProgLoad, InstructionCountIsE2big) {
    auto rt = new_runtime();
    EXPECT_EQ(errno_of([&] { return bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, kReturn7.data(), 0, "GPL",
                                                    nullptr, 0, 0); }),
              E2BIG);
    EXPECT_EQ(errno_of([&] { return bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, kReturn7.data(), 1000001,
                                                    "GPL", nullptr, 0, 0); }),
              E2BIG);
}

TEST(ProgLoad, NullPointersAreEfault) {
    auto rt = new_runtime();
    EXPECT_EQ(errno_of([&] { return bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, nullptr, 2, "GPL",
                                                    nullptr, 0, 0); }),
              EFAULT);
    EXPECT_EQ(errno_of([&] { return bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, kReturn7.data(), 2,
                                                    nullptr, nullptr, 0, 0); }),
              EFAULT);
}

TEST(ProgLoad, UnsupportedTypeAndFlagsAreEinval) {
    auto rt = new_runtime();
    EXPECT_EQ(errno_of([&] { return load(rt.get(), kReturn7, nullptr, 0, 0, BPF_PROG_TYPE_UNSPEC); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return load(rt.get(), kReturn7, nullptr, 0, 0, BPF_PROG_TYPE_LWT_IN); }), EINVAL);
    auto attr = zero_attr();
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = reinterpret_cast<uintptr_t>(kReturn7.data());
    attr.insn_cnt = 2;
    attr.license = reinterpret_cast<uintptr_t>("GPL");
    attr.prog_flags = 1u << 20;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_PROG_LOAD, &attr, sizeof attr); }), EINVAL);
    attr.prog_flags = BPF_F_ANY_ALIGNMENT;  // known: accepted
    EXPECT_GE(bpfrt_bpf(rt.get(), BPF_PROG_LOAD, &attr, sizeof attr), 3) << bpfrt_last_error();
    attr.fd_array = 1;
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_PROG_LOAD, &attr, sizeof attr); }), EINVAL);
    attr.fd_array = 0;
    std::memcpy(attr.prog_name, "my prog", 8);
    EXPECT_EQ(errno_of([&] { return bpfrt_bpf(rt.get(), BPF_PROG_LOAD, &attr, sizeof attr); }), EINVAL);
}

TEST(ProgLoad, MalformedProgramsAreEinvalWithALog) {
    auto rt = new_runtime();
    char log[1024];
    const std::vector<std::vector<bpf_insn>> bad = {
        {BPF_RAW_INSN(0xff, 0, 0, 0, 0), BPF_EXIT_INSN()},           // unknown opcode
        {BPF_MOV64_IMM(BPF_REG_0, 0)},                               // falls off the end
        {BPF_JMP_A(5), BPF_EXIT_INSN()},                             // jump out of range
        {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EMIT_CALL(9999), BPF_EXIT_INSN()},  // no such helper
        {BPF_LD_IMM64_RAW(BPF_REG_0, BPF_PSEUDO_FUNC, 0), BPF_EXIT_INSN()},  // unsupported pseudo lddw
    };
    for (size_t i = 0; i < bad.size(); ++i) {
        std::memset(log, 'x', sizeof log);
        EXPECT_EQ(errno_of([&] { return load(rt.get(), bad[i], log, sizeof log, 1); }), EINVAL) << i;
        EXPECT_NE(std::strlen(log), 0u) << i;  // NUL-terminated, says why
        EXPECT_LT(std::strlen(log), sizeof log) << i;
    }
}

TEST(ProgLoad, WritingR10IsEaccesAsInTheKernel) {
    auto rt = new_runtime();
    char log[1024] = {};
    const std::vector<bpf_insn> insns = {BPF_MOV64_IMM(BPF_REG_10, 0), BPF_EXIT_INSN()};
    EXPECT_EQ(errno_of([&] { return load(rt.get(), insns, log, sizeof log, 1); }), EACCES);
    EXPECT_NE(std::string(log).find("frame pointer is read only"), std::string::npos) << log;
}

TEST(ProgLoad, LogAttributeRules) {
    auto rt = new_runtime();
    char log[256];
    EXPECT_EQ(errno_of([&] { return load(rt.get(), kReturn7, log, sizeof log, 0); }), EINVAL);   // buf, no level
    EXPECT_EQ(errno_of([&] { return load(rt.get(), kReturn7, nullptr, sizeof log, 1); }), EINVAL);  // size, no buf
    EXPECT_EQ(errno_of([&] { return load(rt.get(), kReturn7, log, 0, 1); }), EINVAL);            // buf, no size
    EXPECT_EQ(errno_of([&] { return load(rt.get(), kReturn7, log, sizeof log, 16); }), EINVAL);  // unknown bits
    EXPECT_EQ(errno_of([&] { return load(rt.get(), kReturn7, log, 1u << 30, 1); }), EINVAL);     // too large
    EXPECT_GE(load(rt.get(), kReturn7, nullptr, 0, 1), 3) << bpfrt_last_error();  // level only: log discarded
    EXPECT_GE(load(rt.get(), kReturn7, log, 100, 1), 3) << bpfrt_last_error();
    EXPECT_NE(std::string(log).find("processed 2 insns"), std::string::npos) << log;
}

TEST(ProgLoad, LogLevelTwoListsEveryInstruction) {
    auto rt = new_runtime();
    char log[4096];
    ASSERT_GE(load(rt.get(), kReturn7, log, sizeof log, 2), 3);
    const std::string text = log;
    EXPECT_NE(text.find("0: (b7) mov r0, 7"), std::string::npos) << text;
    EXPECT_NE(text.find("1: (95) exit"), std::string::npos) << text;
}

TEST(ProgLoad, LogTooSmallIsEnospcAndTruncated) {
    auto rt = new_runtime();
    std::vector<bpf_insn> insns(200, BPF_MOV64_IMM(BPF_REG_0, 1));
    insns.push_back(BPF_EXIT_INSN());
    // The same load with a large enough buffer succeeds.
    std::vector<char> big(64 * 1024);
    EXPECT_GE(load(rt.get(), insns, big.data(), static_cast<unsigned>(big.size()), 2), 3) << bpfrt_last_error();
    const std::string full = big.data();
    char log[128];
    std::memset(log, 'x', sizeof log);
    EXPECT_EQ(errno_of([&] { return load(rt.get(), insns, log, sizeof log, 2); }), ENOSPC);
    EXPECT_EQ(std::string(log), full.substr(full.size() - (sizeof log - 1)));  // the end of the log
    std::memset(log, 'x', sizeof log);
    EXPECT_EQ(errno_of([&] { return load(rt.get(), insns, log, sizeof log, 2 | BPFRT_LOG_FIXED); }), ENOSPC);
    EXPECT_EQ(std::string(log), full.substr(0, sizeof log - 1));  // its beginning
    // No handle was used by the failed loads.
    EXPECT_EQ(Runtime::from_c(rt.get()).open_handles(), 1u);
}

TEST(ProgLoad, MapReferencesAreResolved) {
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    ASSERT_GE(map, 3);
    uint32_t key = 0;
    uint64_t value = 0x1122334455667788;
    ASSERT_EQ(bpfrt_update_elem(rt.get(), map, &key, &value, BPF_ANY), 0);
    // r0 = *(u32 *)(value + 4) via BPF_PSEUDO_MAP_VALUE; then store 5 at value + 0.
    const std::vector<bpf_insn> insns = {
        BPF_LD_MAP_VALUE(BPF_REG_1, map, 4),
        BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, 0),
        BPF_ST_MEM(BPF_W, BPF_REG_1, -4, 5),
        BPF_EXIT_INSN(),
    };
    const int prog = load_filter(rt.get(), insns);
    EXPECT_EQ(run_once(rt.get(), prog, ip_frame(6)), 0x11223344u);
    ASSERT_EQ(bpfrt_lookup_elem(rt.get(), map, &key, &value), 0);
    EXPECT_EQ(value, 0x1122334400000005u);
}

TEST(ProgLoad, BadMapReferences) {
    auto rt = new_runtime();
    char log[512];
    // No such handle: EBADF, logged as the kernel logs it.
    std::vector<bpf_insn> insns = {BPF_LD_MAP_FD(BPF_REG_1, 42), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};
    EXPECT_EQ(errno_of([&] { return load(rt.get(), insns, log, sizeof log, 1); }), EBADF);
    EXPECT_NE(std::string(log).find("fd 42 is not pointing to valid bpf_map"), std::string::npos) << log;
    // A program handle: EINVAL.
    const int prog = load(rt.get(), kReturn7);
    insns[0] = BPF_LD_MAP_FD(BPF_REG_1, prog);
    EXPECT_EQ(errno_of([&] { return load(rt.get(), insns); }), EINVAL);
    // Direct value: offset outside the value, or a map without direct values.
    const int array = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    const int hash = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 8, 1);
    std::vector<bpf_insn> direct = {BPF_LD_MAP_VALUE(BPF_REG_1, array, 8), BPF_MOV64_IMM(BPF_REG_0, 0),
                                    BPF_EXIT_INSN()};
    EXPECT_EQ(errno_of([&] { return load(rt.get(), direct); }), EINVAL);
    direct[0] = BPF_LD_MAP_VALUE(BPF_REG_1, hash, 0);
    EXPECT_EQ(errno_of([&] { return load(rt.get(), direct); }), EINVAL);
    // BPF_PSEUDO_MAP_FD with a non-zero second immediate.
    std::vector<bpf_insn> odd = {BPF_LD_IMM64_RAW_1(BPF_REG_1, BPF_PSEUDO_MAP_FD, array),
                                 BPF_LD_IMM64_RAW_2(1ull << 32), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};
    EXPECT_EQ(errno_of([&] { return load(rt.get(), odd); }), EINVAL);
}

TEST(ProgLoad, LicenseDecidesGplCompatibility) {
    auto rt = new_runtime();
    EXPECT_GE(bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, kReturn7.data(), 2, "Proprietary", nullptr, 0, 0),
              3);
    EXPECT_GE(bpfrt_prog_load(rt.get(), BPF_PROG_TYPE_SOCKET_FILTER, kReturn7.data(), 2, "", nullptr, 0, 0), 3);
}

}  // namespace
}  // namespace bpfrt::test
