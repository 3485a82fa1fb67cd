// Live capture, end to end: in a new network namespace (a forked child,
// unshare(CLONE_NEWNET)), a veth pair is created over rtnetlink, known
// frames are sent on one end through an AF_PACKET socket, captured on the
// other with bpfrt's live capture (libpcap), and a socket filter and an XDP
// program run on them; a second pair checks that XDP_REDIRECT to a live
// interface transmits the frames. Counts are checked in the child and
// reported to the test through a pipe.
//
// Skipped, saying why, without root / CAP_SYS_ADMIN (no namespace), without
// CAP_NET_ADMIN, or without the veth driver. Nothing can hang: the child has
// a deadline for every wait and the test kills it after kChildTimeout.
//
// Its own executable: fork() is safe only while the process has one thread.
#include "test_support.hpp"

#include "attach/interfaces.hpp"
#include "attach/packet_io.hpp"

#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <string>

namespace bpfrt::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kChildTimeout = std::chrono::seconds(30);
constexpr auto kCaptureDeadline = std::chrono::seconds(5);

// ---- the child's verdict, through a pipe ----

struct Verdict {
    enum Kind { Ok, Skip, Fail } kind = Fail;
    std::string message;
};

// Runs `body` in a forked child; its returned Verdict comes back. A child
// that does not answer within kChildTimeout is killed: a failure.
Verdict in_child(const std::function<Verdict()>& body) {
    int fds[2];
    if (::pipe(fds) != 0) return {Verdict::Fail, "pipe failed"};
    const pid_t pid = ::fork();
    if (pid < 0) return {Verdict::Fail, "fork failed"};
    if (pid == 0) {
        ::close(fds[0]);
        ::alarm(static_cast<unsigned>(kChildTimeout.count()) + 5);  // a last resort if the parent is gone
        Verdict v;
        try {
            v = body();
        } catch (const std::exception& e) {
            v = {Verdict::Fail, std::string("exception: ") + e.what()};
        }
        const std::string text = std::to_string(static_cast<int>(v.kind)) + v.message;
        [[maybe_unused]] ssize_t n = ::write(fds[1], text.data(), text.size());
        ::_exit(0);  // no gtest teardown in the child
    }
    ::close(fds[1]);
    std::string text;
    const auto deadline = Clock::now() + kChildTimeout;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) break;
        pollfd p{fds[0], POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) break;
        char buf[512];
        const ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;  // the child closed the pipe (exited)
        text.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    if (Clock::now() >= deadline) ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (text.empty())
        return {Verdict::Fail, WIFSIGNALED(status) ? "the child was killed (timeout or crash)" : "the child said nothing"};
    return {static_cast<Verdict::Kind>(text[0] - '0'), text.substr(1)};
}

void expect_ok(const Verdict& v) {
    if (v.kind == Verdict::Skip) GTEST_SKIP() << v.message;
    EXPECT_EQ(v.kind, Verdict::Ok) << v.message;
}

// ---- network setup inside the namespace ----

// One rtnetlink request: RTM_NEWLINK for a veth pair. 0 or an errno.
class Netlink {
public:
    Netlink() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
        timeval tv{2, 0};
        if (fd_ >= 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~Netlink() {
        if (fd_ >= 0) ::close(fd_);
    }
    Netlink(const Netlink&) = delete;
    Netlink& operator=(const Netlink&) = delete;

    int add_veth(const std::string& name, const std::string& peer) {
        if (fd_ < 0) return errno;
        Message m(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
        m.ifinfo();
        m.attr(IFLA_IFNAME, name.c_str(), name.size() + 1);
        const size_t linkinfo = m.nest(IFLA_LINKINFO);
        m.attr(IFLA_INFO_KIND, "veth", 5);
        const size_t data = m.nest(IFLA_INFO_DATA);
        const size_t peer_info = m.nest(VETH_INFO_PEER);
        m.ifinfo();
        m.attr(IFLA_IFNAME, peer.c_str(), peer.size() + 1);
        m.end(peer_info);
        m.end(data);
        m.end(linkinfo);
        return transact(m);
    }

private:
    struct Message {
        alignas(NLMSG_ALIGNTO) unsigned char buf[1024] = {};
        nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf); }
        Message(uint16_t type, uint16_t flags) {
            hdr()->nlmsg_len = NLMSG_LENGTH(0);
            hdr()->nlmsg_type = type;
            hdr()->nlmsg_flags = flags;
            hdr()->nlmsg_seq = 1;
        }
        void append(const void* data, size_t len) {
            std::memcpy(buf + hdr()->nlmsg_len, data, len);
            hdr()->nlmsg_len = static_cast<uint32_t>(NLMSG_ALIGN(hdr()->nlmsg_len + len));
        }
        void ifinfo() {
            ifinfomsg ifi{};
            ifi.ifi_family = AF_UNSPEC;
            append(&ifi, sizeof ifi);
        }
        void attr(uint16_t type, const void* data, size_t len) {
            rtattr a{static_cast<unsigned short>(RTA_LENGTH(len)), type};
            const size_t at = hdr()->nlmsg_len;
            std::memcpy(buf + at, &a, sizeof a);
            if (len != 0) std::memcpy(buf + at + RTA_LENGTH(0), data, len);
            hdr()->nlmsg_len = static_cast<uint32_t>(NLMSG_ALIGN(at + RTA_LENGTH(len)));
        }
        size_t nest(uint16_t type) {
            const size_t at = hdr()->nlmsg_len;
            attr(type, nullptr, 0);
            return at;
        }
        void end(size_t at) {
            rtattr a;
            std::memcpy(&a, buf + at, sizeof a);
            a.rta_len = static_cast<unsigned short>(hdr()->nlmsg_len - at);
            std::memcpy(buf + at, &a, sizeof a);
        }
    };

    int transact(Message& m) {
        sockaddr_nl kernel{};
        kernel.nl_family = AF_NETLINK;
        if (::sendto(fd_, m.buf, m.hdr()->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
            return errno;
        alignas(NLMSG_ALIGNTO) unsigned char reply[4096];
        const ssize_t n = ::recv(fd_, reply, sizeof reply, 0);
        if (n < 0) return errno;
        const auto* h = reinterpret_cast<const nlmsghdr*>(reply);
        if (n < static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr))) || h->nlmsg_type != NLMSG_ERROR) return EPROTO;
        nlmsgerr err;
        std::memcpy(&err, NLMSG_DATA(h), sizeof err);
        return -err.error;
    }

    int fd_;
};

int set_up(const std::string& name) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return errno;
    ifreq req{};
    std::strncpy(req.ifr_name, name.c_str(), IFNAMSIZ - 1);
    int error = 0;
    if (::ioctl(fd, SIOCGIFFLAGS, &req) != 0) error = errno;
    req.ifr_flags = static_cast<short>(req.ifr_flags | IFF_UP);
    if (error == 0 && ::ioctl(fd, SIOCSIFFLAGS, &req) != 0) error = errno;
    ::close(fd);
    return error;
}

// No IPv6 on the test interfaces: no router solicitations in the capture.
void quiet(const std::string& name) {
    std::ofstream(("/proc/sys/net/ipv6/conf/" + name + "/disable_ipv6").c_str()) << "1\n";
}

// A new network namespace with veth pairs (a, b) for each pair given, up.
std::optional<Verdict> make_namespace(const std::vector<std::pair<std::string, std::string>>& pairs) {
    if (::unshare(CLONE_NEWNET) != 0) {
        const int error = errno;
        // Not root: a user namespace gives the capabilities inside, where permitted.
        if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
            return Verdict{Verdict::Skip, std::string("cannot create a network namespace: ") + std::strerror(error) +
                                              " (needs root or CAP_SYS_ADMIN), and no user namespace either: " +
                                              std::strerror(errno)};
    }
    Netlink nl;
    for (const auto& [a, b] : pairs) {
        const int error = nl.add_veth(a, b);
        if (error == EOPNOTSUPP || error == ENOENT)
            return Verdict{Verdict::Skip, "the kernel has no veth driver: " + std::string(std::strerror(error))};
        if (error == EPERM || error == EACCES)
            return Verdict{Verdict::Skip, "no CAP_NET_ADMIN to create a veth pair: " + std::string(std::strerror(error))};
        if (error != 0) return Verdict{Verdict::Fail, "creating veth " + a + ": " + std::strerror(error)};
        for (const std::string& name : {a, b}) {
            quiet(name);
            if (const int e = set_up(name); e != 0)
                return Verdict{Verdict::Fail, "bringing " + name + " up: " + std::strerror(e)};
        }
    }
    return std::nullopt;
}

// ---- frames ----

constexpr uint8_t kSource[6] = {0x02, 0x62, 0x70, 0x66, 0x72, 0x74};  // "bpfrt": marks our frames

std::vector<uint8_t> frame(uint8_t proto, size_t len, uint16_t ethertype = 0x0800) {
    auto f = ip_frame(proto, len);
    for (int i = 0; i < 6; ++i) f[static_cast<size_t>(i)] = 0xff;  // broadcast: every receiver takes it
    std::memcpy(f.data() + 6, kSource, 6);
    f[12] = static_cast<uint8_t>(ethertype >> 8);
    f[13] = static_cast<uint8_t>(ethertype);
    return f;
}

bool ours(std::span<const uint8_t> f) { return f.size() >= 12 && std::memcmp(f.data() + 6, kSource, 6) == 0; }

// 6 TCP, 4 UDP, 3 ICMP, 2 ARP frames, in a mixed order.
std::vector<std::vector<uint8_t>> test_frames() {
    std::vector<std::vector<uint8_t>> out;
    const uint8_t order[] = {6, 17, 1, 6, 6, 17, 0, 1, 6, 17, 6, 0, 1, 17, 6};
    size_t len = 60;
    for (uint8_t p : order) {
        out.push_back(p == 0 ? frame(0, 60, 0x0806) : frame(p, len));
        len += 4;
    }
    return out;
}

Result<void> send_frames(const std::string& interface, const std::vector<std::vector<uint8_t>>& frames) {
    auto out = attach::live_interface(1, interface);
    if (!out) return std::unexpected(out.error());
    for (const auto& f : frames)
        if (auto sent = out->deliver(f, {}); !sent) return sent;
    return {};
}

// Our frames captured on `source` until `count` arrived or the deadline passed.
std::vector<std::vector<uint8_t>> capture(attach::PacketSource& source, size_t count) {
    std::vector<std::vector<uint8_t>> got;
    const auto deadline = Clock::now() + kCaptureDeadline;
    attach::Packet p;
    while (got.size() < count && Clock::now() < deadline) {
        auto more = source.next(p);  // false: the 100 ms timeout passed with nothing
        if (!more) break;
        if (*more && ours(p.data)) got.emplace_back(p.data.begin(), p.data.end());
    }
    return got;
}

// ---- programs ----

// Counts frames by LD_ABS byte 23 (the IP protocol) in `map`, keeps none.
std::vector<bpf_insn> counting_filter(int map_fd) {
    return {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
        BPF_LD_ABS(BPF_B, 23),
        BPF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_0, -4),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_LD_MAP_FD(BPF_REG_1, map_fd),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 2),
        BPF_MOV64_IMM(BPF_REG_1, 1),
        BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_0, BPF_REG_1, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
}

// IPv4 frames: TCP passes, UDP is `udp_action` (after bpf_redirect(7) when it
// is XDP_REDIRECT), ICMP goes back out (XDP_TX); others are dropped.
std::vector<bpf_insn> xdp_sorter(int32_t udp_action) {
    const bool redirect = udp_action == XDP_REDIRECT;
    std::vector<bpf_insn> insns = {
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct xdp_md, data)),
        BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, offsetof(struct xdp_md, data_end)),
        BPF_MOV64_IMM(BPF_REG_0, XDP_DROP),
        BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 24),
        BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 0),  // patched below: to the exit
        BPF_LDX_MEM(BPF_H, BPF_REG_4, BPF_REG_2, 12),
        BPF_JMP_IMM(BPF_JNE, BPF_REG_4, 0x0008, 0),  // htons(ETH_P_IP); patched
        BPF_LDX_MEM(BPF_B, BPF_REG_4, BPF_REG_2, 23),
        BPF_MOV64_IMM(BPF_REG_0, XDP_PASS),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_4, 6, 0),  // patched
        BPF_MOV64_IMM(BPF_REG_0, XDP_TX),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_4, 1, 0),  // patched
        BPF_MOV64_IMM(BPF_REG_0, XDP_DROP),
        BPF_JMP_IMM(BPF_JNE, BPF_REG_4, 17, 0),  // patched
        BPF_MOV64_IMM(BPF_REG_0, udp_action),
    };
    if (redirect) {
        insns.push_back(BPF_MOV64_IMM(BPF_REG_1, 7));
        insns.push_back(BPF_MOV64_IMM(BPF_REG_2, 0));
        insns.push_back(BPF_CALL_FUNC(BPF_FUNC_redirect));
    }
    const auto exit = static_cast<int16_t>(insns.size());
    for (size_t pc : {5u, 7u, 10u, 12u, 14u}) insns[pc].off = static_cast<int16_t>(exit - static_cast<int16_t>(pc) - 1);
    insns.push_back(BPF_EXIT_INSN());
    return insns;
}

std::string counts(const std::map<std::string, uint64_t>& m) {
    std::string s;
    for (const auto& [k, v] : m) s += k + "=" + std::to_string(v) + " ";
    return s;
}

// ---- the tests ----

Verdict socket_filter_and_xdp_on_live_frames() {
    if (auto skip = make_namespace({{"bpfrt0", "bpfrt1"}})) return *skip;
    auto source = attach::open_live_capture("bpfrt0", 100, 0);
    if (!source) return {Verdict::Fail, "live capture on bpfrt0: " + source.error().message};
    const auto frames = test_frames();
    if (auto sent = send_frames("bpfrt1", frames); !sent) return {Verdict::Fail, "sending: " + sent.error().message};
    const auto got = capture(**source, frames.size());
    if (got != frames)
        return {Verdict::Fail, "captured " + std::to_string(got.size()) + " of our " + std::to_string(frames.size()) +
                                   " frames (or different bytes)"};

    Runtime rt;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 256});
    if (!map) return {Verdict::Fail, map.error().message};
    const Loaded filter = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, counting_filter(map->fd()));
    const Loaded xdp = load(rt, BPF_PROG_TYPE_XDP, xdp_sorter(XDP_DROP));
    if (filter.error != 0 || xdp.error != 0) return {Verdict::Fail, "load: " + filter.log + xdp.log};
    attach::PacketRunOptions options;
    options.ifindex = if_nametoindex("bpfrt0");
    auto filter_runner = attach::PacketRunner::create(rt, filter.fd, options);
    auto xdp_runner = attach::PacketRunner::create(rt, xdp.fd, options);
    if (!filter_runner || !xdp_runner) return {Verdict::Fail, "runner"};
    std::map<std::string, uint64_t> actions;
    for (const auto& f : got) {
        if (auto v = (*filter_runner)->run(f); !v) return {Verdict::Fail, v.error().message};
        auto v = (*xdp_runner)->run(f);
        if (!v) return {Verdict::Fail, v.error().message};
        ++actions[attach::xdp_action_name(v->r0)];
    }
    auto count = [&](uint32_t proto) {
        uint64_t n = 0;
        (void)rt.map_lookup_elem({.map_fd = map->fd(), .key = std::as_bytes(std::span(&proto, 1))},
                                 std::as_writable_bytes(std::span(&n, 1)));
        return n;
    };
    // ARP frames have byte 23 = 0 here (the padding of a short frame).
    if (count(6) != 6 || count(17) != 4 || count(1) != 3 || count(0) != 2)
        return {Verdict::Fail, "socket filter counts: tcp " + std::to_string(count(6)) + " udp " +
                                   std::to_string(count(17)) + " icmp " + std::to_string(count(1)) + " other " +
                                   std::to_string(count(0))};
    const std::map<std::string, uint64_t> expected = {{"pass", 6}, {"drop", 4 + 2}, {"tx", 3}};
    if (actions != expected) return {Verdict::Fail, "XDP actions: " + counts(actions)};
    return {Verdict::Ok, {}};
}

Verdict xdp_redirect_to_a_live_interface() {
    if (auto skip = make_namespace({{"bpfrt0", "bpfrt1"}, {"bpfrt2", "bpfrt3"}})) return *skip;
    auto source = attach::open_live_capture("bpfrt0", 100, 0);
    auto redirected = attach::open_live_capture("bpfrt3", 100, 0);
    if (!source || !redirected) return {Verdict::Fail, "live capture on bpfrt0 / bpfrt3"};
    const auto frames = test_frames();
    if (auto sent = send_frames("bpfrt1", frames); !sent) return {Verdict::Fail, "sending: " + sent.error().message};
    const auto got = capture(**source, frames.size());
    if (got.size() != frames.size()) return {Verdict::Fail, "captured " + std::to_string(got.size()) + " frames"};

    Runtime rt;
    const Loaded xdp = load(rt, BPF_PROG_TYPE_XDP, xdp_sorter(XDP_REDIRECT));
    if (xdp.error != 0) return {Verdict::Fail, "load: " + xdp.log};
    auto runner = attach::PacketRunner::create(rt, xdp.fd);
    if (!runner) return {Verdict::Fail, runner.error().message};
    auto out = attach::live_interface(7, "bpfrt2");
    if (!out) return {Verdict::Fail, out.error().message};
    if (out->mtu != 1500) return {Verdict::Fail, "bpfrt2's MTU read as " + std::to_string(out->mtu)};
    if (auto added = (*runner)->add_interface(std::move(*out)); !added) return {Verdict::Fail, added.error().message};
    for (const auto& f : got)
        if (auto v = (*runner)->run(f); !v) return {Verdict::Fail, v.error().message};
    const auto& stats = (*runner)->redirect_stats();
    if (stats.targets.at(7).packets != 4 || stats.targets.at(7).errors != 0)
        return {Verdict::Fail, "redirect stats: " + std::to_string(stats.targets.at(7).packets) + " delivered, " +
                                   std::to_string(stats.targets.at(7).errors) + " errors"};
    const auto arrived = capture(**redirected, 4);
    std::vector<std::vector<uint8_t>> udp;
    for (const auto& f : frames)
        if (f[12] == 0x08 && f[13] == 0 && f[23] == 17) udp.push_back(f);
    if (arrived != udp)
        return {Verdict::Fail, std::to_string(arrived.size()) + " of the 4 UDP frames arrived on bpfrt3 (or changed)"};
    return {Verdict::Ok, {}};
}

TEST(LiveCapture, SocketFilterAndXdpOnFramesFromAVethPeer) { expect_ok(in_child(socket_filter_and_xdp_on_live_frames)); }

TEST(LiveCapture, XdpRedirectToALiveInterface) { expect_ok(in_child(xdp_redirect_to_a_live_interface)); }

}  // namespace
}  // namespace bpfrt::test
