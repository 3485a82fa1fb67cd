// bpfrt-corpus: category=map_in_map
// Per-tenant tables through map-in-map: an ARRAY_OF_MAPS selects the tenant's
// hash of allowed destination ports by the VLAN/ifindex tenant id, and a
// HASH_OF_MAPS holds per-tenant counters, as multi-tenant gateways (and
// Katran's per-VIP rings) organise them.
#include "net_common.h"

struct port_table {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u16);
    __type(value, __u32);
} tenant0_ports SEC(".maps"), tenant1_ports SEC(".maps");

struct counter_table {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} tenant0_counters SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 16);
    __type(key, __u32);
    __array(values, struct port_table);
} tenant_ports SEC(".maps") = {
    .values = { [0] = &tenant0_ports, [1] = &tenant1_ports },
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
    __uint(max_entries, 16);
    __type(key, __u32);
    __array(values, struct counter_table);
} tenant_counters SEC(".maps") = {
    .values = { [0] = &tenant0_counters },
};

static __always_inline void bump(__u32 tenant, __u32 what)
{
    void *counters = bpf_map_lookup_elem(&tenant_counters, &tenant);
    if (!counters)
        return;
    __u64 *c = bpf_map_lookup_elem(counters, &what);
    if (c)
        __sync_fetch_and_add(c, 1);
}

SEC("xdp")
int xdp_tenant_filter(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    __u32 tenant = ctx->ingress_ifindex & 15;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
        return XDP_PASS;
    struct udphdr *uh = (void *)iph + iph->ihl * 4;
    if ((void *)(uh + 1) > data_end)
        return XDP_DROP;

    void *ports = bpf_map_lookup_elem(&tenant_ports, &tenant);
    if (!ports) {
        bump(tenant, 0);
        return XDP_PASS;
    }
    __u16 dport = bpf_ntohs(uh->dest);
    __u32 *rule = bpf_map_lookup_elem(ports, &dport);
    if (!rule) {
        bump(tenant, 1);
        return XDP_DROP;
    }
    bump(tenant, 2);
    return *rule == 1 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
