// bpfrt-corpus: category=tracing
// libbpf-bootstrap's "bootstrap" example: process exec and exit events over a
// ring buffer, with the exec time kept per PID so the exit event carries the
// process's lifetime; short-lived processes are filtered by a .rodata knob.
// The exec file name is a __data_loc field read relative to the context.
#include "trace_common.h"

#define MAX_FILENAME_LEN 127

struct event {
    __s32 pid;
    __s32 ppid;
    __u32 exit_code;
    __u32 pad;
    __u64 duration_ns;
    char comm[TASK_COMM_LEN];
    char filename[MAX_FILENAME_LEN + 1];
    __u8 exit_event;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __s32);
    __type(value, __u64);
} exec_start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} rb SEC(".maps");

const volatile __u64 min_duration_ns = 0;

SEC("tp/sched/sched_process_exec")
int handle_exec(struct tp_sched_process_exec *ctx)
{
    __s32 pid = (__s32)(bpf_get_current_pid_tgid() >> 32);
    __u64 ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&exec_start, &pid, &ts, BPF_ANY);
    if (min_duration_ns)
        return 0;

    struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
    if (!e)
        return 0;
    e->exit_event = 0;
    e->pid = pid;
    e->ppid = ctx->old_pid;
    e->exit_code = 0;
    e->duration_ns = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    unsigned fname_off = ctx->filename_loc & 0xFFFF;
    bpf_probe_read_str(e->filename, sizeof(e->filename), (void *)ctx + fname_off);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(struct tp_sched_process_exit *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __s32 pid = (__s32)(id >> 32);
    __u32 tid = (__u32)id;
    if (pid != (__s32)tid)
        return 0; /* a thread, not the process */

    __u64 duration_ns = 0;
    __u64 *start_ts = bpf_map_lookup_elem(&exec_start, &pid);
    if (start_ts)
        duration_ns = bpf_ktime_get_ns() - *start_ts;
    else if (min_duration_ns)
        return 0;
    bpf_map_delete_elem(&exec_start, &pid);
    if (min_duration_ns && duration_ns < min_duration_ns)
        return 0;

    struct event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
    if (!e)
        return 0;
    e->exit_event = 1;
    e->duration_ns = duration_ns;
    e->pid = pid;
    e->ppid = 0;
    e->exit_code = (__u32)ctx->prio; /* the tracepoint has no exit code; keep the priority */
    __builtin_memcpy(e->comm, ctx->comm, TASK_COMM_LEN);
    e->filename[0] = 0;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
