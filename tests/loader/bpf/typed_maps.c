// Maps and globals of every BTF shape the map formatter prints: a struct key
// with bitfields and an enum, a struct value with a nested struct, a char
// array, an array, a bool, a signed field, bitfields with unnamed padding and
// a pointer; an enum-keyed array, a per-CPU array, a legacy map annotated
// with its key/value types (BPF_ANNOTATE_KV_PAIR, as old libbpf headers), and
// .rodata / .data / .bss variables (a struct, strings, a double, a u64 past
// 2^53).
//
// The socket filter counts IPv4 packets per protocol into `flows`; the CLI
// tests check its maps against the counts of the bundled capture.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

enum proto_class {
    CLASS_OTHER = 0,
    CLASS_ICMP = 1,
    CLASS_TCP = 6,
    CLASS_UDP = 17,
};

struct flow_key {
    __u8 protocol;
    __u8 version : 4;
    __u8 ihl : 4;
    __u16 ethertype;
    enum proto_class cls;
};

struct counters {
    __u64 packets;
    __u64 bytes;
};

struct flow_stats {
    struct counters total;
    char label[8];
    __u32 low_bits : 3;
    __u32 seen : 1;
    __u32 : 4;
    __u32 ttl : 8;
    __s32 last_delta;
    __u16 sizes[4];
    _Bool any_large;
    void *cookie;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __type(key, struct flow_key);
    __type(value, struct flow_stats);
    __uint(max_entries, 64);
} flows SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __type(key, enum proto_class);
    __type(value, __u64);
    __uint(max_entries, 32);
} by_class SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __type(key, __u32);
    __type(value, struct counters);
    __uint(max_entries, 2);
} per_cpu SEC(".maps");

// The legacy style: struct bpf_map_def, typed by a ____btf_map_<name> struct.
struct bpf_map_def {
    unsigned int type;
    unsigned int key_size;
    unsigned int value_size;
    unsigned int max_entries;
    unsigned int map_flags;
};
#define BPF_ANNOTATE_KV_PAIR(name, type_key, type_val)                                      \
    struct ____btf_map_##name {                                                            \
        type_key key;                                                                      \
        type_val value;                                                                    \
    };                                                                                     \
    struct ____btf_map_##name __attribute__((section(".maps." #name), used)) ____btf_map_##name = {}

struct bpf_map_def SEC("maps") lengths = {
    .type = BPF_MAP_TYPE_HASH,
    .key_size = sizeof(__u16),
    .value_size = sizeof(__s64),
    .max_entries = 16,
};
BPF_ANNOTATE_KV_PAIR(lengths, __u16, __s64);

struct config {
    __u32 min_len;
    char tag[8];
    enum proto_class focus;
};

volatile const struct config config = {.min_len = 64, .tag = "typed", .focus = CLASS_UDP};
char last_label[8] = "none";
__s16 bias = -5;
double ratio = 0.25;
__u64 magic = 0xfedcba9876543210ULL;  // past 2^53: JSON must keep it exact
__u64 packets_seen;
struct counters ipv4;

static __always_inline enum proto_class classify(__u32 protocol)
{
    switch (protocol) {
    case 1: return CLASS_ICMP;
    case 6: return CLASS_TCP;
    case 17: return CLASS_UDP;
    default: return CLASS_OTHER;
    }
}

static __always_inline void set_label(char *label, enum proto_class cls)
{
    switch (cls) {
    case CLASS_ICMP: __builtin_memcpy(label, "icmp\0\0\0", 8); break;
    case CLASS_TCP: __builtin_memcpy(label, "tcp\0\0\0\0", 8); break;
    case CLASS_UDP: __builtin_memcpy(label, "udp\0\0\0\0", 8); break;
    default: __builtin_memcpy(label, "other\0\0", 8); break;
    }
}

static __always_inline __u32 size_bucket(__u32 len)
{
    if (len < 128) return 0;
    if (len < 512) return 1;
    if (len < 1024) return 2;
    return 3;
}

SEC("socket")
int typed_maps(struct __sk_buff *skb)
{
    __u32 zero = 0;
    __u32 len = skb->len;

    packets_seen++;
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 0;

    __u32 version_ihl = load_byte(skb, ETH_HLEN);
    __u32 protocol = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
    __u32 ttl = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, ttl));
    struct flow_key key = {
        .protocol = protocol,
        .version = version_ihl >> 4,
        .ihl = version_ihl & 0xf,
        .ethertype = ETH_P_IP,
        .cls = classify(protocol),
    };

    struct flow_stats *stats = bpf_map_lookup_elem(&flows, &key);
    if (!stats) {
        struct flow_stats fresh = {};
        set_label(fresh.label, key.cls);
        fresh.low_bits = protocol & 7;
        fresh.seen = 1;
        fresh.ttl = ttl;
        bpf_map_update_elem(&flows, &key, &fresh, BPF_NOEXIST);
        stats = bpf_map_lookup_elem(&flows, &key);
        if (!stats)
            return 0;
    }
    stats->total.packets++;
    stats->total.bytes += len;
    stats->last_delta = (__s32)len - (__s32)config.min_len;
    stats->sizes[size_bucket(len)]++;
    if (len > 1000)
        stats->any_large = 1;

    enum proto_class cls = key.cls;
    __u64 *count = bpf_map_lookup_elem(&by_class, &cls);
    if (count)
        __sync_fetch_and_add(count, 1);

    struct counters *mine = bpf_map_lookup_elem(&per_cpu, &zero);
    if (mine) {
        mine->packets++;
        mine->bytes += len;
    }

    __u16 bucket = size_bucket(len);
    __s64 *seen = bpf_map_lookup_elem(&lengths, &bucket);
    if (seen) {
        *seen -= 1;
    } else {
        __s64 first = -1;
        bpf_map_update_elem(&lengths, &bucket, &first, BPF_NOEXIST);
    }

    ipv4.packets++;
    ipv4.bytes += len;
    set_label(last_label, key.cls);
    return 0;
}

char _license[] SEC("license") = "GPL";
