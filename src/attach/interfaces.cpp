#include "attach/interfaces.hpp"

#include "attach/packet_io.hpp"

#include <fmt/format.h>

#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace bpfrt::attach {

namespace {

// An AF_PACKET socket bound to one interface, sending only.
class LiveOutput {
public:
    explicit LiveOutput(int fd) : fd_(fd) {}
    ~LiveOutput() { ::close(fd_); }
    LiveOutput(const LiveOutput&) = delete;
    LiveOutput& operator=(const LiveOutput&) = delete;

    Result<void> send(std::span<const uint8_t> frame, const std::string& name) const {
        const ssize_t n = ::send(fd_, frame.data(), frame.size(), MSG_DONTWAIT);
        if (n < 0) return fail(errno, fmt::format("sending on {}: {}", name, std::strerror(errno)));
        return {};
    }

private:
    int fd_;
};

uint32_t interface_mtu(int fd, const std::string& name) {
    ifreq req{};
    std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd, SIOCGIFMTU, &req) != 0) return 0;
    return static_cast<uint32_t>(req.ifr_mtu);
}

}  // namespace

Result<Interface> capture_file_interface(uint32_t ifindex, const std::string& path, int link_type) {
    if (ifindex == 0) return fail(EINVAL, "ifindex 0 names no interface");
    auto created = PacketSink::create(path, link_type);
    if (!created) return std::unexpected(created.error());
    std::shared_ptr<PacketSink> sink = std::move(*created);
    Interface iface;
    iface.ifindex = ifindex;
    iface.name = path;
    iface.deliver = [sink](std::span<const uint8_t> frame, const Delivery& d) {
        return sink->write(frame, static_cast<uint32_t>(frame.size()), d.timestamp_ns);
    };
    return iface;
}

Result<Interface> live_interface(uint32_t ifindex, const std::string& interface_name) {
    if (ifindex == 0) return fail(EINVAL, "ifindex 0 names no interface");
    const unsigned host_index = if_nametoindex(interface_name.c_str());
    if (host_index == 0) return fail(ENODEV, fmt::format("no interface named '{}'", interface_name));
    const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);  // protocol 0: receives nothing
    if (fd < 0)
        return fail(errno, fmt::format("cannot open a packet socket for {}: {}{}", interface_name, std::strerror(errno),
                                       errno == EPERM ? " (needs CAP_NET_RAW)" : ""));
    auto output = std::make_shared<LiveOutput>(fd);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_ifindex = static_cast<int>(host_index);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        return fail(errno, fmt::format("cannot bind to {}: {}", interface_name, std::strerror(errno)));
    Interface iface;
    iface.ifindex = ifindex;
    iface.name = interface_name;
    iface.mtu = interface_mtu(fd, interface_name);
    iface.deliver = [output, interface_name](std::span<const uint8_t> frame, const Delivery&) {
        return output->send(frame, interface_name);
    };
    return iface;
}

Result<Interface> interface_from_spec(const std::string& spec, int link_type) {
    const size_t eq = spec.find('=');
    const auto usage = [&] {
        return fail(EINVAL, fmt::format("'{}': expected IFINDEX=FILE (a pcap file) or IFINDEX=@NAME (a live "
                                        "interface)",
                                        spec));
    };
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) return usage();
    uint32_t ifindex = 0;
    const char* end = spec.data() + eq;
    const auto parsed = std::from_chars(spec.data(), end, ifindex);
    if (parsed.ec != std::errc() || parsed.ptr != end || ifindex == 0) return usage();
    const std::string target = spec.substr(eq + 1);
    if (target[0] == '@') {
        if (target.size() == 1) return usage();
        return live_interface(ifindex, target.substr(1));
    }
    return capture_file_interface(ifindex, target, link_type);
}

}  // namespace bpfrt::attach
