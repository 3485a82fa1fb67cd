// bpfrt-corpus: category=quirk
// Returning the map value pointer instead of the verdict stored in it (a
// forgotten dereference, silenced with a cast). A privileged load accepts
// it: the 32-bit move of the return value turns the pointer into an
// unknown scalar, and plain XDP programs have no return-value range check.
// Kept as a record of that behaviour.
#include "net_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} queue_verdicts SEC(".maps");

SEC("xdp")
int xdp_return_ptr(struct xdp_md *ctx)
{
    __u32 queue = ctx->rx_queue_index;
    __u32 *verdict = bpf_map_lookup_elem(&queue_verdicts, &queue);
    if (!verdict)
        return XDP_PASS;
    return (long)verdict;
}

char LICENSE[] SEC("license") = "GPL";
