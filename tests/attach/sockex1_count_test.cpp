// The main job: sockex1 (count bytes by IP protocol) over the bundled capture,
// checked against libpcap's own classic-BPF filters on the same packets.
#include "attach/packet_io.hpp"
#include "attach/packet_runner.hpp"

#include <bpfrt/object.hpp>
#include <bpfrt/runtime.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace bpfrt::test {
namespace {

std::vector<std::vector<uint8_t>> read_capture(const std::string& path) {
    std::vector<std::vector<uint8_t>> out;
    auto src = attach::open_capture_file(path);
    if (!src) return out;
    attach::Packet p;
    while (true) {
        auto more = (*src)->next(p);
        if (!more || !*more) break;
        out.emplace_back(p.data.begin(), p.data.end());
    }
    return out;
}

}  // namespace

// libpcap_count.cpp (kept apart: <pcap/bpf.h> and <linux/bpf.h> both define struct bpf_insn).
uint64_t libpcap_bytes(const std::vector<std::vector<uint8_t>>& packets, const std::string& expression);
uint64_t libpcap_packets(const std::vector<std::vector<uint8_t>>& packets, const std::string& expression);

namespace {

TEST(Sockex1, CountsMatchLibpcapFilters) {
    const std::string object = std::string(BPFRT_BPF_OBJECT_DIR) + "/sockex1.o";
    if (!std::filesystem::exists(object)) GTEST_SKIP() << object << " was not built (no clang)";
    const auto packets = read_capture(BPFRT_EXAMPLE_CAPTURE);
    ASSERT_EQ(packets.size(), 3000u);

    Runtime rt;
    auto obj = ObjectFile::open(object);
    ASSERT_TRUE(obj) << obj.error().message;
    ASSERT_TRUE(obj->load(rt)) << "load";
    const ObjectProgram* prog = obj->find_program("bpf_prog1");
    ASSERT_NE(prog, nullptr);
    auto runner = attach::PacketRunner::create(rt, prog->fd);  // Ethernet view, PACKET_OUTGOING
    ASSERT_TRUE(runner) << runner.error().message;
    for (const auto& p : packets) {
        auto v = (*runner)->run(p);
        ASSERT_TRUE(v) << v.error().message;
        EXPECT_EQ(v->r0, 0u);  // sockex1 keeps nothing
    }
    const ObjectMap* map = obj->find_map("my_map");
    ASSERT_NE(map, nullptr);
    auto count = [&](uint32_t proto) {
        uint64_t v = 0;
        EXPECT_TRUE(rt.map_lookup_elem({.map_fd = map->fd, .key = std::as_bytes(std::span(&proto, 1))},
                                       std::as_writable_bytes(std::span(&v, 1))));
        return v;
    };
    const std::pair<uint32_t, const char*> protocols[] = {{6, "\\tcp"}, {17, "\\udp"}, {1, "\\icmp"}};
    for (const auto& [proto, name] : protocols) {
        // sockex1 reads byte 23 of every frame (the IPv4 protocol field), IPv4 or not.
        const uint64_t ipv4 = libpcap_bytes(packets, std::string("ip proto ") + name);
        const uint64_t other = libpcap_bytes(packets, "not ip and ether[23] = " + std::to_string(proto));
        EXPECT_GT(ipv4, 0u) << name;
        EXPECT_EQ(count(proto), ipv4 + other) << "protocol " << proto;
        EXPECT_EQ(count(proto), libpcap_bytes(packets, "ether[23] = " + std::to_string(proto)));
    }
}

// The README's main job: the manual page's program over the bundled capture
// counts exactly what libpcap's `ip proto N` matches, for every N.
TEST(CountByProtocol, EveryCounterMatchesLibpcap) {
    const std::string object = std::string(BPFRT_BPF_OBJECT_DIR) + "/count_by_protocol.o";
    if (!std::filesystem::exists(object)) GTEST_SKIP() << object << " was not built (no clang)";
    const auto packets = read_capture(BPFRT_EXAMPLE_CAPTURE);
    ASSERT_EQ(packets.size(), 3000u);

    Runtime rt;
    auto obj = ObjectFile::open(object);
    ASSERT_TRUE(obj) << obj.error().message;
    ASSERT_TRUE(obj->load(rt)) << "load";
    const ObjectProgram* prog = obj->find_program("count_by_protocol");
    ASSERT_NE(prog, nullptr);
    auto runner = attach::PacketRunner::create(rt, prog->fd);
    ASSERT_TRUE(runner) << runner.error().message;
    for (const auto& p : packets) ASSERT_TRUE((*runner)->run(p));

    const ObjectMap* map = obj->find_map("packets_by_protocol");
    ASSERT_NE(map, nullptr);
    uint64_t total = 0;
    for (uint32_t proto = 0; proto < 256; ++proto) {
        uint64_t v = 0;
        ASSERT_TRUE(rt.map_lookup_elem({.map_fd = map->fd, .key = std::as_bytes(std::span(&proto, 1))},
                                       std::as_writable_bytes(std::span(&v, 1))));
        EXPECT_EQ(v, libpcap_packets(packets, "ip proto " + std::to_string(proto))) << "protocol " << proto;
        total += v;
    }
    EXPECT_EQ(total, libpcap_packets(packets, "ip"));
    EXPECT_GT(libpcap_packets(packets, "ip proto \\tcp"), 1000u);  // the capture really has traffic
}

TEST(Sockex1, IncomingPacketsAreNotCounted) {
    const std::string object = std::string(BPFRT_BPF_OBJECT_DIR) + "/sockex1.o";
    if (!std::filesystem::exists(object)) GTEST_SKIP() << object << " was not built (no clang)";
    Runtime rt;
    auto obj = ObjectFile::open(object);
    ASSERT_TRUE(obj && obj->load(rt));
    attach::PacketRunOptions options;
    options.pkt_type = PACKET_HOST;
    auto runner = attach::PacketRunner::create(rt, obj->find_program("bpf_prog1")->fd, options);
    ASSERT_TRUE(runner);
    std::vector<uint8_t> frame(64, 0);
    frame[12] = 8;
    frame[23] = 6;
    ASSERT_TRUE((*runner)->run(frame));
    uint32_t key = 6;
    uint64_t v = 1;
    ASSERT_TRUE(rt.map_lookup_elem({.map_fd = obj->find_map("my_map")->fd, .key = std::as_bytes(std::span(&key, 1))},
                                   std::as_writable_bytes(std::span(&v, 1))));
    EXPECT_EQ(v, 0u);
}

}  // namespace
}  // namespace bpfrt::test
