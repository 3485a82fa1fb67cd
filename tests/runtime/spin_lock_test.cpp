// Maps whose value holds a struct bpf_spin_lock (MapCreate::value_btf): the
// verifier lets programs lock it, host copies never write the lock word and
// read it as 0, and BPF_F_LOCK host copies exclude programs holding the lock.
#include "test_util.hpp"

#include <bpfrt/insn.h>
#include <bpfrt/runtime.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

namespace bpfrt::test {
namespace {

// struct value { u64 a; struct bpf_spin_lock lock; u32 pad; u64 b; }
struct Value {
    uint64_t a = 0;
    uint32_t lock = 0;
    uint32_t pad = 0;
    uint64_t b = 0;
};
constexpr int32_t kLockOff = 8;

std::span<const std::byte> bytes_of(const auto& v) { return std::as_bytes(std::span(&v, 1)); }
std::span<std::byte> writable_bytes_of(auto& v) { return std::as_writable_bytes(std::span(&v, 1)); }

MapHandle locked_map(Runtime& rt, uint32_t type, std::optional<MapCreate::ValueBtf> btf = MapCreate::ValueBtf{kLockOff}) {
    MapCreate in;
    in.map_type = type;
    in.key_size = 4;
    in.value_size = sizeof(Value);
    in.max_entries = 4;
    in.value_btf = btf;
    auto map = rt.map_create(in);
    EXPECT_TRUE(map) << map.error().message;
    return map ? std::move(*map) : MapHandle{};
}

// v = lookup(key 0); if (v) { lock(&v->lock); v->a++; v->b++; unlock(&v->lock); } return 0
std::vector<bpf_insn> locked_counters(int map_fd) {
    return {BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
            BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
            BPF_LD_MAP_FD(BPF_REG_1, map_fd),
            BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem),
            BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2),
            BPF_MOV64_IMM(BPF_REG_0, 0),
            BPF_EXIT_INSN(),
            BPF_MOV64_REG(BPF_REG_6, BPF_REG_0),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, kLockOff),
            BPF_EMIT_CALL(BPF_FUNC_spin_lock),
            BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_6, 0),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1),
            BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_1, 0),
            BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_6, 16),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, 1),
            BPF_STX_MEM(BPF_DW, BPF_REG_6, BPF_REG_1, 16),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_6),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, kLockOff),
            BPF_EMIT_CALL(BPF_FUNC_spin_unlock),
            BPF_MOV64_IMM(BPF_REG_0, 0),
            BPF_EXIT_INSN()};
}

ProgLoadResult load(Runtime& rt, const std::vector<bpf_insn>& insns, jit::Engine engine = jit::Engine::Auto) {
    ProgLoad in;
    in.prog_type = BPF_PROG_TYPE_SCHED_CLS;
    in.insns = insns;
    in.license = "GPL";
    in.log_level = 1;
    in.engine = engine;
    return rt.prog_load(in);
}

TEST(SpinLockMaps, CreationFollowsTheKernelsRules) {
    Runtime rt;
    MapCreate in{.map_type = BPF_MAP_TYPE_PERCPU_HASH, .key_size = 4, .value_size = 16, .max_entries = 4};
    in.value_btf = MapCreate::ValueBtf{0};
    EXPECT_EQ(rt.map_create(in).error().code, EOPNOTSUPP);  // only hash and array maps hold locks
    in.map_type = BPF_MAP_TYPE_ARRAY;
    in.value_btf = MapCreate::ValueBtf{2};
    EXPECT_EQ(rt.map_create(in).error().code, EINVAL);  // not 4-aligned
    in.value_btf = MapCreate::ValueBtf{16};
    EXPECT_EQ(rt.map_create(in).error().code, EINVAL);  // outside the value
    in.value_btf = MapCreate::ValueBtf{12};
    EXPECT_TRUE(rt.map_create(in));
    in.value_btf = MapCreate::ValueBtf{-1};  // BTF without a lock
    EXPECT_TRUE(rt.map_create(in));
}

TEST(SpinLockMaps, TheVerifierNeedsTheValuesBtf) {
    Runtime rt;
    MapHandle with = locked_map(rt, BPF_MAP_TYPE_HASH);
    auto ok = load(rt, locked_counters(with.fd()));
    EXPECT_TRUE(ok.program) << ok.program.error().message << "\n" << ok.log;

    MapHandle without = locked_map(rt, BPF_MAP_TYPE_HASH, std::nullopt);
    auto refused = load(rt, locked_counters(without.fd()));
    ASSERT_FALSE(refused.program);
    EXPECT_NE(refused.log.find("map has to have BTF in order to use bpf_spin_lock"), std::string::npos) << refused.log;

    MapHandle no_lock = locked_map(rt, BPF_MAP_TYPE_HASH, MapCreate::ValueBtf{});
    auto no_lock_load = load(rt, locked_counters(no_lock.fd()));
    ASSERT_FALSE(no_lock_load.program);
    EXPECT_NE(no_lock_load.log.find("has no valid bpf_spin_lock"), std::string::npos) << no_lock_load.log;
}

TEST(SpinLockMaps, HostCopiesLeaveTheLockWordAlone) {
    for (uint32_t type : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH}) {
        SCOPED_TRACE(type);
        Runtime rt;
        MapHandle map = locked_map(rt, type);
        const uint32_t key = 1;
        Value v{.a = 5, .lock = 0xdeadbeef, .pad = 6, .b = 7};
        ASSERT_TRUE(rt.map_update_elem({map.fd(), bytes_of(key), bytes_of(v), BPF_ANY}));
        Value out;
        ASSERT_TRUE(rt.map_lookup_elem({map.fd(), bytes_of(key)}, writable_bytes_of(out)));
        EXPECT_EQ(out.a, 5u);
        EXPECT_EQ(out.lock, 0u);  // never the caller's bytes: a lock word is the map's
        EXPECT_EQ(out.pad, 6u);
        EXPECT_EQ(out.b, 7u);
        ASSERT_TRUE(rt.map_lookup_elem({map.fd(), bytes_of(key), BPF_F_LOCK}, writable_bytes_of(out)));
        EXPECT_EQ(out.a, 5u);
        EXPECT_EQ(out.lock, 0u);
    }
}

TEST(SpinLockMaps, LockFlagNeedsALock) {
    Runtime rt;
    MapHandle plain = locked_map(rt, BPF_MAP_TYPE_HASH, std::nullopt);
    const uint32_t key = 0;
    Value v;
    EXPECT_EQ(rt.map_update_elem({plain.fd(), bytes_of(key), bytes_of(v), BPF_F_LOCK}).error().code, EINVAL);
    EXPECT_EQ(rt.map_lookup_elem({plain.fd(), bytes_of(key), BPF_F_LOCK}, writable_bytes_of(v)).error().code, EINVAL);
    MapHandle locked = locked_map(rt, BPF_MAP_TYPE_HASH);
    EXPECT_EQ(rt.map_lookup_elem({locked.fd(), bytes_of(key), BPF_F_LOCK | 8}, writable_bytes_of(v)).error().code,
              EINVAL);
    // The hash map's own flag rules still apply under BPF_F_LOCK.
    EXPECT_EQ(rt.map_update_elem({locked.fd(), bytes_of(key), bytes_of(v), BPF_F_LOCK | BPF_EXIST}).error().code,
              ENOENT);
    EXPECT_TRUE(rt.map_update_elem({locked.fd(), bytes_of(key), bytes_of(v), BPF_F_LOCK | BPF_NOEXIST}));
    EXPECT_EQ(rt.map_update_elem({locked.fd(), bytes_of(key), bytes_of(v), BPF_F_LOCK | BPF_NOEXIST}).error().code,
              EEXIST);
    EXPECT_EQ(rt.map_lookup_elem({locked.fd(), bytes_of(uint32_t{3}), BPF_F_LOCK}, writable_bytes_of(v)).error().code,
              ENOENT);
}

// Programs increment a and b under the lock on two threads while the host
// reads the value and resets it, both with BPF_F_LOCK: a copy never sees a
// half-done update (a != b), and a reset never lands inside one.
TEST(SpinLockMaps, LockedHostCopiesExcludePrograms) {
    for (uint32_t type : {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH}) {
        for (jit::Engine engine : {jit::Engine::Interpreter, jit::Engine::Auto}) {
            SCOPED_TRACE(testing::Message() << "map type " << type << " engine " << static_cast<int>(engine));
            Runtime rt;
            MapHandle map = locked_map(rt, type);
            const uint32_t key = 0;
            ASSERT_TRUE(rt.map_update_elem({map.fd(), bytes_of(key), bytes_of(Value{}), BPF_ANY}));
            auto prog = load(rt, locked_counters(map.fd()), engine);
            ASSERT_TRUE(prog.program) << prog.program.error().message << "\n" << prog.log;

            constexpr uint32_t kRunsPerThread = 20000;
            std::atomic<int> running{2};
            auto runner = [&] {
                const std::vector<std::byte> packet(64);
                auto r = rt.prog_test_run({.prog_fd = prog.program->fd(), .data = packet, .repeat = kRunsPerThread});
                EXPECT_TRUE(r) << r.error().message;
                running.fetch_sub(1);
            };
            std::thread t1(runner), t2(runner);
            int torn = 0, copies = 0;
            while (running.load() > 0) {
                Value seen;
                ASSERT_TRUE(rt.map_lookup_elem({map.fd(), bytes_of(key), BPF_F_LOCK}, writable_bytes_of(seen)));
                torn += seen.a != seen.b;
                ++copies;
                const Value reset{.a = 1000, .b = 1000};
                ASSERT_TRUE(rt.map_update_elem({map.fd(), bytes_of(key), bytes_of(reset), BPF_F_LOCK}));
            }
            t1.join();
            t2.join();
            Value last;
            ASSERT_TRUE(rt.map_lookup_elem({map.fd(), bytes_of(key), BPF_F_LOCK}, writable_bytes_of(last)));
            EXPECT_EQ(torn, 0) << "of " << copies << " locked copies, some saw a half-done update";
            EXPECT_EQ(last.a, last.b);
            EXPECT_GE(last.a, 1u);
        }
    }
}

}  // namespace
}  // namespace bpfrt::test
