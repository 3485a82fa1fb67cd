// BPF_MAP_TYPE_ARRAY_OF_MAPS and BPF_MAP_TYPE_HASH_OF_MAPS.
//
// Values are map handles, resolved at update; each inner map must match
// the inner_map_template as the kernel's map_meta_equal does (type, key and
// value size, flags; max_entries too for arrays without BPF_F_INNER_MAP).
// Programs get the inner Map* from prog_lookup; the host gets the inner
// map's id. A replaced or deleted inner map is released only after every
// ReadSection that could see it has ended.
#include "maps/factories.hpp"
#include "maps/fd_array_check.hpp"
#include "maps/fd_slots.hpp"
#include "maps/hash_table.hpp"

#include <fmt/format.h>

namespace bpfrt::maps::detail {

namespace {

bool is_map_in_map(uint32_t type) {
    return type == BPF_MAP_TYPE_ARRAY_OF_MAPS || type == BPF_MAP_TYPE_HASH_OF_MAPS;
}

Result<void> check_template(const MapSpec& spec) {
    const std::shared_ptr<Map>& inner = spec.inner_map_template;
    if (inner == nullptr) return fail(EINVAL, "map-in-map types need an inner map (inner_map_fd)");
    const uint32_t type = inner->spec().type;
    if (is_map_in_map(type)) return fail(EINVAL, "an inner map cannot itself be a map-in-map");
    if (type == BPF_MAP_TYPE_PROG_ARRAY) return fail(kENOTSUPP, "a program array cannot be an inner map");
    return {};
}

// The inner map `object` compared with the template (map_meta_equal).
Result<std::shared_ptr<Map>> check_inner(const Map& meta, const ObjectRef& object) {
    auto inner = std::dynamic_pointer_cast<Map>(object);
    if (inner == nullptr) return fail(EINVAL, "the handle is not a map");
    const MapSpec& a = meta.spec();
    const MapSpec& b = inner->spec();
    const bool array = a.type == BPF_MAP_TYPE_ARRAY || a.type == BPF_MAP_TYPE_PERCPU_ARRAY;
    const bool same = a.type == b.type && a.key_size == b.key_size && a.value_size == b.value_size &&
                      a.map_flags == b.map_flags && a.spin_lock_off == b.spin_lock_off &&
                      (!array || (a.map_flags & BPF_F_INNER_MAP) || a.max_entries == b.max_entries);
    if (!same) return fail(EINVAL, "the inner map does not match the map-in-map's inner map template");
    return inner;
}

Result<std::shared_ptr<Map>> resolve_inner(const Map& meta, const void* value, const FdResolver& resolve) {
    int fd = 0;
    std::memcpy(&fd, value, sizeof fd);
    auto object = resolve(fd);
    if (!object) return std::unexpected(object.error());
    return check_inner(meta, *object);
}

void write_id(void* value_out, const Object* object) {
    const uint32_t id = static_cast<const Map*>(object)->id();
    std::memcpy(value_out, &id, sizeof id);
}

class ArrayOfMaps final : public Map {
public:
    explicit ArrayOfMaps(const MapSpec& spec) : Map(spec), slots_(spec.max_entries) {}

    Result<void> lookup(const void* key, void* value_out) override {
        ReadSection section;
        const uint32_t index = index_of(key);
        Object* inner = index < slots_.count() ? slots_.get(index) : nullptr;
        if (inner == nullptr) return fail(ENOENT, "lookup: no map at this index");
        write_id(value_out, inner);
        return {};
    }

    Result<void> update(const void*, const void*, uint64_t) override {
        return fail(EBADF, "update: a map-in-map needs a handle resolver");
    }

    Result<void> update(const void* key, const void* value, uint64_t flags, const FdResolver& resolve) override {
        if (flags != BPF_ANY) return fail(EINVAL, "update: arrays of maps take only BPF_ANY");
        const uint32_t index = index_of(key);
        if (index >= slots_.count()) return fail(E2BIG, "update: index out of range");
        auto inner = resolve_inner(*spec_.inner_map_template, value, resolve);
        if (!inner) return std::unexpected(inner.error());
        slots_.set(index, std::move(*inner));
        return {};
    }

    Result<void> erase(const void* key) override {
        const uint32_t index = index_of(key);
        if (index >= slots_.count()) return fail(E2BIG, "delete: index out of range");
        if (!slots_.clear(index)) return fail(ENOENT, "delete: no map at this index");
        return {};
    }

    Result<void> get_next_key(const void* key, void* next_out) override {
        return array_next_key(spec_.max_entries, key, next_out);
    }

    void* prog_lookup(const void* key) override {
        const uint32_t index = index_of(key);
        return index < slots_.count() ? slots_.get(index) : nullptr;
    }

private:
    FdSlots slots_;
};

class HashOfMaps final : public Map {
public:
    explicit HashOfMaps(const MapSpec& spec)
        : Map(spec), table_(spec.key_size, sizeof(RefHolder*), spec.max_entries, false, &destroy_holder) {}

    Result<void> lookup(const void* key, void* value_out) override {
        ReadSection section;
        const std::byte* value = table_.find_value(key);
        if (value == nullptr) return fail(ENOENT, "lookup: no element with this key");
        write_id(value_out, holder(value)->object.get());
        return {};
    }

    Result<void> update(const void*, const void*, uint64_t) override {
        return fail(EBADF, "update: a map-in-map needs a handle resolver");
    }

    Result<void> update(const void* key, const void* value, uint64_t flags, const FdResolver& resolve) override {
        // The kernel checks the flags before it resolves the handle.
        if (check_update_flags(flags) != 0) return fail(EINVAL, fmt::format("update: invalid flags {:#x}", flags));
        auto inner = resolve_inner(*spec_.inner_map_template, value, resolve);
        if (!inner) return std::unexpected(inner.error());
        ObjectRef object = std::move(*inner);
        return errno_result(table_.upsert(key, flags, [&](std::byte* dst, const std::byte*) {
            auto* h = new RefHolder{object};
            std::memcpy(dst, &h, sizeof h);
        }), "update");
    }

    Result<void> erase(const void* key) override { return errno_result(table_.erase(key), "delete"); }

    Result<void> get_next_key(const void* key, void* next_out) override {
        ReadSection section;
        return errno_result(table_.next_key(key, next_out), "get_next_key");
    }

    void* prog_lookup(const void* key) override {
        ReadSection section;
        const std::byte* value = table_.find_value(key);
        return value == nullptr ? nullptr : holder(value)->object.get();
    }

private:
    static RefHolder* holder(const std::byte* value) {
        RefHolder* h = nullptr;
        std::memcpy(&h, value, sizeof h);
        return h;
    }
    static void destroy_holder(std::byte* value) { delete holder(value); }

    HashTable table_;
};

}  // namespace

Result<std::shared_ptr<Map>> create_map_in_map(const MapSpec& spec) {
    if (spec.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) {
        if (auto ok = check_fd_array_spec(spec); !ok) return std::unexpected(ok.error());
    } else {
        if (spec.value_size != 4) return fail(EINVAL, "value_size must be 4 (a handle)");
        if (auto ok = check_hash_spec(spec); !ok) return std::unexpected(ok.error());
    }
    if (auto ok = check_template(spec); !ok) return std::unexpected(ok.error());
    if (spec.type == BPF_MAP_TYPE_ARRAY_OF_MAPS) return std::make_shared<ArrayOfMaps>(spec);
    return std::make_shared<HashOfMaps>(spec);
}

}  // namespace bpfrt::maps::detail
