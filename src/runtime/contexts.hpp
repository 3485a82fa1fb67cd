// The contexts packet and tracing programs get in r1, and the kernel's
// convert_ctx_access for them.
//
// Each packet context starts with its UAPI struct (__sk_buff, xdp_md) at the
// offsets programs are compiled against, so scalar fields (len, protocol,
// cb[]...) are read and written where the program expects them. The UAPI
// declares data / data_end / data_meta as u32 but they hold pointers: after
// verification the runtime rewrites every load of them (the verifier reports
// each context access, VerifyResult::ctx_accesses) into a 64-bit load of
// the real pointer fields that follow the UAPI struct — what the kernel's
// convert_ctx_access does with struct sk_buff / xdp_buff.
#pragma once

#include "verifier/verifier.hpp"

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpfrt::runtime {

// r1 of socket filters and tc programs.
struct SkbContext {
    struct __sk_buff skb {};  // what programs see at UAPI offsets
    uint64_t data = 0;        // first byte the program sees (converted loads of skb.data)
    uint64_t data_end = 0;
    uint64_t data_meta = 0;
    // Not visible to programs (beyond the verified context size).
    uint8_t* packet = nullptr;  // == data
    uint32_t packet_len = 0;
    // Free bytes of the buffer before `packet` and after its end: helpers
    // that grow the packet use them (bpf_skb_adjust_room); fill_skb sets 0.
    uint32_t headroom = 0;
    uint32_t tailroom = 0;
};

// XDP buffer geometry as the kernel's BPF_PROG_TEST_RUN and native XDP
// drivers give it: a 4096-byte frame, XDP_PACKET_HEADROOM (256) before the
// packet, of which the first sizeof(struct xdp_frame) (40) cannot be used,
// and the skb_shared_info tailroom (320) at the end.
inline constexpr size_t kXdpFrameSize = 4096;
inline constexpr size_t kXdpHeadroom = 256;
inline constexpr size_t kXdpFrameReserve = 40;  // sizeof(struct xdp_frame)
inline constexpr size_t kXdpTailroom = 320;     // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
inline constexpr size_t kXdpMaxPacket = kXdpFrameSize - kXdpHeadroom - kXdpTailroom;  // 3520
// Metadata before the packet: at most type_max(skb_shared_info.meta_len) = 255
// bytes, a multiple of 4 (xdp_metalen_invalid; it was 32 before Linux 6.x),
// and never into the reserved xdp_frame (216 bytes here).
inline constexpr size_t kXdpMaxMeta = 255;

// r1 of XDP programs.
struct XdpContext {
    struct xdp_md md {};  // ingress_ifindex, rx_queue_index at UAPI offsets
    uint64_t data = 0;
    uint64_t data_end = 0;
    uint64_t data_meta = 0;
    uint8_t* hard_start = nullptr;  // the frame buffer (kXdpFrameSize bytes)
};

// A frame buffer for one XDP run: the packet copied after the headroom.
struct XdpBuffer {
    alignas(8) uint8_t bytes[kXdpFrameSize];
    XdpContext ctx;
    // Copies `packet` (at most kXdpMaxPacket bytes) and sets ctx.
    void reset(const uint8_t* packet, size_t len, uint32_t ifindex = 1, uint32_t rx_queue = 0);
    // As reset, the first `metalen` (<= kXdpHeadroom - kXdpFrameReserve) of
    // `len` bytes being metadata: they go just before the packet, in the
    // headroom (as the kernel's test run with an xdp_md whose data is metalen).
    void reset_with_meta(const uint8_t* bytes_in, size_t len, size_t metalen, uint32_t ifindex, uint32_t rx_queue);
    const uint8_t* data() const { return reinterpret_cast<const uint8_t*>(ctx.data); }
    size_t size() const { return static_cast<size_t>(ctx.data_end - ctx.data); }
    // The metadata and the packet (data_meta..data_end).
    const uint8_t* meta() const { return reinterpret_cast<const uint8_t*>(ctx.data_meta); }
    size_t size_with_meta() const { return static_cast<size_t>(ctx.data_end - ctx.data_meta); }
};

// How a socket filter sees a packet.
enum class SkbView {
    Ethernet,  // from the Ethernet header, as on a packet socket (bpfrt's socket filters)
    Network,   // from the network header, as the kernel's BPF_PROG_TEST_RUN gives socket filters
};

// Fills an __sk_buff context for an Ethernet frame (data from the view's
// first byte): len, protocol, pkt_type, vlan fields, ifindex, hash...
void fill_skb(SkbContext& ctx, uint8_t* frame, size_t frame_len, SkbView view, uint32_t pkt_type,
              uint32_t ifindex = 1);

// Rewrites the context accesses of a verified program of `prog_type` (the
// kernel's convert_ctx_accesses). EINVAL for an access it cannot convert.
Result<void> convert_ctx_accesses(uint32_t prog_type, const std::vector<verifier::CtxAccess>& accesses,
                                  std::vector<bpf_insn>& insns);

// The end of the furthest context byte a program reads (the kernel's
// max_ctx_offset): tracing programs may attach only to events whose context
// is at least that large.
uint32_t max_ctx_offset(const std::vector<verifier::CtxAccess>& accesses);

}  // namespace bpfrt::runtime
