// bpfrt-corpus: category=socket
// A DNS query watcher for UDP port 53 (in the spirit of bcc's dns_matching):
// copies the query name byte by byte with bpf_skb_load_bytes in a bounded
// loop (a nested label/byte loop is too complex for the kernel), lower-cases it and looks it up in a hash of blocked names.
#include "net_common.h"

#define MAX_NAME 64

struct dns_name {
    char name[MAX_NAME];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct dns_name);
    __type(value, __u64);
} blocked_names SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct dns_name);
} name_scratch SEC(".maps");

SEC("socket")
int sock_dns(struct __sk_buff *skb)
{
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 0;
    __u8 proto;
    if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, protocol), &proto, 1) || proto != IPPROTO_UDP)
        return 0;
    __u8 vihl;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, &vihl, 1))
        return 0;
    __u32 udp_off = ETH_HLEN + (vihl & 0xf) * 4;
    struct udphdr uh;
    if (bpf_skb_load_bytes(skb, udp_off, &uh, sizeof(uh)) || uh.dest != bpf_htons(53))
        return 0;

    __u32 zero = 0;
    struct dns_name *n = bpf_map_lookup_elem(&name_scratch, &zero);
    if (!n)
        return 0;
    __builtin_memset(n, 0, sizeof(*n));

    // The wire format is length-prefixed labels; one pass over the bytes
    // turns "\3www\7example\3com\0" into "www.example.com".
    __u32 off = udp_off + sizeof(uh) + 12; /* after the DNS header */
    __u32 remaining = 0;
    for (__u32 i = 0; i < MAX_NAME - 1; i++) {
        __u8 c;
        if (bpf_skb_load_bytes(skb, off + i, &c, 1))
            return 0;
        if (remaining == 0) {
            if (c == 0)
                break;
            if (c > 63)
                return 0; /* compression pointer: not in a query */
            remaining = c;
            if (i)
                n->name[i - 1] = '.';
            continue;
        }
        n->name[i - 1 < MAX_NAME ? i - 1 : 0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        remaining--;
    }
    __u64 *hits = bpf_map_lookup_elem(&blocked_names, n);
    if (!hits)
        return 0;
    __sync_fetch_and_add(hits, 1);
    return -1; /* hand the packet to the user-space resolver guard */
}

char LICENSE[] SEC("license") = "GPL";
