// Every program of the bpf_conformance suite on the interpreter and the JIT
// (plain, with constant blinding, without BMI2): identical r0 and memory,
// and the suite's expected result.
#include "helpers/conformance.hpp"
#include "jit_test_util.hpp"
#include "support/conformance_data.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/jit.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

namespace {

namespace fs = std::filesystem;
using bpfrt::jit::JitOptions;
using bpfrt::jit::testing::Outcome;

fs::path conformance_dir() { return fs::path(BPFRT_SHARED_DIR) / "conformance"; }

std::vector<bpf_insn> program_of(const ConformanceCase& c) {
    if (c.raw) return insns_from_raw(*c.raw);
    auto assembled = bpfrt::isa::assemble(c.asm_text);
    if (!assembled) ADD_FAILURE() << c.name << ": " << assembled.error().message;
    return assembled.value_or(std::vector<bpf_insn>{});
}

Outcome run_on(const bpfrt::vm::Program& prog, const ConformanceCase& c) {
    Outcome out;
    out.memory = c.mem;
    bpfrt::vm::ExecContext ctx;
    ctx.packet = out.memory.data();
    ctx.packet_len = out.memory.size();
    auto r = prog.run(reinterpret_cast<uint64_t>(out.memory.data()), out.memory.size(), ctx);
    if (r) out.r0 = *r;
    else out.error = r.error().message;
    return out;
}

struct Variant {
    const char* name;
    JitOptions options;
};

TEST(JitConformance, EveryFileMatchesTheInterpreter) {
    if (!fs::is_directory(conformance_dir()))
        GTEST_SKIP() << "conformance data not found at " << conformance_dir() << "; skipping";
    if (!bpfrt::jit::jit_supported()) GTEST_SKIP() << "no JIT on this host";
    static const bpfrt::vm::HelperTable helpers = bpfrt::helpers::conformance_helpers();
    const Variant variants[] = {{"jit", {}}, {"jit+blinding", {true, true}}, {"jit-bmi2", {false, false}}};
    const auto files = conformance_files(conformance_dir());
    ASSERT_FALSE(files.empty());
    size_t agreed = 0;
    for (const auto& file : files) {
        auto c = read_conformance_file(file);
        ASSERT_TRUE(c) << file << ": " << c.error().message;
        const auto insns = program_of(*c);
        auto interp = bpfrt::vm::make_interpreter(insns, &helpers, bpfrt::vm::Mode::Verified);
        bool all = true;
        for (const Variant& v : variants) {
            auto jit = bpfrt::jit::make_jit(insns, &helpers, v.options);
            if (!interp || !jit) {
                EXPECT_EQ(interp.has_value(), jit.has_value())
                    << file.filename() << " (" << v.name << "): one engine refused the program: "
                    << (interp ? jit.error().message : interp.error().message);
                all = all && interp.has_value() == jit.has_value();
                continue;
            }
            const Outcome expected = run_on(**interp, *c);
            const Outcome got = run_on(**jit, *c);
            if (!(expected == got)) {
                ADD_FAILURE() << file.filename() << " (" << v.name << "): interpreter "
                              << bpfrt::jit::testing::describe(expected) << ", JIT " << bpfrt::jit::testing::describe(got)
                              << (expected.memory != got.memory ? " (memory differs)" : "");
                all = false;
            } else if (!c->error && c->result && got.r0 != c->result) {
                ADD_FAILURE() << file.filename() << " (" << v.name << "): r0 = " << bpfrt::jit::testing::describe(got)
                              << ", the suite expects " << *c->result;
                all = false;
            }
        }
        if (all) ++agreed;
    }
    std::printf("jit conformance: %zu/%zu files agree with the interpreter in all %zu JIT variants\n", agreed,
                files.size(), std::size(variants));
    EXPECT_EQ(agreed, files.size());
}

}  // namespace
