// bpf-to-bpf calls: static __noinline functions in .text, called from
// three programs (two in one section, one in another). Each program gets its
// own copy of the subprograms it uses (R_BPF_64_32 call relocations).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>

// FNV-1a over one byte.
static __noinline __u32 fnv_step(__u32 hash, __u32 byte)
{
    return (hash ^ (byte & 0xff)) * 16777619u;
}

// Hash of the IPv4 source and destination addresses (0 when the packet is
// too short). LD_ABS cannot be mixed with bpf-to-bpf calls, so the bytes
// are read with bpf_skb_load_bytes.
static __noinline __u32 hash_addresses(struct __sk_buff *skb)
{
    __u8 addrs[8];
    __u32 hash = 2166136261u;

    if (bpf_skb_load_bytes(skb, ETH_HLEN + offsetof(struct iphdr, saddr), addrs, sizeof(addrs)) < 0)
        return 0;
    for (int i = 0; i < 8; i++)
        hash = fnv_step(hash, addrs[i]);
    return hash;
}

static __noinline int clamp(int value, int low, int high)
{
    if (value < low)
        return low;
    if (value > high)
        return high;
    return value;
}

// Keeps 1 packet in 4, chosen by the address hash.
SEC("socket")
int sample_flows(struct __sk_buff *skb)
{
    return (hash_addresses(skb) & 3) == 0 ? -1 : 0;
}

// Returns a bucket 0..15 of the packet length (clamped), plus 16 when a
// hash of the length and protocol has bit 4 set.
SEC("tc")
int length_bucket(struct __sk_buff *skb)
{
    return clamp(skb->len / 64, 0, 15) | (fnv_step(skb->len, skb->protocol) & 16);
}

// A second program in the same section: one program per global function.
SEC("socket")
int keep_short(struct __sk_buff *skb)
{
    return clamp(skb->len, 0, 128) == 128 ? 0 : -1;
}

char _license[] SEC("license") = "GPL";
