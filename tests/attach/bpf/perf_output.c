// Restricted C for the perf event tests: a socket filter sends a record per
// IPv4 packet (length and protocol, then the Ethernet header) to a
// PERF_EVENT_ARRAY with bpf_perf_event_output, and traces it with a
// bpf_printk of five arguments (libbpf turns that into bpf_trace_vprintk).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
    __uint(max_entries, 64);  // at least one slot per CPU slot of the test host
} events SEC(".maps");

struct packet_record {
    __u32 len;
    __u32 protocol;
};

SEC("socket")
int report_packets(struct __sk_buff *skb)
{
    struct packet_record record = {
        .len = skb->len,
        .protocol = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol)),
    };
    // The record, then the 14 bytes of the Ethernet header.
    long err = bpf_perf_event_output(skb, &events, BPF_F_CURRENT_CPU | ((__u64)ETH_HLEN << 32), &record,
                                     sizeof(record));
    bpf_printk("len %u proto %u err %ld cpu %u mark %x", record.len, record.protocol, err,
               bpf_get_smp_processor_id(), 0xbeef);
    return 0;
}

char _license[] SEC("license") = "GPL";
