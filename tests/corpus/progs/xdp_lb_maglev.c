// bpfrt-corpus: category=lb
// An L4 load balancer in the style of Katran: VIPs in a hash map, a Maglev
// consistent-hashing table per VIP (ring of backend ids in an array), an LRU
// connection table so established flows stay on their backend, and IP-in-IP
// encapsulation towards the chosen real server with bpf_xdp_adjust_head.
#include "net_common.h"

#define MAX_VIPS 512
#define RING_SIZE 65537 /* prime, as Maglev wants */
#define MAX_REALS 4096

struct vip_key {
    __be32 addr;
    __be16 port;
    __u8 proto;
    __u8 pad;
};

struct vip_meta {
    __u32 flags;
    __u32 vip_num;
};

struct real_def {
    __be32 addr;
    __u32 flags;
};

struct lb_stats {
    __u64 packets;
    __u64 bytes;
};

#define VIP_NO_PORT 1

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_VIPS);
    __type(key, struct vip_key);
    __type(value, struct vip_meta);
} vip_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, RING_SIZE * 4);
    __type(key, __u32);
    __type(value, __u32);
} ch_rings SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MAX_REALS);
    __type(key, __u32);
    __type(value, struct real_def);
} reals SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct flow_key);
    __type(value, __u32);
} conn_table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MAX_VIPS);
    __type(key, __u32);
    __type(value, struct lb_stats);
} vip_stats SEC(".maps");

// Katran uses jhash; a smaller mixing function keeps this program compact.
static __always_inline __u32 flow_hash(const struct flow_key *f)
{
    __u32 h = f->saddr[0] * 0x9e3779b1u;
    h ^= (__u32)f->sport << 16 | f->dport;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h ^= f->proto;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}

static __always_inline int encap_ipip(struct xdp_md *ctx, __be32 real_addr, __be32 vip_addr, __u16 inner_len)
{
    if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr)))
        return XDP_DROP;

    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *new_eth = data;
    struct ethhdr *old_eth = data + sizeof(struct iphdr);
    struct iphdr *outer = data + sizeof(struct ethhdr);

    if ((void *)(outer + 1) > data_end)
        return XDP_DROP;

    __builtin_memcpy(new_eth->h_source, old_eth->h_dest, ETH_ALEN);
    __builtin_memcpy(new_eth->h_dest, old_eth->h_source, ETH_ALEN);
    new_eth->h_proto = bpf_htons(ETH_P_IP);

    outer->version = 4;
    outer->ihl = 5;
    outer->tos = 0;
    outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
    outer->id = 0;
    outer->frag_off = 0;
    outer->ttl = 64;
    outer->protocol = IPPROTO_IPIP;
    outer->saddr = vip_addr;
    outer->daddr = real_addr;
    outer->check = 0;

    __u64 csum = 0;
    __u16 *words = (__u16 *)outer;
#pragma unroll
    for (int i = 0; i < (int)(sizeof(struct iphdr) / 2); i++)
        csum += words[i];
    outer->check = csum_fold_helper(csum);
    return XDP_TX;
}

SEC("xdp")
int xdp_maglev_lb(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;

    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;

    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end)
        return XDP_DROP;
    if (iph->ihl != 5 || (iph->frag_off & bpf_htons(0x3fff)))
        return XDP_PASS;

    struct flow_key flow = {};
    flow.saddr[0] = iph->saddr;
    flow.daddr[0] = iph->daddr;
    flow.proto = iph->protocol;
    flow.family = 4;

    if (iph->protocol == IPPROTO_TCP) {
        struct tcphdr *th = (void *)(iph + 1);
        if ((void *)(th + 1) > data_end)
            return XDP_DROP;
        flow.sport = th->source;
        flow.dport = th->dest;
    } else if (iph->protocol == IPPROTO_UDP) {
        struct udphdr *uh = (void *)(iph + 1);
        if ((void *)(uh + 1) > data_end)
            return XDP_DROP;
        flow.sport = uh->source;
        flow.dport = uh->dest;
    } else {
        return XDP_PASS;
    }

    struct vip_key vk = { .addr = iph->daddr, .port = flow.dport, .proto = flow.proto };
    struct vip_meta *vip = bpf_map_lookup_elem(&vip_map, &vk);
    if (!vip) {
        vk.port = 0;
        vip = bpf_map_lookup_elem(&vip_map, &vk);
        if (!vip || !(vip->flags & VIP_NO_PORT))
            return XDP_PASS;
    }
    __u32 vip_num = vip->vip_num;

    struct lb_stats *st = bpf_map_lookup_elem(&vip_stats, &vip_num);
    if (st) {
        st->packets++;
        st->bytes += (__u64)(data_end - data);
    }

    __u32 real_id;
    __u32 *cached = bpf_map_lookup_elem(&conn_table, &flow);
    if (cached) {
        real_id = *cached;
    } else {
        if (vip_num >= 4)
            return XDP_DROP;
        __u32 pos = flow_hash(&flow) % RING_SIZE + vip_num * RING_SIZE;
        __u32 *slot = bpf_map_lookup_elem(&ch_rings, &pos);
        if (!slot)
            return XDP_DROP;
        real_id = *slot;
        // A SYN always rehashes; everything else is pinned to its backend.
        bpf_map_update_elem(&conn_table, &flow, &real_id, BPF_ANY);
    }

    struct real_def *real = bpf_map_lookup_elem(&reals, &real_id);
    if (!real)
        return XDP_DROP;
    return encap_ipip(ctx, real->addr, iph->daddr, bpf_ntohs(iph->tot_len));
}

char LICENSE[] SEC("license") = "GPL";
