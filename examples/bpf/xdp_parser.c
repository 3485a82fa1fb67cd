// An XDP packet parser: Ethernet, IPv4 / IPv6, TCP / UDP, each header checked
// against data_end before it is read. Counts packets by L4 protocol and drops
// TCP to a blocked port (set in .rodata before load).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

volatile const __u16 blocked_tcp_port = 23;

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 256);
} packets_by_protocol SEC(".maps");

struct packet {
    void *pos;
    void *end;
};

static __always_inline int parse_ethernet(struct packet *p, __u16 *proto)
{
    struct ethhdr *eth = p->pos;

    if ((void *)(eth + 1) > p->end)
        return -1;
    *proto = eth->h_proto;
    p->pos = eth + 1;
    return 0;
}

static __always_inline int parse_ipv4(struct packet *p, __u8 *l4)
{
    struct iphdr *ip = p->pos;

    if ((void *)(ip + 1) > p->end)
        return -1;
    if (ip->ihl < 5)
        return -1;
    *l4 = ip->protocol;
    p->pos = (void *)ip + ip->ihl * 4;
    return 0;
}

static __always_inline int parse_ipv6(struct packet *p, __u8 *l4)
{
    struct ipv6hdr *ip6 = p->pos;

    if ((void *)(ip6 + 1) > p->end)
        return -1;
    *l4 = ip6->nexthdr;
    p->pos = ip6 + 1;
    return 0;
}

static __always_inline void count(__u32 protocol)
{
    __u64 *counter = bpf_map_lookup_elem(&packets_by_protocol, &protocol);

    if (counter)
        *counter += 1;
}

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
    struct packet p = {
        .pos = (void *)(long)ctx->data,
        .end = (void *)(long)ctx->data_end,
    };
    __u16 eth_proto;
    __u8 l4;

    if (parse_ethernet(&p, &eth_proto) < 0)
        return XDP_DROP;
    if (eth_proto == bpf_htons(ETH_P_IP)) {
        if (parse_ipv4(&p, &l4) < 0)
            return XDP_DROP;
    } else if (eth_proto == bpf_htons(ETH_P_IPV6)) {
        if (parse_ipv6(&p, &l4) < 0)
            return XDP_DROP;
    } else {
        return XDP_PASS;
    }
    count(l4);

    if (l4 == IPPROTO_TCP) {
        struct tcphdr *tcp = p.pos;
        if ((void *)(tcp + 1) > p.end)
            return XDP_DROP;
        if (tcp->dest == bpf_htons(blocked_tcp_port))
            return XDP_DROP;
    } else if (l4 == IPPROTO_UDP) {
        struct udphdr *udp = p.pos;
        if ((void *)(udp + 1) > p.end)
            return XDP_DROP;
    }
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
