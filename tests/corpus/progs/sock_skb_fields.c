// bpfrt-corpus: category=socket
// A socket filter that reads __sk_buff fields directly (len, protocol,
// pkt_type, ifindex, vlan) and the headers through bpf_skb_load_bytes, as
// bcc's tools and tcpdump-style capture filters do; keeps a flow count per
// ifindex and truncates captured packets to a snap length.
#include "net_common.h"

struct cap_key {
    __u32 ifindex;
    __u16 proto;
    __u8 pkt_type;
    __u8 vlan_present;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, struct cap_key);
    __type(value, __u64);
} capture_counts SEC(".maps");

const volatile __u32 snaplen = 128;
const volatile __u32 only_ifindex = 0;

SEC("socket")
int sock_capture(struct __sk_buff *skb)
{
    if (only_ifindex && skb->ifindex != only_ifindex)
        return 0;
    if (skb->pkt_type == PACKET_OUTGOING && skb->len < 64)
        return 0;

    struct cap_key key = {
        .ifindex = skb->ifindex,
        .proto = bpf_ntohs((__u16)skb->protocol),
        .pkt_type = (__u8)skb->pkt_type,
        .vlan_present = (__u8)skb->vlan_present,
    };
    __u64 *c = bpf_map_lookup_elem(&capture_counts, &key);
    if (c) {
        __sync_fetch_and_add(c, 1);
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&capture_counts, &key, &one, BPF_NOEXIST);
    }

    if (skb->protocol == bpf_htons(ETH_P_IP)) {
        struct iphdr iph;
        if (bpf_skb_load_bytes(skb, ETH_HLEN, &iph, sizeof(iph)))
            return 0;
        // Drop our own management traffic (TTL 255 from the link-local range).
        if (iph.ttl == 255 && (bpf_ntohl(iph.saddr) >> 16) == 0xa9fe)
            return 0;
    }
    return skb->len < snaplen ? skb->len : snaplen;
}

char LICENSE[] SEC("license") = "GPL";
