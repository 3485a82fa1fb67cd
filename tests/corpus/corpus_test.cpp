// The corpus against its manifest, and (where bpf() is permitted) the host
// kernel's live verdict against the recorded one.
#include "corpus.hpp"
#include "corpus_kernel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>

namespace fs = std::filesystem;
using namespace bpfrt::corpus;

namespace {

std::vector<CorpusEntry> manifest_or_empty() {
    try {
        return load_corpus_manifest();
    } catch (const std::exception&) {
        return {};  // ManifestIsReadable reports the reason
    }
}

std::string key_of(const std::string& object, const std::string& program) { return object + ":" + program; }

bool objects_built() {
    std::error_code ec;
    return fs::is_directory(corpus_object_dir(), ec) && !fs::is_empty(corpus_object_dir(), ec);
}

std::string source_line(const fs::path& path, int number) {
    std::ifstream in(path);
    std::string line;
    for (int i = 1; std::getline(in, line); ++i)
        if (i == number) return line;
    return {};
}

TEST(CorpusManifest, IsReadableAndLargeEnough) {
    std::vector<CorpusEntry> entries;
    ASSERT_NO_THROW(entries = load_corpus_manifest());
    const auto rejected = std::count_if(entries.begin(), entries.end(),
                                        [](const CorpusEntry& e) { return e.verdict == Verdict::Reject; });
    EXPECT_GE(entries.size() - static_cast<size_t>(rejected), 60u) << "accepted programs";
    EXPECT_GE(rejected, 10) << "rejected programs";
}

TEST(CorpusManifest, EntriesAreUniqueAndComplete) {
    std::set<std::string> seen;
    for (const CorpusEntry& e : manifest_or_empty()) {
        SCOPED_TRACE(key_of(e.object, e.program));
        EXPECT_TRUE(seen.insert(key_of(e.object, e.program)).second) << "listed twice";
        EXPECT_TRUE(fs::exists(corpus_source_path(e))) << corpus_source_path(e);
        EXPECT_GT(e.insn_count, 0u);
        EXPECT_FALSE(e.section.empty());
        EXPECT_NE(e.prog_type_id, 0u);
        if (e.verdict == Verdict::Accept) {
            EXPECT_GT(e.verified_insns, 0u);
            EXPECT_GT(e.load_time_ns, 0u);
        }
    }
}

// A rejected program names the mistake a good verifier should report and the
// source line it is on (marked `bpfrt-corpus: fault` in the source).
TEST(CorpusManifest, RejectionsNameTheirMistake) {
    for (const CorpusEntry& e : manifest_or_empty()) {
        if (e.verdict != Verdict::Reject) continue;
        SCOPED_TRACE(key_of(e.object, e.program));
        EXPECT_FALSE(e.expect_message.empty());
        EXPECT_FALSE(e.kernel_log_tail.empty());
        ASSERT_GT(e.source_line, 0);
        EXPECT_NE(source_line(corpus_source_path(e), e.source_line).find("bpfrt-corpus: fault"), std::string::npos);
    }
}

TEST(CorpusObjects, EveryBuiltProgramIsInTheManifestAndBack) {
    if (!objects_built()) GTEST_SKIP() << "no corpus objects in " << corpus_object_dir() << " (clang missing?)";
    std::set<std::string> in_manifest;
    for (const CorpusEntry& e : manifest_or_empty()) in_manifest.insert(key_of(e.object, e.program));

    std::set<std::string> built;
    for (const auto& item : fs::directory_iterator(corpus_object_dir())) {
        if (item.path().extension() != ".o") continue;
        std::string error;
        const auto programs = list_object_programs(item.path(), error);
        EXPECT_TRUE(error.empty()) << error;
        EXPECT_FALSE(programs.empty()) << item.path() << " has no program";
        for (const ObjectProgram& p : programs) built.insert(key_of(item.path().filename().string(), p.program));
    }
    for (const std::string& k : built)
        EXPECT_TRUE(in_manifest.contains(k)) << k << " is built but not in verdicts.json: run record_verdicts";
    for (const std::string& k : in_manifest)
        EXPECT_TRUE(built.contains(k)) << k << " is in verdicts.json but was not built";
}

TEST(CorpusObjects, SectionsAndTypesMatchTheManifest) {
    if (!objects_built()) GTEST_SKIP() << "no corpus objects in " << corpus_object_dir();
    for (const CorpusEntry& e : manifest_or_empty()) {
        std::string error;
        const auto programs = list_object_programs(corpus_object_path(e), error);
        auto it = std::find_if(programs.begin(), programs.end(),
                               [&](const ObjectProgram& p) { return p.program == e.program; });
        if (it == programs.end()) continue;  // reported by the test above
        EXPECT_EQ(it->section, e.section) << key_of(e.object, e.program);
        EXPECT_EQ(it->prog_type_id, e.prog_type_id) << key_of(e.object, e.program);
        EXPECT_EQ(it->legacy_maps, e.legacy_maps) << key_of(e.object, e.program);
    }
}

class KernelVerdict : public testing::TestWithParam<CorpusEntry> {};

TEST_P(KernelVerdict, EqualsTheRecordedOne) {
    const CorpusEntry& e = GetParam();
    std::string why;
    if (!kernel_bpf_permitted(why)) GTEST_SKIP() << "host kernel check skipped: " << why;
    if (!fs::exists(corpus_object_path(e))) GTEST_SKIP() << corpus_object_path(e) << " not built";
    const KernelLoad load = kernel_load_program(corpus_object_path(e), e.program);
    ASSERT_TRUE(load.problem.empty()) << load.problem;
    EXPECT_EQ(load.accepted, e.verdict == Verdict::Accept)
        << e.object << " " << e.program << ": recorded " << verdict_name(e.verdict)
        << ", the kernel now says " << (load.accepted ? "ACCEPT" : "REJECT") << "\n" << load.log;
}

std::string test_name(const testing::TestParamInfo<CorpusEntry>& info) {
    std::string name = fs::path(info.param.object).stem().string() + "_" + info.param.program;
    std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(Corpus, KernelVerdict, testing::ValuesIn(manifest_or_empty()), test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KernelVerdict);

}  // namespace
