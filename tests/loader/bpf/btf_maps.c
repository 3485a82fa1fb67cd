// BTF-defined maps in each style, a custom data section and .rodata config.
// (Pinning by name is read and ignored by bpfrt; libbpf would need /sys/fs/bpf.)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct flow_key {
    __u32 saddr;
    __u32 daddr;
    __u16 sport;
    __u16 dport;
    __u8 protocol;
};

struct flow_stats {
    __u64 packets;
    __u64 bytes;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __type(key, struct flow_key);
    __type(value, struct flow_stats);
    __uint(max_entries, 4096);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(key_size, 8);
    __uint(value_size, 24);
    __uint(max_entries, 64);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(pinning, LIBBPF_PIN_BY_NAME);
} sized SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __uint(value_size, sizeof(__u64));
    __uint(max_entries, 1);
} mixed SEC(".maps");

volatile const __u32 limit = 100;
volatile const __u64 scale = 3;
int custom_counter SEC(".data.custom") = 7;

SEC("tc")
int btf_maps(struct __sk_buff *skb)
{
    struct flow_key key = {.protocol = 6};
    struct flow_stats *stats = bpf_map_lookup_elem(&flows, &key);
    __u64 big[3] = {};
    __u64 small = 0;
    __u32 zero = 0;
    __u64 *slot = bpf_map_lookup_elem(&mixed, &zero);

    if (stats)
        stats->packets += scale;
    bpf_map_update_elem(&sized, &small, big, BPF_ANY);
    if (slot)
        *slot += custom_counter;
    return skb->len > limit;
}

char _license[] SEC("license") = "GPL";
