// bpfrt-corpus: category=parser
// TCP MSS clamping on tc egress, IPv4 and IPv6 (as Calico and Cilium do for tunnelled
// traffic): walks the options of SYN segments with a fully unrolled loop,
// and when the MSS option exceeds the configured maximum rewrites it in
// place with direct packet access and an incremental checksum update.
// Every option byte has its own bounds check: thousands of instructions.
#include "net_common.h"

#define MAX_OPT_BYTES 40
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2

const volatile __u16 max_mss = 1400;

__u64 clamped;

static __always_inline int clamp_options(struct tcphdr *th, void *data_end)
{
    if ((void *)(th + 1) > data_end || !th->syn)
        return TC_ACT_OK;
    __u32 opt_end = th->doff * 4;
    if (opt_end <= sizeof(*th))
        return TC_ACT_OK;
    opt_end -= sizeof(*th);

    __u8 *opts = (__u8 *)(th + 1);
    __u32 off = 0;
#pragma unroll
    for (int i = 0; i < MAX_OPT_BYTES; i++) {
        if (off >= opt_end || off >= MAX_OPT_BYTES)
            break;
        __u8 *kind = opts + off;
        if ((void *)(kind + 1) > data_end)
            break;
        if (*kind == TCPOPT_EOL)
            break;
        if (*kind == TCPOPT_NOP) {
            off++;
            continue;
        }
        if ((void *)(kind + 2) > data_end || kind[1] < 2)
            break;
        if (*kind == TCPOPT_MSS && kind[1] == 4) {
            __be16 *mssp = (__be16 *)(kind + 2);
            if ((void *)(mssp + 1) > data_end)
                break;
            __u16 mss = bpf_ntohs(*mssp);
            if (mss > max_mss) {
                __be16 new_mss = bpf_htons(max_mss);
                csum_replace2(&th->check, *mssp, new_mss);
                *mssp = new_mss;
                __sync_fetch_and_add(&clamped, 1);
            }
            break;
        }
        off += kind[1];
    }
    return TC_ACT_OK;
}

SEC("tc")
int tc_mss_clamp(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return TC_ACT_OK;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *iph = (void *)(eth + 1);
        if ((void *)(iph + 1) > data_end || iph->protocol != IPPROTO_TCP || iph->ihl != 5)
            return TC_ACT_OK;
        return clamp_options((void *)(iph + 1), data_end);
    }
    if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
            return TC_ACT_OK;
        return clamp_options((void *)(ip6 + 1), data_end);
    }
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
