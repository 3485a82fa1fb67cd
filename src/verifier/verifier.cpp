#include "verifier/verifier.hpp"

#include "verifier/checks.hpp"
#include "verifier/env.hpp"
#include "verifier/explore.hpp"
#include "verifier/hints.hpp"

#include "helpers/prototypes.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>

namespace bpfrt::verifier {
namespace {

uint16_t helper_uses(int32_t id) {
    const auto* proto = helpers::find_prototype(static_cast<uint32_t>(id));
    const unsigned n = proto ? helpers::arg_count(*proto) : 5;
    uint16_t mask = 0;
    for (unsigned r = 1; r <= n; ++r) mask = static_cast<uint16_t>(mask | (1u << r));
    return mask;
}

bool is_map_lddw(const isa::Instruction& in) {
    return in.op == isa::Op::LDDW && in.src != 0 && !is_pseudo_func(in);
}

bool holds_maps(uint32_t map_type) {
    return map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS || map_type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

// Appends a map (last in env.maps) and, for map-in-map, its inner template
// before it, which a lookup's NULL check turns the result into.
Check add_map(Env& env, int32_t handle, const MapInfo& info, size_t pc) {
    int32_t inner = -1;
    if (holds_maps(info.type)) {
        if (!info.inner || holds_maps(info.inner->type))
            return invalid(fmt::format("insn {}: map-in-map fd {} has no usable inner map template", pc, handle));
        env.maps.push_back({kInnerMapHandle, *info.inner, -1});
        inner = static_cast<int32_t>(env.maps.size() - 1);
    }
    env.maps.push_back({handle, info, inner});
    return {};
}

// Resolves every map an lddw refers to (EBADF when the handle names no map).
Check resolve_maps(Env& env) {
    const Cfg& cfg = env.cfg;
    env.map_of_insn.assign(cfg.size(), -1);
    for (size_t pc = 0; pc < cfg.size(); ++pc) {
        if (!cfg.insns[pc] || !is_map_lddw(cfg.at(pc))) continue;
        const isa::Instruction& in = cfg.at(pc);
        int32_t idx = -1;
        for (size_t i = 0; i < env.maps.size(); ++i)
            if (env.maps[i].handle == in.imm && env.maps[i].handle != kInnerMapHandle) idx = static_cast<int32_t>(i);
        if (idx < 0) {
            std::optional<MapInfo> info = env.in.map_info ? env.in.map_info(in.imm) : std::nullopt;
            if (!info) return fail(EBADF, fmt::format("insn {}: fd {} is not pointing to valid bpf_map", pc, in.imm));
            if (auto r = check_map_prog_compat(env, *info); !r) return r;
            if (auto r = add_map(env, in.imm, *info, pc); !r) return r;
            idx = static_cast<int32_t>(env.maps.size() - 1);
        }
        env.map_of_insn[pc] = idx;
        if (in.src == BPF_PSEUDO_MAP_VALUE || in.src == BPF_PSEUDO_MAP_IDX_VALUE) {
            const MapInfo& m = env.maps[static_cast<size_t>(idx)].info;
            const auto off = static_cast<uint32_t>(in.imm64 >> 32);
            if (m.type != BPF_MAP_TYPE_ARRAY || m.max_entries != 1)
                return invalid(fmt::format("insn {}: direct value access on map type {} is not supported "
                                           "(only single-element array maps)", pc, m.type));
            if (off >= m.value_size)
                return invalid(fmt::format("insn {}: invalid access to map value pointer, value_size={} off={}", pc,
                                           m.value_size, off));
        }
    }
    return {};
}

// The kernel's check_max_stack_depth: frames rounded to 32 bytes, summed along call chains.
Check check_stack_depth(Env& env, uint32_t& max_depth) {
    const Cfg& cfg = env.cfg;
    const size_t n = cfg.subprog_start.size();
    std::vector<std::vector<uint32_t>> callees(n);
    for (size_t pc = 0; pc < cfg.size(); ++pc) {
        if (!cfg.insns[pc]) continue;
        const isa::Instruction& in = cfg.at(pc);
        // A callback runs on top of the function that passes it to the helper.
        if (in.op == isa::Op::CALL_LOCAL)
            callees[cfg.subprog_of[pc]].push_back(cfg.subprog_of[static_cast<size_t>(isa::branch_target(in, pc))]);
        else if (is_pseudo_func(in))
            callees[cfg.subprog_of[pc]].push_back(cfg.subprog_of[static_cast<size_t>(pseudo_func_target(in, pc))]);
    }
    // Frames rounded to 16 bytes, as the kernel does when the program is JIT-compiled.
    auto frame = [&](uint32_t s) { return (env.stack_depth[s] + 15) / 16 * 16; };
    std::vector<uint32_t> memo(n, 0);
    std::vector<uint8_t> done(n, 0);
    // The call graph is acyclic (recursion is rejected by the CFG check).
    std::function<uint32_t(uint32_t)> deepest = [&](uint32_t s) -> uint32_t {
        if (done[s]) return memo[s];
        uint32_t below = 0;
        for (uint32_t c : callees[s]) below = std::max(below, deepest(c));
        done[s] = 1;
        return memo[s] = frame(s) + below;
    };
    const uint32_t total = deepest(0);
    max_depth = env.stack_depth.empty() ? 0 : env.stack_depth[0];
    if (n > 1) max_depth = total;
    if (total > static_cast<uint32_t>(StackState::kSize))
        return deny(fmt::format("combined stack size of {} calls is {}. Too large (the limit is 512 bytes)", n, total));
    return {};
}

// What the kernel refuses an unprivileged loader before verification (EPERM):
// program types other than socket filters, and bpf-to-bpf calls.
Check check_privilege(const VerifyInput& in) {
    if (in.privileged) return {};
    if (in.prog_type != BPF_PROG_TYPE_SOCKET_FILTER)
        return fail(EPERM, fmt::format("program type {} needs a privileged load (unprivileged loads may only use "
                                       "socket_filter programs)", context_for(in.prog_type)->name));
    for (const bpf_insn& insn : in.insns)
        if ((insn.code == (BPF_JMP | BPF_CALL) && insn.src_reg == BPF_PSEUDO_CALL) ||
            (insn.code == (BPF_LD | BPF_DW | BPF_IMM) && insn.src_reg == BPF_PSEUDO_FUNC))
            return fail(EPERM, "loading/calling other bpf or kernel functions are allowed for CAP_BPF and "
                               "CAP_SYS_ADMIN (bpf-to-bpf calls need a privileged load)");
    return {};
}

std::string where(const Env& env, size_t pc) {
    std::string s = fmt::format("insn {} ({})", pc, format_insn(env.cfg.at(pc)));
    const std::string src = env.log.source_line(pc);
    if (!src.empty()) s += fmt::format(" [{}]", src);
    return s;
}

}  // namespace

VerifyResult verify(const VerifyInput& input) {
    const auto t0 = std::chrono::steady_clock::now();
    VerifyResult res;
    auto finish = [&](std::string log) {
        res.log = std::move(log);
        res.time_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        return res;
    };
    auto summary = [&] {
        return fmt::format("processed {} insns (limit {}) max_states_per_insn {} total_states {} peak_states {}\n",
                           res.processed_insns, input.max_processed, res.max_states_per_insn, res.states, res.peak_states);
    };
    auto reject = [&](const Error& e) {
        res.accepted = false;
        res.error_code = e.code;
        res.message = e.message;
    };

    const ContextDesc* ctx = context_for(input.prog_type);
    if (!ctx) {
        reject(Error{EINVAL, fmt::format("unsupported program type {}", input.prog_type)});
        return finish(input.log_level ? res.message + "\n" : "");
    }
    if (auto r = check_privilege(input); !r) {
        reject(r.error());
        return finish(input.log_level ? res.message + "\n" : "");
    }
    auto cfg = build_cfg(input.insns, CfgOptions{input.privileged, helper_uses});
    if (!cfg) {
        reject(cfg.error());
        return finish(input.log_level ? res.message + "\n" + summary() : "");
    }
    Env env(input, *cfg, *ctx);
    env.stack_depth.assign(cfg->subprog_start.size(), 0);
    if (auto r = resolve_maps(env); !r) {
        reject(r.error());
        return finish(input.log_level ? res.message + "\n" + summary() : "");
    }

    ExploreStats stats;
    auto explored = explore(env, stats);
    res.processed_insns = stats.processed;
    res.states = stats.total_states;
    res.peak_states = stats.peak_states;
    res.max_states_per_insn = stats.max_states_per_insn;
    if (!explored) {
        Error e = explored.error();
        res.error_insn = static_cast<int64_t>(env.pc);
        e.message = fmt::format("{}: {}", where(env, env.pc), e.message);
        reject(e);
        if (input.log_level >= 1) {
            const State* at_error = stats.fail_state ? &*stats.fail_state : nullptr;
            env.log.prepend(summary_text(env, diagnose(env, explored.error().message, res.error_insn, at_error,
                                                       stats.fail_trace)));
            if (input.log_level == 1) env.log.failing_path(stats.fail_trace);
            env.log.line(explored.error().message);
            if (stats.fail_state) env.log.line("state: " + env.log.state_str(*stats.fail_state));
            env.log.line(summary());
        }
        std::string log = env.log.take();
        if (!log.empty() && log.back() == '\n' && log.size() > 1 && log[log.size() - 2] == '\n') log.pop_back();
        return finish(input.log_level ? log : "");
    }
    if (auto r = check_stack_depth(env, res.max_stack_depth); !r) {
        reject(r.error());
        if (input.log_level >= 1) {
            env.log.prepend(summary_text(env, diagnose_stack_depth(env)));
            env.log.line(res.message);
        }
    } else {
        res.accepted = true;
        std::sort(env.ctx_accesses.begin(), env.ctx_accesses.end(),
                  [](const CtxAccess& a, const CtxAccess& b) { return a.insn < b.insn; });
        res.ctx_accesses = std::move(env.ctx_accesses);
    }
    if (input.log_level >= 1) env.log.line(summary().substr(0, summary().size() - 1));
    return finish(input.log_level ? env.log.take() : "");
}

}  // namespace bpfrt::verifier
