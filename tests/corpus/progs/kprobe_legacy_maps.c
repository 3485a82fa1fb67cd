// bpfrt-corpus: category=legacy
// A kprobe in the style of the old kernel samples (tracex2, tracex3): maps
// defined with struct bpf_map_def in SEC("maps"), a log2 histogram of write
// sizes per process and a count per call site.
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct bpf_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct hist_key {
    __u32 pid;
    __u32 index;
};

struct bpf_map_def SEC("maps") write_sizes = {
    .type = BPF_MAP_TYPE_PERCPU_HASH,
    .key_size = sizeof(struct hist_key),
    .value_size = sizeof(__u64),
    .max_entries = 1024,
};

struct bpf_map_def SEC("maps") call_sites = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u64),
    .value_size = sizeof(__u64),
    .max_entries = 1024,
};

static __always_inline __u32 log2(__u32 v)
{
    __u32 r = 0;
    if (v >= 1u << 16) { v >>= 16; r += 16; }
    if (v >= 1u << 8) { v >>= 8; r += 8; }
    if (v >= 1u << 4) { v >>= 4; r += 4; }
    if (v >= 1u << 2) { v >>= 2; r += 2; }
    if (v >= 1u << 1) r += 1;
    return r;
}

SEC("kprobe/ksys_write")
int kp_legacy_write(struct pt_regs *ctx)
{
    __u64 size = PT_REGS_PARM3(ctx);
    struct hist_key key = { .pid = bpf_get_current_pid_tgid() >> 32 };
    key.index = log2(size > 0xffffffffULL ? 0xffffffffU : (__u32)size);
    __u64 *v = bpf_map_lookup_elem(&write_sizes, &key);
    if (v) {
        (*v)++;
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&write_sizes, &key, &one, BPF_ANY);
    }

    __u64 ip = PT_REGS_IP(ctx);
    __u64 *c = bpf_map_lookup_elem(&call_sites, &ip);
    if (c) {
        __sync_fetch_and_add(c, 1);
    } else {
        __u64 one = 1;
        bpf_map_update_elem(&call_sites, &ip, &one, BPF_NOEXIST);
    }
    return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0xFFFFFFFE;
