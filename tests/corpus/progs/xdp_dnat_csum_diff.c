// bpfrt-corpus: category=nat
// Destination NAT for a service VIP in XDP. The IPv4 header checksum is
// updated with bpf_csum_diff over the changed address, the TCP/UDP checksum
// incrementally (RFC 1624) in C, like Katran's and Polycube's NAT paths.
#include "net_common.h"

struct svc_key {
    __be32 vip;
    __be16 port;
    __u16 proto;
};

struct svc_backend {
    __be32 addr;
    __be16 port;
    __u16 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct svc_key);
    __type(value, struct svc_backend);
} services SEC(".maps");

static __always_inline __u16 csum_fold32(__s64 csum)
{
    __u32 sum = (__u32)csum;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

SEC("xdp")
int xdp_dnat(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    if (iph->ihl != 5)
        return XDP_PASS;

    __u16 *l4_check;
    __be16 *dport;
    if (iph->protocol == IPPROTO_TCP) {
        struct tcphdr *th = (void *)(iph + 1);
        if ((void *)(th + 1) > data_end)
            return XDP_DROP;
        l4_check = &th->check;
        dport = &th->dest;
    } else if (iph->protocol == IPPROTO_UDP) {
        struct udphdr *uh = (void *)(iph + 1);
        if ((void *)(uh + 1) > data_end)
            return XDP_DROP;
        l4_check = &uh->check;
        dport = &uh->dest;
    } else {
        return XDP_PASS;
    }

    struct svc_key key = { .vip = iph->daddr, .port = *dport, .proto = iph->protocol };
    struct svc_backend *be = bpf_map_lookup_elem(&services, &key);
    if (!be)
        return XDP_PASS;

    __be32 old_daddr = iph->daddr;
    __be32 new_daddr = be->addr;
    __s64 diff = bpf_csum_diff(&old_daddr, sizeof(old_daddr), &new_daddr, sizeof(new_daddr),
                               (__u16)~iph->check);
    if (diff < 0)
        return XDP_ABORTED;
    iph->daddr = new_daddr;
    iph->check = csum_fold32(diff);

    // UDP may carry no checksum at all (zero): leave it so.
    if (iph->protocol == IPPROTO_TCP || *l4_check) {
        csum_replace4(l4_check, old_daddr, new_daddr);
        csum_replace2(l4_check, *dport, be->port);
    }
    *dport = be->port;
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
