// A perf event array left without max_entries, as bcc/libbpf tools declare it:
// libbpf (and bpfrt) give it one entry per possible CPU.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} events SEC(".maps");

SEC("socket")
int send_length(struct __sk_buff *skb) {
    __u32 len = skb->len;
    bpf_perf_event_output(skb, &events, BPF_F_CURRENT_CPU, &len, sizeof(len));
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
