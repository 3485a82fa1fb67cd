// The verifier's rules for the helpers real programs need beyond the basic
// set: bpf_spin_lock/unlock (the kernel's process_spin_lock and the lock
// rules of do_check), get_stackid with STACK_TRACE maps, the task helpers
// of tracing programs and the skb helpers of tc programs.
#include "verifier/verifier.hpp"

#include <bpfrt/insn.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace bpfrt::verifier {
namespace {

using Prog = std::vector<bpf_insn>;

enum : int32_t {
    kLockHash = 1,   // hash, value 16, struct bpf_spin_lock at 0
    kLockArray = 2,  // array of 4, value 16, lock at 8
    kNoBtf = 3,      // hash, value 16, no BTF
    kNoLock = 4,     // hash, value 16, BTF without a lock
    kStacks = 5,     // stack trace, 127 frames
    kHash = 6,       // hash, value 16
};

std::optional<MapInfo> map_info(int32_t handle) {
    MapInfo m{BPF_MAP_TYPE_HASH, 4, 16, 16, 0, false};
    switch (handle) {
        case kLockHash: m.btf = true; m.spin_lock_off = 0; return m;
        case kLockArray:
            m.type = BPF_MAP_TYPE_ARRAY;
            m.max_entries = 4;
            m.btf = true;
            m.spin_lock_off = 8;
            return m;
        case kNoBtf: return m;
        case kNoLock: m.btf = true; return m;
        case kStacks: return MapInfo{BPF_MAP_TYPE_STACK_TRACE, 4, 127 * 8, 1024, 0, false};
        case kHash: return m;
        default: return std::nullopt;
    }
}

struct Options {
    uint32_t prog_type = BPF_PROG_TYPE_SCHED_CLS;
    bool privileged = true;
    std::string license = "GPL";
};

VerifyResult run(const Prog& prog, const Options& o = {}) {
    VerifyInput in;
    in.insns = prog;
    in.prog_type = o.prog_type;
    in.privileged = o.privileged;
    in.license = o.license;
    in.strict_alignment = false;
    in.map_info = map_info;
    return verify(in);
}

Prog cat(std::initializer_list<Prog> parts) {
    Prog out;
    for (const Prog& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

const Prog kExit0 = {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};

// key = k at fp-4; R0 = bpf_map_lookup_elem(map, &key); if (!R0) return 0; dst = R0
Prog lookup_into(int dst, int32_t map, int32_t key = 0) {
    return {BPF_ST_MEM(BPF_W, BPF_REG_10, -4, key), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4), BPF_LD_MAP_FD(BPF_REG_1, map),
            BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem), BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2),
            BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN(), BPF_MOV64_REG(dst, BPF_REG_0)};
}

// helper(R[value] + off)
Prog lock_call(int value, int32_t off, int helper) {
    return {BPF_MOV64_REG(BPF_REG_1, value), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, off), BPF_EMIT_CALL(helper)};
}
Prog lock(int value, int32_t off = 0) { return lock_call(value, off, BPF_FUNC_spin_lock); }
Prog unlock(int value, int32_t off = 0) { return lock_call(value, off, BPF_FUNC_spin_unlock); }

// *(u64 *)(R6 + 8) += 1 under the lock of a kLockHash value.
Prog locked_update() {
    return cat({lookup_into(BPF_REG_6, kLockHash), lock(BPF_REG_6),
                {BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_6, 8), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1),
                 BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_1, 8)},
                unlock(BPF_REG_6), kExit0});
}

void expect_accepted(const Prog& prog, const Options& o = {}) {
    const VerifyResult r = run(prog, o);
    EXPECT_TRUE(r.accepted) << r.message;
}

void expect_rejected(const Prog& prog, const std::string& words, const Options& o = {}) {
    const VerifyResult r = run(prog, o);
    EXPECT_FALSE(r.accepted);
    EXPECT_NE(r.message.find(words), std::string::npos) << "message: " << r.message;
}

Options of_type(uint32_t type) {
    Options o;
    o.prog_type = type;
    return o;
}

// ---- bpf_spin_lock ----

TEST(SpinLock, LockedUpdateIsAccepted) {
    expect_accepted(locked_update());
    expect_accepted(locked_update(), of_type(BPF_PROG_TYPE_XDP));
    expect_accepted(locked_update(), of_type(BPF_PROG_TYPE_CGROUP_SKB));
}

TEST(SpinLock, ArrayLockAtItsOffset) {
    expect_accepted(cat({lookup_into(BPF_REG_6, kLockArray), lock(BPF_REG_6, 8),
                         {BPF_ST_MEM(BPF_DW, BPF_REG_6, 0, 7)}, unlock(BPF_REG_6, 8), kExit0}));
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockArray), lock(BPF_REG_6, 0), unlock(BPF_REG_6, 0), kExit0}),
                    "off 0 doesn't point to 'struct bpf_spin_lock' that is at 8");
}

TEST(SpinLock, ExitWhileHoldingTheLock) {
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash), lock(BPF_REG_6), kExit0}),
                    "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region");
}

TEST(SpinLock, NoHelperCallWhileHoldingTheLock) {
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash), lock(BPF_REG_6), {BPF_EMIT_CALL(BPF_FUNC_ktime_get_ns)},
                         unlock(BPF_REG_6), kExit0}),
                    "function calls are not allowed while holding a lock");
    // Taking it again is a call too.
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash), lock(BPF_REG_6), lock(BPF_REG_6), unlock(BPF_REG_6),
                         kExit0}),
                    "function calls are not allowed while holding a lock");
}

TEST(SpinLock, UnlockWithoutLock) {
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash), unlock(BPF_REG_6), kExit0}),
                    "bpf_spin_unlock without taking a lock");
}

TEST(SpinLock, UnlockOfAnotherElement) {
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash, 0), lookup_into(BPF_REG_7, kLockHash, 1),
                         lock(BPF_REG_6), unlock(BPF_REG_7), kExit0}),
                    "bpf_spin_unlock of different lock");
    // A copy of the same pointer is the same element.
    expect_accepted(cat({lookup_into(BPF_REG_6, kLockHash), {BPF_MOV64_REG(BPF_REG_7, BPF_REG_6)}, lock(BPF_REG_6),
                         unlock(BPF_REG_7), kExit0}));
}

TEST(SpinLock, PathsThatLockDifferentElementsAreNotPruned) {
    // if (key0 value) lock(R6) else lock(R7); unlock(R6): wrong on the second path.
    const Prog prog = cat({lookup_into(BPF_REG_6, kLockHash, 0), lookup_into(BPF_REG_7, kLockHash, 1),
                           {BPF_LDX_MEM(BPF_DW, BPF_REG_8, BPF_REG_6, 8), BPF_JMP_IMM(BPF_JEQ, BPF_REG_8, 0, 4)},
                           lock(BPF_REG_6), {BPF_JMP_A(3)}, lock(BPF_REG_7), unlock(BPF_REG_6), kExit0});
    expect_rejected(prog, "bpf_spin_unlock of different lock");
}

TEST(SpinLock, ValueNeedsBtfAndALock) {
    expect_rejected(cat({lookup_into(BPF_REG_6, kNoBtf), lock(BPF_REG_6), unlock(BPF_REG_6), kExit0}),
                    "has to have BTF in order to use bpf_spin_lock");
    expect_rejected(cat({lookup_into(BPF_REG_6, kNoLock), lock(BPF_REG_6), unlock(BPF_REG_6), kExit0}),
                    "has no valid bpf_spin_lock");
}

TEST(SpinLock, ArgumentMustBeAMapValueAtAConstantOffset) {
    expect_rejected(cat({{BPF_MOV64_REG(BPF_REG_1, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -8),
                          BPF_EMIT_CALL(BPF_FUNC_spin_lock)},
                         kExit0}),
                    "R1 type=fp expected=map_value");
    // R1 = value + (random & 4): not a constant offset.
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash),
                         {BPF_EMIT_CALL(BPF_FUNC_get_prandom_u32), BPF_ALU64_IMM(BPF_AND, BPF_REG_0, 4),
                          BPF_MOV64_REG(BPF_REG_1, BPF_REG_6), BPF_ALU64_REG(BPF_ADD, BPF_REG_1, BPF_REG_0),
                          BPF_EMIT_CALL(BPF_FUNC_spin_lock)},
                         unlock(BPF_REG_6), kExit0}),
                    "doesn't have constant offset");
}

TEST(SpinLock, LockBytesAreNotAccessibleDirectly) {
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash), {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_6, 0)}, kExit0}),
                    "bpf_spin_lock cannot be accessed directly by load/store");
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash), {BPF_ST_MEM(BPF_DW, BPF_REG_6, 0, 0)}, kExit0}),
                    "bpf_spin_lock cannot be accessed directly by load/store");
    // ... nor through a helper's memory argument: map_update_elem(map, value, value, 0) reads the lock.
    expect_rejected(cat({lookup_into(BPF_REG_6, kLockHash),
                         {BPF_LD_MAP_FD(BPF_REG_1, kHash), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
                          BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4), BPF_MOV64_REG(BPF_REG_3, BPF_REG_6),
                          BPF_MOV64_IMM(BPF_REG_4, 0), BPF_EMIT_CALL(BPF_FUNC_map_update_elem)},
                         kExit0}),
                    "bpf_spin_lock cannot be accessed directly by load/store");
    // The bytes after it are ordinary data.
    expect_accepted(cat({lookup_into(BPF_REG_6, kLockHash), {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_6, 4)}, kExit0}));
}

TEST(SpinLock, NotWithLdAbs) {
    expect_rejected(cat({{BPF_MOV64_REG(BPF_REG_9, BPF_REG_1)}, lookup_into(BPF_REG_7, kLockHash), lock(BPF_REG_7),
                         {BPF_MOV64_REG(BPF_REG_6, BPF_REG_9), BPF_LD_ABS(BPF_B, 0)}, unlock(BPF_REG_7), kExit0}),
                    "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region");
}

TEST(SpinLock, LockedInASubprogramUnlockedByTheCaller) {
    // As Linux 6.18: only the main program's exit must not hold the lock.
    const Prog prog = cat({lookup_into(BPF_REG_6, kLockHash), {BPF_MOV64_REG(BPF_REG_1, BPF_REG_6), BPF_CALL_REL(5)},
                           unlock(BPF_REG_6), kExit0, lock_call(BPF_REG_1, 0, BPF_FUNC_spin_lock), kExit0});
    expect_accepted(prog);
}

TEST(SpinLock, NotForSocketFiltersTracingOrUnprivileged) {
    expect_rejected(locked_update(), "socket filter progs cannot use bpf_spin_lock yet",
                    of_type(BPF_PROG_TYPE_SOCKET_FILTER));
    expect_rejected(locked_update(), "tracing progs cannot use bpf_spin_lock yet", of_type(BPF_PROG_TYPE_KPROBE));
    expect_rejected(locked_update(), "tracing progs cannot use bpf_spin_lock yet",
                    of_type(BPF_PROG_TYPE_TRACEPOINT));
    Options unpriv = of_type(BPF_PROG_TYPE_SOCKET_FILTER);
    unpriv.privileged = false;
    const Prog on_plain_map = cat({lookup_into(BPF_REG_6, kHash), lock(BPF_REG_6), unlock(BPF_REG_6), kExit0});
    expect_rejected(on_plain_map, "bpf_spin_lock#93 (it needs a privileged load)", unpriv);
}

// ---- get_stackid and STACK_TRACE maps ----

Prog stackid(int32_t map, int32_t flags = 0) {
    return {BPF_LD_MAP_FD(BPF_REG_2, map), BPF_MOV64_IMM(BPF_REG_3, flags), BPF_EMIT_CALL(BPF_FUNC_get_stackid),
            BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};
}

TEST(GetStackid, TracingProgramsWithAStackTraceMap) {
    expect_accepted(stackid(kStacks), of_type(BPF_PROG_TYPE_KPROBE));
    expect_accepted(stackid(kStacks, BPF_F_USER_STACK), of_type(BPF_PROG_TYPE_TRACEPOINT));
    expect_rejected(stackid(kHash), "cannot pass map_type 1 into func bpf_get_stackid#27",
                    of_type(BPF_PROG_TYPE_KPROBE));
    expect_rejected(stackid(kStacks), "cannot use helper bpf_get_stackid#27", of_type(BPF_PROG_TYPE_XDP));
    Options proprietary = of_type(BPF_PROG_TYPE_KPROBE);
    proprietary.license = "Proprietary";
    expect_rejected(stackid(kStacks), "GPL", proprietary);
}

TEST(GetStackid, StackTraceMapsOnlyWorkWithIt) {
    const Prog lookup = cat({lookup_into(BPF_REG_6, kStacks), kExit0});
    expect_rejected(lookup, "cannot pass map_type 7 into func bpf_map_lookup_elem#1", of_type(BPF_PROG_TYPE_KPROBE));
}

// ---- task helpers ----

TEST(TaskHelpers, CommAndUidGidInTracingPrograms) {
    const Prog comm = {BPF_MOV64_REG(BPF_REG_1, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -16),
                       BPF_MOV64_IMM(BPF_REG_2, 16), BPF_EMIT_CALL(BPF_FUNC_get_current_comm),
                       BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -16), BPF_EXIT_INSN()};
    expect_accepted(comm, of_type(BPF_PROG_TYPE_KPROBE));
    expect_accepted(comm, of_type(BPF_PROG_TYPE_RAW_TRACEPOINT));
    expect_rejected(comm, "cannot use helper bpf_get_current_comm#16", of_type(BPF_PROG_TYPE_XDP));
    Prog beyond = comm;
    beyond[2] = BPF_MOV64_IMM(BPF_REG_2, 17);  // 17 bytes from fp-16
    expect_rejected(beyond, "invalid write to stack", of_type(BPF_PROG_TYPE_KPROBE));
    Prog empty = comm;
    empty[2] = BPF_MOV64_IMM(BPF_REG_2, 0);
    expect_rejected(empty, "invalid zero-sized read", of_type(BPF_PROG_TYPE_KPROBE));

    const Prog uid = {BPF_EMIT_CALL(BPF_FUNC_get_current_uid_gid), BPF_EXIT_INSN()};
    expect_accepted(uid, of_type(BPF_PROG_TYPE_TRACEPOINT));
    expect_rejected(uid, "cannot use helper bpf_get_current_uid_gid#15", of_type(BPF_PROG_TYPE_SCHED_CLS));
}

// ---- skb helpers ----

// R6 = ctx; fp-8 = 0x45; skb_store_bytes(ctx, 14, fp-8, 1, 0)
const Prog kStoreByte = {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0x45),
                         BPF_MOV64_IMM(BPF_REG_2, 14), BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),
                         BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8), BPF_MOV64_IMM(BPF_REG_4, 1),
                         BPF_MOV64_IMM(BPF_REG_5, 0), BPF_EMIT_CALL(BPF_FUNC_skb_store_bytes)};

TEST(SkbHelpers, StoreBytesInTcOnly) {
    expect_accepted(cat({kStoreByte, kExit0}));
    expect_accepted(cat({kStoreByte, kExit0}), of_type(BPF_PROG_TYPE_SCHED_ACT));
    expect_rejected(cat({kStoreByte, kExit0}), "cannot use helper bpf_skb_store_bytes#9",
                    of_type(BPF_PROG_TYPE_SOCKET_FILTER));
    expect_rejected(cat({kStoreByte, kExit0}), "cannot use helper bpf_skb_store_bytes#9",
                    of_type(BPF_PROG_TYPE_CGROUP_SKB));
    expect_rejected(cat({kStoreByte, kExit0}), "cannot use helper bpf_skb_store_bytes#9", of_type(BPF_PROG_TYPE_XDP));
    // The source must be initialised... for unprivileged loads, and in bounds always.
    Prog too_long = cat({kStoreByte, kExit0});
    too_long[5] = BPF_MOV64_IMM(BPF_REG_4, 9);
    expect_rejected(too_long, "invalid read from stack");
}

TEST(SkbHelpers, PacketChangingHelpersInvalidatePacketPointers) {
    // R7 = data; R8 = data_end; if (R7 + 20 > R8) exit; helper; R0 = *(u8 *)R7
    const Prog bounds = {BPF_LDX_MEM(BPF_W, BPF_REG_7, BPF_REG_1, offsetof(struct __sk_buff, data)),
                         BPF_LDX_MEM(BPF_W, BPF_REG_8, BPF_REG_1, offsetof(struct __sk_buff, data_end)),
                         BPF_MOV64_REG(BPF_REG_2, BPF_REG_7), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, 20),
                         BPF_JMP_REG(BPF_JLE, BPF_REG_2, BPF_REG_8, 2), BPF_MOV64_IMM(BPF_REG_0, 0),
                         BPF_EXIT_INSN()};
    const Prog read = {BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_7, 0), BPF_EXIT_INSN()};
    expect_accepted(cat({bounds, read}));
    const Prog l3 = {BPF_MOV64_IMM(BPF_REG_2, 24), BPF_MOV64_IMM(BPF_REG_3, 0), BPF_MOV64_IMM(BPF_REG_4, 1),
                     BPF_MOV64_IMM(BPF_REG_5, 2), BPF_EMIT_CALL(BPF_FUNC_l3_csum_replace)};
    const Prog l4 = {BPF_MOV64_IMM(BPF_REG_2, 50), BPF_MOV64_IMM(BPF_REG_3, 0), BPF_MOV64_IMM(BPF_REG_4, 1),
                     BPF_MOV64_IMM(BPF_REG_5, 2 | BPF_F_PSEUDO_HDR), BPF_EMIT_CALL(BPF_FUNC_l4_csum_replace)};
    const Prog room = {BPF_MOV64_IMM(BPF_REG_2, 8), BPF_MOV64_IMM(BPF_REG_3, BPF_ADJ_ROOM_MAC),
                       BPF_MOV64_IMM(BPF_REG_4, 0), BPF_EMIT_CALL(BPF_FUNC_skb_adjust_room)};
    const Prog ctx = {BPF_MOV64_REG(BPF_REG_1, BPF_REG_6)};
    const Prog save_ctx = {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1)};
    for (const Prog& helper : {l3, l4, room}) {
        expect_accepted(cat({save_ctx, bounds, ctx, helper, kExit0}));
        expect_rejected(cat({save_ctx, bounds, ctx, helper, read}), "R7 invalid mem access 'scalar'");
        expect_rejected(cat({save_ctx, ctx, helper, kExit0}), "cannot use helper", of_type(BPF_PROG_TYPE_XDP));
    }
}

}  // namespace
}  // namespace bpfrt::verifier
