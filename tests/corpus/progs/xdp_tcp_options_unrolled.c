// bpfrt-corpus: category=parser
// A fully unrolled TCP option parser (MSS, window scale, SACK-permitted,
// timestamps) over IPv4 and IPv6, as SYN-proxy and SYN-cookie programs do
// (the kernel's xdp_synproxy selftest and Cilium's). Each of the 40 option
// bytes gets its own bounds check, so the program is several thousand
// instructions long.
#include "net_common.h"

#define MAX_OPT_BYTES 40

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WINDOW 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_TIMESTAMP 8

struct syn_opts {
    __u16 mss;
    __u8 wscale;
    __u8 sack_ok;
    __u32 tsval;
    __u32 tsecr;
    __u32 seen;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct syn_opts);
} last_syn SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, __u64);
} mss_hist SEC(".maps");

// Parses one option at *off; returns the offset of the next one, or 0 to stop.
static __always_inline __u32 parse_one(void *opts, void *data_end, __u32 off, __u32 end, struct syn_opts *out)
{
    __u8 *kind = opts + off;
    if (off >= end || (void *)(kind + 1) > data_end)
        return 0;
    if (*kind == TCPOPT_EOL)
        return 0;
    if (*kind == TCPOPT_NOP)
        return off + 1;
    __u8 *len = kind + 1;
    if ((void *)(len + 1) > data_end || *len < 2)
        return 0;
    switch (*kind) {
    case TCPOPT_MSS:
        if (*len == 4 && (void *)(kind + 4) <= data_end)
            out->mss = (__u16)kind[2] << 8 | kind[3];
        break;
    case TCPOPT_WINDOW:
        if (*len == 3 && (void *)(kind + 3) <= data_end)
            out->wscale = kind[2] > 14 ? 14 : kind[2];
        break;
    case TCPOPT_SACK_PERM:
        out->sack_ok = 1;
        break;
    case TCPOPT_TIMESTAMP:
        if (*len == 10 && (void *)(kind + 10) <= data_end) {
            out->tsval = (__u32)kind[2] << 24 | (__u32)kind[3] << 16 | (__u32)kind[4] << 8 | kind[5];
            out->tsecr = (__u32)kind[6] << 24 | (__u32)kind[7] << 16 | (__u32)kind[8] << 8 | kind[9];
        }
        break;
    }
    out->seen++;
    return off + *len;
}

static __always_inline int parse_tcp(struct tcphdr *th, void *data_end, struct syn_opts *out)
{
    if ((void *)(th + 1) > data_end)
        return -1;
    if (!th->syn)
        return 0;
    __u32 end = (__u32)th->doff * 4;
    if (end < sizeof(*th))
        return -1;
    end -= sizeof(*th);
    void *opts = th + 1;
    __u32 off = 0;
#pragma unroll
    for (int i = 0; i < MAX_OPT_BYTES; i++) {
        off = parse_one(opts, data_end, off, end, out);
        if (!off)
            break;
    }
    return 1;
}

SEC("xdp")
int xdp_syn_options(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    __u32 zero = 0;
    struct tcphdr *th;

    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *iph = (void *)(eth + 1);
        if ((void *)(iph + 1) > data_end || iph->protocol != IPPROTO_TCP || iph->ihl != 5)
            return XDP_PASS;
        th = (void *)(iph + 1);
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP)
            return XDP_PASS;
        th = (void *)(ip6 + 1);
    } else {
        return XDP_PASS;
    }

    struct syn_opts *o = bpf_map_lookup_elem(&last_syn, &zero);
    if (!o)
        return XDP_ABORTED;
    __builtin_memset(o, 0, sizeof(*o));
    int r = parse_tcp(th, data_end, o);
    if (r < 0)
        return XDP_DROP;
    if (r == 0)
        return XDP_PASS;

    __u32 bucket = o->mss >> 10;
    if (bucket > 15)
        bucket = 15;
    __u64 *c = bpf_map_lookup_elem(&mss_hist, &bucket);
    if (c)
        *c += 1;
    // A SYN without MSS or with a tiny MSS is what floods usually send.
    return o->mss && o->mss >= 536 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
