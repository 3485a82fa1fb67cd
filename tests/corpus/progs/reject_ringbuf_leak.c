// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="submit"
// A ring buffer record is reserved and then abandoned on an early-return
// path: every reservation must be submitted or discarded.
#include "trace_common.h"

struct exec_event {
    __u32 pid;
    __u32 uid;
    char comm[TASK_COMM_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} exec_events SEC(".maps");

SEC("tp/sched/sched_process_exec")
int tp_exec_leak(struct tp_sched_process_exec *ctx)
{
    struct exec_event *e = bpf_ringbuf_reserve(&exec_events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = ctx->pid;
    e->uid = (__u32)bpf_get_current_uid_gid();
    if (e->uid == 0)
        return 0; // bpfrt-corpus: fault
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
