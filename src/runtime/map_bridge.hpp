// The runtime's one contact with the map implementations: the host-side
// operations of the bpf() map commands, the program-side operations of the
// map helpers, and the facts PROG_LOAD needs.
//
// PROVISIONAL: until src/maps lands, MapObject is the small stand-in of
// provisional_map.hpp (hash, array, queue, stack); only this header and
// map_bridge.cpp change when the real maps::Map replaces it.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/runtime.hpp>

#include "runtime/provisional_map.hpp"
#include "verifier/verifier.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>

namespace bpfrt::runtime::bridge {

using MapObject = ProvisionalMap;
using MapRef = std::shared_ptr<MapObject>;
// Resolves an inner_map_fd (or any map handle) to its map: EBADF / EINVAL.
using MapResolver = std::function<Result<MapRef>(int fd)>;

// ---- Host side (bpf() commands) ----

Result<MapRef> create(const MapCreate& in, const MapResolver& resolve);
MapInfo info(const MapObject& map);
verifier::MapInfo verifier_info(const MapObject& map);

Result<void> lookup(MapObject& map, std::span<const std::byte> key, std::span<std::byte> value, uint64_t flags);
Result<void> update(MapObject& map, std::span<const std::byte> key, std::span<const std::byte> value,
                    uint64_t flags);
Result<void> remove(MapObject& map, std::span<const std::byte> key);
Result<void> next_key(MapObject& map, std::optional<std::span<const std::byte>> key, std::span<std::byte> next);
Result<void> lookup_and_delete(MapObject& map, std::span<const std::byte> key, std::span<std::byte> value,
                               uint64_t flags);

// BPF_PSEUDO_MAP_VALUE: the address of byte `offset` of the map's direct
// value (array maps, element 0). EINVAL when the map has none or the offset
// is outside the value.
Result<std::byte*> direct_value(MapObject& map, uint32_t offset);

// ---- Program side (helpers); results as the kernel's helpers give them ----

// The value under `key` (this CPU slot's for per-CPU maps), or nullptr.
void* prog_lookup(MapObject& map, const void* key);
long prog_update(MapObject& map, const void* key, const void* value, uint64_t flags);  // 0 or -errno
long prog_delete(MapObject& map, const void* key);
long prog_push(MapObject& map, const void* value, uint64_t flags);
long prog_pop(MapObject& map, void* value);
long prog_peek(MapObject& map, void* value);
// Bytes a program may access through a prog_lookup() result, and whether it may write them.
size_t prog_value_size(const MapObject& map);
bool prog_value_writable(const MapObject& map);
size_t key_size(const MapObject& map);

// An RAII section held for the whole of a program run: map values a program
// obtained stay valid until it ends (maps::ReadSection).
class RunSection {
public:
    RunSection() noexcept {}  // user-provided: a guard, not an unused variable
    RunSection(const RunSection&) = delete;
    RunSection& operator=(const RunSection&) = delete;
};

}  // namespace bpfrt::runtime::bridge
