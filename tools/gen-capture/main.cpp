// bpfrt-gen-capture: writes a deterministic pcap of synthetic traffic (TCP,
// UDP and ICMP over IPv4, some IPv6 and ARP) for examples, tests and
// benchmarks. The same seed and count always give the same file.
#include <CLI/CLI.hpp>
#include <pcap/pcap.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr uint8_t kTcp = 6, kUdp = 17, kIcmp = 1, kIcmpv6 = 58;

class Frame {
public:
    void u8(uint8_t v) { bytes_.push_back(v); }
    void u16(uint16_t v) { u8(static_cast<uint8_t>(v >> 8)), u8(static_cast<uint8_t>(v)); }
    void u32(uint32_t v) { u16(static_cast<uint16_t>(v >> 16)), u16(static_cast<uint16_t>(v)); }
    void fill(size_t n, uint8_t v) { bytes_.insert(bytes_.end(), n, v); }
    size_t size() const { return bytes_.size(); }
    void put16(size_t at, uint16_t v) {
        bytes_[at] = static_cast<uint8_t>(v >> 8);
        bytes_[at + 1] = static_cast<uint8_t>(v);
    }
    const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    std::vector<uint8_t> bytes_;
};

uint16_t internet_checksum(const uint8_t* p, size_t n) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n % 2) sum += static_cast<uint32_t>(p[n - 1] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum);
}

void ethernet(Frame& f, std::mt19937& rng, uint16_t ethertype) {
    for (int i = 0; i < 12; ++i) f.u8(static_cast<uint8_t>(rng()));
    f.u16(ethertype);
}

void l4_header(Frame& f, std::mt19937& rng, uint8_t proto) {
    const uint16_t sport = static_cast<uint16_t>(1024 + rng() % 60000);
    const uint16_t dport = std::array<uint16_t, 5>{80, 443, 53, 22, 8080}[rng() % 5];
    if (proto == kTcp) {
        f.u16(sport), f.u16(dport), f.u32(rng()), f.u32(rng());
        f.u16(0x5018), f.u16(65535), f.u16(0), f.u16(0);
    } else if (proto == kUdp) {
        f.u16(sport), f.u16(dport), f.u16(0), f.u16(0);
    } else {  // ICMP / ICMPv6 echo request
        f.u8(proto == kIcmp ? 8 : 128), f.u8(0), f.u16(0), f.u16(static_cast<uint16_t>(rng())), f.u16(1);
    }
}

std::vector<uint8_t> ipv4_packet(std::mt19937& rng, uint8_t proto, size_t payload) {
    Frame f;
    ethernet(f, rng, 0x0800);
    const size_t ip = f.size();
    f.u16(0x4500), f.u16(0), f.u16(static_cast<uint16_t>(rng())), f.u16(0x4000);
    f.u8(64), f.u8(proto), f.u16(0), f.u32(0x0a000000 | (rng() & 0xffff)), f.u32(0xc0a80000 | (rng() & 0xffff));
    l4_header(f, rng, proto);
    f.fill(payload, static_cast<uint8_t>(rng()));
    f.put16(ip + 2, static_cast<uint16_t>(f.size() - ip));
    f.put16(ip + 10, internet_checksum(f.bytes().data() + ip, 20));
    return f.bytes();
}

std::vector<uint8_t> ipv6_packet(std::mt19937& rng, uint8_t proto, size_t payload) {
    Frame f;
    ethernet(f, rng, 0x86dd);
    const size_t ip = f.size();
    f.u32(0x60000000), f.u16(0), f.u8(proto), f.u8(64);
    for (int i = 0; i < 32; ++i) f.u8(static_cast<uint8_t>(rng()));
    l4_header(f, rng, proto);
    f.fill(payload, static_cast<uint8_t>(rng()));
    f.put16(ip + 4, static_cast<uint16_t>(f.size() - ip - 40));
    return f.bytes();
}

std::vector<uint8_t> arp_packet(std::mt19937& rng) {
    Frame f;
    ethernet(f, rng, 0x0806);
    f.u16(1), f.u16(0x0800), f.u8(6), f.u8(4), f.u16(1);
    for (int i = 0; i < 20; ++i) f.u8(static_cast<uint8_t>(rng()));
    f.fill(18, 0);  // pad to the Ethernet minimum
    return f.bytes();
}

std::vector<uint8_t> next_packet(std::mt19937& rng) {
    const unsigned pick = rng() % 100;
    const size_t payload = rng() % 4 == 0 ? 1400 : rng() % 200;
    if (pick < 45) return ipv4_packet(rng, kTcp, payload);
    if (pick < 75) return ipv4_packet(rng, kUdp, payload);
    if (pick < 85) return ipv4_packet(rng, kIcmp, payload % 64);
    if (pick < 91) return ipv6_packet(rng, kTcp, payload);
    if (pick < 96) return ipv6_packet(rng, kUdp, payload);
    if (pick < 98) return ipv6_packet(rng, kIcmpv6, payload % 64);
    return arp_packet(rng);
}

int write_capture(const std::string& path, unsigned count, unsigned seed) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t* out = dead ? pcap_dump_open(dead, path.c_str()) : nullptr;
    if (out == nullptr) {
        std::fprintf(stderr, "bpfrt-gen-capture: cannot write %s: %s\n", path.c_str(),
                     dead ? pcap_geterr(dead) : "pcap_open_dead failed");
        if (dead) pcap_close(dead);
        return 1;
    }
    std::mt19937 rng(seed);
    long usec = 0;
    for (unsigned i = 0; i < count; ++i) {
        const auto pkt = next_packet(rng);
        usec += 50 + static_cast<long>(rng() % 2000);
        pcap_pkthdr hdr{};
        hdr.ts.tv_sec = 1700000000 + usec / 1000000;
        hdr.ts.tv_usec = usec % 1000000;
        hdr.caplen = hdr.len = static_cast<bpf_u_int32>(pkt.size());
        pcap_dump(reinterpret_cast<u_char*>(out), &hdr, pkt.data());
    }
    pcap_dump_close(out);
    pcap_close(dead);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Write a deterministic pcap of synthetic TCP/UDP/ICMP traffic"};
    std::string output;
    unsigned count = 3000;
    unsigned seed = 1;
    app.add_option("-o,--output", output, "pcap file to write")->required();
    app.add_option("-n,--count", count, "number of packets")->check(CLI::Range(1u, 10000000u));
    app.add_option("--seed", seed, "random seed");
    CLI11_PARSE(app, argc, argv);
    return write_capture(output, count, seed);
}
