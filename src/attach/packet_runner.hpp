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
#pragma once

#include "runtime/contexts.hpp"
#include "runtime/program.hpp"

#include <bpfrt/error.hpp>
#include <bpfrt/runtime.hpp>
#include <bpfrt/vm.hpp>

#include <linux/if_packet.h>

#include <cstdint>
#include <memory>
#include <span>
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

struct PacketVerdict {
    uint64_t r0 = 0;
    // Socket filters and tc: whether the packet is kept and its first
    // `out.size()` bytes; XDP: the frame after the program (data..data_end),
    // whatever the action. Valid until the next run().
    bool keep = false;
    std::span<const uint8_t> out;
};

class PacketRunner {
public:
    // EBADF/EINVAL: not a program; EINVAL: not a packet program type;
    // ENOTSUP: the JIT is not available here.
    static Result<std::unique_ptr<PacketRunner>> create(Runtime& runtime, int prog_fd,
                                                        const PacketRunOptions& options = {});
    Result<PacketVerdict> run(std::span<const uint8_t> packet);
    uint32_t prog_type() const noexcept { return program_->type; }
    bool is_xdp() const noexcept { return program_->type == BPF_PROG_TYPE_XDP; }

private:
    PacketRunner() = default;
    runtime::State* state_ = nullptr;
    std::shared_ptr<runtime::ProgramObject> program_;
    std::unique_ptr<vm::Program> exec_program_;  // the program in the engine asked for
    PacketRunOptions options_;
    std::vector<uint8_t> frame_;  // writable copy for tc programs
    runtime::SkbContext skb_;
    std::unique_ptr<runtime::XdpBuffer> xdp_;
    vm::ExecContext exec_;
};

// Names of XDP actions ("pass", "drop"...; "invalid" beyond XDP_REDIRECT).
const char* xdp_action_name(uint64_t action);

}  // namespace bpfrt::attach
