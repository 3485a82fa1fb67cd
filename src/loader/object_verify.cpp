// ObjectFile::verify(): the verifier on an object's program, before any map exists.
#include "loader/object_state.hpp"
#include "verifier/verifier.hpp"

#include <bpfrt/bpf.h>

#include <fmt/format.h>

#include <cerrno>

namespace bpfrt {
namespace {

// Map references become handles kHandleBase + map index: numbers >= 3, as
// real handles, that the map_info callback below understands.
constexpr int32_t kHandleBase = 3;

// What the runtime would tell the verifier about the map once created.
verifier::MapInfo map_info(const ObjectMap& m) {
    verifier::MapInfo info{m.type, m.key_size, m.value_size, m.max_entries, m.map_flags, m.read_only};
    info.btf = m.btf_value_type_id != 0;
    info.spin_lock_off = m.spin_lock_off;
    if (m.inner) info.inner = std::make_shared<const verifier::MapInfo>(map_info(*m.inner));
    return info;
}

}  // namespace

Result<ObjectVerdict> ObjectFile::verify(const ObjectProgram& prog, const ObjectVerifyOptions& options) const {
    const uint32_t type = options.prog_type.value_or(prog.type);
    if (type == BPF_PROG_TYPE_UNSPEC)
        return fail(EINVAL, fmt::format("program '{}': section '{}' does not tell the program type (give one)",
                                        prog.name, prog.section));
    std::vector<bpf_insn> insns = prog.insns;
    for (const auto& ref : prog.map_refs) {
        if (ref.map_index >= state_->maps.size() || size_t{ref.insn_off} + 1 >= insns.size())
            return fail(EINVAL, fmt::format("program '{}': bad map reference at insn {}", prog.name, ref.insn_off));
        insns[ref.insn_off].src_reg = ref.value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
        insns[ref.insn_off].imm = kHandleBase + static_cast<int32_t>(ref.map_index);
        insns[ref.insn_off + 1].imm = static_cast<int32_t>(ref.value_off);
    }
    verifier::VerifyInput in;
    in.insns = insns;
    in.prog_type = type;
    in.license = state_->license;
    in.privileged = options.privileged;
    in.log_level = options.log_level;
    in.strict_alignment = options.strict_alignment;
    const auto& maps = state_->maps;
    in.map_info = [&maps](int32_t handle) -> std::optional<verifier::MapInfo> {
        const int64_t index = int64_t{handle} - kHandleBase;
        if (index < 0 || static_cast<size_t>(index) >= maps.size()) return std::nullopt;
        return map_info(maps[static_cast<size_t>(index)]);
    };
    for (const auto& l : prog.line_info) in.line_info.push_back({l.insn_off, l.file, l.line, l.text});
    const verifier::VerifyResult r = verifier::verify(in);
    return ObjectVerdict{r.accepted, r.error_code, r.message, r.log, r.processed_insns, r.max_stack_depth, r.time_ns};
}

}  // namespace bpfrt
