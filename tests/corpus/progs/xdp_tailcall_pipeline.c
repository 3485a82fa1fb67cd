// bpfrt-corpus: category=tailcall
// A tail-call pipeline as Cilium and Falco build them: an entry program
// parses Ethernet and jumps through a PROG_ARRAY to a per-protocol stage,
// which may jump again to a policy stage. State between stages travels in a
// per-CPU scratch map; a failed tail call falls through to a default.
#include "net_common.h"

enum { STAGE_IPV4 = 0, STAGE_IPV6 = 1, STAGE_POLICY = 2, STAGE_MAX = 4 };

struct scratch {
    __u32 l3_off;
    __u32 l4_off;
    __u8 l4_proto;
    __u8 family;
    __u16 dport;
};

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, STAGE_MAX);
    __type(key, __u32);
    __type(value, __u32);
} jmp_table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} scratch_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u16);
    __type(value, __u32);
} port_policy SEC(".maps");

__u64 tail_call_failures;

static __always_inline struct scratch *get_scratch(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&scratch_map, &zero);
}

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct scratch *s = get_scratch();
    if (!s || (void *)(eth + 1) > data_end)
        return XDP_DROP;
    s->l3_off = sizeof(*eth);
    if (eth->h_proto == bpf_htons(ETH_P_IP))
        bpf_tail_call(ctx, &jmp_table, STAGE_IPV4);
    else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
        bpf_tail_call(ctx, &jmp_table, STAGE_IPV6);
    else
        return XDP_PASS;
    __sync_fetch_and_add(&tail_call_failures, 1);
    return XDP_PASS;
}

SEC("xdp")
int xdp_stage_ipv4(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct scratch *s = get_scratch();
    if (!s)
        return XDP_DROP;
    struct iphdr *iph = data + sizeof(struct ethhdr);
    if ((void *)(iph + 1) > data_end)
        return XDP_DROP;
    s->family = 4;
    s->l4_proto = iph->protocol;
    s->l4_off = sizeof(struct ethhdr) + iph->ihl * 4;
    bpf_tail_call(ctx, &jmp_table, STAGE_POLICY);
    return XDP_PASS;
}

SEC("xdp")
int xdp_stage_ipv6(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct scratch *s = get_scratch();
    if (!s)
        return XDP_DROP;
    struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
    if ((void *)(ip6 + 1) > data_end)
        return XDP_DROP;
    s->family = 6;
    s->l4_proto = ip6->nexthdr;
    s->l4_off = sizeof(struct ethhdr) + sizeof(*ip6);
    bpf_tail_call(ctx, &jmp_table, STAGE_POLICY);
    return XDP_PASS;
}

SEC("xdp")
int xdp_stage_policy(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct scratch *s = get_scratch();
    if (!s)
        return XDP_DROP;
    if (s->l4_proto != IPPROTO_TCP && s->l4_proto != IPPROTO_UDP)
        return XDP_PASS;
    __u32 off = s->l4_off;
    if (off > 128)
        return XDP_DROP;
    struct udphdr *uh = data + off;
    if ((void *)(uh + 1) > data_end)
        return XDP_DROP;
    __u16 dport = bpf_ntohs(uh->dest);
    s->dport = dport;
    __u32 *action = bpf_map_lookup_elem(&port_policy, &dport);
    return action && *action == XDP_DROP ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
