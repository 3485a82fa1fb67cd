// Each helper's success and error paths, and host-registered helpers.
#include "test_support.hpp"

#include "helpers/kernel_helpers.hpp"
#include "maps/map.hpp"

#include <bpfrt/jit.hpp>
#include <bpfrt/vm.hpp>

#include <bpfrt/events.hpp>

#include <cerrno>
#include <set>

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
    EXPECT_EQ(run_filter(rt, printk(le_string("n=%d\n\0\0"), 6)), 4u);  // "n=42"
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

}  // namespace
}  // namespace bpfrt::test
