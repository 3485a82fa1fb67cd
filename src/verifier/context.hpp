// The context (R1 at entry) of each supported program type: its size, which
// offsets may be read or written with which sizes, and which fields give
// packet pointers. The kernel's *_is_valid_access functions as data + rules.
#pragma once

#include "verifier/reg_state.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace bpfrt::verifier {

struct CtxAccessResult {
    bool ok = false;
    RegType loaded = RegType::Scalar;  // type of the value a read gives
};

struct ContextDesc {
    uint32_t prog_type = 0;
    std::string_view name;  // "socket_filter", "xdp", ...
    std::string_view ctx_name;  // "__sk_buff", "xdp_md", ...
    uint32_t size = 0;
    bool ld_abs = false;          // LD_ABS / LD_IND allowed
    bool pkt_write = false;       // direct packet writes allowed
    bool ret_range = false;       // R0 at exit must be in [ret_min, ret_max]
    int64_t ret_min = 0, ret_max = 0;
    CtxAccessResult (*access)(int off, int size, bool write, bool privileged, uint32_t ctx_size) = nullptr;
};

// nullptr when the program type is not supported.
const ContextDesc* context_for(uint32_t prog_type);

}  // namespace bpfrt::verifier
