// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="size"
// A helper argument of the wrong size: the map's value is 16 bytes but the
// program passes a pointer to a single u32 on the stack.
#include "net_common.h"

struct flow_counters {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct flow_counters);
} flow_counters SEC(".maps");

SEC("xdp")
int xdp_short_value(struct xdp_md *ctx)
{
    __u32 key = ctx->ingress_ifindex;
    __u32 one = 1;
    bpf_map_update_elem(&flow_counters, &key, &one, BPF_NOEXIST); // bpfrt-corpus: fault
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
