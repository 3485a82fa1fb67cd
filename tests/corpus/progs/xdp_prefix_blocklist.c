// bpfrt-corpus: category=ddos
// A prefix blocklist in LPM tries for IPv4 and IPv6 sources (the design of
// Cloudflare's and Cilium's prefilters), with a per-prefix hit counter kept
// in the trie's value and a dry-run switch in .rodata.
#include "net_common.h"

struct lpm_v4_key {
    __u32 prefixlen;
    __be32 addr;
};

struct lpm_v6_key {
    __u32 prefixlen;
    __be32 addr[4];
};

struct block_rule {
    __u64 hits;
    __u32 rule_id;
    __u32 flags;
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 65536);
    __type(key, struct lpm_v4_key);
    __type(value, struct block_rule);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} blocklist_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 16384);
    __type(key, struct lpm_v6_key);
    __type(value, struct block_rule);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} blocklist_v6 SEC(".maps");

const volatile __u8 dry_run = 0;

static __always_inline int verdict(struct block_rule *rule)
{
    if (!rule)
        return XDP_PASS;
    __sync_fetch_and_add(&rule->hits, 1);
    return dry_run ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int xdp_prefilter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;

    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *iph = (void *)(eth + 1);
        if ((void *)(iph + 1) > data_end)
            return XDP_DROP;
        struct lpm_v4_key k = { .prefixlen = 32, .addr = iph->saddr };
        return verdict(bpf_map_lookup_elem(&blocklist_v4, &k));
    }
    if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end)
            return XDP_DROP;
        struct lpm_v6_key k = { .prefixlen = 128 };
        __builtin_memcpy(k.addr, &ip6->saddr, sizeof(k.addr));
        return verdict(bpf_map_lookup_elem(&blocklist_v6, &k));
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
