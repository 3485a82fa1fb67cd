// BPF_MAP_TYPE_RINGBUF: records, headers, wrap-around, consumers, threads.
#include "maps/ringbuf.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace bpfrt::maps::test {
namespace {

std::shared_ptr<RingBuf> make_ring(uint32_t size) {
    return std::static_pointer_cast<RingBuf>(make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, size));
}

TEST(RingBuf, ReserveSubmitDiscardAndHeaders) {
    auto rb = make_ring(4096);
    EXPECT_EQ(rb->query(BPF_RB_RING_SIZE), 4096u);
    EXPECT_EQ(rb->reserve(8, 1), nullptr);  // flags must be 0
    auto* a = static_cast<uint8_t*>(rb->reserve(5, 0));
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 8, 0u);
    uint32_t len = 0;
    std::memcpy(&len, a - 8, 4);
    EXPECT_EQ(len, 5u | BPF_RINGBUF_BUSY_BIT);
    EXPECT_EQ(rb->query(BPF_RB_PROD_POS), 16u);  // 8-byte header + 5 rounded to 8
    EXPECT_EQ(rb->query(BPF_RB_AVAIL_DATA), 16u);
    auto* b = static_cast<uint8_t*>(rb->reserve(3, 0));
    ASSERT_NE(b, nullptr);
    std::memcpy(a, "hello", 5);
    std::memcpy(b, "bye", 3);
    std::vector<std::string> got;
    RingBufferConsumer consumer(rb, [&](const void* d, size_t n) {
        got.emplace_back(static_cast<const char*>(d), n);
        return 0;
    });
    rb->submit(b, 0);
    EXPECT_EQ(consumer.consume(), 0);  // b waits behind the busy a
    rb->discard(a, 0);
    std::memcpy(&len, a - 8, 4);
    EXPECT_EQ(len, 5u | BPF_RINGBUF_DISCARD_BIT);
    EXPECT_EQ(consumer.consume(), 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], "bye");
    EXPECT_EQ(rb->query(BPF_RB_CONS_POS), 32u);
    EXPECT_EQ(rb->query(BPF_RB_AVAIL_DATA), 0u);
    EXPECT_EQ(rb->query(12345), 0u);
    EXPECT_EQ(rb->output("xyz", 3, 0), 0);
    EXPECT_EQ(rb->output("xyz", 3, 8), -EINVAL);
    EXPECT_EQ(consumer.consume(), 1);
    EXPECT_EQ(got.back(), "xyz");
}

TEST(RingBuf, FullRingAndOversizedRecords) {
    auto rb = make_ring(4096);
    EXPECT_EQ(rb->reserve(4096, 0), nullptr);
    EXPECT_EQ(rb->reserve(uint64_t{1} << 40, 0), nullptr);
    // 8 + 1016 = 1024 bytes per record: three fit, the fourth would fill
    // the ring completely, which the kernel refuses (> mask).
    for (int i = 0; i < 3; ++i) ASSERT_EQ(rb->output(std::string(1016, 'a').data(), 1016, 0), 0);
    EXPECT_EQ(rb->output(std::string(1016, 'b').data(), 1016, 0), -EAGAIN);
    EXPECT_EQ(rb->output("x", 1, 0), 0);  // a small one still fits
    long n = 0;
    RingBufferConsumer consumer(rb, [&](const void*, size_t) { return 0; });
    n = consumer.consume();
    EXPECT_EQ(n, 4);
    EXPECT_EQ(rb->output(std::string(1016, 'c').data(), 1016, 0), 0);
}

TEST(RingBuf, WrapAroundKeepsRecordsContiguousAndOrdered) {
    auto rb = make_ring(4096);
    uint64_t next_expected = 0, produced = 0;
    RingBufferConsumer consumer(rb, [&](const void* d, size_t n) {
        EXPECT_GE(n, 8u);
        uint64_t seq = 0;
        std::memcpy(&seq, d, 8);
        EXPECT_EQ(seq, next_expected);
        // Every byte of the record carries its sequence number.
        for (size_t i = 8; i < n; ++i) EXPECT_EQ(static_cast<const uint8_t*>(d)[i], static_cast<uint8_t>(seq));
        ++next_expected;
        return 0;
    });
    std::vector<uint8_t> buf(700);
    for (int round = 0; round < 200; ++round) {
        const size_t size = 8 + (round * 37) % 600;
        std::memcpy(buf.data(), &produced, 8);
        std::fill(buf.begin() + 8, buf.begin() + static_cast<long>(size), static_cast<uint8_t>(produced));
        if (rb->output(buf.data(), size, 0) == 0) {
            ++produced;
        } else {
            consumer.consume();
            ASSERT_EQ(rb->output(buf.data(), size, 0), 0);
            ++produced;
        }
    }
    consumer.consume();
    EXPECT_EQ(next_expected, produced);
    EXPECT_GT(rb->query(BPF_RB_PROD_POS), 4096u * 10);  // wrapped many times
}

TEST(RingBuf, CallbackStopsConsumption) {
    auto rb = make_ring(4096);
    for (int i = 0; i < 5; ++i) ASSERT_EQ(rb->output(&i, sizeof i, 0), 0);
    int calls = 0;
    RingBufferConsumer stop_positive(rb, [&](const void*, size_t) { return ++calls == 2 ? 1 : 0; });
    EXPECT_EQ(stop_positive.consume(), 2);
    RingBufferConsumer stop_negative(rb, [&](const void*, size_t) { return -7; });
    EXPECT_EQ(stop_negative.consume(), -7);  // the record is consumed
    RingBufferConsumer rest(rb, [&](const void*, size_t) { return 0; });
    EXPECT_EQ(rest.consume(), 2);
}

TEST(RingBuf, ConsumerRejectsOtherMaps) {
    RingBufferConsumer consumer;
    auto hash = make_map(BPF_MAP_TYPE_HASH, 4, 4, 1);
    EXPECT_EQ(err(consumer.add(hash, [](const void*, size_t) { return 0; })), EINVAL);
    auto rb = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
    EXPECT_EQ(err(consumer.add(rb, nullptr)), EINVAL);
    EXPECT_EQ(consumer.poll(0), 0);
    uint32_t k = 0, v = 0;
    EXPECT_EQ(err(rb->lookup(nullptr, &v)), kENOTSUPP);
    EXPECT_EQ(err(rb->lookup(&k, &v)), EINVAL);
    EXPECT_EQ(err(rb->update(nullptr, &v, 0)), kENOTSUPP);
    EXPECT_EQ(err(rb->erase(nullptr)), kENOTSUPP);
    EXPECT_EQ(err(rb->get_next_key(nullptr, &k)), kENOTSUPP);
}

TEST(RingBuf, MultiThreadProducersOneConsumer) {
    auto rb = make_ring(16384);
    auto rb2 = make_ring(4096);
    constexpr int kThreads = 4;
    constexpr uint32_t kPerThread = 3000;
    std::vector<uint32_t> next(kThreads, 0);
    uint64_t total = 0;
    bool in_order = true;
    RingBufferConsumer consumer;
    auto check = [&](const void* d, size_t n) {
        if (n != 8) return -1;
        uint32_t rec[2];
        std::memcpy(rec, d, 8);
        if (rec[0] >= kThreads || rec[1] != next[rec[0]]) in_order = false;
        if (rec[0] < kThreads) next[rec[0]] = rec[1] + 1;
        ++total;
        return 0;
    };
    ASSERT_TRUE(consumer.add(rb, check).has_value());
    ASSERT_TRUE(consumer.add(rb2, check).has_value());
    std::atomic<int> done{0};
    std::vector<std::thread> producers;
    for (int t = 0; t < kThreads; ++t) {
        producers.emplace_back([&, t] {
            auto& ring = t % 2 == 0 ? *rb : *rb2;  // each producer keeps to one ring
            for (uint32_t i = 0; i < kPerThread;) {
                auto* p = static_cast<uint32_t*>(ring.reserve(8, 0));
                if (p == nullptr) {
                    std::this_thread::yield();
                    continue;
                }
                p[0] = static_cast<uint32_t>(t);
                p[1] = i++;
                if (i % 7 == 0) {
                    ring.submit(p, BPF_RB_NO_WAKEUP);
                } else {
                    ring.submit(p, 0);
                }
            }
            done.fetch_add(1);
        });
    }
    // Bounded: every record is produced after at most a few rounds.
    for (int spins = 0; spins < 200000 && total < uint64_t{kThreads} * kPerThread; ++spins) {
        ASSERT_GE(consumer.poll(10), 0);
    }
    for (auto& p : producers) p.join();
    consumer.consume();
    EXPECT_EQ(total, uint64_t{kThreads} * kPerThread);
    EXPECT_TRUE(in_order);
    EXPECT_EQ(rb->query(BPF_RB_AVAIL_DATA), 0u);
}

TEST(RingBuf, PollWakesOnSubmit) {
    auto rb = make_ring(4096);
    RingBufferConsumer consumer(rb, [](const void*, size_t) { return 0; });
    std::thread producer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        uint64_t v = 1;
        rb->output(&v, sizeof v, 0);
    });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(consumer.poll(5000), 1);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
    producer.join();
    EXPECT_EQ(consumer.poll(1), 0);  // times out
}

}  // namespace
}  // namespace bpfrt::maps::test
