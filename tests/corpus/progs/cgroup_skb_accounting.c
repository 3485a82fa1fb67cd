// bpfrt-corpus: category=cgroup
// Per-cgroup traffic accounting and an egress firewall for cgroup_skb, in
// the manner of systemd's IPAddressDeny= and IPAccounting= programs: bytes
// and packets per direction, and an LPM-trie deny list for destinations.
#include "net_common.h"

struct acct {
    __u64 packets;
    __u64 bytes;
};

struct lpm_key {
    __u32 prefixlen;
    __be32 addr;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct acct);
} cgroup_acct SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 256);
    __type(key, struct lpm_key);
    __type(value, __u8);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} deny_dst SEC(".maps");

static __always_inline void account(__u32 dir, __u32 len)
{
    struct acct *a = bpf_map_lookup_elem(&cgroup_acct, &dir);
    if (a) {
        a->packets++;
        a->bytes += len;
    }
}

SEC("cgroup_skb/ingress")
int cgroup_ingress(struct __sk_buff *skb)
{
    account(0, skb->len);
    return 1;
}

SEC("cgroup_skb/egress")
int cgroup_egress(struct __sk_buff *skb)
{
    account(1, skb->len);
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 1;
    // cgroup skb data starts at the network header.
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct iphdr *iph = data;
    if ((void *)(iph + 1) > data_end)
        return 1;
    struct lpm_key k = { .prefixlen = 32, .addr = iph->daddr };
    return bpf_map_lookup_elem(&deny_dst, &k) ? 0 : 1;
}

char LICENSE[] SEC("license") = "GPL";
