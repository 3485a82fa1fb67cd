// One bpf() for the host kernel (the raw syscall) and for bpfrt
// (bpfrt_bpf), so a test runs the same command sequence, attr for attr, on
// both and compares results and errno values. Header-only; used by the
// attach tests and the runtime's test-run tests.
#pragma once

#include <bpfrt/bpf.h>
#include <bpfrt/runtime.hpp>

#include <gtest/gtest.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::test {

struct Backend {
    std::string name;
    // The command's result (>= 0), or -errno.
    std::function<long(int cmd, union bpf_attr& attr)> bpf;
    std::function<void(int fd)> close;
};

inline Backend kernel_backend() {
    return {"kernel",
            [](int cmd, union bpf_attr& attr) -> long {
                const long r = ::syscall(SYS_bpf, cmd, &attr, sizeof attr);
                return r < 0 ? -errno : r;
            },
            [](int fd) { ::close(fd); }};
}

inline Backend bpfrt_backend(bpfrt_runtime* rt) {
    return {"bpfrt",
            [rt](int cmd, union bpf_attr& attr) -> long {
                const int r = bpfrt_bpf(rt, cmd, &attr, sizeof attr);
                return r < 0 ? -errno : r;
            },
            [rt](int fd) { bpfrt_close(rt, fd); }};
}

// Whether this process may use bpf() (maps and packet programs); `why` when not.
inline bool kernel_bpf_permitted(std::string& why) {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    const long fd = ::syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0) {
        why = std::string("the kernel refuses bpf(): ") + std::strerror(errno);
        return false;
    }
    ::close(static_cast<int>(fd));
    return true;
}

inline union bpf_attr zeroed_attr() {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    return attr;
}

inline long backend_create_map(const Backend& b, uint32_t type, uint32_t key_size, uint32_t value_size,
                               uint32_t max_entries, uint32_t flags = 0) {
    auto attr = zeroed_attr();
    attr.map_type = type;
    attr.key_size = key_size;
    attr.value_size = value_size;
    attr.max_entries = max_entries;
    attr.map_flags = flags;
    return b.bpf(BPF_MAP_CREATE, attr);
}

// BPF_MAP_{UPDATE,LOOKUP,DELETE}_ELEM, BPF_MAP_GET_NEXT_KEY (key/value may be null).
inline long backend_elem(const Backend& b, int cmd, long map_fd, const void* key, void* value,
                         uint64_t flags = 0) {
    auto attr = zeroed_attr();
    attr.map_fd = static_cast<uint32_t>(map_fd);
    attr.key = reinterpret_cast<uintptr_t>(key);
    attr.value = reinterpret_cast<uintptr_t>(value);  // next_key shares the field
    attr.flags = flags;
    return b.bpf(cmd, attr);
}

inline long backend_prog_load(const Backend& b, uint32_t type, const std::vector<bpf_insn>& insns,
                              uint32_t expected_attach_type = 0) {
    auto attr = zeroed_attr();
    attr.prog_type = type;
    attr.insns = reinterpret_cast<uintptr_t>(insns.data());
    attr.insn_cnt = static_cast<uint32_t>(insns.size());
    attr.license = reinterpret_cast<uintptr_t>("GPL");
    attr.expected_attach_type = expected_attach_type;
    return b.bpf(BPF_PROG_LOAD, attr);
}

// "ok" for a result >= 0, else the errno's text.
inline std::string outcome(long r) {
    if (r >= 0) return "ok";
    return std::string("errno ") + std::strerror(static_cast<int>(-r));
}

// Closes what a script opened on its backend.
struct Opened {
    const Backend& b;
    std::vector<long> fds;
    long keep(long fd) {
        if (fd >= 0) fds.push_back(fd);
        return fd;
    }
    ~Opened() {
        for (long fd : fds) b.close(static_cast<int>(fd));
    }
};

// Runs `script` on the kernel and on a fresh bpfrt Runtime and expects the
// same outcomes step by step; skips where the kernel refuses bpf().
// BPFRT_TEST_VERBOSE=1 prints what was compared.
using Script = std::function<std::vector<std::string>(const Backend&)>;

inline void compare_with_kernel(const Script& script) {
    std::string why;
    if (!kernel_bpf_permitted(why)) GTEST_SKIP() << why;
    Runtime rt;
    const auto kernel = script(kernel_backend());
    const auto ours = script(bpfrt_backend(rt.c_runtime()));
    ASSERT_EQ(kernel.size(), ours.size());
    const bool verbose = std::getenv("BPFRT_TEST_VERBOSE") != nullptr;
    for (size_t i = 0; i < kernel.size(); ++i) {
        EXPECT_EQ(ours[i], kernel[i]) << "step " << i;
        if (verbose) std::printf("  step %zu: %s\n", i, kernel[i].c_str());
    }
}

}  // namespace bpfrt::test
