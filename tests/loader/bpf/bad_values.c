// `.values` on a map that holds neither maps nor programs: libbpf refuses
// the object, and so must bpfrt's loader.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner_array {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} inner SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __array(values, struct inner_array);
} not_a_map_of_maps SEC(".maps") = {
    .values = { [0] = &inner },
};

SEC("xdp")
int nothing(struct xdp_md *ctx)
{
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
