// Shared helpers for the interpreter tests: build, prepare and run programs
// written with the insn.h macros.
#pragma once

#include <bpfrt/insn.h>
#include <bpfrt/vm.hpp>

#include <gtest/gtest.h>

#include <initializer_list>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::vm::test {

using Prog = std::vector<bpf_insn>;

inline std::string mode_name(const ::testing::TestParamInfo<Mode>& info) {
    return info.param == Mode::Checked ? "Checked" : "Verified";
}

inline std::unique_ptr<Program> prepare(const Prog& p, Mode mode, const HelperTable* helpers = nullptr) {
    auto prog = make_interpreter(p, helpers, mode);
    EXPECT_TRUE(prog) << prog.error().message;
    return prog ? std::move(*prog) : nullptr;
}

// Runs with r1 = pointer to `mem` (allowed, writable unless told otherwise) and r2 = its size.
inline Result<uint64_t> run(const Prog& p, Mode mode, std::span<uint8_t> mem = {},
                            const HelperTable* helpers = nullptr, bool mem_writable = true) {
    auto prog = make_interpreter(p, helpers, mode);
    if (!prog) return std::unexpected(prog.error());
    ExecContext ctx;
    ctx.allow(mem.data(), mem.size(), mem_writable);
    return (*prog)->run(reinterpret_cast<uintptr_t>(mem.data()), mem.size(), ctx);
}

// r0 of a program that must succeed.
inline uint64_t r0_of(const Prog& p, Mode mode, std::span<uint8_t> mem = {}, const HelperTable* helpers = nullptr) {
    auto r = run(p, mode, mem, helpers);
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : 0xdeadbeefdeadbeefull;
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace bpfrt::vm::test
