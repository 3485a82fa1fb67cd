// Every kind of call the linker handles: a global function in .text (call
// relocation against the function symbol, imm -1), static functions reached
// from a program section (relocation against .text) and from .text itself
// (no relocation), and a callback passed to bpf_loop (lddw BPF_PSEUDO_FUNC).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__noinline int global_double(int x)
{
    return x * 2;
}

static __noinline int add_one(int x)
{
    return x + 1;
}

static __noinline int twice_plus_one(int x)
{
    return add_one(global_double(x));
}

static int sum_index(__u32 index, void *ctx)
{
    *(__u64 *)ctx += index;
    return 0;
}

SEC("tc")
int calls(struct __sk_buff *skb)
{
    __u64 sum = 0;

    bpf_loop(4, sum_index, &sum, 0);
    return twice_plus_one(skb->len) + (int)sum;
}

SEC("xdp")
int xdp_calls(struct xdp_md *ctx)
{
    return add_one(ctx->ingress_ifindex) & 3;
}

char _license[] SEC("license") = "GPL";
