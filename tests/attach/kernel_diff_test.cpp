// Kernel-differential: the socket filter and XDP examples run in the kernel
// (libbpf + BPF_PROG_TEST_RUN on every packet of the bundled capture) and in
// bpfrt; verdicts, output packets and map contents must agree. Skipped with a
// message where the kernel refuses bpf().
//
// The kernel's test run gives socket filters the packet from the network
// header (it pulls the Ethernet header) and a pkt_type from eth_type_trans()
// on the loopback device; bpfrt's socket filters normally see the Ethernet
// header as on a packet socket. Here bpfrt runs with SkbView::Network and the
// same pkt_type, so results must be identical.
#include "attach/packet_io.hpp"
#include "kernel_oracle.hpp"
#include "test_support.hpp"

#include <bpfrt/object.hpp>

#include <filesystem>
#include <map>

namespace bpfrt::test {

struct KernelRun {
    std::string skipped;
    std::vector<uint32_t> retvals;
    std::vector<std::vector<uint8_t>> data_out;
    std::vector<uint64_t> map_values;
};
KernelRun kernel_run(const std::string& object, const std::string& program, const std::string& map,
                     const std::vector<std::vector<uint8_t>>& packets);

namespace {

std::vector<std::vector<uint8_t>> capture() {
    std::vector<std::vector<uint8_t>> out;
    auto src = attach::open_capture_file(BPFRT_EXAMPLE_CAPTURE);
    if (!src) return out;
    attach::Packet p;
    while (true) {
        auto more = (*src)->next(p);
        if (!more || !*more) break;
        out.emplace_back(p.data.begin(), p.data.end());
    }
    return out;
}

// eth_type_trans() on the loopback device, whose address and broadcast
// address are both 00:00:00:00:00:00 (so ff:ff:ff:ff:ff:ff is multicast).
uint32_t kernel_pkt_type(const std::vector<uint8_t>& f) {
    bool zero = true;
    for (int i = 0; i < 6; ++i) zero = zero && f[static_cast<size_t>(i)] == 0;
    if (zero) return PACKET_HOST;
    return (f[0] & 1) ? PACKET_MULTICAST : PACKET_OTHERHOST;
}

std::vector<uint64_t> our_map(Runtime& rt, const ObjectMap& m) {
    std::vector<uint64_t> out;
    auto info = rt.map_info(m.fd);
    std::vector<uint64_t> value(info->host_value_size / 8);
    for (uint32_t key = 0; key < m.max_entries; ++key) {
        uint64_t sum = 0;
        if (rt.map_lookup_elem({.map_fd = m.fd, .key = std::as_bytes(std::span(&key, 1))},
                               std::as_writable_bytes(std::span(value))))
            for (uint64_t v : value) sum += v;
        out.push_back(sum);
    }
    return out;
}

struct Case {
    const char* object;
    const char* program;
    const char* map;
};

void compare(const Case& c) {
    std::string why;
    if (!kernel::kernel_bpf_available(&why)) GTEST_SKIP() << "the kernel refuses bpf(): " << why;
    const std::string path = std::string(BPFRT_BPF_OBJECT_DIR) + "/" + c.object;
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built";
    const auto packets = capture();
    ASSERT_EQ(packets.size(), 3000u);
    const KernelRun kernel = kernel_run(path, c.program, c.map, packets);
    if (!kernel.skipped.empty()) GTEST_SKIP() << kernel.skipped;

    Runtime rt;
    auto obj = ObjectFile::open(path);
    ASSERT_TRUE(obj && obj->load(rt));
    const int fd = obj->find_program(c.program)->fd;
    std::map<uint32_t, std::unique_ptr<attach::PacketRunner>> runners;  // by pkt_type
    size_t differences = 0;
    for (size_t i = 0; i < packets.size(); ++i) {
        attach::PacketRunOptions options;
        options.view = runtime::SkbView::Network;
        options.pkt_type = kernel_pkt_type(packets[i]);
        auto& runner = runners[options.pkt_type];
        if (!runner) runner = std::move(*attach::PacketRunner::create(rt, fd, options));
        auto v = runner->run(packets[i]);
        ASSERT_TRUE(v) << v.error().message;
        if (static_cast<uint32_t>(v->r0) != kernel.retvals[i]) {
            if (++differences < 5) {
                ADD_FAILURE() << "packet " << i << ": bpfrt " << v->r0 << ", kernel " << kernel.retvals[i];
            }
            continue;
        }
        if (runner->is_xdp()) {
            EXPECT_EQ(std::vector<uint8_t>(v->out.begin(), v->out.end()), kernel.data_out[i]) << "packet " << i;
        }
    }
    EXPECT_EQ(differences, 0u);
    EXPECT_EQ(our_map(rt, *obj->find_map(c.map)), kernel.map_values);
}

TEST(KernelDiff, Sockex1OnEveryPacket) { compare({"sockex1.o", "bpf_prog1", "my_map"}); }
TEST(KernelDiff, XdpParserOnEveryPacket) { compare({"xdp_parser.o", "xdp_parse", "packets_by_protocol"}); }

// The network-header view and the fields socket filters read, per packet:
// r0 = LD_ABS byte 9 (IP protocol) << 24 | skb->protocol << 8 ... compared as a whole.
TEST(KernelDiff, SocketFilterViewAndFields) {
    std::string why;
    if (!kernel::kernel_bpf_available(&why)) GTEST_SKIP() << "the kernel refuses bpf(): " << why;
    const std::vector<bpf_insn> insns = {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
        BPF_LD_ABS(BPF_B, 9),
        BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 24),
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(struct __sk_buff, len)),
        BPF_ALU64_REG(BPF_OR, BPF_REG_0, BPF_REG_2),
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(struct __sk_buff, pkt_type)),
        BPF_ALU64_IMM(BPF_LSH, BPF_REG_2, 16),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_2),
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_6, offsetof(struct __sk_buff, protocol)),
        BPF_ALU64_IMM(BPF_LSH, BPF_REG_2, 32),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_2),
        BPF_EXIT_INSN(),
    };
    auto kprog = kernel::prog_load(BPF_PROG_TYPE_SOCKET_FILTER, insns, "GPL");
    if (!kprog.accepted()) GTEST_SKIP() << "the kernel refused the program: " << kprog.log;
    Runtime rt;
    const Loaded ours = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, insns);
    ASSERT_EQ(ours.error, 0) << ours.log;
    const auto packets = capture();
    size_t differences = 0;
    for (size_t i = 0; i < packets.size(); ++i) {
        const auto k = kernel::test_run(kprog.fd.get(), packets[i]);
        ASSERT_EQ(k.error, 0);
        attach::PacketRunOptions options;
        options.view = runtime::SkbView::Network;
        options.pkt_type = kernel_pkt_type(packets[i]);
        const auto v = run_packet(rt, ours.fd, packets[i], options);
        if (static_cast<uint32_t>(v.r0) != k.retval && ++differences < 5) {
            ADD_FAILURE() << "packet " << i << std::hex << ": bpfrt " << static_cast<uint32_t>(v.r0) << ", kernel "
                          << k.retval;
        }
    }
    EXPECT_EQ(differences, 0u);
}

}  // namespace
}  // namespace bpfrt::test
