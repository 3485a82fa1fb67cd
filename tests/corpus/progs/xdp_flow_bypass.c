// bpfrt-corpus: category=ids
// Suricata's XDP flow bypass: once the IDS has seen enough of a flow it
// inserts it into per-CPU hash tables (IPv4 and IPv6) and the XDP program
// drops the flow's later packets while counting them, so Suricata can still
// report the totals. Handles one VLAN tag and both address families, and
// spreads the rest over CPUs like Suricata's hash_ipv4/hash_ipv6.
#include "net_common.h"

struct flowv4_keys {
    __be32 src;
    __be32 dst;
    __be16 port16[2];
    __u8 ip_proto;
    __u8 pad[1];
    __u16 vlan0;
};

struct flowv6_keys {
    __be32 src[4];
    __be32 dst[4];
    __be16 port16[2];
    __u8 ip_proto;
    __u8 pad[1];
    __u16 vlan0;
};

struct pair {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 32768);
    __type(key, struct flowv4_keys);
    __type(value, struct pair);
} flow_table_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 32768);
    __type(key, struct flowv6_keys);
    __type(value, struct pair);
} flow_table_v6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_CPUMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

const volatile __u32 nb_cpus = 4;

static __always_inline int account(struct pair *value, __u64 len)
{
    value->packets++;
    value->bytes += len;
    return XDP_DROP;
}

static __always_inline int redirect_hash(__u32 hash)
{
    __u32 cpu = hash % (nb_cpus ? nb_cpus : 1);
    return bpf_redirect_map(&cpu_map, cpu, XDP_PASS);
}

static __always_inline int filter_ipv4(void *data, __u64 nh_off, void *data_end, __u16 vlan0)
{
    struct iphdr *iph = data + nh_off;
    if ((void *)(iph + 1) > data_end)
        return XDP_PASS;
    if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
        return redirect_hash(iph->saddr + iph->daddr);
    struct udphdr *uh = (void *)iph + (iph->ihl << 2);
    if ((void *)(uh + 1) > data_end)
        return XDP_PASS;
    struct flowv4_keys tuple = {
        .src = iph->saddr, .dst = iph->daddr, .ip_proto = iph->protocol, .vlan0 = vlan0,
    };
    tuple.port16[0] = uh->source;
    tuple.port16[1] = uh->dest;
    struct pair *value = bpf_map_lookup_elem(&flow_table_v4, &tuple);
    if (value)
        return account(value, data_end - data);
    return redirect_hash(iph->saddr + iph->daddr);
}

static __always_inline int filter_ipv6(void *data, __u64 nh_off, void *data_end, __u16 vlan0)
{
    struct ipv6hdr *ip6h = data + nh_off;
    if ((void *)(ip6h + 1) > data_end)
        return XDP_PASS;
    __u32 hash = ip6h->saddr.in6_u.u6_addr32[0] + ip6h->daddr.in6_u.u6_addr32[0] +
                 ip6h->saddr.in6_u.u6_addr32[3] + ip6h->daddr.in6_u.u6_addr32[3];
    if (ip6h->nexthdr != IPPROTO_TCP && ip6h->nexthdr != IPPROTO_UDP)
        return redirect_hash(hash);
    struct udphdr *uh = (void *)(ip6h + 1);
    if ((void *)(uh + 1) > data_end)
        return XDP_PASS;
    struct flowv6_keys tuple = { .ip_proto = ip6h->nexthdr, .vlan0 = vlan0 };
    __builtin_memcpy(tuple.src, ip6h->saddr.in6_u.u6_addr32, sizeof(tuple.src));
    __builtin_memcpy(tuple.dst, ip6h->daddr.in6_u.u6_addr32, sizeof(tuple.dst));
    tuple.port16[0] = uh->source;
    tuple.port16[1] = uh->dest;
    struct pair *value = bpf_map_lookup_elem(&flow_table_v6, &tuple);
    if (value)
        return account(value, data_end - data);
    return redirect_hash(hash);
}

SEC("xdp")
int xdp_hashfilter(struct xdp_md *ctx)
{
    void *data_end = (void *)(long)ctx->data_end;
    void *data = (void *)(long)ctx->data;
    struct ethhdr *eth = data;
    __u64 nh_off = sizeof(*eth);
    __u16 vlan0 = 0;

    if (data + nh_off > data_end)
        return XDP_PASS;
    __u16 h_proto = eth->h_proto;
    if (proto_is_vlan(h_proto)) {
        struct vlan_hdr *vhdr = data + nh_off;
        nh_off += sizeof(struct vlan_hdr);
        if (data + nh_off > data_end)
            return XDP_PASS;
        h_proto = vhdr->h_vlan_encapsulated_proto;
        vlan0 = bpf_ntohs(vhdr->h_vlan_TCI) & 0x0fff;
    }
    if (h_proto == bpf_htons(ETH_P_IP))
        return filter_ipv4(data, nh_off, data_end, vlan0);
    if (h_proto == bpf_htons(ETH_P_IPV6))
        return filter_ipv6(data, nh_off, data_end, vlan0);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
