// bpfrt-corpus: category=histogram
// runqlat (bcc/libbpf-tools): time from wakeup to running, per task, into a
// log2 histogram of microseconds; optionally one histogram per PID namespace
// slot. Three tracepoint programs share the start map.
#include "trace_common.h"

#define MAX_SLOTS 26
#define MAX_HISTS 64

struct hist {
    __u32 slots[MAX_SLOTS];
    char comm[TASK_COMM_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, __u64);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_HISTS);
    __type(key, __u32);
    __type(value, struct hist);
} hists SEC(".maps");

const volatile __u8 targ_per_process = 0;
const volatile __u8 targ_ms = 0;
const volatile __s32 targ_tgid = 0;

static struct hist zero_hist;

static __always_inline int trace_enqueue(__u32 tgid, __u32 pid)
{
    if (!pid)
        return 0;
    if (targ_tgid && (__s32)tgid != targ_tgid)
        return 0;
    __u64 ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
    return 0;
}

SEC("tracepoint/sched/sched_wakeup")
int tp_sched_wakeup(struct tp_sched_wakeup *ctx)
{
    return trace_enqueue(0, (__u32)ctx->pid);
}

SEC("tracepoint/sched/sched_wakeup_new")
int tp_sched_wakeup_new(struct tp_sched_wakeup *ctx)
{
    return trace_enqueue(0, (__u32)ctx->pid);
}

SEC("tracepoint/sched/sched_switch")
int tp_sched_switch(struct tp_sched_switch *ctx)
{
    __u32 prev_pid = (__u32)ctx->prev_pid;
    __u32 pid = (__u32)ctx->next_pid;

    // A preempted task (state 0, TASK_RUNNING) goes back on the run queue.
    if (ctx->prev_state == 0)
        trace_enqueue(0, prev_pid);

    __u64 *tsp = bpf_map_lookup_elem(&start, &pid);
    if (!tsp)
        return 0;
    __u64 delta = bpf_ktime_get_ns() - *tsp;
    if ((__s64)delta < 0)
        goto cleanup;

    __u32 hkey = targ_per_process ? pid % MAX_HISTS : (__u32)-1;
    struct hist *h = bpf_map_lookup_elem(&hists, &hkey);
    if (!h) {
        bpf_map_update_elem(&hists, &hkey, &zero_hist, BPF_NOEXIST);
        h = bpf_map_lookup_elem(&hists, &hkey);
        if (!h)
            goto cleanup;
        __builtin_memcpy(h->comm, ctx->next_comm, TASK_COMM_LEN);
    }
    delta /= targ_ms ? 1000000U : 1000U;
    __u32 slot = log2l(delta);
    if (slot >= MAX_SLOTS)
        slot = MAX_SLOTS - 1;
    __sync_fetch_and_add(&h->slots[slot], 1);
cleanup:
    bpf_map_delete_elem(&start, &pid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
