// bpfrt-corpus: category=histogram
// fileslower/vfsstat-like kprobe pair on vfs_read: the entry records the
// start time and the requested size (PT_REGS_PARM3), the return probe adds
// the latency to a log2 histogram per size class and counts bytes read
// (PT_REGS_RC).
#include "trace_common.h"

#define MAX_SLOTS 32

struct start_info {
    __u64 ts;
    __u64 size;
};

struct hist_key {
    __u32 size_class;
    __u32 slot;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 8192);
    __type(key, __u32);
    __type(value, struct start_info);
} starts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
    __uint(max_entries, 4 * MAX_SLOTS);
    __type(key, struct hist_key);
    __type(value, __u64);
} latency SEC(".maps");

__u64 bytes_read;

SEC("kprobe/vfs_read")
int kp_vfs_read(struct pt_regs *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct start_info info = { .ts = bpf_ktime_get_ns(), .size = PT_REGS_PARM3(ctx) };
    bpf_map_update_elem(&starts, &tid, &info, BPF_ANY);
    return 0;
}

SEC("kretprobe/vfs_read")
int kretp_vfs_read(struct pt_regs *ctx)
{
    __u32 tid = (__u32)bpf_get_current_pid_tgid();
    struct start_info *info = bpf_map_lookup_elem(&starts, &tid);
    if (!info)
        return 0;
    __u64 delta_us = (bpf_ktime_get_ns() - info->ts) / 1000;
    long ret = PT_REGS_RC(ctx);
    if (ret > 0)
        __sync_fetch_and_add(&bytes_read, ret);

    struct hist_key key = {};
    key.size_class = info->size <= 4096 ? 0 : info->size <= 65536 ? 1 : info->size <= 1048576 ? 2 : 3;
    key.slot = log2l(delta_us);
    if (key.slot >= MAX_SLOTS)
        key.slot = MAX_SLOTS - 1;
    __u64 *count = bpf_map_lookup_elem(&latency, &key);
    if (count) {
        (*count)++;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&latency, &key, &one, BPF_NOEXIST);
    }
    bpf_map_delete_elem(&starts, &tid);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
