// bpfrt-corpus: category=redirect
// Two redirect programs in the style of the kernel samples xdp_redirect_map
// and xdp_redirect_cpu: forwarding by destination MAC through a DEVMAP, and
// spreading flows over CPUs through a CPUMAP with a flow hash.
#include "net_common.h"

#define MAX_CPUS 64

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 64);
    __type(key, __u32);
    __type(value, __u32);
} tx_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u8[ETH_ALEN]);
    __type(value, __u32);
} mac_to_port SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_CPUMAP);
    __uint(max_entries, MAX_CPUS);
    __type(key, __u32);
    __type(value, struct bpf_cpumap_val);
} cpu_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, MAX_CPUS);
    __type(key, __u32);
    __type(value, __u32);
} cpus_available SEC(".maps");

const volatile __u32 cpus_count = 4;

SEC("xdp")
int xdp_l2_forward(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_DROP;
    __u8 dst[ETH_ALEN];
    __builtin_memcpy(dst, eth->h_dest, ETH_ALEN);
    __u32 *port = bpf_map_lookup_elem(&mac_to_port, dst);
    if (!port)
        return XDP_PASS;
    return bpf_redirect_map(&tx_ports, *port, XDP_PASS);
}

SEC("xdp")
int xdp_cpu_spread(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    __u32 hash = 0;

    if ((void *)(iph + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP)) {
        hash = iph->saddr ^ iph->daddr ^ iph->protocol;
        if (iph->protocol == IPPROTO_TCP || iph->protocol == IPPROTO_UDP) {
            __be16 *ports = (void *)iph + iph->ihl * 4;
            if ((void *)(ports + 2) <= data_end)
                hash ^= (__u32)ports[0] << 16 | ports[1];
        }
    }
    hash *= 0x9e3779b1u;
    __u32 idx = hash % (cpus_count ? cpus_count : 1);
    __u32 *cpu = bpf_map_lookup_elem(&cpus_available, &idx);
    if (!cpu)
        return XDP_PASS;
    return bpf_redirect_map(&cpu_map, *cpu, 0);
}

char LICENSE[] SEC("license") = "GPL";
