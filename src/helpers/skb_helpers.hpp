// The helpers tc programs use to change the packet of their __sk_buff, with
// the kernel's numbers, flags and errors: bpf_skb_store_bytes (9),
// bpf_l3_csum_replace (10), bpf_l4_csum_replace (11) and
// bpf_skb_adjust_room (50). Their prototypes are in prototypes.cpp.
//
// They work on the runtime's SkbContext (runtime/contexts.hpp): the packet
// from its Ethernet header (the tc view), skb->len and the data pointers
// follow every change, and so does the packet LD_ABS reads.
//
// Checksums are modelled as the kernel's CHECKSUM_NONE (the packet carries
// complete checksums, nothing is offloaded): the csum helpers rewrite the
// checksum field with the one's-complement difference, BPF_F_PSEUDO_HDR and
// BPF_F_RECOMPUTE_CSUM change nothing else (they update skb->csum of
// CHECKSUM_COMPLETE packets in the kernel), BPF_F_INVALIDATE_HASH clears
// skb->hash.
//
// bpf_skb_adjust_room inserts zeroed room (or removes bytes) after the MAC
// header (BPF_ADJ_ROOM_MAC) or after the base network header
// (BPF_ADJ_ROOM_NET) of IPv4/IPv6 packets, with the kernel's limits and
// encap/decap flag rules (skb->protocol follows BPF_F_ADJ_ROOM_ENCAP_L3_* /
// DECAP_L3_*). Growing uses the free bytes the host left before the packet
// (SkbContext::headroom): where the kernel would reallocate the skb, a
// packet without enough headroom gives -ENOMEM. GSO packets do not exist
// here, and a second encapsulation is not refused with -EALREADY (bpfrt does
// not track skb->encapsulation).
#pragma once

#include <bpfrt/vm.hpp>

namespace bpfrt::helpers {

void register_skb_helpers(vm::HelperTable& table);

}  // namespace bpfrt::helpers
