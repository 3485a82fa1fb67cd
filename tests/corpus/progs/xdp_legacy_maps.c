// bpfrt-corpus: category=legacy
// The kernel sample xdp1/xdp2 shape with a legacy map definition: count
// packets per IP protocol in a per-CPU array and, like xdp2, bounce UDP back
// with the MAC addresses swapped.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct bpf_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct bpf_map_def SEC("maps") rxcnt = {
    .type = BPF_MAP_TYPE_PERCPU_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(long),
    .max_entries = 256,
};

static __always_inline int parse_ipv4(void *data, __u64 nh_off, void *data_end)
{
    struct iphdr *iph = data + nh_off;
    if ((void *)(iph + 1) > data_end)
        return 0;
    return iph->protocol;
}

static __always_inline int parse_ipv6(void *data, __u64 nh_off, void *data_end)
{
    struct ipv6hdr *ip6h = data + nh_off;
    if ((void *)(ip6h + 1) > data_end)
        return 0;
    return ip6h->nexthdr;
}

static __always_inline void swap_src_dst_mac(void *data)
{
    unsigned short *p = data;
    unsigned short dst[3];
    dst[0] = p[0];
    dst[1] = p[1];
    dst[2] = p[2];
    p[0] = p[3];
    p[1] = p[4];
    p[2] = p[5];
    p[3] = dst[0];
    p[4] = dst[1];
    p[5] = dst[2];
}

SEC("xdp")
int xdp_legacy_prog(struct xdp_md *ctx)
{
    void *data_end = (void *)(long)ctx->data_end;
    void *data = (void *)(long)ctx->data;
    struct ethhdr *eth = data;
    __u64 nh_off = sizeof(*eth);
    __u16 h_proto;
    __u32 ipproto;

    if (data + nh_off > data_end)
        return XDP_DROP;
    h_proto = eth->h_proto;
    if (h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD)) {
        struct { __be16 tci, proto; } *vhdr = data + nh_off;
        nh_off += sizeof(*vhdr);
        if (data + nh_off > data_end)
            return XDP_DROP;
        h_proto = vhdr->proto;
    }
    if (h_proto == bpf_htons(ETH_P_IP))
        ipproto = parse_ipv4(data, nh_off, data_end);
    else if (h_proto == bpf_htons(ETH_P_IPV6))
        ipproto = parse_ipv6(data, nh_off, data_end);
    else
        ipproto = 0;

    long *value = bpf_map_lookup_elem(&rxcnt, &ipproto);
    if (value)
        *value += 1;
    if (ipproto == IPPROTO_UDP) {
        swap_src_dst_mac(data);
        return XDP_TX;
    }
    return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
