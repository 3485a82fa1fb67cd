// libpcap's classic BPF (pcap_compile + pcap_offline_filter), in a translation
// unit of its own: <pcap/bpf.h> and <linux/bpf.h> both define struct bpf_insn.
#include <pcap/pcap.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

struct ClassicFilter {
    pcap_t* dead = nullptr;
    bpf_program program{};
};

ClassicFilter* classic_compile(const std::string& expression) {
    auto* f = new ClassicFilter;
    f->dead = pcap_open_dead(DLT_EN10MB, 65535);
    if (pcap_compile(f->dead, &f->program, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
        throw std::runtime_error(pcap_geterr(f->dead));
    return f;
}

// Matches over every packet; returns how many matched.
uint64_t classic_run(ClassicFilter* f, const std::vector<std::vector<uint8_t>>& packets) {
    uint64_t matched = 0;
    for (const auto& p : packets) {
        pcap_pkthdr header{};
        header.caplen = header.len = static_cast<bpf_u_int32>(p.size());
        matched += pcap_offline_filter(&f->program, &header, p.data()) != 0;
    }
    return matched;
}

}  // namespace bench
