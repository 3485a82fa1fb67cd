// bpfrt-corpus: category=qos
// Earliest Departure Time rate limiting on tc egress (Cilium's bandwidth
// manager, the kernel's test_tc_edt): each flow class has a rate, and the
// program sets skb->tstamp so that fq paces the packets. Packets too far in
// the future are dropped (horizon).
#include "net_common.h"

#define NSEC_PER_SEC 1000000000ULL
#define DROP_HORIZON_NS (2 * NSEC_PER_SEC)

struct edt_state {
    __u64 rate_bytes_per_sec;
    __u64 t_last;
    __u64 drops;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, __u32);
    __type(value, struct edt_state);
} edt_classes SEC(".maps");

SEC("tc")
int tc_edt_egress(struct __sk_buff *skb)
{
    __u32 class_id = skb->priority ? skb->priority : skb->mark & 0xffff;
    struct edt_state *st = bpf_map_lookup_elem(&edt_classes, &class_id);
    if (!st || !st->rate_bytes_per_sec)
        return TC_ACT_OK;

    __u64 now = bpf_ktime_get_ns();
    __u64 tstamp = skb->tstamp;
    if (tstamp < now)
        tstamp = now;
    __u64 delay = (__u64)skb->len * NSEC_PER_SEC / st->rate_bytes_per_sec;
    __u64 t_next = st->t_last + delay;
    if (t_next <= tstamp) {
        st->t_last = tstamp;
        return TC_ACT_OK;
    }
    if (t_next - now >= DROP_HORIZON_NS) {
        st->drops++;
        return TC_ACT_SHOT;
    }
    st->t_last = t_next;
    skb->tstamp = t_next;
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
