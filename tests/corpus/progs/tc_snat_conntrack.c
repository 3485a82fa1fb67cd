// bpfrt-corpus: category=nat
// Source NAT on tc egress with connection tracking in an LRU hash, in the
// manner of Cilium's SNAT: the first packet of a flow allocates a port from a
// per-CPU cursor, later packets reuse the mapping, and the reverse mapping is
// installed for the ingress program. Checksums are fixed with
// bpf_l3_csum_replace / bpf_l4_csum_replace (BPF_F_PSEUDO_HDR).
#include "net_common.h"

#define NAT_PORT_MIN 32768
#define NAT_PORT_RANGE 28232

struct nat_key {
    __be32 addr;
    __be16 port;
    __u8 proto;
    __u8 pad;
};

struct nat_entry {
    __be32 to_addr;
    __be16 to_port;
    __u16 pad;
    __u64 last_seen;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 131072);
    __type(key, struct nat_key);
    __type(value, struct nat_entry);
} snat_egress SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 131072);
    __type(key, struct nat_key);
    __type(value, struct nat_entry);
} snat_ingress SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} port_cursor SEC(".maps");

const volatile __be32 nat_external_ip = 0x0100000a; /* 10.0.0.1, set by the loader */

#define IP_CSUM_OFF (ETH_HLEN + offsetof(struct iphdr, check))
#define IP_SRC_OFF (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_DST_OFF (ETH_HLEN + offsetof(struct iphdr, daddr))

static __always_inline int l4_offsets(__u8 proto, __u32 *csum_off, __u32 *port_off, int egress)
{
    __u32 l4 = ETH_HLEN + sizeof(struct iphdr);
    if (proto == IPPROTO_TCP) {
        *csum_off = l4 + offsetof(struct tcphdr, check);
        *port_off = l4 + (egress ? offsetof(struct tcphdr, source) : offsetof(struct tcphdr, dest));
        return 0;
    }
    if (proto == IPPROTO_UDP) {
        *csum_off = l4 + offsetof(struct udphdr, check);
        *port_off = l4 + (egress ? offsetof(struct udphdr, source) : offsetof(struct udphdr, dest));
        return 0;
    }
    return -1;
}

// BPF calls take at most five arguments: the rewrite is described on the
// caller's stack and passed by pointer.
struct rewrite_req {
    __be32 old_addr, new_addr;
    __be16 old_port, new_port;
    __u32 addr_off;
    __u8 proto;
    __u8 egress;
};

static __noinline int rewrite(struct __sk_buff *skb, const struct rewrite_req *req)
{
    __u32 csum_off, port_off;
    __u8 proto = req->proto;
    __be32 old_addr = req->old_addr, new_addr = req->new_addr;
    __be16 old_port = req->old_port, new_port = req->new_port;
    if (l4_offsets(proto, &csum_off, &port_off, req->egress))
        return -1;
    __u64 flags = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
    if (bpf_l4_csum_replace(skb, csum_off, old_addr, new_addr, flags | BPF_F_PSEUDO_HDR | sizeof(new_addr)))
        return -1;
    if (bpf_l4_csum_replace(skb, csum_off, old_port, new_port, flags | sizeof(new_port)))
        return -1;
    if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr)))
        return -1;
    if (bpf_skb_store_bytes(skb, req->addr_off, &new_addr, sizeof(new_addr), 0))
        return -1;
    if (bpf_skb_store_bytes(skb, port_off, &new_port, sizeof(new_port), 0))
        return -1;
    return 0;
}

static __always_inline int parse(struct __sk_buff *skb, struct nat_key *src, struct nat_key *dst)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    struct udphdr *ports = (void *)(iph + 1); /* source/dest sit first in TCP and UDP alike */

    if ((void *)(ports + 1) > data_end)
        return -1;
    if (eth->h_proto != bpf_htons(ETH_P_IP) || iph->ihl != 5)
        return -1;
    if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
        return -1;
    src->addr = iph->saddr;
    src->port = ports->source;
    src->proto = iph->protocol;
    dst->addr = iph->daddr;
    dst->port = ports->dest;
    dst->proto = iph->protocol;
    return 0;
}

SEC("tc")
int tc_snat_egress(struct __sk_buff *skb)
{
    struct nat_key src = {}, dst = {};
    if (parse(skb, &src, &dst))
        return TC_ACT_OK;
    if (src.addr == nat_external_ip)
        return TC_ACT_OK;

    __u64 now = bpf_ktime_get_ns();
    struct nat_entry *e = bpf_map_lookup_elem(&snat_egress, &src);
    if (!e) {
        __u32 zero = 0;
        __u32 *cursor = bpf_map_lookup_elem(&port_cursor, &zero);
        if (!cursor)
            return TC_ACT_SHOT;
        struct nat_entry fwd = { .to_addr = nat_external_ip, .last_seen = now };
        struct nat_key rev = { .addr = nat_external_ip, .proto = src.proto };
        int tries;
        for (tries = 0; tries < 8; tries++) {
            *cursor = *cursor + 1;
            rev.port = bpf_htons(NAT_PORT_MIN + (*cursor + bpf_get_smp_processor_id() * 4096) % NAT_PORT_RANGE);
            if (!bpf_map_lookup_elem(&snat_ingress, &rev))
                break;
        }
        if (tries == 8)
            return TC_ACT_SHOT;
        fwd.to_port = rev.port;
        struct nat_entry back = { .to_addr = src.addr, .to_port = src.port, .last_seen = now };
        if (bpf_map_update_elem(&snat_ingress, &rev, &back, BPF_NOEXIST))
            return TC_ACT_SHOT;
        bpf_map_update_elem(&snat_egress, &src, &fwd, BPF_ANY);
        e = bpf_map_lookup_elem(&snat_egress, &src);
        if (!e)
            return TC_ACT_SHOT;
    }
    e->last_seen = now;
    struct rewrite_req req = { .old_addr = src.addr, .new_addr = e->to_addr, .old_port = src.port,
                               .new_port = e->to_port, .addr_off = IP_SRC_OFF, .proto = src.proto, .egress = 1 };
    if (rewrite(skb, &req))
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

SEC("tc")
int tc_snat_ingress(struct __sk_buff *skb)
{
    struct nat_key src = {}, dst = {};
    if (parse(skb, &src, &dst))
        return TC_ACT_OK;
    struct nat_entry *e = bpf_map_lookup_elem(&snat_ingress, &dst);
    if (!e)
        return TC_ACT_OK;
    e->last_seen = bpf_ktime_get_ns();
    struct rewrite_req req = { .old_addr = dst.addr, .new_addr = e->to_addr, .old_port = dst.port,
                               .new_port = e->to_port, .addr_off = IP_DST_OFF, .proto = dst.proto, .egress = 0 };
    if (rewrite(skb, &req))
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
