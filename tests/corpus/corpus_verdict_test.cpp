// bpfrt's verifier against the host kernel on every program of the corpus,
// through the path `bpfrt verify OBJ` takes (ObjectFile::verify: privileged,
// the program type from the section, alignment as the kernel on x86-64).
//
//  - The verdict is the kernel's recorded one (verdicts.json).
//  - A program the kernel accepts is never rejected for complexity.
//  - For a program the kernel rejects, our message (the one-line message and
//    the summary that opens the log) contains the manifest's expect_message
//    and names the faulty C source line (from BTF line info).
//
// Programs that still differ because work on them is in progress elsewhere
// are listed in kKnownDifferences with the reason: they are skipped with it,
// and the test fails as soon as one matches the kernel, so that the list
// only shrinks.
#include "corpus.hpp"

#include <bpfrt/object.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace bpfrt::corpus {
// gtest names a corpus case by its program, not by its bytes.
void PrintTo(const CorpusEntry& e, std::ostream* os) { *os << e.object << ":" << e.program; }
}  // namespace bpfrt::corpus

namespace bpfrt::corpus {
namespace {

struct KnownDifference {
    std::string_view program;
    std::string_view reason;
};

// Keep in step with the work that fixes them: the test fails when one matches.
// None at the moment (a std::array: a built-in array cannot be empty).
constexpr std::array<KnownDifference, 0> kKnownDifferences{};

const KnownDifference* known_difference(const std::string& program) {
    for (const KnownDifference& k : kKnownDifferences)
        if (k.program == program) return &k;
    return nullptr;
}

std::vector<CorpusEntry> manifest_or_empty() {
    try {
        return load_corpus_manifest();
    } catch (const std::exception&) {
        return {};  // corpus_tests reports why
    }
}

// What `bpfrt verify OBJ --program P` concludes.
struct Outcome {
    std::string load_error;  // the object could not be opened or verified at all
    ObjectVerdict verdict;
    bool accepted() const { return load_error.empty() && verdict.accepted; }
    // The one-line message and the summary that opens the log.
    std::string text() const {
        if (!load_error.empty()) return load_error;
        return verdict.message + "\n" + verdict.log.substr(0, verdict.log.find("\n\n"));
    }
};

Outcome verify_as_cli(const CorpusEntry& e) {
    Outcome out;
    auto obj = ObjectFile::open(corpus_object_path(e).string());
    if (!obj) {
        out.load_error = obj.error().message;
        return out;
    }
    const ObjectProgram* prog = obj->find_program(e.program);
    if (prog == nullptr) {
        out.load_error = "no program " + e.program + " in " + e.object;
        return out;
    }
    EXPECT_EQ(prog->type, e.prog_type_id) << "the section gives another program type than the kernel's";
    ObjectVerifyOptions options;  // privileged, type from the section, no strict alignment
    options.log_level = 1;
    auto verdict = obj->verify(*prog, options);
    if (!verdict) {
        out.load_error = verdict.error().message;
        return out;
    }
    out.verdict = std::move(*verdict);
    return out;
}

bool same_verdict(const CorpusEntry& e, const Outcome& ours) {
    return ours.accepted() == (e.verdict == Verdict::Accept);
}

// The instructions of the program that carry line `line` of its source.
bool line_has_insn(const CorpusEntry& e, int line) {
    auto obj = ObjectFile::open(corpus_object_path(e).string());
    const ObjectProgram* prog = obj ? obj->find_program(e.program) : nullptr;
    if (prog == nullptr) return false;
    return std::any_of(prog->line_info.begin(), prog->line_info.end(),
                       [&](const SourceLine& l) { return static_cast<int>(l.line) == line; });
}

bool names_line(const std::string& text, const CorpusEntry& e, int line) {
    return text.find(e.source + ":" + std::to_string(line) + ":") != std::string::npos;
}

class CorpusVerdict : public ::testing::TestWithParam<CorpusEntry> {};

TEST_P(CorpusVerdict, SameAsTheKernel) {
    const CorpusEntry& e = GetParam();
    if (!std::filesystem::exists(corpus_object_path(e)))
        GTEST_SKIP() << corpus_object_path(e) << " is not built (ninja corpus_objects)";
    const Outcome ours = verify_as_cli(e);
    const std::string kernel = verdict_name(e.verdict);
    if (const KnownDifference* known = known_difference(e.program)) {
        if (same_verdict(e, ours))
            FAIL() << e.program << " now gets the kernel's verdict (" << kernel
                   << "): remove it from kKnownDifferences in " << __FILE__;
        GTEST_SKIP() << "known difference (kernel " << kernel << "): " << known->reason << "; ours: " << ours.text();
    }
    ASSERT_TRUE(ours.load_error.empty()) << "bpfrt verify cannot verify it: " << ours.load_error;
    const ObjectVerdict& v = ours.verdict;
    if (e.verdict == Verdict::Accept) {
        EXPECT_NE(v.error_code, E2BIG) << "rejected for complexity, the kernel accepts it (processed "
                                       << e.verified_insns << " insns):\n" << v.log;
        EXPECT_TRUE(v.accepted) << "the kernel accepts it; ours: " << v.message << "\n" << v.log;
        return;
    }
    ASSERT_FALSE(v.accepted) << "the kernel rejects it (" << (e.kernel_log_tail.empty() ? "" : e.kernel_log_tail[0])
                             << "); ours accepts";
    const std::string text = ours.text();
    if (!e.expect_message.empty()) {
        EXPECT_NE(text.find(e.expect_message), std::string::npos)
            << "the message does not say '" << e.expect_message << "':\n" << text;
    }
    if (e.source_line > 0) {
        // Where the compiler kept no instruction of the faulty line (a
        // `return` merged into a shared exit), a line at most 3 above it
        // (the branch that chose the path) is named instead.
        bool named = names_line(text, e, e.source_line);
        if (!named && !line_has_insn(e, e.source_line))
            for (int l = e.source_line - 3; l < e.source_line; ++l) named |= names_line(text, e, l);
        EXPECT_TRUE(named) << "the message does not name " << e.source << ":" << e.source_line << ":\n" << text;
    }
}

std::string program_name(const ::testing::TestParamInfo<CorpusEntry>& info) { return info.param.program; }

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusVerdict, ::testing::ValuesIn(manifest_or_empty()), program_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CorpusVerdict);

// As the kernel on x86-64: packet alignment is checked only when asked for
// (BPF_F_STRICT_ALIGNMENT, bpfrt verify --strict-alignment).
TEST(CorpusVerdictOptions, StrictAlignmentOnlyWhenAskedFor) {
    CorpusEntry e;
    e.object = "cgroup_skb_accounting.o";
    if (!std::filesystem::exists(corpus_object_path(e))) GTEST_SKIP() << "corpus objects not built";
    auto obj = ObjectFile::open(corpus_object_path(e).string());
    ASSERT_TRUE(obj) << obj.error().message;
    const ObjectProgram* prog = obj->find_program("cgroup_egress");
    ASSERT_NE(prog, nullptr);
    auto loose = obj->verify(*prog);
    ASSERT_TRUE(loose);
    EXPECT_TRUE(loose->accepted) << loose->message;
    ObjectVerifyOptions strict;
    strict.strict_alignment = true;
    auto aligned = obj->verify(*prog, strict);
    ASSERT_TRUE(aligned);
    EXPECT_FALSE(aligned->accepted);
    EXPECT_NE(aligned->message.find("misaligned packet access"), std::string::npos) << aligned->message;
}

TEST(CorpusVerdictList, KnownDifferencesNameCorpusPrograms) {
    const std::vector<CorpusEntry> entries = manifest_or_empty();
    for (const KnownDifference& k : kKnownDifferences) {
        const bool listed = std::any_of(entries.begin(), entries.end(),
                                        [&](const CorpusEntry& e) { return e.program == k.program; });
        EXPECT_TRUE(listed) << k.program << " is not in the manifest: remove it from kKnownDifferences";
    }
}

}  // namespace
}  // namespace bpfrt::corpus
