// BPF_PROG_LOAD: attribute checks, map references, verify(), lddw
// resolution, preparation for the engine, a handle.
#include "runtime/contexts.hpp"
#include "runtime/map_bridge.hpp"
#include "runtime/names.hpp"
#include "runtime/state.hpp"
#include "runtime/verify.hpp"

#include "helpers/prototypes.hpp"

#include <bpfrt/bpf.h>
#include <bpfrt/jit.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bpfrt::runtime {

namespace {

constexpr uint32_t kMaxInsns = 1'000'000;  // BPF_COMPLEXITY_LIMIT_INSNS (privileged)
constexpr uint32_t kKnownProgFlags = BPF_F_STRICT_ALIGNMENT | BPF_F_ANY_ALIGNMENT | BPF_F_TEST_RND_HI32 |
                                     BPF_F_TEST_STATE_FREQ | BPF_F_SLEEPABLE | BPF_F_XDP_HAS_FRAGS;
constexpr uint8_t kLddw = BPF_LD | BPF_DW | BPF_IMM;

bool type_supported(uint32_t type) {
    switch (type) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_XDP:
    case BPF_PROG_TYPE_KPROBE:
    case BPF_PROG_TYPE_TRACEPOINT:
    case BPF_PROG_TYPE_RAW_TRACEPOINT:
    case BPF_PROG_TYPE_SYSCALL: return true;
    default: return false;
    }
}

// A map named by an lddw of the program.
struct MapReference {
    size_t pc = 0;  // slot of the lddw
    bridge::MapRef map;
    std::byte* value = nullptr;  // BPF_PSEUDO_MAP_VALUE: the value's first byte
    uint32_t offset = 0;         // and the byte the lddw loads the address of
};

// An error that also goes to the log (log_level > 0), as the kernel's
// verbose() before returning.
std::unexpected<Error> logged(std::string& log, uint32_t log_level, int code, std::string message) {
    if (log_level != 0) log += message + "\n";
    return fail(code, std::move(message));
}

// The kernel's resolve_pseudo_ldimm64: every lddw naming a map by handle.
Result<std::vector<MapReference>> collect_map_references(const State& state, std::span<const bpf_insn> insns,
                                                         std::string& log, uint32_t log_level) {
    std::vector<MapReference> refs;
    for (size_t pc = 0; pc < insns.size(); ++pc) {
        const bpf_insn& insn = insns[pc];
        if (insn.code != kLddw) continue;
        if (pc + 1 == insns.size())
            return logged(log, log_level, EINVAL, fmt::format("invalid bpf_ld_imm64 insn at {}", pc));
        const bpf_insn& second = insns[pc + 1];
        const unsigned src = insn.src_reg;
        if (src == 0) {
            ++pc;
            continue;
        }
        if (src == BPF_PSEUDO_FUNC) {  // a function of the program: resolve() gives its slot
            ++pc;
            continue;
        }
        if (src != BPF_PSEUDO_MAP_FD && src != BPF_PSEUDO_MAP_VALUE)
            return logged(log, log_level, EINVAL,
                          fmt::format("{}: lddw with src_reg {} (pseudo kind) is not supported", pc, src));
        if (src == BPF_PSEUDO_MAP_FD && second.imm != 0)
            return logged(log, log_level, EINVAL, fmt::format("{}: unrecognized bpf_ld_imm64 insn", pc));
        auto map = state.map_at(insn.imm);
        if (!map)
            return logged(log, log_level, map.error().code,
                          fmt::format("fd {} is not pointing to valid bpf_map", insn.imm));
        MapReference ref{pc, std::move(*map), nullptr, static_cast<uint32_t>(second.imm)};
        if (src == BPF_PSEUDO_MAP_VALUE) {
            auto address = bridge::direct_value(*ref.map, ref.offset);
            if (!address)
                return logged(log, log_level, address.error().code, fmt::format("{}: {}", pc, address.error().message));
            ref.value = *address - ref.offset;
        }
        refs.push_back(std::move(ref));
        ++pc;
    }
    return refs;
}

// The program with every map reference replaced by a plain lddw of the
// map's address (or the value's), and every function pointer (lddw
// BPF_PSEUDO_FUNC) by the slot where the function starts, which
// vm::ExecContext::call_function takes: what the engine runs.
std::vector<bpf_insn> resolve(std::span<const bpf_insn> insns, const std::vector<MapReference>& refs) {
    std::vector<bpf_insn> out(insns.begin(), insns.end());
    for (size_t pc = 0; pc + 1 < out.size(); ++pc) {
        if (out[pc].code != kLddw) continue;
        if (out[pc].src_reg == BPF_PSEUDO_FUNC) {
            const int64_t entry = static_cast<int64_t>(pc) + out[pc].imm + 1;
            out[pc].src_reg = 0;
            out[pc].imm = static_cast<int32_t>(entry);
            out[pc + 1].imm = 0;
        }
        ++pc;
    }
    for (const MapReference& ref : refs) {
        const uint64_t address = ref.value != nullptr ? reinterpret_cast<uintptr_t>(ref.value + ref.offset)
                                                      : reinterpret_cast<uintptr_t>(ref.map.get());
        bpf_insn& first = out[ref.pc];
        bpf_insn& second = out[ref.pc + 1];
        first.src_reg = 0;
        first.imm = static_cast<int32_t>(static_cast<uint32_t>(address));
        second.imm = static_cast<int32_t>(static_cast<uint32_t>(address >> 32));
    }
    return out;
}

verifier::VerifyInput verify_input(const ProgLoad& in, const State& state,
                                   const std::vector<helpers::HelperProto>& host_protos) {
    verifier::VerifyInput input;
    input.insns = in.insns;
    input.prog_type = in.prog_type;
    input.license = in.license;
    input.privileged = in.privileged.value_or(state.privileged.load());
    input.log_level = in.log_level;
    input.strict_alignment = (in.prog_flags & BPF_F_STRICT_ALIGNMENT) != 0;
    input.host_helpers = host_protos;
    for (const SourceLine& l : in.line_info)
        input.line_info.push_back({l.insn_off, l.file, l.line, l.text});
    input.map_info = [&state](int32_t handle) -> std::optional<verifier::MapInfo> {
        auto map = state.map_at(handle);
        if (!map) return std::nullopt;
        return bridge::verifier_info(**map);
    };
    return input;
}

Result<void> check_load_attrs(const ProgLoad& in) {
    if (!type_supported(in.prog_type))
        return fail(EINVAL, fmt::format("program type {} is not supported (supported: socket_filter, "
                                        "sched_cls, sched_act, cgroup_skb, xdp, kprobe, tracepoint, "
                                        "raw_tracepoint, syscall)",
                                        in.prog_type));
    if (in.prog_flags & ~kKnownProgFlags) return fail(EINVAL, fmt::format("unknown prog_flags {:#x}", in.prog_flags));
    if (in.log_level & ~BPFRT_LOG_MASK)
        return fail(EINVAL, fmt::format("log_level {} has unknown bits (valid: 1, 2, 4, 8)", in.log_level));
    if (in.insns.empty() || in.insns.size() > kMaxInsns)
        return fail(E2BIG, fmt::format("a program has 1 to {} instructions, this one {}", kMaxInsns, in.insns.size()));
    return check_object_name(in.name);
}

// The engine of a loaded program: the chosen one (the JIT by default where
// supported) for verified programs; the checked interpreter for the rest.
Result<std::unique_ptr<vm::Program>> prepare_engine(const ProgLoad& in, const State& state,
                                                    std::span<const bpf_insn> insns, const vm::HelperTable* helpers,
                                                    bool verified) {
    if (!verified) return vm::make_interpreter(insns, helpers, vm::Mode::Checked);
    jit::JitOptions options;
    options.constant_blinding = in.constant_blinding.value_or(state.constant_blinding.load());
    jit::Engine engine = in.engine.value_or(state.engine.load());
    // Functions called back by helpers (bpf_loop) run in both engines, but a
    // tail call leaving a callback only in the interpreter.
    const bool has_callbacks = std::any_of(in.insns.begin(), in.insns.end(), [](const bpf_insn& i) {
        return i.code == kLddw && i.src_reg == BPF_PSEUDO_FUNC;
    });
    const bool has_tail_calls = std::any_of(in.insns.begin(), in.insns.end(), [](const bpf_insn& i) {
        return i.code == (BPF_JMP | BPF_CALL) && i.src_reg == 0 && i.imm == BPF_FUNC_tail_call;
    });
    if (has_callbacks && has_tail_calls && engine == jit::Engine::Jit)
        return fail(ENOTSUP, "the JIT does not run programs with both callbacks (bpf_loop) and tail calls; "
                             "use the interpreter (engine auto or interp)");
    if (has_callbacks && has_tail_calls) engine = jit::Engine::Interpreter;
    return jit::make_program(insns, helpers, engine, options);
}

}  // namespace

Result<std::shared_ptr<ProgramObject>> State::load(const ProgLoad& in, std::string& log) {
    if (auto ok = check_load_attrs(in); !ok) return std::unexpected(ok.error());

    auto refs = collect_map_references(*this, in.insns, log, in.log_level);
    std::vector<helpers::HelperProto> host;
    std::shared_ptr<vm::HelperTable> table;
    {
        std::lock_guard lock(helpers_mutex);
        host = host_protos;  // names point into host_names, which never shrinks
        table = helpers;
    }
    verifier::VerifyResult verdict;
    if (refs) {
        verdict = runtime::verify(verify_input(in, *this, host));
        log += verdict.log;
        if (!verdict.accepted) refs = fail(verdict.error_code != 0 ? verdict.error_code : EACCES, verdict.message);
    }
    const bool verified = verifier_proves_safety(in.prog_type);
    std::unique_ptr<vm::Program> exec;
    std::vector<bpf_insn> resolved;
    if (refs) {
        resolved = resolve(in.insns, *refs);
        if (auto converted = convert_ctx_accesses(in.prog_type, verdict.ctx_accesses, resolved); !converted)
            refs = logged(log, in.log_level, converted.error().code, converted.error().message);
    }
    if (refs) {
        auto prepared = prepare_engine(in, *this, resolved, table.get(), verified);
        if (prepared)
            exec = std::move(*prepared);
        else
            refs = logged(log, in.log_level, prepared.error().code, prepared.error().message);
    }
    // The kernel's rule: a log that filled the buffer fails the load (even
    // one that failed for another reason), so no truncated log goes unnoticed.
    if (in.log_limit != 0 && log.size() >= in.log_limit)
        return fail(ENOSPC, fmt::format("the verifier log ({} bytes) does not fit in log_size", log.size() + 1));
    if (!refs) return std::unexpected(refs.error());

    auto program = std::make_shared<ProgramObject>();
    program->type = in.prog_type;
    program->expected_attach_type = in.expected_attach_type;
    program->flags = in.prog_flags;
    program->name = in.name;
    program->license = in.license;
    program->gpl_compatible = helpers::is_gpl_compatible(in.license);
    program->kern_version = in.kern_version;
    program->insns = std::move(resolved);
    for (MapReference& ref : *refs) {
        if (ref.value != nullptr) {
            const MapInfo facts = bridge::info(*ref.map);
            program->direct_values.push_back(
                DirectValue{ref.value, facts.value_size, (facts.map_flags & BPF_F_RDONLY_PROG) == 0});
        }
        if (!program->uses_map(ref.map.get())) program->maps.push_back(std::move(ref.map));
    }
    program->helpers = std::move(table);
    program->exec = std::move(exec);
    program->verified = verified;
    program->max_ctx_offset = max_ctx_offset(verdict.ctx_accesses);
    return program;
}

}  // namespace bpfrt::runtime
