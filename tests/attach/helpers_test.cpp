// Each helper's success and error paths, and host-registered helpers.
#include "test_support.hpp"

#include "helpers/kernel_helpers.hpp"
#include "maps/map.hpp"

#include <bpfrt/jit.hpp>
#include <bpfrt/vm.hpp>

#include <bpfrt/events.hpp>
#include <bpfrt/object.hpp>
#include <bpfrt/perf_buffer.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <netinet/in.h>

#if BPFRT_HAVE_KERNEL_ORACLE
#include "kernel_oracle.hpp"

#include <linux/perf_event.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace bpfrt::test {
namespace {

uint64_t run_filter(Runtime& rt, const std::vector<bpf_insn>& insns) {
    const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, insns);
    EXPECT_EQ(l.error, 0) << l.log;
    if (l.error != 0) return 0xdead;
    return run_packet(rt, l.fd, ip_frame(6)).r0;
}

std::vector<bpf_insn> call0(int helper) { return {BPF_CALL_FUNC(helper), BPF_EXIT_INSN()}; }

TEST(Helpers, Time) {
    Runtime rt;
    const uint64_t a = run_filter(rt, call0(BPF_FUNC_ktime_get_ns));
    const uint64_t b = run_filter(rt, call0(BPF_FUNC_ktime_get_ns));
    EXPECT_GT(a, 0u);
    EXPECT_GE(b, a);
    EXPECT_GE(run_filter(rt, call0(BPF_FUNC_ktime_get_boot_ns)), a);  // boot time includes suspend
}

TEST(Helpers, RandomAndCpu) {
    Runtime rt;
    std::set<uint64_t> seen;
    for (int i = 0; i < 8; ++i) seen.insert(run_filter(rt, call0(BPF_FUNC_get_prandom_u32)));
    EXPECT_GT(seen.size(), 1u);
    for (uint64_t v : seen) EXPECT_LE(v, 0xffffffffu);
    EXPECT_EQ(run_filter(rt, call0(BPF_FUNC_get_smp_processor_id)), maps::current_cpu_slot());
}

// trace_printk(fmt on the stack, size, 42)
std::vector<bpf_insn> printk(uint64_t fmt_bytes, int32_t size) {
    return {BPF_LD_IMM64(BPF_REG_1, static_cast<int64_t>(fmt_bytes)), BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -8),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -8),
            BPF_MOV64_IMM(BPF_REG_2, size), BPF_MOV64_IMM(BPF_REG_3, 42), BPF_CALL_FUNC(BPF_FUNC_trace_printk),
            BPF_EXIT_INSN()};
}

uint64_t le_string(const char (&s)[8]) {
    uint64_t v = 0;
    std::memcpy(&v, s, 8);
    return v;
}

TEST(Helpers, TracePrintkToTheTraceStream) {
    Runtime rt;
    EXPECT_EQ(run_filter(rt, printk(le_string("n=%d\n\0\0"), 6)), 5u);  // "n=42\n", as the kernel counts it
    auto lines = rt.take_trace();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("n=42"), std::string::npos) << lines[0];
    EXPECT_TRUE(rt.take_trace().empty());
    // Unknown conversion, no NUL in fmt_size: -EINVAL and nothing printed.
    EXPECT_EQ(static_cast<int32_t>(run_filter(rt, printk(le_string("n=%q\0\0\0"), 5))), -EINVAL);
    EXPECT_EQ(static_cast<int32_t>(run_filter(rt, printk(le_string("n=%d\0\0\0"), 4))), -EINVAL);
    EXPECT_TRUE(rt.take_trace().empty());
    // With a callback, messages go there.
    std::string got;
    rt.set_trace_callback([&](std::string_view, std::string_view m) { got = m; });
    run_filter(rt, printk(le_string("%x\0\0\0\0\0"), 3));
    EXPECT_EQ(got, "2a");
}

TEST(Helpers, TailCallThroughProgArray) {
    Runtime rt;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_PROG_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2});
    ASSERT_TRUE(map);
    const Loaded target = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, {BPF_MOV64_IMM(BPF_REG_0, 42), BPF_EXIT_INSN()});
    ASSERT_EQ(target.error, 0);
    uint32_t key = 0, fd = static_cast<uint32_t>(target.fd);
    ASSERT_TRUE(rt.map_update_elem({.map_fd = map->fd(), .key = std::as_bytes(std::span(&key, 1)),
                                    .value = std::as_bytes(std::span(&fd, 1))}));
    auto caller = [&](int32_t index) {
        return run_filter(rt, {BPF_LD_MAP_FD(BPF_REG_2, map->fd()), BPF_MOV64_IMM(BPF_REG_3, index),
                               BPF_CALL_FUNC(BPF_FUNC_tail_call), BPF_MOV64_IMM(BPF_REG_0, 1), BPF_EXIT_INSN()});
    };
    EXPECT_EQ(caller(0), 42u);  // jumps into the target
    EXPECT_EQ(caller(1), 1u);   // empty slot: falls through
    EXPECT_EQ(caller(7), 1u);   // out of range: falls through
}

TEST(Helpers, RingBufferOutputReserveSubmitDiscardQuery) {
    Runtime rt;
    auto ring = rt.map_create({.map_type = BPF_MAP_TYPE_RINGBUF, .max_entries = 4096});
    ASSERT_TRUE(ring) << ring.error().message;
    const int fd = ring->fd();
    // output(ring, &(u64)7, 8, 0)
    EXPECT_EQ(run_filter(rt, {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 7), BPF_LD_MAP_FD(BPF_REG_1, fd),
                              BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8),
                              BPF_MOV64_IMM(BPF_REG_3, 8), BPF_MOV64_IMM(BPF_REG_4, 0),
                              BPF_CALL_FUNC(BPF_FUNC_ringbuf_output), BPF_EXIT_INSN()}),
              0u);
    // p = reserve(ring, 8, 0); if (p) { *p = value; submit or discard }
    auto reserve = [&](int32_t value, int commit) {
        return run_filter(rt, {BPF_LD_MAP_FD(BPF_REG_1, fd), BPF_MOV64_IMM(BPF_REG_2, 8), BPF_MOV64_IMM(BPF_REG_3, 0),
                               BPF_CALL_FUNC(BPF_FUNC_ringbuf_reserve), BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 5),
                               BPF_ST_MEM(BPF_DW, BPF_REG_0, 0, value), BPF_MOV64_REG(BPF_REG_1, BPF_REG_0),
                               BPF_MOV64_IMM(BPF_REG_2, 0), BPF_CALL_FUNC(commit), BPF_MOV64_IMM(BPF_REG_0, 1),
                               BPF_EXIT_INSN()});
    };
    EXPECT_EQ(reserve(8, BPF_FUNC_ringbuf_submit), 1u);
    EXPECT_EQ(reserve(9, BPF_FUNC_ringbuf_discard), 1u);
    // query(ring, BPF_RB_AVAIL_DATA): three 16-byte records (header + 8)
    EXPECT_EQ(run_filter(rt, {BPF_LD_MAP_FD(BPF_REG_1, fd), BPF_MOV64_IMM(BPF_REG_2, BPF_RB_AVAIL_DATA),
                              BPF_CALL_FUNC(BPF_FUNC_ringbuf_query), BPF_EXIT_INSN()}),
              48u);
    RingBufferReader reader(rt);
    std::vector<uint64_t> got;
    ASSERT_TRUE(reader.add(fd, [&](std::span<const std::byte> r) {
        uint64_t v = 0;
        std::memcpy(&v, r.data(), std::min(r.size(), sizeof v));
        got.push_back(v);
        return 0;
    }));
    EXPECT_EQ(reader.poll(0), 2);
    EXPECT_EQ(got, (std::vector<uint64_t>{7, 8}));  // the discarded record is skipped
    // Too large a record: reserve gives NULL, output -EAGAIN.
    EXPECT_EQ(reserve(1, BPF_FUNC_ringbuf_submit), 1u);
    auto array = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1});
    EXPECT_EQ(reader.add(array->fd(), [](std::span<const std::byte>) { return 0; }).error().code, EINVAL);
}

TEST(Helpers, SkbLoadBytes) {
    Runtime rt;
    auto load_bytes = [&](int32_t off, int32_t len) {
        return run_filter(rt, {BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, -1), BPF_MOV64_IMM(BPF_REG_2, off),
                               BPF_MOV64_REG(BPF_REG_3, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8),
                               BPF_MOV64_IMM(BPF_REG_4, len), BPF_CALL_FUNC(BPF_FUNC_skb_load_bytes),
                               BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 1), BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -8),
                               BPF_EXIT_INSN()});
    };
    EXPECT_EQ(load_bytes(12, 2) & 0xffff, 0x0008u);  // bytes 08 00 as they are in the packet
    EXPECT_EQ(static_cast<int32_t>(load_bytes(63, 2)), -EFAULT);
    EXPECT_EQ(static_cast<int32_t>(load_bytes(0x10000, 2)), -EFAULT);
}

// Host helper: r0 = r1 * 1000 + r2.
uint64_t host_combine(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, vm::ExecContext&) {
    return r1 * 1000 + r2;
}

TEST(Helpers, HostHelpersAreCheckedByTheVerifier) {
    Runtime rt;
    HelperPrototype proto{.name = "combine", .args = {HelperArg::Scalar, HelperArg::Scalar}};
    const std::vector<bpf_insn> call = {BPF_MOV64_IMM(BPF_REG_1, 3), BPF_MOV64_IMM(BPF_REG_2, 4),
                                        BPF_CALL_FUNC(kHostHelperFirst), BPF_EXIT_INSN()};
    EXPECT_NE(load(rt, BPF_PROG_TYPE_SOCKET_FILTER, call).error, 0);  // not registered yet
    ASSERT_TRUE(rt.register_helper(kHostHelperFirst, host_combine, proto));
    EXPECT_EQ(run_filter(rt, call), 3004u);
    EXPECT_EQ(rt.register_helper(kHostHelperFirst, host_combine, proto).error().code, EEXIST);
    EXPECT_EQ(rt.register_helper(kHostHelperFirst - 1, host_combine, proto).error().code, EINVAL);
    EXPECT_EQ(rt.register_helper(kHostHelperLast + 1, host_combine, proto).error().code, EINVAL);
    EXPECT_EQ(rt.register_helper(kHostHelperFirst + 1, nullptr, proto).error().code, EINVAL);
    HelperPrototype bad{.name = "bad", .args = {HelperArg::ReadableMem, HelperArg::Scalar}};
    EXPECT_EQ(rt.register_helper(kHostHelperFirst + 1, host_combine, bad).error().code, EINVAL);
    // A memory argument: the verifier refuses a scalar where memory is due.
    HelperPrototype mem{.name = "mem", .args = {HelperArg::ReadableMem, HelperArg::Size}};
    ASSERT_TRUE(rt.register_helper(kHostHelperFirst + 2, host_combine, mem));
    const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER,
                          {BPF_MOV64_IMM(BPF_REG_1, 3), BPF_MOV64_IMM(BPF_REG_2, 4),
                           BPF_CALL_FUNC(kHostHelperFirst + 2), BPF_EXIT_INSN()});
    EXPECT_EQ(l.error, EACCES) << l.log;
    // Restricted to XDP: socket filters may not call it.
    HelperPrototype xdp_only{.name = "xdp_only", .prog_types = {BPF_PROG_TYPE_XDP}};
    ASSERT_TRUE(rt.register_helper(kHostHelperFirst + 3, host_combine, xdp_only));
    EXPECT_NE(load(rt, BPF_PROG_TYPE_SOCKET_FILTER, {BPF_CALL_FUNC(kHostHelperFirst + 3), BPF_EXIT_INSN()}).error, 0);
    EXPECT_EQ(load(rt, BPF_PROG_TYPE_XDP, {BPF_CALL_FUNC(kHostHelperFirst + 3), BPF_EXIT_INSN()}).error, 0);
}

// probe_read_kernel(fp-8, 8, ctx->ptr): r0 = result << 32 | low 32 bits copied.
struct ProbeCtx {
    uint64_t common;  // tracepoint header: not readable
    uint64_t ptr;
};

// The program's r0 stored in map[0] after `body` (which leaves its result in r0).
std::vector<bpf_insn> store_result(int map_fd, std::vector<bpf_insn> body) {
    body.insert(body.end(), {BPF_MOV64_REG(BPF_REG_6, BPF_REG_0), BPF_ST_MEM(BPF_W, BPF_REG_10, -12, 0),
                             BPF_LD_MAP_FD(BPF_REG_1, map_fd), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
                             BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -12), BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
                             BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 1), BPF_STX_MEM(BPF_DW, BPF_REG_0, BPF_REG_6, 0),
                             BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()});
    return body;
}

uint64_t read_result(Runtime& rt, int map_fd) {
    uint32_t key = 0;
    uint64_t v = 0;
    EXPECT_TRUE(rt.map_lookup_elem({.map_fd = map_fd, .key = std::as_bytes(std::span(&key, 1))},
                                   std::as_writable_bytes(std::span(&v, 1))));
    return v;
}

TEST(Helpers, ProbeReadOnlyFromMemoryTheProgramWasGiven) {
    Runtime rt;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1});
    ASSERT_TRUE(map);
    uint64_t secret = 0x1234567890abcdefULL;
    ProbeCtx ctx{0, reinterpret_cast<uintptr_t>(&secret)};
    for (int helper : {BPF_FUNC_probe_read_kernel, BPF_FUNC_probe_read_user, BPF_FUNC_probe_read}) {
        // r0 = helper(fp-8, 8, ctx->ptr) << 32 | low half of fp-8
        const Loaded l = load(rt, BPF_PROG_TYPE_TRACEPOINT,
                              store_result(map->fd(), {BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_1, 8),
                                                       BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0x55),
                                                       BPF_MOV64_REG(BPF_REG_1, BPF_REG_10),
                                                       BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -8), BPF_MOV64_IMM(BPF_REG_2, 8),
                                                       BPF_CALL_FUNC(helper), BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_10, -8),
                                                       BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 32),
                                                       BPF_ALU64_REG(BPF_OR, BPF_REG_0, BPF_REG_1)}));
        ASSERT_EQ(l.error, 0) << l.log;
        Event event(rt, "probe", sizeof(ProbeCtx));
        ASSERT_TRUE(event.attach(l.fd));
        EXPECT_EQ(event.raise(&ctx, {{&secret, sizeof secret}}), 1u);
        EXPECT_EQ(read_result(rt, map->fd()), 0x90abcdefu);  // 0, and the copied bytes
        EXPECT_EQ(event.raise(&ctx), 1u);                     // the secret was not given this time
        EXPECT_EQ(read_result(rt, map->fd()), (uint64_t{static_cast<uint32_t>(-EFAULT)} << 32));  // zeroed
    }
}

TEST(Helpers, ProbeReadStr) {
    Runtime rt;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1});
    ASSERT_TRUE(map);
    // r0 = probe_read_kernel_str(fp-8, 8, ctx->ptr) << 32 | first 4 bytes
    const Loaded l = load(rt, BPF_PROG_TYPE_TRACEPOINT,
                          store_result(map->fd(), {BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_1, 8),
                                                   BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0x55),
                                                   BPF_MOV64_REG(BPF_REG_1, BPF_REG_10),
                                                   BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -8), BPF_MOV64_IMM(BPF_REG_2, 8),
                                                   BPF_CALL_FUNC(BPF_FUNC_probe_read_kernel_str),
                                                   BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_10, -8),
                                                   BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 32),
                                                   BPF_ALU64_REG(BPF_OR, BPF_REG_0, BPF_REG_1)}));
    ASSERT_EQ(l.error, 0) << l.log;
    Event event(rt, "str", sizeof(ProbeCtx));
    ASSERT_TRUE(event.attach(l.fd));
    const char text[] = "abc";
    ProbeCtx ctx{0, reinterpret_cast<uintptr_t>(text)};
    event.raise(&ctx, {{text, sizeof text}});
    EXPECT_EQ(read_result(rt, map->fd()), (uint64_t{4} << 32) | 0x00636261u);  // length with the NUL
    const char longer[] = "abcdefghijk";
    ctx.ptr = reinterpret_cast<uintptr_t>(longer);
    event.raise(&ctx, {{longer, sizeof longer}});
    EXPECT_EQ(read_result(rt, map->fd()) >> 32, 8u);  // truncated to 7 bytes + NUL
    event.raise(&ctx);
    EXPECT_EQ(read_result(rt, map->fd()), uint64_t{static_cast<uint32_t>(-EFAULT)} << 32);
}


// ---- probe_read* on the program's own stack, in verified runs ----

// Engines a verified program may run in here (the JIT only where supported).
std::vector<jit::Engine> verified_engines() {
    std::vector<jit::Engine> engines{jit::Engine::Interpreter};
    if (jit::jit_supported()) engines.push_back(jit::Engine::Jit);
    return engines;
}

const char* engine_name(jit::Engine e) { return e == jit::Engine::Jit ? "jit" : "interpreter"; }

// fp-8 = 0x1122334455667788; fp-16 = 0x55; r0 = helper(fp-16, 8, src) << 32 | low half of fp-16,
// where src = r10 + src_off (the source pointer is a plain scalar to the verifier).
std::vector<bpf_insn> probe_stack(int helper, int32_t src_off) {
    return {BPF_LD_IMM64(BPF_REG_1, 0x1122334455667788LL), BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -8),
            BPF_ST_MEM(BPF_DW, BPF_REG_10, -16, 0x55), BPF_MOV64_REG(BPF_REG_1, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -16), BPF_MOV64_IMM(BPF_REG_2, 8),
            BPF_MOV64_REG(BPF_REG_3, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, src_off),
            BPF_CALL_FUNC(helper), BPF_LDX_MEM(BPF_W, BPF_REG_1, BPF_REG_10, -16),
            BPF_ALU64_IMM(BPF_LSH, BPF_REG_0, 32), BPF_ALU64_REG(BPF_OR, BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()};
}

uint64_t efault_and(uint32_t low) { return (uint64_t{static_cast<uint32_t>(-EFAULT)} << 32) | low; }

TEST(Helpers, ProbeReadKernelFromTheStackOfAVerifiedSocketFilter) {
    for (jit::Engine engine : verified_engines()) {
        SCOPED_TRACE(engine_name(engine));
        Runtime rt;
        rt.set_engine(engine);
        for (int helper : {BPF_FUNC_probe_read_kernel, BPF_FUNC_probe_read_kernel_str}) {
            SCOPED_TRACE(helper);
            const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, probe_stack(helper, -8));
            ASSERT_EQ(l.error, 0) << l.log;
            const uint64_t r0 = run_packet(rt, l.fd, ip_frame(6)).r0;
            if (helper == BPF_FUNC_probe_read_kernel_str) {
                EXPECT_EQ(r0, (uint64_t{8} << 32) | 0x55667788u);  // 7 bytes and the NUL
            } else {
                EXPECT_EQ(r0, 0x55667788u);  // 0, and the copied bytes
            }
            // Just above r10 and just below the whole stack: not the program's memory.
            for (int32_t off : {0, -static_cast<int32_t>(vm::kRunStackSize) - 8}) {
                const Loaded outside = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, probe_stack(helper, off));
                ASSERT_EQ(outside.error, 0) << outside.log;
                EXPECT_EQ(run_packet(rt, outside.fd, ip_frame(6)).r0, efault_and(0)) << off;  // fp-16 zeroed
            }
        }
    }
}

// A tracing program on a host event: probe_read, probe_read_user and
// probe_read_kernel copy within its stack; host memory not given fails.
TEST(Helpers, ProbeReadFromTheStackOfAVerifiedTracingProgram) {
    for (jit::Engine engine : verified_engines()) {
        SCOPED_TRACE(engine_name(engine));
        Runtime rt;
        rt.set_engine(engine);
        auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1});
        ASSERT_TRUE(map);
        for (int helper : {BPF_FUNC_probe_read, BPF_FUNC_probe_read_user, BPF_FUNC_probe_read_kernel,
                           BPF_FUNC_probe_read_str, BPF_FUNC_probe_read_user_str}) {
            SCOPED_TRACE(helper);
            std::vector<bpf_insn> body = probe_stack(helper, -8);
            body.pop_back();  // the exit: store_result ends the program
            const Loaded l = load(rt, BPF_PROG_TYPE_TRACEPOINT, store_result(map->fd(), body));
            ASSERT_EQ(l.error, 0) << l.log;
            Event event(rt, "stack", sizeof(ProbeCtx));
            ASSERT_TRUE(event.attach(l.fd));
            const ProbeCtx ctx{};
            EXPECT_EQ(event.raise(&ctx), 1u);
            const bool str = helper == BPF_FUNC_probe_read_str || helper == BPF_FUNC_probe_read_user_str;
            EXPECT_EQ(read_result(rt, map->fd()), (uint64_t{str ? 8u : 0u} << 32) | 0x55667788u);
        }
    }
}

// The helper table alone, without a Runtime: a program prepared for each
// engine in verified mode copies from its stack; a host address nobody
// allowed gives -EFAULT and a zeroed destination.
TEST(Helpers, ProbeReadOnTheStackThroughEachEngineDirectly) {
    vm::HelperTable table;
    helpers::register_kernel_helpers(table);
    const uint64_t host_secret = 0xfeedfacecafebeefULL;
    for (jit::Engine engine : verified_engines()) {
        SCOPED_TRACE(engine_name(engine));
        const std::vector<bpf_insn> own = probe_stack(BPF_FUNC_probe_read_kernel, -8);
        auto prog = jit::make_program(own, &table, engine);
        ASSERT_TRUE(prog) << prog.error().message;
        ASSERT_EQ((*prog)->mode(), vm::Mode::Verified);
        vm::ExecContext ctx;
        EXPECT_EQ((*prog)->run(0, 0, ctx).value(), 0x55667788u);
        EXPECT_EQ(ctx.stack_top, 0u);  // only during the run
        // src = the host's secret, passed in r1 and moved to r3 (never allowed).
        std::vector<bpf_insn> host = {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1)};
        for (const bpf_insn& insn : own) host.push_back(insn);
        host[host.size() - 7] = BPF_MOV64_REG(BPF_REG_3, BPF_REG_6);  // replaces r3 = r10
        host[host.size() - 6] = BPF_MOV64_IMM(BPF_REG_4, 0);          // replaces r3 += -8
        auto leaking = jit::make_program(host, &table, engine);
        ASSERT_TRUE(leaking) << leaking.error().message;
        EXPECT_EQ((*leaking)->run(reinterpret_cast<uintptr_t>(&host_secret), 0, ctx).value(), efault_and(0));
        ctx.allow(&host_secret, sizeof host_secret, false);  // now it was given
        EXPECT_EQ((*leaking)->run(reinterpret_cast<uintptr_t>(&host_secret), 0, ctx).value(), 0xcafebeefu);
    }
}


// ---- bpf_perf_event_output and the host's PerfBuffer ----

int32_t as_errno(uint64_t r0) { return static_cast<int32_t>(r0); }

// fp-16..fp-1 = 88 77 66 55 44 33 22 11 (twice); r0 = perf_event_output(ctx, map, flags, fp-16, size).
std::vector<bpf_insn> perf_output(int map_fd, uint64_t flags, int32_t size) {
    return {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
            BPF_LD_IMM64(BPF_REG_1, 0x1122334455667788LL),
            BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -16),
            BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -8),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
            BPF_LD_MAP_FD(BPF_REG_2, map_fd),
            BPF_LD_IMM64(BPF_REG_3, static_cast<int64_t>(flags)),
            BPF_MOV64_REG(BPF_REG_4, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, -16),
            BPF_MOV64_IMM(BPF_REG_5, size),
            BPF_CALL_FUNC(BPF_FUNC_perf_event_output),
            BPF_EXIT_INSN()};
}

Result<MapHandle> perf_map(Runtime& rt, uint32_t max_entries) {
    return rt.map_create({.map_type = BPF_MAP_TYPE_PERF_EVENT_ARRAY, .key_size = 4, .value_size = 4,
                          .max_entries = max_entries});
}

std::vector<std::byte> bytes(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

// What a PerfBuffer handed out.
struct Received {
    std::vector<std::pair<uint32_t, std::vector<std::byte>>> samples;
    uint64_t lost = 0;
    std::vector<uint32_t> lost_cpus;
};

Result<PerfBuffer> reader(Runtime& rt, int map_fd, Received& got, size_t pages = 8) {
    return PerfBuffer::create(
        rt, map_fd,
        [&got](uint32_t cpu, std::span<const std::byte> data) { got.samples.emplace_back(cpu, std::vector(data.begin(), data.end())); },
        [&got](uint32_t cpu, uint64_t n) {
            got.lost += n;
            got.lost_cpus.push_back(cpu);
        },
        {.page_count = pages});
}

TEST(PerfEventOutput, SamplesReachThePerfBufferOfTheCpuSlot) {
    Runtime rt;
    const uint32_t cpus = maps::possible_cpus();
    auto map = perf_map(rt, cpus);
    ASSERT_TRUE(map) << map.error().message;
    Received got;
    auto pb = reader(rt, map->fd(), got);
    ASSERT_TRUE(pb) << pb.error().message;
    EXPECT_EQ(pb->buffer_count(), cpus);
    const uint32_t cpu = maps::current_cpu_slot();
    EXPECT_EQ(run_filter(rt, perf_output(map->fd(), BPF_F_CURRENT_CPU, 5)), 0u);
    EXPECT_EQ(run_filter(rt, perf_output(map->fd(), cpu, 16)), 0u);  // its own slot by index
    EXPECT_EQ(run_filter(rt, perf_output(map->fd(), BPF_F_CURRENT_CPU, 0)), 0u);
    EXPECT_EQ(pb->poll(0), 3);
    ASSERT_EQ(got.samples.size(), 3u);
    for (const auto& [from, data] : got.samples) EXPECT_EQ(from, cpu);
    // The kernel's raw samples: padded with zeros so that 4 + size is a multiple of 8.
    EXPECT_EQ(got.samples[0].second, bytes({0x88, 0x77, 0x66, 0x55, 0x44, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(got.samples[1].second.size(), 20u);
    EXPECT_EQ(got.samples[2].second, bytes({0, 0, 0, 0}));
    EXPECT_EQ(pb->poll(0), 0);
    EXPECT_EQ(got.lost, 0u);
    // Closing the reader takes its buffers out of the map: nobody listens any more.
    pb = fail(EINVAL, "closed");
    EXPECT_EQ(as_errno(run_filter(rt, perf_output(map->fd(), BPF_F_CURRENT_CPU, 8))), -ENOENT);
}

TEST(PerfEventOutput, PacketProgramsAppendPacketBytes) {
    Runtime rt;
    auto map = perf_map(rt, maps::possible_cpus());
    ASSERT_TRUE(map);
    Received got;
    auto pb = reader(rt, map->fd(), got);
    ASSERT_TRUE(pb) << pb.error().message;
    const uint64_t with_14 = BPF_F_CURRENT_CPU | (uint64_t{14} << 32);
    const std::vector<std::byte> expected =
        bytes({0x88, 0x77, 0x66, 0x55, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0, 0, 0, 0, 0, 0, 0x08, 0, 0, 0});
    // Socket filter: 4 bytes, then the first 14 bytes of the frame, then padding.
    EXPECT_EQ(run_filter(rt, perf_output(map->fd(), with_14, 4)), 0u);
    // XDP: the same from the frame's data.
    const Loaded xdp = load(rt, BPF_PROG_TYPE_XDP, perf_output(map->fd(), with_14, 4));
    ASSERT_EQ(xdp.error, 0) << xdp.log;
    EXPECT_EQ(run_packet(rt, xdp.fd, ip_frame(6)).r0, 0u);
    EXPECT_EQ(pb->consume(), 2);
    ASSERT_EQ(got.samples.size(), 2u);
    EXPECT_EQ(got.samples[0].second, expected);
    EXPECT_EQ(got.samples[1].second, expected);
    // More packet bytes than the packet has: -EFAULT; flag bits beyond the masks: -EINVAL.
    EXPECT_EQ(as_errno(run_filter(rt, perf_output(map->fd(), BPF_F_CURRENT_CPU | (uint64_t{65} << 32), 4))), -EFAULT);
    EXPECT_EQ(as_errno(run_filter(rt, perf_output(map->fd(), BPF_F_CURRENT_CPU | (uint64_t{1} << 52), 4))), -EINVAL);
    EXPECT_EQ(pb->consume(), 0);
}

// A tracing program's r0, through an array map (store_result).
uint64_t raise_traced(Runtime& rt, int result_map, const std::vector<bpf_insn>& body) {
    std::vector<bpf_insn> prog = body;
    prog.pop_back();  // the exit: store_result ends the program
    const Loaded l = load(rt, BPF_PROG_TYPE_TRACEPOINT, store_result(result_map, prog));
    EXPECT_EQ(l.error, 0) << l.log;
    Event event(rt, "traced", sizeof(ProbeCtx));
    EXPECT_TRUE(event.attach(l.fd));
    const ProbeCtx ctx{};
    EXPECT_EQ(event.raise(&ctx), 1u);
    return read_result(rt, result_map);
}

TEST(PerfEventOutput, ErrorsAsTheKernel) {
    Runtime rt;
    const uint32_t cpus = maps::possible_cpus();
    auto map = perf_map(rt, cpus + 1);
    ASSERT_TRUE(map);
    Received got;
    auto pb = reader(rt, map->fd(), got);
    ASSERT_TRUE(pb) << pb.error().message;
    EXPECT_EQ(pb->buffer_count(), cpus);  // one per CPU slot, as libbpf: slot `cpus` stays empty
    EXPECT_EQ(as_errno(run_filter(rt, perf_output(map->fd(), cpus, 8))), -ENOENT);
    EXPECT_EQ(as_errno(run_filter(rt, perf_output(map->fd(), cpus + 1, 8))), -E2BIG);
    EXPECT_EQ(as_errno(run_filter(rt, perf_output(map->fd(), 0xfffffffe, 8))), -E2BIG);
    // Tracing programs take no packet bytes: any bit beyond BPF_F_INDEX_MASK is -EINVAL.
    auto result = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1});
    ASSERT_TRUE(result);
    EXPECT_EQ(as_errno(raise_traced(rt, result->fd(), perf_output(map->fd(), BPF_F_CURRENT_CPU | (uint64_t{1} << 32), 8))),
              -EINVAL);
    EXPECT_EQ(raise_traced(rt, result->fd(), perf_output(map->fd(), BPF_F_CURRENT_CPU, 8)), 0u);
    EXPECT_EQ(pb->consume(), 1);
    // Another CPU slot's buffer: the kernel's -EOPNOTSUPP for an event of another CPU.
    if (cpus < 2) GTEST_SKIP() << "one CPU slot: no other slot for -EOPNOTSUPP";
    const uint32_t other = (maps::current_cpu_slot() + 1) % cpus;
    EXPECT_EQ(as_errno(run_filter(rt, perf_output(map->fd(), other, 8))), -EOPNOTSUPP);
}

// One page holds 127 records of 16 bytes of data (32 bytes each, one byte
// always free); the rest are lost and reported to the lost callback.
TEST(PerfEventOutput, FullBuffersLoseSamplesAndReportThem) {
    Runtime rt;
    auto map = perf_map(rt, maps::possible_cpus());
    ASSERT_TRUE(map);
    Received got;
    auto pb = reader(rt, map->fd(), got, 1);
    ASSERT_TRUE(pb) << pb.error().message;
    const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, perf_output(map->fd(), BPF_F_CURRENT_CPU, 16));
    ASSERT_EQ(l.error, 0) << l.log;
    auto runner = attach::PacketRunner::create(rt, l.fd);
    ASSERT_TRUE(runner) << runner.error().message;
    const std::vector<uint8_t> frame = ip_frame(17);
    int ok = 0, nospc = 0;
    for (int i = 0; i < 130; ++i) {
        const int32_t r = as_errno((*runner)->run(frame)->r0);
        ok += r == 0;
        nospc += r == -ENOSPC;
    }
    EXPECT_EQ(ok, 127);
    EXPECT_EQ(nospc, 3);
    EXPECT_EQ(pb->lost(), 3u);
    EXPECT_EQ(pb->poll(100), 128);  // 127 samples and one lost notification
    EXPECT_EQ(got.samples.size(), 127u);
    EXPECT_EQ(got.lost, 3u);
    EXPECT_EQ(got.lost_cpus, std::vector<uint32_t>{maps::current_cpu_slot()});
    // Room again: samples flow.
    EXPECT_EQ((*runner)->run(frame)->r0, 0u);
    EXPECT_EQ(pb->consume_buffer(maps::current_cpu_slot()).value(), 1);
    EXPECT_EQ(pb->consume_buffer(pb->buffer_count()).error().code, EINVAL);
}

TEST(PerfEventOutput, TheVerifierKeepsPerfEventArraysToTheirHelper) {
    Runtime rt;
    auto map = perf_map(rt, 2);
    ASSERT_TRUE(map);
    // bpf_map_lookup_elem(&perf_map, &key): refused, as the kernel (EINVAL, check_map_func_compatibility).
    const Loaded lookup = load(rt, BPF_PROG_TYPE_SOCKET_FILTER,
                               {BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0), BPF_LD_MAP_FD(BPF_REG_1, map->fd()),
                                BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
                                BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()});
    EXPECT_EQ(lookup.error, EINVAL);
    EXPECT_NE(lookup.log.find("cannot pass map_type 4 into func bpf_map_lookup_elem"), std::string::npos) << lookup.log;
    // bpf_perf_event_output to an ARRAY: refused too.
    auto array = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2});
    ASSERT_TRUE(array);
    const Loaded output = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, perf_output(array->fd(), BPF_F_CURRENT_CPU, 8));
    EXPECT_EQ(output.error, EINVAL);
    EXPECT_NE(output.log.find("cannot pass map_type 2 into func bpf_perf_event_output"), std::string::npos)
        << output.log;
    // The host cannot read it either (the kernel's ENOTSUPP).
    uint32_t key = 0, value = 0;
    auto looked = rt.map_lookup_elem({.map_fd = map->fd(), .key = std::as_bytes(std::span(&key, 1))},
                                     std::as_writable_bytes(std::span(&value, 1)));
    ASSERT_FALSE(looked);
    EXPECT_EQ(looked.error().code, maps::kENOTSUPP);
}

TEST(PerfEventOutput, HostHandlesAndPerfBufferErrors) {
    Runtime rt;
    auto map = perf_map(rt, 2);
    ASSERT_TRUE(map);
    auto sample = [](uint32_t, std::span<const std::byte>) {};
    EXPECT_EQ(PerfBuffer::create(rt, 999, sample).error().code, EBADF);
    auto array = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 2});
    ASSERT_TRUE(array);
    EXPECT_EQ(PerfBuffer::create(rt, array->fd(), sample).error().code, EINVAL);
    EXPECT_EQ(PerfBuffer::create(rt, map->fd(), nullptr).error().code, EINVAL);
    EXPECT_EQ(PerfBuffer::create(rt, map->fd(), sample, {}, {.page_count = 3}).error().code, EINVAL);
    EXPECT_EQ(PerfBuffer::create(rt, map->fd(), sample, {}, {.page_count = 0}).error().code, EINVAL);
    EXPECT_EQ(PerfBuffer::create(rt, map->fd(), sample, {}, {.page_count = 1 << 17}).error().code, EINVAL);
    const size_t handles = rt.open_handles();
    {
        auto pb = PerfBuffer::create(rt, map->fd(), sample);
        ASSERT_TRUE(pb) << pb.error().message;
        EXPECT_EQ(rt.open_handles(), handles);  // the buffers' handles were only used to store them
        PerfBuffer moved = std::move(*pb);
        EXPECT_EQ(moved.consume(), 0);
    }
    // A map value must be a perf event's handle: a program's or a map's is EBADF (the kernel's perf_event_get).
    uint32_t key = 0;
    const int32_t not_perf = array->fd();
    auto stored = rt.map_update_elem({.map_fd = map->fd(), .key = std::as_bytes(std::span(&key, 1)),
                                      .value = std::as_bytes(std::span(&not_perf, 1))});
    ASSERT_FALSE(stored);
    EXPECT_EQ(stored.error().code, EBADF);
}

// Producers on several threads raise an event whose program sends
// {thread, sequence}; one consumer thread polls meanwhile. Every sample
// arrives once, in order per thread, or is counted lost.
struct SeqCtx {
    uint64_t common;
    uint64_t thread;
    uint64_t seq;
};

TEST(PerfEventOutput, ProducersOnSeveralThreadsAndAPollingConsumer) {
    Runtime rt;
    auto map = perf_map(rt, maps::possible_cpus());
    ASSERT_TRUE(map);
    constexpr int kThreads = 4;
    constexpr uint64_t kRaises = 3000;
    std::vector<int64_t> last(kThreads, -1);
    uint64_t received = 0, lost = 0;
    bool in_order = true;
    auto pb = PerfBuffer::create(
        rt, map->fd(),
        [&](uint32_t, std::span<const std::byte> data) {
            uint64_t record[2];
            std::memcpy(record, data.data(), sizeof record);
            if (static_cast<int64_t>(record[1]) <= last[record[0]]) in_order = false;
            last[record[0]] = static_cast<int64_t>(record[1]);
            ++received;
        },
        [&](uint32_t, uint64_t n) { lost += n; }, {.page_count = 2});
    ASSERT_TRUE(pb) << pb.error().message;
    // r2 = ctx->thread, ctx->seq onto the stack; perf_event_output(ctx, map, CURRENT_CPU, fp-16, 16)
    const Loaded l = load(rt, BPF_PROG_TYPE_TRACEPOINT,
                          {BPF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_1, 8), BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_2, -16),
                           BPF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_1, 16), BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_2, -8),
                           BPF_LD_MAP_FD(BPF_REG_2, map->fd()), BPF_LD_IMM64(BPF_REG_3, BPF_F_CURRENT_CPU),
                           BPF_MOV64_REG(BPF_REG_4, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, -16),
                           BPF_MOV64_IMM(BPF_REG_5, 16), BPF_CALL_FUNC(BPF_FUNC_perf_event_output),
                           BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()});
    ASSERT_EQ(l.error, 0) << l.log;
    Event event(rt, "op", sizeof(SeqCtx));
    ASSERT_TRUE(event.attach(l.fd));
    std::atomic<int> running{kThreads};
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t) {
        producers.emplace_back([&, t] {
            for (uint64_t seq = 0; seq < kRaises; ++seq) {
                const SeqCtx ctx{0, static_cast<uint64_t>(t), seq};
                event.raise(&ctx);
            }
            running.fetch_sub(1);
        });
    }
    std::thread consumer([&] {
        while (running.load() > 0) pb->poll(5);
        pb->consume();
    });
    for (auto& t : producers) t.join();
    consumer.join();
    EXPECT_TRUE(in_order);
    EXPECT_EQ(received + lost, uint64_t{kThreads} * kRaises);
    EXPECT_EQ(lost, pb->lost());
    EXPECT_EQ(event.errors(), 0u);
}

// poll() sleeps until a sample arrives from another thread.
TEST(PerfEventOutput, PollWakesUpForASampleFromAnotherThread) {
    Runtime rt;
    auto map = perf_map(rt, maps::possible_cpus());
    ASSERT_TRUE(map);
    Received got;
    auto pb = reader(rt, map->fd(), got);
    ASSERT_TRUE(pb) << pb.error().message;
    const Loaded l = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, perf_output(map->fd(), BPF_F_CURRENT_CPU, 8));
    ASSERT_EQ(l.error, 0) << l.log;
    EXPECT_EQ(pb->poll(0), 0);
    std::thread producer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        run_packet(rt, l.fd, ip_frame(6));
    });
    const auto start = std::chrono::steady_clock::now();
    long n = 0;
    while (n == 0 && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) n = pb->poll(-1);
    producer.join();
    EXPECT_EQ(n, 1);
    ASSERT_EQ(got.samples.size(), 1u);
    EXPECT_EQ(got.samples[0].second.size(), 12u);
}

// ---- bpf_trace_vprintk ----

// An argument of trace_vprintk: a value, or an address on the program's stack (r10 + offset).
struct PrintArg {
    uint64_t value = 0;
    int32_t stack_offset = 0;  // != 0: the argument is r10 + stack_offset
};

// fmt (at most 32 bytes with its NUL) at fp-32; `aux` bytes (strings,
// addresses) at fp-64; the n arguments at fp-64-8n; then
// r0 = trace_vprintk(fp-32, fmt_size, args or NULL, data_len).
std::vector<bpf_insn> vprintk(std::string_view fmt, std::vector<PrintArg> args, std::string_view aux = {},
                              int32_t fmt_size = -1, int32_t data_len = -1, bool null_data = false) {
    std::vector<bpf_insn> p;
    auto store_bytes = [&](std::string_view text, int32_t base) {
        char chunk[32] = {};
        if (!text.empty()) std::memcpy(chunk, text.data(), std::min(text.size(), sizeof chunk));
        for (int i = 0; i < 4; ++i) {
            int64_t v = 0;
            std::memcpy(&v, chunk + 8 * i, 8);
            p.insert(p.end(), {BPF_LD_IMM64(BPF_REG_1, v), BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, base + 8 * i)});
        }
    };
    store_bytes(fmt, -32);
    store_bytes(aux, -64);
    const auto n = static_cast<int32_t>(args.size());
    for (int32_t j = 0; j < n; ++j) {
        const PrintArg& a = args[static_cast<size_t>(j)];
        if (a.stack_offset != 0) {
            p.insert(p.end(), {BPF_MOV64_REG(BPF_REG_1, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, a.stack_offset)});
        } else {
            p.insert(p.end(), {BPF_LD_IMM64(BPF_REG_1, static_cast<int64_t>(a.value))});
        }
        p.push_back(BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -64 - 8 * n + 8 * j));
    }
    p.insert(p.end(), {BPF_MOV64_REG(BPF_REG_1, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -32),
                       BPF_MOV64_IMM(BPF_REG_2, fmt_size >= 0 ? fmt_size : static_cast<int32_t>(fmt.size()) + 1)});
    if (null_data) {
        p.push_back(BPF_MOV64_IMM(BPF_REG_3, 0));
    } else {
        p.insert(p.end(), {BPF_MOV64_REG(BPF_REG_3, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -64 - 8 * n)});
    }
    p.insert(p.end(), {BPF_MOV64_IMM(BPF_REG_4, data_len >= 0 ? data_len : 8 * n),
                       BPF_CALL_FUNC(BPF_FUNC_trace_vprintk), BPF_EXIT_INSN()});
    return p;
}

// The one trace line a run printed ("" when none), without the program's name.
std::string printed(Runtime& rt) {
    auto lines = rt.take_trace();
    if (lines.size() != 1) return lines.empty() ? "" : "<several lines>";
    const size_t colon = lines[0].find(": ");
    return colon == std::string::npos ? lines[0] : lines[0].substr(colon + 2);
}

TEST(TraceVprintk, FormatsUpToTwelveArguments) {
    Runtime rt;
    auto ok = [&](std::string_view fmt, std::vector<PrintArg> args, std::string_view expected, std::string_view aux = {}) {
        SCOPED_TRACE(fmt);
        const uint64_t r0 = run_filter(rt, vprintk(fmt, std::move(args), aux));
        std::string text(expected);
        EXPECT_EQ(r0, text.size() + (fmt.ends_with('\n') ? 1 : 0));  // the kernel counts the newline
        EXPECT_EQ(printed(rt), text);
    };
    ok("a=%d b=%u c=%x d=%lld e=%llx\n", {{static_cast<uint64_t>(-5)}, {7}, {255}, {static_cast<uint64_t>(-9)}, {0xabc}},
       "a=-5 b=7 c=ff d=-9 e=abc");
    ok("%d%d%d%d%d%d%d%d%d%d%d%d", {{1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}}, "123456789101112");
    ok("[%5d|%-4u|%08x|%+d|%i]", {{42}, {7}, {0xbeef}, {3}, {static_cast<uint64_t>(-1)}}, "[   42|7   |0000beef|+3|-1]");
    ok("%ld %lu %lx %X", {{static_cast<uint64_t>(-2)}, {1ULL << 40}, {1ULL << 36}, {0xab}}, "-2 1099511627776 1000000000 AB");
    ok("%d %u", {{0x1'0000'0005ULL}, {0xffff'ffff'ffffULL}}, "5 4294967295");  // int conversions take the low half
    ok("s=%s c=%c %-4s|", {{0, -64}, {'x'}, {0, -61}}, "s=hi c=x lo  |", std::string_view("hi\0lo\0", 6));
    ok("%p %px", {{0x1234}, {0xff}}, "0x1234 00000000000000ff");
    ok("%pI4 %pi4", {{0, -64}, {0, -64}}, "192.168.1.2 192.168.001.002", std::string_view("\xc0\xa8\x01\x02", 4));
    ok("%pI6", {{0, -64}}, "2001:0db8:0000:0000:0000:0000:0000:0001",
       std::string_view("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16));
    ok("100%% %s", {{0, -64}}, "100% ", std::string_view("\0", 1));
    ok("no args", {}, "no args");
    // No arguments at all: NULL data and size 0.
    EXPECT_EQ(run_filter(rt, vprintk("plain", {}, {}, -1, 0, true)), 5u);
    EXPECT_EQ(printed(rt), "plain");
    // %s of memory the program was not given: an empty string, as the kernel's failed copy.
    int host = 0;
    ok("[%s]", {{reinterpret_cast<uintptr_t>(&host)}}, "[]");
}

TEST(TraceVprintk, RefusesWhatTheKernelRefuses) {
    Runtime rt;
    auto einval = [&](std::vector<bpf_insn> prog, const char* what) {
        EXPECT_EQ(as_errno(run_filter(rt, prog)), -EINVAL) << what;
        EXPECT_TRUE(rt.take_trace().empty()) << what;
    };
    einval(vprintk("%d", {{1}, {2}}, {}, -1, 12), "data_len not a multiple of 8");
    std::vector<PrintArg> thirteen(13, PrintArg{1});
    einval(vprintk("%d", thirteen), "13 arguments");
    einval(vprintk("%d %d", {{1}}), "more conversions than arguments");
    einval(vprintk("%d", {}, {}, -1, 0, true), "a conversion and no arguments");
    einval(vprintk("%o", {{8}}), "%o");
    einval(vprintk("%.2d", {{8}}), "precision");
    einval(vprintk("%hd", {{8}}), "%hd");
    einval(vprintk("%zu", {{8}}), "%zu");
    einval(vprintk("%lllx", {{8}}), "%lllx");
    einval(vprintk("%#x", {{8}}), "%#x");
    einval(vprintk("%sx", {{0, -64}}, std::string_view("a\0", 2)), "%s followed by a letter");
    einval(vprintk("%pq", {{8}}), "%pq");
    einval(vprintk("%pI5", {{8}}), "%pI5");
    einval(vprintk("%q", {{8}}), "%q");
    einval(vprintk("a\x01", {}), "a non-printable character");
    einval(vprintk("abcd", {}, {}, 4), "no NUL within fmt_size");
    // Fewer conversions than arguments is fine.
    EXPECT_EQ(run_filter(rt, vprintk("x", {{1}, {2}})), 1u);
    EXPECT_EQ(printed(rt), "x");
}

// bpf_trace_printk follows the same format rules (three arguments).
TEST(TraceVprintk, TracePrintkSharesTheKernelsFormatChecks) {
    Runtime rt;
    EXPECT_EQ(as_errno(run_filter(rt, printk(le_string("%o\0\0\0\0\0"), 3))), -EINVAL);
    EXPECT_EQ(as_errno(run_filter(rt, printk(le_string("%.1d\0\0\0"), 5))), -EINVAL);
    EXPECT_EQ(run_filter(rt, printk(le_string("%5d\0\0\0\0"), 4)), 5u);
    EXPECT_EQ(printed(rt), "   42");
}


// ---- End to end: restricted C through the loader and the Runtime ----

// tests/attach/bpf/perf_output.c: a socket filter sends {len, protocol} and
// the Ethernet header per packet with bpf_perf_event_output, and prints a
// line with five arguments (bpf_trace_vprintk); the host reads the samples
// with a PerfBuffer.
TEST(PerfEventOutput, RestrictedCSocketFilterToAPerfBuffer) {
    const std::string path = std::string(BPFRT_ATTACH_OBJECT_DIR) + "/perf_output.o";
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " was not built (no clang)";
    if (maps::possible_cpus() > 64) GTEST_SKIP() << "the object's map has 64 slots, the host more CPU slots";
    for (jit::Engine engine : verified_engines()) {
        SCOPED_TRACE(engine_name(engine));
        Runtime rt;
        rt.set_engine(engine);
        auto obj = ObjectFile::open(path);
        ASSERT_TRUE(obj) << obj.error().message;
        auto loaded = obj->load(rt);
        ASSERT_TRUE(loaded) << loaded.error().message;
        const ObjectProgram* prog = obj->find_program("report_packets");
        const ObjectMap* events = obj->find_map("events");
        ASSERT_NE(prog, nullptr);
        ASSERT_NE(events, nullptr);
        Received got;
        auto pb = reader(rt, events->fd, got);
        ASSERT_TRUE(pb) << pb.error().message;
        auto runner = attach::PacketRunner::create(rt, prog->fd);
        ASSERT_TRUE(runner) << runner.error().message;
        const uint8_t protocols[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP};
        for (size_t i = 0; i < std::size(protocols); ++i) {
            auto verdict = (*runner)->run(ip_frame(protocols[i], 60 + 10 * i));
            ASSERT_TRUE(verdict) << verdict.error().message;
        }
        EXPECT_EQ(pb->poll(100), 3);
        ASSERT_EQ(got.samples.size(), 3u);
        for (size_t i = 0; i < got.samples.size(); ++i) {
            const auto& [cpu, data] = got.samples[i];
            EXPECT_EQ(cpu, maps::current_cpu_slot());
            ASSERT_EQ(data.size(), 8u + 14u + 6u);  // record, Ethernet header, padding to 4 + 28 = 32
            uint32_t record[2];
            std::memcpy(record, data.data(), sizeof record);
            EXPECT_EQ(record[0], 60u + 10 * i);
            EXPECT_EQ(record[1], protocols[i]);
            const std::vector<uint8_t> frame = ip_frame(protocols[i]);
            EXPECT_EQ(std::memcmp(data.data() + 8, frame.data(), 14), 0);
        }
        const auto lines = rt.take_trace();
        ASSERT_EQ(lines.size(), 3u);
        EXPECT_NE(lines[0].find(fmt::format("len 60 proto 6 err 0 cpu {} mark beef", maps::current_cpu_slot())),
                  std::string::npos)
            << lines[0];
        EXPECT_NE(lines[2].find("len 80 proto 1 err 0"), std::string::npos) << lines[2];
    }
}


// ---- Against the kernel (where bpf() and perf_event_open() are permitted) ----
#if BPFRT_HAVE_KERNEL_ORACLE

// A bpf-output perf event of the kernel on one CPU, its ring mapped.
class KernelPerfEvent {
public:
    static constexpr size_t kDataPages = 2;
    KernelPerfEvent() = default;
    KernelPerfEvent(const KernelPerfEvent&) = delete;
    KernelPerfEvent& operator=(const KernelPerfEvent&) = delete;
    ~KernelPerfEvent() {
        if (ring_ != MAP_FAILED) ::munmap(ring_, (kDataPages + 1) * 4096);
    }
    // errno, 0 when open.
    int open(int cpu) {
        perf_event_attr attr{};
        attr.type = PERF_TYPE_SOFTWARE;
        attr.size = sizeof attr;
        attr.config = PERF_COUNT_SW_BPF_OUTPUT;
        attr.sample_type = PERF_SAMPLE_RAW;
        attr.sample_period = 1;
        attr.wakeup_events = 1;
        const long fd = ::syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
        if (fd < 0) return errno;
        fd_ = kernel::Fd(static_cast<int>(fd));
        ring_ = ::mmap(nullptr, (kDataPages + 1) * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
        if (ring_ == MAP_FAILED) return errno;
        return ::ioctl(fd_.get(), PERF_EVENT_IOC_ENABLE, 0) == 0 ? 0 : errno;
    }
    int fd() const { return fd_.get(); }
    // The raw data of the samples written since the last call.
    std::vector<std::vector<std::byte>> take_samples() {
        auto* page = static_cast<perf_event_mmap_page*>(ring_);
        const auto* data = static_cast<const std::byte*>(ring_) + 4096;
        const uint64_t size = kDataPages * 4096;
        const uint64_t head = __atomic_load_n(&page->data_head, __ATOMIC_ACQUIRE);
        uint64_t tail = page->data_tail;
        std::vector<std::vector<std::byte>> out;
        std::vector<std::byte> record;
        while (tail < head) {
            perf_event_header header;
            copy(data, size, tail, &header, sizeof header);
            record.resize(header.size);
            copy(data, size, tail, record.data(), header.size);
            if (header.type == PERF_RECORD_SAMPLE) {
                uint32_t raw = 0;
                std::memcpy(&raw, record.data() + sizeof header, sizeof raw);
                const auto* raw_data = record.data() + sizeof header + sizeof raw;
                out.emplace_back(raw_data, raw_data + raw);
            }
            tail += header.size;
        }
        __atomic_store_n(&page->data_tail, tail, __ATOMIC_RELEASE);
        return out;
    }

private:
    static void copy(const std::byte* data, uint64_t size, uint64_t pos, void* out, size_t n) {
        for (size_t i = 0; i < n; ++i) static_cast<std::byte*>(out)[i] = data[(pos + i) % size];
    }
    kernel::Fd fd_;
    void* ring_ = MAP_FAILED;
};

// Pins the calling thread to one CPU while it lives: the kernel's
// BPF_F_CURRENT_CPU is the CPU the test run happens on.
class PinnedTo {
public:
    explicit PinnedTo(int cpu) {
        ok_ = ::sched_getaffinity(0, sizeof saved_, &saved_) == 0;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        ok_ = ok_ && ::sched_setaffinity(0, sizeof one, &one) == 0;
    }
    ~PinnedTo() {
        if (ok_) ::sched_setaffinity(0, sizeof saved_, &saved_);
    }
    bool ok() const { return ok_; }

private:
    cpu_set_t saved_{};
    bool ok_ = false;
};

// The same program (perf_output) in the kernel and here, case by case: the
// helper's result and the raw samples each side's reader gets. Slot roles:
// "own" is CPU 0 in the kernel (the thread is pinned there) and this thread's
// CPU slot here; "other" another CPU with a reader; "empty" a slot without
// one; "past" the first index past max_entries.
TEST(PerfEventOutputKernelDiff, ResultsAndSamplesMatchTheKernel) {
    std::string why;
    if (!kernel::kernel_bpf_available(&why)) GTEST_SKIP() << why;
    const int kernel_cpus = std::min(2, static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN)));
    PinnedTo pinned(0);
    if (!pinned.ok()) GTEST_SKIP() << "cannot pin the thread to CPU 0: " << std::strerror(errno);
    constexpr uint32_t kKernelSlots = 4;
    kernel::MapResult kmap = kernel::create_map(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, kKernelSlots);
    ASSERT_EQ(kmap.error, 0);
    KernelPerfEvent kevents[2];
    for (int cpu = 0; cpu < kernel_cpus; ++cpu) {
        if (const int e = kevents[cpu].open(cpu); e != 0) GTEST_SKIP() << "perf_event_open: " << std::strerror(e);
        const uint32_t key = static_cast<uint32_t>(cpu), value = static_cast<uint32_t>(kevents[cpu].fd());
        ASSERT_EQ(kernel::map_update(kmap.fd.get(), &key, &value), 0);
    }

    Runtime rt;
    const uint32_t cpus = maps::possible_cpus();
    auto map = perf_map(rt, cpus + 1);
    ASSERT_TRUE(map);
    Received got;
    auto pb = reader(rt, map->fd(), got);
    ASSERT_TRUE(pb) << pb.error().message;
    const uint32_t self = maps::current_cpu_slot();

    enum class Slot { Current, Own, Other, Empty, Past };
    struct Case {
        const char* what;
        Slot slot;
        uint64_t extra_flags;
        int32_t size;
    };
    const Case cases[] = {
        {"current cpu, 5 bytes", Slot::Current, 0, 5},
        {"current cpu, 16 bytes", Slot::Current, 0, 16},
        {"current cpu, 0 bytes", Slot::Current, 0, 0},
        {"own slot by index", Slot::Own, 0, 8},
        {"other cpu's slot", Slot::Other, 0, 8},
        {"empty slot", Slot::Empty, 0, 8},
        {"past max_entries", Slot::Past, 0, 8},
        {"10 packet bytes", Slot::Current, uint64_t{10} << 32, 4},
        {"50 packet bytes (all)", Slot::Current, uint64_t{50} << 32, 3},
        {"51 packet bytes", Slot::Current, uint64_t{51} << 32, 4},
        {"a flag bit past the masks", Slot::Current, uint64_t{1} << 52, 4},
    };
    const std::vector<uint8_t> frame = ip_frame(6);
    for (const Case& c : cases) {
        if (c.slot == Slot::Other && (kernel_cpus < 2 || cpus < 2)) continue;
        SCOPED_TRACE(c.what);
        auto index = [&](bool kernel_side) -> uint64_t {
            switch (c.slot) {
                case Slot::Current: return BPF_F_CURRENT_CPU;
                case Slot::Own: return kernel_side ? 0 : self;
                case Slot::Other: return kernel_side ? 1 : (self + 1) % cpus;
                case Slot::Empty: return kernel_side ? 2 : cpus;
                case Slot::Past: return kernel_side ? kKernelSlots : cpus + 1;
            }
            return 0;
        };
        auto kprog = perf_output(kmap.fd.get(), index(true) | c.extra_flags, c.size);
        kernel::LoadResult kl = kernel::prog_load(BPF_PROG_TYPE_SOCKET_FILTER, kprog, "GPL");
        ASSERT_TRUE(kl.accepted()) << kl.log;
        kernel::TestRunResult kr = kernel::test_run(kl.fd.get(), frame);
        ASSERT_EQ(kr.error, 0);
        std::vector<std::vector<std::byte>> kernel_samples = kevents[0].take_samples();
        if (kernel_cpus > 1) {
            auto more = kevents[1].take_samples();
            kernel_samples.insert(kernel_samples.end(), more.begin(), more.end());
        }

        const Loaded ours = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, perf_output(map->fd(), index(false) | c.extra_flags, c.size));
        ASSERT_EQ(ours.error, 0) << ours.log;
        // The kernel's test run gives socket filters the packet from the network header: so do we here.
        const uint64_t r0 = run_packet(rt, ours.fd, frame, {.view = runtime::SkbView::Network}).r0;
        got.samples.clear();
        pb->consume();
        std::vector<std::vector<std::byte>> our_samples;
        for (auto& [cpu, data] : got.samples) our_samples.push_back(std::move(data));

        EXPECT_EQ(static_cast<int32_t>(r0), static_cast<int32_t>(kr.retval));
        EXPECT_EQ(our_samples, kernel_samples);
    }
}

// trace_vprintk's and trace_printk's results (the message length or
// -EINVAL) for the same formats and arguments as the kernel's.
TEST(TraceVprintkKernelDiff, ResultsMatchTheKernel) {
    std::string why;
    if (!kernel::kernel_bpf_available(&why)) GTEST_SKIP() << why;
    Runtime rt;
    const std::string_view ip4("\xc0\xa8\x01\x02", 4);
    const std::string_view ip6("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    struct Case {
        std::vector<bpf_insn> prog;
        const char* what;
    };
    const std::vector<PrintArg> thirteen(13, PrintArg{1});
    const Case cases[] = {
        {vprintk("a=%d b=%u c=%x d=%lld e=%llx\n", {{static_cast<uint64_t>(-5)}, {7}, {255}, {static_cast<uint64_t>(-9)}, {0xabc}}), "integers"},
        {vprintk("%d%d%d%d%d%d%d%d%d%d%d%d", {{1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}}), "12 args"},
        {vprintk("[%5d|%-4u|%08x|%+d|%i]", {{42}, {7}, {0xbeef}, {3}, {static_cast<uint64_t>(-1)}}), "flags, widths"},
        {vprintk("%ld %lu %lx %X", {{static_cast<uint64_t>(-2)}, {1ULL << 40}, {1ULL << 36}, {0xab}}), "longs"},
        {vprintk("%d %u", {{0x1'0000'0005ULL}, {0xffff'ffff'ffffULL}}), "ints"},
        {vprintk("s=%s c=%c %-4s|", {{0, -64}, {'x'}, {0, -61}}, std::string_view("hi\0lo\0", 6)), "strings"},
        {vprintk("%px", {{0xff}}), "%px"},
        {vprintk("%pI4 %pi4", {{0, -64}, {0, -64}}, ip4), "IPv4"},
        {vprintk("%pI6 %pi6", {{0, -64}, {0, -64}}, ip6), "IPv6"},
        {vprintk("100%% x", {}), "%%"},
        {vprintk("plain", {}, {}, -1, 0, true), "NULL data"},
        {vprintk("x", {{1}, {2}}), "fewer conversions than args"},
        {vprintk("%d", {{1}, {2}}, {}, -1, 12), "data_len 12"},
        {vprintk("%d", thirteen), "13 args"},
        {vprintk("%d %d", {{1}}), "too few args"},
        {vprintk("%d", {}, {}, -1, 0, true), "no args"},
        {vprintk("%o", {{8}}), "%o"},
        {vprintk("%.2d", {{8}}), "precision"},
        {vprintk("%hd", {{8}}), "%hd"},
        {vprintk("%zu", {{8}}), "%zu"},
        {vprintk("%lllx", {{8}}), "%lllx"},
        {vprintk("%#x", {{8}}), "%#x"},
        {vprintk("%sx", {{0, -64}}, std::string_view("a\0", 2)), "%sx"},
        {vprintk("%pq", {{8}}), "%pq"},
        {vprintk("%pI5", {{8}}), "%pI5"},
        {vprintk("a\x01", {}), "control character"},
        {vprintk("abcd", {}, {}, 4), "no NUL"},
        {printk(le_string("n=%d\n\0\0"), 6), "trace_printk"},
        {printk(le_string("%5d\0\0\0\0"), 4), "trace_printk width"},
        {printk(le_string("%o\0\0\0\0\0"), 3), "trace_printk %o"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        kernel::LoadResult kl = kernel::prog_load(BPF_PROG_TYPE_SOCKET_FILTER, c.prog, "GPL");
        ASSERT_TRUE(kl.accepted()) << kl.log;
        kernel::TestRunResult kr = kernel::test_run(kl.fd.get(), ip_frame(6));
        ASSERT_EQ(kr.error, 0);
        EXPECT_EQ(static_cast<int32_t>(run_filter(rt, c.prog)), static_cast<int32_t>(kr.retval));
    }
    rt.take_trace();
}

#endif  // BPFRT_HAVE_KERNEL_ORACLE

}  // namespace
}  // namespace bpfrt::test
