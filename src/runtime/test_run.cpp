// BPF_PROG_TEST_RUN and the run path every program run goes through.
#include "runtime/state.hpp"


#include <bpfrt/bpf.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <limits>

namespace bpfrt::runtime {

namespace {

constexpr size_t kEthHeaderLen = 14;       // ETH_HLEN: the smallest skb test input
constexpr size_t kMaxTestData = 65535;     // the kernel allows about a page
constexpr size_t kMaxSyscallCtx = 65535;   // U16_MAX, as the kernel

bool is_skb_type(uint32_t type) {
    return type == BPF_PROG_TYPE_SOCKET_FILTER || type == BPF_PROG_TYPE_SCHED_CLS ||
           type == BPF_PROG_TYPE_SCHED_ACT;
}

// What a run of the program gets: r1, r2 and the packet.
struct RunInput {
    std::vector<std::byte> buffer;  // packet (skb types) or context (syscall), run over in place
    bool writable = false;
    bool is_packet = false;
};

Result<RunInput> prepare_input(const ProgramObject& program, const TestRun& in) {
    if (in.flags != 0 || in.cpu != 0) return fail(EINVAL, "flags and cpu must be 0");
    if (is_skb_type(program.type)) {
        if (!in.ctx.empty()) return fail(EINVAL, "ctx_in is not supported for packet programs yet (no __sk_buff)");
        if (in.data.size() < kEthHeaderLen || in.data.size() > kMaxTestData)
            return fail(EINVAL, fmt::format("data_in must be {} to {} bytes (an Ethernet frame), is {}",
                                            kEthHeaderLen, kMaxTestData, in.data.size()));
        return RunInput{{in.data.begin(), in.data.end()}, program.type != BPF_PROG_TYPE_SOCKET_FILTER, true};
    }
    if (program.type == BPF_PROG_TYPE_SYSCALL) {
        if (!in.data.empty()) return fail(EINVAL, "syscall programs take no data_in");
        if (in.repeat > 1) return fail(EINVAL, "syscall programs run once (repeat must be 0)");
        if (in.ctx.size() > kMaxSyscallCtx)
            return fail(EINVAL, fmt::format("ctx_in is at most {} bytes", kMaxSyscallCtx));
        return RunInput{{in.ctx.begin(), in.ctx.end()}, true, false};
    }
    return fail(EINVAL, fmt::format("programs of type {} cannot be test-run", program.type));
}

}  // namespace

Result<uint64_t> run_program(const ProgramObject& program, uint64_t r1, uint64_t r2, vm::ExecContext& ctx) {
    // Map values handed to the program stay valid until it returns, even if
    // the host deletes their elements meanwhile.
    bridge::RunSection section;
    RunState run;
    ctx.program = const_cast<ProgramObject*>(&program);
    ctx.user = &run;
    for (const DirectValue& value : program.direct_values) ctx.allow(value.start, value.size, value.writable);
    auto result = program.exec->run(r1, r2, ctx);
    ctx.user = nullptr;
    return result;
}

Result<TestRunResult> State::test_run(const TestRun& in) {
    auto program = program_at(in.prog_fd);
    if (!program) return std::unexpected(program.error());
    auto input = prepare_input(**program, in);
    if (!input) return std::unexpected(input.error());

    std::vector<std::byte>& buffer = input->buffer;
    const uint64_t r1 = buffer.empty() ? 0 : reinterpret_cast<uintptr_t>(buffer.data());
    const uint32_t repeat = in.repeat == 0 ? 1 : in.repeat;

    uint64_t r0 = 0;
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t i = 0; i < repeat; ++i) {
        vm::ExecContext ctx;  // fresh per run: regions handed out by helpers do not carry over
        ctx.runtime = this;
        ctx.allow(buffer.data(), buffer.size(), input->writable);
        if (input->is_packet) {
            ctx.packet = reinterpret_cast<const uint8_t*>(buffer.data());
            ctx.packet_len = buffer.size();
        }
        auto result = run_program(**program, r1, buffer.size(), ctx);
        if (!result) return std::unexpected(result.error());
        r0 = *result;
    }
    const auto total = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);

    TestRunResult out;
    out.retval = static_cast<uint32_t>(r0);
    const uint64_t mean = static_cast<uint64_t>(total.count()) / repeat;
    out.duration_ns = static_cast<uint32_t>(std::min<uint64_t>(mean, std::numeric_limits<uint32_t>::max()));
    if (input->is_packet) {
        out.data_out = std::move(buffer);
    } else {
        out.ctx_out = std::move(buffer);
        out.ctx_to_input = true;
    }
    return out;
}

}  // namespace bpfrt::runtime
