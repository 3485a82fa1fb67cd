// BPF_MAP_TYPE_ARRAY and BPF_MAP_TYPE_PERCPU_ARRAY: max_entries values,
// preallocated and zeroed, indexed by a u32 key. Elements always exist:
// delete gives EINVAL, BPF_NOEXIST gives EEXIST; an index out of range gives
// E2BIG on update and ENOENT on lookup. Updates copy in place (values are
// never freed, so program pointers stay valid).
#include "maps/factories.hpp"
#include "maps/util.hpp"
#include "maps/value_lock.hpp"

#include <fmt/format.h>

#include <climits>
#include <cstdlib>

namespace bpfrt::maps::detail {

namespace {

constexpr uint32_t kArrayFlags =
    BPF_F_NUMA_NODE | BPF_F_MMAPABLE | kAccessMask | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;

class ArrayMap final : public Map {
public:
    using Map::update;
    ArrayMap(const MapSpec& spec, std::byte* storage)
        : Map(spec),
          percpu_(spec.type == BPF_MAP_TYPE_PERCPU_ARRAY),
          slot_bytes_(round_up8(spec.value_size)),
          elem_bytes_(percpu_ ? slot_bytes_ * possible_cpus() : slot_bytes_),
          storage_(storage) {}
    ~ArrayMap() override { std::free(storage_); }
    ArrayMap(const ArrayMap&) = delete;
    ArrayMap& operator=(const ArrayMap&) = delete;

    Result<void> lookup(const void* key, void* value_out) override {
        std::byte* elem = element(key);
        if (elem == nullptr) return fail(ENOENT, "lookup: index out of range");
        load_value(value_out, elem, host_value_size());
        return {};
    }

    Result<void> update(const void* key, const void* value, uint64_t flags) override {
        // bpf()'s map_update_elem refuses BPF_F_LOCK without a lock before the map's own checks.
        if ((flags & BPF_F_LOCK) && spec_.spin_lock_off < 0)
            return fail(EINVAL, "update: BPF_F_LOCK, but the value has no bpf_spin_lock");
        if (long err = check(key, flags)) return errno_result(err, "update");
        store(element(key), value, host_value_size(), flags);
        return {};
    }

    Result<void> erase(const void*) override { return fail(EINVAL, "delete: array elements cannot be deleted"); }

    Result<void> get_next_key(const void* key, void* next_out) override {
        uint32_t index = 0;
        if (key != nullptr) std::memcpy(&index, key, sizeof index);
        // A missing (out of range) or null key gives the first index.
        const uint32_t next = key == nullptr || index >= spec_.max_entries ? 0 : index + 1;
        if (next >= spec_.max_entries) return fail(ENOENT, "get_next_key: last element");
        std::memcpy(next_out, &next, sizeof next);
        return {};
    }

    void* prog_lookup(const void* key) override {
        std::byte* elem = element(key);
        if (elem == nullptr || !percpu_) return elem;
        return elem + current_cpu_slot() * slot_bytes_;
    }

    long prog_update(const void* key, const void* value, uint64_t flags) override {
        if (long err = check(key, flags)) return err;
        std::byte* elem = element(key);
        if (percpu_) elem += current_cpu_slot() * slot_bytes_;
        store(elem, value, spec_.value_size, flags);
        return 0;
    }

    long prog_delete(const void*) override { return -EINVAL; }

    Result<void*> direct_value_addr(uint32_t offset) override {
        if (percpu_ || spec_.max_entries != 1) return Map::direct_value_addr(offset);
        if (offset >= spec_.value_size)
            return fail(EINVAL, fmt::format("invalid access to map value pointer, value_size={} off={}",
                                            spec_.value_size, offset));
        return storage_ + offset;
    }

private:
    std::byte* element(const void* key) const noexcept {
        uint32_t index = 0;
        std::memcpy(&index, key, sizeof index);
        if (index >= spec_.max_entries) return nullptr;
        return storage_ + size_t{index} * elem_bytes_;
    }

    // The kernel's order of checks (array_map_update_elem).
    long check(const void* key, uint64_t flags) const noexcept {
        if ((flags & ~uint64_t{BPF_F_LOCK}) > BPF_EXIST) return -EINVAL;
        if (element(key) == nullptr) return -E2BIG;
        if ((flags & ~uint64_t{BPF_F_LOCK}) == BPF_NOEXIST) return -EEXIST;
        if ((flags & BPF_F_LOCK) && spec_.spin_lock_off < 0) return -EINVAL;  // no bpf_spin_lock to hold
        return 0;
    }

    // Elements are updated in place: a value's bpf_spin_lock is never written,
    // and BPF_F_LOCK holds it during the copy.
    void store(std::byte* elem, const void* value, size_t bytes, uint64_t flags) const noexcept {
        if (!(flags & BPF_F_LOCK)) return store_value_keep_lock(elem, value, bytes, spec_.spin_lock_off);
        ValueLockGuard hold(elem, spec_.spin_lock_off);
        store_value_keep_lock(elem, value, bytes, spec_.spin_lock_off);
    }

    const bool percpu_;
    const size_t slot_bytes_;
    const size_t elem_bytes_;
    std::byte* storage_;  // calloc: large arrays cost pages only when touched
};

Result<void> check_array_spec(const MapSpec& spec) {
    const bool percpu = spec.type == BPF_MAP_TYPE_PERCPU_ARRAY;
    if (spec.max_entries == 0 || spec.key_size != 4 || spec.value_size == 0)
        return fail(EINVAL, "array maps need key_size 4, value_size > 0 and max_entries > 0");
    if ((spec.map_flags & ~kArrayFlags) != 0 || !access_flags_ok(spec.map_flags) ||
        (percpu && (spec.map_flags & BPF_F_NUMA_NODE)))
        return fail(EINVAL, fmt::format("map_flags {:#x} are not valid for this array map", spec.map_flags));
    if (spec.type != BPF_MAP_TYPE_ARRAY && (spec.map_flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)))
        return fail(EINVAL, "BPF_F_MMAPABLE and BPF_F_INNER_MAP are only for BPF_MAP_TYPE_ARRAY");
    if (spec.map_flags & BPF_F_PRESERVE_ELEMS) return fail(EINVAL, "BPF_F_PRESERVE_ELEMS is only for perf event arrays");
    if (spec.value_size > INT_MAX) return fail(E2BIG, "value_size is too large");
    if (percpu && round_up8(spec.value_size) > kPercpuMaxValueSize)
        return fail(E2BIG, fmt::format("per-CPU values are limited to {} bytes", kPercpuMaxValueSize));
    return {};
}

}  // namespace

Result<std::shared_ptr<Map>> create_array(const MapSpec& spec) {
    if (auto ok = check_array_spec(spec); !ok) return std::unexpected(ok.error());
    const uint64_t cpus = spec.type == BPF_MAP_TYPE_PERCPU_ARRAY ? possible_cpus() : 1;
    const uint64_t bytes = uint64_t{spec.max_entries} * round_up8(spec.value_size) * cpus;
    if (bytes > kMaxPreallocBytes)
        return fail(ENOMEM, fmt::format("array of {} bytes exceeds bpfrt's limit of {} bytes", bytes, kMaxPreallocBytes));
    auto* storage = static_cast<std::byte*>(std::calloc(bytes, 1));
    if (storage == nullptr) return fail(ENOMEM, "out of memory for the array");
    return std::make_shared<ArrayMap>(spec, storage);
}

}  // namespace bpfrt::maps::detail
