// bpfrt-corpus: category=alu32
// bpfrt-corpus: mcpu=v3
// Built with -mcpu=v3: clang uses 32-bit subregister compares (JMP32) and
// 32-bit ALU for the u32 arithmetic here, so the bounds that make the
// accesses safe are proved on w-registers. A header-length walk over IPv4
// options and an index into a map value's array.
#include "net_common.h"

#define SLOTS 32

struct port_slots {
    __u32 hits[SLOTS];
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct port_slots);
} slots SEC(".maps");

SEC("tc")
int tc_jmp32(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct iphdr *iph = data + ETH_HLEN;
    if ((void *)(iph + 1) > data_end)
        return TC_ACT_OK;
    __u32 ihl = iph->ihl;
    if (ihl < 5)
        return TC_ACT_SHOT;
    __u32 hdr_len = ihl * 4;
    // IPv4 options: count record-route (7) and timestamp (68) options.
    __u32 opt_count = 0;
    __u8 *opt = (__u8 *)(iph + 1);
    for (__u32 i = 0; i < 10; i++) {
        __u32 off = 20 + i * 4;
        if (off >= hdr_len)
            break;
        __u8 *p = opt + i * 4;
        if ((void *)(p + 1) > data_end)
            break;
        if (*p == 7 || *p == 68)
            opt_count++;
    }
    struct udphdr *uh = (void *)iph + hdr_len;
    if ((void *)(uh + 1) > data_end)
        return TC_ACT_OK;
    __u32 zero = 0;
    struct port_slots *ps = bpf_map_lookup_elem(&slots, &zero);
    if (!ps)
        return TC_ACT_OK;
    __u32 idx = bpf_ntohs(uh->dest) % SLOTS;
    ps->hits[idx] += 1 + opt_count;
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
