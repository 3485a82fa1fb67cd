// Every verifier test case (tests/verifier/cases) that our verifier accepts
// runs through the runtime on both engines: the interpreter and the JIT must
// give the same retval, packet/context out and map contents.
//
// Each engine gets its own Runtime with the case's maps created alike (and a
// zero key pre-filled with a pattern where the map type takes it), the
// program loaded through PROG_LOAD and run once with BPF_PROG_TEST_RUN.
// Runnable types: those PROG_TEST_RUN runs (socket_filter, sched_cls,
// sched_act, cgroup_skb, xdp: a 64-byte IPv4/UDP frame; syscall: a 64-byte
// context). Tracing types run in the checked interpreter whatever the engine
// and are skipped. Cases whose result differs between two interpreter runs
// and those calling time or random-number helpers are skipped as
// nondeterministic; so are the few privileged cases whose result is a stack
// address or uninitialised stack bytes.
#include "case_file.hpp"

#include <bpfrt/bpf.h>
#include <bpfrt/jit.hpp>
#include <bpfrt/runtime.hpp>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace bpfrt::jit {
namespace {

bool runs_packets(uint32_t type) {
    switch (type) {
    case BPF_PROG_TYPE_SOCKET_FILTER:
    case BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE_SCHED_ACT:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_XDP: return true;
    default: return false;
    }
}

bool runnable(uint32_t type) { return runs_packets(type) || type == BPF_PROG_TYPE_SYSCALL; }

// An Ethernet + IPv4 + UDP frame with varied bytes.
std::vector<std::byte> test_frame() {
    std::vector<std::byte> frame(64);
    for (size_t i = 0; i < frame.size(); ++i) frame[i] = static_cast<std::byte>(i * 37 + 11);
    frame[12] = std::byte{0x08};
    frame[13] = std::byte{0x00};
    frame[14] = std::byte{0x45};
    frame[23] = std::byte{17};
    return frame;
}

// What one engine did with the case.
struct Outcome {
    bool loaded = false;
    std::string load_error;
    int run_error = 0;
    uint32_t retval = 0;
    std::vector<std::byte> data_out, ctx_out;
    std::string maps;  // every key and value of iterable maps, in hex

    bool operator==(const Outcome&) const = default;
};

std::string hex(std::span<const std::byte> bytes) {
    std::string out;
    for (std::byte b : bytes) out += fmt::format("{:02x}", static_cast<unsigned>(b));
    return out;
}

std::string dump_maps(Runtime& rt, const std::vector<int>& fds) {
    std::string out;
    for (int fd : fds) {
        auto info = rt.map_info(fd);
        if (!info) continue;
        std::vector<std::byte> key(info->key_size), next(info->key_size), value(info->host_value_size);
        bool first = true;
        for (int guard = 0; guard < 4096; ++guard) {
            MapGetNextKey in{fd, first ? std::nullopt : std::optional<std::span<const std::byte>>(key)};
            if (!rt.map_get_next_key(in, next)) break;
            first = false;
            key = next;
            out += fmt::format("{}:{}=", fd, hex(key));
            // Map-in-map values are inner map ids, new in every runtime: the
            // inner maps are dumped themselves instead.
            const bool holds_maps = info->map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
                                    info->map_type == BPF_MAP_TYPE_HASH_OF_MAPS;
            if (!holds_maps && rt.map_lookup_elem(MapLookupElem{fd, key, 0}, value)) out += hex(value);
            out += ";";
        }
    }
    return out;
}

// A map with one element at key 0 (patterned bytes; the inner map's handle
// for map-in-map), or -1 when the runtime refuses the map.
int create_map(Runtime& rt, const vtest::MapSpec& spec, int inner) {
    MapCreate in;
    in.map_type = spec.type;
    in.key_size = spec.key_size;
    in.value_size = spec.value_size;
    in.max_entries = spec.max_entries;
    in.map_flags = spec.flags;
    in.inner_map_fd = inner;
    auto map = rt.map_create(in);
    if (!map) return -1;
    const int fd = map->release();
    auto info = rt.map_info(fd);
    if (!info) return fd;
    std::vector<std::byte> key(info->key_size), value(info->host_value_size);
    for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<std::byte>(i * 7 + 1);
    if (inner >= 0 && value.size() == sizeof inner) std::memcpy(value.data(), &inner, sizeof inner);
    (void)rt.map_update_elem(MapUpdateElem{fd, key, value, BPF_ANY});  // types that refuse it stay empty
    return fd;
}

// The case's maps, by handle; `inner` gets the inner maps of map-in-map.
std::vector<int> create_maps(Runtime& rt, const vtest::Case& c, std::vector<int>& inner) {
    std::vector<int> fds;
    for (const vtest::MapSpec& spec : c.maps) {
        const int inner_fd = spec.inner ? create_map(rt, *spec.inner, -1) : -1;
        if (inner_fd >= 0) inner.push_back(inner_fd);
        fds.push_back(create_map(rt, spec, inner_fd));
    }
    return fds;
}

Outcome run_case(const vtest::Case& c, std::span<const bpf_insn> program, Engine engine) {
    Outcome out;
    Runtime rt;
    std::vector<int> inner_fds;
    const std::vector<int> fds = create_maps(rt, c, inner_fds);
    std::vector<bpf_insn> insns(program.begin(), program.end());
    vtest::patch_map_handles(insns, fds, 9999);
    ProgLoad load;
    load.prog_type = c.prog_type;
    load.insns = insns;
    load.license = c.license;
    load.privileged = c.privileged;
    load.engine = engine;
    auto loaded = rt.prog_load(load);
    if (!loaded.program) {
        out.load_error = loaded.program.error().message;
        return out;
    }
    out.loaded = true;
    const std::vector<std::byte> frame = test_frame();
    TestRun run;
    run.prog_fd = loaded.program->fd();
    if (runs_packets(c.prog_type))
        run.data = frame;
    else
        run.ctx = frame;
    auto result = rt.prog_test_run(run);
    if (!result) {
        out.run_error = result.error().code;
    } else {
        out.retval = result->retval;
        out.data_out = std::move(result->data_out);
        out.ctx_out = std::move(result->ctx_out);
    }
    out.maps = dump_maps(rt, fds) + dump_maps(rt, inner_fds);
    return out;
}

// Privileged cases whose result is a stack address or uninitialised stack
// bytes (the kernel allows both to root): defined by neither engine, and
// different between them since their stacks live at different addresses.
bool depends_on_the_stack_address(const std::string& id) {
    static const std::vector<std::string> ids = {
        "maps_map_value_read_of_a_stored_pointer_privileged",
        "privilege_frame_pointer_stored_into_a_map_value_privileged",
        "privilege_pointer_spilled_into_a_map_value_through_a_helper_privileged",
        "registers_exit_with_the_frame_pointer_privileged",
        "stack_uninitialised_stack_read_privileged",
    };
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// True when the program calls a helper whose result changes from run to
// run (time, random numbers): its engines cannot be compared.
bool calls_nondeterministic_helper(std::span<const bpf_insn> insns) {
    for (const bpf_insn& insn : insns) {
        if (insn.code != (BPF_JMP | BPF_CALL) || insn.src_reg != 0) continue;
        switch (insn.imm) {
        case BPF_FUNC_ktime_get_ns:
        case BPF_FUNC_get_prandom_u32:
        case BPF_FUNC_ktime_get_boot_ns: return true;
        default: break;
        }
    }
    return false;
}

class VerifierCasesOnBothEngines : public ::testing::TestWithParam<vtest::Case> {};

TEST_P(VerifierCasesOnBothEngines, SameResults) {
    const vtest::Case& c = GetParam();
    if (!jit_supported()) GTEST_SKIP() << "no JIT on this host";
    if (!c.parse_error.empty()) GTEST_SKIP() << "unparsable case (the verifier suite reports it)";
    if (!runnable(c.prog_type)) GTEST_SKIP() << c.prog_type_name << " programs are not run by PROG_TEST_RUN here";
    auto program = vtest::build_program(c);
    if (!program) GTEST_SKIP() << "does not assemble: " << program.error().message;
    if (calls_nondeterministic_helper(*program)) GTEST_SKIP() << "calls a time or random-number helper";
    const Outcome interp = run_case(c, *program, Engine::Interpreter);
    if (!interp.loaded) GTEST_SKIP() << "rejected: " << interp.load_error;
    const Outcome jitted = run_case(c, *program, Engine::Jit);
    ASSERT_TRUE(jitted.loaded) << "the JIT refused an accepted program: " << jitted.load_error;
    if (interp == jitted) return;
    if (depends_on_the_stack_address(c.id)) GTEST_SKIP() << "the result is a stack address or uninitialised stack";
    if (run_case(c, *program, Engine::Interpreter) != interp) GTEST_SKIP() << "nondeterministic";
    EXPECT_EQ(jitted.run_error, interp.run_error);
    EXPECT_EQ(jitted.retval, interp.retval);
    EXPECT_EQ(hex(jitted.data_out), hex(interp.data_out));
    EXPECT_EQ(hex(jitted.ctx_out), hex(interp.ctx_out));
    EXPECT_EQ(jitted.maps, interp.maps);
}

INSTANTIATE_TEST_SUITE_P(Cases, VerifierCasesOnBothEngines, ::testing::ValuesIn(vtest::all_cases()),
                         [](const ::testing::TestParamInfo<vtest::Case>& param_info) { return param_info.param.id; });

}  // namespace
}  // namespace bpfrt::jit
