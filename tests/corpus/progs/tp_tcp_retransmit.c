// bpfrt-corpus: category=tracing
// tcpretrans-style: the tcp/tcp_retransmit_skb tracepoint counts
// retransmissions per (source, destination, port) for IPv4 and IPv6 and
// sends the first one of each flow to user space through a ring buffer with
// bpf_ringbuf_output.
#include "trace_common.h"

#define AF_INET 2
#define AF_INET6 10

struct retrans_key {
    __u8 saddr[16];
    __u8 daddr[16];
    __u16 sport;
    __u16 dport;
    __u16 family;
    __u16 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct retrans_key);
    __type(value, __u64);
} retrans_counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} first_retrans SEC(".maps");

SEC("tracepoint/tcp/tcp_retransmit_skb")
int tp_retransmit(struct tp_tcp_retransmit *ctx)
{
    struct retrans_key key = {};
    key.family = ctx->family;
    key.sport = ctx->sport;
    key.dport = ctx->dport;
    if (key.family == AF_INET) {
        __builtin_memcpy(key.saddr, ctx->saddr, 4);
        __builtin_memcpy(key.daddr, ctx->daddr, 4);
    } else if (key.family == AF_INET6) {
        __builtin_memcpy(key.saddr, ctx->saddr_v6, 16);
        __builtin_memcpy(key.daddr, ctx->daddr_v6, 16);
    } else {
        return 0;
    }
    __u64 *count = bpf_map_lookup_elem(&retrans_counts, &key);
    if (count) {
        __sync_fetch_and_add(count, 1);
        return 0;
    }
    __u64 one = 1;
    bpf_map_update_elem(&retrans_counts, &key, &one, BPF_NOEXIST);
    bpf_ringbuf_output(&first_retrans, &key, sizeof(key), 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
