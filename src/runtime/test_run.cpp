// BPF_PROG_TEST_RUN and the run path every program run goes through.
#include "runtime/contexts.hpp"
#include "runtime/state.hpp"

#include "maps/ringbuf.hpp"


#include <bpfrt/bpf.h>

#include <linux/if_packet.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>
#include <memory>

namespace bpfrt::runtime {

namespace {

constexpr size_t kEthHeaderLen = 14;       // ETH_HLEN: the smallest skb test input
constexpr size_t kMaxTestData = 65535;     // the kernel allows about a page
constexpr size_t kMaxSyscallCtx = 65535;   // U16_MAX, as the kernel

bool is_skb_type(uint32_t type) {
    return type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
           type == BPF_PROG_TYPE_SCHED_ACT || type == BPF_PROG_TYPE_CGROUP_SKB;
}

// What the kernel's eth_type_trans() gives a test-run frame on the loopback
// device (address 00:00:00:00:00:00).
uint32_t test_run_pkt_type(const std::byte* frame) {
    const auto dest0 = std::to_integer<uint8_t>(frame[0]);
    bool broadcast = true, zero = true;
    for (int i = 0; i < 6; ++i) {
        broadcast = broadcast && std::to_integer<uint8_t>(frame[i]) == 0xff;
        zero = zero && std::to_integer<uint8_t>(frame[i]) == 0;
    }
    if (broadcast) return PACKET_BROADCAST;
    if (dest0 & 1) return PACKET_MULTICAST;
    return zero ? PACKET_HOST : PACKET_OTHERHOST;
}

Result<void> check_input(const ProgramObject& program, const TestRun& in) {
    if (in.flags != 0 || in.cpu != 0) return fail(EINVAL, "flags and cpu must be 0");
    const uint32_t type = program.type;
    if (is_skb_type(type) || type == BPF_PROG_TYPE_XDP) {
        if (!in.ctx.empty())
            return fail(EINVAL, "ctx_in is not supported for packet programs (the context is built from data_in)");
        const size_t max = type == BPF_PROG_TYPE_XDP ? kXdpMaxPacket : kMaxTestData;
        if (in.data.size() < kEthHeaderLen || in.data.size() > max)
            return fail(EINVAL, fmt::format("data_in must be {} to {} bytes (an Ethernet frame), is {}",
                                            kEthHeaderLen, max, in.data.size()));
        return {};
    }
    if (type == BPF_PROG_TYPE_SYSCALL || type == BPF_PROG_TYPE_RAW_TRACEPOINT) {
        if (!in.data.empty()) return fail(EINVAL, "syscall and raw_tracepoint programs take no data_in");
        if (in.repeat > 1) return fail(EINVAL, "syscall and raw_tracepoint programs run once (repeat must be 0)");
        if (in.ctx.size() > kMaxSyscallCtx)
            return fail(EINVAL, fmt::format("ctx_in is at most {} bytes", kMaxSyscallCtx));
        if (type == BPF_PROG_TYPE_RAW_TRACEPOINT && in.ctx.size() < program.max_ctx_offset)
            return fail(EINVAL, fmt::format("the program reads {} bytes of its context, ctx_in has {}",
                                            program.max_ctx_offset, in.ctx.size()));
        return {};
    }
    return fail(EINVAL, fmt::format("programs of type {} cannot be test-run", type));
}

// One run: builds the context from the input, runs, returns r0 and the output.
struct OneRun {
    uint64_t r0 = 0;
    std::vector<std::byte> out;
};

Result<OneRun> run_skb(const ProgramObject& program, State& state, const TestRun& in) {
    std::vector<std::byte> frame(in.data.begin(), in.data.end());
    SkbContext skb;
    auto* bytes = reinterpret_cast<uint8_t*>(frame.data());
    fill_skb(skb, bytes, frame.size(), SkbView::Ethernet, test_run_pkt_type(frame.data()));
    vm::ExecContext ctx;
    ctx.runtime = &state;
    ctx.packet = skb.packet;
    ctx.packet_len = skb.packet_len;
    ctx.allow(&skb, sizeof skb.skb, true);
    ctx.allow(skb.packet, skb.packet_len, program.type != BPF_PROG_TYPE_SOCKET_FILTER);
    auto r0 = run_program(program, reinterpret_cast<uintptr_t>(&skb), 0, ctx);
    if (!r0) return std::unexpected(r0.error());
    return OneRun{*r0, std::move(frame)};
}

Result<OneRun> run_xdp(const ProgramObject& program, State& state, const TestRun& in) {
    auto buffer = std::make_unique<XdpBuffer>();
    buffer->reset(reinterpret_cast<const uint8_t*>(in.data.data()), in.data.size());
    vm::ExecContext ctx;
    ctx.runtime = &state;
    ctx.allow(buffer->bytes, sizeof buffer->bytes, true);
    ctx.allow(&buffer->ctx.md, sizeof buffer->ctx.md, false);
    auto r0 = run_program(program, reinterpret_cast<uintptr_t>(&buffer->ctx), 0, ctx);
    if (!r0) return std::unexpected(r0.error());
    const auto* data = reinterpret_cast<const std::byte*>(buffer->data());
    return OneRun{*r0, std::vector<std::byte>(data, data + buffer->size())};
}

// SYSCALL (writable context, given back) and RAW_TRACEPOINT (read-only arguments).
Result<OneRun> run_with_ctx(const ProgramObject& program, State& state, const TestRun& in) {
    std::vector<std::byte> buffer(in.ctx.begin(), in.ctx.end());
    vm::ExecContext ctx;
    ctx.runtime = &state;
    ctx.allow(buffer.data(), buffer.size(), program.type == BPF_PROG_TYPE_SYSCALL);
    const uint64_t r1 = buffer.empty() ? 0 : reinterpret_cast<uintptr_t>(buffer.data());
    auto r0 = run_program(program, r1, buffer.size(), ctx);
    if (!r0) return std::unexpected(r0.error());
    return OneRun{*r0, std::move(buffer)};
}

Result<OneRun> run_once(const ProgramObject& program, State& state, const TestRun& in) {
    if (is_skb_type(program.type)) return run_skb(program, state, in);
    if (program.type == BPF_PROG_TYPE_XDP) return run_xdp(program, state, in);
    return run_with_ctx(program, state, in);
}

}  // namespace

Result<uint64_t> run_program(const ProgramObject& program, uint64_t r1, uint64_t r2, vm::ExecContext& ctx,
                             const vm::Program* exec) {
    // Map values handed to the program stay valid until it returns, even if
    // the host deletes their elements meanwhile.
    bridge::RunSection section;
    RunState run;
    run.context = r1;
    ctx.program = const_cast<ProgramObject*>(&program);
    ctx.user = &run;
    ctx.tail_calls = 0;
    for (const DirectValue& value : program.direct_values) ctx.allow(value.start, value.size, value.writable);
    auto result = (exec != nullptr ? exec : program.exec.get())->run(r1, r2, ctx);
    // Only an unverified program can end holding ring buffer records: drop them.
    for (const RunState::Reserved& r : run.reserved) static_cast<maps::RingBuf*>(r.ring)->discard(r.sample, 0);
    ctx.user = nullptr;
    return result;
}

Result<TestRunResult> State::test_run(const TestRun& in) {
    auto program = program_at(in.prog_fd);
    if (!program) return std::unexpected(program.error());
    if (auto ok = check_input(**program, in); !ok) return std::unexpected(ok.error());
    const uint32_t repeat = in.repeat == 0 ? 1 : in.repeat;

    OneRun last;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < repeat; ++i) {  // fresh input per run, as regions handed out do not carry over
        auto run = run_once(**program, *this, in);
        if (!run) return std::unexpected(run.error());
        last = std::move(*run);
    }
    const auto total = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);

    TestRunResult out;
    out.retval = static_cast<uint32_t>(last.r0);
    const uint64_t mean = static_cast<uint64_t>(total.count()) / repeat;
    out.duration_ns = static_cast<uint32_t>(std::min<uint64_t>(mean, std::numeric_limits<uint32_t>::max()));
    if ((*program)->type == BPF_PROG_TYPE_SYSCALL) {
        out.ctx_out = std::move(last.out);
        out.ctx_to_input = true;
    } else if ((*program)->type != BPF_PROG_TYPE_RAW_TRACEPOINT) {
        out.data_out = std::move(last.out);
    }
    return out;
}

}  // namespace bpfrt::runtime
