// bpfrt-corpus: category=policy
// Cilium-style network policy on tc ingress: the source address maps to a
// security identity (ipcache, an LPM trie), and (identity, dport, proto) to a
// verdict in a hash map, with a wildcard-port fallback. Direct packet access
// through __sk_buff data/data_end; denied packets are counted per identity.
#include "net_common.h"

struct ipcache_key {
    __u32 prefixlen;
    __be32 addr;
};

struct ipcache_val {
    __u32 identity;
    __u32 flags;
};

struct policy_key {
    __u32 identity;
    __u16 dport;
    __u8 proto;
    __u8 egress;
};

struct policy_val {
    __u8 deny;
    __u8 audit;
    __u16 proxy_port;
    __u64 packets;
};

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 16384);
    __type(key, struct ipcache_key);
    __type(value, struct ipcache_val);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} ipcache SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, struct policy_key);
    __type(value, struct policy_val);
} policy SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} drops_by_identity SEC(".maps");

#define WORLD_ID 2

static __always_inline struct policy_val *policy_lookup(__u32 identity, __u16 dport, __u8 proto)
{
    struct policy_key k = { .identity = identity, .dport = dport, .proto = proto };
    struct policy_val *v = bpf_map_lookup_elem(&policy, &k);
    if (v)
        return v;
    k.dport = 0; /* L3-only rule */
    return bpf_map_lookup_elem(&policy, &k);
}

SEC("tc")
int tc_policy_ingress(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return TC_ACT_OK;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end)
        return TC_ACT_SHOT;

    struct ipcache_key ck = { .prefixlen = 32, .addr = iph->saddr };
    struct ipcache_val *cv = bpf_map_lookup_elem(&ipcache, &ck);
    __u32 identity = cv ? cv->identity : WORLD_ID;

    __u16 dport = 0;
    if (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) {
        struct udphdr *uh = (void *)iph + iph->ihl * 4;
        if ((void *)(uh + 1) > data_end)
            return TC_ACT_SHOT;
        dport = bpf_ntohs(uh->dest);
    }
    struct policy_val *pv = policy_lookup(identity, dport, iph->protocol);
    if (pv && !pv->deny) {
        __sync_fetch_and_add(&pv->packets, 1);
        if (pv->proxy_port) {
            skb->mark = 0x0200 | ((__u32)pv->proxy_port << 16);
            return TC_ACT_OK;
        }
        return TC_ACT_OK;
    }
    __u64 *drops = bpf_map_lookup_elem(&drops_by_identity, &identity);
    if (drops) {
        *drops += 1;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&drops_by_identity, &identity, &one, BPF_NOEXIST);
    }
    return pv && pv->audit ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
