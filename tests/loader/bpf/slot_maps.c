// Maps whose slots `.values` initialises (map-in-map, a prog array) and a
// value holding a struct bpf_spin_lock: what the loader must take from BTF
// and `.rel.maps` for the runtime, as libbpf does for the kernel.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_array {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} inner0 SEC(".maps"), inner1 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct inner_array);
} outer_array SEC(".maps") = {
    .values = { [0] = &inner0, [3] = &inner1 },
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 8);
    __type(key, __u32);
    __array(values, struct inner_array);
} outer_hash SEC(".maps") = {
    .values = { [5] = &inner1 },
};

int tail_target(struct xdp_md *ctx);

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, int (void *));
} jumps SEC(".maps") = {
    .values = { [1] = (void *)&tail_target },
};

struct locked {
    __u64 a;
    struct bpf_spin_lock lock;
    __u64 b;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, struct locked);
} locked_counts SEC(".maps");

static __always_inline void add(void *outer, __u32 slot, __u64 n)
{
    __u32 index = 1;
    void *inner = bpf_map_lookup_elem(outer, &slot);
    if (!inner)
        return;
    __u64 *v = bpf_map_lookup_elem(inner, &index);
    if (v)
        __sync_fetch_and_add(v, n);
}

// inner0[1] += 1 and inner1[1] += 10 + 100 through the outer maps, then a
// tail call to slot 1 (XDP_TX), or XDP_PASS when the slot is empty.
SEC("xdp")
int through_slots(struct xdp_md *ctx)
{
    add(&outer_array, 0, 1);
    add(&outer_array, 3, 10);
    add(&outer_hash, 5, 100);
    add(&outer_array, 2, 1000);  // an empty slot: nothing
    bpf_tail_call(ctx, &jumps, 1);
    return XDP_PASS;
}

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
    return XDP_TX;
}

// a += 1 and b += 2 under the value's lock.
SEC("tc")
int locked_add(struct __sk_buff *skb)
{
    __u32 key = 0;
    struct locked *v = bpf_map_lookup_elem(&locked_counts, &key);
    if (!v) {
        struct locked fresh = {};
        bpf_map_update_elem(&locked_counts, &key, &fresh, BPF_NOEXIST);
        v = bpf_map_lookup_elem(&locked_counts, &key);
        if (!v)
            return 0;
    }
    bpf_spin_lock(&v->lock);
    v->a += 1;
    v->b += 2;
    bpf_spin_unlock(&v->lock);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
