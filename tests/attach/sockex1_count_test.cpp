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
