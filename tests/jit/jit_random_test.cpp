// Random valid programs (random_program.hpp) on the interpreter and the JIT,
// comparing r0, the input buffer (which receives the stack) and the map-like
// buffer; and a sample of kernel-compatible ones in the host kernel too.
//
// BPFRT_RANDOM_PROGRAMS (default 100000; 20000 under AddressSanitizer, which
// makes each run about 10x slower) sets how many programs run,
// BPFRT_KERNEL_PROGRAMS (default 300) how many go to the kernel,
// BPFRT_RANDOM_SEED (default 1) where the sequence of seeds starts.
#include "jit_test_util.hpp"
#include "kernel_oracle.hpp"
#include "random_program.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/bpf.h>
#include <bpfrt/jit.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace {

using namespace bpfrt::jit::testing;
using bpfrt::jit::JitOptions;

uint64_t env_count(const char* name, uint64_t fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') return fallback;
    return std::strtoull(v, nullptr, 10);
}

// One run of `prog` on the inputs of `seed`, through Program::run or, with
// `direct`, through a jit::DirectEntry (which must give the same outcome).
Outcome run_random(const bpfrt::vm::Program& prog, uint64_t seed, bool direct = false) {
    RandomEnv env;
    env.fill(seed);
    bpfrt::vm::ExecContext ctx;
    ctx.user = &env;
    ctx.packet = env.input;
    ctx.packet_len = sizeof env.input;
    Outcome out;
    const uint64_t r1 = reinterpret_cast<uint64_t>(env.input);
    auto r = direct ? bpfrt::jit::DirectEntry(prog).run(r1, sizeof env.input, ctx) : prog.run(r1, sizeof env.input, ctx);
    if (r) out.r0 = *r;
    else out.error = r.error().message;
    out.memory.assign(env.input, env.input + sizeof env.input);
    out.memory.insert(out.memory.end(), env.map, env.map + sizeof env.map);
    return out;
}

// The JIT variant a seed is tested with: mostly plain, some blinded, some without BMI2.
JitOptions options_for(uint64_t seed) {
    JitOptions o;
    o.constant_blinding = seed % 8 == 3;
    o.use_bmi2 = seed % 8 != 5;
    return o;
}

TEST(JitRandom, ProgramsMatchTheInterpreter) {
    if (!bpfrt::jit::jit_supported()) GTEST_SKIP() << "no JIT on this host";
#if defined(__SANITIZE_ADDRESS__)
    constexpr uint64_t kDefaultPrograms = 20000;  // keeps the sanitizer run near a minute
#else
    constexpr uint64_t kDefaultPrograms = 100000;
#endif
    const uint64_t count = env_count("BPFRT_RANDOM_PROGRAMS", kDefaultPrograms);
    const uint64_t first = env_count("BPFRT_RANDOM_SEED", 1);
    const bpfrt::vm::HelperTable helpers = random_program_helpers();
    const auto start = std::chrono::steady_clock::now();
    uint64_t agreed = 0, early_exits = 0, instructions = 0, failures = 0;
    for (uint64_t seed = first; seed < first + count; ++seed) {
        const auto insns = random_program(seed);
        instructions += insns.size();
        auto interp = bpfrt::vm::make_interpreter(insns, &helpers, bpfrt::vm::Mode::Verified);
        auto jit = bpfrt::jit::make_jit(insns, &helpers, options_for(seed));
        ASSERT_TRUE(interp) << "seed " << seed << ": " << interp.error().message;
        ASSERT_TRUE(jit) << "seed " << seed << ": " << jit.error().message;
        const Outcome expected = run_random(**interp, seed);
        const Outcome got = run_random(**jit, seed);
        // The direct entry gives run()'s outcome.
        const bool direct_agrees = run_random(**jit, seed, true) == got;
        if (!direct_agrees && ++failures <= 3) ADD_FAILURE() << "seed " << seed << ": the direct entry differs from run()";
        if (expected == got && direct_agrees) {
            ++agreed;
            if (expected.r0 == 0u) ++early_exits;
            continue;
        }
        if (++failures <= 3) {
            ADD_FAILURE() << "seed " << seed << ": interpreter " << describe(expected) << ", JIT " << describe(got)
                          << (expected.memory != got.memory ? " (memory differs)" : "") << "\nprogram:\n"
                          << bpfrt::isa::disassemble(insns, {true, true});
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("jit random: %llu/%llu programs agree (%llu instructions in all, %llu with r0 = 0), %.1f s\n",
                static_cast<unsigned long long>(agreed), static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(instructions), static_cast<unsigned long long>(early_exits), seconds);
    EXPECT_EQ(agreed, count);
}

TEST(JitRandom, KernelAgreesOnASample) {
    if (!bpfrt::jit::jit_supported()) GTEST_SKIP() << "no JIT on this host";
    std::string why;
    if (!bpfrt::kernel::kernel_bpf_available(&why)) GTEST_SKIP() << "the kernel refuses bpf(): " << why;
    const uint64_t count = env_count("BPFRT_KERNEL_PROGRAMS", 300);
    const uint64_t first = env_count("BPFRT_RANDOM_SEED", 1);
    RandomProgramOptions options;
    options.kernel_compatible = true;
    const bpfrt::vm::HelperTable none;
    uint64_t agreed = 0, rejected = 0, run_errors = 0;
    const std::vector<uint8_t> data(64, 0xab);
    for (uint64_t seed = first; seed < first + count; ++seed) {
        const auto insns = random_program(seed, options);
        auto jit = bpfrt::jit::make_jit(insns, &none);
        ASSERT_TRUE(jit) << "seed " << seed << ": " << jit.error().message;
        bpfrt::vm::ExecContext ctx;
        auto r0 = (*jit)->run(0, 0, ctx);
        ASSERT_TRUE(r0) << "seed " << seed << ": " << r0.error().message;
        auto loaded = bpfrt::kernel::prog_load(BPF_PROG_TYPE_SOCKET_FILTER, insns, "GPL", {.log_level = 0});
        if (!loaded.accepted()) {
            if (++rejected <= 3) {
                auto with_log = bpfrt::kernel::prog_load(BPF_PROG_TYPE_SOCKET_FILTER, insns, "GPL");
                const std::string& log = with_log.log;
                ADD_FAILURE() << "seed " << seed << ": the kernel rejects the program ("
                              << bpfrt::kernel::errno_name(loaded.error) << "): "
                              << log.substr(log.size() > 600 ? log.size() - 600 : 0) << "\nprogram:\n"
                              << bpfrt::isa::disassemble(insns, {true, true});
            }
            continue;
        }
        const auto run = bpfrt::kernel::test_run(loaded.fd.get(), data);
        if (run.error != 0) {
            ++run_errors;
            continue;
        }
        // TEST_RUN shows only the low 32 bits of r0.
        if (run.retval == static_cast<uint32_t>(*r0)) ++agreed;
        else
            ADD_FAILURE() << "seed " << seed << ": kernel r0 = " << run.retval << ", JIT r0 = "
                          << static_cast<uint32_t>(*r0) << "\nprogram:\n"
                          << bpfrt::isa::disassemble(insns, {true, true});
    }
    std::printf("jit vs kernel: %llu/%llu programs agree, %llu rejected by the kernel, %llu test runs failed\n",
                static_cast<unsigned long long>(agreed), static_cast<unsigned long long>(count),
                static_cast<unsigned long long>(rejected), static_cast<unsigned long long>(run_errors));
    EXPECT_EQ(agreed, count);
}

}  // namespace
