// A program shared by the spin-lock tests: increments two u64 counters of a
// map value under the value's struct bpf_spin_lock. A reader holding the
// same lock always sees them equal.
#pragma once

#include <bpfrt/insn.h>

#include <cstdint>
#include <vector>

namespace bpfrt::test {

struct LockedCounters {
    int32_t map_handle = 0;  // lddw imm of the map (key u32 0)
    int32_t lock_off = 0;    // offset of the struct bpf_spin_lock in the value
    int16_t a_off = 8;       // the two u64 counters
    int16_t b_off = 16;
};

// v = lookup(key 0); if (!v) return 0; lock(&v->lock); v->a++; v->b++ (plain
// loads and stores); unlock(&v->lock); return 0
inline std::vector<bpf_insn> locked_counters(const LockedCounters& p) {
    return {BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
            BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
            BPF_LD_MAP_FD(BPF_REG_1, p.map_handle),
            BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
            BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2),
            BPF_MOV64_IMM(BPF_REG_0, 0),
            BPF_EXIT_INSN(),
            BPF_MOV64_REG(BPF_REG_6, BPF_REG_0),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, p.lock_off),
            BPF_EMIT_CALL(BPF_FUNC_spin_lock),
            BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_6, p.a_off),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1),
            BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_1, p.a_off),
            BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_6, p.b_off),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1),
            BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_1, p.b_off),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, p.lock_off),
            BPF_EMIT_CALL(BPF_FUNC_spin_unlock),
            BPF_MOV64_IMM(BPF_REG_0, 0),
            BPF_EXIT_INSN()};
}

}  // namespace bpfrt::test
