// bpf_spin_lock / bpf_spin_unlock: a program the verifier accepts (its map
// value holds a struct bpf_spin_lock known from BTF) updates two counters
// under the lock from several threads at once, on both engines; the lock
// keeps them equal and no update is lost. Checked (unverified) runs cannot
// deadlock the thread with a second lock.
#include "helpers/lock_helpers.hpp"
#include "helpers/map_helpers.hpp"
#include "maps/map.hpp"
#include "support/lock_programs.hpp"
#include "verifier/verifier.hpp"

#include <bpfrt/insn.h>
#include <bpfrt/jit.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <thread>
#include <vector>

namespace bpfrt::test {
namespace {

using Prog = std::vector<bpf_insn>;

// struct value { struct bpf_spin_lock lock; u32 pad; u64 a; u64 b; }
constexpr int32_t kLockOff = 0;
constexpr int16_t kAOff = 8, kBOff = 16;
constexpr uint32_t kValueSize = 24;
constexpr int32_t kMapHandle = 7;

Prog locked_counters() { return test::locked_counters({kMapHandle, kLockOff, kAOff, kBOff}); }

std::optional<verifier::MapInfo> lock_map_info(int32_t handle) {
    if (handle != kMapHandle) return std::nullopt;
    verifier::MapInfo m{BPF_MAP_TYPE_ARRAY, 4, kValueSize, 1, 0, false};
    m.btf = true;
    m.spin_lock_off = kLockOff;
    return m;
}

// The map handle in lddw replaced by the map's address, as the runtime's load does.
Prog resolve(Prog insns, const maps::Map& map) {
    const auto address = reinterpret_cast<uintptr_t>(&map);
    for (size_t i = 0; i + 1 < insns.size(); ++i) {
        if (insns[i].code != (BPF_LD | BPF_DW | BPF_IMM) || insns[i].src_reg != BPF_PSEUDO_MAP_FD) continue;
        insns[i].src_reg = 0;
        insns[i].imm = static_cast<int32_t>(static_cast<uint32_t>(address));
        insns[i + 1].imm = static_cast<int32_t>(static_cast<uint32_t>(address >> 32));
    }
    return insns;
}

struct Counters {
    uint64_t a = 0, b = 0;
};

Counters read_counters(maps::Map& map) {
    const uint32_t key = 0;
    std::vector<std::byte> value(kValueSize);
    EXPECT_TRUE(map.lookup(&key, value.data()));
    Counters c;
    std::memcpy(&c.a, value.data() + kAOff, 8);
    std::memcpy(&c.b, value.data() + kBOff, 8);
    return c;
}

class SpinLock : public ::testing::TestWithParam<jit::Engine> {};

TEST_P(SpinLock, KeepsCountersConsistentAcrossThreads) {
    if (GetParam() == jit::Engine::Jit && !jit::jit_supported()) GTEST_SKIP() << "no JIT on this host";
    const Prog prog = locked_counters();
    verifier::VerifyInput in;
    in.insns = prog;
    in.prog_type = BPF_PROG_TYPE_XDP;
    in.license = "GPL";
    in.map_info = lock_map_info;
    const verifier::VerifyResult verdict = verifier::verify(in);
    ASSERT_TRUE(verdict.accepted) << verdict.message;

    maps::MapSpec spec;
    spec.type = BPF_MAP_TYPE_ARRAY;
    spec.key_size = 4;
    spec.value_size = kValueSize;
    spec.max_entries = 1;
    auto map = maps::create_map(spec);
    ASSERT_TRUE(map) << map.error().message;
    vm::HelperTable helpers;
    helpers::register_map_helpers(helpers);
    helpers::register_lock_helpers(helpers);
    const Prog resolved = resolve(prog, **map);
    auto program = jit::make_program(resolved, &helpers, GetParam());
    ASSERT_TRUE(program) << program.error().message;

    constexpr int kThreads = 4;
    constexpr int kRuns = 20000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            alignas(8) uint8_t ctx[64] = {};
            for (int i = 0; i < kRuns; ++i) {
                vm::ExecContext exec;
                auto r0 = (*program)->run(reinterpret_cast<uintptr_t>(ctx), 0, exec);
                if (!r0 || *r0 != 0) ADD_FAILURE() << "run failed";
            }
        });
    }
    for (auto& t : threads) t.join();
    const Counters c = read_counters(**map);
    EXPECT_EQ(c.a, uint64_t{kThreads} * kRuns);
    EXPECT_EQ(c.b, c.a);
    // The lock is free again.
    const uint32_t key = 0;
    std::vector<std::byte> value(kValueSize);
    ASSERT_TRUE((*map)->lookup(&key, value.data()));
    uint32_t lock_word = 1;
    std::memcpy(&lock_word, value.data() + kLockOff, 4);
    EXPECT_EQ(lock_word, 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, SpinLock, ::testing::Values(jit::Engine::Interpreter, jit::Engine::Jit),
                         [](const auto& p) { return p.param == jit::Engine::Jit ? "Jit" : "Interpreter"; });

// A checked (unverified) run is not trusted to pair its calls: locking twice,
// or unlocking a lock it does not hold, does nothing instead of deadlocking.
TEST(SpinLockChecked, DoubleLockAndForeignUnlockDoNothing) {
    vm::HelperTable table;
    helpers::register_lock_helpers(table);
    const vm::Helper* lock = table.find(BPF_FUNC_spin_lock);
    const vm::Helper* unlock = table.find(BPF_FUNC_spin_unlock);
    ASSERT_TRUE(lock && unlock && lock->fn && unlock->fn);
    alignas(8) uint32_t words[2] = {0, 0};
    vm::ExecContext exec;
    exec.checked = true;
    exec.allow(words, sizeof words, true);
    const auto at = [&](int i) { return reinterpret_cast<uintptr_t>(&words[i]); };
    lock->fn(at(0), 0, 0, 0, 0, exec);
    EXPECT_EQ(words[0], 1u);
    lock->fn(at(0), 0, 0, 0, 0, exec);  // again: would spin forever
    lock->fn(at(1), 0, 0, 0, 0, exec);  // a second lock
    EXPECT_EQ(words[1], 0u);
    unlock->fn(at(1), 0, 0, 0, 0, exec);  // not held
    EXPECT_EQ(words[0], 1u);
    unlock->fn(at(0), 0, 0, 0, 0, exec);
    EXPECT_EQ(words[0], 0u);
    // Memory the run may not write, or a misaligned lock: nothing happens.
    uint32_t outside = 0;
    lock->fn(reinterpret_cast<uintptr_t>(&outside), 0, 0, 0, 0, exec);
    EXPECT_EQ(outside, 0u);
    lock->fn(at(0) + 1, 0, 0, 0, 0, exec);
    EXPECT_EQ(words[0], 0u);
}

}  // namespace
}  // namespace bpfrt::test
