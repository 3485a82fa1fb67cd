// Legacy map definitions (SEC("maps"), struct bpf_map_def) and a version section.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct bpf_map_def SEC("maps") counters = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 16,
};

struct bpf_map_def SEC("maps") flows = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u64),
    .value_size = 16,
    .max_entries = 128,
    .map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket")
int legacy(struct __sk_buff *skb)
{
    __u32 key = 1;
    __u64 flow = skb->len;
    __u64 *count = bpf_map_lookup_elem(&counters, &key);

    if (count)
        *count += 1;
    bpf_map_delete_elem(&flows, &flow);
    return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x050a00;
