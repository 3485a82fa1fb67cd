// bpfrt-corpus: category=qos
// A tc classifier that maps DSCP and L4 ports to traffic classes: it writes
// skb->priority, skb->mark and skb->tc_classid, and rewrites the DSCP field
// of the IPv4 header with bpf_skb_store_bytes and bpf_l3_csum_replace.
#include "net_common.h"

struct class_rule {
    __u32 classid;
    __u32 mark;
    __u8 new_dscp;
    __u8 rewrite;
    __u16 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, struct class_rule);
} dscp_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 512);
    __type(key, __u16);
    __type(value, struct class_rule);
} port_rules SEC(".maps");

SEC("tc")
int tc_classify(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end || skb->protocol != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;

    __u32 dscp = iph->tos >> 2;
    struct class_rule *rule = NULL;
    if (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) {
        struct udphdr *uh = (void *)(iph + 1);
        if (iph->ihl == 5 && (void *)(uh + 1) <= data_end) {
            __u16 port = bpf_ntohs(uh->dest);
            rule = bpf_map_lookup_elem(&port_rules, &port);
        }
    }
    if (!rule)
        rule = bpf_map_lookup_elem(&dscp_rules, &dscp);
    if (!rule)
        return TC_ACT_OK;

    skb->priority = rule->classid;
    skb->tc_classid = rule->classid;
    skb->mark = rule->mark;
    if (rule->rewrite) {
        __u8 old_tos = iph->tos;
        __u8 new_tos = (__u8)(rule->new_dscp << 2) | (old_tos & 3);
        bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), bpf_htons(old_tos),
                            bpf_htons(new_tos), 2);
        bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, tos), &new_tos, 1, 0);
    }
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
