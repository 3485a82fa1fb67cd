// Shared definitions for the corpus's networking programs: the UAPI headers,
// libbpf's helper macros and a few header-parsing helpers written the way
// XDP/tc projects usually write them (each access checked against data_end).
#pragma once

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef ETH_P_8021Q
#define ETH_P_8021Q 0x8100
#endif
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif

// linux/icmp.h drags in libc's socket headers, so the ICMP header is spelt here.
struct icmp_hdr {
    __u8 type;
    __u8 code;
    __sum16 checksum;
    __be16 id;
    __be16 sequence;
};
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_FRAG_NEEDED 4

struct vlan_hdr {
    __be16 h_vlan_TCI;
    __be16 h_vlan_encapsulated_proto;
};

// The 5-tuple used as a flow key by several programs (IPv4 and IPv6 alike:
// an IPv4 address sits in the first word).
struct flow_key {
    __u32 saddr[4];
    __u32 daddr[4];
    __u16 sport;
    __u16 dport;
    __u8 proto;
    __u8 family;
    __u16 pad;
};

static __always_inline int proto_is_vlan(__u16 h_proto)
{
    return h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD);
}

// Folds a 32-bit partial checksum into 16 bits (RFC 1071).
static __always_inline __u16 csum_fold_helper(__u64 csum)
{
    for (int i = 0; i < 4; i++) {
        if (csum >> 16)
            csum = (csum & 0xffff) + (csum >> 16);
    }
    return (__u16)~csum;
}

// Incremental checksum update for one 16-bit field change (RFC 1624).
static __always_inline void csum_replace2(__u16 *sum, __u16 old, __u16 new_val)
{
    __u32 csum = (__u16)~*sum;
    csum += (__u16)~old;
    csum += new_val;
    csum = (csum & 0xffff) + (csum >> 16);
    csum = (csum & 0xffff) + (csum >> 16);
    *sum = (__u16)~csum;
}

static __always_inline void csum_replace4(__u16 *sum, __u32 old, __u32 new_val)
{
    csum_replace2(sum, (__u16)(old >> 16), (__u16)(new_val >> 16));
    csum_replace2(sum, (__u16)old, (__u16)new_val);
}
