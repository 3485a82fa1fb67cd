// bpfrt-corpus: category=ddos
// SYN-flood mitigation: a per-source token bucket in an LRU per-CPU hash,
// refilled from bpf_ktime_get_ns(); sources over the limit are dropped and
// counted. Global counters live in .bss, the limits in .rodata.
#include "net_common.h"

struct bucket {
    __u64 tokens;
    __u64 last_refill_ns;
    __u64 dropped;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
    __uint(max_entries, 100000);
    __type(key, __be32);
    __type(value, struct bucket);
} syn_buckets SEC(".maps");

const volatile __u64 syn_rate_per_sec = 100;
const volatile __u64 syn_burst = 200;

__u64 syn_seen;
__u64 syn_dropped;

SEC("xdp")
int xdp_syn_guard(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);

    if ((void *)(iph + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || iph->protocol != IPPROTO_TCP)
        return XDP_PASS;
    struct tcphdr *th = (void *)iph + iph->ihl * 4;
    if ((void *)(th + 1) > data_end)
        return XDP_PASS;
    if (!th->syn || th->ack)
        return XDP_PASS;

    __sync_fetch_and_add(&syn_seen, 1);
    __be32 src = iph->saddr;
    __u64 now = bpf_ktime_get_ns();
    struct bucket *b = bpf_map_lookup_elem(&syn_buckets, &src);
    if (!b) {
        struct bucket fresh = { .tokens = syn_burst - 1, .last_refill_ns = now };
        bpf_map_update_elem(&syn_buckets, &src, &fresh, BPF_ANY);
        return XDP_PASS;
    }
    __u64 elapsed = now - b->last_refill_ns;
    __u64 refill = elapsed * syn_rate_per_sec / 1000000000ULL;
    if (refill) {
        b->tokens = b->tokens + refill > syn_burst ? syn_burst : b->tokens + refill;
        b->last_refill_ns = now;
    }
    if (b->tokens == 0) {
        b->dropped++;
        __sync_fetch_and_add(&syn_dropped, 1);
        return XDP_DROP;
    }
    b->tokens--;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
