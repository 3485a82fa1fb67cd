// bpfrt-corpus: category=stats
// The kernel sample xdp1/xdp_rxq_info idea: per-CPU packet and byte counters
// per IP protocol and per RX queue, plus a packet-size histogram.
#include "net_common.h"

struct datarec {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, struct datarec);
} proto_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct datarec);
} rxq_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 12);
    __type(key, __u32);
    __type(value, __u64);
} size_hist SEC(".maps");

static __always_inline void account(void *map, __u32 key, __u64 bytes)
{
    struct datarec *rec = bpf_map_lookup_elem(map, &key);
    if (!rec)
        return;
    rec->packets++;
    rec->bytes += bytes;
}

SEC("xdp")
int xdp_rx_stats(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 bytes = data_end - data;
    struct ethhdr *eth = data;
    __u32 proto = 255;

    if ((void *)(eth + 1) <= data_end) {
        if (eth->h_proto == bpf_htons(ETH_P_IP)) {
            struct iphdr *iph = (void *)(eth + 1);
            if ((void *)(iph + 1) <= data_end)
                proto = iph->protocol;
        } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
            struct ipv6hdr *ip6 = (void *)(eth + 1);
            if ((void *)(ip6 + 1) <= data_end)
                proto = ip6->nexthdr;
        }
    }
    account(&proto_stats, proto, bytes);

    __u32 queue = ctx->rx_queue_index;
    if (queue < 64)
        account(&rxq_stats, queue, bytes);

    __u32 slot = 0;
    __u64 size = bytes;
    while (size > 64 && slot < 11) {
        size >>= 1;
        slot++;
    }
    __u64 *h = bpf_map_lookup_elem(&size_hist, &slot);
    if (h)
        *h += 1;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
