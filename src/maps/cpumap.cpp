// BPF_MAP_TYPE_CPUMAP: targets of bpf_redirect_map from XDP programs that
// hand a frame to the network stack of another CPU, keyed by the CPU number.
// A value is the queue size of that CPU's entry (value_size 4) or a struct
// bpf_cpumap_val (value_size 8: qsize and a program), as the kernel's
// cpumap.c.
//
// An entry exists while its qsize is non-zero (an update with qsize 0
// deletes it), only for CPUs the host has (maps::possible_cpus(): ENODEV for
// the others) and at most 16384 long (EOVERFLOW). The kernel starts a thread
// on the target CPU per entry; in user space the packet runner counts what
// is redirected to each CPU and lets it through as XDP_PASS would.
//
// Differences from the kernel:
//  - programs in entries (bpf_cpumap_val.bpf_prog.fd > 0) are refused with
//    EINVAL: bpfrt does not run a second program on the target CPU (the
//    kernel runs it there; it returns ENOMEM for a handle that is not an
//    XDP program attached as BPF_XDP_CPUMAP). A lookup gives bpf_prog.id 0,
//    as the kernel for an entry without one;
//  - a CPU is possible when its number is below possible_cpus(), the count
//    of the host's possible CPUs (the same whenever they are numbered
//    without gaps, as on almost every machine).
// Programs may not look up, update or delete entries (the verifier lets
// them only call bpf_redirect_map with this map, as the kernel).
#include "maps/factories.hpp"
#include "maps/fd_array_check.hpp"
#include "maps/util.hpp"

#include <fmt/format.h>

#include <memory>

namespace bpfrt::maps::detail {

namespace {

// struct bpf_cpumap_val: the queue size, then the program (fd in, id out).
struct CpumapValue {
    uint32_t qsize;
    uint32_t prog;
};
static_assert(sizeof(CpumapValue) == 8);

constexpr uint32_t kMaxQsize = 16384;  // cpu_map_update_elem's sanity limit

// cpu_map_alloc's checks.
Result<void> check_cpumap_spec(const MapSpec& spec) {
    if (spec.max_entries == 0 || spec.key_size != 4)
        return fail(EINVAL, "CPU maps need key_size 4 and max_entries > 0");
    if (spec.value_size != 4 && spec.value_size != 8)
        return fail(EINVAL, fmt::format("CPU maps need value_size 4 (qsize) or 8 (struct bpf_cpumap_val), not {}",
                                        spec.value_size));
    if ((spec.map_flags & ~uint32_t{BPF_F_NUMA_NODE}) != 0)
        return fail(EINVAL, fmt::format("map_flags {:#x} are not valid for CPU maps (only BPF_F_NUMA_NODE)",
                                        spec.map_flags));
    if (spec.max_entries > kernel_nr_cpus())
        return fail(E2BIG, fmt::format("a CPU map holds at most {} entries (NR_CPUS), not {}", kernel_nr_cpus(),
                                       spec.max_entries));
    return {};
}

// One 8-byte slot per CPU, empty while its qsize is 0.
class CpuMap final : public Map {
public:
    using Map::update;
    explicit CpuMap(const MapSpec& spec) : Map(spec), slots_(std::make_unique<uint64_t[]>(spec.max_entries)) {}

    Result<void> lookup(const void* key, void* value_out) override {
        const uint64_t* slot = slot_at(index_of(key));
        if (slot == nullptr || qsize_of(*slot) == 0) return fail(ENOENT, "lookup: no entry for this CPU");
        load_value(value_out, reinterpret_cast<const std::byte*>(slot), spec_.value_size);
        return {};
    }

    // cpu_map_update_elem, its checks in its order. BPF_NOEXIST is always
    // EEXIST (every slot exists); qsize 0 deletes the entry.
    Result<void> update(const void* key, const void* value, uint64_t flags) override {
        CpumapValue v{};
        std::memcpy(&v, value, spec_.value_size);
        const uint32_t cpu = index_of(key);
        if (flags > BPF_EXIST) return fail(EINVAL, "update: flags must be BPF_ANY or BPF_EXIST");
        uint64_t* slot = slot_at(cpu);
        if (slot == nullptr) return fail(E2BIG, "update: CPU number out of range (>= max_entries)");
        if (flags == BPF_NOEXIST) return fail(EEXIST, "update: CPU map slots always exist (BPF_NOEXIST)");
        if (v.qsize > kMaxQsize)
            return fail(EOVERFLOW, fmt::format("update: qsize {} is over the limit of {}", v.qsize, kMaxQsize));
        if (cpu >= possible_cpus())
            return fail(ENODEV, fmt::format("update: CPU {} is not a possible CPU of this host (it has {})", cpu,
                                            possible_cpus()));
        if (v.qsize != 0) {
            if (auto ok = check_program(v); !ok) return ok;
        }
        v.prog = 0;  // a lookup reports bpf_prog.id 0: no program
        store_value(reinterpret_cast<std::byte*>(slot), &v, sizeof v);
        return {};
    }

    // cpu_map_delete_elem: an empty slot deletes fine; out of range is EINVAL.
    Result<void> erase(const void* key) override {
        uint64_t* slot = slot_at(index_of(key));
        if (slot == nullptr) return fail(EINVAL, "delete: CPU number out of range (>= max_entries)");
        zero_value(reinterpret_cast<std::byte*>(slot), sizeof *slot);
        return {};
    }

    // cpu_map_get_next_key: every index in order, empty slots too.
    Result<void> get_next_key(const void* key, void* next_out) override {
        return array_next_key(spec_.max_entries, key, next_out);
    }

    // For bpf_redirect_map: the entry, or nullptr when the CPU has none.
    void* prog_lookup(const void* key) override {
        uint64_t* slot = slot_at(index_of(key));
        if (slot == nullptr || qsize_of(__atomic_load_n(slot, __ATOMIC_RELAXED)) == 0) return nullptr;
        return slot;
    }

private:
    Result<void> check_program(const CpumapValue& v) const {
        int32_t prog_fd = 0;
        if (spec_.value_size == sizeof(CpumapValue)) std::memcpy(&prog_fd, &v.prog, sizeof prog_fd);
        if (prog_fd > 0)
            return fail(EINVAL, "update: programs in CPU map entries (bpf_cpumap_val.bpf_prog.fd) are not "
                                "supported: bpfrt does not run a second XDP program on the target CPU");
        return {};
    }
    uint64_t* slot_at(uint32_t cpu) const noexcept { return cpu < spec_.max_entries ? &slots_[cpu] : nullptr; }
    static uint32_t qsize_of(uint64_t slot) noexcept {
        CpumapValue v{};
        std::memcpy(&v, &slot, sizeof v);
        return v.qsize;
    }

    std::unique_ptr<uint64_t[]> slots_;
};

}  // namespace

Result<std::shared_ptr<Map>> create_cpumap(const MapSpec& spec) {
    if (auto ok = check_cpumap_spec(spec); !ok) return std::unexpected(ok.error());
    return std::make_shared<CpuMap>(spec);
}

}  // namespace bpfrt::maps::detail
