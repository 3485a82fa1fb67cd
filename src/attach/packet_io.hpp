// Packet sources and sinks for packet programs: capture files (pcap and
// pcapng, through libpcap), live capture on an interface, and pcap output.
#pragma once

#include <bpfrt/error.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace bpfrt::attach {

struct Packet {
    std::span<const uint8_t> data;  // captured bytes (caplen)
    uint32_t wire_len = 0;          // original length on the wire
    int64_t timestamp_ns = 0;
};

// Reads packets one at a time. The span of a returned Packet stays valid
// until the next call to next().
class PacketSource {
public:
    virtual ~PacketSource() = default;
    // The next packet, nullopt-like false at the end; an error on a broken file.
    virtual Result<bool> next(Packet& out) = 0;
    virtual int link_type() const noexcept = 0;  // DLT_* (DLT_EN10MB for Ethernet)
    // Bytes of the file consumed so far and its size, for progress; 0 when unknown.
    virtual uint64_t position() const noexcept { return 0; }
    virtual uint64_t total_size() const noexcept { return 0; }
};

// A pcap or pcapng file.
Result<std::unique_ptr<PacketSource>> open_capture_file(const std::string& path);

// Live capture on an interface (needs root or CAP_NET_RAW). Stops after
// `max_packets` (0 = unlimited) or when the timeout passes with no packet.
Result<std::unique_ptr<PacketSource>> open_live_capture(const std::string& interface, int timeout_ms,
                                                        uint64_t max_packets);

// Writes packets to a new pcap file.
class PacketSink {
public:
    static Result<std::unique_ptr<PacketSink>> create(const std::string& path, int link_type);
    ~PacketSink();
    PacketSink(const PacketSink&) = delete;
    PacketSink& operator=(const PacketSink&) = delete;

    // `wire_len` keeps the original length; `data` may be shorter (a socket
    // filter keeping only part of a packet) or modified (XDP).
    Result<void> write(std::span<const uint8_t> data, uint32_t wire_len, int64_t timestamp_ns);
    Result<void> close();

private:
    PacketSink() = default;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace bpfrt::attach
