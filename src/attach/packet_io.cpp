#include "attach/packet_io.hpp"

#include <fmt/format.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <sys/stat.h>

namespace bpfrt::attach {
namespace {

struct PcapCloser {
    void operator()(pcap_t* p) const { pcap_close(p); }
};
using PcapHandle = std::unique_ptr<pcap_t, PcapCloser>;

int64_t to_ns(const timeval& tv) {
    return static_cast<int64_t>(tv.tv_sec) * 1'000'000'000 + static_cast<int64_t>(tv.tv_usec) * 1000;
}

class PcapSource final : public PacketSource {
public:
    PcapSource(PcapHandle handle, uint64_t total_size, uint64_t max_packets)
        : handle_(std::move(handle)), total_size_(total_size), max_packets_(max_packets) {}

    Result<bool> next(Packet& out) override {
        if (max_packets_ != 0 && delivered_ >= max_packets_) return false;
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        const int rc = pcap_next_ex(handle_.get(), &hdr, &data);
        if (rc == PCAP_ERROR_BREAK) return false;  // end of file
        if (rc == 0) return false;                 // live capture: timeout with no packet
        if (rc < 0) return fail(EIO, fmt::format("reading packets: {}", pcap_geterr(handle_.get())));
        out.data = std::span<const uint8_t>(data, hdr->caplen);
        out.wire_len = hdr->len;
        out.timestamp_ns = to_ns(hdr->ts);
        ++delivered_;
        if (FILE* f = pcap_file(handle_.get())) position_ = static_cast<uint64_t>(std::ftell(f));
        return true;
    }

    int link_type() const noexcept override { return pcap_datalink(handle_.get()); }
    uint64_t position() const noexcept override { return position_; }
    uint64_t total_size() const noexcept override { return total_size_; }

private:
    PcapHandle handle_;
    uint64_t total_size_ = 0;
    uint64_t max_packets_ = 0;
    uint64_t delivered_ = 0;
    uint64_t position_ = 0;
};

}  // namespace

Result<std::unique_ptr<PacketSource>> open_capture_file(const std::string& path) {
    char err[PCAP_ERRBUF_SIZE] = {};
    // pcap_open_offline reads both pcap and pcapng.
    PcapHandle handle(pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, err));
    if (!handle) return fail(EINVAL, fmt::format("cannot read capture {}: {}", path, err));
    struct stat st {};
    const uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
    return std::make_unique<PcapSource>(std::move(handle), size, 0);
}

Result<std::unique_ptr<PacketSource>> open_live_capture(const std::string& interface, int timeout_ms,
                                                        uint64_t max_packets) {
    char err[PCAP_ERRBUF_SIZE] = {};
    PcapHandle handle(pcap_create(interface.c_str(), err));
    if (!handle) return fail(ENODEV, fmt::format("cannot capture on {}: {}", interface, err));
    pcap_set_snaplen(handle.get(), 65535);
    pcap_set_timeout(handle.get(), timeout_ms);
    pcap_set_immediate_mode(handle.get(), 1);
    const int rc = pcap_activate(handle.get());
    if (rc < 0) {
        const int code = rc == PCAP_ERROR_PERM_DENIED ? EPERM : ENODEV;
        return fail(code, fmt::format("cannot capture on {}: {}", interface, pcap_geterr(handle.get())));
    }
    return std::make_unique<PcapSource>(std::move(handle), 0, max_packets);
}

struct PacketSink::Impl {
    PcapHandle dead;
    pcap_dumper_t* dumper = nullptr;
    std::string path;
};

Result<std::unique_ptr<PacketSink>> PacketSink::create(const std::string& path, int link_type) {
    std::unique_ptr<PacketSink> sink(new PacketSink());
    sink->impl_ = std::make_unique<Impl>();
    sink->impl_->path = path;
    sink->impl_->dead.reset(pcap_open_dead(link_type, 262144));
    if (!sink->impl_->dead) return fail(ENOMEM, "pcap_open_dead failed");
    sink->impl_->dumper = pcap_dump_open(sink->impl_->dead.get(), path.c_str());
    if (sink->impl_->dumper == nullptr)
        return fail(EIO, fmt::format("cannot write {}: {}", path, pcap_geterr(sink->impl_->dead.get())));
    return sink;
}

PacketSink::~PacketSink() { (void)close(); }

Result<void> PacketSink::write(std::span<const uint8_t> data, uint32_t wire_len, int64_t timestamp_ns) {
    if (!impl_ || impl_->dumper == nullptr) return fail(EBADF, "the capture file is closed");
    pcap_pkthdr hdr{};
    hdr.ts.tv_sec = static_cast<time_t>(timestamp_ns / 1'000'000'000);
    hdr.ts.tv_usec = static_cast<suseconds_t>((timestamp_ns % 1'000'000'000) / 1000);
    hdr.caplen = static_cast<bpf_u_int32>(data.size());
    hdr.len = std::max<bpf_u_int32>(wire_len, hdr.caplen);
    pcap_dump(reinterpret_cast<u_char*>(impl_->dumper), &hdr, data.data());
    return {};
}

Result<void> PacketSink::close() {
    if (!impl_ || impl_->dumper == nullptr) return {};
    const bool flushed = pcap_dump_flush(impl_->dumper) == 0;
    pcap_dump_close(impl_->dumper);
    impl_->dumper = nullptr;
    if (!flushed) return fail(EIO, fmt::format("cannot write {}", impl_->path));
    return {};
}

}  // namespace bpfrt::attach
