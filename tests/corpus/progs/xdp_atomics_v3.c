// bpfrt-corpus: category=alu32
// bpfrt-corpus: mcpu=v3
// The atomic instructions of -mcpu=v3: fetch-and-add, or, and, xor,
// exchange and compare-exchange on map values and .bss, as rate limiters
// and lock-free flags use them (each result is used, so clang emits the
// fetching forms).
#include "net_common.h"

struct flow_state {
    __u64 packets;
    __u64 flags;
    __u64 owner;
    __u32 generation;
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct flow_state);
} flow_states SEC(".maps");

__u64 global_seq;
__u32 busy;

SEC("xdp")
int xdp_atomics(struct xdp_md *ctx)
{
    __u32 key = ctx->rx_queue_index;
    struct flow_state *st = bpf_map_lookup_elem(&flow_states, &key);
    if (!st)
        return XDP_PASS;
    __u64 before = __sync_fetch_and_add(&st->packets, 1);
    __u64 old_flags = __sync_fetch_and_or(&st->flags, 1ULL << (before & 63));
    __sync_fetch_and_and(&st->flags, ~2ULL);
    __u64 x = __sync_fetch_and_xor(&st->flags, 4);
    __u64 prev_owner = __sync_lock_test_and_set(&st->owner, bpf_get_smp_processor_id());
    __u32 gen = st->generation;
    __u32 seen = __sync_val_compare_and_swap(&st->generation, gen, gen + 1);
    __u64 seq = __sync_fetch_and_add(&global_seq, 1);
    if (__sync_val_compare_and_swap(&busy, 0, 1) == 0)
        __sync_lock_test_and_set(&busy, 0);
    return (old_flags ^ x ^ prev_owner ^ seen ^ seq) & 1 ? XDP_PASS : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
