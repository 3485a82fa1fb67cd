// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="map value"
// Out-of-bounds access to a map value: the index is checked against the
// array's size in bytes instead of its number of elements.
#include "net_common.h"

struct port_slots {
    __u32 hits[32];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct port_slots);
} port_slots SEC(".maps");

SEC("xdp")
int xdp_slot_oob(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct udphdr *uh = data + sizeof(struct ethhdr) + sizeof(struct iphdr);
    if ((void *)(uh + 1) > data_end)
        return XDP_PASS;
    __u32 zero = 0;
    struct port_slots *ps = bpf_map_lookup_elem(&port_slots, &zero);
    if (!ps)
        return XDP_PASS;
    __u32 idx = bpf_ntohs(uh->dest) & 0xff;
    if (idx >= sizeof(ps->hits))
        return XDP_PASS;
    ps->hits[idx]++; // bpfrt-corpus: fault
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
