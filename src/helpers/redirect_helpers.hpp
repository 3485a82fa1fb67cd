// bpf_redirect (23) and bpf_redirect_map (51), with the kernel's semantics:
// the helper only records where the packet should go; the program's return
// value (XDP_REDIRECT, TC_ACT_REDIRECT) makes it happen, and whoever runs the
// program (the packet runner) delivers the packet to that target after the
// run. The record is per thread, as the kernel's per-CPU bpf_redirect_info:
// clear it before a run, read it after.
//
//  - bpf_redirect(ifindex, flags), XDP: flags must be 0 (else XDP_ABORTED);
//    returns XDP_REDIRECT. tc (sched_cls/act): flags may only hold
//    BPF_F_INGRESS (else TC_ACT_SHOT); returns TC_ACT_REDIRECT.
//  - bpf_redirect_map(map, key, flags), XDP with DEVMAP / DEVMAP_HASH: the
//    low two bits of flags are the action returned when the key has no
//    entry (XDP_ABORTED, DROP, PASS or TX; the record is then cleared);
//    BPF_F_BROADCAST sends to every entry (BPF_F_EXCLUDE_INGRESS: but the
//    ingress device), whatever the key; any other flag gives XDP_ABORTED.
//  - bpf_redirect_map(map, cpu, flags), XDP with CPUMAP: the same, but the
//    only flags are the fallback action (no broadcast), and the target is
//    the network stack of that CPU.
#pragma once

#include <bpfrt/vm.hpp>

#include <cstdint>

namespace bpfrt::maps {
class Map;
}

namespace bpfrt::helpers {

struct RedirectTarget {
    bool set = false;           // a redirect helper chose a target in this run
    uint32_t ifindex = 0;       // the device (bpf_redirect, or the map entry's)
    uint64_t flags = 0;         // tc: BPF_F_INGRESS; XDP maps: BPF_F_BROADCAST / BPF_F_EXCLUDE_INGRESS
    const maps::Map* map = nullptr;  // bpf_redirect_map: the device or CPU map (nullptr for bpf_redirect)
    uint32_t key = 0;           // bpf_redirect_map: the key (CPUMAP: the CPU)
    bool to_cpu = false;        // bpf_redirect_map into a CPUMAP: to the network stack of CPU `key`
};

// This thread's record (the last redirect helper call since clear_redirect()).
RedirectTarget& redirect_target() noexcept;
void clear_redirect() noexcept;

void register_redirect_helpers(vm::HelperTable& table);

}  // namespace bpfrt::helpers
