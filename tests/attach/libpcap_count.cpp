// Counting with libpcap's own classic-BPF compiler and interpreter: the
// independent reference for the sockex1 counts.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bpfrt::test {

// Bytes (sum of captured lengths) of the packets matching a filter expression.
uint64_t libpcap_bytes(const std::vector<std::vector<uint8_t>>& packets, const std::string& expression) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    bpf_program filter{};
    EXPECT_EQ(pcap_compile(dead, &filter, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN), 0) << pcap_geterr(dead);
    uint64_t bytes = 0;
    for (const auto& p : packets) {
        pcap_pkthdr header{};
        header.caplen = header.len = static_cast<bpf_u_int32>(p.size());
        if (pcap_offline_filter(&filter, &header, p.data()) != 0) bytes += p.size();
    }
    pcap_freecode(&filter);
    pcap_close(dead);
    return bytes;
}

// Number of packets matching a filter expression.
uint64_t libpcap_packets(const std::vector<std::vector<uint8_t>>& packets, const std::string& expression) {
    pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
    bpf_program filter{};
    EXPECT_EQ(pcap_compile(dead, &filter, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN), 0) << pcap_geterr(dead);
    uint64_t matched = 0;
    for (const auto& p : packets) {
        pcap_pkthdr header{};
        header.caplen = header.len = static_cast<bpf_u_int32>(p.size());
        if (pcap_offline_filter(&filter, &header, p.data()) != 0) ++matched;
    }
    pcap_freecode(&filter);
    pcap_close(dead);
    return matched;
}

}  // namespace bpfrt::test
