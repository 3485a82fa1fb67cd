// Hash and array map throughput, 1 and 2 threads, against the obvious
// alternative measured in the same run: a std::unordered_map (or a vector)
// under one std::mutex.
//
// Keys are u32, values u64; 65536 entries, all present. Each thread walks
// the keys in a shuffled order (from its own starting point). The bpfrt "program side" figures
// include one ReadSection per operation (the worst case: the runtime holds
// one per program run, which usually covers several map operations).
#include "maps/map.hpp"
#include "maps/reclaim.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace {

using bpfrt::maps::Map;
using bpfrt::maps::ReadSection;

constexpr uint32_t kEntries = 65536;

std::shared_ptr<Map> make(uint32_t type) {
    auto map = bpfrt::maps::create_map({type, 4, 8, kEntries, 0, nullptr, ""});
    if (!map) {
        std::fprintf(stderr, "create_map: %s\n", map.error().message.c_str());
        std::abort();
    }
    for (uint32_t k = 0; k < kEntries; ++k) {
        const uint64_t v = k;
        if (!(*map)->update(&k, &v, BPF_ANY)) std::abort();
    }
    return *map;
}

Map& hash_map() {
    static auto m = make(BPF_MAP_TYPE_HASH);
    return *m;
}
Map& array_map() {
    static auto m = make(BPF_MAP_TYPE_ARRAY);
    return *m;
}

struct LockedHash {
    std::mutex mutex;
    std::unordered_map<uint32_t, uint64_t> map;
    LockedHash() {
        map.reserve(kEntries);
        for (uint32_t k = 0; k < kEntries; ++k) map[k] = k;
    }
};
LockedHash& locked_hash() {
    static LockedHash h;
    return h;
}
struct LockedArray {
    std::mutex mutex;
    std::vector<uint64_t> values = std::vector<uint64_t>(kEntries);
};
LockedArray& locked_array() {
    static LockedArray a;
    return a;
}

// A per-thread walk over all keys in a fixed pseudo-random order (a
// shuffled permutation, so that neither side benefits from a stride the
// hardware prefetcher could follow).
const std::vector<uint32_t>& shuffled_keys() {
    static const std::vector<uint32_t> keys = [] {
        std::vector<uint32_t> k(kEntries);
        for (uint32_t i = 0; i < kEntries; ++i) k[i] = i;
        std::mt19937 rng(42);
        std::shuffle(k.begin(), k.end(), rng);
        return k;
    }();
    return keys;
}

struct KeyWalk {
    const std::vector<uint32_t>& keys = shuffled_keys();
    uint32_t next;
    explicit KeyWalk(int thread) : next(static_cast<uint32_t>(thread) * (kEntries / 2)) {}
    uint32_t operator()() { return keys[next++ & (kEntries - 1)]; }
};

void BM_Hash_ProgLookup(benchmark::State& state) {
    Map& m = hash_map();
    KeyWalk walk(state.thread_index());
    for (auto _ : state) {
        ReadSection section;
        const uint32_t k = walk();
        benchmark::DoNotOptimize(*static_cast<uint64_t*>(m.prog_lookup(&k)));
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Hash_HostLookup(benchmark::State& state) {
    Map& m = hash_map();
    KeyWalk walk(state.thread_index());
    uint64_t v = 0;
    for (auto _ : state) {
        const uint32_t k = walk();
        benchmark::DoNotOptimize(m.lookup(&k, &v));
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Hash_ProgUpdate(benchmark::State& state) {
    Map& m = hash_map();
    KeyWalk walk(state.thread_index());
    uint64_t v = 0;
    for (auto _ : state) {
        ReadSection section;
        const uint32_t k = walk();
        ++v;
        benchmark::DoNotOptimize(m.prog_update(&k, &v, BPF_ANY));
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Hash_Mutex_Lookup(benchmark::State& state) {
    LockedHash& h = locked_hash();
    KeyWalk walk(state.thread_index());
    for (auto _ : state) {
        const uint32_t k = walk();
        uint64_t v = 0;
        {
            std::lock_guard lock(h.mutex);
            auto it = h.map.find(k);
            if (it != h.map.end()) v = it->second;
        }
        benchmark::DoNotOptimize(v);
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Hash_Mutex_Update(benchmark::State& state) {
    LockedHash& h = locked_hash();
    KeyWalk walk(state.thread_index());
    uint64_t v = 0;
    for (auto _ : state) {
        const uint32_t k = walk();
        ++v;
        std::lock_guard lock(h.mutex);
        h.map[k] = v;
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Array_ProgLookup(benchmark::State& state) {
    Map& m = array_map();
    KeyWalk walk(state.thread_index());
    for (auto _ : state) {
        ReadSection section;
        const uint32_t k = walk();
        benchmark::DoNotOptimize(*static_cast<uint64_t*>(m.prog_lookup(&k)));
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Array_ProgUpdate(benchmark::State& state) {
    Map& m = array_map();
    KeyWalk walk(state.thread_index());
    uint64_t v = 0;
    for (auto _ : state) {
        ReadSection section;
        const uint32_t k = walk();
        ++v;
        benchmark::DoNotOptimize(m.prog_update(&k, &v, BPF_ANY));
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Array_Mutex_Lookup(benchmark::State& state) {
    LockedArray& a = locked_array();
    KeyWalk walk(state.thread_index());
    for (auto _ : state) {
        const uint32_t k = walk();
        uint64_t v = 0;
        {
            std::lock_guard lock(a.mutex);
            v = a.values[k];
        }
        benchmark::DoNotOptimize(v);
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_Array_Mutex_Update(benchmark::State& state) {
    LockedArray& a = locked_array();
    KeyWalk walk(state.thread_index());
    uint64_t v = 0;
    for (auto _ : state) {
        const uint32_t k = walk();
        ++v;
        std::lock_guard lock(a.mutex);
        a.values[k] = v;
    }
    state.SetItemsProcessed(state.iterations());
}

#define MAP_BENCH(fn) BENCHMARK(fn)->Threads(1)->Threads(2)->UseRealTime()
MAP_BENCH(BM_Hash_ProgLookup);
MAP_BENCH(BM_Hash_HostLookup);
MAP_BENCH(BM_Hash_Mutex_Lookup);
MAP_BENCH(BM_Hash_ProgUpdate);
MAP_BENCH(BM_Hash_Mutex_Update);
MAP_BENCH(BM_Array_ProgLookup);
MAP_BENCH(BM_Array_Mutex_Lookup);
MAP_BENCH(BM_Array_ProgUpdate);
MAP_BENCH(BM_Array_Mutex_Update);

}  // namespace

BENCHMARK_MAIN();
