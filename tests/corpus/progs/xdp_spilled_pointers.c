// bpfrt-corpus: category=spill
// bpfrt-corpus: mcpu=v3
// Register pressure on purpose: a flow hash over IPv6 addresses keeps many
// values alive across helper calls, so clang spills the packet pointer,
// data_end and the map value pointer to the stack and fills them again. The
// verifier has to carry pointer types and packet ranges through the spills.
#include "net_common.h"

struct v6_flow_val {
    __u64 packets;
    __u64 bytes;
    __u32 hash;
    __u32 last_len;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32);
    __type(value, struct v6_flow_val);
} v6_flows SEC(".maps");

SEC("xdp")
int xdp_spills(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct ipv6hdr *ip6 = (void *)(eth + 1);
    if ((void *)(ip6 + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6))
        return XDP_PASS;
    struct tcphdr *th = (void *)(ip6 + 1);
    if ((void *)(th + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
        return XDP_PASS;

    __u32 s0 = ip6->saddr.in6_u.u6_addr32[0], s1 = ip6->saddr.in6_u.u6_addr32[1];
    __u32 s2 = ip6->saddr.in6_u.u6_addr32[2], s3 = ip6->saddr.in6_u.u6_addr32[3];
    __u32 d0 = ip6->daddr.in6_u.u6_addr32[0], d1 = ip6->daddr.in6_u.u6_addr32[1];
    __u32 d2 = ip6->daddr.in6_u.u6_addr32[2], d3 = ip6->daddr.in6_u.u6_addr32[3];
    __u32 ports = (__u32)th->source << 16 | th->dest;
    __u64 now = bpf_ktime_get_ns(); /* a call: everything live is spilled around it */
    __u32 h = s0 * 31 + s1;
    h = h * 31 + s2;
    h = h * 31 + s3;
    h = h * 31 + d0;
    h = h * 31 + d1;
    h = h * 31 + d2;
    h = h * 31 + d3;
    h ^= ports ^ (__u32)now;
    __u32 key = h;

    struct v6_flow_val *v = bpf_map_lookup_elem(&v6_flows, &key);
    if (!v) {
        struct v6_flow_val fresh = { .packets = 1, .hash = h };
        bpf_map_update_elem(&v6_flows, &key, &fresh, BPF_ANY);
        return XDP_PASS;
    }
    __u32 cpu = bpf_get_smp_processor_id(); /* another call with the pointers live */
    // Packet pointers are used again after the calls: they come back from the stack.
    __u16 window = bpf_ntohs(th->window);
    v->packets++;
    v->bytes += (__u64)(data_end - data);
    v->last_len = window ^ cpu ^ s3 ^ d3;
    return th->rst && window == 0 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
