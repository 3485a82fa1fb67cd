// Shared definitions for the corpus's tracing programs. Tracepoint contexts
// are declared here as the host's tracefs format files describe them (the
// 8-byte common header first); programs read them as plain structs.
#pragma once

#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TASK_COMM_LEN 16

struct trace_entry_hdr {
    __u16 type;
    __u8 flags;
    __u8 preempt_count;
    __s32 pid;
};

// syscalls/sys_enter_openat
struct tp_sys_enter_openat {
    struct trace_entry_hdr hdr;
    __s32 syscall_nr;
    __u32 pad;
    __u64 dfd;
    const char *filename;
    __u64 flags;
    __u64 mode;
};

// syscalls/sys_exit_* 
struct tp_sys_exit {
    struct trace_entry_hdr hdr;
    __s32 syscall_nr;
    __u32 pad;
    __s64 ret;
};

// raw_syscalls/sys_enter and sys_exit
struct tp_raw_sys_enter {
    struct trace_entry_hdr hdr;
    __s64 id;
    __u64 args[6];
};

struct tp_raw_sys_exit {
    struct trace_entry_hdr hdr;
    __s64 id;
    __s64 ret;
};

// sched/sched_switch
struct tp_sched_switch {
    struct trace_entry_hdr hdr;
    char prev_comm[TASK_COMM_LEN];
    __s32 prev_pid;
    __s32 prev_prio;
    __s64 prev_state;
    char next_comm[TASK_COMM_LEN];
    __s32 next_pid;
    __s32 next_prio;
};

// sched/sched_wakeup, sched_wakeup_new
struct tp_sched_wakeup {
    struct trace_entry_hdr hdr;
    char comm[TASK_COMM_LEN];
    __s32 pid;
    __s32 prio;
    __s32 target_cpu;
};

// sched/sched_process_exec
struct tp_sched_process_exec {
    struct trace_entry_hdr hdr;
    __u32 filename_loc; /* __data_loc char[]: offset in the low 16 bits, length above */
    __s32 pid;
    __s32 old_pid;
};

// sched/sched_process_exit
struct tp_sched_process_exit {
    struct trace_entry_hdr hdr;
    char comm[TASK_COMM_LEN];
    __s32 pid;
    __s32 prio;
};

// block/block_rq_issue and block_rq_complete share the leading fields.
struct tp_block_rq {
    struct trace_entry_hdr hdr;
    __u32 dev;
    __u32 pad;
    __u64 sector;
    __u32 nr_sector;
};

// tcp/tcp_retransmit_skb
struct tp_tcp_retransmit {
    struct trace_entry_hdr hdr;
    const void *skbaddr;
    const void *skaddr;
    __s32 state;
    __u16 sport;
    __u16 dport;
    __u16 family;
    __u8 saddr[4];
    __u8 daddr[4];
    __u8 saddr_v6[16];
    __u8 daddr_v6[16];
};

// log2 of a 64-bit value without loops (bcc's bpf_log2l).
static __always_inline __u32 log2_u32(__u32 v)
{
    __u32 r, shift;
    r = (v > 0xFFFF) << 4;
    v >>= r;
    shift = (v > 0xFF) << 3;
    v >>= shift;
    r |= shift;
    shift = (v > 0xF) << 2;
    v >>= shift;
    r |= shift;
    shift = (v > 0x3) << 1;
    v >>= shift;
    r |= shift;
    r |= (v >> 1);
    return r;
}

static __always_inline __u32 log2l(__u64 v)
{
    __u32 hi = v >> 32;
    return hi ? log2_u32(hi) + 32 : log2_u32((__u32)v);
}
