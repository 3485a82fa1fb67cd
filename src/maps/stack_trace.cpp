// BPF_MAP_TYPE_STACK_TRACE (see stack_trace.hpp): the kernel's stackmap
// rules, chains kept under one mutex (bpf_get_stackid is not a hot path).
#include "maps/stack_trace.hpp"

#include "maps/factories.hpp"
#include "maps/util.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

namespace bpfrt::maps {

namespace {

// STACK_CREATE_FLAG_MASK
constexpr uint32_t kStackFlags = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_STACK_BUILD_ID;
constexpr uint64_t kStackidFlags = BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP |
                                   BPF_F_REUSE_STACKID;

// The chain's hash: an id is this modulo the bucket count (the kernel uses
// jhash2 over the same words; ids only need to be stable for one map).
uint32_t hash_chain(std::span<const uint64_t> ips) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t ip : ips) {
        h ^= ip;
        h *= 0x100000001b3ull;
        h ^= h >> 29;
    }
    return static_cast<uint32_t>(h ^ (h >> 32));
}

uint32_t read_id(const void* key) {
    uint32_t id;
    std::memcpy(&id, key, sizeof id);
    return id;
}

}  // namespace

StackTraceMap::StackTraceMap(const MapSpec& spec)
    : Map(spec), buckets_(std::bit_ceil(spec.max_entries)) {}

uint32_t StackTraceMap::element_size() const noexcept {
    return build_id() ? sizeof(struct bpf_stack_build_id) : sizeof(uint64_t);
}

long StackTraceMap::store(std::span<const uint64_t> ips, uint64_t flags) {
    if ((flags & ~kStackidFlags) != 0) return -EINVAL;
    if (ips.empty()) return -EFAULT;  // nothing left after the skipped frames
    ips = ips.first(std::min<size_t>(ips.size(), max_depth()));
    const uint32_t hash = hash_chain(ips);
    const uint32_t id = hash & static_cast<uint32_t>(buckets_.size() - 1);
    std::lock_guard lock(mutex_);
    Bucket& bucket = buckets_[id];
    const bool stored = !bucket.ips.empty();
    const bool hash_matches = stored && bucket.hash == hash;
    if (hash_matches && (flags & BPF_F_FAST_STACK_CMP)) return id;
    if (hash_matches && std::equal(bucket.ips.begin(), bucket.ips.end(), ips.begin(), ips.end())) return id;
    if (stored && !(flags & BPF_F_REUSE_STACKID)) return -EEXIST;
    if (!stored && stored_ == spec_.max_entries) return -ENOMEM;  // every preallocated chain in use
    if (!stored) ++stored_;
    bucket.hash = hash;
    bucket.ips.assign(ips.begin(), ips.end());
    return id;
}

void StackTraceMap::copy_out(const Bucket& bucket, void* value_out) const {
    auto* out = static_cast<std::byte*>(value_out);
    std::memset(out, 0, spec_.value_size);
    if (!build_id()) {
        std::memcpy(out, bucket.ips.data(), bucket.ips.size() * sizeof(uint64_t));
        return;
    }
    for (size_t i = 0; i < bucket.ips.size(); ++i) {
        struct bpf_stack_build_id frame {};
        frame.status = BPF_STACK_BUILD_ID_IP;  // no build ids in user space: the address itself
        frame.ip = bucket.ips[i];
        std::memcpy(out + i * sizeof frame, &frame, sizeof frame);
    }
}

Result<void> StackTraceMap::lookup(const void* key, void* value_out) {
    const uint32_t id = read_id(key);
    std::lock_guard lock(mutex_);
    if (id >= buckets_.size() || buckets_[id].ips.empty())
        return fail(ENOENT, fmt::format("lookup: no stack with id {}", id));
    copy_out(buckets_[id], value_out);
    return {};
}

Result<void> StackTraceMap::update(const void*, const void*, uint64_t) {
    return fail(EINVAL, "update: stack trace maps are filled by bpf_get_stackid only");
}

Result<void> StackTraceMap::erase(const void* key) {
    const uint32_t id = read_id(key);
    std::lock_guard lock(mutex_);
    if (id >= buckets_.size()) return fail(EINVAL, fmt::format("delete: id {} is beyond the map's {} buckets", id, buckets_.size()));
    if (buckets_[id].ips.empty()) return fail(ENOENT, fmt::format("delete: no stack with id {}", id));
    buckets_[id].ips.clear();
    buckets_[id].ips.shrink_to_fit();
    --stored_;
    return {};
}

Result<void> StackTraceMap::get_next_key(const void* key_or_null, void* next_key_out) {
    std::lock_guard lock(mutex_);
    uint32_t id = 0;
    if (key_or_null != nullptr) {  // after a missing id, start over (as the kernel)
        id = read_id(key_or_null);
        id = id < buckets_.size() && !buckets_[id].ips.empty() ? id + 1 : 0;
    }
    while (id < buckets_.size() && buckets_[id].ips.empty()) ++id;
    if (id >= buckets_.size()) return fail(ENOENT, "get_next_key: no more stacks");
    std::memcpy(next_key_out, &id, sizeof id);
    return {};
}

namespace detail {

// The kernel's stack_map_alloc checks.
Result<std::shared_ptr<Map>> create_stack_trace(const MapSpec& spec) {
    if ((spec.map_flags & ~kStackFlags) != 0) return fail(EINVAL, "stack trace maps take no such map_flags");
    const uint32_t element = (spec.map_flags & BPF_F_STACK_BUILD_ID) ? sizeof(struct bpf_stack_build_id) : 8;
    if (spec.max_entries == 0 || spec.key_size != 4 || spec.value_size < 8 || spec.value_size % 8 != 0 ||
        spec.value_size % element != 0 || spec.value_size / element > StackTraceMap::kMaxDepth)
        return fail(EINVAL, fmt::format("stack trace maps need key_size 4, max_entries > 0 and a value_size that "
                                        "holds 1 to {} elements of {} bytes", StackTraceMap::kMaxDepth, element));
    if (spec.max_entries > (1u << 31)) return fail(E2BIG, "max_entries is too large (at most 2^31)");
    const uint64_t buckets = std::bit_ceil(uint64_t{spec.max_entries});
    const uint64_t bytes = buckets * 32 + uint64_t{spec.max_entries} * (spec.value_size + 16);  // buckets, chains
    if (bytes > kMaxPreallocBytes)
        return fail(ENOMEM, fmt::format("stack trace map of {} bytes exceeds bpfrt's limit of {} bytes", bytes,
                                        kMaxPreallocBytes));
    return std::make_shared<StackTraceMap>(spec);
}

}  // namespace detail

}  // namespace bpfrt::maps
