// A program every verifier must reject: a hash map value used without the
// NULL check.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 16);
} values SEC(".maps");

SEC("socket")
int no_null_check(struct __sk_buff *skb)
{
    __u32 key = 0;
    __u64 *value = bpf_map_lookup_elem(&values, &key);

    return *value;
}

char _license[] SEC("license") = "GPL";
