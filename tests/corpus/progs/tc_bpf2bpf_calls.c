// bpfrt-corpus: category=calls
// Several levels of bpf-to-bpf calls (static __noinline), as Cilium's
// datapath is split into: the entry calls a parser, the parser calls per-L4
// helpers, and a checksum routine is shared. Arguments include the context,
// pointers to the caller's stack and scalars; results come back in R0 and
// through the stack.
#include "net_common.h"

struct l4_info {
    __u32 l4_off;
    __u16 sport;
    __u16 dport;
    __u8 proto;
    __u8 tcp_flags;
    __u16 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u64);
} flag_counts SEC(".maps");

static __noinline __u32 mix(__u32 a, __u32 b)
{
    a ^= b;
    a *= 0x85ebca6bu;
    return a ^ (a >> 15);
}

static __noinline int parse_ports(struct __sk_buff *skb, struct l4_info *info)
{
    __u16 ports[2];
    if (bpf_skb_load_bytes(skb, info->l4_off, ports, sizeof(ports)))
        return -1;
    info->sport = bpf_ntohs(ports[0]);
    info->dport = bpf_ntohs(ports[1]);
    if (info->proto == IPPROTO_TCP) {
        __u8 flags;
        if (bpf_skb_load_bytes(skb, info->l4_off + 13, &flags, 1))
            return -1;
        info->tcp_flags = flags;
    }
    return 0;
}

static __noinline int parse_l3(struct __sk_buff *skb, struct l4_info *info)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct iphdr *iph = data + ETH_HLEN;
    if ((void *)(iph + 1) > data_end)
        return -1;
    info->proto = iph->protocol;
    info->l4_off = ETH_HLEN + iph->ihl * 4;
    if (info->proto != IPPROTO_TCP && info->proto != IPPROTO_UDP)
        return 0;
    return parse_ports(skb, info);
}

static __noinline __u32 flow_id(const struct l4_info *info, __u32 seed)
{
    return mix(mix(seed, info->sport), (__u32)info->dport << 8 | info->proto);
}

SEC("tc")
int tc_calls(struct __sk_buff *skb)
{
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;
    struct l4_info info = {};
    if (parse_l3(skb, &info) < 0)
        return TC_ACT_SHOT;
    __u32 key = info.tcp_flags;
    __u64 *c = bpf_map_lookup_elem(&flag_counts, &key);
    if (c)
        (*c)++;
    skb->mark = flow_id(&info, skb->ifindex); /* skb->hash is read-only for tc */
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
