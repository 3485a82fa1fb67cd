// Differential tests: the same map operations against real kernel maps
// (raw bpf(2)) and bpfrt's maps; results and errno values must agree.
//
// Skipped with a message where the kernel refuses bpf() (no privilege,
// seccomp, not Linux). Every kernel map created is closed (RAII). Sizes are
// kept small: nothing here makes the kernel allocate more than a few MiB.
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace bpfrt::maps::test {
namespace {

long sys_bpf(int cmd, bpf_attr& attr) {
    const long r = ::syscall(SYS_bpf, cmd, &attr, sizeof attr);
    return r < 0 ? -errno : r;
}
uint64_t ptr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// A kernel map: every operation returns 0 or the errno.
class KernelMap {
public:
    KernelMap() = default;
    explicit KernelMap(int fd) : fd_(fd) {}
    KernelMap(KernelMap&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    KernelMap& operator=(KernelMap&& o) noexcept {
        std::swap(fd_, o.fd_);
        return *this;
    }
    ~KernelMap() {
        if (fd_ >= 0) ::close(fd_);
    }
    int fd() const { return fd_; }

    static int create(uint32_t type, uint32_t k, uint32_t v, uint32_t max, uint32_t flags, int inner_fd,
                      KernelMap* out) {
        bpf_attr a{};
        a.map_type = type;
        a.key_size = k;
        a.value_size = v;
        a.max_entries = max;
        a.map_flags = flags;
        a.inner_map_fd = static_cast<uint32_t>(inner_fd);
        const long r = sys_bpf(BPF_MAP_CREATE, a);
        if (r < 0) return static_cast<int>(-r);
        KernelMap m(static_cast<int>(r));
        if (out) *out = std::move(m);
        return 0;
    }
    int elem(int cmd, const void* key, const void* value, uint64_t flags = 0) const {
        bpf_attr a{};
        a.map_fd = static_cast<uint32_t>(fd_);
        a.key = ptr(key);
        a.value = ptr(value);
        a.flags = flags;
        const long r = sys_bpf(cmd, a);
        return r < 0 ? static_cast<int>(-r) : 0;
    }
    int update(const void* k, const void* v, uint64_t f) const { return elem(BPF_MAP_UPDATE_ELEM, k, v, f); }
    int lookup(const void* k, void* v) const { return elem(BPF_MAP_LOOKUP_ELEM, k, v); }
    int erase(const void* k) const { return elem(BPF_MAP_DELETE_ELEM, k, nullptr); }
    int lookup_and_delete(const void* k, void* v) const { return elem(BPF_MAP_LOOKUP_AND_DELETE_ELEM, k, v); }
    int next_key(const void* k, void* next) const {
        bpf_attr a{};
        a.map_fd = static_cast<uint32_t>(fd_);
        a.key = ptr(k);
        a.next_key = ptr(next);
        const long r = sys_bpf(BPF_MAP_GET_NEXT_KEY, a);
        return r < 0 ? static_cast<int>(-r) : 0;
    }

private:
    int fd_ = -1;
};

// Skips the test (with the reason) when the kernel refuses bpf().
#define REQUIRE_KERNEL_BPF()                                                                              \
    do {                                                                                                  \
        const int probe_err = KernelMap::create(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0, nullptr);              \
        if (probe_err != 0)                                                                               \
            GTEST_SKIP() << "the kernel refuses bpf(BPF_MAP_CREATE): " << std::strerror(probe_err)        \
                         << " (needs root or CAP_BPF, and no seccomp filter)";                            \
    } while (0)

struct CreateCase {
    uint32_t type, key, value, max, flags;
};

TEST(KernelDiff, CreateParameters) {
    REQUIRE_KERNEL_BPF();
    const uint32_t P = BPF_F_NO_PREALLOC;
    const std::vector<CreateCase> cases = {
        {BPF_MAP_TYPE_HASH, 0, 4, 1, 0}, {BPF_MAP_TYPE_HASH, 4, 0, 1, 0}, {BPF_MAP_TYPE_HASH, 4, 4, 0, 0},
        {BPF_MAP_TYPE_HASH, 4, 4, 1, 1u << 20}, {BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_NO_COMMON_LRU},
        {BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG},
        {BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_RDONLY | BPF_F_WRONLY}, {BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_MMAPABLE},
        {BPF_MAP_TYPE_HASH, 4, 4, 1, BPF_F_RDONLY_PROG}, {BPF_MAP_TYPE_HASH, 4, 4, 1, P | BPF_F_ZERO_SEED},
        {BPF_MAP_TYPE_HASH, 600, 4, 1, P}, {BPF_MAP_TYPE_HASH, 4, (1u << 22) - 56, 1, P},
        {BPF_MAP_TYPE_HASH, 4, (1u << 22) - 52, 1, P}, {BPF_MAP_TYPE_HASH, 100, (1u << 22) - 100, 1, P},
        {BPF_MAP_TYPE_PERCPU_HASH, 4, 32768, 1, P}, {BPF_MAP_TYPE_PERCPU_HASH, 4, 32769, 1, P},
        {BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 1, BPF_F_NUMA_NODE}, {BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 1, P},
        {BPF_MAP_TYPE_LRU_HASH, 4, 4, 1, P}, {BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, BPF_F_NO_COMMON_LRU},
        {BPF_MAP_TYPE_LRU_HASH, 0, 4, 4, 0}, {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 4, BPF_F_NO_COMMON_LRU},
        {BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 40000, 4, 0},
        {BPF_MAP_TYPE_ARRAY, 8, 4, 1, 0}, {BPF_MAP_TYPE_ARRAY, 4, 0, 1, 0}, {BPF_MAP_TYPE_ARRAY, 4, 4, 0, 0},
        {BPF_MAP_TYPE_ARRAY, 4, 4, 1, P}, {BPF_MAP_TYPE_ARRAY, 4, 1u << 31, 1, 0},
        {BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_MMAPABLE}, {BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_INNER_MAP},
        {BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_PRESERVE_ELEMS}, {BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_ZERO_SEED},
        {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32768, 1, 0}, {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 32769, 1, 0},
        {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, BPF_F_MMAPABLE}, {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, BPF_F_INNER_MAP},
        {BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 1, BPF_F_NUMA_NODE},
        {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 0, 0}, {BPF_MAP_TYPE_PROG_ARRAY, 4, 8, 1, 0},
        {BPF_MAP_TYPE_PROG_ARRAY, 8, 4, 1, 0}, {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1, P},
        {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1, BPF_F_RDONLY_PROG}, {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1, BPF_F_RDONLY},
        {BPF_MAP_TYPE_QUEUE, 4, 4, 1, 0}, {BPF_MAP_TYPE_QUEUE, 0, 0, 1, 0}, {BPF_MAP_TYPE_QUEUE, 0, 4, 0, 0},
        {BPF_MAP_TYPE_QUEUE, 0, 4, 1, P}, {BPF_MAP_TYPE_QUEUE, 0, 4, 1, BPF_F_RDONLY_PROG},
        {BPF_MAP_TYPE_QUEUE, 0, 4, 1, BPF_F_ZERO_SEED}, {BPF_MAP_TYPE_STACK, 0, (1u << 22) + 1, 1, 0},
        {BPF_MAP_TYPE_STACK, 0, 4, 4, BPF_F_NUMA_NODE},
        {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0}, {BPF_MAP_TYPE_RINGBUF, 0, 0, 4095, 0},
        {BPF_MAP_TYPE_RINGBUF, 0, 0, 2048, 0}, {BPF_MAP_TYPE_RINGBUF, 4, 0, 4096, 0},
        {BPF_MAP_TYPE_RINGBUF, 0, 4, 4096, 0}, {BPF_MAP_TYPE_RINGBUF, 0, 0, 0, 0},
        {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, P}, {BPF_MAP_TYPE_RINGBUF, 0, 0, 3 * 4096, 0},
        {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, BPF_F_RDONLY_PROG}, {BPF_MAP_TYPE_RINGBUF, 0, 0, 1u << 16, 0},
        {BPF_MAP_TYPE_LPM_TRIE, 8, 4, 1, 0}, {BPF_MAP_TYPE_LPM_TRIE, 8, 4, 1, P},
        {BPF_MAP_TYPE_LPM_TRIE, 4, 4, 1, P}, {BPF_MAP_TYPE_LPM_TRIE, 5, 4, 1, P},
        {BPF_MAP_TYPE_LPM_TRIE, 260, 4, 1, P}, {BPF_MAP_TYPE_LPM_TRIE, 261, 4, 1, P},
        {BPF_MAP_TYPE_LPM_TRIE, 8, 0, 1, P}, {BPF_MAP_TYPE_LPM_TRIE, 8, 4, 0, P},
        {BPF_MAP_TYPE_LPM_TRIE, 8, 4194024, 1, P}, {BPF_MAP_TYPE_LPM_TRIE, 8, 4194025, 1, P},
        {BPF_MAP_TYPE_LPM_TRIE, 8, 4, 1, P | BPF_F_RDONLY_PROG}, {BPF_MAP_TYPE_LPM_TRIE, 8, 4, 1, P | BPF_F_ZERO_SEED},
        {BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0}, {BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 1, 0},
        {200, 4, 4, 1, 0},
    };
    for (const CreateCase& c : cases) {
        const int kernel = KernelMap::create(c.type, c.key, c.value, c.max, c.flags, 0, nullptr);
        const int ours = create_errno(c.type, c.key, c.value, c.max, c.flags);
        EXPECT_EQ(ours, kernel) << "type " << c.type << " key " << c.key << " value " << c.value << " max " << c.max
                                << " flags " << std::hex << c.flags;
    }
}

TEST(KernelDiff, MapInMapCreateAndUpdate) {
    REQUIRE_KERNEL_BPF();
    // Inner templates of several types, kernel and ours side by side.
    struct Inner {
        uint32_t type, key, value, max, flags;
    };
    const std::vector<Inner> templates = {
        {BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0},      {BPF_MAP_TYPE_HASH, 4, 4, 4, 0},
        {BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1, 0}, {BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0},
        {BPF_MAP_TYPE_QUEUE, 0, 4, 2, 0},      {BPF_MAP_TYPE_LPM_TRIE, 8, 4, 2, BPF_F_NO_PREALLOC},
        {BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 2, 0}, {BPF_MAP_TYPE_LRU_HASH, 4, 4, 2, 0},
    };
    for (const Inner& t : templates) {
        KernelMap kinner;
        ASSERT_EQ(KernelMap::create(t.type, t.key, t.value, t.max, t.flags, 0, &kinner), 0);
        auto inner = make_map(t.type, t.key, t.value, t.max, t.flags);
        for (uint32_t outer_type : {BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE_HASH_OF_MAPS}) {
            EXPECT_EQ(create_errno(outer_type, 4, 4, 2, 0, inner),
                      KernelMap::create(outer_type, 4, 4, 2, 0, kinner.fd(), nullptr))
                << "outer " << outer_type << " inner type " << t.type;
        }
    }
    // A map-in-map cannot be an inner map.
    KernelMap kt, kouter;
    ASSERT_EQ(KernelMap::create(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0, &kt), 0);
    ASSERT_EQ(KernelMap::create(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, 0, kt.fd(), &kouter), 0);
    auto tmpl = make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1);
    auto outer = make_map(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, 0, tmpl);
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, outer),
              KernelMap::create(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, 0, kouter.fd(), nullptr));
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, BPF_F_RDONLY_PROG, tmpl),
              KernelMap::create(BPF_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 1, BPF_F_RDONLY_PROG, kt.fd(), nullptr));
    EXPECT_EQ(create_errno(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 1, BPF_F_RDONLY_PROG, tmpl),
              KernelMap::create(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 1, BPF_F_RDONLY_PROG, kt.fd(), nullptr));

    // Updates with candidate inner maps: (kernel fd, our handle) pairs.
    Handles handles;
    std::vector<KernelMap> kernel_maps;
    std::vector<std::pair<int, int>> candidates;
    const std::vector<Inner> values = {
        {BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0},  {BPF_MAP_TYPE_ARRAY, 4, 4, 5, 0},
        {BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0},  {BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_RDONLY_PROG},
        {BPF_MAP_TYPE_HASH, 4, 4, 1, 0},   {BPF_MAP_TYPE_ARRAY, 4, 4, 1, BPF_F_INNER_MAP},
    };
    for (const Inner& v : values) {
        KernelMap k;
        ASSERT_EQ(KernelMap::create(v.type, v.key, v.value, v.max, v.flags, 0, &k), 0);
        candidates.emplace_back(k.fd(), handles.add(make_map(v.type, v.key, v.value, v.max, v.flags)));
        kernel_maps.push_back(std::move(k));
    }
    candidates.emplace_back(9999, 9999);  // not a handle: EBADF both
    auto resolve = handles.resolver();
    KernelMap khash;
    ASSERT_EQ(KernelMap::create(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 2, 0, kt.fd(), &khash), 0);
    auto hash = make_map(BPF_MAP_TYPE_HASH_OF_MAPS, 4, 4, 2, 0, tmpl);
    uint32_t out_k = 0, out_o = 0;
    for (uint32_t key : {0u, 1u, 2u, 7u}) {
        for (uint64_t flags : {uint64_t{BPF_ANY}, uint64_t{BPF_NOEXIST}, uint64_t{BPF_EXIST}, uint64_t{5}}) {
            for (auto [kfd, ofd] : candidates) {
                EXPECT_EQ(err(outer->update(&key, &ofd, flags, resolve)), kouter.update(&key, &kfd, flags))
                    << "array of maps key " << key << " flags " << flags << " candidate " << ofd;
                EXPECT_EQ(err(hash->update(&key, &ofd, flags, resolve)), khash.update(&key, &kfd, flags))
                    << "hash of maps key " << key << " flags " << flags << " candidate " << ofd;
            }
            EXPECT_EQ(err(outer->lookup(&key, &out_o)), kouter.lookup(&key, &out_k)) << key;
            EXPECT_EQ(err(hash->lookup(&key, &out_o)), khash.lookup(&key, &out_k)) << key;
        }
        EXPECT_EQ(err(outer->erase(&key)), kouter.erase(&key)) << key;
        EXPECT_EQ(err(outer->erase(&key)), kouter.erase(&key)) << key;
        EXPECT_EQ(err(hash->erase(&key)), khash.erase(&key)) << key;
    }
}

TEST(KernelDiff, ProgArrayHostOperations) {
    REQUIRE_KERNEL_BPF();
    KernelMap kernel, kother;
    ASSERT_EQ(KernelMap::create(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2, 0, 0, &kernel), 0);
    ASSERT_EQ(KernelMap::create(BPF_MAP_TYPE_ARRAY, 4, 4, 1, 0, 0, &kother), 0);
    auto ours = make_map(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 2);
    Handles handles;
    const int other = handles.add(make_map(BPF_MAP_TYPE_ARRAY, 4, 4, 1));
    auto resolve = handles.resolver();
    uint32_t vk = 0, vo = 0, next_k = 7, next_o = 7;
    for (uint32_t key : {0u, 1u, 2u, 100u}) {
        EXPECT_EQ(err(ours->lookup(&key, &vo)), kernel.lookup(&key, &vk)) << key;
        for (uint64_t flags : {uint64_t{0}, uint64_t{BPF_NOEXIST}, uint64_t{BPF_EXIST}}) {
            const int kfd = kother.fd(), bad = 9999;
            EXPECT_EQ(err(ours->update(&key, &other, flags, resolve)), kernel.update(&key, &kfd, flags)) << key;
            EXPECT_EQ(err(ours->update(&key, &bad, flags, resolve)), kernel.update(&key, &bad, flags)) << key;
        }
        EXPECT_EQ(err(ours->erase(&key)), kernel.erase(&key)) << key;
        EXPECT_EQ(err(ours->get_next_key(&key, &next_o)), kernel.next_key(&key, &next_k)) << key;
        EXPECT_EQ(next_o, next_k);
    }
    EXPECT_EQ(err(ours->get_next_key(nullptr, &next_o)), kernel.next_key(nullptr, &next_k));
    EXPECT_EQ(next_o, next_k);
}

TEST(KernelDiff, RingBufHostOperations) {
    REQUIRE_KERNEL_BPF();
    KernelMap kernel;
    ASSERT_EQ(KernelMap::create(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, 0, &kernel), 0);
    auto ours = make_map(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
    uint32_t k = 0, v = 0;
    EXPECT_EQ(err(ours->lookup(nullptr, &v)), kernel.lookup(nullptr, &v));
    EXPECT_EQ(err(ours->lookup(&k, &v)), kernel.lookup(&k, &v));
    EXPECT_EQ(err(ours->update(nullptr, &v, 0)), kernel.update(nullptr, &v, 0));
    EXPECT_EQ(err(ours->erase(nullptr)), kernel.erase(nullptr));
    EXPECT_EQ(err(ours->get_next_key(nullptr, &k)), kernel.next_key(nullptr, &k));
    EXPECT_EQ(err(ours->lookup_and_delete(nullptr, &v)), kernel.lookup_and_delete(nullptr, &v));
}

// ---- Scripted random sequences on keyed maps ----

struct Pair {
    KernelMap kernel;
    std::shared_ptr<Map> ours;
    uint32_t key_size, value_bytes;  // value_bytes: the host's value size
};

Pair make_pair(uint32_t type, uint32_t key, uint32_t value, uint32_t max, uint32_t flags = 0) {
    Pair p;
    EXPECT_EQ(KernelMap::create(type, key, value, max, flags, 0, &p.kernel), 0);
    p.ours = make_map(type, key, value, max, flags);
    p.key_size = key;
    p.value_bytes = p.ours ? p.ours->host_value_size() : value;
    return p;
}

// All keys, by iteration from null until ENOENT (bounded).
std::set<std::vector<uint8_t>> kernel_keys(const Pair& p) {
    std::set<std::vector<uint8_t>> keys;
    std::vector<uint8_t> cur(p.key_size), prev(p.key_size);
    const void* from = nullptr;
    for (int i = 0; i < 10000 && p.kernel.next_key(from, cur.data()) == 0; ++i) {
        keys.insert(cur);
        prev = cur;
        from = prev.data();
    }
    return keys;
}
std::set<std::vector<uint8_t>> our_keys(const Pair& p) {
    std::set<std::vector<uint8_t>> keys;
    std::vector<uint8_t> cur(p.key_size), prev(p.key_size);
    const void* from = nullptr;
    for (int i = 0; i < 10000 && p.ours->get_next_key(from, cur.data()); ++i) {
        keys.insert(cur);
        prev = cur;
        from = prev.data();
    }
    return keys;
}

// Random operations over a small key space; compares every result.
// `compare_values`: lookups must return the same bytes. `exact_keys`: the
// key sets must match at the end (not for LRU, whose eviction choice is
// the kernel's own).
void random_sequence(Pair& p, uint32_t key_space, int ops, uint32_t seed, bool exact_keys, bool lpm = false) {
    std::mt19937 rng(seed);
    std::vector<uint8_t> key(p.key_size), vk(p.value_bytes), vo(p.value_bytes), value(p.value_bytes);
    const uint64_t flag_choices[] = {BPF_ANY, BPF_NOEXIST, BPF_EXIST, 4, 7};
    for (int i = 0; i < ops; ++i) {
        std::fill(key.begin(), key.end(), 0);
        const uint32_t id = rng() % key_space;
        if (lpm) {
            const uint32_t len = rng() % 34;  // 33: invalid for 4 data bytes
            std::memcpy(key.data(), &len, 4);
            key[4] = static_cast<uint8_t>(10 + id % 2);
            key[5] = static_cast<uint8_t>(id);
            key[6] = static_cast<uint8_t>(rng() % 2);
        } else {
            std::memcpy(key.data(), &id, std::min<size_t>(4, key.size()));
        }
        for (auto& b : value) b = static_cast<uint8_t>(rng());
        const int op = static_cast<int>(rng() % 10);
        std::string what;
        int kr = 0, orr = 0;
        // Without exact_keys only results independent of which keys are
        // present are compared: updates with BPF_ANY or invalid flags.
        bool presence_independent = false;
        if (op < 4) {
            const uint64_t flags = flag_choices[rng() % (rng() % 8 == 0 ? 5 : 3)];
            presence_independent = flags != BPF_NOEXIST && flags != BPF_EXIST;
            what = "update flags " + std::to_string(flags);
            kr = p.kernel.update(key.data(), value.data(), flags);
            orr = err(p.ours->update(key.data(), value.data(), flags));
        } else if (op < 7) {
            what = "lookup";
            kr = p.kernel.lookup(key.data(), vk.data());
            orr = err(p.ours->lookup(key.data(), vo.data()));
            if (kr == 0 && orr == 0 && exact_keys) {
                EXPECT_EQ(vk, vo) << "lookup value differs at op " << i;
            }
        } else if (op < 9) {
            what = "delete";
            kr = p.kernel.erase(key.data());
            orr = err(p.ours->erase(key.data()));
        } else {
            what = "lookup_and_delete";
            kr = p.kernel.lookup_and_delete(key.data(), vk.data());
            orr = err(p.ours->lookup_and_delete(key.data(), vo.data()));
            if (kr == 0 && orr == 0 && exact_keys) {
                EXPECT_EQ(vk, vo) << "lookup_and_delete value differs at op " << i;
            }
        }
        if (exact_keys || presence_independent) {
            ASSERT_EQ(orr, kr) << what << " at op " << i << " (seed " << seed << ")";
        }
    }
    if (exact_keys) {
        EXPECT_EQ(our_keys(p), kernel_keys(p));
    }
    // get_next_key: a missing key gives some first key, on both sides.
    std::vector<uint8_t> missing(p.key_size, 0xee), nk(p.key_size), no(p.key_size);
    if (lpm) {
        missing[0] = 31;
        missing[1] = missing[2] = missing[3] = 0;
    }
    EXPECT_EQ(err(p.ours->get_next_key(missing.data(), no.data())), p.kernel.next_key(missing.data(), nk.data()));
    EXPECT_EQ(err(p.ours->get_next_key(nullptr, no.data())), p.kernel.next_key(nullptr, nk.data()));
}

TEST(KernelDiff, HashRandomSequences) {
    REQUIRE_KERNEL_BPF();
    for (uint32_t seed : {1u, 2u, 3u, 4u, 5u}) {
        Pair hash = make_pair(BPF_MAP_TYPE_HASH, 4, 12, 8);
        random_sequence(hash, 16, 2000, seed, true);
        Pair prealloc_free = make_pair(BPF_MAP_TYPE_HASH, 6, 8, 5, BPF_F_NO_PREALLOC);
        random_sequence(prealloc_free, 12, 400, seed + 10, true);
        Pair percpu = make_pair(BPF_MAP_TYPE_PERCPU_HASH, 4, 8, 8);
        random_sequence(percpu, 16, 400, seed + 20, true);
    }
}

TEST(KernelDiff, ArrayRandomSequences) {
    REQUIRE_KERNEL_BPF();
    for (uint32_t seed : {4u, 5u}) {
        Pair array = make_pair(BPF_MAP_TYPE_ARRAY, 4, 12, 8);
        random_sequence(array, 12, 500, seed, true);  // indexes 8..11 are out of range
        Pair percpu = make_pair(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 8);
        random_sequence(percpu, 12, 300, seed + 10, true);
    }
    // get_next_key walks indexes in order on both.
    Pair array = make_pair(BPF_MAP_TYPE_ARRAY, 4, 4, 3);
    for (uint32_t key : {0u, 1u, 2u, 3u, 99u}) {
        uint32_t nk = 77, no = 77;
        EXPECT_EQ(err(array.ours->get_next_key(&key, &no)), array.kernel.next_key(&key, &nk)) << key;
        EXPECT_EQ(no, nk) << key;
    }
}

TEST(KernelDiff, LruSequences) {
    REQUIRE_KERNEL_BPF();
    // Below capacity, LRU maps behave exactly like hashes.
    Pair lru = make_pair(BPF_MAP_TYPE_LRU_HASH, 4, 8, 256);
    random_sequence(lru, 16, 500, 7, true);
    Pair lru_percpu = make_pair(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 256);
    random_sequence(lru_percpu, 16, 300, 8, true);
    // Beyond it: updates never fail (no E2BIG) and the key just written is
    // present; which older keys were evicted is the kernel's own choice.
    Pair small = make_pair(BPF_MAP_TYPE_LRU_HASH, 4, 8, 8);
    random_sequence(small, 64, 500, 9, false);
    for (uint32_t k = 1000; k < 1100; ++k) {
        uint64_t v = k, out = 0;
        ASSERT_EQ(err(small.ours->update(&k, &v, BPF_ANY)), small.kernel.update(&k, &v, BPF_ANY));
        EXPECT_EQ(err(small.ours->lookup(&k, &out)), small.kernel.lookup(&k, &out));
    }
    EXPECT_LE(our_keys(small).size(), 8u);
}

TEST(KernelDiff, LpmRandomSequences) {
    REQUIRE_KERNEL_BPF();
    for (uint32_t seed : {11u, 12u}) {
        Pair lpm = make_pair(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 12, BPF_F_NO_PREALLOC);
        random_sequence(lpm, 8, 2000, seed, true, true);
    }
}

TEST(KernelDiff, QueueAndStackSequences) {
    REQUIRE_KERNEL_BPF();
    for (uint32_t type : {BPF_MAP_TYPE_QUEUE, BPF_MAP_TYPE_STACK}) {
        Pair q = make_pair(type, 0, 8, 4);
        std::mt19937 rng(type);
        const uint64_t flag_choices[] = {BPF_ANY, BPF_EXIST, BPF_NOEXIST, 9};
        for (int i = 0; i < 400; ++i) {
            uint64_t v = rng(), vk = 0, vo = 0;
            const int op = static_cast<int>(rng() % 4);
            if (op == 0 || op == 1) {
                const uint64_t flags = flag_choices[rng() % 4];
                ASSERT_EQ(err(q.ours->update(nullptr, &v, flags)), q.kernel.update(nullptr, &v, flags))
                    << "push " << flags << " op " << i;
            } else if (op == 2) {
                ASSERT_EQ(err(q.ours->lookup(nullptr, &vo)), q.kernel.lookup(nullptr, &vk)) << "peek op " << i;
                EXPECT_EQ(vo, vk);
            } else {
                ASSERT_EQ(err(q.ours->lookup_and_delete(nullptr, &vo)), q.kernel.lookup_and_delete(nullptr, &vk))
                    << "pop op " << i;
                EXPECT_EQ(vo, vk);
            }
        }
        uint64_t v = 0;
        uint32_t key = 0;
        EXPECT_EQ(err(q.ours->erase(nullptr)), q.kernel.erase(nullptr));
        EXPECT_EQ(err(q.ours->get_next_key(nullptr, &v)), q.kernel.next_key(nullptr, &v));
        EXPECT_EQ(err(q.ours->lookup(&key, &v)), q.kernel.lookup(&key, &v));
    }
}

TEST(KernelDiff, FullMaps) {
    REQUIRE_KERNEL_BPF();
    for (uint32_t flags : {0u, uint32_t{BPF_F_NO_PREALLOC}}) {
        Pair hash = make_pair(BPF_MAP_TYPE_HASH, 4, 4, 3, flags);
        for (uint32_t k = 0; k < 6; ++k) {
            for (uint64_t f : {uint64_t{BPF_NOEXIST}, uint64_t{BPF_ANY}, uint64_t{BPF_EXIST}}) {
                EXPECT_EQ(err(hash.ours->update(&k, &k, f)), hash.kernel.update(&k, &k, f)) << k << " " << f;
            }
        }
        EXPECT_EQ(our_keys(hash), kernel_keys(hash));
    }
    Pair lpm = make_pair(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 2, BPF_F_NO_PREALLOC);
    for (uint32_t len = 0; len < 6; ++len) {
        struct { uint32_t len; uint8_t d[4]; } k{len * 4, {1, 2, 3, 4}};
        for (uint64_t f : {uint64_t{BPF_NOEXIST}, uint64_t{BPF_ANY}, uint64_t{BPF_EXIST}}) {
            EXPECT_EQ(err(lpm.ours->update(&k, &len, f)), lpm.kernel.update(&k, &len, f)) << len << " " << f;
        }
    }
}

// ---- CPUMAP ----

// Skips the test when the kernel refuses CPU maps (they need CAP_SYS_ADMIN).
#define REQUIRE_KERNEL_CPUMAP()                                                                           \
    do {                                                                                                  \
        const int cpumap_err = KernelMap::create(BPF_MAP_TYPE_CPUMAP, 4, 4, 1, 0, 0, nullptr);            \
        if (cpumap_err != 0)                                                                              \
            GTEST_SKIP() << "the kernel refuses BPF_MAP_TYPE_CPUMAP: " << std::strerror(cpumap_err)       \
                         << " (needs CAP_SYS_ADMIN)";                                                     \
    } while (0)

TEST(KernelDiff, CpuMapCreateParameters) {
    REQUIRE_KERNEL_BPF();
    REQUIRE_KERNEL_CPUMAP();
    const uint32_t T = BPF_MAP_TYPE_CPUMAP, nr_cpus = kernel_nr_cpus();
    const std::vector<CreateCase> cases = {
        {T, 4, 4, 4, 0}, {T, 4, 8, 4, 0}, {T, 4, 0, 4, 0}, {T, 4, 2, 4, 0}, {T, 4, 12, 4, 0}, {T, 8, 4, 4, 0},
        {T, 0, 4, 4, 0}, {T, 4, 4, 0, 0}, {T, 4, 4, 4, BPF_F_NUMA_NODE}, {T, 4, 4, 4, BPF_F_NO_PREALLOC},
        {T, 4, 4, 4, BPF_F_RDONLY}, {T, 4, 4, 4, BPF_F_WRONLY}, {T, 4, 4, 4, BPF_F_RDONLY_PROG},
        {T, 4, 4, 4, BPF_F_MMAPABLE}, {T, 4, 4, 4, BPF_F_INNER_MAP}, {T, 4, 4, 4, BPF_F_RDONLY | BPF_F_WRONLY},
        {T, 4, 4, nr_cpus, 0}, {T, 4, 4, nr_cpus + 1, 0}, {T, 4, 12, nr_cpus + 1, 0}, {T, 4, 4, 0xffffffff, 0},
    };
    for (const CreateCase& c : cases) {
        const int kernel = KernelMap::create(c.type, c.key, c.value, c.max, c.flags, 0, nullptr);
        const int ours = create_errno(c.type, c.key, c.value, c.max, c.flags);
        EXPECT_EQ(ours, kernel) << "key " << c.key << " value " << c.value << " max " << c.max << " flags "
                                << std::hex << c.flags;
    }
}

TEST(KernelDiff, CpuMapHostOperations) {
    REQUIRE_KERNEL_BPF();
    REQUIRE_KERNEL_CPUMAP();
    // Two slots past the possible CPUs (ENODEV there) when NR_CPUS allows.
    const uint32_t max = std::min(possible_cpus() + 2, kernel_nr_cpus());
    for (uint32_t value_size : {4u, 8u}) {
        Pair p = make_pair(BPF_MAP_TYPE_CPUMAP, 4, value_size, max);
        ASSERT_TRUE(p.ours);
        const std::vector<uint32_t> cpus = {0, max - 1, max - 2, max, 1000};
        const uint64_t flag_choices[] = {BPF_ANY, BPF_NOEXIST, BPF_EXIST, 3};
        int step = 0;
        for (uint32_t qsize : {64u, 1u, 16384u, 16385u, 0u, 100u}) {
            for (int32_t prog : {0, -1}) {
                for (uint64_t flags : flag_choices) {
                    for (uint32_t cpu : cpus) {
                        const uint32_t value[2] = {qsize, static_cast<uint32_t>(prog)};
                        ASSERT_EQ(err(p.ours->update(&cpu, value, flags)), p.kernel.update(&cpu, value, flags))
                            << "update cpu " << cpu << " qsize " << qsize << " flags " << flags << " step " << step;
                        uint32_t vk[2] = {0xaa, 0xbb}, vo[2] = {0xaa, 0xbb};
                        ASSERT_EQ(err(p.ours->lookup(&cpu, vo)), p.kernel.lookup(&cpu, vk)) << "lookup cpu " << cpu;
                        EXPECT_EQ(vo[0], vk[0]) << "qsize of cpu " << cpu << " step " << step;
                        EXPECT_EQ(vo[1], vk[1]) << "bpf_prog.id of cpu " << cpu << " step " << step;
                        ++step;
                    }
                }
            }
            const uint32_t victim = qsize % max;
            EXPECT_EQ(err(p.ours->erase(&victim)), p.kernel.erase(&victim)) << victim;
        }
        for (uint32_t cpu : {0u, max - 1, max, 1000u}) {
            EXPECT_EQ(err(p.ours->erase(&cpu)), p.kernel.erase(&cpu)) << "delete " << cpu;
            uint32_t nk = 77, no = 77;
            EXPECT_EQ(err(p.ours->get_next_key(&cpu, &no)), p.kernel.next_key(&cpu, &nk)) << "next of " << cpu;
            EXPECT_EQ(no, nk) << "next of " << cpu;
            uint32_t v = 0;
            EXPECT_EQ(err(p.ours->lookup_and_delete(&cpu, &v)), p.kernel.lookup_and_delete(&cpu, &v));
        }
        EXPECT_EQ(our_keys(p), kernel_keys(p));  // every index, empty or not
        // A program in the entry: the kernel takes only an XDP program
        // attached as BPF_XDP_CPUMAP (ENOMEM for anything else, such as this
        // map's fd); bpfrt refuses every program with EINVAL.
        if (value_size == 8) {
            const uint32_t cpu = 0, value[2] = {64, static_cast<uint32_t>(p.kernel.fd())};
            EXPECT_EQ(p.kernel.update(&cpu, value, BPF_ANY), ENOMEM);
            EXPECT_EQ(err(p.ours->update(&cpu, value, BPF_ANY)), EINVAL);
        }
    }
}

}  // namespace
}  // namespace bpfrt::maps::test
