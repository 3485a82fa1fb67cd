// BPF_MAP_TYPE_STACK_TRACE: call chains by id, filled by bpf_get_stackid.
//
// As the kernel's stackmap: key_size 4 (the id), value_size a multiple of
// the element size (8 bytes per instruction pointer, or 32 bytes per struct
// bpf_stack_build_id with BPF_F_STACK_BUILD_ID) holding at most 127
// elements (sysctl perf_event_max_stack), max_entries chains at most. An id
// is the chain's hash modulo the bucket count (max_entries rounded up to a
// power of two); a different chain with the same id replaces the stored
// one only with BPF_F_REUSE_STACKID (else -EEXIST).
//
// In user space "the stack" of a program run is whatever call chain the host
// gives for the task the event is about (helpers/task_helpers.hpp); build-id
// maps report every frame as a plain address (status BPF_STACK_BUILD_ID_IP),
// which is what the kernel reports when it cannot read build ids.
//
// Programs may only pass the map to bpf_get_stackid. The host looks chains
// up (the elements, zero-filled beyond the chain), iterates ids and deletes
// them; updates are EINVAL as in the kernel.
#pragma once

#include "maps/map.hpp"

#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

namespace bpfrt::maps {

class StackTraceMap final : public Map {
public:
    static constexpr uint32_t kMaxDepth = 127;  // sysctl_perf_event_max_stack's default

    explicit StackTraceMap(const MapSpec& spec);

    // Elements a value holds: the deepest chain bpf_get_stackid stores.
    uint32_t max_depth() const noexcept { return spec_.value_size / element_size(); }
    // bpf_get_stackid once the chain is taken and `skip` frames dropped:
    // the id, or -EEXIST (another chain has the id, no BPF_F_REUSE_STACKID),
    // -ENOMEM (max_entries chains stored), -EFAULT (an empty chain).
    long store(std::span<const uint64_t> ips, uint64_t flags);

    using Map::update;
    Result<void> lookup(const void* key, void* value_out) override;
    Result<void> update(const void* key, const void* value, uint64_t flags) override;
    Result<void> erase(const void* key) override;
    Result<void> get_next_key(const void* key_or_null, void* next_key_out) override;

private:
    struct Bucket {
        uint32_t hash = 0;
        std::vector<uint64_t> ips;  // empty: no chain with this id
    };

    bool build_id() const noexcept { return (spec_.map_flags & BPF_F_STACK_BUILD_ID) != 0; }
    uint32_t element_size() const noexcept;
    void copy_out(const Bucket& bucket, void* value_out) const;

    std::mutex mutex_;
    std::vector<Bucket> buckets_;  // a power of two of them
    uint32_t stored_ = 0;          // non-empty buckets
};

}  // namespace bpfrt::maps
