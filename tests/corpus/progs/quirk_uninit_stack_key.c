// bpfrt-corpus: category=quirk
// A map key partly read from uninitialised stack: only the addresses are
// written, the protocol and padding bytes never are. The kernel accepts it
// for privileged loads (CAP_PERFMON allows reading uninitialised stack);
// an unprivileged load is refused. Kept as a record of that behaviour.
#include "net_common.h"

struct flow_key_small {
    __be32 saddr;
    __be32 daddr;
    __u8 proto;
    __u8 pad[3];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct flow_key_small);
    __type(value, __u64);
} small_flows SEC(".maps");

SEC("socket")
int sock_uninit_key(struct __sk_buff *skb)
{
    struct flow_key_small key;
    if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, saddr), &key.saddr, 8))
        return 0;
    __u64 *v = bpf_map_lookup_elem(&small_flows, &key);
    if (v)
        __sync_fetch_and_add(v, 1);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
