// fd_array_map_alloc_check: PROG_ARRAY and ARRAY_OF_MAPS (internal).
#pragma once

#include "maps/util.hpp"

#include <fmt/format.h>

namespace bpfrt::maps::detail {

inline Result<void> check_fd_array_spec(const MapSpec& spec) {
    constexpr uint32_t kArrayFlags =
        BPF_F_NUMA_NODE | BPF_F_MMAPABLE | kAccessMask | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
    if (spec.value_size != 4) return fail(EINVAL, "value_size must be 4 (a handle)");
    if (spec.map_flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
        return fail(EINVAL, "BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG are not valid here");
    if (spec.max_entries == 0 || spec.key_size != 4) return fail(EINVAL, "key_size must be 4 and max_entries > 0");
    if ((spec.map_flags & ~kArrayFlags) != 0 || (spec.map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP | BPF_F_PRESERVE_ELEMS)))
        return fail(EINVAL, fmt::format("map_flags {:#x} are not valid here", spec.map_flags));
    if (uint64_t{spec.max_entries} * 8 > kMaxPreallocBytes) return fail(ENOMEM, "max_entries exceeds bpfrt's limit");
    return {};
}

inline uint32_t index_of(const void* key) {
    uint32_t index = 0;
    std::memcpy(&index, key, sizeof index);
    return index;
}

// Array order for get_next_key.
inline Result<void> array_next_key(uint32_t max_entries, const void* key, void* next_out) {
    const uint32_t index = key == nullptr ? 0 : index_of(key);
    const uint32_t next = key == nullptr || index >= max_entries ? 0 : index + 1;
    if (next >= max_entries) return fail(ENOENT, "get_next_key: last element");
    std::memcpy(next_out, &next, sizeof next);
    return {};
}

}  // namespace bpfrt::maps::detail
