// bpfrt-corpus: category=stats
// Per-class statistics updated under bpf_spin_lock (the map value carries a
// struct bpf_spin_lock, which needs BTF): min/max/sum of packet sizes that
// must stay consistent with each other, as in the kernel's test_spin_lock.
#include "net_common.h"

struct size_stats {
    struct bpf_spin_lock lock;
    __u32 min;
    __u32 max;
    __u64 sum;
    __u64 count;
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, struct size_stats);
} class_sizes SEC(".maps");

SEC("tc")
int tc_locked_stats(struct __sk_buff *skb)
{
    __u32 cls = skb->priority & 15;
    struct size_stats *s = bpf_map_lookup_elem(&class_sizes, &cls);
    if (!s)
        return TC_ACT_OK;
    __u32 len = skb->len;
    bpf_spin_lock(&s->lock);
    if (!s->count || len < s->min)
        s->min = len;
    if (len > s->max)
        s->max = len;
    s->sum += len;
    s->count++;
    bpf_spin_unlock(&s->lock);
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
