// Shared helpers of the runtime tests.
#pragma once

#include <bpfrt/bpf.h>
#include <bpfrt/runtime.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace bpfrt::test {

struct RuntimeDeleter {
    void operator()(bpfrt_runtime* rt) const { bpfrt_runtime_free(rt); }
};
using CRuntime = std::unique_ptr<bpfrt_runtime, RuntimeDeleter>;

inline CRuntime new_runtime() { return CRuntime(bpfrt_runtime_new()); }

inline union bpf_attr zero_attr() {
    union bpf_attr attr;
    std::memset(&attr, 0, sizeof attr);
    return attr;
}

// errno after a call expected to fail with -1 (or the result if it did not).
template <class F>
int errno_of(F&& call) {
    errno = 0;
    const int result = call();
    if (result != -1) return 1000 + result;  // makes the failure visible in EXPECT_EQ
    return errno;
}

template <class T>
std::span<const std::byte> bytes_of(const T& value) {
    return std::as_bytes(std::span<const T, 1>(&value, 1));
}

template <class T>
std::span<std::byte> writable_bytes_of(T& value) {
    return std::as_writable_bytes(std::span<T, 1>(&value, 1));
}

// A 64-byte Ethernet + IPv4 frame with IP protocol `proto`.
inline std::vector<unsigned char> ip_frame(int proto, size_t len = 64) {
    std::vector<unsigned char> frame(len, 0);
    frame[12] = 0x08;
    frame[14] = 0x45;
    frame[14 + 9] = static_cast<unsigned char>(proto);
    return frame;
}

// Loads `insns` as a socket filter with the C API, failing the test with
// the log on error.
inline int load_filter(bpfrt_runtime* rt, const std::vector<bpf_insn>& insns,
                       bpf_prog_type type = BPF_PROG_TYPE_SOCKET_FILTER) {
    char log[4096] = {};
    const int fd = bpfrt_prog_load(rt, type, insns.data(), static_cast<int>(insns.size()), "GPL", log,
                                   sizeof log, 1);
    EXPECT_GE(fd, 3) << bpfrt_last_error() << "\n" << log;
    return fd;
}

// Runs a program once over `data` with the C API; returns retval.
inline unsigned run_once(bpfrt_runtime* rt, int prog_fd, std::span<const unsigned char> data) {
    unsigned retval = 0xdeadbeef;
    EXPECT_EQ(bpfrt_prog_test_run(rt, prog_fd, 1, data.data(), static_cast<unsigned>(data.size()), nullptr,
                                  nullptr, &retval, nullptr),
              0)
        << bpfrt_last_error();
    return retval;
}

}  // namespace bpfrt::test
