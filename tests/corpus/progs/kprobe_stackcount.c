// bpfrt-corpus: category=tracing
// stackcount/offcputime-style: a kprobe that counts kernel+user stack pairs
// per process with bpf_get_stackid into a STACK_TRACE map.
#include "trace_common.h"

#define MAX_STACKS 16384

struct stack_key {
    __u32 tgid;
    __s32 kern_stack;
    __s32 user_stack;
    char comm[TASK_COMM_LEN];
};

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(max_entries, MAX_STACKS);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, 127 * sizeof(__u64));
} stack_traces SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_STACKS);
    __type(key, struct stack_key);
    __type(value, __u64);
} stack_counts SEC(".maps");

const volatile __u8 user_stacks = 1;

SEC("kprobe/schedule")
int kp_stackcount(struct pt_regs *ctx)
{
    struct stack_key key = {};
    key.tgid = bpf_get_current_pid_tgid() >> 32;
    if (!key.tgid)
        return 0; /* idle */
    key.kern_stack = bpf_get_stackid(ctx, &stack_traces, 0);
    key.user_stack = user_stacks ? bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK) : -1;
    bpf_get_current_comm(key.comm, sizeof(key.comm));
    __u64 *count = bpf_map_lookup_elem(&stack_counts, &key);
    if (count) {
        __sync_fetch_and_add(count, 1);
        return 0;
    }
    __u64 one = 1;
    bpf_map_update_elem(&stack_counts, &key, &one, BPF_NOEXIST);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
