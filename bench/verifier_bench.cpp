// Verification time and processed instructions of bpfrt's verifier against
// the host kernel's BPF_PROG_LOAD of the same programs, in the same run.
//
// The programs: the accepted cases of tests/verifier/cases with the most
// processed instructions (privileged loads, maps created for real in the
// kernel). Each program is verified/loaded `kRuns` times; the median is
// reported. Prints a Markdown table (bench/RESULTS.md, "Verifier").
// Usage: verifier_bench [N programs, default 10]
#include "case_file.hpp"
#include "kernel_oracle.hpp"

#include "verifier/verifier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

using namespace bpfrt;
constexpr int kRuns = 21;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

verifier::VerifyResult ours(const vtest::Case& c, std::span<const bpf_insn> insns) {
    verifier::VerifyInput in;
    in.insns = insns;
    in.prog_type = c.prog_type;
    in.license = c.license;
    in.privileged = c.privileged;
    in.map_info = [&c](int32_t h) -> std::optional<verifier::MapInfo> {
        if (h < 0 || static_cast<size_t>(h) >= c.maps.size()) return std::nullopt;
        const auto& m = c.maps[static_cast<size_t>(h)];
        return verifier::MapInfo{m.type, m.key_size, m.value_size, m.max_entries, m.flags, false};
    };
    return verifier::verify(in);
}

struct Row {
    std::string name;
    size_t insns = 0;
    uint64_t processed = 0;
    double ours_us = 0;
    std::optional<uint64_t> kernel_processed;
    std::optional<double> kernel_us;
};

std::optional<uint64_t> kernel_processed(const std::string& log) {
    static const std::regex re("processed ([0-9]+) insns");
    std::smatch m;
    if (!std::regex_search(log, m, re)) return std::nullopt;
    return std::stoull(m[1].str());
}

// Loads into the kernel kRuns times (maps created once); nullopt when refused.
void kernel_side(const vtest::Case& c, std::vector<bpf_insn> insns, Row& row) {
    std::vector<kernel::Fd> maps;
    std::vector<int> fds;
    for (const auto& m : c.maps) {
        auto r = kernel::create_map(m.type, m.key_size, m.value_size, m.max_entries, m.flags);
        if (!r.fd.valid()) return;
        fds.push_back(r.fd.get());
        maps.push_back(std::move(r.fd));
    }
    vtest::patch_map_handles(insns, fds, -1);
    kernel::LoadOptions stats;
    stats.log_level = 4;  // BPF_LOG_STATS: the processed-instruction line
    stats.prog_flags = BPF_F_STRICT_ALIGNMENT;
    const auto first = kernel::prog_load(c.prog_type, insns, c.license, stats);
    if (!first.accepted()) return;
    row.kernel_processed = kernel_processed(first.log);
    kernel::LoadOptions quiet;
    quiet.log_level = 0;
    quiet.prog_flags = BPF_F_STRICT_ALIGNMENT;
    std::vector<double> us;
    for (int i = 0; i < kRuns; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto r = kernel::prog_load(c.prog_type, insns, c.license, quiet);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
        if (!r.accepted()) return;
    }
    row.kernel_us = median(us);
}

}  // namespace

int main(int argc, char** argv) {
    const size_t want = argc > 1 ? static_cast<size_t>(std::strtoul(argv[1], nullptr, 10)) : 10;
    std::string why;
    const bool kernel_ok = kernel::kernel_bpf_available(&why);
    std::vector<std::pair<uint64_t, const vtest::Case*>> accepted;
    for (const vtest::Case& c : vtest::all_cases()) {
        if (!c.parse_error.empty() || c.expect.verdict != vtest::Verdict::Accept || !c.privileged || c.kernel) continue;
        auto insns = vtest::build_program(c);
        if (!insns) continue;
        const auto r = ours(c, *insns);
        if (r.accepted) accepted.emplace_back(r.processed_insns, &c);
    }
    std::sort(accepted.begin(), accepted.end(), [](auto& a, auto& b) { return a.first > b.first; });
    accepted.resize(std::min(want, accepted.size()));

    fmt::print("| program | insns | bpfrt processed | bpfrt verify (us) | kernel processed | kernel PROG_LOAD (us) |\n");
    fmt::print("|---|---:|---:|---:|---:|---:|\n");
    for (const auto& [processed, c] : accepted) {
        auto insns = *vtest::build_program(*c);
        Row row;
        row.name = c->id;
        row.insns = insns.size();
        row.processed = processed;
        std::vector<double> us;
        for (int i = 0; i < kRuns; ++i) us.push_back(ours(*c, insns).time_ns / 1000.0);
        row.ours_us = median(us);
        if (kernel_ok) kernel_side(*c, insns, row);
        fmt::print("| {} | {} | {} | {:.1f} | {} | {} |\n", row.name, row.insns, row.processed, row.ours_us,
                   row.kernel_processed ? fmt::format("{}", *row.kernel_processed) : "-",
                   row.kernel_us ? fmt::format("{:.1f}", *row.kernel_us) : "-");
    }
    if (!kernel_ok) fmt::print("\nkernel: not measured ({})\n", why);
    return 0;
}
