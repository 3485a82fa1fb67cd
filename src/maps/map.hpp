// The map types of bpfrt: one abstract Map (a runtime Object) and a factory.
//
// Each BPF_MAP_TYPE_* lives in its own file (hash.cpp, array.cpp, ...) and
// follows the Linux kernel's semantics for flags, errors and limits; the
// facts were checked against a 6.18 kernel (tests/maps/kernel_diff_test.cpp
// keeps checking them where bpf() is permitted).
//
// Two sides use a map at the same time:
//  - the host, through the bpf() commands: lookup/update/erase/... copy
//    values in and out and report errors as Result (errno + message);
//  - running programs, through the helpers: prog_lookup returns a pointer
//    into the map (8-byte aligned, stable), prog_update/... return 0 or
//    -errno like the kernel's helpers.
// Both are thread-safe. A pointer returned by prog_lookup stays valid while
// the caller is inside a maps::ReadSection (reclaim.hpp) that was entered
// before the lookup, even if the element is deleted or replaced meanwhile:
// the runtime holds one ReadSection for every program run.
//
// Value copies done by the host side are made of 8-byte relaxed atomic
// loads and stores, so programs may update values with atomic instructions
// while the host reads or writes them.
#pragma once

#include <bpfrt/error.hpp>

#include "runtime/object.hpp"

#include <linux/bpf.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace bpfrt::maps {

// The kernel's internal ENOTSUPP (not ENOTSUP): what bpf() returns for
// operations a map type does not implement (e.g. lookup on a ring buffer).
inline constexpr int kENOTSUPP = 524;

// Limits shared with the kernel (x86-64, 4 KiB pages).
inline constexpr uint32_t kKmallocMaxSize = 1u << 22;   // KMALLOC_MAX_SIZE
inline constexpr uint32_t kPercpuMaxValueSize = 32768;  // PCPU_MIN_UNIT_SIZE
inline constexpr uint32_t kPageSize = 4096;
// bpfrt's own cap on memory a map allocates when created (arrays, queues,
// ring buffers preallocate): beyond it create_map fails with ENOMEM.
inline constexpr uint64_t kMaxPreallocBytes = 256ull << 20;

class Map;

struct MapSpec {
    uint32_t type = 0;  // BPF_MAP_TYPE_*
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t map_flags = 0;  // BPF_F_*
    std::shared_ptr<Map> inner_map_template;  // ARRAY_OF_MAPS / HASH_OF_MAPS only
    std::string name;                         // at most 15 of [A-Za-z0-9_.]
    // What the kernel learns from the value's BTF type (btf_value_type_id):
    // whether there is one (bpf_spin_lock needs it), and the offset of the
    // value's struct bpf_spin_lock (-1: none). Host copies never write that
    // word and BPF_F_LOCK copies hold it, as the kernel's copy_map_value.
    bool value_btf = false;
    int32_t spin_lock_off = -1;
};

// Resolves a handle (the value of a PROG_ARRAY / *_OF_MAPS update) to its
// object; its errors (EBADF...) are passed on unchanged.
using FdResolver = std::function<Result<ObjectRef>(int fd)>;

class Map : public bpfrt::Object {
public:
    explicit Map(MapSpec spec);
    ~Map() override;
    Map(const Map&) = delete;
    Map& operator=(const Map&) = delete;

    ObjectKind kind() const noexcept override { return ObjectKind::Map; }
    const MapSpec& spec() const noexcept { return spec_; }
    // A process-wide unique id (the kernel's map id), > 0. Host lookups of
    // *_OF_MAPS maps return the inner map's id, as the kernel does.
    uint32_t id() const noexcept { return id_; }
    // Bytes of a value as the host sees it: for per-CPU maps
    // round_up(value_size, 8) * possible_cpus(), as the kernel.
    uint32_t host_value_size() const noexcept;
    // Bytes of a value as a program sees it (behind a prog_lookup pointer).
    uint32_t prog_value_size() const noexcept { return spec_.value_size; }

    // ---- Host side (the bpf() commands); values are copied ----
    virtual Result<void> lookup(const void* key, void* value_out);  // ENOENT when absent
    virtual Result<void> update(const void* key, const void* value, uint64_t flags);
    // PROG_ARRAY and *_OF_MAPS: values are handles, resolved with `resolve`.
    virtual Result<void> update(const void* key, const void* value, uint64_t flags, const FdResolver& resolve);
    virtual Result<void> erase(const void* key);
    // key_or_null absent or missing: the first key; ENOENT after the last.
    virtual Result<void> get_next_key(const void* key_or_null, void* next_key_out);
    virtual Result<void> lookup_and_delete(const void* key, void* value_out);  // queue/stack pop: key null
    // BPF_F_LOCK lookup (maps whose value has a bpf_spin_lock): the copy is
    // made holding the value's lock. ENOENT when absent.
    Result<void> lookup_locked(const void* key, void* value_out);

    // ---- Program side (the helpers); fast, lock-light ----
    // The value (this CPU slot's for per-CPU maps; the inner Map* for
    // map-in-map), or nullptr. Hold a ReadSection while using it.
    virtual void* prog_lookup(const void* key);
    virtual long prog_update(const void* key, const void* value, uint64_t flags);  // 0 or -errno
    virtual long prog_delete(const void* key);
    virtual long prog_push(const void* value, uint64_t flags);  // queue/stack; -EINVAL elsewhere
    virtual long prog_pop(void* value_out);
    virtual long prog_peek(void* value_out);

    // PROG_ARRAY: the program at `index` for a tail call, or nullptr.
    virtual ObjectRef prog_array_get(uint32_t index);
    // BPF_PSEUDO_MAP_VALUE: address of byte `offset` of the map's value
    // (ARRAY with max_entries 1 only, as the kernel): kENOTSUPP elsewhere,
    // EINVAL when offset >= value_size.
    virtual Result<void*> direct_value_addr(uint32_t offset);

protected:
    MapSpec spec_;

private:
    uint32_t id_;
};

// Validates the spec like the kernel's BPF_MAP_CREATE (EINVAL, E2BIG,
// kENOTSUPP...) and creates the map. ENOMEM beyond kMaxPreallocBytes.
Result<std::shared_ptr<Map>> create_map(const MapSpec& spec);

// Number of per-CPU slots: the possible CPUs of the host
// (/sys/devices/system/cpu/possible, like libbpf), at least 1.
unsigned possible_cpus();
// The kernel's NR_CPUS, the most CPUs it can ever have (a CPUMAP holds at
// most this many entries): /sys/devices/system/cpu/kernel_max + 1, or 8192
// (x86-64's largest configuration) when that cannot be read.
unsigned kernel_nr_cpus();
// This thread's slot: an index assigned on the thread's first call
// (0, 1, 2... in order of first use), modulo possible_cpus().
unsigned current_cpu_slot();

}  // namespace bpfrt::maps
