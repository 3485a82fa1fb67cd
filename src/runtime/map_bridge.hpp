// The runtime's one contact with the map implementations (src/maps): the
// host-side operations of the bpf() map commands, the program-side
// operations of the map helpers, and the facts PROG_LOAD needs.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/runtime.hpp>

#include "maps/map.hpp"
#include "maps/reclaim.hpp"
#include "verifier/verifier.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

namespace bpfrt::runtime::bridge {

using MapObject = maps::Map;
using MapRef = std::shared_ptr<MapObject>;
// Resolves an inner_map_fd to its map: EBADF / EINVAL.
using MapResolver = std::function<Result<MapRef>(int fd)>;
// Resolves a handle stored as a value (PROG_ARRAY, *_OF_MAPS) to its object.
using ObjectResolver = maps::FdResolver;

// Held for the whole of a program run: map values a program obtained stay
// valid until it ends, even if the host deletes their elements meanwhile.
using RunSection = maps::ReadSection;

// ---- Host side (bpf() commands) ----

Result<MapRef> create(const MapCreate& in, const MapResolver& resolve);
MapInfo info(const MapObject& map);
verifier::MapInfo verifier_info(const MapObject& map);

Result<void> lookup(MapObject& map, std::span<const std::byte> key, std::span<std::byte> value, uint64_t flags);
Result<void> update(MapObject& map, std::span<const std::byte> key, std::span<const std::byte> value,
                    uint64_t flags, const ObjectResolver& resolve);
Result<void> remove(MapObject& map, std::span<const std::byte> key);
Result<void> next_key(MapObject& map, std::optional<std::span<const std::byte>> key, std::span<std::byte> next);
Result<void> lookup_and_delete(MapObject& map, std::span<const std::byte> key, std::span<std::byte> value,
                               uint64_t flags);

// BPF_PSEUDO_MAP_VALUE: the address of byte `offset` of the map's direct
// value (array maps with one element). EINVAL when the map has none or the
// offset is outside the value.
Result<std::byte*> direct_value(MapObject& map, uint32_t offset);

// ---- Program side (helpers); results as the kernel's helpers give them ----

inline void* prog_lookup(MapObject& map, const void* key) { return map.prog_lookup(key); }
inline long prog_update(MapObject& map, const void* key, const void* value, uint64_t flags) {
    return map.prog_update(key, value, flags);
}
inline long prog_delete(MapObject& map, const void* key) { return map.prog_delete(key); }
inline long prog_push(MapObject& map, const void* value, uint64_t flags) { return map.prog_push(value, flags); }
inline long prog_pop(MapObject& map, void* value) { return map.prog_pop(value); }
inline long prog_peek(MapObject& map, void* value) { return map.prog_peek(value); }
// Bytes a program may access through a prog_lookup() result, and whether it may write them.
inline size_t prog_value_size(const MapObject& map) { return map.prog_value_size(); }
inline bool prog_value_writable(const MapObject& map) { return (map.spec().map_flags & BPF_F_RDONLY_PROG) == 0; }
inline size_t key_size(const MapObject& map) { return map.spec().key_size; }
// ARRAY_OF_MAPS / HASH_OF_MAPS: prog_lookup gives an inner map, not memory.
inline bool holds_maps(const MapObject& map) {
    return map.spec().type == BPF_MAP_TYPE_ARRAY_OF_MAPS || map.spec().type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

}  // namespace bpfrt::runtime::bridge
