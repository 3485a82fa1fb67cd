// bpfrt-corpus: category=tracing
// A raw tracepoint on sched_switch (cpudist/offcpu style): the arguments
// are the tracepoint's raw TP_PROTO values (preempt, prev, next); the task
// pointers are read with bpf_probe_read_kernel at the host's offsets of
// task_struct's pid, given by the loader in .rodata.
#include "trace_common.h"

const volatile __u32 task_pid_offset = 2464; /* filled in from BTF by the loader */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, __u64);
} oncpu_start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} switch_totals SEC(".maps");

static __always_inline __u32 task_pid(__u64 task)
{
    __u32 pid = 0;
    if (task)
        bpf_probe_read_kernel(&pid, sizeof(pid), (void *)(task + task_pid_offset));
    return pid;
}

SEC("raw_tracepoint/sched_switch")
int raw_tp_switch(struct bpf_raw_tracepoint_args *ctx)
{
    __u32 preempt = (__u32)ctx->args[0];
    __u32 prev = task_pid(ctx->args[1]);
    __u32 next = task_pid(ctx->args[2]);
    __u64 now = bpf_ktime_get_ns();

    __u64 *start = bpf_map_lookup_elem(&oncpu_start, &prev);
    if (start) {
        __u32 k = preempt ? 1 : 0;
        __u64 *total = bpf_map_lookup_elem(&switch_totals, &k);
        if (total)
            *total += now - *start;
        bpf_map_delete_elem(&oncpu_start, &prev);
    }
    if (next)
        bpf_map_update_elem(&oncpu_start, &next, &now, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
