// bpfrt-corpus: category=tracing
// syscount (bcc/libbpf-tools): counts system calls and their errors per
// syscall id, with total latency, on raw_syscalls enter/exit; the per-call
// record lives in a per-CPU hash.
#include "trace_common.h"

#define MAX_SYSCALLS 512

struct data_t {
    __u64 count;
    __u64 total_ns;
    __u64 errors;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, __u64);
} syscall_start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, MAX_SYSCALLS);
    __type(key, __u32);
    __type(value, struct data_t);
} syscall_data SEC(".maps");

const volatile __u32 filter_pid = 0;
const volatile __u8 measure_latency = 1;

SEC("tracepoint/raw_syscalls/sys_enter")
int tp_sys_enter(struct tp_raw_sys_enter *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (filter_pid && (id >> 32) != filter_pid)
        return 0;
    if (!measure_latency || ctx->id < 0)
        return 0;
    __u32 tid = (__u32)id;
    __u64 ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&syscall_start, &tid, &ts, BPF_ANY);
    return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int tp_sys_exit(struct tp_raw_sys_exit *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    if (filter_pid && (id >> 32) != filter_pid)
        return 0;
    __s64 nr = ctx->id;
    if (nr < 0 || nr >= MAX_SYSCALLS)
        return 0;
    __u32 key = (__u32)nr;
    struct data_t *d = bpf_map_lookup_elem(&syscall_data, &key);
    if (!d)
        return 0;
    d->count++;
    if (ctx->ret < 0)
        d->errors++;
    if (measure_latency) {
        __u32 tid = (__u32)id;
        __u64 *start = bpf_map_lookup_elem(&syscall_start, &tid);
        if (start) {
            d->total_ns += bpf_ktime_get_ns() - *start;
            bpf_map_delete_elem(&syscall_start, &tid);
        }
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
