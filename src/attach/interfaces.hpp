// Devices the packet runner can send packets to: the targets of
// bpf_redirect / bpf_redirect_map (XDP_REDIRECT, TC_ACT_REDIRECT) and of
// XDP_TX (out of the ingress device).
//
// In the kernel an ifindex names a network device. In user space the host
// says what each ifindex is: a callback, a capture file that collects what
// is sent there, or a live interface the frames are transmitted on (an
// AF_PACKET socket; needs CAP_NET_RAW).
#pragma once

#include <bpfrt/error.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace bpfrt::attach {

// What a delivered frame is, besides its bytes.
struct Delivery {
    uint32_t ifindex = 0;       // the interface it goes to
    uint32_t from_ifindex = 0;  // the ingress interface of the run (PacketRunOptions::ifindex)
    bool tx = false;            // XDP_TX: sent back out of the ingress interface
    bool ingress = false;       // tc bpf_redirect(..., BPF_F_INGRESS): received by the target, not sent
    int64_t timestamp_ns = 0;   // the original packet's
};

// Takes one frame; the span is valid only during the call. An error counts
// as a failed delivery (the packet is lost, as a failed transmit).
using DeliverFn = std::function<Result<void>(std::span<const uint8_t> frame, const Delivery& delivery)>;

struct Interface {
    uint32_t ifindex = 0;  // > 0
    std::string name;      // shown in summaries
    // Frames longer than mtu + 14 (Ethernet) + 4 (a VLAN tag) are not
    // delivered (EMSGSIZE), as the kernel's xdp_ok_fwd_dev. 0: any length.
    uint32_t mtu = 0;
    DeliverFn deliver;
};

// Frames to a new pcap file (link type DLT_*: the capture's).
Result<Interface> capture_file_interface(uint32_t ifindex, const std::string& path, int link_type);

// Frames transmitted on a live interface through an AF_PACKET socket
// (ENODEV: no such interface; EPERM: no CAP_NET_RAW). Its MTU is the
// interface's. Sending never blocks: a full queue is a failed delivery.
Result<Interface> live_interface(uint32_t ifindex, const std::string& interface_name);

// "IFINDEX=FILE" (a pcap file) or "IFINDEX=@NAME" (a live interface), the
// form of `bpfrt run --redirect-to`. EINVAL with a message for anything else.
Result<Interface> interface_from_spec(const std::string& spec, int link_type);

}  // namespace bpfrt::attach
