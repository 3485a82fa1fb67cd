// A tracing program for the host example examples/host/latency_histogram.cpp:
// on every "op_done" event it counts the operation's duration in a log2
// histogram (slot n counts durations in [2^n, 2^(n+1)) nanoseconds).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// The event's context, as the host declares it.
struct op_done {
    __u64 common;       // tracepoint header: not readable by programs
    __u64 duration_ns;
    __u32 op;
    __u32 reserved;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 64);
} latency_log2 SEC(".maps");

static __always_inline __u32 log2_u64(__u64 v)
{
    __u32 r = 0;

    if (v >> 32) { v >>= 32; r += 32; }
    if (v >> 16) { v >>= 16; r += 16; }
    if (v >> 8) { v >>= 8; r += 8; }
    if (v >> 4) { v >>= 4; r += 4; }
    if (v >> 2) { v >>= 2; r += 2; }
    if (v >> 1) { r += 1; }
    return r;
}

SEC("tp/bpfrt/op_done")
int record_latency(struct op_done *ctx)
{
    __u32 slot = log2_u64(ctx->duration_ns);
    __u64 *count = bpf_map_lookup_elem(&latency_log2, &slot);

    if (count)
        __sync_fetch_and_add(count, 1);
    return 0;
}

char _license[] SEC("license") = "GPL";
