// bpf_get_current_pid_tgid, bpf_get_current_uid_gid, bpf_get_current_comm
// and bpf_get_stackid (with BPF_MAP_TYPE_STACK_TRACE, host side included):
// tracing programs loaded through the runtime, run for the calling thread or
// for a task the host describes (helpers::CurrentTask).
#include "test_support.hpp"

#include "helpers/task_helpers.hpp"
#include "maps/stack_trace.hpp"
#include "runtime/state.hpp"

#include <bpfrt/events.hpp>

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

namespace bpfrt::test {
namespace {

using Prog = std::vector<bpf_insn>;
using helpers::CurrentTask;
using helpers::TaskInfo;

// Runs a kprobe program once (r1 = a zeroed pt_regs) and returns r0.
uint64_t run_kprobe(Runtime& rt, const Prog& insns) {
    const Loaded l = load(rt, BPF_PROG_TYPE_KPROBE, insns);
    EXPECT_EQ(l.error, 0) << l.log;
    if (l.error != 0) return 0xdead;
    auto program = rt.state().program_at(l.fd);
    (void)rt.close(l.fd);
    if (!program) return 0xdead;
    alignas(8) uint8_t regs[21 * 8] = {};
    vm::ExecContext exec;
    exec.runtime = &rt.state();
    exec.allow(regs, sizeof regs, false);
    auto r0 = runtime::run_program(**program, reinterpret_cast<uintptr_t>(regs), 0, exec);
    EXPECT_TRUE(r0) << (r0 ? "" : r0.error().message);
    return r0 ? *r0 : 0xdead;
}

const Prog kPidTgid = {BPF_EMIT_CALL(BPF_FUNC_get_current_pid_tgid), BPF_EXIT_INSN()};
const Prog kUidGid = {BPF_EMIT_CALL(BPF_FUNC_get_current_uid_gid), BPF_EXIT_INSN()};

// fp-16..fp-1 = 0xff..; get_current_comm(fp-16, size); return the 8 bytes at `word_off`.
Prog comm_word(int32_t size, int16_t word_off) {
    return {BPF_MOV64_IMM(BPF_REG_1, -1),
            BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -16),
            BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_1, -8),
            BPF_MOV64_REG(BPF_REG_1, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_1, -16),
            BPF_MOV64_IMM(BPF_REG_2, size),
            BPF_EMIT_CALL(BPF_FUNC_get_current_comm),
            BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 1),
            BPF_EXIT_INSN(),
            BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, word_off),
            BPF_EXIT_INSN()};
}

// The 16 bytes get_current_comm(buf, size) leaves in a buffer of 0xff.
std::string comm_bytes(Runtime& rt, int32_t size) {
    const uint64_t lo = run_kprobe(rt, comm_word(size, -16));
    const uint64_t hi = run_kprobe(rt, comm_word(size, -8));
    std::string out(16, '\0');
    std::memcpy(out.data(), &lo, 8);
    std::memcpy(out.data() + 8, &hi, 8);
    return out;
}

TaskInfo nginx() {
    TaskInfo t;
    t.tgid = 4242;
    t.pid = 4243;
    t.uid = 33;
    t.gid = 34;
    t.comm = "nginx";
    return t;
}

TEST(TaskHelpers, TheCallingThreadByDefault) {
    Runtime rt;
    const uint64_t pid_tgid = run_kprobe(rt, kPidTgid);
    EXPECT_EQ(pid_tgid >> 32, static_cast<uint64_t>(getpid()));
    EXPECT_EQ(pid_tgid & 0xffffffff, static_cast<uint64_t>(syscall(SYS_gettid)));
    EXPECT_EQ(run_kprobe(rt, kUidGid), uint64_t{getgid()} << 32 | getuid());
    // The thread's name, from another thread so that the test runner keeps its own.
    std::string seen;
    std::thread([&] {
        prctl(PR_SET_NAME, "bpfrt-comm");
        seen = comm_bytes(rt, 16);
    }).join();
    EXPECT_EQ(seen, std::string("bpfrt-comm") + std::string(6, '\0'));
    EXPECT_EQ(helpers::this_thread_task().tgid, static_cast<uint32_t>(getpid()));
}

TEST(TaskHelpers, ACurrentTaskTheHostDescribes) {
    Runtime rt;
    {
        CurrentTask task(nginx());
        EXPECT_EQ(run_kprobe(rt, kPidTgid), uint64_t{4242} << 32 | 4243);
        EXPECT_EQ(run_kprobe(rt, kUidGid), uint64_t{34} << 32 | 33);
        EXPECT_EQ(comm_bytes(rt, 16), std::string("nginx") + std::string(11, '\0'));  // padded with NULs
        {
            TaskInfo other = nginx();
            other.pid = 7;
            CurrentTask inner(other);
            EXPECT_EQ(run_kprobe(rt, kPidTgid) & 0xffffffff, 7u);
        }
        EXPECT_EQ(run_kprobe(rt, kPidTgid) & 0xffffffff, 4243u);  // the outer one again
    }
    EXPECT_EQ(run_kprobe(rt, kPidTgid) >> 32, static_cast<uint64_t>(getpid()));
}

TEST(TaskHelpers, CommIsTruncatedToTheBufferAndToFifteenBytes) {
    Runtime rt;
    TaskInfo t = nginx();
    t.comm = "a-very-long-process-name";
    CurrentTask task(t);
    EXPECT_EQ(comm_bytes(rt, 16), std::string("a-very-long-pro") + '\0');
    // size 4: three bytes and a NUL, the rest of the buffer untouched.
    EXPECT_EQ(comm_bytes(rt, 4), std::string("a-v") + '\0' + std::string(12, '\xff'));
}

TEST(TaskHelpers, OnlyTracingProgramsMayAskForTheTask) {
    Runtime rt;
    const Loaded l = load(rt, BPF_PROG_TYPE_XDP, kUidGid);
    EXPECT_EQ(l.error, EINVAL);
    EXPECT_NE(l.log.find("bpf_get_current_uid_gid#15"), std::string::npos) << l.log;
}

// ---- bpf_get_stackid ----

MapHandle stack_map(Runtime& rt, uint32_t depth, uint32_t max_entries = 64, uint32_t flags = 0) {
    const uint32_t element = (flags & BPF_F_STACK_BUILD_ID) ? sizeof(struct bpf_stack_build_id) : 8;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_STACK_TRACE, .key_size = 4, .value_size = depth * element,
                              .max_entries = max_entries, .map_flags = flags});
    EXPECT_TRUE(map) << (map ? "" : map.error().message);
    return map ? std::move(*map) : MapHandle{};
}

Prog stackid(int map_fd, uint64_t flags) {
    return {BPF_LD_MAP_FD(BPF_REG_2, map_fd), BPF_LD_IMM64(BPF_REG_3, static_cast<int64_t>(flags)),
            BPF_EMIT_CALL(BPF_FUNC_get_stackid), BPF_EXIT_INSN()};
}

int64_t get_stackid(Runtime& rt, const MapHandle& map, uint64_t flags = 0) {
    return static_cast<int64_t>(run_kprobe(rt, stackid(map.fd(), flags)));
}

// The chain stored under `id` (the value's non-zero prefix), or nullopt.
std::optional<std::vector<uint64_t>> stored(Runtime& rt, const MapHandle& map, int64_t id, uint32_t depth) {
    const auto key = static_cast<uint32_t>(id);
    std::vector<uint64_t> value(depth, 0xdead);
    auto r = rt.map_lookup_elem({.map_fd = map.fd(), .key = std::as_bytes(std::span(&key, 1))},
                                std::as_writable_bytes(std::span(value)));
    if (!r) return std::nullopt;
    while (!value.empty() && value.back() == 0) value.pop_back();
    return value;
}

TaskInfo with_stacks(std::vector<uint64_t> kernel, std::vector<uint64_t> user = {}) {
    TaskInfo t = nginx();
    t.kernel_stack = std::move(kernel);
    t.user_stack = std::move(user);
    return t;
}

const std::vector<uint64_t> kKernelChain = {0xffffffff81001000, 0xffffffff81002000, 0xffffffff81003000};
const std::vector<uint64_t> kUserChain = {0x401000, 0x402000, 0x403000, 0x404000};

TEST(GetStackid, StoresTheHostsCallChain) {
    Runtime rt;
    MapHandle map = stack_map(rt, 8);
    CurrentTask task(with_stacks(kKernelChain, kUserChain));
    const int64_t id = get_stackid(rt, map);
    ASSERT_GE(id, 0);
    EXPECT_EQ(get_stackid(rt, map), id);  // the same chain, the same id
    EXPECT_EQ(stored(rt, map, id, 8), kKernelChain);
    const int64_t user = get_stackid(rt, map, BPF_F_USER_STACK);
    ASSERT_GE(user, 0);
    EXPECT_EQ(stored(rt, map, user, 8), kUserChain);
    // Skipping frames: the chain without its innermost ones.
    const int64_t skipped = get_stackid(rt, map, BPF_F_USER_STACK | 2);
    ASSERT_GE(skipped, 0);
    EXPECT_EQ(stored(rt, map, skipped, 8), std::vector<uint64_t>(kUserChain.begin() + 2, kUserChain.end()));
}

TEST(GetStackid, AtMostTheValuesDepth) {
    Runtime rt;
    MapHandle map = stack_map(rt, 2);
    CurrentTask task(with_stacks({}, kUserChain));
    int64_t id = get_stackid(rt, map, BPF_F_USER_STACK);
    ASSERT_GE(id, 0);
    EXPECT_EQ(stored(rt, map, id, 2), std::vector<uint64_t>(kUserChain.begin(), kUserChain.begin() + 2));
    // With skip, max_depth + skip frames are taken, then skip dropped.
    id = get_stackid(rt, map, BPF_F_USER_STACK | 1);
    ASSERT_GE(id, 0);
    EXPECT_EQ(stored(rt, map, id, 2), std::vector<uint64_t>(kUserChain.begin() + 1, kUserChain.begin() + 3));
}

TEST(GetStackid, Errors) {
    Runtime rt;
    MapHandle map = stack_map(rt, 8);
    EXPECT_EQ(get_stackid(rt, map), -EFAULT);  // no CurrentTask: no stack in user space
    {
        CurrentTask task(with_stacks(kKernelChain));
        EXPECT_EQ(get_stackid(rt, map, BPF_F_USER_STACK), -EFAULT);  // no user chain
        EXPECT_EQ(get_stackid(rt, map, 3), -EFAULT);                 // skips the whole chain
        EXPECT_EQ(get_stackid(rt, map, 1ull << 12), -EINVAL);        // unknown flag
        EXPECT_GE(get_stackid(rt, map, 2), 0);
    }
    // One bucket: another chain has the id.
    MapHandle one = stack_map(rt, 8, 1);
    CurrentTask task(with_stacks(kKernelChain, kUserChain));
    EXPECT_EQ(get_stackid(rt, one), 0);
    EXPECT_EQ(get_stackid(rt, one, BPF_F_USER_STACK), -EEXIST);
    EXPECT_EQ(get_stackid(rt, one, BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP), -EEXIST);  // different hash
    EXPECT_EQ(get_stackid(rt, one, BPF_F_USER_STACK | BPF_F_REUSE_STACKID), 0);         // replaces it
    EXPECT_EQ(stored(rt, one, 0, 8), kUserChain);
}

TEST(GetStackid, OnlyWithAStackTraceMapAndAGplLicense) {
    Runtime rt;
    auto hash = rt.map_create({.map_type = BPF_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 4});
    ASSERT_TRUE(hash);
    Loaded l = load(rt, BPF_PROG_TYPE_KPROBE, stackid(hash->fd(), 0));
    EXPECT_EQ(l.error, EINVAL);
    EXPECT_NE(l.log.find("cannot pass map_type 1 into func bpf_get_stackid#27"), std::string::npos) << l.log;
    MapHandle map = stack_map(rt, 8);
    auto r = rt.prog_load({.prog_type = BPF_PROG_TYPE_KPROBE, .insns = stackid(map.fd(), 0), .license = "MIT"});
    ASSERT_FALSE(r.program);
    EXPECT_NE(r.program.error().message.find("GPL"), std::string::npos) << r.program.error().message;
}

TEST(GetStackid, FromAnEventTheHostRaises) {
    Runtime rt;
    MapHandle map = stack_map(rt, 8);
    Event event(rt, "sched_wakeup", 64);
    const Loaded l = load(rt, BPF_PROG_TYPE_TRACEPOINT, stackid(map.fd(), 0));
    ASSERT_EQ(l.error, 0) << l.log;
    ASSERT_TRUE(event.attach(l.fd));
    alignas(8) uint8_t record[64] = {};
    {
        CurrentTask task(with_stacks(kKernelChain));
        EXPECT_EQ(event.raise(record), 1u);
    }
    uint32_t key = 0;
    ASSERT_TRUE(rt.map_get_next_key({.map_fd = map.fd()}, std::as_writable_bytes(std::span(&key, 1))));
    EXPECT_EQ(stored(rt, map, key, 8), kKernelChain);
    (void)rt.close(l.fd);
}

// ---- the map from the host ----

TEST(StackTraceMap, HostLookupIterateDelete) {
    Runtime rt;
    MapHandle map = stack_map(rt, 4, 16);
    std::set<uint32_t> ids;
    for (uint64_t base = 1; base <= 3; ++base) {
        CurrentTask task(with_stacks({base * 0x1000, base * 0x1000 + 8}));
        const int64_t id = get_stackid(rt, map, BPF_F_REUSE_STACKID);
        ASSERT_GE(id, 0);
        ids.insert(static_cast<uint32_t>(id));
    }
    // get_next_key walks the stored ids in order.
    std::set<uint32_t> walked;
    uint32_t key = 0, next = 0;
    std::optional<std::span<const std::byte>> after;  // nullopt: the first id
    while (rt.map_get_next_key({.map_fd = map.fd(), .key = after}, std::as_writable_bytes(std::span(&next, 1)))) {
        walked.insert(next);
        key = next;
        after = std::as_bytes(std::span(&key, 1));
    }
    EXPECT_EQ(walked, ids);
    const uint32_t id = *ids.begin();
    const auto key_of = [](const uint32_t& k) { return std::as_bytes(std::span(&k, 1)); };
    EXPECT_TRUE(rt.map_delete_elem({.map_fd = map.fd(), .key = key_of(id)}));
    EXPECT_FALSE(stored(rt, map, id, 4));
    auto again = rt.map_delete_elem({.map_fd = map.fd(), .key = key_of(id)});
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ENOENT);
    const uint32_t beyond = 16;  // the map has 16 buckets
    auto out_of_range = rt.map_delete_elem({.map_fd = map.fd(), .key = key_of(beyond)});
    ASSERT_FALSE(out_of_range);
    EXPECT_EQ(out_of_range.error().code, EINVAL);
    std::vector<uint64_t> value(4, 1);
    auto update = rt.map_update_elem({.map_fd = map.fd(), .key = key_of(id), .value = std::as_bytes(std::span(value))});
    ASSERT_FALSE(update);
    EXPECT_EQ(update.error().code, EINVAL);
}

TEST(StackTraceMap, CreateRules) {
    Runtime rt;
    const auto create = [&](uint32_t key, uint32_t value, uint32_t entries, uint32_t flags = 0) {
        auto m = rt.map_create({.map_type = BPF_MAP_TYPE_STACK_TRACE, .key_size = key, .value_size = value,
                                .max_entries = entries, .map_flags = flags});
        return m ? 0 : m.error().code;
    };
    EXPECT_EQ(create(4, 8, 1), 0);
    EXPECT_EQ(create(4, 127 * 8, 100), 0);
    EXPECT_EQ(create(4, 128 * 8, 100), EINVAL);  // deeper than perf_event_max_stack
    EXPECT_EQ(create(8, 8, 1), EINVAL);
    EXPECT_EQ(create(4, 12, 1), EINVAL);
    EXPECT_EQ(create(4, 4, 1), EINVAL);
    EXPECT_EQ(create(4, 8, 0), EINVAL);
    EXPECT_EQ(create(4, 8, 1, BPF_F_NO_PREALLOC), EINVAL);
    EXPECT_EQ(create(4, 64, 4, BPF_F_STACK_BUILD_ID), 0);
    EXPECT_EQ(create(4, 40, 4, BPF_F_STACK_BUILD_ID), EINVAL);  // not a multiple of 32 bytes
}

TEST(StackTraceMap, BuildIdMapsReportAddresses) {
    Runtime rt;
    MapHandle map = stack_map(rt, 4, 8, BPF_F_STACK_BUILD_ID);
    CurrentTask task(with_stacks(kKernelChain));
    const int64_t id = get_stackid(rt, map);
    ASSERT_GE(id, 0);
    const auto key = static_cast<uint32_t>(id);
    struct bpf_stack_build_id frames[4];
    ASSERT_TRUE(rt.map_lookup_elem({.map_fd = map.fd(), .key = std::as_bytes(std::span(&key, 1))},
                                   std::as_writable_bytes(std::span(frames))));
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(frames[i].status, BPF_STACK_BUILD_ID_IP);
        EXPECT_EQ(frames[i].ip, kKernelChain[i]);
    }
    EXPECT_EQ(frames[3].status, BPF_STACK_BUILD_ID_EMPTY);
}

TEST(StackTraceMap, FullWhenEveryChainIsInUse) {
    // 3 chains at most in 4 buckets: a fourth chain for the free bucket is -ENOMEM.
    maps::MapSpec spec;
    spec.type = BPF_MAP_TYPE_STACK_TRACE;
    spec.key_size = 4;
    spec.value_size = 8;
    spec.max_entries = 4;
    maps::StackTraceMap probe(spec);
    std::vector<uint64_t> by_id[4];
    for (uint64_t ip = 1; ip < 1000; ++ip) {
        const long id = probe.store(std::span(&ip, 1), BPF_F_REUSE_STACKID);
        ASSERT_GE(id, 0);
        if (by_id[id].empty()) by_id[id] = {ip};
    }
    for (const auto& chain : by_id) ASSERT_FALSE(chain.empty());
    spec.max_entries = 3;
    maps::StackTraceMap map(spec);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(map.store(by_id[i], 0), i);
    EXPECT_EQ(map.store(by_id[3], 0), -ENOMEM);
    EXPECT_EQ(map.store(by_id[0], 0), 0);  // a stored chain still has its id
    EXPECT_EQ(map.store({}, 0), -EFAULT);
}

}  // namespace
}  // namespace bpfrt::test
