// map_bridge.hpp over bpfrt::maps::Map.
#include "runtime/map_bridge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace bpfrt::runtime::bridge {

namespace {

const void* key_or_null(std::span<const std::byte> key) { return key.empty() ? nullptr : key.data(); }

// The kernel's map_lookup_elem flag rules.
Result<void> check_lookup_flags(const MapObject& map, uint64_t flags) {
    if (flags & ~uint64_t{BPF_F_LOCK}) return fail(EINVAL, fmt::format("flags {:#x}: only BPF_F_LOCK is known", flags));
    if ((flags & BPF_F_LOCK) && map.spec().spin_lock_off < 0)
        return fail(EINVAL, "BPF_F_LOCK: the map's value has no bpf_spin_lock");
    return {};
}

// A copied value's bpf_spin_lock reads as 0 (the kernel's check_and_init_map_value).
void hide_lock(const MapObject& map, std::span<std::byte> value) {
    const int32_t off = map.spec().spin_lock_off;
    if (off < 0 || value.size() < size_t{static_cast<uint32_t>(off)} + 4) return;
    std::fill_n(value.begin() + off, 4, std::byte{0});
}

}  // namespace

Result<MapRef> create(const MapCreate& in, const MapResolver& resolve) {
    if (in.map_extra != 0) return fail(EINVAL, "map_extra is only for bloom filters (unsupported)");
    maps::MapSpec spec;
    spec.type = in.map_type;
    spec.key_size = in.key_size;
    spec.value_size = in.value_size;
    spec.max_entries = in.max_entries;
    spec.map_flags = in.map_flags;
    spec.name = in.name;
    if (in.value_btf) {
        spec.value_btf = true;
        spec.spin_lock_off = in.value_btf->spin_lock_off;
    }
    // As the kernel, inner_map_fd only means something to map-in-map types.
    const bool holds_maps = in.map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS || in.map_type == BPF_MAP_TYPE_HASH_OF_MAPS;
    if (holds_maps) {
        auto inner = resolve(in.inner_map_fd);
        if (!inner) return std::unexpected(inner.error());
        spec.inner_map_template = std::move(*inner);
    }
    return maps::create_map(spec);
}

MapInfo info(const MapObject& map) {
    const maps::MapSpec& s = map.spec();
    return MapInfo{s.type, s.key_size, s.value_size, map.host_value_size(), s.max_entries, s.map_flags};
}

verifier::MapInfo verifier_info(const MapObject& map) {
    const maps::MapSpec& s = map.spec();
    verifier::MapInfo out{s.type, s.key_size, s.value_size, s.max_entries, s.map_flags, false};
    out.btf = s.value_btf;
    out.spin_lock_off = s.spin_lock_off;
    if (s.inner_map_template) out.inner = std::make_shared<const verifier::MapInfo>(verifier_info(*s.inner_map_template));
    return out;
}

Result<void> lookup(MapObject& map, std::span<const std::byte> key, std::span<std::byte> value, uint64_t flags) {
    if (auto ok = check_lookup_flags(map, flags); !ok) return ok;
    if (flags & BPF_F_LOCK) return map.lookup_locked(key_or_null(key), value.data());
    auto done = map.lookup(key_or_null(key), value.data());
    if (done) hide_lock(map, value);
    return done;
}

Result<void> update(MapObject& map, std::span<const std::byte> key, std::span<const std::byte> value,
                    uint64_t flags, const ObjectResolver& resolve) {
    // The kernel's map_update_elem checks this before the map type's own rules.
    if ((flags & BPF_F_LOCK) && map.spec().spin_lock_off < 0)
        return fail(EINVAL, "BPF_F_LOCK: the map's value has no bpf_spin_lock");
    return map.update(key_or_null(key), value.data(), flags, resolve);
}

Result<void> remove(MapObject& map, std::span<const std::byte> key) { return map.erase(key_or_null(key)); }

Result<void> next_key(MapObject& map, std::optional<std::span<const std::byte>> key, std::span<std::byte> next) {
    return map.get_next_key(key ? key_or_null(*key) : nullptr, next.data());
}

Result<void> lookup_and_delete(MapObject& map, std::span<const std::byte> key, std::span<std::byte> value,
                               uint64_t flags) {
    if (auto ok = check_lookup_flags(map, flags); !ok) return ok;
    // Hash maps copy a value with a bpf_spin_lock holding it, BPF_F_LOCK or not.
    auto done = map.lookup_and_delete(key_or_null(key), value.data());
    if (done) hide_lock(map, value);
    return done;
}

Result<std::byte*> direct_value(MapObject& map, uint32_t offset) {
    auto address = map.direct_value_addr(offset);
    if (!address) {
        // The kernel's check_ld_imm rejects a map without direct values with EINVAL.
        if (address.error().code == maps::kENOTSUPP)
            return fail(EINVAL, "direct value access needs an array map with one element");
        return std::unexpected(address.error());
    }
    return static_cast<std::byte*>(*address);
}

}  // namespace bpfrt::runtime::bridge
