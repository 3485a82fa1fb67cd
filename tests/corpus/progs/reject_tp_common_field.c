// bpfrt-corpus: category=reject
// bpfrt-corpus: reject expect_message="context"
// Reading the common header of a tracepoint context (common_pid here): the
// first 8 bytes of a tracepoint record are not readable by programs; the
// PID has to come from bpf_get_current_pid_tgid().
#include "trace_common.h"

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __s32);
    __type(value, __u64);
} opens_by_pid SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_openat_common_pid(struct tp_sys_enter_openat *ctx)
{
    __s32 pid = ctx->hdr.pid; // bpfrt-corpus: fault
    __u64 one = 1;
    bpf_map_update_elem(&opens_by_pid, &pid, &one, BPF_NOEXIST);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
