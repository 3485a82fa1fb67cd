// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="loop"
// "Retry until it works": the insert into a full hash map is retried in a
// loop with no bound, and nothing in the loop changes between iterations,
// so it may never end.
#include "net_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} first_seen SEC(".maps");

SEC("xdp")
int xdp_retry_insert(struct xdp_md *ctx)
{
    __u32 key = ctx->rx_queue_index;
    __u64 now = bpf_ktime_get_ns();
    while (bpf_map_update_elem(&first_seen, &key, &now, BPF_NOEXIST)) { // bpfrt-corpus: fault
        if (bpf_map_lookup_elem(&first_seen, &key))
            break;
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
