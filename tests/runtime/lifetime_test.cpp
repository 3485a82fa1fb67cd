// Handle lifetime: objects behind handles, references held by programs,
// runtime teardown, and the handle table itself.
#include "test_util.hpp"

#include "runtime/handle_table.hpp"
#include "runtime/state.hpp"

#include <atomic>
#include <thread>

namespace bpfrt::test {
namespace {

// Counts up in an array map's element 0.
std::vector<bpf_insn> counter_program(int map) {
    return {
        BPF_LD_MAP_VALUE(BPF_REG_1, map, 0),
        BPF_MOV64_IMM(BPF_REG_2, 1),
        BPF_ATOMIC_OP(BPF_DW, BPF_ADD, BPF_REG_1, BPF_REG_2, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
}

// Looks up key 0 of a hash map through the helper; returns the value or 99.
std::vector<bpf_insn> lookup_program(int map) {
    return {
        BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_LD_MAP_FD(BPF_REG_1, map),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2),
        BPF_MOV64_IMM(BPF_REG_0, 99),
        BPF_EXIT_INSN(),
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
}

TEST(Lifetime, MapClosedByTheHostLivesWhileAProgramUsesIt) {
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 8, 4);
    uint32_t key = 0;
    uint64_t value = 1234;
    ASSERT_EQ(bpfrt_update_elem(rt.get(), map, &key, &value, BPF_ANY), 0);
    const int prog = load_filter(rt.get(), lookup_program(map));
    ASSERT_EQ(bpfrt_close(rt.get(), map), 0);
    EXPECT_EQ(run_once(rt.get(), prog, ip_frame(6)), 1234u);  // still there
    // The handle number is free again; a new map there is a different map.
    EXPECT_EQ(bpfrt_create_map(rt.get(), BPF_MAP_TYPE_HASH, 4, 8, 4), map);
    EXPECT_EQ(run_once(rt.get(), prog, ip_frame(6)), 1234u);
}

TEST(Lifetime, MapIsFreedWithItsLastUser) {
    Runtime rt;
    auto map = rt.map_create({.map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1});
    ASSERT_TRUE(map) << map.error().message;
    std::weak_ptr<Object> weak = rt.state().handles.get(map->fd());
    const auto insns = counter_program(map->fd());
    auto loaded = rt.prog_load({.prog_type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = insns, .license = "GPL"});
    ASSERT_TRUE(loaded.program) << loaded.program.error().message;
    map->reset();
    EXPECT_FALSE(weak.expired());  // the program holds it
    loaded.program->reset();
    EXPECT_TRUE(weak.expired());   // last user gone
    EXPECT_EQ(rt.open_handles(), 0u);
}

TEST(Lifetime, RuntimeDestructionReleasesEverything) {
    std::weak_ptr<Object> map_object, prog_object;
    {
        auto rt = new_runtime();
        const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 1);
        const int prog = load_filter(rt.get(), counter_program(map));
        map_object = Runtime::from_c(rt.get()).state().handles.get(map);
        prog_object = Runtime::from_c(rt.get()).state().handles.get(prog);
        run_once(rt.get(), prog, ip_frame(6));
        // Handles left open on purpose.
    }
    EXPECT_TRUE(map_object.expired());
    EXPECT_TRUE(prog_object.expired());
}

class Probe final : public Object {
public:
    explicit Probe(std::atomic<int>& closed) : closed_(closed) {}
    ObjectKind kind() const noexcept override { return ObjectKind::Map; }
    void on_last_handle_closed() noexcept override { ++closed_; }

private:
    std::atomic<int>& closed_;
};

TEST(HandleTable, LowestFreeAndLastHandleNotice) {
    runtime::HandleTable table;
    std::atomic<int> closed{0};
    auto a = std::make_shared<Probe>(closed);
    EXPECT_EQ(*table.open(a), 3);
    EXPECT_EQ(*table.open(a), 4);  // a second handle to the same object
    EXPECT_EQ(*table.open(std::make_shared<Probe>(closed)), 5);
    EXPECT_EQ(table.get(4), a);
    EXPECT_EQ(table.get(2), nullptr);
    EXPECT_EQ(table.get(6), nullptr);
    ASSERT_TRUE(table.close(3));
    EXPECT_EQ(closed, 0);  // handle 4 still open
    ASSERT_TRUE(table.close(4));
    EXPECT_EQ(closed, 1);
    EXPECT_EQ(table.close(4).error().code, EBADF);
    EXPECT_EQ(*table.open(a), 3);
    EXPECT_EQ(*table.open(a), 4);
    table.close_all();
    EXPECT_EQ(closed, 3);
    EXPECT_EQ(table.open_count(), 0u);
}

TEST(HandleTable, FullTableIsEmfile) {
    runtime::HandleTable table;
    std::atomic<int> closed{0};
    auto object = std::make_shared<Probe>(closed);
    for (size_t i = 0; i < runtime::HandleTable::kMaxHandles; ++i) ASSERT_TRUE(table.open(object));
    EXPECT_EQ(table.open(object).error().code, EMFILE);
    ASSERT_TRUE(table.close(1000));
    EXPECT_EQ(*table.open(object), 1000);
}

TEST(HandleTable, ConcurrentOpenAndClose) {
    runtime::HandleTable table;
    std::atomic<int> closed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 2000; ++i) {
                auto fd = table.open(std::make_shared<Probe>(closed));
                ASSERT_TRUE(fd);
                ASSERT_NE(table.get(*fd), nullptr);
                ASSERT_TRUE(table.close(*fd));
            }
        });
    for (auto& t : threads) t.join();
    EXPECT_EQ(closed, 8000);
    EXPECT_EQ(table.open_count(), 0u);
}

}  // namespace
}  // namespace bpfrt::test
