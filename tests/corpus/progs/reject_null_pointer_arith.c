// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="NULL"
// Pointer arithmetic on the result of a lookup before the NULL check: the
// caller offsets the value pointer and leaves the NULL check to the callee.
#include "net_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64[16]);
} cpu_slots SEC(".maps");

static __noinline int bump_slot(__u64 *p)
{
    if (!p)
        return XDP_PASS;
    *p += 1;
    return XDP_PASS;
}

SEC("xdp")
int xdp_arith_before_check(struct xdp_md *ctx)
{
    __u32 key = ctx->ingress_ifindex;
    __u32 slot = ctx->rx_queue_index & 15;
    __u64 *base = bpf_map_lookup_elem(&cpu_slots, &key);
    return bump_slot(base + slot); // bpfrt-corpus: fault
}

char LICENSE[] SEC("license") = "GPL";
