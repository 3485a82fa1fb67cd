#include "attach/packet_io.hpp"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <filesystem>
#include <vector>

using namespace bpfrt::attach;

namespace {

std::vector<std::vector<uint8_t>> read_all(const std::string& path) {
    auto src = open_capture_file(path);
    EXPECT_TRUE(src) << (src ? "" : src.error().message);
    std::vector<std::vector<uint8_t>> out;
    if (!src) return out;
    Packet p;
    while (true) {
        auto more = (*src)->next(p);
        EXPECT_TRUE(more);
        if (!more || !*more) break;
        out.emplace_back(p.data.begin(), p.data.end());
    }
    return out;
}

std::string temp_path(const char* name) {
    return (std::filesystem::temp_directory_path() / (std::string("bpfrt_") + name)).string();
}

}  // namespace

TEST(PacketIo, ReadsTheExampleCapture) {
    const auto packets = read_all(BPFRT_EXAMPLE_CAPTURE);
    EXPECT_EQ(packets.size(), 3000u);
    for (const auto& p : packets) EXPECT_GE(p.size(), 42u);
}

TEST(PacketIo, WritesWhatItReadsBackUnchanged) {
    const auto packets = read_all(BPFRT_EXAMPLE_CAPTURE);
    const std::string out = temp_path("roundtrip.pcap");
    {
        auto sink = PacketSink::create(out, DLT_EN10MB);
        ASSERT_TRUE(sink) << sink.error().message;
        int64_t ts = 0;
        for (const auto& p : packets) ASSERT_TRUE((*sink)->write(p, static_cast<uint32_t>(p.size()), ts += 1000));
        ASSERT_TRUE((*sink)->close());
    }
    EXPECT_EQ(read_all(out), packets);
    std::filesystem::remove(out);
}

TEST(PacketIo, TruncatedPacketsKeepTheirWireLength) {
    const std::string out = temp_path("truncated.pcap");
    const std::vector<uint8_t> frame(100, 0xab);
    {
        auto sink = PacketSink::create(out, DLT_EN10MB);
        ASSERT_TRUE(sink);
        ASSERT_TRUE((*sink)->write(std::span(frame).first(20), 100, 5'000'000'123));
    }
    auto src = open_capture_file(out);
    ASSERT_TRUE(src);
    Packet p;
    ASSERT_TRUE(*(*src)->next(p));
    EXPECT_EQ(p.data.size(), 20u);
    EXPECT_EQ(p.wire_len, 100u);
    EXPECT_EQ(p.timestamp_ns, 5'000'000'000);  // microsecond precision
    EXPECT_FALSE(*(*src)->next(p));
    std::filesystem::remove(out);
}

TEST(PacketIo, ReadsPcapng) {
    // A minimal pcapng: section header, interface description (Ethernet), one enhanced packet.
    const std::vector<uint8_t> pkt(60, 0x11);
    std::vector<uint8_t> file;
    auto u32 = [&](uint32_t v) { for (int i = 0; i < 4; ++i) file.push_back(static_cast<uint8_t>(v >> (8 * i))); };
    auto u16 = [&](uint16_t v) { file.push_back(static_cast<uint8_t>(v)), file.push_back(static_cast<uint8_t>(v >> 8)); };
    u32(0x0a0d0d0a), u32(28), u32(0x1a2b3c4d), u16(1), u16(0), u32(0xffffffff), u32(0xffffffff), u32(28);
    u32(1), u32(20), u16(DLT_EN10MB), u16(0), u32(65535), u32(20);
    u32(6), u32(32 + 60), u32(0), u32(0), u32(1000), u32(60), u32(60);
    file.insert(file.end(), pkt.begin(), pkt.end());
    u32(32 + 60);
    const std::string path = temp_path("one.pcapng");
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(file.data(), 1, file.size(), f);
    std::fclose(f);
    const auto packets = read_all(path);
    ASSERT_EQ(packets.size(), 1u);
    EXPECT_EQ(packets[0], pkt);
    std::filesystem::remove(path);
}

TEST(PacketIo, BrokenFilesGiveClearErrors) {
    auto missing = open_capture_file("/nonexistent/capture.pcap");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("/nonexistent/capture.pcap"), std::string::npos);

    const std::string path = temp_path("garbage.pcap");
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fputs("this is not a capture file at all", f);
    std::fclose(f);
    auto garbage = open_capture_file(path);
    EXPECT_FALSE(garbage);
    std::filesystem::remove(path);
}

TEST(PacketIo, LiveCaptureOnMissingInterfaceFails) {
    auto live = open_live_capture("bpfrt-no-such-if0", 100, 1);
    EXPECT_FALSE(live);
}
