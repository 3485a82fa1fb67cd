// PROVISIONAL implementation of map_bridge.hpp over ProvisionalMap, until
// src/maps lands (see provisional_map.hpp).
#include "runtime/map_bridge.hpp"

#include <bpfrt/bpf.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace bpfrt::runtime::bridge {

namespace {

constexpr uint32_t kMaxKeySize = 512;      // MAX_BPF_STACK
constexpr uint32_t kMaxValueSize = 1u << 20;

bool is_hash(const MapObject& m) { return m.type == BPF_MAP_TYPE_HASH; }
bool is_array(const MapObject& m) { return m.type == BPF_MAP_TYPE_ARRAY; }
bool is_queue_like(const MapObject& m) { return m.type == BPF_MAP_TYPE_QUEUE || m.type == BPF_MAP_TYPE_STACK; }

std::string key_string(const MapObject& m, const void* key) {
    return std::string(static_cast<const char*>(key), m.key_size);
}

// Array index from a 4-byte key, or nullptr when out of range.
std::byte* array_slot(MapObject& m, const void* key) {
    uint32_t index = 0;
    std::memcpy(&index, key, sizeof index);
    if (index >= m.max_entries) return nullptr;
    return m.array.data() + static_cast<size_t>(index) * m.stride();
}

long check_update_flags(uint64_t flags) { return flags > BPF_EXIST ? -EINVAL : 0; }

// Both sides share these (the lock is held by the caller).
long update_locked(MapObject& m, const void* key, const void* value, uint64_t flags) {
    if (long err = check_update_flags(flags)) return err;
    if (is_array(m)) {
        std::byte* slot = array_slot(m, key);
        if (slot == nullptr) return -E2BIG;
        if (flags == BPF_NOEXIST) return -EEXIST;
        std::memcpy(slot, value, m.value_size);
        return 0;
    }
    auto it = m.hash.find(key_string(m, key));
    if (it != m.hash.end() && flags == BPF_NOEXIST) return -EEXIST;
    if (it == m.hash.end() && flags == BPF_EXIST) return -ENOENT;
    if (it == m.hash.end() && m.hash.size() >= m.max_entries) return -E2BIG;
    // A new value each time: a program may still use the old one.
    auto fresh = std::make_unique<std::byte[]>(m.stride());
    std::memcpy(fresh.get(), value, m.value_size);
    m.hash[key_string(m, key)] = fresh.get();
    m.storage.push_back(std::move(fresh));
    return 0;
}

long delete_locked(MapObject& m, const void* key) {
    if (is_array(m)) return -EINVAL;
    return m.hash.erase(key_string(m, key)) == 1 ? 0 : -ENOENT;
}

long push_locked(MapObject& m, const void* value, uint64_t flags) {
    if (flags != BPF_ANY && flags != BPF_EXIST) return -EINVAL;
    if (m.queue.size() >= m.max_entries) {
        if (flags != BPF_EXIST) return -E2BIG;
        if (m.type == BPF_MAP_TYPE_QUEUE) m.queue.pop_front(); else m.queue.pop_front();
    }
    const auto* bytes = static_cast<const std::byte*>(value);
    m.queue.emplace_back(bytes, bytes + m.value_size);
    return 0;
}

// Queue: oldest first; stack: newest first.
long take_locked(MapObject& m, void* value, bool remove) {
    if (m.queue.empty()) return -ENOENT;
    auto& element = m.type == BPF_MAP_TYPE_QUEUE ? m.queue.front() : m.queue.back();
    std::memcpy(value, element.data(), m.value_size);
    if (remove) {
        if (m.type == BPF_MAP_TYPE_QUEUE) m.queue.pop_front(); else m.queue.pop_back();
    }
    return 0;
}

Result<void> to_result(long err, std::string_view what) {
    if (err == 0) return {};
    return fail(static_cast<int>(-err), fmt::format("{}: {}", what, std::strerror(static_cast<int>(-err))));
}

Result<void> check_create(const MapCreate& in) {
    switch (in.map_type) {
    case BPF_MAP_TYPE_HASH:
        if (in.key_size == 0 || in.value_size == 0 || in.max_entries == 0)
            return fail(EINVAL, "hash maps need key_size, value_size and max_entries > 0");
        break;
    case BPF_MAP_TYPE_ARRAY:
        if (in.key_size != 4 || in.value_size == 0 || in.max_entries == 0)
            return fail(EINVAL, "array maps need key_size 4, value_size and max_entries > 0");
        break;
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK:
        if (in.key_size != 0 || in.value_size == 0 || in.max_entries == 0)
            return fail(EINVAL, "queue/stack maps need key_size 0, value_size and max_entries > 0");
        break;
    default: return fail(EINVAL, fmt::format("map type {} is not supported", in.map_type));
    }
    if (in.map_flags & ~static_cast<uint32_t>(BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG | BPF_F_NUMA_NODE))
        return fail(EINVAL, fmt::format("map_flags {:#x} not supported", in.map_flags));
    if (in.inner_map_fd != 0) return fail(EINVAL, "inner_map_fd is only for map-in-map types");
    if (in.key_size > kMaxKeySize || in.value_size > kMaxValueSize) return fail(E2BIG, "key or value too large");
    return {};
}

}  // namespace

Result<MapRef> create(const MapCreate& in, const MapResolver&) {
    if (auto ok = check_create(in); !ok) return std::unexpected(ok.error());
    auto map = std::make_shared<MapObject>();
    map->type = in.map_type;
    map->key_size = in.key_size;
    map->value_size = in.value_size;
    map->max_entries = in.max_entries;
    map->flags = in.map_flags;
    if (is_array(*map)) map->array.assign(static_cast<size_t>(in.max_entries) * map->stride(), std::byte{0});
    return map;
}

MapInfo info(const MapObject& m) {
    return MapInfo{m.type, m.key_size, m.value_size, m.value_size, m.max_entries, m.flags};
}

verifier::MapInfo verifier_info(const MapObject& m) {
    return verifier::MapInfo{m.type, m.key_size, m.value_size, m.max_entries, m.flags, false};
}

Result<void> lookup(MapObject& m, std::span<const std::byte> key, std::span<std::byte> value, uint64_t flags) {
    if (flags != 0) return fail(EINVAL, "flags must be 0");
    std::lock_guard lock(m.mutex);
    if (is_queue_like(m)) return to_result(take_locked(m, value.data(), false), "lookup");
    const std::byte* found = nullptr;
    if (is_array(m)) {
        found = array_slot(m, key.data());
    } else {
        auto it = m.hash.find(key_string(m, key.data()));
        if (it != m.hash.end()) found = it->second;
    }
    if (found == nullptr) return fail(ENOENT, "no element with this key");
    std::memcpy(value.data(), found, m.value_size);
    return {};
}

Result<void> update(MapObject& m, std::span<const std::byte> key, std::span<const std::byte> value, uint64_t flags) {
    std::lock_guard lock(m.mutex);
    if (is_queue_like(m)) return to_result(push_locked(m, value.data(), flags), "update");
    return to_result(update_locked(m, key.data(), value.data(), flags), "update");
}

Result<void> remove(MapObject& m, std::span<const std::byte> key) {
    std::lock_guard lock(m.mutex);
    if (is_queue_like(m)) return fail(EINVAL, "queue/stack elements cannot be deleted by key");
    return to_result(delete_locked(m, key.data()), "delete");
}

Result<void> next_key(MapObject& m, std::optional<std::span<const std::byte>> key, std::span<std::byte> next) {
    std::lock_guard lock(m.mutex);
    if (is_queue_like(m)) return fail(EINVAL, "queue/stack maps have no keys");
    if (is_array(m)) {
        uint32_t index = 0;
        if (key) std::memcpy(&index, key->data(), sizeof index);
        const uint32_t following = !key || index >= m.max_entries ? 0 : index + 1;
        if (following >= m.max_entries) return fail(ENOENT, "last key");
        std::memcpy(next.data(), &following, sizeof following);
        return {};
    }
    auto it = m.hash.begin();
    if (key) {
        auto at = m.hash.find(key_string(m, key->data()));
        if (at != m.hash.end()) it = std::next(at);
    }
    if (it == m.hash.end()) return fail(ENOENT, "last key");
    std::memcpy(next.data(), it->first.data(), m.key_size);
    return {};
}

Result<void> lookup_and_delete(MapObject& m, std::span<const std::byte> key, std::span<std::byte> value,
                               uint64_t flags) {
    if (flags != 0) return fail(EINVAL, "flags must be 0");
    std::lock_guard lock(m.mutex);
    if (is_queue_like(m)) return to_result(take_locked(m, value.data(), true), "pop");
    if (is_array(m)) return fail(ENOTSUP, "arrays have no lookup-and-delete");
    auto it = m.hash.find(key_string(m, key.data()));
    if (it == m.hash.end()) return fail(ENOENT, "no element with this key");
    std::memcpy(value.data(), it->second, m.value_size);
    m.hash.erase(it);
    return {};
}

Result<std::byte*> direct_value(MapObject& m, uint32_t offset) {
    if (!is_array(m) || m.max_entries != 1) return fail(EINVAL, "direct value access needs an array map with one element");
    if (offset >= m.value_size)
        return fail(EINVAL, fmt::format("invalid access to map value pointer, value_size={} off={}", m.value_size, offset));
    return m.array.data() + offset;
}

void* prog_lookup(MapObject& m, const void* key) {
    std::lock_guard lock(m.mutex);
    if (is_array(m)) return array_slot(m, key);
    if (!is_hash(m)) return nullptr;
    auto it = m.hash.find(key_string(m, key));
    return it == m.hash.end() ? nullptr : it->second;
}

long prog_update(MapObject& m, const void* key, const void* value, uint64_t flags) {
    std::lock_guard lock(m.mutex);
    if (is_queue_like(m)) return -EINVAL;
    return update_locked(m, key, value, flags);
}

long prog_delete(MapObject& m, const void* key) {
    std::lock_guard lock(m.mutex);
    if (is_queue_like(m)) return -EINVAL;
    return delete_locked(m, key);
}

long prog_push(MapObject& m, const void* value, uint64_t flags) {
    std::lock_guard lock(m.mutex);
    return is_queue_like(m) ? push_locked(m, value, flags) : -EINVAL;
}

long prog_pop(MapObject& m, void* value) {
    std::lock_guard lock(m.mutex);
    return is_queue_like(m) ? take_locked(m, value, true) : -EINVAL;
}

long prog_peek(MapObject& m, void* value) {
    std::lock_guard lock(m.mutex);
    return is_queue_like(m) ? take_locked(m, value, false) : -EINVAL;
}

size_t prog_value_size(const MapObject& m) { return m.value_size; }
bool prog_value_writable(const MapObject& m) { return (m.flags & BPF_F_RDONLY_PROG) == 0; }
size_t key_size(const MapObject& m) { return m.key_size; }

}  // namespace bpfrt::runtime::bridge
