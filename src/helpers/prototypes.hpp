// Helper prototypes as data: the kernel's `struct bpf_func_proto` idea.
//
// One row per helper with the kernel's number, name, return type, argument
// types, whether it is GPL-only, and which program types may call it. The
// verifier checks calls against this table; the interpreter and the JIT read
// the same table (names, argument counts).
#pragma once

#include <bpfrt/insn.h>

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace bpfrt::helpers {

// Argument types (the kernel's enum bpf_arg_type, the subset we support).
enum class ArgType : uint8_t {
    DontCare,             // unused argument: not checked, may be uninitialised
    Anything,             // any initialised scalar (unprivileged: no pointers)
    ConstMapPtr,          // CONST_PTR_TO_MAP
    PtrToMapKey,          // key_size readable, initialised bytes
    PtrToMapValue,        // value_size readable, initialised bytes
    PtrToUninitMapValue,  // value_size writable bytes (filled by the helper)
    PtrToCtx,             // the program's context, unmodified
    PtrToMem,             // readable memory; size in the next argument
    PtrToMemOrNull,       // as PtrToMem, or NULL with size 0
    PtrToUninitMem,       // writable memory; size in the next argument
    ConstSize,            // size of the previous memory argument, > 0
    ConstSizeOrZero,      // size of the previous memory argument, >= 0
    ConstAllocSizeOrZero, // known constant: size of memory the helper returns
    PtrToAllocMem,        // memory from an allocating helper (ringbuf_reserve); released
    PtrToSpinLock,        // the struct bpf_spin_lock of a map value (BTF), at a constant offset
    PtrToFunc,            // a BPF function (lddw BPF_PSEUDO_FUNC) the helper calls back
    PtrToStackOrNull,     // the program's stack (the callback's context), or NULL
};

// Return types (the kernel's enum bpf_return_type, the subset we support).
enum class RetType : uint8_t {
    Integer,               // unknown scalar
    Void,                  // R0 not initialised after the call
    PtrToMapValueOrNull,   // value of the map in the ConstMapPtr argument, or NULL
    PtrToAllocMemOrNull,   // ConstAllocSizeOrZero bytes, or NULL; must be released
};

inline constexpr size_t kMaxArgs = 5;

struct HelperProto {
    uint32_t id = 0;  // BPF_FUNC_* number, as the kernel's __BPF_FUNC_MAPPER
    std::string_view name;  // without the bpf_ prefix
    RetType ret = RetType::Integer;
    std::array<ArgType, kMaxArgs> args{};
    bool gpl_only = false;
    bool privileged_only = false;  // needs CAP_PERFMON/CAP_BPF in the kernel
    bool changes_pkt_data = false; // invalidates packet pointers (xdp_adjust_*)
    uint64_t prog_types = 0;       // bit N set = BPF_PROG_TYPE N may call it
    uint64_t map_types = 0;        // bit N set = the map argument may be BPF_MAP_TYPE N (0: see below)
};

// All known prototypes, ordered by id.
std::span<const HelperProto> all_prototypes() noexcept;
// The prototype for helper `id`, or nullptr when there is none.
const HelperProto* find_prototype(uint32_t id) noexcept;
// Number of arguments the helper uses (trailing DontCare not counted).
unsigned arg_count(const HelperProto& proto) noexcept;
// Whether programs of `prog_type` may call it.
bool allowed_for(const HelperProto& proto, uint32_t prog_type) noexcept;
// Whether `helper_id` may receive a map of `map_type` (both directions of the
// kernel's check_map_func_compatibility: special maps only work with their helpers).
bool map_compatible(const HelperProto& proto, uint32_t map_type) noexcept;
// The kernel's license_is_gpl_compatible().
bool is_gpl_compatible(std::string_view license) noexcept;

// Helpers that call a function of the program back (bpf_loop): the verifier
// explores the callback, the engines provide ExecContext::call_function.
inline constexpr bool calls_back(uint32_t helper_id) noexcept { return helper_id == 181; }  // BPF_FUNC_loop

}  // namespace bpfrt::helpers
