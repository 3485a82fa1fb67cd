// Host events: many-to-many attachment, attach rules, raising with nothing
// attached, and the ring buffer under producers on several threads.
#include "test_support.hpp"

#include <bpfrt/events.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace bpfrt::test {
namespace {

struct OpCtx {
    uint64_t common;  // the tracepoint header programs may not read
    uint64_t value;
};

// map[slot] += ctx->value
std::vector<bpf_insn> add_value(int map_fd, int32_t slot) {
    return {BPF_LDX_MEM(BPF_DW, BPF_REG_6, BPF_REG_1, 8),  BPF_ST_MEM(BPF_W, BPF_REG_10, -4, slot),
            BPF_LD_MAP_FD(BPF_REG_1, map_fd),              BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),         BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
            BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 1),         BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_0, BPF_REG_6, 0),
            BPF_MOV64_IMM(BPF_REG_0, 0),                   BPF_EXIT_INSN()};
}

uint64_t slot_value(Runtime& rt, int map_fd, uint32_t slot) {
    uint64_t v = 0;
    EXPECT_TRUE(rt.map_lookup_elem({.map_fd = map_fd, .key = std::as_bytes(std::span(&slot, 1))},
                                   std::as_writable_bytes(std::span(&v, 1))));
    return v;
}

TEST(Events, RaiseWithNothingAttached) {
    Runtime rt;
    Event e(rt, "idle", sizeof(OpCtx));
    OpCtx ctx{0, 1};
    EXPECT_EQ(e.attached(), 0u);
    EXPECT_EQ(e.raise(&ctx), 0u);
}

TEST(Events, ManyProgramsManyEvents) {
    Runtime rt;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 2});
    ASSERT_TRUE(map);
    const Loaded a = load(rt, BPF_PROG_TYPE_TRACEPOINT, add_value(map->fd(), 0));
    const Loaded b = load(rt, BPF_PROG_TYPE_RAW_TRACEPOINT, add_value(map->fd(), 1));
    ASSERT_EQ(a.error, 0) << a.log;
    ASSERT_EQ(b.error, 0) << b.log;
    Event e1(rt, "e1", sizeof(OpCtx)), e2(rt, "e2", sizeof(OpCtx));
    ASSERT_TRUE(e1.attach(a.fd));
    ASSERT_TRUE(e1.attach(b.fd));
    ASSERT_TRUE(e2.attach(a.fd));
    OpCtx ctx{0, 5};
    EXPECT_EQ(e1.raise(&ctx), 2u);
    ctx.value = 100;
    EXPECT_EQ(e2.raise(&ctx), 1u);
    EXPECT_EQ(slot_value(rt, map->fd(), 0), 105u);
    EXPECT_EQ(slot_value(rt, map->fd(), 1), 5u);
    ASSERT_TRUE(e1.detach(a.fd));
    EXPECT_EQ(e1.detach(a.fd).error().code, ENOENT);
    EXPECT_EQ(e1.raise(&ctx), 1u);
    EXPECT_EQ(slot_value(rt, map->fd(), 0), 105u);
    EXPECT_EQ(slot_value(rt, map->fd(), 1), 105u);
    // The attachment keeps the program alive when its handle is closed.
    ASSERT_TRUE(rt.close(a.fd));
    EXPECT_EQ(e2.raise(&ctx), 1u);
    EXPECT_EQ(slot_value(rt, map->fd(), 0), 205u);
}

TEST(Events, AttachRules) {
    Runtime rt;
    Event small(rt, "small", 12);  // the program reads bytes 8..16
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1});
    const Loaded tp = load(rt, BPF_PROG_TYPE_TRACEPOINT, add_value(map->fd(), 0));
    ASSERT_EQ(tp.error, 0) << tp.log;
    EXPECT_EQ(small.attach(tp.fd).error().code, EACCES);
    Event fits(rt, "fits", 16);
    EXPECT_TRUE(fits.attach(tp.fd));
    EXPECT_EQ(fits.attach(tp.fd).error().code, EEXIST);
    const Loaded filter = load(rt, BPF_PROG_TYPE_SOCKET_FILTER, {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()});
    EXPECT_EQ(fits.attach(filter.fd).error().code, EINVAL);
    EXPECT_EQ(fits.attach(999).error().code, EBADF);
    // Tracepoint programs may not read the 8-byte common header, nor write the context.
    EXPECT_NE(load(rt, BPF_PROG_TYPE_TRACEPOINT, {BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_1, 0), BPF_EXIT_INSN()}).error, 0);
    EXPECT_NE(load(rt, BPF_PROG_TYPE_TRACEPOINT,
                   {BPF_ST_MEM(BPF_DW, BPF_REG_1, 8, 0), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()})
                  .error,
              0);
}

TEST(Events, RingBufferWithProducersOnSeveralThreads) {
    Runtime rt;
    auto ring = rt.map_create({.map_type = BPF_MAP_TYPE_RINGBUF, .max_entries = 1 << 16});
    ASSERT_TRUE(ring);
    // ringbuf_output(ring, &ctx->value copy, 8, 0); retry is the host's business
    const Loaded l = load(rt, BPF_PROG_TYPE_TRACEPOINT,
                          {BPF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_1, 8), BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_2, -8),
                           BPF_LD_MAP_FD(BPF_REG_1, ring->fd()), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
                           BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8), BPF_MOV64_IMM(BPF_REG_3, 8),
                           BPF_MOV64_IMM(BPF_REG_4, 0), BPF_CALL_FUNC(BPF_FUNC_ringbuf_output), BPF_EXIT_INSN()});
    ASSERT_EQ(l.error, 0) << l.log;
    Event e(rt, "produce", sizeof(OpCtx));
    ASSERT_TRUE(e.attach(l.fd));

    constexpr int kThreads = 4, kPerThread = 2000;
    std::atomic<int> done{0};
    uint64_t count = 0, sum = 0;
    RingBufferReader reader(rt);
    ASSERT_TRUE(reader.add(ring->fd(), [&](std::span<const std::byte> r) {
        uint64_t v = 0;
        std::memcpy(&v, r.data(), sizeof v);
        ++count;
        sum += v;
        return 0;
    }));
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t)
        producers.emplace_back([&, t] {
            for (int i = 1; i <= kPerThread; ++i) {
                OpCtx ctx{0, static_cast<uint64_t>(t * kPerThread + i)};
                e.raise(&ctx);
                // A full ring drops records (output gives -EAGAIN): pace the producers a little.
                if (i % 256 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            done.fetch_add(1);
        });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((done.load() < kThreads || reader.consume() > 0) && std::chrono::steady_clock::now() < deadline)
        reader.poll(10);
    for (auto& t : producers) t.join();
    reader.consume();
    // Every record that went in came out exactly once (none were dropped if the ring kept up).
    const uint64_t n = kThreads * kPerThread;
    EXPECT_EQ(count, n);
    EXPECT_EQ(sum, n * (n + 1) / 2);
}

}  // namespace
}  // namespace bpfrt::test
