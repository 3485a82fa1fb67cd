// The Map base (defaults as the kernel gives them for types without an
// operation), create_map and the per-CPU slots.
#include "maps/map.hpp"

#include "maps/factories.hpp"
#include "maps/reclaim.hpp"
#include "maps/util.hpp"
#include "maps/value_lock.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <string>
#include <thread>

namespace bpfrt::maps {

namespace detail {

Result<void> errno_result(long err, std::string_view what) {
    if (err == 0) return {};
    const int code = static_cast<int>(-err);
    const char* text = code == kENOTSUPP ? "operation not supported by this map type" : std::strerror(code);
    return fail(code, fmt::format("{}: {}", what, text));
}

bool is_percpu_type(uint32_t type) {
    return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
           type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

}  // namespace detail

namespace {

std::atomic<uint32_t> next_map_id{1};

Result<void> unsupported(const Map& map, const char* what) {
    return fail(kENOTSUPP, fmt::format("{} is not supported by map type {}", what, map.spec().type));
}

// Counts the CPUs of a list like "0-3,8-11".
unsigned count_cpu_list(const std::string& list) {
    unsigned count = 0;
    size_t pos = 0;
    while (pos < list.size()) {
        size_t end = list.find(',', pos);
        if (end == std::string::npos) end = list.size();
        const std::string range = list.substr(pos, end - pos);
        const size_t dash = range.find('-');
        try {
            const unsigned lo = static_cast<unsigned>(std::stoul(range.substr(0, dash)));
            const unsigned hi = dash == std::string::npos ? lo : static_cast<unsigned>(std::stoul(range.substr(dash + 1)));
            if (hi >= lo) count += hi - lo + 1;
        } catch (...) {
            return 0;
        }
        pos = end + 1;
    }
    return count;
}

unsigned detect_possible_cpus() {
    std::ifstream in("/sys/devices/system/cpu/possible");
    std::string list;
    if (in && std::getline(in, list)) {
        if (unsigned n = count_cpu_list(list); n > 0) return std::min(n, 4096u);
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

unsigned detect_kernel_nr_cpus() {
    constexpr unsigned kFallback = 8192;
    std::ifstream in("/sys/devices/system/cpu/kernel_max");
    unsigned long kernel_max = 0;
    if (!(in >> kernel_max) || kernel_max >= kFallback * 16) return kFallback;
    return static_cast<unsigned>(kernel_max) + 1;
}

// Map names: at most 15 characters of [A-Za-z0-9_.] (bpf_obj_name_cpy).
bool valid_name(const std::string& name) {
    if (name.size() > 15) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
    });
}

}  // namespace

Map::Map(MapSpec spec) : spec_(std::move(spec)), id_(next_map_id.fetch_add(1, std::memory_order_relaxed)) {}
Map::~Map() = default;

uint32_t Map::host_value_size() const noexcept {
    if (!detail::is_percpu_type(spec_.type)) return spec_.value_size;
    return static_cast<uint32_t>(detail::round_up8(spec_.value_size) * possible_cpus());
}

Result<void> Map::lookup(const void*, void*) { return unsupported(*this, "lookup"); }
Result<void> Map::update(const void*, const void*, uint64_t) { return unsupported(*this, "update"); }
Result<void> Map::update(const void* key, const void* value, uint64_t flags, const FdResolver&) {
    return update(key, value, flags);
}
Result<void> Map::erase(const void*) { return unsupported(*this, "delete"); }
Result<void> Map::get_next_key(const void*, void*) { return unsupported(*this, "get_next_key"); }
Result<void> Map::lookup_and_delete(const void*, void*) { return unsupported(*this, "lookup_and_delete"); }

Result<void> Map::lookup_locked(const void* key, void* value_out) {
    if (spec_.spin_lock_off < 0) return fail(EINVAL, "BPF_F_LOCK: the map's value has no bpf_spin_lock");
    ReadSection section;  // keeps the element alive while it is copied
    auto* value = static_cast<std::byte*>(prog_lookup(key));
    if (value == nullptr) return fail(ENOENT, "lookup: no element with this key");
    {
        ValueLockGuard hold(value, spec_.spin_lock_off);
        detail::load_value(value_out, value, spec_.value_size);
    }
    std::memset(static_cast<std::byte*>(value_out) + spec_.spin_lock_off, 0, sizeof(uint32_t));
    return {};
}

void* Map::prog_lookup(const void*) { return nullptr; }
long Map::prog_update(const void*, const void*, uint64_t) { return -EINVAL; }
long Map::prog_delete(const void*) { return -EINVAL; }
long Map::prog_push(const void*, uint64_t) { return -EINVAL; }
long Map::prog_pop(void*) { return -EINVAL; }
long Map::prog_peek(void*) { return -EINVAL; }
ObjectRef Map::prog_array_get(uint32_t) { return nullptr; }
Result<void*> Map::direct_value_addr(uint32_t) {
    return fail(kENOTSUPP, "direct value access needs an array map with one element");
}

namespace {

// The kernel's map_check_btf for BPF_SPIN_LOCK (of the types bpfrt has, only
// HASH and ARRAY may hold one).
Result<void> check_spin_lock(const MapSpec& spec) {
    if (spec.spin_lock_off < 0) return {};
    if (!spec.value_btf) return fail(EINVAL, "a bpf_spin_lock offset needs the value's BTF type");
    if (spec.type != BPF_MAP_TYPE_HASH && spec.type != BPF_MAP_TYPE_ARRAY)
        return fail(EOPNOTSUPP, fmt::format("map type {} cannot hold a bpf_spin_lock (only hash and array maps)",
                                            spec.type));
    if (spec.spin_lock_off % 4 != 0 || uint64_t{static_cast<uint32_t>(spec.spin_lock_off)} + 4 > spec.value_size)
        return fail(EINVAL, fmt::format("bpf_spin_lock at offset {} is not 4-aligned inside the {}-byte value",
                                        spec.spin_lock_off, spec.value_size));
    return {};
}

}  // namespace

Result<std::shared_ptr<Map>> create_map(const MapSpec& spec) {
    if ((spec.map_flags & BPF_F_RDONLY) && (spec.map_flags & BPF_F_WRONLY))
        return fail(EINVAL, "map_flags: BPF_F_RDONLY and BPF_F_WRONLY exclude each other");
    if (!valid_name(spec.name))
        return fail(EINVAL, fmt::format("invalid map name '{}': at most 15 characters of [A-Za-z0-9_.]", spec.name));
    if (auto ok = check_spin_lock(spec); !ok) return std::unexpected(ok.error());
    switch (spec.type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH: return detail::create_hash(spec);
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY: return detail::create_array(spec);
    case BPF_MAP_TYPE_PROG_ARRAY: return detail::create_prog_array(spec);
    case BPF_MAP_TYPE_RINGBUF: return detail::create_ringbuf(spec);
    case BPF_MAP_TYPE_QUEUE:
    case BPF_MAP_TYPE_STACK: return detail::create_queue_stack(spec);
    case BPF_MAP_TYPE_LPM_TRIE: return detail::create_lpm_trie(spec);
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS: return detail::create_map_in_map(spec);
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY: return detail::create_perf_event_array(spec);
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH: return detail::create_devmap(spec);
    case BPF_MAP_TYPE_CPUMAP: return detail::create_cpumap(spec);
    case BPF_MAP_TYPE_STACK_TRACE: return detail::create_stack_trace(spec);
    default: return fail(EINVAL, fmt::format("map type {} is not supported", spec.type));
    }
}

unsigned possible_cpus() {
    static const unsigned n = detect_possible_cpus();
    return n;
}

unsigned kernel_nr_cpus() {
    static const unsigned n = detect_kernel_nr_cpus();
    return n;
}

unsigned current_cpu_slot() {
    static std::atomic<unsigned> next_slot{0};
    thread_local const unsigned slot = next_slot.fetch_add(1, std::memory_order_relaxed);
    return slot % possible_cpus();
}

}  // namespace bpfrt::maps
