// BPF_MAP_TYPE_HASH, PERCPU_HASH, LRU_HASH and LRU_PERCPU_HASH.
//
// One element per key in a HashTable. A plain update replaces the element
// (a new one is published, the old one retired), as the kernel does; per-CPU
// variants update existing values in place, as the kernel does. LRU
// variants evict the least recently used element (second chance on program
// lookups) instead of failing with E2BIG.
#include "maps/factories.hpp"
#include "maps/hash_table.hpp"

#include <fmt/format.h>

#include <bit>

namespace bpfrt::maps::detail {

namespace {

constexpr uint32_t kHashFlags = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | kAccessMask | BPF_F_ZERO_SEED;
constexpr uint64_t kHtabElemSize = 48;  // sizeof(struct htab_elem): part of the kernel's size limit

class HashMap final : public Map {
public:
    using Map::update;
    explicit HashMap(const MapSpec& spec)
        : Map(spec),
          percpu_(is_percpu_type(spec.type)),
          slot_bytes_(round_up8(spec.value_size)),
          table_(spec.key_size, percpu_ ? slot_bytes_ * possible_cpus() : slot_bytes_, spec.max_entries,
                 spec.type == BPF_MAP_TYPE_LRU_HASH || spec.type == BPF_MAP_TYPE_LRU_PERCPU_HASH) {}

    Result<void> lookup(const void* key, void* value_out) override {
        ReadSection section;
        const std::byte* value = table_.find_value(key);
        if (value == nullptr) return fail(ENOENT, "lookup: no element with this key");
        load_value(value_out, value, host_value_size());
        return {};
    }

    Result<void> update(const void* key, const void* value, uint64_t flags) override {
        if (check_update_flags(flags) != 0) return fail(EINVAL, fmt::format("update: invalid flags {:#x}", flags));
        const size_t bytes = host_value_size();
        auto fill = [&](std::byte* dst, const std::byte*) { store_value(dst, value, bytes); };
        auto in_place = [&](std::byte* dst) { store_value(dst, value, bytes); };
        return errno_result(percpu_ ? table_.upsert(key, flags, fill, &in_place) : table_.upsert(key, flags, fill),
                            "update");
    }

    Result<void> erase(const void* key) override { return errno_result(table_.erase(key), "delete"); }

    Result<void> get_next_key(const void* key, void* next_out) override {
        ReadSection section;
        return errno_result(table_.next_key(key, next_out), "get_next_key");
    }

    Result<void> lookup_and_delete(const void* key, void* value_out) override {
        const size_t bytes = host_value_size();
        auto copy = [&](std::byte* value) { load_value(value_out, value, bytes); };
        return errno_result(table_.erase(key, &copy), "lookup_and_delete");
    }

    void* prog_lookup(const void* key) override {
        ReadSection section;  // nested in the run's section: a counter increment
        HashElement* e = table_.find(key);
        if (e == nullptr) return nullptr;
        HashTable::touch(e);
        std::byte* value = e->value(table_.key_bytes());
        return percpu_ ? value + current_cpu_slot() * slot_bytes_ : value;
    }

    long prog_update(const void* key, const void* value, uint64_t flags) override {
        if (long err = check_update_flags(flags)) return err;
        if (!percpu_) {
            return table_.upsert(key, flags, [&](std::byte* dst, const std::byte*) {
                store_value(dst, value, spec_.value_size);
            });
        }
        // This CPU's slot only; a new element's other slots are zero.
        const size_t offset = current_cpu_slot() * slot_bytes_;
        auto fill = [&](std::byte* dst, const std::byte*) {
            zero_value(dst, slot_bytes_ * possible_cpus());
            store_value(dst + offset, value, spec_.value_size);
        };
        auto in_place = [&](std::byte* dst) { store_value(dst + offset, value, spec_.value_size); };
        return table_.upsert(key, flags, fill, &in_place);
    }

    long prog_delete(const void* key) override { return table_.erase(key); }

private:
    const bool percpu_;
    const size_t slot_bytes_;
    HashTable table_;
};

}  // namespace

Result<void> check_hash_spec(const MapSpec& spec) {
    const bool percpu = is_percpu_type(spec.type);
    const bool lru = spec.type == BPF_MAP_TYPE_LRU_HASH || spec.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
    const bool prealloc = (spec.map_flags & BPF_F_NO_PREALLOC) == 0;
    const bool percpu_lru = (spec.map_flags & BPF_F_NO_COMMON_LRU) != 0;
    if ((spec.map_flags & ~kHashFlags) != 0 || !access_flags_ok(spec.map_flags))
        return fail(EINVAL, fmt::format("map_flags {:#x} are not valid for a hash map", spec.map_flags));
    if (!lru && percpu_lru) return fail(EINVAL, "BPF_F_NO_COMMON_LRU is only for LRU maps");
    if (lru && !prealloc) return fail(kENOTSUPP, "LRU maps cannot have BPF_F_NO_PREALLOC");
    if ((spec.map_flags & BPF_F_NUMA_NODE) && (percpu || percpu_lru))
        return fail(EINVAL, "per-CPU maps cannot be bound to a NUMA node");
    if (spec.max_entries == 0 || spec.key_size == 0 || spec.value_size == 0)
        return fail(EINVAL, "hash maps need key_size, value_size and max_entries > 0");
    if (uint64_t{spec.key_size} + spec.value_size >= kKmallocMaxSize - kHtabElemSize)
        return fail(E2BIG, fmt::format("key_size + value_size must be below {}", kKmallocMaxSize - kHtabElemSize));
    if (percpu && round_up8(spec.value_size) > kPercpuMaxValueSize)
        return fail(E2BIG, fmt::format("per-CPU values are limited to {} bytes", kPercpuMaxValueSize));
    // The kernel's bucket array (16 bytes per bucket) must fit in 4 GiB.
    if (std::bit_ceil(uint64_t{spec.max_entries}) > UINT32_MAX / 16)
        return fail(E2BIG, "max_entries is too large for a hash map");
    return {};
}

Result<std::shared_ptr<Map>> create_hash(const MapSpec& spec) {
    if (auto ok = check_hash_spec(spec); !ok) return std::unexpected(ok.error());
    return std::make_shared<HashMap>(spec);
}

}  // namespace bpfrt::maps::detail
