// Every program of the conformance suite assembles, matches its `-- raw`
// section where it has one, and survives disassembly and reassembly.
#include "isa/asm_syntax.hpp"
#include "isa/opcodes.hpp"
#include "support/conformance_data.hpp"

#include <bpfrt/asm.hpp>

#include <gtest/gtest.h>

#include <filesystem>

namespace {

namespace fs = std::filesystem;
using bpfrt::isa::assemble;
using bpfrt::isa::disassemble;
using bpfrt::isa::DisasmOptions;

fs::path conformance_dir() { return fs::path(BPFRT_SHARED_DIR) / "conformance"; }

std::vector<uint64_t> words(std::span<const bpf_insn> prog) {
    std::vector<uint64_t> out;
    for (const bpf_insn& insn : prog) out.push_back(bpfrt::isa::asm_syntax::to_word(insn));
    return out;
}

std::vector<ConformanceCase> all_cases() {
    std::vector<ConformanceCase> cases;
    for (const fs::path& file : conformance_files(conformance_dir())) {
        auto c = read_conformance_file(file);
        EXPECT_TRUE(c.has_value()) << file << ": " << c.error().message;
        if (c) cases.push_back(std::move(*c));
    }
    return cases;
}

#define SKIP_WITHOUT_DATA(cases)                                                        \
    if ((cases).empty()) GTEST_SKIP() << "no conformance data in " << conformance_dir()

TEST(AsmConformance, EveryProgramAssemblesToDecodableCode) {
    const auto cases = all_cases();
    SKIP_WITHOUT_DATA(cases);
    for (const ConformanceCase& c : cases) {
        SCOPED_TRACE(c.name);
        auto prog = assemble(c.asm_text);
        ASSERT_TRUE(prog.has_value()) << prog.error().message;
        EXPECT_FALSE(prog->empty());
        auto decoded = bpfrt::isa::decode_all(*prog);
        EXPECT_TRUE(decoded.has_value()) << decoded.error().message;
    }
}

TEST(AsmConformance, RawSectionsEqualTheAssembledBytes) {
    const auto cases = all_cases();
    SKIP_WITHOUT_DATA(cases);
    size_t with_raw = 0;
    for (const ConformanceCase& c : cases) {
        if (!c.raw) continue;
        ++with_raw;
        SCOPED_TRACE(c.name);
        auto prog = assemble(c.asm_text);
        ASSERT_TRUE(prog.has_value()) << prog.error().message;
        EXPECT_EQ(words(*prog), *c.raw);
    }
    EXPECT_GE(with_raw, 1u) << "the suite has at least lddw.data with a -- raw section";
}

// Assembling the disassembly of every program gives back the same bytes.
void expect_round_trip(const DisasmOptions& options) {
    const auto cases = all_cases();
    SKIP_WITHOUT_DATA(cases);
    for (const ConformanceCase& c : cases) {
        SCOPED_TRACE(c.name);
        auto prog = assemble(c.asm_text);
        ASSERT_TRUE(prog.has_value()) << prog.error().message;
        const std::string text = disassemble(*prog, options);
        auto again = assemble(text);
        ASSERT_TRUE(again.has_value()) << again.error().message << "\n" << text;
        EXPECT_EQ(words(*again), words(*prog)) << text;
        EXPECT_EQ(disassemble(*again, options), text);
    }
}

TEST(AsmConformance, RoundTripWithLabels) { expect_round_trip({.labels = true, .show_offsets = false}); }
TEST(AsmConformance, RoundTripWithOffsets) { expect_round_trip({.labels = false, .show_offsets = false}); }
TEST(AsmConformance, RoundTripWithSlotNumbers) { expect_round_trip({.labels = true, .show_offsets = true}); }

// The suite's programs use labels; with labels on, no jump stays numeric
// when its target is an instruction.
TEST(AsmConformance, LabelsReplaceOffsets) {
    const auto cases = all_cases();
    SKIP_WITHOUT_DATA(cases);
    for (const ConformanceCase& c : cases) {
        if (c.name != "call_local") continue;
        auto prog = assemble(c.asm_text);
        ASSERT_TRUE(prog.has_value());
        const std::string text = disassemble(*prog);
        EXPECT_NE(text.find("call local L"), std::string::npos) << text;
        EXPECT_NE(text.find("jne %r0, 15, L"), std::string::npos) << text;
        return;
    }
    FAIL() << "call_local.data not found";
}

}  // namespace
