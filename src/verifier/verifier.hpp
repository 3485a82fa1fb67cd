// The verifier's entry point: proves a program safe before it may run.
//
// Input: the raw instructions (after map handles in lddw have been resolved
// to MapInfo by the caller), the program type, the license and privilege.
// Output: accept/reject, the log (kernel-style, log_level 1 or 2) and
// statistics. Nothing the verifier rejects is ever run.
#pragma once

#include "helpers/prototypes.hpp"

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::verifier {

// What the verifier needs to know about a map referenced by the program.
struct MapInfo {
    uint32_t type = 0;  // BPF_MAP_TYPE_*
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t map_flags = 0;
    bool frozen = false;  // read-only to programs (.rodata)
    bool btf = false;     // the value's type is known from BTF (needed by bpf_spin_lock)
    int32_t spin_lock_off = -1;  // offset of the value's struct bpf_spin_lock (BTF), -1: none
    // ARRAY_OF_MAPS / HASH_OF_MAPS: the inner map template (the kernel's
    // inner_map_meta). A lookup gives a map pointer of this kind.
    std::shared_ptr<const MapInfo> inner{};
};

// bpfrt's own program type for plain memory (no kernel number is this large):
// r1 points to `ctx_size` bytes of readable and writable memory and r2 holds
// `ctx_size` (the conformance convention of `bpfrt exec`). No helper may be
// called; any scalar may be returned.
inline constexpr uint32_t kProgTypeRawMemory = 0x10000;

// Source line for an instruction (from BTF line info), when known.
struct LineInfo {
    uint32_t insn_off = 0;  // slot index
    std::string file;
    uint32_t line = 0;
    std::string text;
};

struct VerifyInput {
    std::span<const bpf_insn> insns;
    uint32_t prog_type = 0;  // BPF_PROG_TYPE_*
    std::string license;     // "GPL", "Dual BSD/GPL", ...
    bool privileged = true;  // root in the kernel; false = unprivileged rules
    uint32_t log_level = 0;  // 0 none, 1 the failing path, 2 every instruction
    // Maps referenced by lddw with src_reg BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE:
    // called with the imm of the lddw (the handle); nullopt = no such map (EBADF).
    std::function<std::optional<MapInfo>(int32_t handle)> map_info;
    std::vector<LineInfo> line_info;  // optional, sorted by insn_off
    uint64_t max_processed = 1'000'000;  // processed-instruction budget
    // The kernel's strict alignment mode (BPF_F_STRICT_ALIGNMENT): context, map
    // value, memory and packet accesses aligned to their size (packets counted
    // from NET_IP_ALIGN = 2). On by default: programs then run on any host
    // (stack accesses and atomics are always strictly aligned).
    bool strict_alignment = true;
    uint32_t ctx_size = 0;  // tracing contexts: bytes the host declares (0: the type's default)
    // Helpers the host registered (ids no kernel helper uses): checked like
    // the shared table's. Consulted when the shared table has no entry.
    std::span<const helpers::HelperProto> host_helpers{};
};

// A load or store through the context pointer, as proven by the verifier:
// the runtime rewrites these (the kernel's convert_ctx_access), e.g. the u32
// __sk_buff/xdp_md data fields into 64-bit pointer loads.
struct CtxAccess {
    uint32_t insn = 0;  // slot of the LDX/ST/STX
    int32_t off = 0;    // byte offset into the UAPI context struct
    uint8_t size = 0;   // 1, 2, 4 or 8
    bool write = false;
};

struct VerifyResult {
    bool accepted = false;
    int error_code = 0;  // 0 accepted; EACCES rejected; EINVAL malformed; E2BIG too large
    std::string log;     // as the kernel writes into log_buf (without truncation)
    std::string message; // the root cause in one line (empty when accepted)
    uint64_t processed_insns = 0;
    uint64_t states = 0;
    uint64_t peak_states = 0;
    uint32_t max_stack_depth = 0;
    double time_ns = 0;
    uint64_t max_states_per_insn = 0;
    int64_t error_insn = -1;  // instruction the rejection is about (-1: none / whole program)
    // Every context access of an accepted program, one per instruction, by slot.
    std::vector<CtxAccess> ctx_accesses;
};

VerifyResult verify(const VerifyInput& input);

}  // namespace bpfrt::verifier
