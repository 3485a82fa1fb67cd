// The host kernel as an oracle for differential tests.
//
// Thin wrappers around the raw bpf(2) syscall (no libbpf): create a map, load
// a program (with the kernel verifier's log), run it with BPF_PROG_TEST_RUN.
// Every call reports the kernel's errno instead of failing the test, so a
// test can compare the kernel's verdict with ours. Where the kernel refuses
// bpf() altogether (no permission, seccomp, not Linux), kernel_bpf_available()
// says so and why, and tests skip their kernel half.
#pragma once

#include <bpfrt/insn.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::kernel {

// An owned file descriptor; closed on destruction.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    int release() noexcept;

private:
    int fd_ = -1;
};

// True when this process may create maps and load programs. Otherwise `why`
// (when given) explains the refusal in one line.
bool kernel_bpf_available(std::string* why = nullptr);

// True when the kernel lets processes without CAP_BPF/CAP_SYS_ADMIN load
// programs (kernel.unprivileged_bpf_disabled = 0); `why` explains a refusal.
bool kernel_unprivileged_bpf_enabled(std::string* why = nullptr);

struct MapResult {
    Fd fd;          // valid on success
    int error = 0;  // errno on failure
};

// inner_map_fd: the template of ARRAY_OF_MAPS / HASH_OF_MAPS (0: none).
MapResult create_map(uint32_t map_type, uint32_t key_size, uint32_t value_size,
                     uint32_t max_entries, uint32_t map_flags = 0, int inner_map_fd = 0);

struct LoadOptions {
    uint32_t log_level = 1;           // 0 = no log
    uint32_t expected_attach_type = 0;
    uint32_t prog_flags = 0;
    // Load as an unprivileged user would: CAP_SYS_ADMIN, CAP_BPF and
    // CAP_PERFMON are dropped from the effective set for the duration of the
    // call (and restored after). Requires kernel_unprivileged_bpf_enabled().
    bool unprivileged = false;
};

struct LoadResult {
    Fd fd;           // valid when the kernel accepted the program
    int error = 0;   // errno when it rejected it (EACCES, EINVAL, E2BIG, ...)
    std::string log; // the verifier log (grown until it fits)
    bool accepted() const noexcept { return fd.valid(); }
};

LoadResult prog_load(uint32_t prog_type, std::span<const bpf_insn> insns,
                     const std::string& license, const LoadOptions& options = {});

struct TestRunResult {
    int error = 0;        // errno of BPF_PROG_TEST_RUN, 0 on success
    uint32_t retval = 0;  // the program's return value
    uint32_t duration_ns = 0;
    std::vector<uint8_t> data_out;
};

TestRunResult test_run(int prog_fd, std::span<const uint8_t> data_in,
                       std::span<const uint8_t> ctx_in = {}, uint32_t repeat = 1);

// Map element access, for tests that check what a program wrote.
int map_update(int map_fd, const void* key, const void* value, uint64_t flags = 0);
int map_lookup(int map_fd, const void* key, void* value);

// "EACCES", "EINVAL", ... for messages; the number when unknown.
std::string errno_name(int error);
int errno_from_name(const std::string& name);  // 0 when unknown

}  // namespace bpfrt::kernel
