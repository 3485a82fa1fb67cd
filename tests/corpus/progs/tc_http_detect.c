// bpfrt-corpus: category=l7
// Spots HTTP requests in TCP payloads on tc ingress (like Pixie's and
// Falco's protocol inference): compares the first bytes of the payload with
// method names in a bounded, non-unrolled loop and counts requests per
// method and destination port.
#include "net_common.h"

#define MAX_METHODS 6
#define METHOD_LEN 8

struct method {
    char name[METHOD_LEN];
    __u32 len;
};

static const struct method methods[MAX_METHODS] = {
    { "GET ", 4 }, { "POST ", 5 }, { "PUT ", 4 }, { "DELETE ", 7 }, { "HEAD ", 5 }, { "HTTP/1.", 7 },
};

struct req_key {
    __u16 dport;
    __u16 method;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 4096);
    __type(key, struct req_key);
    __type(value, __u64);
} http_requests SEC(".maps");

static __noinline int match_method(const __u8 *payload, __u32 i)
{
    if (i >= MAX_METHODS)
        return 0;
    const struct method *m = &methods[i];
    for (__u32 j = 0; j < METHOD_LEN; j++) {
        if (j >= m->len)
            return 1;
        if (payload[j] != (__u8)m->name[j])
            return 0;
    }
    return 1;
}

SEC("tc")
int tc_http_ingress(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *iph = (void *)(eth + 1);
    if ((void *)(iph + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || iph->protocol != IPPROTO_TCP)
        return TC_ACT_OK;
    __u32 ihl = iph->ihl * 4;
    if (ihl < 20 || ihl > 60)
        return TC_ACT_OK;
    struct tcphdr *th = (void *)iph + ihl;
    if ((void *)(th + 1) > data_end)
        return TC_ACT_OK;
    __u32 doff = th->doff * 4;
    if (doff < 20 || doff > 60)
        return TC_ACT_OK;

    __u8 payload[METHOD_LEN] = {};
    __u32 off = ETH_HLEN + ihl + doff;
    if (bpf_skb_load_bytes(skb, off, payload, sizeof(payload)))
        return TC_ACT_OK;

#pragma clang loop unroll(disable)
    for (__u32 i = 0; i < MAX_METHODS; i++) {
        if (!match_method(payload, i))
            continue;
        struct req_key k = { .dport = bpf_ntohs(th->dest), .method = (__u16)i };
        __u64 *cnt = bpf_map_lookup_elem(&http_requests, &k);
        if (cnt) {
            __sync_fetch_and_add(cnt, 1);
        } else {
            __u64 one = 1;
            bpf_map_update_elem(&http_requests, &k, &one, BPF_ANY);
        }
        break;
    }
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
