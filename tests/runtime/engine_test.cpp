// The engine of loaded programs: the JIT by default where supported, the
// interpreter on request, the same results on both, tail calls between them.
#include "test_util.hpp"

#include "runtime/program.hpp"
#include "runtime/state.hpp"

#include <bpfrt/jit.hpp>

namespace bpfrt::test {
namespace {

// The engine behind a program handle: true when the JIT compiled it.
bool is_jitted(bpfrt_runtime* rt, int fd) {
    auto object = Runtime::from_c(rt).state().handles.get(fd);
    const auto* program = dynamic_cast<const runtime::ProgramObject*>(object.get());
    return program != nullptr && program->exec != nullptr && jit::jit_code(*program->exec).has_value();
}

// r0 = frame[23] + 1000 * ++counter[0] (an array map shared by the runs).
std::vector<bpf_insn> counting_filter(int map) {
    return {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),
        BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0),
        BPF_LD_MAP_FD(BPF_REG_1, map),
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 7),
        BPF_LDX_MEM(BPF_DW, BPF_REG_7, BPF_REG_0, 0),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_7, 1),
        BPF_STX_MEM(BPF_DW, BPF_REG_0, BPF_REG_7, 0),
        BPF_LD_ABS(BPF_B, 23),
        BPF_ALU64_IMM(BPF_MUL, BPF_REG_7, 1000),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_7),
        BPF_EXIT_INSN(),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
}

TEST(Engine, JitByDefaultWhereSupported) {
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    const int fd = load_filter(rt.get(), counting_filter(map));
    EXPECT_EQ(is_jitted(rt.get(), fd), jit::jit_supported());
    EXPECT_EQ(run_once(rt.get(), fd, ip_frame(17)), 1017u);
}

TEST(Engine, InterpreterOnRequestAndTheSameResults) {
    auto rt = new_runtime();
    const int map = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_ARRAY, 4, 8, 1);
    ASSERT_EQ(bpfrt_runtime_set_engine(rt.get(), BPFRT_ENGINE_INTERP, 0), 0);
    const int interp = load_filter(rt.get(), counting_filter(map));
    EXPECT_FALSE(is_jitted(rt.get(), interp));
    if (!jit::jit_supported()) GTEST_SKIP() << "no JIT on this host";
    ASSERT_EQ(bpfrt_runtime_set_engine(rt.get(), BPFRT_ENGINE_JIT, 1), 0);  // and blinding
    const int jitted = load_filter(rt.get(), counting_filter(map));
    EXPECT_TRUE(is_jitted(rt.get(), jitted));
    // Both update the same map: the counts interleave.
    EXPECT_EQ(run_once(rt.get(), interp, ip_frame(6)), 1006u);
    EXPECT_EQ(run_once(rt.get(), jitted, ip_frame(6)), 2006u);
    EXPECT_EQ(run_once(rt.get(), interp, ip_frame(17)), 3017u);
    EXPECT_EQ(run_once(rt.get(), jitted, ip_frame(17)), 4017u);
}

TEST(Engine, CppApiChoosesPerLoad) {
    Runtime rt;
    const std::vector<bpf_insn> insns = {BPF_MOV64_IMM(BPF_REG_0, 7), BPF_EXIT_INSN()};
    ProgLoad load;
    load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    load.insns = insns;
    load.license = "GPL";
    load.engine = jit::Engine::Interpreter;
    auto interp = rt.prog_load(load);
    ASSERT_TRUE(interp.program.has_value()) << interp.program.error().message;
    auto object = rt.state().handles.get(interp.program->fd());
    const auto* program = dynamic_cast<const runtime::ProgramObject*>(object.get());
    ASSERT_NE(program, nullptr);
    EXPECT_FALSE(jit::jit_code(*program->exec).has_value());
    if (jit::jit_supported()) {
        load.engine = jit::Engine::Jit;
        load.constant_blinding = true;
        auto jitted = rt.prog_load(load);
        ASSERT_TRUE(jitted.program.has_value()) << jitted.program.error().message;
        auto jobject = rt.state().handles.get(jitted.program->fd());
        const auto* jprogram = dynamic_cast<const runtime::ProgramObject*>(jobject.get());
        ASSERT_NE(jprogram, nullptr);
        EXPECT_TRUE(jit::jit_code(*jprogram->exec).has_value());
    }
}

TEST(Engine, SetEngineRefusesUnknownEnginesAndNull) {
    auto rt = new_runtime();
    EXPECT_EQ(errno_of([&] { return bpfrt_runtime_set_engine(rt.get(), 3, 0); }), EINVAL);
    EXPECT_EQ(errno_of([&] { return bpfrt_runtime_set_engine(nullptr, BPFRT_ENGINE_AUTO, 0); }), EINVAL);
}

// r0 = tail_call(prog_array, index 0); falls through to r0 = 1 when empty.
std::vector<bpf_insn> tail_caller(int array) {
    return {
        BPF_LD_MAP_FD(BPF_REG_2, array),
        BPF_MOV64_IMM(BPF_REG_3, 0),
        BPF_CALL_FUNC(BPF_FUNC_tail_call),
        BPF_MOV64_IMM(BPF_REG_0, 1),
        BPF_EXIT_INSN(),
    };
}

// Tail calls cross engines: JIT -> interpreter and interpreter -> JIT.
TEST(Engine, TailCallsBetweenEngines) {
    if (!jit::jit_supported()) GTEST_SKIP() << "no JIT on this host";
    for (const bool caller_jitted : {true, false}) {
        auto rt = new_runtime();
        const int array = bpfrt_create_map(rt.get(), BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 1);
        ASSERT_GE(array, 3) << bpfrt_last_error();
        // The target: r0 = skb->len + 100, in the other engine.
        ASSERT_EQ(bpfrt_runtime_set_engine(rt.get(), caller_jitted ? BPFRT_ENGINE_INTERP : BPFRT_ENGINE_JIT, 0), 0);
        const int target = load_filter(rt.get(), {BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_1, offsetof(struct __sk_buff, len)),
                                                  BPF_ALU64_IMM(BPF_ADD, BPF_REG_0, 100), BPF_EXIT_INSN()});
        ASSERT_EQ(bpfrt_runtime_set_engine(rt.get(), caller_jitted ? BPFRT_ENGINE_JIT : BPFRT_ENGINE_INTERP, 0), 0);
        const int caller = load_filter(rt.get(), tail_caller(array));
        EXPECT_EQ(is_jitted(rt.get(), caller), caller_jitted);
        EXPECT_EQ(is_jitted(rt.get(), target), !caller_jitted);
        EXPECT_EQ(run_once(rt.get(), caller, ip_frame(6)), 1u);  // empty slot: falls through
        uint32_t key = 0;
        uint32_t value = static_cast<uint32_t>(target);
        ASSERT_EQ(bpfrt_update_elem(rt.get(), array, &key, &value, BPF_ANY), 0) << bpfrt_last_error();
        EXPECT_EQ(run_once(rt.get(), caller, ip_frame(6)), 164u) << "caller jitted: " << caller_jitted;
    }
}

}  // namespace
}  // namespace bpfrt::test

namespace bpfrt::test {
namespace {

// The first program of tests/verifier/cases/callbacks.txt "nested loops with
// local calls and the callbacks own stacks": bpf_loop inside a bpf_loop
// callback, the inner callback making a local call, the outer one keeping
// a pointer in its own stack frame. r0 = 10 * (0+1+2+3+4 + 5 + 1000).
std::vector<bpf_insn> nested_loops() {
    return {
        BPF_ST_MEM(BPF_DW, BPF_REG_10, -8, 0),
        BPF_MOV64_IMM(BPF_REG_1, 10),
        BPF_LD_IMM64_RAW(BPF_REG_2, BPF_PSEUDO_FUNC, 7),  // outer callback, slot 10
        BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -8),
        BPF_MOV64_IMM(BPF_REG_4, 0),
        BPF_EMIT_CALL(BPF_FUNC_loop),
        BPF_LDX_MEM(BPF_DW, BPF_REG_0, BPF_REG_10, -8),
        BPF_EXIT_INSN(),
        // outer callback (index, ctx)
        BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_2, -8),
        BPF_MOV64_IMM(BPF_REG_1, 5),
        BPF_LD_IMM64_RAW(BPF_REG_2, BPF_PSEUDO_FUNC, 10),  // inner callback, slot 23
        BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_10, -8),
        BPF_MOV64_IMM(BPF_REG_4, 0),
        BPF_EMIT_CALL(BPF_FUNC_loop),
        BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_10, -8),
        BPF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_1, 0),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, 1000),
        BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_2, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
        // inner callback (index, ctx): *ctx += index; add_one(ctx)
        BPF_LDX_MEM(BPF_DW, BPF_REG_3, BPF_REG_2, 0),
        BPF_ALU64_REG(BPF_ADD, BPF_REG_3, BPF_REG_1),
        BPF_STX_MEM(BPF_DW, BPF_REG_2, BPF_REG_3, 0),
        BPF_MOV64_REG(BPF_REG_1, BPF_REG_2),
        BPF_CALL_REL(2),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
        // add_one(p): *p += 1
        BPF_LDX_MEM(BPF_DW, BPF_REG_2, BPF_REG_1, 0),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, 1),
        BPF_STX_MEM(BPF_DW, BPF_REG_1, BPF_REG_2, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),
        BPF_EXIT_INSN(),
    };
}

// Functions called back by bpf_loop run in the JIT as in the interpreter:
// the generated code calls them through its callback trampoline.
TEST(Engine, JitRunsCallbacksAsTheInterpreter) {
    if (!jit::jit_supported()) GTEST_SKIP() << "no JIT on this host";
    Runtime rt;
    const std::vector<bpf_insn> insns = nested_loops();
    const std::vector<std::byte> packet(64);
    for (jit::Engine engine : {jit::Engine::Interpreter, jit::Engine::Jit, jit::Engine::Auto}) {
        SCOPED_TRACE(static_cast<int>(engine));
        ProgLoad load{.prog_type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = insns, .license = "GPL", .log_level = 1};
        load.engine = engine;
        auto loaded = rt.prog_load(load);
        ASSERT_TRUE(loaded.program) << loaded.program.error().message << "\n" << loaded.log;
        auto object = rt.state().handles.get(loaded.program->fd());
        const auto* program = dynamic_cast<const runtime::ProgramObject*>(object.get());
        ASSERT_NE(program, nullptr);
        EXPECT_EQ(jit::jit_code(*program->exec).has_value(), engine != jit::Engine::Interpreter);
        auto run = rt.prog_test_run({.prog_fd = loaded.program->fd(), .data = packet, .repeat = 3});
        ASSERT_TRUE(run) << run.error().message;
        EXPECT_EQ(run->retval, 10150u);
    }
}

// A program with both callbacks and tail calls still runs in the
// interpreter only: a tail call cannot leave a JIT callback.
TEST(Engine, CallbacksWithTailCallsStayInTheInterpreter) {
    Runtime rt;
    auto array = rt.map_create({.map_type = BPF_MAP_TYPE_PROG_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1});
    ASSERT_TRUE(array);
    // First tail_call(ctx, array, 0), which falls through while the array is
    // empty; inserted in front, it leaves every relative offset as it is.
    std::vector<bpf_insn> insns = {BPF_MOV64_REG(BPF_REG_6, BPF_REG_1), BPF_LD_MAP_FD(BPF_REG_2, array->fd()),
                                   BPF_MOV64_IMM(BPF_REG_3, 0), BPF_EMIT_CALL(BPF_FUNC_tail_call)};
    const std::vector<bpf_insn> rest = nested_loops();
    insns.insert(insns.end(), rest.begin(), rest.end());
    ProgLoad load{.prog_type = BPF_PROG_TYPE_SOCKET_FILTER, .insns = insns, .license = "GPL", .log_level = 1};
    load.engine = jit::Engine::Jit;
    auto refused = rt.prog_load(load);
    ASSERT_FALSE(refused.program);
    EXPECT_EQ(refused.program.error().code, ENOTSUP);
    load.engine = jit::Engine::Auto;
    auto loaded = rt.prog_load(load);
    ASSERT_TRUE(loaded.program) << loaded.program.error().message << "\n" << loaded.log;
    const std::vector<std::byte> packet(64);
    auto run = rt.prog_test_run({.prog_fd = loaded.program->fd(), .data = packet});
    ASSERT_TRUE(run) << run.error().message;
    EXPECT_EQ(run->retval, 10150u);
}

}  // namespace
}  // namespace bpfrt::test
