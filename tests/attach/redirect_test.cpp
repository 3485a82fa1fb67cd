// Every XDP action in the packet runner, and redirects: bpf_redirect,
// bpf_redirect_map with DEVMAP / DEVMAP_HASH (host operations, lookup
// failure actions, broadcast) and CPUMAP (to a CPU's network stack),
// delivery to registered interfaces and every error path (unknown ifindex,
// no target, MTU, a failing interface), tc's TC_ACT_REDIRECT, XDP_TX back
// out of the ingress interface.
#include "test_support.hpp"

#include "attach/interfaces.hpp"
#include "attach/packet_io.hpp"
#include "maps/map.hpp"

#include <linux/pkt_cls.h>

#include <cerrno>
#include <filesystem>

namespace bpfrt::test {
namespace {

#define XDP(field) static_cast<int16_t>(offsetof(struct xdp_md, field))

constexpr int DLT_EN10MB = 1;  // pcap's Ethernet link type (pcap.h clashes with linux/bpf.h)

// ---- device maps: host side ----

Result<MapHandle> devmap(Runtime& rt, uint32_t type, uint32_t value_size = 4, uint32_t max_entries = 4,
                         uint32_t flags = 0) {
    return rt.map_create(
        {.map_type = type, .key_size = 4, .value_size = value_size, .max_entries = max_entries, .map_flags = flags});
}

int create_error(Runtime& rt, uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
                 uint32_t flags = 0) {
    auto m = rt.map_create({.map_type = type, .key_size = key_size, .value_size = value_size,
                            .max_entries = max_entries, .map_flags = flags});
    return m ? 0 : m.error().code;
}

int update(Runtime& rt, int fd, uint32_t key, uint64_t value, uint32_t value_size, uint64_t flags = BPF_ANY) {
    auto r = rt.map_update_elem({.map_fd = fd,
                                 .key = std::as_bytes(std::span(&key, 1)),
                                 .value = std::as_bytes(std::span(&value, 1)).first(value_size),
                                 .flags = flags});
    return r ? 0 : r.error().code;
}

// The value at `key` (ifindex | prog id << 32), or -errno.
int64_t lookup(Runtime& rt, int fd, uint32_t key, uint32_t value_size) {
    uint64_t value = 0;
    auto r = rt.map_lookup_elem({.map_fd = fd, .key = std::as_bytes(std::span(&key, 1))},
                                std::as_writable_bytes(std::span(&value, 1)).first(value_size));
    return r ? static_cast<int64_t>(value) : -r.error().code;
}

int erase(Runtime& rt, int fd, uint32_t key) {
    auto r = rt.map_delete_elem({.map_fd = fd, .key = std::as_bytes(std::span(&key, 1))});
    return r ? 0 : r.error().code;
}

std::vector<uint32_t> keys(Runtime& rt, int fd) {
    std::vector<uint32_t> out;
    uint32_t key = 0, next = 0;
    for (bool first = true;; first = false) {
        MapGetNextKey in{.map_fd = fd};
        if (!first) in.key = std::as_bytes(std::span(&key, 1));
        if (!rt.map_get_next_key(in, std::as_writable_bytes(std::span(&next, 1)))) break;
        out.push_back(key = next);
    }
    return out;
}

TEST(DevMap, CreateRules) {
    Runtime rt;
    for (uint32_t type : {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH}) {
        EXPECT_EQ(create_error(rt, type, 4, 4, 8), 0);
        EXPECT_EQ(create_error(rt, type, 4, 8, 8), 0);  // struct bpf_devmap_val
        EXPECT_EQ(create_error(rt, type, 4, 12, 8), EINVAL);
        EXPECT_EQ(create_error(rt, type, 8, 4, 8), EINVAL);
        EXPECT_EQ(create_error(rt, type, 4, 4, 0), EINVAL);
        EXPECT_EQ(create_error(rt, type, 4, 4, 8, BPF_F_RDONLY), 0);
        EXPECT_EQ(create_error(rt, type, 4, 4, 8, BPF_F_RDONLY_PROG), EINVAL);
        EXPECT_EQ(create_error(rt, type, 4, 4, 8, BPF_F_NO_PREALLOC), EINVAL);
    }
    EXPECT_EQ(create_error(rt, BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, (1u << 31) + 1), EINVAL);
}

TEST(DevMap, ArrayOperations) {
    Runtime rt;
    auto m = devmap(rt, BPF_MAP_TYPE_DEVMAP, 8);
    ASSERT_TRUE(m) << m.error().message;
    const int fd = m->fd();
    EXPECT_EQ(lookup(rt, fd, 0, 8), -ENOENT);  // empty slots are absent
    EXPECT_EQ(update(rt, fd, 1, 7, 8), 0);
    EXPECT_EQ(lookup(rt, fd, 1, 8), 7);  // bpf_prog.id 0
    EXPECT_EQ(update(rt, fd, 1, 7, 8, BPF_NOEXIST), EEXIST);
    EXPECT_EQ(update(rt, fd, 2, 7, 8, BPF_NOEXIST), EEXIST);  // every slot exists
    EXPECT_EQ(update(rt, fd, 2, 9, 8, BPF_EXIST), 0);
    EXPECT_EQ(update(rt, fd, 4, 9, 8), E2BIG);
    EXPECT_EQ(update(rt, fd, 0, 9, 8, 7), EINVAL);
    EXPECT_EQ(update(rt, fd, 0, 9 | (uint64_t{5} << 32), 8), EINVAL);  // a program fd in the entry
    EXPECT_EQ(update(rt, fd, 0, 9 | (uint64_t{0xffffffff} << 32), 8), 0);  // fd -1: none
    EXPECT_EQ(keys(rt, fd), (std::vector<uint32_t>{0, 1, 2, 3}));      // array order, empty slots too
    EXPECT_EQ(erase(rt, fd, 1), 0);
    EXPECT_EQ(erase(rt, fd, 1), 0);  // deleting an empty slot is fine
    EXPECT_EQ(erase(rt, fd, 4), EINVAL);
    EXPECT_EQ(lookup(rt, fd, 1, 8), -ENOENT);
    EXPECT_EQ(update(rt, fd, 2, 0, 8), 0);  // ifindex 0 empties the slot
    EXPECT_EQ(lookup(rt, fd, 2, 8), -ENOENT);
}

TEST(DevMap, HashOperations) {
    Runtime rt;
    auto m = devmap(rt, BPF_MAP_TYPE_DEVMAP_HASH, 4, 2);
    ASSERT_TRUE(m) << m.error().message;
    const int fd = m->fd();
    EXPECT_EQ(update(rt, fd, 500, 3, 4), 0);
    EXPECT_EQ(update(rt, fd, 100, 4, 4), 0);
    EXPECT_EQ(update(rt, fd, 7, 5, 4), E2BIG);  // full
    EXPECT_EQ(update(rt, fd, 100, 6, 4, BPF_NOEXIST), EEXIST);
    EXPECT_EQ(update(rt, fd, 100, 6, 4, BPF_EXIST), 0);
    EXPECT_EQ(update(rt, fd, 100, 0, 4), EINVAL);  // ifindex 0
    EXPECT_EQ(lookup(rt, fd, 100, 4), 6);
    EXPECT_EQ(lookup(rt, fd, 7, 4), -ENOENT);
    EXPECT_EQ(keys(rt, fd), (std::vector<uint32_t>{100, 500}));
    EXPECT_EQ(erase(rt, fd, 100), 0);
    EXPECT_EQ(erase(rt, fd, 100), ENOENT);
    EXPECT_EQ(update(rt, fd, 7, 5, 4, BPF_EXIST), 0);  // BPF_EXIST does not need the key (as the kernel)
    EXPECT_EQ(keys(rt, fd), (std::vector<uint32_t>{7, 500}));
}

// ---- the verifier's view ----

TEST(Redirect, HelpersOnlyWhereTheKernelAllowsThem) {
    Runtime rt;
    auto dm = devmap(rt, BPF_MAP_TYPE_DEVMAP);
    auto array = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 4});
    ASSERT_TRUE(dm && array);
    const std::vector<bpf_insn> redirect = {BPF_MOV64_IMM(BPF_REG_1, 5), BPF_MOV64_IMM(BPF_REG_2, 0),
                                            BPF_CALL_FUNC(BPF_FUNC_redirect), BPF_EXIT_INSN()};
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_XDP, redirect).error, 0);
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_SCHED_CLS, redirect).error, 0);
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_SOCKET_FILTER, redirect).error, EINVAL);
    auto redirect_map = [](int map_fd) {
        return std::vector<bpf_insn>{BPF_LD_MAP_FD(BPF_REG_1, map_fd), BPF_MOV64_IMM(BPF_REG_2, 0),
                                     BPF_MOV64_IMM(BPF_REG_3, 0), BPF_CALL_FUNC(BPF_FUNC_redirect_map),
                                     BPF_EXIT_INSN()};
    };
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_XDP, redirect_map(dm->fd())).error, 0);
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_SCHED_CLS, redirect_map(dm->fd())).error, EINVAL);
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_XDP, redirect_map(array->fd())).error, EINVAL);
    // Device maps only work with their helper.
    const std::vector<bpf_insn> update_devmap = {
        BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),  BPF_ST_MEM(BPF_W, BPF_REG_10, -8, 1),
        BPF_LD_MAP_FD(BPF_REG_1, dm->fd()),    BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4), BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8), BPF_MOV64_IMM(BPF_REG_4, 0),
        BPF_CALL_FUNC(BPF_FUNC_map_update_elem), BPF_EXIT_INSN()};
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_XDP, update_devmap).error, EINVAL);
}

TEST(Redirect, CpuMapOnlyWithRedirectMap) {
    Runtime rt;
    auto cm = rt.map_create({.map_type = BPF_MAP_TYPE_CPUMAP, .key_size = 4, .value_size = 4, .max_entries = 4});
    ASSERT_TRUE(cm) << cm.error().message;
    const std::vector<bpf_insn> redirect_map = {BPF_LD_MAP_FD(BPF_REG_1, cm->fd()), BPF_MOV64_IMM(BPF_REG_2, 0),
                                                BPF_MOV64_IMM(BPF_REG_3, XDP_PASS),
                                                BPF_CALL_FUNC(BPF_FUNC_redirect_map), BPF_EXIT_INSN()};
    const Loaded accepted = load(rt, BPF_PROG_TYPE_XDP, redirect_map);
    EXPECT_EQ(accepted.error, 0) << accepted.log;
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_SCHED_CLS, redirect_map).error, EINVAL);
    // The kernel's check_map_func_compatibility: no lookup, update or delete on a CPUMAP.
    const std::vector<bpf_insn> key_on_stack = {BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
                                                BPF_ST_MEM(BPF_W, BPF_REG_10, -8, 64),
                                                BPF_LD_MAP_FD(BPF_REG_1, cm->fd()), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
                                                BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4)};
    for (int32_t helper : {BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem}) {
        std::vector<bpf_insn> insns = key_on_stack;
        for (const bpf_insn& i : {BPF_MOV64_REG(BPF_REG_3, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8),
                                  BPF_MOV64_IMM(BPF_REG_4, 0), BPF_CALL_FUNC(helper), BPF_MOV64_IMM(BPF_REG_0, 2),
                                  BPF_EXIT_INSN()})
            insns.push_back(i);
        const Loaded refused = load(rt, BPF_PROG_TYPE_XDP, insns);
        EXPECT_EQ(refused.error, EINVAL) << helper;
        EXPECT_NE(refused.log.find("cannot pass map_type 16 into func"), std::string::npos) << refused.log;
    }
}

// ---- the runner ----

// Collects what an interface receives.
struct Collector {
    std::vector<std::vector<uint8_t>> frames;
    std::vector<attach::Delivery> deliveries;
    attach::Interface interface(uint32_t ifindex, std::string name = "sink") {
        return {.ifindex = ifindex, .name = std::move(name), .mtu = 0,
                .deliver = [this](std::span<const uint8_t> frame, const attach::Delivery& d) -> Result<void> {
                    frames.emplace_back(frame.begin(), frame.end());
                    deliveries.push_back(d);
                    return {};
                }};
    }
};

// XDP: writes 0xee to data[0], then `body` (its r0 is the action).
std::vector<bpf_insn> xdp_marking(std::vector<bpf_insn> body) {
    std::vector<bpf_insn> insns = {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
        BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, XDP(data)),
        BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, XDP(data_end)),
        BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 1),
        BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 1),
        BPF_ST_MEM(BPF_B, BPF_REG_2, 0, 0xee),
    };
    insns.insert(insns.end(), body.begin(), body.end());
    insns.push_back(BPF_EXIT_INSN());
    return insns;
}

std::vector<bpf_insn> call_redirect(int32_t ifindex, int32_t flags) {
    return {BPF_MOV64_IMM(BPF_REG_1, ifindex), BPF_MOV64_IMM(BPF_REG_2, flags), BPF_CALL_FUNC(BPF_FUNC_redirect)};
}

std::vector<bpf_insn> call_redirect_map(int map_fd, int32_t key, int32_t flags) {
    return {BPF_LD_MAP_FD(BPF_REG_1, map_fd), BPF_MOV64_IMM(BPF_REG_2, key), BPF_MOV64_IMM(BPF_REG_3, flags),
            BPF_CALL_FUNC(BPF_FUNC_redirect_map)};
}

std::unique_ptr<attach::PacketRunner> runner_for(Runtime& rt, uint32_t type, const std::vector<bpf_insn>& insns,
                                                 attach::PacketRunOptions options = {}) {
    const Loaded l = load(rt, type, insns);
    EXPECT_EQ(l.error, 0) << l.log;
    if (l.error != 0) return nullptr;
    auto runner = attach::PacketRunner::create(rt, l.fd, options);
    EXPECT_TRUE(runner) << (runner ? "" : runner.error().message);
    return runner ? std::move(*runner) : nullptr;
}

TEST(XdpActions, EachActionAndWhatHappensToThePacket) {
    Runtime rt;
    struct Case {
        int32_t action;
        bool keep;
        const char* name;
    };
    for (const Case c : {Case{XDP_ABORTED, false, "aborted"}, Case{XDP_DROP, false, "drop"},
                         Case{XDP_PASS, true, "pass"}, Case{XDP_TX, true, "tx"},
                         Case{XDP_REDIRECT, false, "redirect"}, Case{7, false, "invalid"}}) {
        auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking({BPF_MOV64_IMM(BPF_REG_0, c.action)}));
        ASSERT_TRUE(runner);
        auto v = runner->run(ip_frame(17));
        ASSERT_TRUE(v) << v.error().message;
        EXPECT_EQ(v->r0, static_cast<uint64_t>(c.action));
        EXPECT_EQ(v->keep, c.keep) << c.name;
        EXPECT_EQ(v->out.size(), 64u);
        EXPECT_EQ(v->out[0], 0xee);  // the program's write, whatever the action
        EXPECT_STREQ(attach::xdp_action_name(v->r0), c.name);
        // Only REDIRECT tries a delivery without interfaces: no target chosen.
        EXPECT_EQ(v->redirect.attempted, c.action == XDP_REDIRECT) << c.name;
    }
}

TEST(XdpActions, RedirectDeliversTheModifiedFrame) {
    Runtime rt;
    Collector sink;
    auto insns = xdp_marking(call_redirect(5, 0));
    auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, insns, {.ifindex = 2});
    ASSERT_TRUE(runner);
    ASSERT_TRUE(runner->add_interface(sink.interface(5, "veth5")));
    auto frame = ip_frame(6, 80);
    auto v = runner->run(frame, 123456);
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->r0, static_cast<uint64_t>(XDP_REDIRECT));
    EXPECT_FALSE(v->keep);
    EXPECT_TRUE(v->redirect.attempted);
    EXPECT_EQ(v->redirect.ifindex, 5u);
    EXPECT_EQ(v->redirect.delivered, 1u);
    EXPECT_EQ(v->redirect.error, 0);
    ASSERT_EQ(sink.frames.size(), 1u);
    frame[0] = 0xee;
    EXPECT_EQ(sink.frames[0], frame);
    EXPECT_EQ(sink.deliveries[0].ifindex, 5u);
    EXPECT_EQ(sink.deliveries[0].from_ifindex, 2u);
    EXPECT_EQ(sink.deliveries[0].timestamp_ns, 123456);
    EXPECT_FALSE(sink.deliveries[0].tx);
    ASSERT_TRUE(runner->run(frame));
    const auto& stats = runner->redirect_stats();
    EXPECT_EQ(stats.targets.at(5).name, "veth5");
    EXPECT_EQ(stats.targets.at(5).packets, 2u);
    EXPECT_EQ(stats.targets.at(5).bytes, 160u);
    EXPECT_EQ(stats.targets.at(5).errors, 0u);
    EXPECT_EQ(stats.no_target, 0u);
}

TEST(XdpActions, RedirectErrorPaths) {
    Runtime rt;
    Collector sink;
    // An ifindex nobody registered: dropped, an error of that target (EINVAL, as dev_get_by_index failing).
    auto unknown = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking(call_redirect(9, 0)));
    ASSERT_TRUE(unknown && unknown->add_interface(sink.interface(5)));
    auto v = unknown->run(ip_frame(6));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->r0, static_cast<uint64_t>(XDP_REDIRECT));
    EXPECT_EQ(v->redirect.error, EINVAL);
    EXPECT_EQ(v->redirect.delivered, 0u);
    EXPECT_EQ(unknown->redirect_stats().targets.at(9).errors, 1u);
    EXPECT_EQ(unknown->redirect_stats().targets.at(9).name, "");
    EXPECT_TRUE(sink.frames.empty());

    // Flags are not allowed for XDP: the helper returns XDP_ABORTED and chooses nothing.
    auto flagged = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking(call_redirect(5, 1)));
    ASSERT_TRUE(flagged && flagged->add_interface(sink.interface(5)));
    v = flagged->run(ip_frame(6));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->r0, static_cast<uint64_t>(XDP_ABORTED));
    EXPECT_FALSE(v->redirect.attempted);

    // XDP_REDIRECT without a helper choosing a target: EBADRQC.
    auto bare = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking({BPF_MOV64_IMM(BPF_REG_0, XDP_REDIRECT)}));
    ASSERT_TRUE(bare && bare->add_interface(sink.interface(5)));
    v = bare->run(ip_frame(6));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->redirect.error, EBADRQC);
    EXPECT_EQ(bare->redirect_stats().no_target, 1u);

    // A target chosen in one run does not carry over to the next: the first
    // packet (UDP) calls bpf_redirect but passes, the second (TCP) only returns XDP_REDIRECT.
    auto pick = runner_for(rt, BPF_PROG_TYPE_XDP,
                           {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_LDX_MEM(BPF_W, BPF_REG_7, BPF_REG_1, XDP(data)),
                            BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, XDP(data_end)),
                            BPF_MOV64_REG(BPF_REG_4, BPF_REG_7), BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 24),
                            BPF_MOV64_IMM(BPF_REG_0, XDP_DROP), BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 7),
                            BPF_LDX_MEM(BPF_B, BPF_REG_8, BPF_REG_7, 23), BPF_MOV64_IMM(BPF_REG_0, XDP_REDIRECT),
                            BPF_JMP_IMM(BPF_JNE, BPF_REG_8, 17, 4), BPF_MOV64_IMM(BPF_REG_1, 5),
                            BPF_MOV64_IMM(BPF_REG_2, 0), BPF_CALL_FUNC(BPF_FUNC_redirect),
                            BPF_MOV64_IMM(BPF_REG_0, XDP_PASS), BPF_EXIT_INSN()});
    ASSERT_TRUE(pick && pick->add_interface(sink.interface(5)));
    v = pick->run(ip_frame(17));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->r0, static_cast<uint64_t>(XDP_PASS));
    EXPECT_FALSE(v->redirect.attempted);
    v = pick->run(ip_frame(6));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->r0, static_cast<uint64_t>(XDP_REDIRECT));
    EXPECT_EQ(v->redirect.error, EBADRQC);
    EXPECT_TRUE(sink.frames.empty());
}

TEST(XdpActions, TargetMtuAndFailingInterfaces) {
    Runtime rt;
    auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking(call_redirect(5, 0)));
    ASSERT_TRUE(runner);
    Collector sink;
    auto small = sink.interface(5);
    small.mtu = 50;  // frames up to 50 + 14 + 4 bytes
    ASSERT_TRUE(runner->add_interface(std::move(small)));
    EXPECT_EQ(runner->run(ip_frame(6, 68))->redirect.error, 0);
    EXPECT_EQ(runner->run(ip_frame(6, 69))->redirect.error, EMSGSIZE);
    EXPECT_EQ(sink.frames.size(), 1u);

    auto broken = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking(call_redirect(6, 0)));
    ASSERT_TRUE(broken);
    ASSERT_TRUE(broken->add_interface({.ifindex = 6, .name = "down", .mtu = 0,
                                       .deliver = [](std::span<const uint8_t>, const attach::Delivery&) -> Result<void> {
                                           return fail(ENETDOWN, "the interface is down");
                                       }}));
    EXPECT_EQ(broken->run(ip_frame(6))->redirect.error, ENETDOWN);
    EXPECT_EQ(broken->redirect_stats().targets.at(6).errors, 1u);
    EXPECT_EQ(broken->redirect_stats().targets.at(6).packets, 0u);
}

TEST(XdpActions, InterfaceRegistration) {
    Runtime rt;
    auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking({BPF_MOV64_IMM(BPF_REG_0, XDP_PASS)}));
    ASSERT_TRUE(runner);
    Collector sink;
    EXPECT_EQ(runner->add_interface(sink.interface(0)).error().code, EINVAL);
    EXPECT_EQ(runner->add_interface({.ifindex = 3, .name = "x", .mtu = 0, .deliver = {}}).error().code, EINVAL);
    EXPECT_TRUE(runner->add_interface(sink.interface(3)));
    EXPECT_EQ(runner->add_interface(sink.interface(3)).error().code, EEXIST);
}

TEST(XdpActions, TxGoesBackOutOfTheIngressInterface) {
    Runtime rt;
    Collector ingress, other;
    auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking({BPF_MOV64_IMM(BPF_REG_0, XDP_TX)}), {.ifindex = 4});
    ASSERT_TRUE(runner);
    // Without the ingress interface registered, TX goes nowhere (and is no error).
    auto v = runner->run(ip_frame(6));
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->redirect.attempted);
    ASSERT_TRUE(runner->add_interface(ingress.interface(4)));
    ASSERT_TRUE(runner->add_interface(other.interface(5)));
    v = runner->run(ip_frame(6));
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->keep);
    EXPECT_EQ(v->redirect.delivered, 1u);
    ASSERT_EQ(ingress.frames.size(), 1u);
    EXPECT_TRUE(ingress.deliveries[0].tx);
    EXPECT_EQ(ingress.frames[0][0], 0xee);
    EXPECT_TRUE(other.frames.empty());
    EXPECT_EQ(runner->redirect_stats().targets.at(4).tx, 1u);
}

TEST(XdpActions, RedirectMapThroughDeviceMaps) {
    for (uint32_t type : {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH}) {
        Runtime rt;
        auto dm = devmap(rt, type, 8, 4);
        ASSERT_TRUE(dm);
        ASSERT_EQ(update(rt, dm->fd(), 1, 7, 8), 0);
        Collector sink;
        auto run = [&](int32_t key, int32_t flags) {
            auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking(call_redirect_map(dm->fd(), key, flags)));
            EXPECT_TRUE(runner && runner->add_interface(sink.interface(7)));
            auto v = runner->run(ip_frame(6));
            EXPECT_TRUE(v);
            return *v;
        };
        auto v = run(1, 0);
        EXPECT_EQ(v.r0, static_cast<uint64_t>(XDP_REDIRECT));
        EXPECT_EQ(v.redirect.ifindex, 7u);
        EXPECT_EQ(v.redirect.delivered, 1u);
        EXPECT_EQ(sink.frames.size(), 1u);
        // A missing key returns the action in the low bits of flags.
        for (int32_t fallback : {XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX}) {
            v = run(2, fallback);
            EXPECT_EQ(v.r0, static_cast<uint64_t>(fallback));
            EXPECT_FALSE(v.redirect.attempted);
        }
        EXPECT_EQ(run(1000, XDP_PASS).r0, static_cast<uint64_t>(XDP_PASS));  // beyond max_entries
        // Other flags abort.
        EXPECT_EQ(run(1, 4).r0, static_cast<uint64_t>(XDP_ABORTED));
        EXPECT_EQ(run(1, XDP_TX).r0, static_cast<uint64_t>(XDP_REDIRECT));  // the fallback is unused
        EXPECT_EQ(sink.frames.size(), 2u);
        // The entry as it is when the helper runs: deleted, the key is missing.
        ASSERT_EQ(erase(rt, dm->fd(), 1), 0);
        EXPECT_EQ(run(1, XDP_DROP).r0, static_cast<uint64_t>(XDP_DROP));
    }
}

TEST(XdpActions, BroadcastToEveryEntry) {
    Runtime rt;
    auto dm = devmap(rt, BPF_MAP_TYPE_DEVMAP, 4, 8);
    ASSERT_TRUE(dm);
    for (uint32_t key = 0; key < 4; ++key) ASSERT_EQ(update(rt, dm->fd(), key, 10 + key, 4), 0);  // 10..13
    Collector sinks[4];
    auto run = [&](int32_t flags) {
        auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking(call_redirect_map(dm->fd(), 99, flags)),
                                 {.ifindex = 11});
        EXPECT_TRUE(runner);
        for (uint32_t i = 0; i < 3; ++i) EXPECT_TRUE(runner->add_interface(sinks[i].interface(10 + i)));  // not 13
        auto v = runner->run(ip_frame(6));
        EXPECT_TRUE(v);
        return std::make_pair(*v, runner->redirect_stats());
    };
    auto [v, stats] = run(BPF_F_BROADCAST);
    EXPECT_EQ(v.r0, static_cast<uint64_t>(XDP_REDIRECT));  // the key does not matter
    EXPECT_EQ(v.redirect.delivered, 3u);
    EXPECT_EQ(v.redirect.error, EINVAL);  // ifindex 13 is nobody's
    EXPECT_EQ(stats.targets.at(13).errors, 1u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(sinks[i].frames.size(), 1u);
    std::tie(v, stats) = run(BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
    EXPECT_EQ(v.redirect.delivered, 2u);
    EXPECT_EQ(sinks[0].frames.size(), 2u);
    EXPECT_EQ(sinks[1].frames.size(), 1u);  // the ingress interface (11) is left out
    EXPECT_EQ(sinks[2].frames.size(), 2u);
}

// cpu = 1 for UDP, 0 otherwise; then bpf_redirect_map(cpumap, cpu, flags).
std::vector<bpf_insn> redirect_to_cpu_by_protocol(int map_fd, int32_t flags) {
    return xdp_marking({BPF_MOV64_IMM(BPF_REG_0, XDP_DROP), BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
                        BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 24), BPF_JMP_REG(BPF_JGT, BPF_REG_4, BPF_REG_3, 8),
                        BPF_LDX_MEM(BPF_B, BPF_REG_5, BPF_REG_2, 23), BPF_MOV64_IMM(BPF_REG_2, 0),
                        BPF_JMP_IMM(BPF_JNE, BPF_REG_5, 17, 1), BPF_MOV64_IMM(BPF_REG_2, 1),
                        BPF_LD_MAP_FD(BPF_REG_1, map_fd), BPF_MOV64_IMM(BPF_REG_3, flags),
                        BPF_CALL_FUNC(BPF_FUNC_redirect_map)});
}

TEST(XdpActions, RedirectMapToCpus) {
    Runtime rt;
    auto cm = rt.map_create({.map_type = BPF_MAP_TYPE_CPUMAP, .key_size = 4, .value_size = 8, .max_entries = 2});
    ASSERT_TRUE(cm) << cm.error().message;
    ASSERT_EQ(update(rt, cm->fd(), 0, 192, 8), 0);  // qsize 192
    if (maps::possible_cpus() < 2) GTEST_SKIP() << "needs two possible CPUs";
    ASSERT_EQ(update(rt, cm->fd(), 1, 192, 8), 0);
    Collector sink;
    auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, redirect_to_cpu_by_protocol(cm->fd(), XDP_DROP), {.ifindex = 3});
    ASSERT_TRUE(runner && runner->add_interface(sink.interface(3)));
    auto v = runner->run(ip_frame(17, 80));
    ASSERT_TRUE(v) << v.error().message;
    EXPECT_EQ(v->r0, static_cast<uint64_t>(XDP_REDIRECT));
    EXPECT_TRUE(v->keep);  // up the stack, as XDP_PASS
    EXPECT_EQ(v->out.size(), 80u);
    EXPECT_EQ(v->out[0], 0xee);  // with the program's changes
    EXPECT_TRUE(v->redirect.attempted);
    EXPECT_EQ(v->redirect.cpu, std::optional<uint32_t>(1));
    EXPECT_EQ(v->redirect.ifindex, 0u);
    EXPECT_EQ(v->redirect.delivered, 1u);
    EXPECT_EQ(v->redirect.error, 0);
    ASSERT_TRUE(runner->run(ip_frame(17, 90)));
    v = runner->run(ip_frame(6));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->redirect.cpu, std::optional<uint32_t>(0));
    EXPECT_TRUE(sink.frames.empty());  // no interface is involved
    const attach::RedirectStats& stats = runner->redirect_stats();
    ASSERT_EQ(stats.cpus.size(), 2u);
    EXPECT_EQ(stats.cpus.at(1).packets, 2u);
    EXPECT_EQ(stats.cpus.at(1).bytes, 170u);
    EXPECT_EQ(stats.cpus.at(0).packets, 1u);
    EXPECT_EQ(stats.cpus.at(0).bytes, 64u);
    EXPECT_EQ(attach::describe_redirects(stats),
              (std::vector<std::string>{"cpu 0 (network stack): 1 packets, 64 bytes",
                                        "cpu 1 (network stack): 2 packets, 170 bytes"}));
    // A CPU without an entry: the fallback action, nothing recorded.
    ASSERT_EQ(update(rt, cm->fd(), 1, 0, 8), 0);  // qsize 0 deletes
    v = runner->run(ip_frame(17));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->r0, static_cast<uint64_t>(XDP_DROP));
    EXPECT_FALSE(v->keep);
    EXPECT_FALSE(v->redirect.attempted);
    EXPECT_EQ(v->redirect.cpu, std::nullopt);
    EXPECT_EQ(runner->redirect_stats().cpus.at(1).packets, 2u);
}

TEST(XdpActions, RedirectMapToCpusFlags) {
    Runtime rt;
    auto cm = rt.map_create({.map_type = BPF_MAP_TYPE_CPUMAP, .key_size = 4, .value_size = 4, .max_entries = 4});
    ASSERT_TRUE(cm) << cm.error().message;
    ASSERT_EQ(update(rt, cm->fd(), 0, 64, 4), 0);
    auto run = [&](int32_t key, int32_t flags) {
        auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking(call_redirect_map(cm->fd(), key, flags)));
        EXPECT_TRUE(runner);
        auto v = runner->run(ip_frame(6));
        EXPECT_TRUE(v);
        return *v;
    };
    EXPECT_EQ(run(0, 0).r0, static_cast<uint64_t>(XDP_REDIRECT));
    EXPECT_EQ(run(0, XDP_TX).r0, static_cast<uint64_t>(XDP_REDIRECT));  // the fallback is unused
    for (int32_t fallback : {XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX}) {
        EXPECT_EQ(run(1, fallback).r0, static_cast<uint64_t>(fallback));     // no entry
        EXPECT_EQ(run(1000, fallback).r0, static_cast<uint64_t>(fallback));  // beyond max_entries
    }
    // No broadcast into CPUs, and no other flag: XDP_ABORTED, with or without an entry.
    for (int32_t flags : {4, static_cast<int32_t>(BPF_F_BROADCAST), static_cast<int32_t>(BPF_F_EXCLUDE_INGRESS),
                          static_cast<int32_t>(BPF_F_BROADCAST) | XDP_PASS}) {
        EXPECT_EQ(run(0, flags).r0, static_cast<uint64_t>(XDP_ABORTED)) << flags;
        EXPECT_EQ(run(1, flags).r0, static_cast<uint64_t>(XDP_ABORTED)) << flags;
    }
}

TEST(XdpActions, SummaryLines) {
    attach::RedirectStats stats;
    EXPECT_TRUE(attach::describe_redirects(stats).empty());
    stats.targets[5] = {.name = "out.pcap", .packets = 120, .bytes = 7680, .tx = 3, .errors = 0};
    stats.targets[6] = {.name = "eth1", .packets = 0, .bytes = 0, .tx = 0, .errors = 0};  // never used: no line
    stats.targets[7] = {.name = "eth2", .packets = 118, .bytes = 7552, .tx = 0, .errors = 2};
    stats.targets[9] = {.name = "", .packets = 0, .bytes = 0, .tx = 0, .errors = 4};
    stats.cpus[2] = {.packets = 40, .bytes = 2560};
    stats.no_target = 2;
    EXPECT_EQ(attach::describe_redirects(stats),
              (std::vector<std::string>{"ifindex 5 (out.pcap): 120 packets, 7680 bytes (3 by XDP_TX)",
                                        "ifindex 7 (eth2): 118 packets, 7552 bytes, 2 errors",
                                        "ifindex 9 (no such interface): 4 errors",
                                        "cpu 2 (network stack): 40 packets, 2560 bytes",
                                        "no target chosen (XDP_REDIRECT without bpf_redirect*): 2 errors"}));
}

// ---- tc ----

TEST(TcRedirect, RedirectAndItsFlags) {
    Runtime rt;
    Collector sink;
    auto run = [&](int32_t flags) {
        auto runner = runner_for(rt, BPF_PROG_TYPE_SCHED_CLS, [&] {
            auto insns = call_redirect(5, flags);
            insns.push_back(BPF_EXIT_INSN());
            return insns;
        }());
        EXPECT_TRUE(runner && runner->add_interface(sink.interface(5)));
        auto v = runner->run(ip_frame(6));
        EXPECT_TRUE(v);
        return *v;
    };
    auto v = run(0);
    EXPECT_EQ(v.r0, static_cast<uint64_t>(TC_ACT_REDIRECT));
    EXPECT_FALSE(v.keep);
    EXPECT_EQ(v.redirect.delivered, 1u);
    ASSERT_EQ(sink.deliveries.size(), 1u);
    EXPECT_FALSE(sink.deliveries[0].ingress);
    EXPECT_EQ(sink.frames[0], ip_frame(6));
    v = run(BPF_F_INGRESS);
    EXPECT_EQ(v.r0, static_cast<uint64_t>(TC_ACT_REDIRECT));
    ASSERT_EQ(sink.deliveries.size(), 2u);
    EXPECT_TRUE(sink.deliveries[1].ingress);
    v = run(2);  // any other flag: dropped
    EXPECT_EQ(v.r0, static_cast<uint64_t>(TC_ACT_SHOT));
    EXPECT_FALSE(v.keep);
    EXPECT_FALSE(v.redirect.attempted);
}

TEST(TcRedirect, ActionsThatPassAndThatDoNot) {
    Runtime rt;
    for (int32_t action : {TC_ACT_UNSPEC, TC_ACT_OK, TC_ACT_RECLASSIFY, TC_ACT_SHOT, TC_ACT_PIPE, TC_ACT_STOLEN,
                           TC_ACT_QUEUED, TC_ACT_REPEAT, TC_ACT_REDIRECT, TC_ACT_TRAP}) {
        auto runner = runner_for(rt, BPF_PROG_TYPE_SCHED_CLS, {BPF_MOV64_IMM(BPF_REG_0, action), BPF_EXIT_INSN()});
        ASSERT_TRUE(runner);
        auto v = runner->run(ip_frame(6));
        ASSERT_TRUE(v);
        const bool passes = action != TC_ACT_SHOT && action != TC_ACT_STOLEN && action != TC_ACT_QUEUED &&
                            action != TC_ACT_REDIRECT && action != TC_ACT_TRAP;
        EXPECT_EQ(v->keep, passes) << action;
        EXPECT_EQ(v->redirect.attempted, action == TC_ACT_REDIRECT) << action;
    }
}

// ---- interfaces from the command line ----

TEST(Interfaces, FromSpec) {
    const auto path = (std::filesystem::temp_directory_path() / "bpfrt_redirect_target.pcap").string();
    for (const char* bad : {"", "5", "=x.pcap", "0=x.pcap", "x=y.pcap", "5=", "5=@", "-1=x.pcap", "5x=y.pcap"}) {
        auto i = attach::interface_from_spec(bad, DLT_EN10MB);
        ASSERT_FALSE(i) << bad;
        EXPECT_EQ(i.error().code, EINVAL) << bad;
    }
    auto missing = attach::interface_from_spec("5=@bpfrt-no-such-if0", DLT_EN10MB);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ENODEV);
    {
        auto file = attach::interface_from_spec("5=" + path, DLT_EN10MB);
        ASSERT_TRUE(file) << file.error().message;
        EXPECT_EQ(file->ifindex, 5u);
        EXPECT_EQ(file->name, path);
        // A runner writes what it redirects there.
        Runtime rt;
        auto runner = runner_for(rt, BPF_PROG_TYPE_XDP, xdp_marking(call_redirect(5, 0)));
        ASSERT_TRUE(runner && runner->add_interface(std::move(*file)));
        ASSERT_TRUE(runner->run(ip_frame(6, 70), 2'000'000'000));
        ASSERT_TRUE(runner->run(ip_frame(17, 90), 3'000'000'000));
    }  // the runner (and the file) closed
    auto src = attach::open_capture_file(path);
    ASSERT_TRUE(src) << src.error().message;
    attach::Packet p;
    ASSERT_TRUE(*(*src)->next(p));
    EXPECT_EQ(p.data.size(), 70u);
    EXPECT_EQ(p.data[0], 0xee);
    EXPECT_EQ(p.timestamp_ns, 2'000'000'000);
    ASSERT_TRUE(*(*src)->next(p));
    EXPECT_EQ(p.data.size(), 90u);
    EXPECT_FALSE(*(*src)->next(p));
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace bpfrt::test
