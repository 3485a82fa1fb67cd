// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="scalar"
// Dereferencing a kernel pointer taken from a kprobe argument directly: in
// a kprobe the argument is just a number to the verifier, and kernel memory
// has to be read with bpf_probe_read_kernel.
#include "trace_common.h"

struct sock_common_head {
    __be32 skc_daddr;
    __be32 skc_rcv_saddr;
    __u32 skc_hash;
    __be16 skc_dport;
    __u16 skc_num;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __be32);
    __type(value, __u64);
} connects_by_daddr SEC(".maps");

SEC("kprobe/tcp_v4_connect")
int kp_connect_direct(struct pt_regs *ctx)
{
    struct sock_common_head *sk = (struct sock_common_head *)PT_REGS_PARM1(ctx);
    __be32 daddr = sk->skc_daddr; // bpfrt-corpus: fault
    __u64 one = 1;
    bpf_map_update_elem(&connects_by_daddr, &daddr, &one, BPF_NOEXIST);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
