// BPF_MAP_TYPE_DEVMAP and BPF_MAP_TYPE_DEVMAP_HASH: targets of
// bpf_redirect_map from XDP programs, keyed by a u32 (an index for DEVMAP,
// any number for DEVMAP_HASH). A value is an ifindex (value_size 4) or a
// struct bpf_devmap_val (value_size 8: ifindex and a program), as the
// kernel's devmap.c.
//
// Differences from the kernel, which has real devices behind ifindexes:
//  - any non-zero ifindex is accepted on update (the kernel refuses one that
//    names no device with EINVAL): in user space the devices are what the
//    host registers with the packet runner when it runs, and a redirect to an
//    ifindex nobody registered is dropped and counted as an error then;
//  - programs in entries (bpf_devmap_val.bpf_prog.fd > 0) are refused with
//    EINVAL, as the kernel refuses a program it cannot attach there; a
//    lookup gives bpf_prog.id 0, as the kernel for an entry without one.
// Programs may not update or delete entries (the verifier lets them only
// call bpf_redirect_map with these maps, as the kernel).
#include "maps/factories.hpp"
#include "maps/fd_array_check.hpp"
#include "maps/reclaim.hpp"
#include "maps/util.hpp"

#include <fmt/format.h>

#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>

namespace bpfrt::maps::detail {

namespace {

// struct bpf_devmap_val: ifindex, then the program (fd in, id out).
struct DevmapValue {
    uint32_t ifindex;
    uint32_t prog;
};
static_assert(sizeof(DevmapValue) == 8);

constexpr uint32_t kDevmapFlags = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;  // DEV_CREATE_FLAG_MASK

// dev_map_alloc_check.
Result<void> check_devmap_spec(const MapSpec& spec) {
    if (spec.max_entries == 0 || spec.key_size != 4)
        return fail(EINVAL, "device maps need key_size 4 and max_entries > 0");
    if (spec.value_size != 4 && spec.value_size != 8)
        return fail(EINVAL, fmt::format("device maps need value_size 4 (ifindex) or 8 (struct bpf_devmap_val), "
                                        "not {}",
                                        spec.value_size));
    if ((spec.map_flags & ~kDevmapFlags) != 0)
        return fail(EINVAL, fmt::format("map_flags {:#x} are not valid for device maps", spec.map_flags));
    if (spec.type == BPF_MAP_TYPE_DEVMAP_HASH && spec.max_entries > (1u << 31))
        return fail(EINVAL, "a device hash map holds at most 2^31 entries");
    return {};
}

// The value as given by the host: ifindex, and no program.
Result<DevmapValue> parse_value(const void* value, uint32_t value_size) {
    DevmapValue v{};
    std::memcpy(&v, value, value_size);
    int32_t prog_fd = 0;
    if (value_size == 8) std::memcpy(&prog_fd, &v.prog, sizeof prog_fd);
    if (prog_fd > 0)
        return fail(EINVAL, "update: programs in device map entries (bpf_devmap_val.bpf_prog.fd) are not supported");
    v.prog = 0;  // a lookup reports bpf_prog.id 0: no program
    return v;
}

uint32_t key_of(const void* key) { return index_of(key); }

// DEVMAP: one 8-byte slot per index, empty while its ifindex is 0.
class DevMap final : public Map {
public:
    using Map::update;
    explicit DevMap(const MapSpec& spec) : Map(spec), slots_(std::make_unique<uint64_t[]>(spec.max_entries)) {}

    Result<void> lookup(const void* key, void* value_out) override {
        const uint64_t* slot = slot_at(key_of(key));
        if (slot == nullptr || ifindex_of(*slot) == 0) return fail(ENOENT, "lookup: no device at this index");
        load_value(value_out, reinterpret_cast<const std::byte*>(slot), spec_.value_size);
        return {};
    }

    // __dev_map_update_elem: BPF_NOEXIST is always EEXIST (every slot
    // exists), ifindex 0 clears the slot.
    Result<void> update(const void* key, const void* value, uint64_t flags) override {
        if (flags > BPF_EXIST) return fail(EINVAL, "update: flags must be BPF_ANY or BPF_EXIST");
        uint64_t* slot = slot_at(key_of(key));
        if (slot == nullptr) return fail(E2BIG, "update: index out of range");
        if (flags == BPF_NOEXIST) return fail(EEXIST, "update: device map slots always exist (BPF_NOEXIST)");
        auto v = parse_value(value, spec_.value_size);
        if (!v) return std::unexpected(v.error());
        store_value(reinterpret_cast<std::byte*>(slot), &*v, sizeof *v);
        return {};
    }

    // dev_map_delete_elem: an empty slot deletes fine; out of range is EINVAL.
    Result<void> erase(const void* key) override {
        uint64_t* slot = slot_at(key_of(key));
        if (slot == nullptr) return fail(EINVAL, "delete: index out of range");
        zero_value(reinterpret_cast<std::byte*>(slot), sizeof *slot);
        return {};
    }

    Result<void> get_next_key(const void* key, void* next_out) override {
        return array_next_key(spec_.max_entries, key, next_out);
    }

    void* prog_lookup(const void* key) override {
        uint64_t* slot = slot_at(key_of(key));
        if (slot == nullptr || ifindex_of(__atomic_load_n(slot, __ATOMIC_RELAXED)) == 0) return nullptr;
        return slot;
    }

private:
    uint64_t* slot_at(uint32_t index) const noexcept {
        return index < spec_.max_entries ? &slots_[index] : nullptr;
    }
    static uint32_t ifindex_of(uint64_t slot) noexcept {
        DevmapValue v{};
        std::memcpy(&v, &slot, sizeof v);
        return v.ifindex;
    }

    std::unique_ptr<uint64_t[]> slots_;
};

// DEVMAP_HASH: entries by key, at most max_entries. Entries unlinked by a
// delete or replaced by an update are retired, so a value a program got
// stays valid until its run ends.
class DevMapHash final : public Map {
public:
    using Map::update;
    explicit DevMapHash(const MapSpec& spec) : Map(spec) {}
    ~DevMapHash() override {
        for (auto& [key, entry] : entries_) delete entry;
    }
    DevMapHash(const DevMapHash&) = delete;
    DevMapHash& operator=(const DevMapHash&) = delete;

    Result<void> lookup(const void* key, void* value_out) override {
        std::shared_lock lock(mutex_);
        auto it = entries_.find(key_of(key));
        if (it == entries_.end()) return fail(ENOENT, "lookup: no such key");
        std::memcpy(value_out, it->second, spec_.value_size);
        return {};
    }

    // __dev_map_hash_update_elem: ifindex 0 is EINVAL; BPF_EXIST does not
    // require the key to be there (as the kernel).
    Result<void> update(const void* key, const void* value, uint64_t flags) override {
        if (flags > BPF_EXIST) return fail(EINVAL, "update: flags must be BPF_ANY, BPF_NOEXIST or BPF_EXIST");
        auto v = parse_value(value, spec_.value_size);
        if (!v) return std::unexpected(v.error());
        if (v->ifindex == 0) return fail(EINVAL, "update: ifindex 0 names no device");
        std::unique_lock lock(mutex_);
        auto it = entries_.find(key_of(key));
        if (it != entries_.end() && flags == BPF_NOEXIST) return fail(EEXIST, "update: the key exists (BPF_NOEXIST)");
        if (it == entries_.end() && entries_.size() >= spec_.max_entries)
            return fail(E2BIG, fmt::format("update: the map is full ({} entries)", spec_.max_entries));
        auto* fresh = new DevmapValue(*v);
        if (it != entries_.end()) {
            retire_delete(it->second);
            it->second = fresh;
        } else {
            entries_.emplace(key_of(key), fresh);
        }
        return {};
    }

    Result<void> erase(const void* key) override {
        std::unique_lock lock(mutex_);
        auto it = entries_.find(key_of(key));
        if (it == entries_.end()) return fail(ENOENT, "delete: no such key");
        retire_delete(it->second);
        entries_.erase(it);
        return {};
    }

    // A missing key (or none) gives the first key, then keys in increasing order.
    Result<void> get_next_key(const void* key, void* next_out) override {
        std::shared_lock lock(mutex_);
        auto it = entries_.begin();
        if (key != nullptr)
            if (auto found = entries_.find(key_of(key)); found != entries_.end()) it = std::next(found);
        if (it == entries_.end()) return fail(ENOENT, "get_next_key: last element");
        std::memcpy(next_out, &it->first, sizeof it->first);
        return {};
    }

    void* prog_lookup(const void* key) override {
        std::shared_lock lock(mutex_);
        auto it = entries_.find(key_of(key));
        return it == entries_.end() ? nullptr : it->second;
    }

private:
    mutable std::shared_mutex mutex_;
    std::map<uint32_t, DevmapValue*> entries_;
};

}  // namespace

Result<std::shared_ptr<Map>> create_devmap(const MapSpec& spec) {
    if (auto ok = check_devmap_spec(spec); !ok) return std::unexpected(ok.error());
    if (spec.type == BPF_MAP_TYPE_DEVMAP_HASH) return std::make_shared<DevMapHash>(spec);
    if (uint64_t{spec.max_entries} * sizeof(uint64_t) > kMaxPreallocBytes)
        return fail(ENOMEM, "max_entries exceeds bpfrt's limit");
    return std::make_shared<DevMap>(spec);
}

}  // namespace bpfrt::maps::detail
