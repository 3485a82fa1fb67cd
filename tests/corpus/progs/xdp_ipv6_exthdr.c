// bpfrt-corpus: category=parser
// IPv6 extension header walk (hop-by-hop, routing, destination options,
// fragment, AH) to find the upper-layer protocol, as Cilium's ipv6_hdrlen()
// does: a bounded, unrolled loop of at most IPV6_MAX_HEADERS headers.
#include "net_common.h"

#define IPV6_MAX_HEADERS 6
#ifndef NEXTHDR_HOP
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_NONE 59
#define NEXTHDR_DEST 60
#endif

struct frag_hdr {
    __u8 nexthdr;
    __u8 reserved;
    __be16 frag_off;
    __be32 identification;
};

struct l4_stats {
    __u64 tcp, udp, icmp6, other, fragments, too_deep;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct l4_stats);
} v6_stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u16);
    __type(value, __u8);
} blocked_ports SEC(".maps");

SEC("xdp")
int xdp_ipv6_l4(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u32 zero = 0;

    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    if (eth->h_proto != bpf_htons(ETH_P_IPV6))
        return XDP_PASS;
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > data_end)
        return XDP_DROP;

    struct l4_stats *st = bpf_map_lookup_elem(&v6_stats, &zero);
    if (!st)
        return XDP_ABORTED;

    __u8 nexthdr = ip6->nexthdr;
    void *cursor = ip6 + 1;
    int i;

#pragma unroll
    for (i = 0; i < IPV6_MAX_HEADERS; i++) {
        if (nexthdr == NEXTHDR_FRAGMENT) {
            struct frag_hdr *fh = cursor;
            if ((void *)(fh + 1) > data_end)
                return XDP_DROP;
            st->fragments++;
            // Only the first fragment carries the L4 header.
            if (fh->frag_off & bpf_htons(0xfff8))
                return XDP_PASS;
            nexthdr = fh->nexthdr;
            cursor = fh + 1;
        } else if (nexthdr == NEXTHDR_HOP || nexthdr == NEXTHDR_ROUTING || nexthdr == NEXTHDR_DEST ||
                   nexthdr == NEXTHDR_AUTH) {
            struct ipv6_opt_hdr *opt = cursor;
            if ((void *)(opt + 1) > data_end)
                return XDP_DROP;
            __u32 len = nexthdr == NEXTHDR_AUTH ? ((__u32)opt->hdrlen + 2) << 2 : ((__u32)opt->hdrlen + 1) << 3;
            nexthdr = opt->nexthdr;
            cursor += len;
        } else {
            break;
        }
    }
    if (i == IPV6_MAX_HEADERS) {
        st->too_deep++;
        return XDP_PASS;
    }

    __u16 dport;
    if (nexthdr == IPPROTO_TCP) {
        struct tcphdr *th = cursor;
        if ((void *)(th + 1) > data_end)
            return XDP_DROP;
        st->tcp++;
        dport = bpf_ntohs(th->dest);
    } else if (nexthdr == IPPROTO_UDP) {
        struct udphdr *uh = cursor;
        if ((void *)(uh + 1) > data_end)
            return XDP_DROP;
        st->udp++;
        dport = bpf_ntohs(uh->dest);
    } else if (nexthdr == IPPROTO_ICMPV6) {
        st->icmp6++;
        return XDP_PASS;
    } else {
        st->other++;
        return XDP_PASS;
    }
    return bpf_map_lookup_elem(&blocked_ports, &dport) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
