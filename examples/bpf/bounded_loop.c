// A bounded loop (accepted by kernels since 5.3): a ones'-complement sum of
// the first 64 bytes of the packet, 16 bits at a time, each access checked
// against data_end. (16-bit reads stay aligned: packet data starts 2 bytes
// after an aligned address, NET_IP_ALIGN.)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_WORDS 32

SEC("xdp")
int sum_words(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 sum = 0;

#pragma clang loop unroll(disable)
    for (int i = 0; i < MAX_WORDS; i++) {
        __u16 *word = (__u16 *)data + i;
        if ((void *)(word + 1) > data_end)
            break;
        sum += *word;
    }
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    // Drop packets whose sum is all ones (a valid IPv4 header sums to 0xffff).
    return sum == 0xffff ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "Dual BSD/GPL";
