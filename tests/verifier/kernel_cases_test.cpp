// The kernel half of the verifier suite: every case is loaded into the host
// kernel (maps created for real, map_fd handles patched with their fds), and
// the kernel's verdict must equal the case's expectation, or its `kernel:`
// verdict where the case documents a deliberate difference. A rejection must
// also be for the expected reason: the expectation's substring (or `klog:`)
// must appear in the kernel's log, and its errno must match when given.
//
// The kernel loads with BPF_F_STRICT_ALIGNMENT: our verifier's alignment
// rules are those of the kernel's strict mode.
//
// Set BPFRT_VTEST_VERBOSE=1 to print every kernel verdict, errno and log tail.
#include "case_file.hpp"
#include "kernel_oracle.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace {

using bpfrt::vtest::Case;
using bpfrt::vtest::Verdict;
namespace kernel = bpfrt::kernel;

// Far beyond any open fd: a handle the case did not declare.
constexpr int kInvalidFd = 0x3fffffff;

std::string log_tail(const std::string& log, size_t lines) {
    size_t pos = log.size();
    for (size_t n = 0; n <= lines && pos > 0; ++n) {
        size_t nl = log.rfind('\n', pos - 1);
        if (nl == std::string::npos) return log;
        pos = nl;
    }
    return pos < log.size() ? log.substr(pos + 1) : std::string();
}

bool verbose() {
    const char* v = std::getenv("BPFRT_VTEST_VERBOSE");
    return v && *v && std::string(v) != "0";
}

// Asked once per run: the answer does not change between cases.
bool bpf_available(std::string* why) {
    static std::string reason;
    static const bool available = kernel::kernel_bpf_available(&reason);
    *why = reason;
    return available;
}

class KernelCase : public testing::TestWithParam<size_t> {};

TEST_P(KernelCase, KernelAgrees) {
    const Case& c = bpfrt::vtest::all_cases()[GetParam()];
    ASSERT_TRUE(c.parse_error.empty()) << c.parse_error;
    auto program = bpfrt::vtest::build_program(c);
    ASSERT_TRUE(program) << c.file << ":" << c.line << ": " << program.error().message;

    std::string why;
    if (!bpf_available(&why)) {
        GTEST_SKIP() << "kernel oracle unavailable (" << why << "); our verifier is still checked";
    }
    if (!c.privileged && !kernel::kernel_unprivileged_bpf_enabled(&why)) {
        GTEST_SKIP() << "unprivileged case: " << why
                     << "; it is checked against our verifier only";
    }

    std::vector<kernel::MapResult> maps;
    std::vector<int> fds;
    for (const auto& m : c.maps) {
        int inner_fd = 0;
        if (m.inner) {  // kept open in `maps` until the load is done
            const auto& in = *m.inner;
            maps.push_back(kernel::create_map(in.type, in.key_size, in.value_size, in.max_entries, in.flags));
            ASSERT_TRUE(maps.back().fd.valid()) << "creating the inner map of '" << m.type_name
                                                << "': " << kernel::errno_name(maps.back().error);
            inner_fd = maps.back().fd.get();
        }
        maps.push_back(kernel::create_map(m.type, m.key_size, m.value_size, m.max_entries, m.flags, inner_fd));
        ASSERT_TRUE(maps.back().fd.valid()) << "creating map '" << m.type_name
                                            << "': " << kernel::errno_name(maps.back().error);
        fds.push_back(maps.back().fd.get());
    }
    std::vector<bpf_insn> insns = *program;
    bpfrt::vtest::patch_map_handles(insns, fds, kInvalidFd);

    kernel::LoadOptions options;
    options.unprivileged = !c.privileged;
    // Our verifier checks alignment as the kernel does in strict mode.
    options.prog_flags = BPF_F_STRICT_ALIGNMENT;
    kernel::LoadResult load = kernel::prog_load(c.prog_type, insns, c.license, options);
    Verdict got = load.accepted() ? Verdict::Accept : Verdict::Reject;
    Verdict want = c.kernel.value_or(c.expect.verdict);

    std::string where = c.file + ":" + std::to_string(c.line) + " '" + c.name + "'";
    if (verbose()) {
        std::cout << "[kernel] " << where << ": " << verdict_name(got)
                  << (load.accepted() ? "" : " " + kernel::errno_name(load.error)) << "\n"
                  << log_tail(load.log, 3) << "\n";
    }
    ASSERT_EQ(verdict_name(got), verdict_name(want))
        << where << ": the kernel says " << verdict_name(got)
        << (load.accepted() ? "" : " (" + kernel::errno_name(load.error) + ")") << "\n"
        << log_tail(load.log, 12);
    if (got == Verdict::Accept || c.kernel) return;

    // Rejected as expected: for the expected reason?
    std::string reason = c.kernel_log.value_or(c.expect.substring);
    if (!reason.empty()) {
        EXPECT_NE(load.log.find(reason), std::string::npos)
            << where << ": the kernel rejects it, but its log lacks \"" << reason << "\":\n"
            << log_tail(load.log, 12);
    }
    if (c.expect.error != 0) {
        EXPECT_EQ(kernel::errno_name(load.error), kernel::errno_name(c.expect.error)) << where;
    }
}

std::vector<size_t> case_indices() {
    std::vector<size_t> v(bpfrt::vtest::all_cases().size());
    for (size_t i = 0; i < v.size(); ++i) v[i] = i;
    return v;
}

std::string case_name(const testing::TestParamInfo<size_t>& info) {
    return bpfrt::vtest::all_cases()[info.param].id;
}

INSTANTIATE_TEST_SUITE_P(Cases, KernelCase, testing::ValuesIn(case_indices()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KernelCase);

}  // namespace
