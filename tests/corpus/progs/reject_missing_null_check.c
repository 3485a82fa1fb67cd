// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="NULL"
// The most common mistake: the result of bpf_map_lookup_elem is used without
// checking it against NULL (the entry may not exist).
#include "net_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} per_queue_packets SEC(".maps");

SEC("xdp")
int xdp_count_no_null_check(struct xdp_md *ctx)
{
    __u32 queue = ctx->rx_queue_index;
    __u64 *count = bpf_map_lookup_elem(&per_queue_packets, &queue);
    *count += 1; // bpfrt-corpus: fault
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
