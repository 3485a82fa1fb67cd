// Global data, BTF-defined maps and bpf_printk.
//
// `volatile const` variables land in .rodata: the host sets them before load
// (bpfrt::ObjectFile::set_global, or a libbpf skeleton's ->rodata) and the
// program sees them as constants. Initialised globals land in .data, zeroed
// ones in .bss; string literals in .rodata.str1.1.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

// Configuration, set by the host before load.
volatile const __u32 match_protocol = 17;  // UDP
volatile const __u8 verbose = 0;

// Statistics the host reads after runs.
__u64 packets_seen = 0;      // .bss
__u64 packets_matched = 0;   // .bss
__u32 sample_every = 4;      // .data

// Bytes per source address of matching packets.
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u64));
    __uint(max_entries, 1024);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} bytes_by_source SEC(".maps");

SEC("socket")
int count_matching(struct __sk_buff *skb)
{
    __u32 protocol = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
    __u64 len = skb->len;
    __u64 *bytes;
    __u32 source;

    packets_seen++;
    if (protocol != match_protocol)
        return 0;
    packets_matched++;

    source = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, saddr) + 3);
    bytes = bpf_map_lookup_elem(&bytes_by_source, &source);
    if (bytes) {
        __sync_fetch_and_add(bytes, len);
    } else {
        bpf_map_update_elem(&bytes_by_source, &source, &len, BPF_NOEXIST);
    }

    if (verbose && sample_every && packets_matched % sample_every == 0)
        bpf_printk("matched %llu of %llu packets", packets_matched, packets_seen);
    if (verbose > 1)
        bpf_trace_printk("source .%u\n", sizeof("source .%u\n"), source);
    return -1;
}

char _license[] SEC("license") = "GPL";
