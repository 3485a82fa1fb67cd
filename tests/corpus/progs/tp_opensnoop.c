// bpfrt-corpus: category=tracing
// opensnoop (bcc/libbpf-tools): the openat entry stores the file name
// pointer per thread, the exit emits an event with the result through a ring
// buffer, copying the name from user memory.
#include "trace_common.h"

#define NAME_MAX_LEN 256

struct args_t {
    const char *fname;
    __u64 flags;
};

struct event {
    __u64 ts;
    __u32 pid;
    __u32 uid;
    __s32 ret;
    __s32 flags;
    char comm[TASK_COMM_LEN];
    char fname[NAME_MAX_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 10240);
    __type(key, __u32);
    __type(value, struct args_t);
} start SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

const volatile __u32 targ_tgid = 0;
const volatile __u32 targ_uid = (__u32)-1;
const volatile __u8 targ_failed = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_openat_enter(struct tp_sys_enter_openat *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32, tid = (__u32)id;
    if (targ_tgid && targ_tgid != tgid)
        return 0;
    if (targ_uid != (__u32)-1 && targ_uid != (__u32)bpf_get_current_uid_gid())
        return 0;
    struct args_t args = { .fname = ctx->filename, .flags = ctx->flags };
    bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_openat")
int tp_openat_exit(struct tp_sys_exit *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tid = (__u32)id;
    struct args_t *ap = bpf_map_lookup_elem(&start, &tid);
    if (!ap)
        return 0;
    if (targ_failed && ctx->ret >= 0)
        goto cleanup;

    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        goto cleanup;
    e->ts = bpf_ktime_get_ns();
    e->pid = id >> 32;
    e->uid = (__u32)bpf_get_current_uid_gid();
    e->ret = (__s32)ctx->ret;
    e->flags = (__s32)ap->flags;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_probe_read_user_str(e->fname, sizeof(e->fname), ap->fname);
    bpf_ringbuf_submit(e, 0);
cleanup:
    bpf_map_delete_elem(&start, &tid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
