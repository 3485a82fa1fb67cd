// bpfrt-corpus: category=globals
// Global data in all three sections, as libbpf skeletons use it: .rodata
// configuration (volatile const, set before load), .data tables with
// initial values, and .bss counters and a ring of recent sources written by
// the program and read by user space through the mmap-ed maps.
#include "net_common.h"

#define RECENT 32

const volatile __u32 cfg_sample_every = 1;
const volatile __u8 cfg_drop_fragments = 1;
const volatile __u16 cfg_ports[4] = { 22, 53, 80, 443 };

__u64 port_hits[4] = { 0, 0, 0, 0 };
__u32 drop_action = XDP_DROP;

__u64 packets;
__u64 sampled;
__u32 recent_head;
__be32 recent_src[RECENT];

SEC("xdp")
int xdp_globals(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);

    __u64 n = __sync_fetch_and_add(&packets, 1);
    if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    if (cfg_drop_fragments && (iph->frag_off & bpf_htons(0x1fff)))
        return drop_action;

    if (cfg_sample_every && n % cfg_sample_every == 0) {
        __u32 slot = recent_head++ % RECENT;
        recent_src[slot] = iph->saddr;
        sampled++;
    }
    if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
        return XDP_PASS;
    struct udphdr *uh = (void *)iph + iph->ihl * 4;
    if ((void *)(uh + 1) > data_end)
        return XDP_PASS;
    __u16 dport = bpf_ntohs(uh->dest);
    for (int i = 0; i < 4; i++) {
        if (cfg_ports[i] == dport) {
            __sync_fetch_and_add(&port_hits[i], 1);
            break;
        }
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
