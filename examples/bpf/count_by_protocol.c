// Count IPv4 packets by protocol: the example program of the original bpf(2)
// manual page, in restricted C. The socket filter reads the IP protocol byte
// with LD_ABS and bumps that protocol's counter in an ARRAY map of 256 u64
// counters with an atomic add; it keeps no packet (returns 0).
//
// Unlike the manual page's program, it first checks that the frame carries
// IPv4, so that IPv6 and ARP frames do not land on arbitrary counters.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

// LD_ABS: one byte of the packet at a constant offset, network order.
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, __u32);
    __type(value, __u64);
    __uint(max_entries, 256);
} packets_by_protocol SEC(".maps");

SEC("socket")
int count_by_protocol(struct __sk_buff *skb)
{
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 0;

    __u32 protocol = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
    __u64 *count = bpf_map_lookup_elem(&packets_by_protocol, &protocol);
    if (count)
        __sync_fetch_and_add(count, 1);
    return 0;
}

char _license[] SEC("license") = "GPL";
