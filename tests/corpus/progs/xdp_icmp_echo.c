// bpfrt-corpus: category=l3
// Answers ICMP echo requests to a configured address straight from the
// driver (XDP_TX), as ping responders in the xdp-tutorial do: swap MACs and
// IPs, turn the request into a reply and fix the ICMP checksum incrementally.
#include "net_common.h"

const volatile __be32 responder_ip = 0;

__u64 replies_sent;

static __always_inline void swap_mac(struct ethhdr *eth)
{
    __u8 tmp[ETH_ALEN];
    __builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
    __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
    __builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

SEC("xdp")
int xdp_ping_responder(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || iph->protocol != IPPROTO_ICMP || iph->ihl != 5)
        return XDP_PASS;
    if (responder_ip && iph->daddr != responder_ip)
        return XDP_PASS;
    struct icmp_hdr *icmp = (void *)(iph + 1);
    if ((void *)(icmp + 1) > data_end)
        return XDP_PASS;
    if (icmp->type != ICMP_ECHO || icmp->code != 0)
        return XDP_PASS;

    swap_mac(eth);
    __be32 tmp = iph->saddr;
    iph->saddr = iph->daddr;
    iph->daddr = tmp;
    iph->ttl = 64;
    // ttl changed: recompute the IP header checksum from scratch.
    iph->check = 0;
    __u64 sum = 0;
    __u16 *w = (__u16 *)iph;
#pragma unroll
    for (int i = 0; i < 10; i++)
        sum += w[i];
    iph->check = csum_fold_helper(sum);

    __u16 old = *(__u16 *)icmp;
    icmp->type = ICMP_ECHOREPLY;
    csum_replace2(&icmp->checksum, old, *(__u16 *)icmp);
    __sync_fetch_and_add(&replies_sent, 1);
    return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
