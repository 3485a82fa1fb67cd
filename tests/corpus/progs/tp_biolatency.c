// bpfrt-corpus: category=histogram
// biolatency (bcc/libbpf-tools) on the block tracepoints: issue time per
// (dev, sector), completion adds the latency to a per-disk log2 histogram;
// histograms are created on first use from a zeroed template in .bss.
#include "trace_common.h"

#define MAX_SLOTS 27

struct rq_key {
    __u32 dev;
    __u32 pad;
    __u64 sector;
};

struct hist {
    __u32 slots[MAX_SLOTS];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, struct rq_key);
    __type(value, __u64);
} issued SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, struct hist);
} disk_hists SEC(".maps");

const volatile __u8 targ_per_disk = 1;
const volatile __u8 targ_ms = 0;
struct hist initial_hist;

SEC("tracepoint/block/block_rq_issue")
int tp_block_issue(struct tp_block_rq *ctx)
{
    struct rq_key key = { .dev = ctx->dev, .sector = ctx->sector };
    __u64 ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&issued, &key, &ts, BPF_ANY);
    return 0;
}

SEC("tracepoint/block/block_rq_complete")
int tp_block_complete(struct tp_block_rq *ctx)
{
    struct rq_key key = { .dev = ctx->dev, .sector = ctx->sector };
    __u64 *tsp = bpf_map_lookup_elem(&issued, &key);
    if (!tsp)
        return 0;
    __s64 delta = (__s64)(bpf_ktime_get_ns() - *tsp);
    if (delta < 0)
        goto cleanup;
    __u32 disk = targ_per_disk ? key.dev : 0;
    struct hist *h = bpf_map_lookup_elem(&disk_hists, &disk);
    if (!h) {
        bpf_map_update_elem(&disk_hists, &disk, &initial_hist, BPF_NOEXIST);
        h = bpf_map_lookup_elem(&disk_hists, &disk);
        if (!h)
            goto cleanup;
    }
    __u64 units = (__u64)delta / (targ_ms ? 1000000 : 1000);
    __u32 slot = log2l(units);
    if (slot >= MAX_SLOTS)
        slot = MAX_SLOTS - 1;
    __sync_fetch_and_add(&h->slots[slot], 1);
cleanup:
    bpf_map_delete_elem(&issued, &key);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
