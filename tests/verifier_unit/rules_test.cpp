// Each rule of the verifier with an accepted and a rejected program.
#include "verify_helpers.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>

namespace bpfrt::verifier::testing {
namespace {

using Prog = std::vector<bpf_insn>;

Prog cat(std::initializer_list<Prog> parts) {
    Prog out;
    for (const Prog& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

const Prog kExit0 = {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};

// key = 0 at fp-4; R0 = bpf_map_lookup_elem(map, &key)
Prog lookup(int32_t map) {
    return {BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4), BPF_LD_MAP_FD(BPF_REG_1, map),
            BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem)};
}
// if (!R0) return 0;  (then continues)
const Prog kNullCheck = {BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};

// Packet prologue: R2 = data, R3 = data_end, R4 = data + n; if (R4 > R3) return 0.
Prog pkt_bounds(int n, int16_t data_off, int16_t end_off) {
    return {BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, data_off),
            BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, end_off),
            BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, n),
            BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
            BPF_MOV64_IMM(BPF_REG_0, 0),
            BPF_EXIT_INSN()};
}
Prog xdp_bounds(int n) {
    return pkt_bounds(n, offsetof(struct xdp_md, data), offsetof(struct xdp_md, data_end));
}
Prog skb_bounds(int n) {
    return pkt_bounds(n, offsetof(struct __sk_buff, data), offsetof(struct __sk_buff, data_end));
}

struct Case {
    const char* name;
    Prog prog;
    Options opts;
    bool accept;
    const char* error = "";  // substring of the message when rejected
    int code = EACCES;
};

Options unpriv(uint32_t type = BPF_PROG_TYPE_SOCKET_FILTER) {
    Options o;
    o.prog_type = type;
    o.privileged = false;
    return o;
}
Options type(uint32_t t) {
    Options o;
    o.prog_type = t;
    return o;
}
Options lic(const char* l, uint32_t t = BPF_PROG_TYPE_KPROBE) {
    Options o = type(t);
    o.license = l;
    return o;
}

std::vector<Case> cases() {
    const auto skb = [](auto field) { return static_cast<int16_t>(field); };
    std::vector<Case> c;
    // ---- registers ----
    c.push_back({"uninit_reg_read", {BPF_MOV64_REG(BPF_REG_0, BPF_REG_2), BPF_EXIT_INSN()}, {}, false, "R2 !read_ok"});
    c.push_back({"init_reg_read", {BPF_MOV64_IMM(BPF_REG_2, 1), BPF_MOV64_REG(BPF_REG_0, BPF_REG_2), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"r0_uninit_at_exit", {BPF_EXIT_INSN()}, {}, false, "R0 !read_ok"});
    c.push_back({"write_r10", {BPF_MOV64_IMM(BPF_REG_10, 0), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, {}, false, "frame pointer is read only"});
    // ---- stack ----
    c.push_back({"uninit_stack_unpriv", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -8), BPF_EXIT_INSN()}, unpriv(), false, "invalid read from stack"});
    c.push_back({"uninit_stack_priv", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -8), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"init_stack_unpriv", {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 3), BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -8), BPF_EXIT_INSN()}, unpriv(), true});
    c.push_back({"stack_below", cat({{BPF_ST_MEM(BPF_DW, BPF_REG_10, -520, 0)}, kExit0}), {}, false, "invalid write to stack"});
    c.push_back({"stack_at_fp", cat({{BPF_ST_MEM(BPF_W, BPF_REG_10, 0, 0)}, kExit0}), {}, false, "invalid write to stack"});
    c.push_back({"stack_bottom", cat({{BPF_ST_MEM(BPF_DW, BPF_REG_10, -512, 0)}, kExit0}), {}, true});
    c.push_back({"stack_misaligned", cat({{BPF_ST_MEM(BPF_DW, BPF_REG_10, -12, 0)}, kExit0}), {}, false, "misaligned stack access"});
    c.push_back({"spill_fill_pointer", cat({{BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -8), BPF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_10, -8),
                                             BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_2, 0), BPF_EXIT_INSN()}}), {}, true});
    c.push_back({"partial_fill_pointer", cat({{BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -8), BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_10, -8)}, kExit0}), {}, false, "invalid size of register fill"});
    c.push_back({"partial_spill_pointer", cat({{BPF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_1, -8)}, kExit0}), {}, false, "invalid size of register spill"});
    // ---- map values and NULL checks ----
    c.push_back({"lookup_no_null_check", cat({lookup(kHash), {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, false, "invalid mem access 'map_value_or_null'"});
    c.push_back({"lookup_null_check", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, true});
    c.push_back({"map_value_past_end", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_0, 8), BPF_EXIT_INSN()}}), {}, false, "invalid access to map value"});
    c.push_back({"null_check_copy", cat({lookup(kHash), {BPF_MOV64_REG(BPF_REG_6, BPF_REG_0)}, kNullCheck, {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_6, 0), BPF_EXIT_INSN()}}), {}, true});
    c.push_back({"map_value_var_off_ok", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 0), BPF_ALU64_IMM(BPF_AND, BPF_REG_1, 7),
                                             BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, true});
    c.push_back({"map_value_var_off_bad", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 0), BPF_ALU64_IMM(BPF_AND, BPF_REG_1, 15),
                                              BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, false, "invalid access to map value"});
    c.push_back({"map_value_unbounded", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 0),
                                             BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, false, "unbounded memory access"});
    c.push_back({"map_value_negative", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 0), BPF_ALU64_IMM(BPF_AND, BPF_REG_1, 7),
                                           BPF_ALU64_IMM(BPF_SUB, BPF_REG_1, 4), BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, false, "min value is negative"});
    c.push_back({"bounds_check_jlt", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 0), BPF_JMP_IMM(BPF_JLT, BPF_REG_1, 8, 2), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN(),
                                         BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, true});
    c.push_back({"bounds_check_jmp32", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_0, 0), BPF_JMP32_IMM(BPF_JGT, BPF_REG_1, 7, 2),
                                           BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, true});
    c.push_back({"bounds_check_linked_copy", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_0, 0), BPF_MOV64_REG(BPF_REG_2, BPF_REG_1),
                                                 BPF_JMP_IMM(BPF_JGT, BPF_REG_2, 7, 2), BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0),
                                                 BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, true});
    c.push_back({"bounds_check_reg_reg", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_0, 0), BPF_MOV64_IMM(BPF_REG_2, 8),
                                             BPF_JMP_REG(BPF_JGE, BPF_REG_1, BPF_REG_2, 2), BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0),
                                             BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}}), {}, true});
    c.push_back({"direct_map_value", {BPF_LD_MAP_VALUE(BPF_REG_1, kArray, 0), BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 8), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"direct_map_value_oob", {BPF_LD_MAP_VALUE(BPF_REG_1, kArray, 8), BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 8), BPF_EXIT_INSN()}, {}, false, "invalid access to map value"});
    c.push_back({"frozen_map_write", cat({lookup(kFrozen), kNullCheck, {BPF_ST_MEM(BPF_DW, BPF_REG_0, 0, 1)}, kExit0}), {}, false, "write into map forbidden"});
    c.push_back({"bad_map_handle", {BPF_LD_MAP_FD(BPF_REG_1, 99), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, {}, false, "not pointing to valid bpf_map", EBADF});
    Options strict;
    strict.strict = true;
    c.push_back({"strict_misaligned", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_0, 2), BPF_EXIT_INSN()}}), strict, false, "misaligned"});
    c.push_back({"unaligned_ok_not_strict", cat({lookup(kHash), kNullCheck, {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_0, 2), BPF_EXIT_INSN()}}), {}, true});
    // ---- context ----
    c.push_back({"skb_read_len", {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, 0), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"skb_narrow_read", {BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_1, skb(offsetof(struct __sk_buff, protocol))), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"skb_wide_read", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 0), BPF_EXIT_INSN()}, {}, false, "invalid bpf_context access"});
    c.push_back({"sockfilter_data", {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, skb(offsetof(struct __sk_buff, data))), BPF_EXIT_INSN()}, {}, false, "invalid bpf_context access"});
    c.push_back({"sockfilter_write_mark", cat({{BPF_MOV64_IMM(BPF_REG_2, 1), BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_2, skb(offsetof(struct __sk_buff, mark)))}, kExit0}), {}, false, "invalid bpf_context access"});
    c.push_back({"sockfilter_write_cb", cat({{BPF_MOV64_IMM(BPF_REG_2, 1), BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_2, skb(offsetof(struct __sk_buff, cb)))}, kExit0}), {}, true});
    c.push_back({"tc_write_mark", cat({{BPF_MOV64_IMM(BPF_REG_2, 1), BPF_STX_MEM(BPF_W, BPF_REG_1, BPF_REG_2, skb(offsetof(struct __sk_buff, mark)))}, kExit0}), type(BPF_PROG_TYPE_SCHED_CLS), true});
    c.push_back({"ctx_st_imm", cat({{BPF_ST_MEM(BPF_W, BPF_REG_1, skb(offsetof(struct __sk_buff, cb)), 1)}, kExit0}), {}, true});  // Linux 6.18 accepts BPF_ST into writable ctx fields
    c.push_back({"ctx_modified", {BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 4), BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, 0), BPF_EXIT_INSN()}, {}, false, "dereference of modified ctx ptr"});
    c.push_back({"xdp_read_dw", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 0), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_XDP), false, "invalid bpf_context access"});
    c.push_back({"kprobe_read", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 160), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_KPROBE), true});
    c.push_back({"kprobe_read_past", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 168), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_KPROBE), false, "invalid bpf_context access"});
    c.push_back({"kprobe_write", cat({{BPF_MOV64_IMM(BPF_REG_2, 0), BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_2, 0)}, kExit0}), type(BPF_PROG_TYPE_KPROBE), false, "invalid bpf_context access"});
    c.push_back({"tracepoint_common_fields", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 0), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_TRACEPOINT), false, "invalid bpf_context access"});
    c.push_back({"tracepoint_field", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 16), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_TRACEPOINT), true});
    c.push_back({"raw_tp_arg", {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 8), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_RAW_TRACEPOINT), true});
    c.push_back({"unsupported_type", kExit0, type(9999), false, "unsupported program type", EINVAL});
    // ---- packets ----
    c.push_back({"xdp_pkt_checked", cat({xdp_bounds(14), {BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_2, 13), BPF_EXIT_INSN()}}), type(BPF_PROG_TYPE_XDP), true});
    c.push_back({"xdp_pkt_read_ok", cat({{BPF_MOV64_IMM(BPF_REG_0, 0)}, xdp_bounds(14), {BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_2, 13), BPF_EXIT_INSN()}}), type(BPF_PROG_TYPE_XDP), true});
    c.push_back({"xdp_pkt_past_check", cat({{BPF_MOV64_IMM(BPF_REG_0, 0)}, xdp_bounds(14), {BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_2, 14), BPF_EXIT_INSN()}}), type(BPF_PROG_TYPE_XDP), false, "invalid access to packet"});
    c.push_back({"xdp_pkt_unchecked", {BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, 0), BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_2, 0), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_XDP), false, "invalid access to packet"});
    c.push_back({"xdp_pkt_write", cat({{BPF_MOV64_IMM(BPF_REG_0, 0)}, xdp_bounds(14), {BPF_ST_MEM(BPF_B, BPF_REG_2, 0, 1), BPF_EXIT_INSN()}}), type(BPF_PROG_TYPE_XDP), true});
    c.push_back({"cgroup_skb_pkt_write", cat({{BPF_MOV64_IMM(BPF_REG_0, 0)}, skb_bounds(14), {BPF_ST_MEM(BPF_B, BPF_REG_2, 0, 1), BPF_EXIT_INSN()}}), type(BPF_PROG_TYPE_CGROUP_SKB), false, "cannot write into packet"});
    c.push_back({"tc_pkt_read", cat({{BPF_MOV64_IMM(BPF_REG_0, 0)}, skb_bounds(14), {BPF_LDX_MEM(BPF_H, BPF_REG_0, BPF_REG_2, 12), BPF_EXIT_INSN()}}), type(BPF_PROG_TYPE_SCHED_CLS), true});
    c.push_back({"pkt_var_offset_needs_new_check", cat({{BPF_MOV64_IMM(BPF_REG_0, 0)}, xdp_bounds(14), {BPF_LDX_MEM(BPF_B, BPF_REG_5, BPF_REG_2, 0), BPF_ALU64_REG(BPF_ADD, BPF_REG_2, BPF_REG_5),
                                                      BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_2, 0), BPF_EXIT_INSN()}}), type(BPF_PROG_TYPE_XDP), false, "invalid access to packet"});
    c.push_back({"pkt_end_arith", {BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, 4), BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, 1), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_XDP), false, "pointer arithmetic on pkt_end prohibited"});
    c.push_back({"xdp_adjust_invalidates", cat({{BPF_MOV64_IMM(BPF_REG_0, 0)}, xdp_bounds(14), {BPF_MOV64_REG(BPF_REG_6, BPF_REG_2), BPF_MOV64_IMM(BPF_REG_2, 0), BPF_EMIT_CALL(BPF_FUNC_xdp_adjust_head),
                                              BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_6, 0), BPF_EXIT_INSN()}}), type(BPF_PROG_TYPE_XDP), false, "invalid mem access 'scalar'"});
    // ---- pointer arithmetic ----
    c.push_back({"ptr_mul", cat({{BPF_ALU64_IMM(BPF_MUL, BPF_REG_1, 2)}, kExit0}), {}, false, "pointer arithmetic with *= operator prohibited"});
    c.push_back({"ptr_add_ptr", cat({{BPF_ALU64_REG(BPF_ADD, BPF_REG_1, BPF_REG_10)}, kExit0}), {}, false, "pointer += pointer prohibited"});
    c.push_back({"ptr_alu32", cat({{BPF_ALU32_IMM(BPF_ADD, BPF_REG_1, 2)}, kExit0}), {}, false, "32-bit pointer arithmetic prohibited"});
    c.push_back({"ptr_and", cat({{BPF_ALU64_IMM(BPF_AND, BPF_REG_1, 2)}, kExit0}), {}, false, "bitwise operator &= on pointer prohibited"});
    c.push_back({"ptr_add_scalar", cat({{BPF_MOV64_REG(BPF_REG_1, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -8), BPF_ST_MEM(BPF_DW, BPF_REG_1, 0, 0)}, kExit0}), unpriv(), true});
    c.push_back({"or_null_arith", cat({lookup(kHash), {BPF_ALU64_IMM(BPF_ADD, BPF_REG_0, 4)}, kExit0}), {}, false, "null-check it first"});
    c.push_back({"ptr_compare_unpriv", cat({{BPF_JMP_REG(BPF_JEQ, BPF_REG_1, BPF_REG_10, 0)}, kExit0}), unpriv(), false, "pointer comparison prohibited"});
    c.push_back({"ptr_compare_priv", cat({{BPF_JMP_REG(BPF_JEQ, BPF_REG_1, BPF_REG_10, 0)}, kExit0}), {}, true});
    c.push_back({"ptr_sub_ptr_priv", {BPF_MOV64_REG(BPF_REG_0, BPF_REG_10), BPF_ALU64_REG(BPF_SUB, BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"ptr_sub_ptr_unpriv", {BPF_MOV64_REG(BPF_REG_0, BPF_REG_10), BPF_ALU64_REG(BPF_SUB, BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()}, unpriv(), false, "pointer -= pointer prohibited"});
    // ---- leaks ----
    c.push_back({"leak_into_map_unpriv", cat({lookup(kHash), kNullCheck, {BPF_STX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, 0)}, kExit0}), unpriv(), false, "leaks addr into map"});
    c.push_back({"ptr_into_map_priv", cat({lookup(kHash), kNullCheck, {BPF_STX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, 0)}, kExit0}), {}, true});
    c.push_back({"return_ptr_unpriv", {BPF_MOV64_REG(BPF_REG_0, BPF_REG_10), BPF_EXIT_INSN()}, unpriv(), false, "R0 leaks addr as return value"});
    c.push_back({"return_ptr_priv", {BPF_MOV64_REG(BPF_REG_0, BPF_REG_10), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"return_ptr_cgroup_skb", {BPF_MOV64_REG(BPF_REG_0, BPF_REG_10), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_CGROUP_SKB), false, "not a known value", EINVAL});
    c.push_back({"ptr_as_scalar_arg_unpriv", cat({{BPF_MOV64_IMM(BPF_REG_0, 0), BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
                                                BPF_LD_MAP_FD(BPF_REG_1, kHash), BPF_MOV64_REG(BPF_REG_3, BPF_REG_2), BPF_ST_MEM(BPF_DW, BPF_REG_10, -16, 0), BPF_MOV64_REG(BPF_REG_3, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -16),
                                                BPF_MOV64_REG(BPF_REG_4, BPF_REG_10), BPF_EMIT_CALL(BPF_FUNC_map_update_elem)}, kExit0}), unpriv(), false, "R4 leaks addr into helper function"});
    c.push_back({"cgroup_skb_return_range", {BPF_MOV64_IMM(BPF_REG_0, 2), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_CGROUP_SKB), false, "should have been in [0, 1]", EINVAL});
    c.push_back({"cgroup_skb_return_ok", {BPF_MOV64_IMM(BPF_REG_0, 1), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_CGROUP_SKB), true});
    // ---- helpers ----
    c.push_back({"unknown_helper", cat({{BPF_EMIT_CALL(9999)}, kExit0}), {}, false, "invalid func unknown#9999", EINVAL});
    c.push_back({"helper_wrong_type", cat({{BPF_MOV64_IMM(BPF_REG_2, 0), BPF_EMIT_CALL(BPF_FUNC_xdp_adjust_head)}, kExit0}), {}, false, "cannot use helper bpf_xdp_adjust_head", EINVAL});
    const Prog printk = {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0x41), BPF_MOV64_REG(BPF_REG_1, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -8),
                         BPF_MOV64_IMM(BPF_REG_2, 8), BPF_EMIT_CALL(BPF_FUNC_trace_printk)};
    c.push_back({"gpl_helper_proprietary", cat({printk, kExit0}), lic("Proprietary"), false, "GPL-restricted", EINVAL});
    c.push_back({"gpl_helper_dual", cat({printk, kExit0}), lic("Dual BSD/GPL"), true});
    c.push_back({"printk_size_too_big", cat({{printk.begin(), printk.begin() + 3}, {BPF_MOV64_IMM(BPF_REG_2, 16), BPF_EMIT_CALL(BPF_FUNC_trace_printk)}, kExit0}), lic("GPL"), false, "invalid read from stack R1 off=-8 size=16"});
    c.push_back({"printk_size_unknown", cat({{printk.begin(), printk.begin() + 3}, {BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32), BPF_MOV64_REG(BPF_REG_2, BPF_REG_0), BPF_EMIT_CALL(BPF_FUNC_trace_printk)}, kExit0}), lic("GPL"), false, "R1 !read_ok"});
    c.push_back({"map_arg_scalar", cat({{BPF_MOV64_IMM(BPF_REG_1, 0), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem)}, kExit0}), {}, false, "R1 type=scalar expected=map_ptr"});
    c.push_back({"key_uninit_unpriv", cat({{BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4), BPF_LD_MAP_FD(BPF_REG_1, kHash),
                                          BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem)}, kExit0}), unpriv(), false, "invalid read from stack R2 off=-4 size=4"});
    c.push_back({"args_clobbered", cat({lookup(kHash), {BPF_MOV64_REG(BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()}}), {}, false, "R1 !read_ok"});
    c.push_back({"ktime_scalar", {BPF_EMIT_CALL(BPF_FUNC_ktime_get_ns), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"tail_call_ok", cat({{BPF_LD_MAP_FD(BPF_REG_2, kProgArray), BPF_MOV64_IMM(BPF_REG_3, 0), BPF_EMIT_CALL(BPF_FUNC_tail_call)}, kExit0}), {}, true});
    c.push_back({"tail_call_wrong_map", cat({{BPF_LD_MAP_FD(BPF_REG_2, kHash), BPF_MOV64_IMM(BPF_REG_3, 0), BPF_EMIT_CALL(BPF_FUNC_tail_call)}, kExit0}), {}, false, "cannot pass map_type 1 into func bpf_tail_call", EINVAL});
    c.push_back({"lookup_prog_array", cat({lookup(kProgArray), kExit0}), {}, false, "cannot pass map_type 3", EINVAL});
    const Prog reserve = {BPF_LD_MAP_FD(BPF_REG_1, kRingbuf), BPF_MOV64_IMM(BPF_REG_2, 8), BPF_MOV64_IMM(BPF_REG_3, 0), BPF_EMIT_CALL(BPF_FUNC_ringbuf_reserve)};
    c.push_back({"ringbuf_submit", cat({reserve, kNullCheck, {BPF_ST_MEM(BPF_DW, BPF_REG_0, 0, 7), BPF_MOV64_REG(BPF_REG_1, BPF_REG_0), BPF_MOV64_IMM(BPF_REG_2, 0), BPF_EMIT_CALL(BPF_FUNC_ringbuf_submit)}, kExit0}), {}, true});
    c.push_back({"ringbuf_leak", cat({reserve, kNullCheck, kExit0}), {}, false, "Unreleased reference", EINVAL});
    c.push_back({"ringbuf_oob", cat({reserve, kNullCheck, {BPF_ST_MEM(BPF_DW, BPF_REG_0, 8, 7), BPF_MOV64_REG(BPF_REG_1, BPF_REG_0), BPF_MOV64_IMM(BPF_REG_2, 0), BPF_EMIT_CALL(BPF_FUNC_ringbuf_submit)}, kExit0}), {}, false, "invalid access to memory"});
    c.push_back({"ringbuf_submit_unchecked", cat({reserve, {BPF_MOV64_REG(BPF_REG_1, BPF_REG_0), BPF_MOV64_IMM(BPF_REG_2, 0), BPF_EMIT_CALL(BPF_FUNC_ringbuf_submit)}, kExit0}), {}, false, "expected=ringbuf_mem"});
    c.push_back({"queue_pop", cat({{BPF_LD_MAP_FD(BPF_REG_1, kQueue), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8), BPF_EMIT_CALL(BPF_FUNC_map_pop_elem),
                                   BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -8), BPF_EXIT_INSN()}}), unpriv(), true});
    // ---- LD_ABS / LD_IND ----
    c.push_back({"ld_abs_ok", {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_LD_ABS(BPF_B, 0), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"ld_abs_xdp", {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_LD_ABS(BPF_B, 0), BPF_EXIT_INSN()}, type(BPF_PROG_TYPE_XDP), false, "not allowed for this program type", EINVAL});
    c.push_back({"ld_abs_r6_not_ctx", {BPF_MOV64_IMM(BPF_REG_6, 0), BPF_LD_ABS(BPF_B, 0), BPF_EXIT_INSN()}, {}, false, "R6 != pointer to skb", EINVAL});
    c.push_back({"ld_ind_clobbers", {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_MOV64_IMM(BPF_REG_2, 1), BPF_LD_IND(BPF_H, BPF_REG_2, 0), BPF_MOV64_REG(BPF_REG_0, BPF_REG_2), BPF_EXIT_INSN()}, {}, false, "R2 !read_ok"});
    // ---- atomics ----
    c.push_back({"atomic_stack", {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 1), BPF_MOV64_IMM(BPF_REG_1, 2), BPF_ATOMIC_OP(BPF_DW, BPF_ADD | BPF_FETCH, BPF_REG_10, BPF_REG_1, -8),
                                  BPF_MOV64_REG(BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"atomic_ctx", cat({{BPF_MOV64_IMM(BPF_REG_2, 1), BPF_ATOMIC_OP(BPF_W, BPF_ADD, BPF_REG_1, BPF_REG_2, 0)}, kExit0}), {}, false, "BPF_ATOMIC stores into R1 ctx is not allowed"});
    c.push_back({"atomic_uninit_stack_unpriv", cat({{BPF_MOV64_IMM(BPF_REG_1, 2), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_10, BPF_REG_1, -8)}, kExit0}), unpriv(), false, "invalid read from stack"});
    c.push_back({"cmpxchg_needs_r0", {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 1), BPF_MOV64_IMM(BPF_REG_1, 2), BPF_ATOMIC_OP(BPF_DW, BPF_CMPXCHG, BPF_REG_10, BPF_REG_1, -8), BPF_EXIT_INSN()}, {}, false, "R0 !read_ok"});
    c.push_back({"atomic_map_value", cat({lookup(kHash), kNullCheck, {BPF_MOV64_IMM(BPF_REG_1, 1), BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_0, BPF_REG_1, 0)}, kExit0}), {}, true});
    // ---- arithmetic ----
    c.push_back({"div_by_zero_imm", {BPF_MOV64_IMM(BPF_REG_0, 5), BPF_ALU64_IMM(BPF_DIV, BPF_REG_0, 0), BPF_EXIT_INSN()}, {}, false, "div by zero", EINVAL});
    c.push_back({"div_by_zero_reg", {BPF_MOV64_IMM(BPF_REG_0, 5), BPF_MOV64_IMM(BPF_REG_1, 0), BPF_ALU64_REG(BPF_DIV, BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"shift_by_64_imm", {BPF_MOV64_IMM(BPF_REG_0, 5), BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 64), BPF_EXIT_INSN()}, {}, false, "invalid shift 64", EINVAL});
    c.push_back({"mod_by_zero_reg", {BPF_MOV64_IMM(BPF_REG_0, 5), BPF_MOV64_IMM(BPF_REG_1, 0), BPF_ALU32_REG(BPF_MOD, BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()}, unpriv(), true});
    // ---- structure ----
    c.push_back({"jump_out_of_range", {BPF_JMP_A(5), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, {}, false, "jump out of range", EINVAL});
    c.push_back({"jump_into_lddw", {BPF_JMP_A(1), BPF_LD_IMM64(BPF_REG_0, 1), BPF_EXIT_INSN()}, {}, false, "jump into the middle of ldimm64", EINVAL});
    c.push_back({"unreachable", {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN(), BPF_EXIT_INSN()}, {}, false, "unreachable insn 2", EINVAL});
    c.push_back({"last_not_exit", {BPF_MOV64_IMM(BPF_REG_0, 0)}, {}, false, "last insn is not an exit or jmp", EINVAL});
    c.push_back({"empty", {}, {}, false, "no instructions", E2BIG});
    c.push_back({"bad_opcode", {BPF_RAW_INSN(0xff, 0, 0, 0, 0), BPF_EXIT_INSN()}, {}, false, "unknown opcode", EINVAL});
    c.push_back({"reserved_field", {BPF_RAW_INSN(BPF_ALU64 | BPF_MOV | BPF_K, 0, 1, 0, 0), BPF_EXIT_INSN()}, {}, false, "src_reg must be 0", EINVAL});
    c.push_back({"back_edge_unpriv", {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, -2), BPF_EXIT_INSN()}, unpriv(), false, "back-edge from insn 1 to 0", EINVAL});
    // ---- bpf-to-bpf calls ----
    c.push_back({"call_local", {BPF_MOV64_IMM(BPF_REG_1, 5), BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_REG(BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"call_preserves_r6", {BPF_MOV64_IMM(BPF_REG_6, 5), BPF_CALL_REL(2), BPF_MOV64_REG(BPF_REG_0, BPF_REG_6), BPF_EXIT_INSN(), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"callee_reads_r6", {BPF_MOV64_IMM(BPF_REG_6, 5), BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_REG(BPF_REG_0, BPF_REG_6), BPF_EXIT_INSN()}, {}, false, "R6 !read_ok"});
    c.push_back({"call_clobbers_r1", {BPF_MOV64_IMM(BPF_REG_1, 5), BPF_CALL_REL(2), BPF_MOV64_REG(BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN(), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, {}, false, "R1 !read_ok"});
    c.push_back({"caller_stack_pointer", {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 3), BPF_MOV64_REG(BPF_REG_1, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -8), BPF_CALL_REL(1), BPF_EXIT_INSN(),
                                          BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 0), BPF_EXIT_INSN()}, {}, true});
    c.push_back({"return_stack_pointer", {BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_REG(BPF_REG_0, BPF_REG_10), BPF_EXIT_INSN()}, {}, false, "cannot return stack pointer", EINVAL});
    c.push_back({"recursion", {BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_CALL_REL(-1), BPF_EXIT_INSN()}, {}, false, "recursive call", EINVAL});
    c.push_back({"combined_stack", {BPF_ST_MEM(BPF_DW, BPF_REG_10, -512, 0), BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, {}, false, "combined stack size"});
    c.push_back({"ld_abs_with_calls", {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_LD_ABS(BPF_B, 0), BPF_CALL_REL(1), BPF_EXIT_INSN(), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()}, {}, true});
    return c;
}

// Nested calls: frames functions deep (main counts as one).
Prog call_chain(int frames) {
    Prog p;
    for (int i = 0; i < frames - 1; ++i) {
        p.push_back(BPF_CALL_REL(1));
        p.push_back(BPF_EXIT_INSN());
    }
    p.push_back(BPF_MOV64_IMM(BPF_REG_0, 0));
    p.push_back(BPF_EXIT_INSN());
    return p;
}

class Rules : public ::testing::TestWithParam<Case> {};

TEST_P(Rules, Verdict) {
    const Case& c = GetParam();
    const VerifyResult r = run(c.prog, c.opts);
    if (c.accept) {
        EXPECT_TRUE(r.accepted) << r.message;
        EXPECT_EQ(r.error_code, 0);
        return;
    }
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.error_code, c.code) << r.message;
    EXPECT_NE(r.message.find(c.error), std::string::npos) << "message: " << r.message << "\nexpected: " << c.error;
}

INSTANTIATE_TEST_SUITE_P(Verifier, Rules, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return std::string(i.param.name); });

TEST(RulesCalls, EightFramesAllowedNineRejected) {
    EXPECT_TRUE(run(call_chain(8)).accepted) << run(call_chain(8)).message;
    const VerifyResult r = run(call_chain(9));
    EXPECT_FALSE(r.accepted);
    EXPECT_NE(r.message.find("too deep"), std::string::npos) << r.message;
}

TEST(RulesSize, UnprivilegedLimitIsMaxInsns) {
    Prog p(BPF_MAXINSNS + 1, BPF_MOV64_IMM(BPF_REG_0, 0));
    p.back() = BPF_EXIT_INSN();
    Options o = unpriv();
    const VerifyResult r = run(p, o);
    EXPECT_EQ(r.error_code, E2BIG) << r.message;
    p.resize(BPF_MAXINSNS);
    p.back() = BPF_EXIT_INSN();
    EXPECT_TRUE(run(p, o).accepted);
}

}  // namespace
}  // namespace bpfrt::verifier::testing
