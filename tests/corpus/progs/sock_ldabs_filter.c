// bpfrt-corpus: category=socket
// A socket filter written in the old LD_ABS style of the kernel samples
// (sockex1/sockex2, bpf_legacy.h): load_byte/load_half/load_word read the
// packet through the legacy packet-access instructions. It keeps TCP to a
// list of ports and counts bytes per IP protocol in a legacy map.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

struct bpf_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};

struct bpf_map_def SEC("maps") proto_bytes = {
    .type = BPF_MAP_TYPE_ARRAY,
    .key_size = sizeof(__u32),
    .value_size = sizeof(__u64),
    .max_entries = 256,
};

struct bpf_map_def SEC("maps") allowed_ports = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u16),
    .value_size = sizeof(__u8),
    .max_entries = 64,
};

SEC("socket")
int sock_ldabs(struct __sk_buff *skb)
{
    if (load_half(skb, offsetof(struct ethhdr, h_proto)) != ETH_P_IP)
        return 0;
    __u32 proto = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
    __u64 *bytes = bpf_map_lookup_elem(&proto_bytes, &proto);
    if (bytes)
        __sync_fetch_and_add(bytes, skb->len);
    if (proto != IPPROTO_TCP)
        return -1;

    // Fragments other than the first carry no TCP header.
    if (load_half(skb, ETH_HLEN + offsetof(struct iphdr, frag_off)) & 0x1fff)
        return 0;
    __u32 ihl = (load_byte(skb, ETH_HLEN) & 0xf) << 2;
    __u32 ports = load_word(skb, ETH_HLEN + ihl);
    __u16 dport = ports & 0xffff;
    __u16 sport = ports >> 16;
    if (bpf_map_lookup_elem(&allowed_ports, &dport) || bpf_map_lookup_elem(&allowed_ports, &sport))
        return -1;
    return 0;
}

char _license[] SEC("license") = "GPL";
