// The maps a program refers to, as the verifier sees them.
#pragma once

#include "verifier/verifier.hpp"

#include <cstdint>
#include <vector>

namespace bpfrt::verifier {

struct MapRef {
    int32_t handle = 0;  // the lddw imm
    MapInfo info;
};

// Indexed by RegState::map.
struct MapTable : std::vector<MapRef> {};

}  // namespace bpfrt::verifier
