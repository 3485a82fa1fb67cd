// The CLI's map formatter over the maps of a real clang object
// (tests/loader/bpf/typed_maps.c) written by the host: JSON of every kind of
// value, the tables, per-CPU slots, sorting, zero entries and global data.
#include "btf_format.hpp"

#include <bpfrt/object.hpp>
#include <bpfrt/runtime.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

using bpfrt::ObjectFile;
using bpfrt::Runtime;
using bpfrt::TypedValue;
using bpfrt::cli::Json;

namespace {

std::string typed_maps_path() { return std::string(BPFRT_TEST_OBJECTS) + "/typed_maps.o"; }

class Bytes {
public:
    explicit Bytes(size_t n) : bytes_(n) {}
    template <class T>
    Bytes& put(size_t off, T v) {
        std::memcpy(bytes_.data() + off, &v, sizeof v);
        return *this;
    }
    Bytes& text(size_t off, const char* s) {
        std::memcpy(bytes_.data() + off, s, std::strlen(s));
        return *this;
    }
    std::span<const std::byte> span() const { return bytes_; }

private:
    std::vector<std::byte> bytes_;
};

// Layouts as tests/loader/btf_decode_test.cpp describes them.
Bytes flow_key(uint8_t protocol, uint32_t cls) {
    Bytes b(8);
    b.put<uint8_t>(0, protocol).put<uint8_t>(1, 0x54).put<uint16_t>(2, 0x0800).put<uint32_t>(4, cls);
    return b;
}
Bytes flow_stats(uint64_t packets, const char* label, int32_t delta) {
    Bytes b(56);
    b.put<uint64_t>(0, packets).put<uint64_t>(8, packets * 100).text(16, label);
    b.put<uint32_t>(24, 6U | (1U << 3) | (64U << 8)).put<int32_t>(28, delta);
    b.put<uint16_t>(32, static_cast<uint16_t>(packets)).put<uint8_t>(40, 1).put<uint64_t>(48, 0x1000);
    return b;
}

// The object with its maps created and written by the host.
class FormatTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(typed_maps_path())) GTEST_SKIP() << typed_maps_path() << " not built (no clang)";
        auto opened = ObjectFile::open(typed_maps_path());
        ASSERT_TRUE(opened) << opened.error().message;
        obj_.emplace(std::move(*opened));
        ASSERT_TRUE(obj_->create_maps(rt_));
    }

    int fd(const char* map) const { return obj_->find_map(map)->fd; }
    void update(const char* map, std::span<const std::byte> key, std::span<const std::byte> value) {
        ASSERT_TRUE(rt_.map_update_elem({.map_fd = fd(map), .key = key, .value = value}));
    }
    const bpfrt::cli::MapDump& find(const std::vector<bpfrt::cli::MapDump>& dumps, const char* name) {
        for (const auto& d : dumps)
            if (d.map->name == name) return d;
        ADD_FAILURE() << "no dump of " << name;
        return dumps.front();
    }

    Runtime rt_;  // before the object: ~ObjectFile closes its handles in it
    std::optional<ObjectFile> obj_;
};

}  // namespace

TEST_F(FormatTest, StructKeysAndValuesSortedAsTable) {
    update("flows", flow_key(17, 17).span(), flow_stats(943, "udp", 31).span());
    update("flows", flow_key(6, 6).span(), flow_stats(1347, "tcp", -44).span());
    const auto dumps = bpfrt::cli::dump_maps(rt_, *obj_, {});
    EXPECT_EQ(bpfrt::cli::format_map_table(*obj_, find(dumps, "flows")),
              "map flows (hash, 64 entries, key struct flow_key, value struct flow_stats):\n"
              "  {protocol=6, version=4, ihl=5, ethertype=2048, cls=CLASS_TCP}: {total={packets=1347, bytes=134700}, "
              "label=\"tcp\", low_bits=6, seen=1, ttl=64, last_delta=-44, sizes=[1347, 0, 0, 0], any_large=true, "
              "cookie=0x1000}\n"
              "  {protocol=17, version=4, ihl=5, ethertype=2048, cls=CLASS_UDP}: {total={packets=943, bytes=94300}, "
              "label=\"udp\", low_bits=6, seen=1, ttl=64, last_delta=31, sizes=[943, 0, 0, 0], any_large=true, "
              "cookie=0x1000}\n");
}

TEST_F(FormatTest, JsonOfEveryKind) {
    update("flows", flow_key(6, 6).span(), flow_stats(1347, "tcp", -44).span());
    const auto dumps = bpfrt::cli::dump_maps(rt_, *obj_, {});
    const Json j = bpfrt::cli::map_json(*obj_, find(dumps, "flows"));
    EXPECT_EQ(j["key_type"], "struct flow_key");
    EXPECT_EQ(j["value_type"], "struct flow_stats");
    ASSERT_EQ(j["entries"].size(), 1u);
    const Json& key = j["entries"][0]["key"];
    const Json& value = j["entries"][0]["value"];
    EXPECT_EQ(key["cls"], "CLASS_TCP");  // enum by name
    EXPECT_EQ(key["version"], 4);        // bitfield
    EXPECT_EQ(value["total"]["packets"], 1347);  // nested struct
    EXPECT_EQ(value["label"], "tcp");            // char array
    EXPECT_EQ(value["last_delta"], -44);
    EXPECT_TRUE(value["last_delta"].is_number_integer());
    EXPECT_EQ(value["sizes"], Json::array({1347, 0, 0, 0}));
    EXPECT_EQ(value["any_large"], true);
    EXPECT_EQ(value["cookie"], "0x1000");
    // Members in declaration order.
    std::vector<std::string> names;
    for (const auto& [name, v] : value.items()) names.push_back(name);
    EXPECT_EQ(names, (std::vector<std::string>{"total", "label", "low_bits", "seen", "ttl", "last_delta", "sizes",
                                               "any_large", "cookie"}));
}

TEST_F(FormatTest, ScalarsToJson) {
    TypedValue big;
    big.kind = TypedValue::Kind::Integer;
    big.integer = 0xfedcba9876543210ULL;
    const Json j = bpfrt::cli::to_json(big);
    EXPECT_TRUE(j.is_number_unsigned());
    EXPECT_EQ(j.get<uint64_t>(), 0xfedcba9876543210ULL);
    EXPECT_EQ(Json::parse(j.dump()).get<uint64_t>(), 0xfedcba9876543210ULL);  // exact through text
    TypedValue negative = big;
    negative.is_signed = true;
    negative.integer = static_cast<uint64_t>(int64_t{-5});
    EXPECT_EQ(bpfrt::cli::to_json(negative).get<int64_t>(), -5);
    TypedValue unknown_enum;
    unknown_enum.kind = TypedValue::Kind::Enum;
    unknown_enum.integer = 99;
    EXPECT_EQ(bpfrt::cli::to_json(unknown_enum), 99);
    TypedValue bytes;
    bytes.kind = TypedValue::Kind::Bytes;
    bytes.text = "0a0b0c";
    EXPECT_EQ(bpfrt::cli::to_json(bytes), "0a0b0c");
    TypedValue real;
    real.kind = TypedValue::Kind::Float;
    real.real = 0.25;
    EXPECT_EQ(bpfrt::cli::to_json(real), 0.25);
}

TEST_F(FormatTest, EnumKeysAndZeroEntriesOfArrays) {
    update("by_class", Bytes(4).put<uint32_t>(0, 17).span(), Bytes(8).put<uint64_t>(0, 943).span());
    update("by_class", Bytes(4).put<uint32_t>(0, 1).span(), Bytes(8).put<uint64_t>(0, 290).span());
    const auto dumps = bpfrt::cli::dump_maps(rt_, *obj_, {});
    EXPECT_EQ(bpfrt::cli::format_map_table(*obj_, find(dumps, "by_class")),
              "map by_class (array, 32 entries, key enum proto_class, value __u64):\n"
              "  CLASS_ICMP: 290\n"
              "  CLASS_UDP: 943\n"
              "  (30 zero entries not shown)\n");
}

TEST_F(FormatTest, PerCpuShowsEachCpu) {
    auto info = rt_.map_info(fd("per_cpu"));
    ASSERT_TRUE(info);
    const size_t cpus = info->host_value_size / 16;
    ASSERT_GE(cpus, 1u);
    Bytes all(info->host_value_size);
    for (size_t c = 0; c < cpus; ++c) all.put<uint64_t>(c * 16, c + 1).put<uint64_t>(c * 16 + 8, 100 * (c + 1));
    update("per_cpu", Bytes(4).span(), all.span());
    const auto dumps = bpfrt::cli::dump_maps(rt_, *obj_, {});
    const auto& dump = find(dumps, "per_cpu");
    ASSERT_EQ(dump.entries.size(), 1u);
    EXPECT_EQ(dump.entries[0].values.size(), cpus);
    std::string expected = "  0:";
    for (size_t c = 0; c < cpus; ++c) expected += fmt::format(" cpu{}={{packets={}, bytes={}}}", c, c + 1, 100 * (c + 1));
    EXPECT_NE(bpfrt::cli::format_map_table(*obj_, dump).find(expected + "\n"), std::string::npos)
        << bpfrt::cli::format_map_table(*obj_, dump);
    const Json j = bpfrt::cli::map_json(*obj_, dump);
    ASSERT_EQ(j["entries"][0]["cpus"].size(), cpus);
    EXPECT_EQ(j["entries"][0]["cpus"][0]["bytes"], 100);
    EXPECT_FALSE(j["entries"][0].contains("value"));  // structs are not summed
}

TEST_F(FormatTest, GlobalDataByName) {
    const auto dumps = bpfrt::cli::dump_maps(rt_, *obj_, {});
    EXPECT_EQ(bpfrt::cli::format_map_table(*obj_, find(dumps, ".data")),
              "global data .data (32 B):\n"
              "  last_label = \"none\"\n"
              "  bias = -5\n"
              "  ratio = 0.25\n"
              "  magic = 18364758544493064720\n");
    const Json j = bpfrt::cli::map_json(*obj_, find(dumps, ".rodata"));
    EXPECT_EQ(j["read_only"], true);
    EXPECT_EQ(j["variables"]["config"]["tag"], "typed");
    EXPECT_EQ(j["variables"]["config"]["focus"], "CLASS_UDP");
}

TEST_F(FormatTest, LegacyMapSignedValuesSortedByKey) {
    for (uint16_t k : {3, 0, 1})
        update("lengths", Bytes(2).put<uint16_t>(0, k).span(), Bytes(8).put<int64_t>(0, -int64_t{k} - 1).span());
    const auto dumps = bpfrt::cli::dump_maps(rt_, *obj_, {});
    EXPECT_EQ(bpfrt::cli::format_map_table(*obj_, find(dumps, "lengths")),
              "map lengths (hash, 16 entries, key __u16, value __s64):\n"
              "  0: -1\n"
              "  1: -2\n"
              "  3: -4\n");
}

TEST_F(FormatTest, EmptyAndTruncated) {
    auto dumps = bpfrt::cli::dump_maps(rt_, *obj_, {});
    EXPECT_EQ(bpfrt::cli::format_map_table(*obj_, find(dumps, "flows")),
              "map flows (hash, 64 entries, key struct flow_key, value struct flow_stats):\n  (empty)\n");
    for (uint8_t p = 0; p < 5; ++p) update("flows", flow_key(p, p).span(), flow_stats(1, "x", 0).span());
    dumps = bpfrt::cli::dump_maps(rt_, *obj_, {.max_entries = 3});
    const auto& flows = find(dumps, "flows");
    EXPECT_TRUE(flows.truncated);
    EXPECT_EQ(flows.entries.size(), 3u);
    EXPECT_NE(bpfrt::cli::format_map_table(*obj_, flows).find("(more entries not shown: the first 3 are)"),
              std::string::npos);
    EXPECT_EQ(bpfrt::cli::map_json(*obj_, flows)["truncated"], true);
}
