// bpfrt-corpus: category=conntrack
// A stateful firewall: TCP connection tracking in an LRU hash keyed by the
// normalised 5-tuple (lower address first, as OVS and Cilium do), with a
// small TCP state machine and per-state timeouts. Packets of unknown flows
// that are not SYNs are dropped.
#include "net_common.h"

enum ct_state { CT_NEW = 0, CT_SYN_SENT, CT_SYN_RECV, CT_ESTABLISHED, CT_FIN_WAIT, CT_CLOSED };

struct ct_key {
    __be32 lo_addr, hi_addr;
    __be16 lo_port, hi_port;
    __u8 proto;
    __u8 pad[3];
};

struct ct_entry {
    __u64 last_seen;
    __u64 packets[2];
    __u8 state;
    __u8 initiator_is_lo;
    __u16 pad;
    __u32 pad2;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 262144);
    __type(key, struct ct_key);
    __type(value, struct ct_entry);
} conntrack SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} ct_events SEC(".maps");

static const __u64 timeouts_ns[] = {
    [CT_NEW] = 10ULL * 1000000000, [CT_SYN_SENT] = 60ULL * 1000000000,
    [CT_SYN_RECV] = 60ULL * 1000000000, [CT_ESTABLISHED] = 7200ULL * 1000000000,
    [CT_FIN_WAIT] = 120ULL * 1000000000, [CT_CLOSED] = 10ULL * 1000000000,
};

static __always_inline void event(__u32 what)
{
    __u64 *c = bpf_map_lookup_elem(&ct_events, &what);
    if (c)
        __sync_fetch_and_add(c, 1);
}

static __always_inline __u8 next_state(__u8 state, const struct tcphdr *th, int from_initiator)
{
    if (th->rst)
        return CT_CLOSED;
    if (th->fin)
        return state == CT_FIN_WAIT ? CT_CLOSED : CT_FIN_WAIT;
    switch (state) {
    case CT_SYN_SENT:
        return (!from_initiator && th->syn && th->ack) ? CT_SYN_RECV : state;
    case CT_SYN_RECV:
        return (from_initiator && th->ack) ? CT_ESTABLISHED : state;
    default:
        return state;
    }
}

SEC("xdp")
int xdp_conntrack(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end)
        return XDP_DROP;
    if (iph->protocol != IPPROTO_TCP)
        return XDP_PASS;
    __u32 ihl = iph->ihl * 4;
    if (ihl < sizeof(*iph))
        return XDP_DROP;
    struct tcphdr *th = (void *)iph + ihl;
    if ((void *)(th + 1) > data_end)
        return XDP_DROP;

    struct ct_key key = { .proto = IPPROTO_TCP };
    int src_is_lo = iph->saddr < iph->daddr || (iph->saddr == iph->daddr && th->source < th->dest);
    if (src_is_lo) {
        key.lo_addr = iph->saddr, key.hi_addr = iph->daddr;
        key.lo_port = th->source, key.hi_port = th->dest;
    } else {
        key.lo_addr = iph->daddr, key.hi_addr = iph->saddr;
        key.lo_port = th->dest, key.hi_port = th->source;
    }

    __u64 now = bpf_ktime_get_ns();
    struct ct_entry *ct = bpf_map_lookup_elem(&conntrack, &key);
    if (!ct) {
        if (!th->syn || th->ack) {
            event(0);
            return XDP_DROP;
        }
        struct ct_entry fresh = { .last_seen = now, .state = CT_SYN_SENT, .initiator_is_lo = src_is_lo };
        fresh.packets[0] = 1;
        bpf_map_update_elem(&conntrack, &key, &fresh, BPF_NOEXIST);
        event(1);
        return XDP_PASS;
    }

    __u8 state = ct->state;
    if (state > CT_CLOSED)
        return XDP_ABORTED;
    if (now - ct->last_seen > timeouts_ns[state]) {
        bpf_map_delete_elem(&conntrack, &key);
        event(2);
        return th->syn ? XDP_PASS : XDP_DROP;
    }
    int from_initiator = src_is_lo == ct->initiator_is_lo;
    ct->packets[from_initiator ? 0 : 1]++;
    ct->last_seen = now;
    __u8 next = next_state(state, th, from_initiator);
    if (next != state) {
        ct->state = next;
        event(3 + next % 5);
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
