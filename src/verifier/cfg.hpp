// Structural checks and the control-flow graph.
//
// Every instruction decodes (src/isa/opcodes.hpp), jumps stay inside their
// subprogram and never land in an lddw's second slot, every instruction is
// reachable, each subprogram ends in exit or ja, and the size is within the
// limit. Also computes subprogram boundaries (targets of bpf-to-bpf calls
// and of function pointers, lddw BPF_PSEUDO_FUNC), prune points, back edges
// and static register liveness.
#pragma once

#include "helpers/prototypes.hpp"
#include "isa/opcodes.hpp"

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace bpfrt::verifier {

struct Cfg {
    std::vector<std::optional<isa::Instruction>> insns;  // per slot; empty for lddw's second slot
    std::vector<uint32_t> subprog_start;                 // sorted, [0] == 0
    std::vector<uint32_t> subprog_of;                    // per slot
    std::vector<uint8_t> prune_point;                    // per slot
    std::vector<uint16_t> live_in;                       // per slot: registers read before written
    std::vector<uint8_t> callback_call;                  // per slot: a call of a helper that calls back (bpf_loop)
    bool has_back_edges = false;
    bool has_ld_abs = false;

    size_t size() const { return insns.size(); }
    const isa::Instruction& at(size_t pc) const { return *insns[pc]; }
    uint32_t subprog_end(uint32_t idx) const {
        return idx + 1 < subprog_start.size() ? subprog_start[idx + 1] : static_cast<uint32_t>(insns.size());
    }
};

// The function an lddw BPF_PSEUDO_FUNC at `pc` points to.
inline int64_t pseudo_func_target(const isa::Instruction& in, size_t pc) {
    return static_cast<int64_t>(pc) + in.imm + 1;
}
inline bool is_pseudo_func(const isa::Instruction& in) { return in.op == isa::Op::LDDW && in.src == BPF_PSEUDO_FUNC; }

// Helpers that call a BPF function back (bpf_loop): the helpers' table says which.
inline bool calls_back(int32_t helper_id) { return helpers::calls_back(static_cast<uint32_t>(helper_id)); }

struct CfgOptions {
    bool privileged = true;
    // Registers a helper reads (R1..Rn); for liveness.
    uint16_t (*helper_uses)(int32_t helper_id) = nullptr;
};

// EINVAL for malformed programs, E2BIG when too large.
Result<Cfg> build_cfg(std::span<const bpf_insn> prog, const CfgOptions& opts);

}  // namespace bpfrt::verifier
