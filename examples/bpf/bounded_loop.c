// A bounded loop (accepted by kernels since 5.3): sums the first 64 bytes of
// the packet 8 bytes at a time, each access checked against data_end.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_WORDS 8

SEC("xdp")
int sum_words(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u64 sum = 0;

#pragma clang loop unroll(disable)
    for (int i = 0; i < MAX_WORDS; i++) {
        __u64 *word = (__u64 *)data + i;
        if ((void *)(word + 1) > data_end)
            break;
        sum += *word;
    }
    return (sum & 1) ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
