// Runs every program of the bpf_conformance suite (../shared/conformance)
// through the interpreter and checks r0 or the expected error.
#include "helpers/conformance.hpp"
#include "support/conformance_data.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/vm.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

namespace {

namespace fs = std::filesystem;
using bpfrt::vm::Mode;

fs::path conformance_dir() { return fs::path(BPFRT_SHARED_DIR) / "conformance"; }

std::vector<bpf_insn> program_of(const ConformanceCase& c) {
    if (c.raw) {
        std::vector<bpf_insn> out(c.raw->size());
        std::memcpy(out.data(), c.raw->data(), c.raw->size() * sizeof(bpf_insn));
        return out;
    }
    auto assembled = bpfrt::isa::assemble(c.asm_text);
    if (!assembled) ADD_FAILURE() << c.name << ": " << assembled.error().message;
    return assembled.value_or(std::vector<bpf_insn>{});
}

// Runs one case; returns an empty string on success, else what went wrong.
std::string run_case(const ConformanceCase& c, Mode mode) {
    static const bpfrt::vm::HelperTable helpers = bpfrt::helpers::conformance_helpers();
    const auto prog = program_of(c);
    auto vm = bpfrt::vm::make_interpreter(prog, &helpers, mode);
    std::string error;
    std::optional<uint64_t> r0;
    if (!vm) {
        error = vm.error().message;
    } else {
        std::vector<uint8_t> mem = c.mem;
        bpfrt::vm::ExecContext ctx;
        ctx.allow(mem.data(), mem.size(), true);
        ctx.packet = mem.data();
        ctx.packet_len = mem.size();
        auto result = (*vm)->run(reinterpret_cast<uint64_t>(mem.data()), mem.size(), ctx);
        if (result) r0 = *result;
        else error = result.error().message;
    }
    if (c.error) return r0 ? "expected an error, got r0 = " + std::to_string(*r0) : "";
    if (!r0) return "failed: " + error;
    if (c.result && *r0 != *c.result)
        return "r0 = " + std::to_string(*r0) + ", expected " + std::to_string(*c.result);
    return "";
}

class Conformance : public ::testing::TestWithParam<Mode> {};

TEST_P(Conformance, EveryFilePasses) {
    if (!fs::is_directory(conformance_dir()))
        GTEST_SKIP() << "conformance data not found at " << conformance_dir()
                     << " (set -DBPFRT_SHARED_DIR=...); skipping";
    const auto files = conformance_files(conformance_dir());
    ASSERT_FALSE(files.empty());
    size_t passed = 0;
    for (const auto& file : files) {
        auto c = read_conformance_file(file);
        if (!c) {
            ADD_FAILURE() << file << ": " << c.error().message;
            continue;
        }
        const std::string problem = run_case(*c, GetParam());
        if (problem.empty()) ++passed;
        else ADD_FAILURE() << file.filename() << ": " << problem;
    }
    const char* mode = GetParam() == Mode::Checked ? "checked" : "verified";
    std::printf("conformance (%s mode): %zu/%zu files passed\n", mode, passed, files.size());
    EXPECT_EQ(passed, files.size());
}

// Checked mode is the mode for unverified programs such as these; the
// verified (unchecked) path must compute the same results on them too.
INSTANTIATE_TEST_SUITE_P(Interpreter, Conformance, ::testing::Values(Mode::Checked, Mode::Verified),
                         [](const auto& param_info) {
                             return std::string(param_info.param == Mode::Checked ? "Checked" : "Verified");
                         });

}  // namespace
