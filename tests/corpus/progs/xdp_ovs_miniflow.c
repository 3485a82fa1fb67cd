// bpfrt-corpus: category=switch
// An Open vSwitch-like datapath in XDP (after OVS's AF_XDP/eBPF datapath):
// extract a miniflow key (in_port, VLAN, MACs, L3, L4), look it up in a
// megaflow cache, then run the cached action list: a bounded loop over up
// to 16 actions (set field, push/pop VLAN, decrement TTL, output, drop).
// clang will not unroll it (too large), so the verifier walks the loop.
#include "net_common.h"

#define MAX_ACTIONS 16

enum ovs_action_type {
    OVS_ACT_END = 0,
    OVS_ACT_OUTPUT,
    OVS_ACT_SET_ETH_DST,
    OVS_ACT_SET_ETH_SRC,
    OVS_ACT_SET_IPV4_DST,
    OVS_ACT_SET_IPV4_SRC,
    OVS_ACT_SET_L4_DPORT,
    OVS_ACT_DEC_TTL,
    OVS_ACT_PUSH_VLAN,
    OVS_ACT_POP_VLAN,
    OVS_ACT_DROP,
};

struct ovs_action {
    __u8 type;
    __u8 pad;
    __u16 arg16;
    __u32 arg32;
    __u8 mac[ETH_ALEN];
    __u16 pad2;
};

struct miniflow {
    __u32 in_port;
    __u16 vlan_tci;
    __be16 eth_type;
    __u8 eth_src[ETH_ALEN];
    __u8 eth_dst[ETH_ALEN];
    __be32 nw_src;
    __be32 nw_dst;
    __u8 nw_proto;
    __u8 nw_ttl;
    __be16 tp_src;
    __be16 tp_dst;
    __u16 pad;
};

struct megaflow {
    __u64 packets;
    __u64 bytes;
    __u32 n_actions;
    __u32 pad;
    struct ovs_action actions[MAX_ACTIONS];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, struct miniflow);
    __type(value, struct megaflow);
} megaflows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u32);
} ovs_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct miniflow);
} upcall_key SEC(".maps");

static __always_inline int extract(struct xdp_md *ctx, struct miniflow *mf)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return -1;
    mf->in_port = ctx->ingress_ifindex;
    __builtin_memcpy(mf->eth_src, eth->h_source, ETH_ALEN);
    __builtin_memcpy(mf->eth_dst, eth->h_dest, ETH_ALEN);
    void *l3 = eth + 1;
    __be16 proto = eth->h_proto;
    if (proto_is_vlan(proto)) {
        struct vlan_hdr *vh = l3;
        if ((void *)(vh + 1) > data_end)
            return -1;
        mf->vlan_tci = bpf_ntohs(vh->h_vlan_TCI) | 0x1000;
        proto = vh->h_vlan_encapsulated_proto;
        l3 = vh + 1;
    }
    mf->eth_type = proto;
    if (proto != bpf_htons(ETH_P_IP))
        return 0;
    struct iphdr *iph = l3;
    if ((void *)(iph + 1) > data_end)
        return -1;
    mf->nw_src = iph->saddr;
    mf->nw_dst = iph->daddr;
    mf->nw_proto = iph->protocol;
    mf->nw_ttl = iph->ttl;
    if (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) {
        struct udphdr *uh = (void *)iph + iph->ihl * 4;
        if ((void *)(uh + 1) > data_end)
            return -1;
        mf->tp_src = uh->source;
        mf->tp_dst = uh->dest;
    }
    return 0;
}

// Finds the IPv4 header again after actions that move the packet.
static __always_inline struct iphdr *ipv4_of(void *data, void *data_end)
{
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return NULL;
    void *l3 = eth + 1;
    __be16 proto = eth->h_proto;
    if (proto_is_vlan(proto)) {
        struct vlan_hdr *vh = l3;
        if ((void *)(vh + 1) > data_end)
            return NULL;
        proto = vh->h_vlan_encapsulated_proto;
        l3 = vh + 1;
    }
    struct iphdr *iph = l3;
    if (proto != bpf_htons(ETH_P_IP) || (void *)(iph + 1) > data_end)
        return NULL;
    return iph;
}

// Runs one action; returns -1 to continue, or the XDP verdict.
static __always_inline int run_action(struct xdp_md *ctx, const struct ovs_action *a)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph;

    switch (a->type) {
    case OVS_ACT_END:
        return XDP_PASS;
    case OVS_ACT_DROP:
        return XDP_DROP;
    case OVS_ACT_OUTPUT:
        return bpf_redirect_map(&ovs_ports, a->arg32, XDP_DROP);
    case OVS_ACT_SET_ETH_DST:
        if ((void *)(eth + 1) > data_end)
            return XDP_DROP;
        __builtin_memcpy(eth->h_dest, a->mac, ETH_ALEN);
        return -1;
    case OVS_ACT_SET_ETH_SRC:
        if ((void *)(eth + 1) > data_end)
            return XDP_DROP;
        __builtin_memcpy(eth->h_source, a->mac, ETH_ALEN);
        return -1;
    case OVS_ACT_SET_IPV4_DST:
    case OVS_ACT_SET_IPV4_SRC:
        iph = ipv4_of(data, data_end);
        if (!iph)
            return -1;
        {
            __be32 *field = a->type == OVS_ACT_SET_IPV4_DST ? &iph->daddr : &iph->saddr;
            csum_replace4(&iph->check, *field, a->arg32);
            *field = a->arg32;
        }
        return -1;
    case OVS_ACT_SET_L4_DPORT:
        iph = ipv4_of(data, data_end);
        if (!iph || iph->ihl != 5)
            return -1;
        {
            struct udphdr *uh = (void *)(iph + 1);
            if ((void *)(uh + 1) > data_end)
                return XDP_DROP;
            uh->dest = bpf_htons(a->arg16);
        }
        return -1;
    case OVS_ACT_DEC_TTL:
        iph = ipv4_of(data, data_end);
        if (!iph)
            return -1;
        if (iph->ttl <= 1)
            return XDP_DROP;
        csum_replace2(&iph->check, bpf_htons((__u16)iph->ttl << 8), bpf_htons((__u16)(iph->ttl - 1) << 8));
        iph->ttl--;
        return -1;
    case OVS_ACT_PUSH_VLAN:
        if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_hdr)))
            return XDP_DROP;
        data = (void *)(long)ctx->data;
        data_end = (void *)(long)ctx->data_end;
        eth = data;
        if ((void *)eth + sizeof(*eth) + sizeof(struct vlan_hdr) > data_end)
            return XDP_DROP;
        __builtin_memmove(eth, (void *)eth + sizeof(struct vlan_hdr), 2 * ETH_ALEN);
        {
            struct vlan_hdr *vh = (void *)(eth + 1);
            vh->h_vlan_encapsulated_proto = eth->h_proto;
            vh->h_vlan_TCI = bpf_htons(a->arg16);
            eth->h_proto = bpf_htons(ETH_P_8021Q);
        }
        return -1;
    case OVS_ACT_POP_VLAN:
        if ((void *)eth + sizeof(*eth) + sizeof(struct vlan_hdr) > data_end || !proto_is_vlan(eth->h_proto))
            return -1;
        {
            struct vlan_hdr *vh = (void *)(eth + 1);
            eth->h_proto = vh->h_vlan_encapsulated_proto;
            __builtin_memmove((void *)eth + sizeof(struct vlan_hdr), eth, 2 * ETH_ALEN);
        }
        if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_hdr)))
            return XDP_DROP;
        return -1;
    default:
        return XDP_ABORTED;
    }
}

SEC("xdp")
int xdp_ovs_datapath(struct xdp_md *ctx)
{
    __u32 zero = 0;
    struct miniflow *mf = bpf_map_lookup_elem(&upcall_key, &zero);
    if (!mf)
        return XDP_ABORTED;
    __builtin_memset(mf, 0, sizeof(*mf));
    if (extract(ctx, mf) < 0)
        return XDP_DROP;
    struct megaflow *flow = bpf_map_lookup_elem(&megaflows, mf);
    if (!flow)
        return XDP_PASS; /* upcall: the slow path in user space decides */
    __sync_fetch_and_add(&flow->packets, 1);
    __sync_fetch_and_add(&flow->bytes, ctx->data_end - ctx->data);

    __u32 n = flow->n_actions;
    for (__u32 i = 0; i < MAX_ACTIONS; i++) {
        if (i >= n)
            break;
        int verdict = run_action(ctx, &flow->actions[i]);
        if (verdict >= 0)
            return verdict;
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
