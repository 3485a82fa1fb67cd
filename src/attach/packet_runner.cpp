#include "attach/packet_runner.hpp"

#include "helpers/redirect_helpers.hpp"
#include "maps/map.hpp"
#include "runtime/state.hpp"

#include <bpfrt/jit.hpp>

#include <linux/pkt_cls.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace bpfrt::attach {

using runtime::ProgramObject;

namespace {

constexpr size_t kEthHeaderLen = 14;   // ETH_HLEN
constexpr size_t kVlanHeaderLen = 4;   // VLAN_HLEN

bool is_skb_type(uint32_t type) {
    return type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
           type == BPF_PROG_TYPE_SCHED_ACT || type == BPF_PROG_TYPE_CGROUP_SKB;
}

bool is_tc(uint32_t type) { return type == BPF_PROG_TYPE_SCHED_CLS || type == BPF_PROG_TYPE_SCHED_ACT; }

// Whether a tc action lets the packet go on (TC_ACT_OK, UNSPEC, RECLASSIFY,
// PIPE...); SHOT drops it, STOLEN / QUEUED / TRAP consume it, REDIRECT sends
// it elsewhere.
bool tc_passes(int32_t action) {
    return action != TC_ACT_SHOT && action != TC_ACT_STOLEN && action != TC_ACT_QUEUED && action != TC_ACT_TRAP &&
           action != TC_ACT_REDIRECT;
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

std::vector<std::string> describe_redirects(const RedirectStats& stats) {
    std::vector<std::string> lines;
    for (const auto& [ifindex, t] : stats.targets) {
        if (t.packets == 0 && t.errors == 0) continue;  // registered, never used
        std::string line = fmt::format("ifindex {} ({})", ifindex, t.name.empty() ? "no such interface" : t.name);
        if (t.packets != 0 || !t.name.empty()) {
            line += fmt::format(": {} packets, {} bytes", t.packets, t.bytes);
            if (t.tx != 0) line += fmt::format(" ({} by XDP_TX)", t.tx);
            if (t.errors != 0) line += fmt::format(", {} errors", t.errors);
        } else {
            line += fmt::format(": {} errors", t.errors);
        }
        lines.push_back(std::move(line));
    }
    for (const auto& [cpu, c] : stats.cpus)
        lines.push_back(fmt::format("cpu {} (network stack): {} packets, {} bytes", cpu, c.packets, c.bytes));
    if (stats.no_target != 0)
        lines.push_back(fmt::format("no target chosen (XDP_REDIRECT without bpf_redirect*): {} errors", stats.no_target));
    return lines;
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
    runner->entry_.emplace(runner->exec_program_ ? *runner->exec_program_ : *runner->program_->exec);
    return runner;
}

Result<void> PacketRunner::add_interface(Interface iface) {
    if (iface.ifindex == 0) return fail(EINVAL, "ifindex 0 names no interface");
    if (!iface.deliver) return fail(EINVAL, fmt::format("interface {} has no deliver function", iface.ifindex));
    if (interfaces_.contains(iface.ifindex))
        return fail(EEXIST, fmt::format("ifindex {} is already taken by {}", iface.ifindex,
                                        interfaces_.at(iface.ifindex).name));
    stats_.targets[iface.ifindex].name = iface.name;
    const uint32_t ifindex = iface.ifindex;
    interfaces_.emplace(ifindex, std::move(iface));
    return {};
}

// 0 when delivered, else the errno of the failure; counted either way.
int PacketRunner::deliver(uint32_t ifindex, std::span<const uint8_t> frame, const Delivery& delivery) {
    TargetStats& target = stats_.targets[ifindex];
    const auto it = interfaces_.find(ifindex);
    int error = 0;
    if (it == interfaces_.end()) {
        error = EINVAL;  // no such device
    } else if (it->second.mtu != 0 && frame.size() > size_t{it->second.mtu} + kEthHeaderLen + kVlanHeaderLen) {
        error = EMSGSIZE;
    } else if (auto sent = it->second.deliver(frame, delivery); !sent) {
        error = sent.error().code != 0 ? sent.error().code : EIO;
    }
    if (error != 0) {
        ++target.errors;
        return error;
    }
    ++target.packets;
    target.bytes += frame.size();
    if (delivery.tx) ++target.tx;
    return 0;
}

void PacketRunner::redirect(std::span<const uint8_t> frame, int64_t timestamp_ns, PacketVerdict& verdict) {
    const helpers::RedirectTarget& target = helpers::redirect_target();
    verdict.redirect.attempted = true;
    if (!target.set) {
        ++stats_.no_target;
        verdict.redirect.error = xdp_ ? EBADRQC : EINVAL;
        return;
    }
    if (target.to_cpu) return to_cpu(target.key, frame, verdict);
    if ((target.flags & BPF_F_BROADCAST) != 0) return broadcast(frame, timestamp_ns, verdict);
    Delivery delivery{.ifindex = target.ifindex,
                      .from_ifindex = options_.ifindex,
                      .ingress = !xdp_ && (target.flags & BPF_F_INGRESS) != 0,
                      .timestamp_ns = timestamp_ns};
    verdict.redirect.ifindex = target.ifindex;
    verdict.redirect.error = deliver(target.ifindex, frame, delivery);
    verdict.redirect.delivered = verdict.redirect.error == 0 ? 1 : 0;
}

// bpf_redirect_map with BPF_F_BROADCAST: every entry of the device map.
void PacketRunner::broadcast(std::span<const uint8_t> frame, int64_t timestamp_ns, PacketVerdict& verdict) {
    const helpers::RedirectTarget& target = helpers::redirect_target();
    auto* map = const_cast<maps::Map*>(target.map);
    const bool exclude_ingress = (target.flags & BPF_F_EXCLUDE_INGRESS) != 0;
    uint32_t key = 0, next = 0;
    uint32_t value[2] = {};
    for (bool first = true;; first = false) {
        if (!map->get_next_key(first ? nullptr : &key, &next)) break;
        key = next;
        if (!map->lookup(&key, value)) continue;  // an empty DEVMAP slot
        const uint32_t ifindex = value[0];
        if (exclude_ingress && ifindex == options_.ifindex) continue;
        const Delivery delivery{.ifindex = ifindex, .from_ifindex = options_.ifindex, .timestamp_ns = timestamp_ns};
        if (const int error = deliver(ifindex, frame, delivery); error != 0)
            verdict.redirect.error = error;
        else
            ++verdict.redirect.delivered;
    }
}

// bpf_redirect_map into a CPUMAP: the frame goes up the network stack of
// `cpu`, as it would with XDP_PASS on that CPU. (The kernel queues it for a
// thread there; the entry existed when the helper ran, so it cannot fail.)
void PacketRunner::to_cpu(uint32_t cpu, std::span<const uint8_t> frame, PacketVerdict& verdict) {
    CpuStats& stats = stats_.cpus[cpu];
    ++stats.packets;
    stats.bytes += frame.size();
    verdict.keep = true;
    verdict.redirect.cpu = cpu;
    verdict.redirect.delivered = 1;
}

// XDP_TX: back out of the ingress interface, when the host registered it.
void PacketRunner::transmit(std::span<const uint8_t> frame, int64_t timestamp_ns, PacketVerdict& verdict) {
    if (!interfaces_.contains(options_.ifindex)) return;
    verdict.redirect.attempted = true;
    verdict.redirect.ifindex = options_.ifindex;
    const Delivery delivery{
        .ifindex = options_.ifindex, .from_ifindex = options_.ifindex, .tx = true, .timestamp_ns = timestamp_ns};
    verdict.redirect.error = deliver(options_.ifindex, frame, delivery);
    verdict.redirect.delivered = verdict.redirect.error == 0 ? 1 : 0;
}

Result<PacketVerdict> PacketRunner::run(std::span<const uint8_t> packet, int64_t timestamp_ns) {
    exec_.truncate_regions(0);
    exec_.runtime = state_;
    exec_.packet = nullptr;
    exec_.packet_len = 0;
    helpers::clear_redirect();  // a target chosen in an earlier run does not carry over
    PacketVerdict verdict;
    if (xdp_) {
        xdp_->reset(packet.data(), packet.size(), options_.ifindex, options_.rx_queue);
        exec_.allow(xdp_->bytes, sizeof xdp_->bytes, true);
        exec_.allow(&xdp_->ctx.md, sizeof xdp_->ctx.md, false);
        auto r0 = runtime::run_program(*program_, reinterpret_cast<uintptr_t>(&xdp_->ctx), 0, exec_, *entry_);
        if (!r0) return std::unexpected(r0.error());
        verdict.r0 = *r0;
        verdict.keep = *r0 == XDP_PASS || *r0 == XDP_TX;
        verdict.out = std::span<const uint8_t>(xdp_->data(), xdp_->size());
        if (*r0 == XDP_REDIRECT) redirect(verdict.out, timestamp_ns, verdict);
        if (*r0 == XDP_TX) transmit(verdict.out, timestamp_ns, verdict);
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
    auto r0 = runtime::run_program(*program_, reinterpret_cast<uintptr_t>(&skb_), 0, exec_, *entry_);
    if (!r0) return std::unexpected(r0.error());
    verdict.r0 = *r0;
    if (program_->type == BPF_PROG_TYPE_SOCKET_FILTER) {
        // Bytes to keep (an unsigned int in the kernel), at most the packet.
        const size_t keep = std::min<uint64_t>(static_cast<uint32_t>(*r0), skb_.packet_len);
        verdict.keep = keep != 0;
        verdict.out = std::span<const uint8_t>(skb_.packet, keep);
        return verdict;
    }
    const bool cgroup = program_->type == BPF_PROG_TYPE_CGROUP_SKB;
    verdict.keep = cgroup ? (*r0 & 1) != 0 : tc_passes(static_cast<int32_t>(*r0));
    verdict.out = std::span<const uint8_t>(skb_.packet, skb_.packet_len);
    if (is_tc(program_->type) && static_cast<int32_t>(*r0) == TC_ACT_REDIRECT)
        redirect(std::span<const uint8_t>(frame_), timestamp_ns, verdict);
    return verdict;
}

}  // namespace bpfrt::attach
