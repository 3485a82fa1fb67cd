// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="stack"
// Each function stays under the 512-byte stack limit that clang checks, but
// the call chain does not: 320 bytes in the caller plus 320 in the callee.
#include "net_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 128);
    __type(key, __u32);
    __type(value, __u8[256]);
} blobs SEC(".maps");

static __noinline int fill_and_store(__u32 key, __u8 seed)
{
    __u8 buf[256];
    __u8 extra[64];
    for (int i = 0; i < 64; i++)
        extra[i] = seed + i;
    for (int i = 0; i < 256; i++)
        buf[i] = extra[i & 63] ^ (__u8)i;
    return bpf_map_update_elem(&blobs, &key, buf, BPF_ANY);
}

SEC("tc")
int tc_deep_stack(struct __sk_buff *skb)
{
    __u8 snapshot[256];
    __u8 hdr[64];
    if (bpf_skb_load_bytes(skb, 0, hdr, sizeof(hdr)))
        return TC_ACT_OK;
    for (int i = 0; i < 256; i++)
        snapshot[i] = hdr[i & 63];
    __u32 key = skb->hash & 127;
    bpf_map_update_elem(&blobs, &key, snapshot, BPF_ANY);
    return fill_and_store(key + 1, hdr[0]) ? TC_ACT_SHOT : TC_ACT_OK; // bpfrt-corpus: fault
}

char LICENSE[] SEC("license") = "GPL";
