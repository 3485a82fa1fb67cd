// bpfrt-corpus: category=tracing
// tcpconnect (bcc/libbpf-tools) without vmlinux.h: the entry probe on
// tcp_v4_connect remembers the socket pointer, the return probe reads the
// addresses and ports with bpf_probe_read_kernel at the offsets of the
// host's struct sock_common and sends an event to user space through a
// perf event array.
#include "trace_common.h"
#include <bpf/bpf_endian.h>

// The leading fields of struct sock_common as laid out by the host kernel.
struct sock_common_head {
    __be32 skc_daddr;
    __be32 skc_rcv_saddr;
    __u32 skc_hash;
    __be16 skc_dport;
    __u16 skc_num;
    __u16 skc_family;
};

struct connect_event {
    __u64 ts_us;
    __u32 pid;
    __u32 uid;
    __be32 saddr;
    __be32 daddr;
    __u16 lport;
    __be16 dport;
    __s32 ret;
    char comm[TASK_COMM_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, __u64);
} sockets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, sizeof(__u32));
} connect_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u16);
    __type(value, __u8);
} filter_ports SEC(".maps");

const volatile __u8 filter_by_port = 0;

SEC("kprobe/tcp_v4_connect")
int kp_tcp_v4_connect(struct pt_regs *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    __u64 sk = PT_REGS_PARM1(ctx);
    bpf_map_update_elem(&sockets, &tid, &sk, BPF_ANY);
    return 0;
}

SEC("kretprobe/tcp_v4_connect")
int kretp_tcp_v4_connect(struct pt_regs *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id;
    __u64 *skp = bpf_map_lookup_elem(&sockets, &tid);
    if (!skp)
        return 0;
    int ret = (int)PT_REGS_RC(ctx);
    if (ret)
        goto out;

    struct sock_common_head skc;
    if (bpf_probe_read_kernel(&skc, sizeof(skc), (const void *)*skp))
        goto out;
    if (filter_by_port) {
        __u16 port = bpf_ntohs(skc.skc_dport);
        if (!bpf_map_lookup_elem(&filter_ports, &port))
            goto out;
    }
    struct connect_event ev = {};
    ev.ts_us = bpf_ktime_get_ns() / 1000;
    ev.pid = id >> 32;
    ev.uid = (__u32)bpf_get_current_uid_gid();
    ev.saddr = skc.skc_rcv_saddr;
    ev.daddr = skc.skc_daddr;
    ev.lport = skc.skc_num;
    ev.dport = skc.skc_dport;
    ev.ret = ret;
    bpf_get_current_comm(ev.comm, sizeof(ev.comm));
    bpf_perf_event_output(ctx, &connect_events, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
out:
    bpf_map_delete_elem(&sockets, &tid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
