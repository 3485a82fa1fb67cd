// The maps a program refers to, as the verifier sees them.
#pragma once

#include "verifier/verifier.hpp"

#include <cstdint>
#include <vector>

namespace bpfrt::verifier {

struct MapRef {
    int32_t handle = 0;  // the lddw imm (kInnerMapHandle for an inner map template)
    MapInfo info;
    int32_t inner = -1;  // *_OF_MAPS: index of its inner map template's MapRef
};

// Inner map templates have no handle of their own.
inline constexpr int32_t kInnerMapHandle = -1;

// Indexed by RegState::map.
struct MapTable : std::vector<MapRef> {};

}  // namespace bpfrt::verifier
