// An XDP forwarder for the CLI's redirect summary: UDP goes out of
// interface 5 (bpf_redirect), TCP back out of the ingress interface
// (XDP_TX), anything else up the stack.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define UDP_PORT_IFINDEX 5

SEC("xdp")
int forward(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    if (iph->protocol == IPPROTO_UDP)
        return bpf_redirect(UDP_PORT_IFINDEX, 0);
    if (iph->protocol == IPPROTO_TCP)
        return XDP_TX;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
