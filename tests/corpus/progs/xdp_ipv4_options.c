// bpfrt-corpus: category=parser
// IPv4 options inspection for a router-alert/source-route firewall: a
// bounded walk over the option bytes that recognises EOL, NOP,
// Record Route, Timestamp, Loose/Strict Source Route and Router Alert,
// counting each kind and dropping source-routed packets. (clang declines a
// full unroll of this loop; the verifier walks it with the offset varying.)
#include "net_common.h"

// IPOPT_* come from linux/ip.h.
// At most this many options are looked at.
// (With 40 iterations the kernel gives up: "BPF program is too large".)
#define MAX_OPTIONS 10


struct opt_counts {
    __u64 rr, ts, lsrr, ssrr, ra, unknown, malformed;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct opt_counts);
} ipopt_counts SEC(".maps");

const volatile __u8 allow_source_route = 0;

SEC("xdp")
int xdp_ipv4_options(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    __u32 zero = 0;
    if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    if (iph->ihl <= 5)
        return XDP_PASS;
    struct opt_counts *c = bpf_map_lookup_elem(&ipopt_counts, &zero);
    if (!c)
        return XDP_ABORTED;

    __u32 opt_len = (iph->ihl - 5) * 4;
    __u8 *opts = (__u8 *)(iph + 1);
    __u32 off = 0;
    int source_routed = 0;
    for (int i = 0; i < MAX_OPTIONS; i++) {
        if (off >= opt_len)
            break;
        __u8 *p = opts + (off & 63);
        if ((void *)(p + 1) > data_end)
            break;
        __u8 type = *p;
        if (type == IPOPT_END)
            break;
        if (type == IPOPT_NOOP) {
            off++;
            continue;
        }
        if ((void *)(p + 2) > data_end) {
            c->malformed++;
            return XDP_DROP;
        }
        __u8 len = p[1];
        if (len < 2 || off + len > opt_len) {
            c->malformed++;
            return XDP_DROP;
        }
        switch (type) {
        case IPOPT_RR: c->rr++; break;
        case IPOPT_TS: c->ts++; break;
        case IPOPT_LSRR: c->lsrr++; source_routed = 1; break;
        case IPOPT_SSRR: c->ssrr++; source_routed = 1; break;
        case IPOPT_RA: c->ra++; break;
        default: c->unknown++; break;
        }
        off += len;
    }
    if (source_routed && !allow_source_route)
        return XDP_DROP;
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
