// Every example loaded into the kernel with Debian's libbpf (where the host
// permits bpf()), and accepted both there and by bpfrt.
#include <bpfrt/object.hpp>

#include <bpfrt/runtime.hpp>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>
#include <string>

namespace {

const char* const kExamples[] = {"sockex1", "globals", "subprograms", "bounded_loop", "xdp_parser"};

std::string g_libbpf_log;

int capture_libbpf(enum libbpf_print_level, const char* fmt, va_list args) {
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, fmt, args);
    g_libbpf_log += buf;
    return 0;
}

}  // namespace

TEST(Kernel, EveryExampleLoadsWithLibbpfAndBpfrt) {
    libbpf_set_print(capture_libbpf);
    for (const char* name : kExamples) {
        SCOPED_TRACE(name);
        const std::string path = std::string(BPFRT_EXAMPLE_OBJECTS) + "/" + name + ".o";
        g_libbpf_log.clear();
        bpf_object* kobj = bpf_object__open_file(path.c_str(), nullptr);
        ASSERT_NE(kobj, nullptr) << "libbpf cannot open " << path << ": " << g_libbpf_log;
        const int err = bpf_object__load(kobj);
        bpf_object__close(kobj);
        if (err == -EPERM || (err == -EACCES && g_libbpf_log.find("Operation not permitted") != std::string::npos) ||
            err == -ENOSYS) {
            GTEST_SKIP() << "the kernel refuses bpf() here (" << err << "): " << g_libbpf_log.substr(0, 300);
        }
        EXPECT_EQ(err, 0) << "the kernel rejected " << name << ":\n" << g_libbpf_log;

        auto obj = bpfrt::ObjectFile::open(path);
        ASSERT_TRUE(obj) << obj.error().message;
        for (const auto& prog : obj->programs()) {
            if (!prog.autoload) continue;
            auto verdict = obj->verify(prog);
            ASSERT_TRUE(verdict) << verdict.error().message;
            EXPECT_TRUE(verdict->accepted) << prog.name << ": " << verdict->message << "\n" << verdict->log;
        }
    }
}

namespace {

struct SlotRun {
    uint32_t through_slots_retval = 0;
    uint64_t inner0 = 0, inner1 = 0;  // slot 1 of each inner map
    uint64_t locked_a = 0, locked_b = 0, locked_lock = 0;
};

// Runs slot_maps.o's programs in the kernel through libbpf; nullopt (with
// the reason) where bpf() is refused.
std::optional<SlotRun> run_in_kernel(const std::string& path, std::string& why) {
    g_libbpf_log.clear();
    bpf_object* obj = bpf_object__open_file(path.c_str(), nullptr);
    if (obj == nullptr) {
        why = "libbpf cannot open " + path + ": " + g_libbpf_log;
        return std::nullopt;
    }
    const int err = bpf_object__load(obj);
    if (err != 0) {
        why = "libbpf load failed (" + std::to_string(err) + "): " + g_libbpf_log.substr(0, 600);
        bpf_object__close(obj);
        return std::nullopt;
    }
    SlotRun out;
    char packet[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof packet, .repeat = 2);
    bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(obj, "through_slots")), &opts);
    out.through_slots_retval = opts.retval;
    const uint32_t one = 1, zero = 0;
    bpf_map__lookup_elem(bpf_object__find_map_by_name(obj, "inner0"), &one, 4, &out.inner0, 8, 0);
    bpf_map__lookup_elem(bpf_object__find_map_by_name(obj, "inner1"), &one, 4, &out.inner1, 8, 0);
    LIBBPF_OPTS(bpf_test_run_opts, lopts, .data_in = packet, .data_size_in = sizeof packet, .repeat = 5);
    bpf_prog_test_run_opts(bpf_program__fd(bpf_object__find_program_by_name(obj, "locked_add")), &lopts);
    uint64_t value[3] = {};
    bpf_map__lookup_elem(bpf_object__find_map_by_name(obj, "locked_counts"), &zero, 4, value, sizeof value, 0);
    out.locked_a = value[0];
    out.locked_lock = value[1];
    out.locked_b = value[2];
    bpf_object__close(obj);
    return out;
}

SlotRun run_in_bpfrt(const std::string& path) {
    SlotRun out;
    bpfrt::Runtime rt;
    auto obj = bpfrt::ObjectFile::open(path);
    EXPECT_TRUE(obj) << obj.error().message;
    if (!obj) return out;
    auto ok = obj->load(rt);
    EXPECT_TRUE(ok) << ok.error().message;
    if (!ok) return out;
    std::vector<std::byte> packet(64);
    auto run = [&](const char* prog, uint32_t repeat) {
        auto r = rt.prog_test_run({.prog_fd = obj->find_program(prog)->fd, .data = packet, .repeat = repeat});
        EXPECT_TRUE(r) << r.error().message;
        return r ? r->retval : 0;
    };
    auto lookup = [&](const char* map, uint32_t key, void* value, size_t size) {
        const int fd = obj->find_map(map)->fd;
        std::vector<std::byte> bytes(rt.map_info(fd)->host_value_size);
        EXPECT_TRUE(rt.map_lookup_elem({fd, std::as_bytes(std::span(&key, 1))}, bytes));
        std::memcpy(value, bytes.data(), std::min(size, bytes.size()));
    };
    out.through_slots_retval = run("through_slots", 2);
    lookup("inner0", 1, &out.inner0, 8);
    lookup("inner1", 1, &out.inner1, 8);
    run("locked_add", 5);
    uint64_t value[3] = {};
    lookup("locked_counts", 0, value, sizeof value);
    out.locked_a = value[0];
    out.locked_lock = value[1];
    out.locked_b = value[2];
    return out;
}

}  // namespace

// Map-in-map and prog array slots from `.values`, and a spin-locked value:
// libbpf + the kernel and bpfrt's loader + runtime give the same results.
TEST(Kernel, SlotMapsAndSpinLocksRunAsInTheKernel) {
    libbpf_set_print(capture_libbpf);
    const std::string path = std::string(BPFRT_TEST_OBJECTS) + "/slot_maps.o";
    std::string why;
    const auto kernel = run_in_kernel(path, why);
    if (!kernel) {
        if (why.find("Operation not permitted") != std::string::npos || why.find("(-1)") != std::string::npos ||
            why.find("(-38)") != std::string::npos)
            GTEST_SKIP() << "the kernel refuses bpf() here: " << why;
        FAIL() << why;
    }
    const SlotRun ours = run_in_bpfrt(path);
    EXPECT_EQ(ours.through_slots_retval, kernel->through_slots_retval);
    EXPECT_EQ(ours.inner0, kernel->inner0);
    EXPECT_EQ(ours.inner1, kernel->inner1);
    EXPECT_EQ(ours.locked_a, kernel->locked_a);
    EXPECT_EQ(ours.locked_b, kernel->locked_b);
    EXPECT_EQ(ours.locked_lock, kernel->locked_lock);
    EXPECT_EQ(kernel->through_slots_retval, uint32_t{XDP_TX});
    EXPECT_EQ(kernel->inner1, 220u);
}
