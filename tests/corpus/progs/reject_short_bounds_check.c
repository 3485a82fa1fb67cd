// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="data_end"
// A bounds check that is too short: it covers the UDP source port only,
// then the destination port (2 bytes further) is read.
#include "net_common.h"

#define UDP_OFF (sizeof(struct ethhdr) + sizeof(struct iphdr))

SEC("xdp")
int xdp_short_check(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = data + sizeof(*eth);
    struct udphdr *uh = data + UDP_OFF;

    if (data + UDP_OFF + sizeof(__be16) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || iph->protocol != IPPROTO_UDP)
        return XDP_PASS;
    if (uh->source == bpf_htons(53))
        return XDP_PASS;
    return uh->dest == bpf_htons(53) ? XDP_DROP : XDP_PASS; // bpfrt-corpus: fault
}

char LICENSE[] SEC("license") = "GPL";
