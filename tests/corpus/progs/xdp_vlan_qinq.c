// bpfrt-corpus: category=parser
// Ethernet parsing with up to two VLAN tags (802.1Q inside 802.1ad, QinQ),
// as in the xdp-tutorial and Suricata's XDP filter: the outer VLAN id selects
// a per-VLAN policy and per-protocol counters are kept per CPU.
#include "net_common.h"

#define VLAN_MAX_DEPTH 2
#define VLAN_VID_MASK 0x0fff

struct vlan_policy {
    __u32 action; /* XDP_PASS / XDP_DROP */
    __u32 allowed_protos; /* bitmask: 1 = IPv4, 2 = IPv6, 4 = ARP */
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u16);
    __type(value, struct vlan_policy);
} vlan_policies SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} proto_counts SEC(".maps");

struct hdr_cursor {
    void *pos;
};

static __always_inline int parse_ethhdr_vlan(struct hdr_cursor *nh, void *data_end, __u16 *outer_vid,
                                             int *depth)
{
    struct ethhdr *eth = nh->pos;
    if ((void *)(eth + 1) > data_end)
        return -1;
    nh->pos = eth + 1;
    __u16 h_proto = eth->h_proto;
    struct vlan_hdr *vlh = nh->pos;

#pragma unroll
    for (int i = 0; i < VLAN_MAX_DEPTH; i++) {
        if (!proto_is_vlan(h_proto))
            break;
        if ((void *)(vlh + 1) > data_end)
            return -1;
        if (i == 0)
            *outer_vid = bpf_ntohs(vlh->h_vlan_TCI) & VLAN_VID_MASK;
        h_proto = vlh->h_vlan_encapsulated_proto;
        vlh++;
        *depth = i + 1;
    }
    nh->pos = vlh;
    return h_proto;
}

static __always_inline void count(__u32 idx)
{
    __u64 *c = bpf_map_lookup_elem(&proto_counts, &idx);
    if (c)
        *c += 1;
}

SEC("xdp")
int xdp_vlan_filter(struct xdp_md *ctx)
{
    void *data_end = (void *)(long)ctx->data_end;
    struct hdr_cursor nh = { .pos = (void *)(long)ctx->data };
    __u16 vid = 0;
    int depth = 0;

    int proto = parse_ethhdr_vlan(&nh, data_end, &vid, &depth);
    if (proto < 0) {
        count(7);
        return XDP_ABORTED;
    }
    count((__u32)depth);

    __u32 proto_bit;
    if (proto == bpf_htons(ETH_P_IP))
        proto_bit = 1;
    else if (proto == bpf_htons(ETH_P_IPV6))
        proto_bit = 2;
    else if (proto == bpf_htons(ETH_P_ARP))
        proto_bit = 4;
    else
        proto_bit = 0;
    count(3 + (proto_bit >> 1));

    if (!depth)
        return XDP_PASS;
    struct vlan_policy *pol = bpf_map_lookup_elem(&vlan_policies, &vid);
    if (!pol)
        return XDP_PASS;
    if (!(pol->allowed_protos & proto_bit))
        return XDP_DROP;
    return pol->action == XDP_DROP ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
