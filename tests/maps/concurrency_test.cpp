// Maps used by several threads at once (host and "programs"): exact totals,
// no lost updates, stable value pointers. Run under TSan and ASan as well.
#include "maps/reclaim.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <set>
#include <thread>
#include <vector>

namespace bpfrt::maps::test {
namespace {

constexpr int kThreads = 4;
constexpr int kOps = 20000;

void run_threads(int n, const std::function<void(int)>& body) {
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) threads.emplace_back(body, t);
    for (auto& t : threads) t.join();
}

// What a program's BPF_ATOMIC_ADD (lock xadd) does to a value.
void atomic_add(void* value, uint64_t n) { __atomic_fetch_add(static_cast<uint64_t*>(value), n, __ATOMIC_RELAXED); }

TEST(Concurrency, ArrayAtomicAddsGiveTheExactSum) {
    auto m = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
    std::atomic<bool> stop{false};
    std::thread host([&] {  // the host reads meanwhile
        uint32_t k = 0;
        uint64_t v = 0, last = 0;
        while (!stop.load()) {
            ASSERT_TRUE(m->lookup(&k, &v).has_value());
            EXPECT_GE(v, last);
            last = v;
        }
    });
    run_threads(kThreads, [&](int) {
        for (int i = 0; i < kOps; ++i) {
            ReadSection section;
            uint32_t k = static_cast<uint32_t>(i % 4);
            atomic_add(m->prog_lookup(&k), 1);
        }
    });
    stop = true;
    host.join();
    uint64_t total = 0;
    for (uint32_t k = 0; k < 4; ++k) {
        uint64_t v = 0;
        ASSERT_TRUE(m->lookup(&k, &v).has_value());
        total += v;
    }
    EXPECT_EQ(total, uint64_t{kThreads} * kOps);
}

TEST(Concurrency, HashAtomicAddsWhileOtherKeysChurn) {
    auto m = make_map(BPF_MAP_TYPE_HASH, 8, 8, 256);
    for (uint64_t k = 0; k < 8; ++k) {
        uint64_t zero = 0;
        ASSERT_TRUE(m->update(&k, &zero, BPF_NOEXIST).has_value());
    }
    std::atomic<bool> stop{false};
    std::thread churn([&] {  // host inserts, replaces and deletes keys 100..199
        uint64_t v = 1;
        for (uint64_t i = 0; !stop.load(); ++i) {
            uint64_t k = 100 + i % 100;
            (void)m->update(&k, &v, BPF_ANY);
            if (i % 3 == 0) (void)m->erase(&k);
        }
    });
    run_threads(kThreads, [&](int t) {
        for (int i = 0; i < kOps; ++i) {
            ReadSection section;
            uint64_t k = static_cast<uint64_t>((i + t) % 8);
            void* v = m->prog_lookup(&k);
            ASSERT_NE(v, nullptr);
            atomic_add(v, 2);
            uint64_t other = 100 + static_cast<uint64_t>(i % 100);
            if (void* o = m->prog_lookup(&other)) {
                EXPECT_EQ(__atomic_load_n(static_cast<uint64_t*>(o), __ATOMIC_RELAXED), 1u);
            }
        }
    });
    stop = true;
    churn.join();
    uint64_t total = 0;
    for (uint64_t k = 0; k < 8; ++k) {
        uint64_t v = 0;
        ASSERT_TRUE(m->lookup(&k, &v).has_value());
        total += v;
    }
    EXPECT_EQ(total, 2ull * kThreads * kOps);
}

TEST(Concurrency, ParallelInsertsAndDeletesLoseNothing) {
    auto m = make_map(BPF_MAP_TYPE_HASH, 4, 4, kThreads * 2000);
    run_threads(kThreads, [&](int t) {
        for (uint32_t i = 0; i < 2000; ++i) {
            uint32_t k = static_cast<uint32_t>(t) * 100000 + i;
            ASSERT_EQ(m->prog_update(&k, &k, BPF_NOEXIST), 0);
        }
        for (uint32_t i = 0; i < 2000; i += 2) {
            uint32_t k = static_cast<uint32_t>(t) * 100000 + i;
            ASSERT_TRUE(m->erase(&k).has_value());
        }
    });
    std::set<uint32_t> keys;
    uint32_t cur = 0, prev = 0;
    const void* p = nullptr;
    for (int i = 0; i < kThreads * 2000 + 1; ++i) {
        if (!m->get_next_key(p, &cur)) break;
        keys.insert(cur);
        prev = cur;
        p = &prev;
    }
    EXPECT_EQ(keys.size(), size_t{kThreads} * 1000);
    for (uint32_t k : keys) {
        EXPECT_EQ(k % 2, 1u);
        uint32_t v = 0;
        ASSERT_TRUE(m->lookup(&k, &v).has_value());
        EXPECT_EQ(v, k);
    }
    // Full again: every new key fails, never more than max_entries.
    run_threads(kThreads, [&](int t) {
        for (uint32_t i = 0; i < 2000; ++i) {
            uint32_t k = 900000 + static_cast<uint32_t>(t) * 10000 + i;
            (void)m->prog_update(&k, &k, BPF_ANY);
        }
    });
    size_t n = 0;
    p = nullptr;
    while (m->get_next_key(p, &cur) && n < size_t{kThreads} * 4000) {
        ++n;
        prev = cur;
        p = &prev;
    }
    EXPECT_EQ(n, size_t{kThreads} * 2000);
}

TEST(Concurrency, ReplacedValuesStayConsistentForReaders) {
    // Values are {x, x}: a reader must never see a torn or freed value.
    auto m = make_map(BPF_MAP_TYPE_HASH, 4, 16, 16);
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (uint64_t i = 0; !stop.load(); ++i) {
            uint32_t k = static_cast<uint32_t>(i % 16);
            uint64_t v[2] = {i, i};
            ASSERT_TRUE(m->update(&k, v, BPF_ANY).has_value());
            if (i % 5 == 0) (void)m->erase(&k);
        }
    });
    run_threads(kThreads, [&](int t) {
        for (int i = 0; i < kOps; ++i) {
            ReadSection section;
            uint32_t k = static_cast<uint32_t>((i * 7 + t) % 16);
            auto* v = static_cast<uint64_t*>(m->prog_lookup(&k));
            if (v == nullptr) continue;
            const uint64_t a = __atomic_load_n(v, __ATOMIC_RELAXED);
            if (i % 256 == 0) std::this_thread::yield();  // let the writer replace and retire it
            const uint64_t b = __atomic_load_n(v + 1, __ATOMIC_RELAXED);
            ASSERT_EQ(a, b);
        }
    });
    stop = true;
    writer.join();
    synchronize();
}

TEST(Concurrency, PerCpuSlotsSumToTheTotal) {
    auto m = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 1);
    auto h = make_map(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 1);
    uint32_t k = 0;
    std::vector<uint64_t> zeros(possible_cpus(), 0);
    ASSERT_TRUE(h->update(&k, zeros.data(), BPF_ANY).has_value());
    run_threads(kThreads, [&](int) {
        for (int i = 0; i < kOps; ++i) {
            ReadSection section;
            atomic_add(m->prog_lookup(&k), 1);  // threads sharing a slot need the atomic
            atomic_add(h->prog_lookup(&k), 3);
        }
    });
    std::vector<uint64_t> slots(possible_cpus());
    ASSERT_TRUE(m->lookup(&k, slots.data()).has_value());
    uint64_t total = 0;
    for (uint64_t s : slots) total += s;
    EXPECT_EQ(total, uint64_t{kThreads} * kOps);
    ASSERT_TRUE(h->lookup(&k, slots.data()).has_value());
    total = 0;
    for (uint64_t s : slots) total += s;
    EXPECT_EQ(total, 3ull * kThreads * kOps);
}

TEST(Concurrency, LruUnderContention) {
    auto m = make_map(BPF_MAP_TYPE_LRU_HASH, 4, 8, 64);
    run_threads(kThreads, [&](int t) {
        for (int i = 0; i < kOps / 2; ++i) {
            ReadSection section;
            uint32_t k = static_cast<uint32_t>((i * 13 + t * 7) % 200);
            uint64_t v = k;
            if (void* p = m->prog_lookup(&k)) {
                EXPECT_EQ(__atomic_load_n(static_cast<uint64_t*>(p), __ATOMIC_RELAXED), k);
            } else {
                ASSERT_EQ(m->prog_update(&k, &v, BPF_ANY), 0);  // never E2BIG
            }
            if (i % 11 == 0) (void)m->prog_delete(&k);
        }
    });
    size_t n = 0;
    uint32_t cur = 0, prev = 0;
    const void* p = nullptr;
    while (m->get_next_key(p, &cur) && n < 1000) {
        ++n;
        prev = cur;
        p = &prev;
    }
    EXPECT_LE(n, 64u);
}

TEST(Concurrency, QueueDeliversEveryValueOnce) {
    auto q = make_map(BPF_MAP_TYPE_QUEUE, 0, 8, 128);
    constexpr int kPerProducer = 5000;
    std::vector<std::atomic<int>> seen(2 * kPerProducer);
    std::atomic<int> popped{0};
    std::vector<std::thread> threads;
    for (int p = 0; p < 2; ++p) {
        threads.emplace_back([&, p] {
            // Bounded: a full queue is retried, but not forever.
            for (int i = 0, tries = 0; i < kPerProducer && tries < 10'000'000; ++tries) {
                uint64_t v = static_cast<uint64_t>(p * kPerProducer + i);
                if (q->prog_push(&v, 0) == 0) {
                    ++i;
                } else {
                    std::this_thread::yield();
                }
            }
        });
    }
    for (int c = 0; c < 2; ++c) {
        threads.emplace_back([&] {
            for (int idle = 0; popped.load() < 2 * kPerProducer && idle < 10'000'000;) {
                uint64_t v = 0;
                if (q->prog_pop(&v) == 0) {
                    ASSERT_LT(v, seen.size());
                    seen[v].fetch_add(1);
                    popped.fetch_add(1);
                    idle = 0;
                } else {
                    ++idle;
                    std::this_thread::yield();
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(popped.load(), 2 * kPerProducer);
    for (auto& s : seen) EXPECT_EQ(s.load(), 1);
}

TEST(Concurrency, LpmAndMapInMapReadersWithWriters) {
    auto lpm = make_map(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 64, BPF_F_NO_PREALLOC);
    auto tmpl = make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    auto outer = make_map(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, tmpl);
    Handles handles;
    const int a = handles.add(make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 1));
    const int b = handles.add(make_map(BPF_MAP_TYPE_ARRAY, 4, 8, 1));
    auto resolve = handles.resolver();
    uint32_t zero = 0;
    ASSERT_TRUE(outer->update(&zero, &a, BPF_ANY, resolve).has_value());
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        for (uint32_t i = 0; !stop.load(); ++i) {
            struct { uint32_t len; uint8_t d[4]; } k{8 + i % 24, {10, static_cast<uint8_t>(i), 0, 0}};
            uint64_t v = k.len;
            (void)lpm->update(&k, &v, BPF_ANY);
            if (i % 3 == 0) (void)lpm->erase(&k);
            const int fd = i % 2 ? a : b;
            ASSERT_TRUE(outer->update(&zero, &fd, BPF_ANY, resolve).has_value());
        }
    });
    run_threads(kThreads, [&](int t) {
        for (int i = 0; i < kOps / 4; ++i) {
            ReadSection section;
            struct { uint32_t len; uint8_t d[4]; } k{32, {10, static_cast<uint8_t>(i + t), 1, 1}};
            if (auto* v = static_cast<uint64_t*>(lpm->prog_lookup(&k))) {
                const uint64_t len = __atomic_load_n(v, __ATOMIC_RELAXED);
                EXPECT_TRUE(len >= 8 && len < 32) << len;
            }
            auto* inner = static_cast<Map*>(outer->prog_lookup(&zero));
            ASSERT_NE(inner, nullptr);
            atomic_add(inner->prog_lookup(&zero), 1);
        }
    });
    stop = true;
    writer.join();
    uint64_t va = 0, vb = 0;
    ASSERT_TRUE(std::static_pointer_cast<Map>(handles.objects[0])->lookup(&zero, &va).has_value());
    ASSERT_TRUE(std::static_pointer_cast<Map>(handles.objects[1])->lookup(&zero, &vb).has_value());
    EXPECT_EQ(va + vb, uint64_t{kThreads} * (kOps / 4));
}

}  // namespace
}  // namespace bpfrt::maps::test
