// Our half of the verifier suite: every case through bpfrt's verifier. The
// verdict must equal the expectation; a rejection's log or message must
// contain the expected substring, and its error code must match when given.
#include "case_file.hpp"
#include "kernel_oracle.hpp"

#include "verifier/verifier.hpp"

#include <gtest/gtest.h>

namespace {

using bpfrt::vtest::Case;
using bpfrt::vtest::Verdict;
namespace verifier = bpfrt::verifier;

class OurCase : public testing::TestWithParam<size_t> {};

verifier::MapInfo map_info(const bpfrt::vtest::MapSpec& m) {
    verifier::MapInfo info;
    info.type = m.type;
    info.key_size = m.key_size;
    info.value_size = m.value_size;
    info.max_entries = m.max_entries;
    info.map_flags = m.flags;
    if (m.inner) info.inner = std::make_shared<const verifier::MapInfo>(map_info(*m.inner));
    return info;
}

TEST_P(OurCase, VerifierAgrees) {
    const Case& c = bpfrt::vtest::all_cases()[GetParam()];
    ASSERT_TRUE(c.parse_error.empty()) << c.parse_error;
    auto program = bpfrt::vtest::build_program(c);
    ASSERT_TRUE(program) << c.file << ":" << c.line << ": " << program.error().message;

    verifier::VerifyInput input;
    input.insns = *program;
    input.prog_type = c.prog_type;
    input.license = c.license;
    input.privileged = c.privileged;
    input.log_level = 1;
    input.map_info = [&c](int32_t handle) -> std::optional<verifier::MapInfo> {
        if (handle < 0 || static_cast<size_t>(handle) >= c.maps.size()) return std::nullopt;
        return map_info(c.maps[static_cast<size_t>(handle)]);
    };
    verifier::VerifyResult result = verifier::verify(input);

    std::string where = c.file + ":" + std::to_string(c.line) + " '" + c.name + "'";
    Verdict got = result.accepted ? Verdict::Accept : Verdict::Reject;
    ASSERT_EQ(verdict_name(got), verdict_name(c.expect.verdict))
        << where << ": our verifier says " << verdict_name(got) << ": " << result.message << "\n"
        << result.log;
    if (got == Verdict::Accept) {
        EXPECT_EQ(result.error_code, 0) << where;
        return;
    }
    EXPECT_NE(result.error_code, 0) << where << ": a rejection needs an error code";
    if (!c.expect.substring.empty()) {
        bool found = result.log.find(c.expect.substring) != std::string::npos ||
                     result.message.find(c.expect.substring) != std::string::npos;
        EXPECT_TRUE(found) << where << ": rejected, but neither log nor message contains \""
                           << c.expect.substring << "\"\nmessage: " << result.message << "\n"
                           << result.log;
    }
    if (c.expect.error != 0) {
        EXPECT_EQ(bpfrt::kernel::errno_name(result.error_code),
                  bpfrt::kernel::errno_name(c.expect.error))
            << where << ": " << result.message;
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

INSTANTIATE_TEST_SUITE_P(Cases, OurCase, testing::ValuesIn(case_indices()), case_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(OurCase);

// The suite itself: enough cases, all parsed.
TEST(VerifierSuite, HasAtLeast400ParsedCases) {
    const auto& cases = bpfrt::vtest::all_cases();
    EXPECT_GE(cases.size(), 400u);
    for (const auto& c : cases) EXPECT_TRUE(c.parse_error.empty()) << c.parse_error;
}

}  // namespace
