// Runs a loaded packet program (socket filter, tc, XDP) over packets one at
// a time, building its context as the kernel would, and tells what happens
// to each packet.
//
// Socket filters see the packet from the Ethernet header, as on a packet
// socket (AF_PACKET, SOCK_RAW): LD_ABS offset 0 is the first byte of the
// destination MAC and skb->len is the frame length. (The kernel's
// BPF_PROG_TEST_RUN instead starts socket filters at the network header;
// SkbView::Network reproduces that.) The return value is the number of bytes
// to keep, 0 dropping the packet. pkt_type is the same for every packet
// (captures do not say which packets the host sent): PACKET_OUTGOING by
// default, as the original sockex1 example counts on loopback.
//
// XDP programs get the frame after 256 bytes of headroom in a 4096-byte
// buffer (as the kernel's test run and native drivers), may move its start
// and end with bpf_xdp_adjust_head/tail/meta, and return an action.
//
// Redirects, as the kernel: bpf_redirect / bpf_redirect_map only record a
// target; when the program then returns XDP_REDIRECT (tc: TC_ACT_REDIRECT)
// the frame (with the program's changes) is delivered to the interface the
// host registered for that ifindex (add_interface). Failures drop the packet
// and count as errors of the target: an ifindex no interface has (EINVAL, as
// the kernel's dev_get_by_index failing), a frame longer than the target's
// MTU allows (EMSGSIZE), the interface's own failure; XDP_REDIRECT without a
// redirect helper choosing a target is EBADRQC. bpf_redirect_map with
// BPF_F_BROADCAST delivers to every entry of the device map (but the
// ingress interface with BPF_F_EXCLUDE_INGRESS). bpf_redirect_map into a
// CPUMAP hands the frame to the network stack of that CPU (in the kernel, a
// thread on the CPU builds an skb from it): the runner counts it as a
// delivery to "cpu N" and otherwise lets the packet go on as XDP_PASS does
// (PacketVerdict::keep). XDP_TX sends the frame back out of the ingress
// interface (PacketRunOptions::ifindex) when it is registered.
#pragma once

#include "attach/interfaces.hpp"
#include "runtime/contexts.hpp"
#include "runtime/program.hpp"

#include <bpfrt/error.hpp>
#include <bpfrt/jit.hpp>
#include <bpfrt/runtime.hpp>
#include <bpfrt/vm.hpp>

#include <optional>

#include <linux/if_packet.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::attach {

// AsLoaded: the engine the runtime chose at load (Runtime::set_engine);
// Interpreter / Jit: this runner prepares its own copy in that engine.
enum class Engine { AsLoaded, Interpreter, Jit };

struct PacketRunOptions {
    runtime::SkbView view = runtime::SkbView::Ethernet;
    uint32_t pkt_type = PACKET_OUTGOING;
    uint32_t ifindex = 1;
    uint32_t rx_queue = 0;
    Engine engine = Engine::AsLoaded;
};

// What became of a redirect (XDP_REDIRECT, TC_ACT_REDIRECT) or an XDP_TX.
struct RedirectOutcome {
    bool attempted = false;  // the action asked for one
    uint32_t ifindex = 0;    // the target (0: none chosen, a broadcast, or a CPU)
    std::optional<uint32_t> cpu;  // a CPUMAP redirect: the CPU whose network stack took the frame
    uint32_t delivered = 0;  // interfaces the frame reached (a broadcast may reach several)
    int error = 0;           // 0, or why (the last failure of a broadcast): EINVAL, EBADRQC, EMSGSIZE...
};

struct PacketVerdict {
    uint64_t r0 = 0;
    // Whether the packet goes on, and its bytes: socket filters keep the
    // first r0 bytes; tc passes it unless the action is SHOT, STOLEN,
    // QUEUED, TRAP or REDIRECT; cgroup_skb when r0 & 1; XDP on PASS, TX and
    // a REDIRECT into a CPUMAP, and `out` is the frame after the program
    // (data..data_end) whatever the action. Valid until the next run().
    bool keep = false;
    std::span<const uint8_t> out;
    RedirectOutcome redirect;
};

// Deliveries per target interface, over every run of a runner.
struct TargetStats {
    std::string name;        // the interface's; empty for an ifindex nobody registered
    uint64_t packets = 0;    // frames delivered (redirects and XDP_TX)
    uint64_t bytes = 0;
    uint64_t tx = 0;         // of which XDP_TX
    uint64_t errors = 0;     // redirects to it that failed (every one, for an unknown ifindex)
};

// Frames redirected to a CPU's network stack (CPUMAP).
struct CpuStats {
    uint64_t packets = 0;
    uint64_t bytes = 0;
};

struct RedirectStats {
    std::map<uint32_t, TargetStats> targets;  // by ifindex
    std::map<uint32_t, CpuStats> cpus;        // by CPU
    uint64_t no_target = 0;                   // XDP_REDIRECT with no target chosen (EBADRQC)
};

class PacketRunner {
public:
    // EBADF/EINVAL: not a program; EINVAL: not a packet program type;
    // ENOTSUP: the JIT is not available here.
    static Result<std::unique_ptr<PacketRunner>> create(Runtime& runtime, int prog_fd,
                                                        const PacketRunOptions& options = {});
    // `timestamp_ns` is passed on to interfaces frames are delivered to.
    Result<PacketVerdict> run(std::span<const uint8_t> packet, int64_t timestamp_ns = 0);
    uint32_t prog_type() const noexcept { return program_->type; }
    bool is_xdp() const noexcept { return program_->type == BPF_PROG_TYPE_XDP; }

    // Registers a redirect target. EINVAL: ifindex 0 or no deliver function;
    // EEXIST: the ifindex is taken.
    Result<void> add_interface(Interface iface);
    const RedirectStats& redirect_stats() const noexcept { return stats_; }

private:
    PacketRunner() = default;
    runtime::State* state_ = nullptr;
    std::shared_ptr<runtime::ProgramObject> program_;
    std::unique_ptr<vm::Program> exec_program_;  // the program in the engine asked for
    // One direct entry into that engine: a runner runs on one thread, and the
    // per-run fixed cost matters at millions of packets per second.
    std::optional<jit::DirectEntry> entry_;
    PacketRunOptions options_;
    std::vector<uint8_t> frame_;  // writable copy for tc programs
    runtime::SkbContext skb_;
    std::unique_ptr<runtime::XdpBuffer> xdp_;
    vm::ExecContext exec_;
    std::map<uint32_t, Interface> interfaces_;
    RedirectStats stats_;

    void redirect(std::span<const uint8_t> frame, int64_t timestamp_ns, PacketVerdict& verdict);
    void broadcast(std::span<const uint8_t> frame, int64_t timestamp_ns, PacketVerdict& verdict);
    void to_cpu(uint32_t cpu, std::span<const uint8_t> frame, PacketVerdict& verdict);
    void transmit(std::span<const uint8_t> frame, int64_t timestamp_ns, PacketVerdict& verdict);
    int deliver(uint32_t ifindex, std::span<const uint8_t> frame, const Delivery& delivery);
};

// Names of XDP actions ("pass", "drop"...; "invalid" beyond XDP_REDIRECT).
const char* xdp_action_name(uint64_t action);

// One line per target (interfaces, then CPUs) and one for redirects
// without a target, for summaries (empty when nothing was redirected or
// transmitted):
//   "ifindex 5 (out.pcap): 120 packets, 7680 bytes (3 by XDP_TX)"
//   "ifindex 5 (out.pcap): 118 packets, 7552 bytes, 2 errors"
//   "ifindex 9 (no such interface): 4 errors"
//   "cpu 2 (network stack): 40 packets, 2560 bytes"
//   "no target chosen (XDP_REDIRECT without bpf_redirect*): 2 errors"
std::vector<std::string> describe_redirects(const RedirectStats& stats);

}  // namespace bpfrt::attach
