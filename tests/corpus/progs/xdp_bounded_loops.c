// bpfrt-corpus: category=loops
// The loop forms clang -O2 emits for bounded loops, each in its own program:
// a constant-bound loop kept as a loop (unrolling disabled), a loop whose
// bound comes from a map and is clamped, a while loop over a header chain
// and bpf_loop() with a callback. (With the while loop's counter declared
// volatile the kernel gives up: "The sequence of 8193 jumps is too complex".)
#include "net_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u64);
} loop_vals SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} loop_config SEC(".maps");

// A rolling checksum over the first 64 bytes: one back edge per byte.
SEC("xdp")
int xdp_loop_const(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 sum = 0;
#pragma clang loop unroll(disable)
    for (int i = 0; i < 64; i++) {
        __u8 *p = data + i;
        if ((void *)(p + 1) > data_end)
            break;
        sum = (sum << 1 | sum >> 31) ^ *p;
    }
    __u32 key = sum & 63;
    __u64 *v = bpf_map_lookup_elem(&loop_vals, &key);
    if (v)
        *v += 1;
    return XDP_PASS;
}

// The number of iterations is configured from user space and clamped.
SEC("xdp")
int xdp_loop_map_bound(struct xdp_md *ctx)
{
    __u32 zero = 0;
    __u32 *cfg = bpf_map_lookup_elem(&loop_config, &zero);
    if (!cfg)
        return XDP_PASS;
    __u32 n = *cfg;
    if (n > 64)
        n = 64;
    __u64 total = 0;
    for (__u32 i = 0; i < n; i++) {
        __u64 *v = bpf_map_lookup_elem(&loop_vals, &i);
        if (v)
            total += *v;
    }
    return total > (__u64)ctx->rx_queue_index * 1000 ? XDP_DROP : XDP_PASS;
}

// Walks a chain of 4-byte TLVs until the end marker; at most 16 steps.
SEC("xdp")
int xdp_loop_while(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    int steps = 0;
    __u8 *tlv = data + sizeof(struct ethhdr);
    __u32 found = 0;
    while (steps < 16) {
        if ((void *)(tlv + 4) > data_end)
            break;
        if (tlv[0] == 0xff)
            break;
        found += tlv[1];
        tlv += 4;
        steps++;
    }
    return found > 100 ? XDP_DROP : XDP_PASS;
}

struct loop_ctx {
    __u64 sum;
    __u32 limit;
};

static long sum_cb(__u32 index, void *arg)
{
    struct loop_ctx *lc = arg;
    __u32 key = index & 63;
    __u64 *v = bpf_map_lookup_elem(&loop_vals, &key);
    if (v)
        lc->sum += *v;
    return lc->sum > lc->limit; /* 1 stops the loop */
}

SEC("xdp")
int xdp_bpf_loop(struct xdp_md *ctx)
{
    struct loop_ctx lc = { .sum = 0, .limit = 1u << 20 };
    bpf_loop(1000, sum_cb, &lc, 0);
    return lc.sum > ctx->ingress_ifindex ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
