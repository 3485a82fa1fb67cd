// bpfrt-corpus: category=tunnel
// Tunnel encapsulation on tc egress with bpf_skb_adjust_room, modelled on the
// kernel's test_tc_tunnel: packets to a remote pod CIDR get an outer IPv4 +
// UDP (GUE-like) header; the decap program on ingress strips it again.
#include "net_common.h"

#define GUE_PORT 6080

struct tunnel_key {
    __u32 prefixlen;
    __be32 addr;
};

struct tunnel_ep {
    __be32 remote;
    __be32 local;
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 1024);
    __type(key, struct tunnel_key);
    __type(value, struct tunnel_ep);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} tunnel_routes SEC(".maps");

struct outer_hdrs {
    struct iphdr ip;
    struct udphdr udp;
};

SEC("tc")
int tc_gue_encap(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *inner = (void *)(eth + 1);
    if ((void *)(inner + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;

    struct tunnel_key k = { .prefixlen = 32, .addr = inner->daddr };
    struct tunnel_ep *ep = bpf_map_lookup_elem(&tunnel_routes, &k);
    if (!ep)
        return TC_ACT_OK;

    __u16 inner_len = bpf_ntohs(inner->tot_len);
    struct outer_hdrs h = {};
    h.ip.version = 4;
    h.ip.ihl = 5;
    h.ip.ttl = 64;
    h.ip.protocol = IPPROTO_UDP;
    h.ip.saddr = ep->local;
    h.ip.daddr = ep->remote;
    h.ip.tot_len = bpf_htons(inner_len + sizeof(h));
    h.udp.source = bpf_htons(GUE_PORT + (skb->hash & 0x3ff));
    h.udp.dest = bpf_htons(GUE_PORT);
    h.udp.len = bpf_htons(inner_len + sizeof(h.udp));

    __u64 sum = 0;
    __u16 *w = (__u16 *)&h.ip;
#pragma unroll
    for (int i = 0; i < 10; i++)
        sum += w[i];
    h.ip.check = csum_fold_helper(sum);

    if (bpf_skb_adjust_room(skb, sizeof(h), BPF_ADJ_ROOM_MAC,
                            BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP))
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof(h), BPF_F_INVALIDATE_HASH))
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

SEC("tc")
int tc_gue_decap(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct outer_hdrs *h = (void *)(eth + 1);
    if ((void *)(h + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;
    if (h->ip.ihl != 5 || h->ip.protocol != IPPROTO_UDP || h->udp.dest != bpf_htons(GUE_PORT))
        return TC_ACT_OK;
    if (bpf_skb_adjust_room(skb, -(__s32)sizeof(*h), BPF_ADJ_ROOM_MAC, 0))
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
