// bpfrt run and bpfrt map as a user runs them: the main job's table, the
// JSON summary (parsed here and checked value by value), and maps of every
// BTF shape (tests/loader/bpf/typed_maps.c) over the bundled capture.
//
// The capture's counts (1347 TCP, 943 UDP, 290 ICMP of 3000 packets) are
// checked against libpcap's own filter in tests/attach; here every map of
// typed_maps must agree with them and with each other.
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>
#include <filesystem>
#include <string>

using Json = nlohmann::ordered_json;

namespace {

constexpr uint64_t kTcp = 1347, kUdp = 943, kIcmp = 290, kPackets = 3000;

struct Output {
    int status = -1;
    std::string out;
};

std::string quote(const std::string& s) { return "'" + s + "'"; }

// Runs the CLI with `args` (each quoted), stdout captured, stderr passed on.
Output run_cli(const std::vector<std::string>& args) {
    std::string cmd = quote(BPFRT_CLI);
    for (const auto& a : args) cmd += " " + quote(a);
    Output r;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return r;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

std::string example(const char* name) { return std::string(BPFRT_EXAMPLE_OBJECTS) + "/" + name + ".o"; }
std::string typed_maps() { return std::string(BPFRT_TEST_OBJECTS) + "/typed_maps.o"; }
const std::string kCapture = BPFRT_EXAMPLE_CAPTURE;

bool have(const std::string& path) { return std::filesystem::exists(path); }

#define REQUIRE_FILES(...)                                                            \
    for (const std::string& f : {__VA_ARGS__})                                        \
        if (!have(f)) GTEST_SKIP() << f << " is not built (clang -target bpf missing?)"

Json parse_or_fail(const Output& r) {
    EXPECT_EQ(r.status, 0) << r.out;
    try {
        return Json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not JSON: " << e.what() << "\n" << r.out;
        return Json::object();
    }
}

const Json& map_named(const Json& summary, const std::string& name) {
    static const Json none = Json::object();
    for (const auto& m : summary["maps"])
        if (m["name"] == name) return m;
    ADD_FAILURE() << "no map " << name;
    return none;
}

// The entry of a map whose key is `key`.
const Json& entry_with_key(const Json& map, const Json& key) {
    static const Json none = Json::object();
    for (const auto& e : map["entries"])
        if (e["key"] == key) return e;
    ADD_FAILURE() << "no entry with key " << key.dump() << " in " << map["name"];
    return none;
}

}  // namespace

TEST(CliRun, MainJobTable) {
    REQUIRE_FILES(example("count_by_protocol"), kCapture);
    const Output r = run_cli({"run", example("count_by_protocol"), "--pcap", kCapture});
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("packets: 3000 ("), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("verdicts: kept 0 (0 bytes), dropped 3000\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("map packets_by_protocol (array, 256 entries, key __u32, value __u64):\n"
                         "  proto 1 (icmp): 290\n"
                         "  proto 6 (tcp): 1347\n"
                         "  proto 17 (udp): 943\n"
                         "  (253 zero entries not shown)\n"),
              std::string::npos)
        << r.out;
}

TEST(CliRun, MainJobJson) {
    REQUIRE_FILES(example("count_by_protocol"), kCapture);
    const Json j = parse_or_fail(run_cli({"run", example("count_by_protocol"), "--pcap", kCapture, "--json"}));
    EXPECT_EQ(j["program"], "count_by_protocol");
    EXPECT_EQ(j["type"], "socket_filter");
    EXPECT_EQ(j["packets"], kPackets);
    EXPECT_EQ(j["verdicts"]["kept"], 0);
    EXPECT_EQ(j["verdicts"]["dropped"], kPackets);
    EXPECT_TRUE(j["packets_per_second"].is_number());
    const Json& m = map_named(j, "packets_by_protocol");
    EXPECT_EQ(m["key_type"], "__u32");
    EXPECT_EQ(m["value_type"], "__u64");
    EXPECT_EQ(m["zero_entries_not_shown"], 253);
    ASSERT_EQ(m["entries"].size(), 3u);
    EXPECT_EQ(entry_with_key(m, 6)["value"], kTcp);
    EXPECT_EQ(entry_with_key(m, 6)["protocol"], "tcp");
    EXPECT_EQ(entry_with_key(m, 17)["value"], kUdp);
    EXPECT_EQ(entry_with_key(m, 1)["value"], kIcmp);
}

TEST(CliRun, TypedMapsTable) {
    REQUIRE_FILES(typed_maps(), kCapture);
    const Output r = run_cli({"run", typed_maps(), "--pcap", kCapture});
    ASSERT_EQ(r.status, 0) << r.out;
    for (const char* line : {
             "map flows (hash, 64 entries, key struct flow_key, value struct flow_stats):\n",
             "\n  {protocol=6, version=4, ihl=5, ethertype=2048, cls=CLASS_TCP}: {total={packets=1347, bytes=",
             ", label=\"tcp\", low_bits=6, seen=1, ttl=64, last_delta=",
             "map by_class (array, 32 entries, key enum proto_class, value __u64):\n"
             "  CLASS_ICMP: 290\n"
             "  CLASS_TCP: 1347\n"
             "  CLASS_UDP: 943\n"
             "  (29 zero entries not shown)\n",
             "map per_cpu (percpu_array, 2 entries, key __u32, value struct counters):\n  0: cpu0=",
             "map lengths (hash, 16 entries, key __u16, value __s64):\n  0: -",
             "global data .rodata (16 B, read-only):\n  config = {min_len=64, tag=\"typed\", focus=CLASS_UDP}\n",
             "  bias = -5\n  ratio = 0.25\n  magic = 18364758544493064720\n",
             "global data .bss (24 B):\n  packets_seen = 3000\n  ipv4 = {packets=2580, bytes=",
         })
        EXPECT_NE(r.out.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << r.out;
}

TEST(CliRun, TypedMapsJsonAgree) {
    REQUIRE_FILES(typed_maps(), kCapture);
    const Json j = parse_or_fail(run_cli({"run", typed_maps(), "--pcap", kCapture, "--json"}));
    const Json& flows = map_named(j, "flows");
    const Json& by_class = map_named(j, "by_class");
    const Json& bss = map_named(j, ".bss")["variables"];

    // One flow per protocol of the capture, each labelled, classified and
    // counted as the other maps count it.
    ASSERT_EQ(flows["entries"].size(), 3u) << flows.dump(1);
    uint64_t packets = 0, bytes = 0;
    struct Expect {
        int protocol;
        const char* cls;
        const char* label;
        uint64_t count;
    };
    for (const Expect& x : {Expect{1, "CLASS_ICMP", "icmp", kIcmp}, Expect{6, "CLASS_TCP", "tcp", kTcp},
                            Expect{17, "CLASS_UDP", "udp", kUdp}}) {
        SCOPED_TRACE(x.label);
        const Json key = {{"protocol", x.protocol}, {"version", 4}, {"ihl", 5}, {"ethertype", 0x0800}, {"cls", x.cls}};
        const Json& value = entry_with_key(flows, key)["value"];
        EXPECT_EQ(value["label"], x.label);
        EXPECT_EQ(value["total"]["packets"], x.count);
        EXPECT_EQ(value["low_bits"], x.protocol & 7);
        EXPECT_EQ(value["seen"], 1);
        EXPECT_TRUE(value["last_delta"].is_number_integer());
        EXPECT_EQ(value["cookie"], "0x0");
        uint64_t sized = 0;
        for (const auto& n : value["sizes"]) sized += n.get<uint64_t>();
        EXPECT_EQ(sized, x.count);  // every packet in one size bucket
        EXPECT_EQ(entry_with_key(by_class, x.cls)["value"], x.count);
        packets += value["total"]["packets"].get<uint64_t>();
        bytes += value["total"]["bytes"].get<uint64_t>();
    }
    EXPECT_EQ(bss["packets_seen"], kPackets);
    EXPECT_EQ(bss["ipv4"]["packets"], packets);
    EXPECT_EQ(bss["ipv4"]["bytes"], bytes);

    // Per CPU: each CPU's value; together the IPv4 packets.
    const Json& per_cpu = entry_with_key(map_named(j, "per_cpu"), 0);
    ASSERT_TRUE(per_cpu["cpus"].is_array());
    uint64_t cpu_packets = 0;
    for (const auto& c : per_cpu["cpus"]) cpu_packets += c["packets"].get<uint64_t>();
    EXPECT_EQ(cpu_packets, packets);

    // The legacy map counts down from -1 per size bucket.
    int64_t counted = 0;
    for (const auto& e : map_named(j, "lengths")["entries"]) counted -= e["value"].get<int64_t>();
    EXPECT_EQ(counted, static_cast<int64_t>(packets));

    const Json& data = map_named(j, ".data")["variables"];
    EXPECT_EQ(data["bias"], -5);
    EXPECT_EQ(data["ratio"], 0.25);
    EXPECT_TRUE(data["magic"].is_number_unsigned());
    EXPECT_EQ(data["magic"].get<uint64_t>(), 0xfedcba9876543210ULL);
    EXPECT_EQ(map_named(j, ".rodata")["variables"]["config"],
              (Json{{"min_len", 64}, {"tag", "typed"}, {"focus", "CLASS_UDP"}}));
}

TEST(CliMap, DumpShowsInitialContents) {
    REQUIRE_FILES(typed_maps());
    const Output table = run_cli({"map", "dump", typed_maps()});
    ASSERT_EQ(table.status, 0) << table.out;
    EXPECT_NE(table.out.find("map flows (hash, 64 entries, key struct flow_key, value struct flow_stats):\n"
                             "  (empty)\n"),
              std::string::npos)
        << table.out;
    EXPECT_NE(table.out.find("global data .data (32 B):\n  last_label = \"none\"\n"), std::string::npos) << table.out;

    const Output r = run_cli({"map", "dump", typed_maps(), "--json"});
    ASSERT_EQ(r.status, 0) << r.out;
    const Json j = Json::parse(r.out);
    ASSERT_TRUE(j.is_array());
    const Json wrapped = {{"maps", j}};
    EXPECT_EQ(map_named(wrapped, ".data")["variables"]["last_label"], "none");
    EXPECT_EQ(map_named(wrapped, ".bss")["variables"]["packets_seen"], 0);
    EXPECT_EQ(map_named(wrapped, "flows")["entries"].size(), 0u);
}

TEST(CliMap, ListShowsTypesAndInitialValues) {
    REQUIRE_FILES(typed_maps());
    const Output r = run_cli({"map", "list", typed_maps()});
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("    key struct flow_key, value struct flow_stats\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("    key __u16, value __s64\n"), std::string::npos) << r.out;  // legacy
    EXPECT_NE(r.out.find("{min_len=64, tag=\"typed\", focus=CLASS_UDP}"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("18364758544493064720  (__u64)"), std::string::npos) << r.out;

    const Json j = parse_or_fail(run_cli({"map", "list", typed_maps(), "--json"}));
    ASSERT_TRUE(j.is_array());
    EXPECT_EQ(j[0]["name"], "flows");
    EXPECT_EQ(j[0]["key_type"], "struct flow_key");
    EXPECT_EQ(j[0]["value_type"], "struct flow_stats");
}

TEST(CliMap, NotAnObject) {
    const Output r = run_cli({"map", "dump", std::string(BPFRT_SOURCE_DIR) + "/README.md"});
    EXPECT_EQ(r.status, 2);
}

// --redirect-to gives the program's redirect targets: frames go to the
// given pcap files and the summary counts them per target.
TEST(CliRun, RedirectsToCaptureFiles) {
    const std::string object = std::string(BPFRT_TEST_OBJECTS) + "/xdp_forward.o";
    const std::string udp = testing::TempDir() + "bpfrt_cli_udp.pcap";
    const Output r = run_cli({"run", object, "--pcap", kCapture, "--redirect-to", "5=" + udp});
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("actions: pass 710, redirect 943, tx 1347\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("redirect: ifindex 5 (" + udp + "): 943 packets, "), std::string::npos) << r.out;
    // XDP_TX goes out of the ingress interface (1) only when it is registered.
    EXPECT_EQ(r.out.find("redirect: ifindex 1"), std::string::npos) << r.out;
    std::ifstream file(udp, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    size_t records = 0;
    for (size_t off = 24; off + 16 <= bytes.size(); ++records) {  // pcap: file header, then record headers
        uint32_t caplen = 0;
        std::memcpy(&caplen, bytes.data() + off + 8, 4);
        off += 16 + caplen;
    }
    EXPECT_EQ(records, 943u);

    const Json j = parse_or_fail(run_cli({"run", object, "--pcap", kCapture, "--redirect-to", "5=" + udp, "--json"}));
    ASSERT_TRUE(j.contains("redirects")) << j.dump();
    EXPECT_EQ(j["redirects"].size(), 1u);
    EXPECT_EQ(j["actions"]["redirect"], 943);

    const Output bad = run_cli({"run", object, "--pcap", kCapture, "--redirect-to", "five=" + udp});
    EXPECT_EQ(bad.status, 2) << bad.out;

    const Output tx = run_cli({"run", object, "--pcap", kCapture, "--redirect-to", "1=" + udp});
    ASSERT_EQ(tx.status, 0) << tx.out;
    EXPECT_NE(tx.out.find("redirect: ifindex 1 (" + udp + "): 1347 packets, 656577 bytes (1347 by XDP_TX)"),
              std::string::npos) << tx.out;
    EXPECT_NE(tx.out.find("redirect: ifindex 5 (no such interface): 943 errors"), std::string::npos) << tx.out;
}

// Samples programs send to a perf event array are read as a libbpf tool
// would (one PerfBuffer per map) and counted; --trace prints each one.
TEST(CliRun, CountsPerfEventSamples) {
    const std::string object = std::string(BPFRT_ATTACH_OBJECTS) + "/perf_output.o";
    const Output r = run_cli({"run", object, "--pcap", kCapture});
    ASSERT_EQ(r.status, 0) << r.out;
    // 8 bytes of record and the 14-byte Ethernet header, padded to 28 (size + 4 a multiple of 8).
    EXPECT_NE(r.out.find("perf events events: 3000 samples (84000 bytes), 0 lost\n"), std::string::npos) << r.out;

    const Output traced = run_cli({"run", object, "--pcap", kCapture, "--trace", "--count", "1"});
    ASSERT_EQ(traced.status, 0) << traced.out;
    EXPECT_NE(traced.out.find("trace: report_packets: len 166 proto 17 err 0 cpu 0 mark beef\n"
                              "perf: events cpu 0: 28 bytes: a6 00 00 00 11 00 00 00 "),
              std::string::npos)
        << traced.out;

    const Json j = parse_or_fail(run_cli({"run", object, "--pcap", kCapture, "--json"}));
    EXPECT_EQ(j["perf_events"]["events"]["samples"], 3000);
    EXPECT_EQ(j["perf_events"]["events"]["lost"], 0);
}
