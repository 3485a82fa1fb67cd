// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="data_end"
// Direct packet access without comparing against data_end first: the
// Ethernet header is checked, the IPv4 header after it is not.
#include "net_common.h"

SEC("tc")
int tc_proto_unchecked(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return TC_ACT_OK;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;
    struct iphdr *iph = (void *)(eth + 1);
    if (iph->protocol == IPPROTO_ICMP) // bpfrt-corpus: fault
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
