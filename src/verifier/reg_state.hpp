// Abstract state of one register: its type, and for pointers a fixed and a
// variable offset plus what the pointer refers to.
#pragma once

#include "verifier/scalar.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace bpfrt::verifier {

enum class RegType : uint8_t {
    NotInit,
    Scalar,
    PtrToCtx,
    PtrToStack,
    ConstPtrToMap,
    PtrToMapValue,
    PtrToMapValueOrNull,
    PtrToPacket,
    PtrToPacketMeta,
    PtrToPacketEnd,
    PtrToMem,        // memory returned by a helper (ringbuf_reserve)
    PtrToMemOrNull,
    PtrToSockCommonOrNull,  // __sk_buff->sk: may be compared and returned, never dereferenced here
    PtrToSockCommon,
    PtrToFunc,       // a BPF function (lddw BPF_PSEUDO_FUNC), for callback-calling helpers; `map` is its subprogram
};

// Kernel names: "scalar", "ctx", "fp", "map_ptr", "map_value", ...
std::string_view type_name(RegType t);
bool is_pointer(RegType t);
bool is_packet(RegType t);       // pkt or pkt_meta
bool maybe_null(RegType t);      // *_or_null
RegType without_null(RegType t); // the type after a successful NULL check

// Where a register's value was made: the instruction that last defined it.
// Copies (register moves, spills and fills) keep it, so a rejection can say
// "R0 came from insn 6: call bpf_map_lookup_elem". Diagnostics only: any two
// origins compare equal, so states that differ only in where their values
// came from stay the same state for pruning and loop detection.
struct Origin {
    static constexpr uint32_t kUnset = UINT32_MAX;      // made by the instruction being checked
    static constexpr uint32_t kEntry = UINT32_MAX - 1;  // the program's initial state
    uint32_t insn = kUnset;
    bool operator==(const Origin&) const { return true; }
};

struct RegState {
    RegType type = RegType::NotInit;
    uint8_t frameno = 0;  // fp: which frame's stack
    int32_t off = 0;      // fixed part of a pointer's offset
    Scalar var;           // the value of a scalar; the variable part of a pointer's offset
    uint32_t id = 0;      // or_null: NULL-check group; pkt: range group; scalar: copies of one value
    uint32_t ref_obj_id = 0;  // reference that must be released (ringbuf memory)
    uint32_t range = 0;   // pkt: bytes from the group's origin proven below data_end
    uint32_t map = 0;     // index of the map (map_ptr, map_value)
    uint32_t mem_size = 0;  // mem: bytes
    Origin origin;        // not part of the abstract value (see Origin)

    static RegState scalar(const Scalar& s) {
        RegState r;
        r.type = RegType::Scalar;
        r.var = s;
        return r;
    }
    static RegState pointer(RegType t, int32_t off = 0) {
        RegState r;
        r.type = t;
        r.off = off;
        r.var = Scalar::constant(0);
        return r;
    }
    bool is_init() const { return type != RegType::NotInit; }
    bool is_scalar() const { return type == RegType::Scalar; }
    bool is_ptr() const { return is_pointer(type); }
    bool is_const() const { return is_scalar() && var.is_const(); }
    bool operator==(const RegState&) const = default;
};

// Kernel-style text, e.g. "map_value_or_null(id=1,off=0,ks=4,vs=8)".
struct MapTable;
std::string reg_str(const RegState& r, const MapTable* maps);

}  // namespace bpfrt::verifier
