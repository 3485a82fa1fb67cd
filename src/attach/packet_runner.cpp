#include "attach/packet_runner.hpp"

#include "runtime/state.hpp"

#include <bpfrt/jit.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace bpfrt::attach {

using runtime::ProgramObject;

namespace {

bool is_skb_type(uint32_t type) {
    return type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
           type == BPF_PROG_TYPE_SCHED_ACT || type == BPF_PROG_TYPE_CGROUP_SKB;
}

}  // namespace

const char* xdp_action_name(uint64_t action) {
    switch (action) {
    case XDP_ABORTED: return "aborted";
    case XDP_DROP: return "drop";
    case XDP_PASS: return "pass";
    case XDP_TX: return "tx";
    case XDP_REDIRECT: return "redirect";
    default: return "invalid";
    }
}

Result<std::unique_ptr<PacketRunner>> PacketRunner::create(Runtime& runtime, int prog_fd,
                                                           const PacketRunOptions& options) {
    auto program = runtime.state().program_at(prog_fd);
    if (!program) return std::unexpected(program.error());
    const uint32_t type = (*program)->type;
    if (!is_skb_type(type) && type != BPF_PROG_TYPE_XDP)
        return fail(EINVAL, fmt::format("program type {} does not run on packets (socket_filter, sched_cls, "
                                        "sched_act, cgroup_skb or xdp)",
                                        type));
    std::unique_ptr<PacketRunner> runner(new PacketRunner());
    runner->state_ = &runtime.state();
    runner->program_ = std::move(*program);
    runner->options_ = options;
    // Verified programs run in the engine asked for, whatever the runtime's default.
    const ProgramObject& p = *runner->program_;
    if (options.engine == Engine::Jit) {
        if (!p.verified) return fail(EINVAL, "only verified programs can be JIT-compiled");
        auto jitted = jit::make_program(p.insns, p.helpers.get(), jit::Engine::Jit);
        if (!jitted) return std::unexpected(jitted.error());
        runner->exec_program_ = std::move(*jitted);
    } else if (options.engine == Engine::Interpreter && p.verified) {
        auto interpreted = vm::make_interpreter(p.insns, p.helpers.get(), vm::Mode::Verified);
        if (!interpreted) return std::unexpected(interpreted.error());
        runner->exec_program_ = std::move(*interpreted);
    }
    if (type == BPF_PROG_TYPE_XDP) runner->xdp_ = std::make_unique<runtime::XdpBuffer>();
    return runner;
}

Result<PacketVerdict> PacketRunner::run(std::span<const uint8_t> packet) {
    exec_.truncate_regions(0);
    exec_.runtime = state_;
    exec_.packet = nullptr;
    exec_.packet_len = 0;
    PacketVerdict verdict;
    if (xdp_) {
        xdp_->reset(packet.data(), packet.size(), options_.ifindex, options_.rx_queue);
        exec_.allow(xdp_->bytes, sizeof xdp_->bytes, true);
        exec_.allow(&xdp_->ctx.md, sizeof xdp_->ctx.md, false);
        auto r0 = runtime::run_program(*program_, reinterpret_cast<uintptr_t>(&xdp_->ctx), 0, exec_, exec_program_.get());
        if (!r0) return std::unexpected(r0.error());
        verdict.r0 = *r0;
        verdict.keep = *r0 == XDP_PASS || *r0 == XDP_TX;
        verdict.out = std::span<const uint8_t>(xdp_->data(), xdp_->size());
        return verdict;
    }
    uint8_t* bytes = nullptr;
    const bool writable = program_->type != BPF_PROG_TYPE_SOCKET_FILTER;
    if (writable) {
        frame_.assign(packet.begin(), packet.end());
        bytes = frame_.data();
    } else {
        // Socket filters cannot write the packet (the verifier gives them no
        // pointer to it): run on the caller's bytes.
        bytes = const_cast<uint8_t*>(packet.data());
    }
    runtime::fill_skb(skb_, bytes, packet.size(), options_.view, options_.pkt_type, options_.ifindex);
    skb_.skb.queue_mapping = options_.rx_queue;
    exec_.packet = skb_.packet;
    exec_.packet_len = skb_.packet_len;
    exec_.allow(&skb_, sizeof skb_.skb, true);
    exec_.allow(skb_.packet, skb_.packet_len, writable);
    auto r0 = runtime::run_program(*program_, reinterpret_cast<uintptr_t>(&skb_), 0, exec_, exec_program_.get());
    if (!r0) return std::unexpected(r0.error());
    verdict.r0 = *r0;
    if (program_->type == BPF_PROG_TYPE_SOCKET_FILTER) {
        // Bytes to keep (an unsigned int in the kernel), at most the packet.
        const size_t keep = std::min<uint64_t>(static_cast<uint32_t>(*r0), skb_.packet_len);
        verdict.keep = keep != 0;
        verdict.out = std::span<const uint8_t>(skb_.packet, keep);
    } else {
        verdict.keep = true;
        verdict.out = std::span<const uint8_t>(skb_.packet, skb_.packet_len);
    }
    return verdict;
}

}  // namespace bpfrt::attach
