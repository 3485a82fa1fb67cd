// Differential tests: the same bpf() command sequences against the host
// kernel (raw syscall) and bpfrt_bpf(), comparing results and errno values.
// Skipped, saying why, where the kernel refuses bpf().
#include "test_util.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <tuple>

namespace bpfrt::test {
namespace {

// One side of the comparison.
struct Backend {
    std::string name;
    std::function<int(int cmd, union bpf_attr* attr, unsigned size)> bpf;
    std::function<void(int fd)> close;
};

Backend kernel_backend() {
    return {"kernel",
            [](int cmd, union bpf_attr* attr, unsigned size) {
                return static_cast<int>(syscall(SYS_bpf, cmd, attr, size));
            },
            [](int fd) { ::close(fd); }};
}

Backend bpfrt_backend(bpfrt_runtime* rt) {
    return {"bpfrt", [rt](int cmd, union bpf_attr* attr, unsigned size) { return bpfrt_bpf(rt, cmd, attr, size); },
            [rt](int fd) { bpfrt_close(rt, fd); }};
}

bool kernel_available(std::string& why) {
    auto attr = zero_attr();
    attr.map_type = BPF_MAP_TYPE_ARRAY;
    attr.key_size = 4;
    attr.value_size = 4;
    attr.max_entries = 1;
    const long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
    if (fd < 0) {
        why = std::string("the kernel refuses bpf(): ") + std::strerror(errno);
        return false;
    }
    ::close(static_cast<int>(fd));
    return true;
}

// An outcome comparable across backends: handles become "fd", failures "errno N".
std::string outcome(int result) {
    if (result >= 0) return result == 0 ? "0" : "fd";
    return "errno " + std::to_string(errno) + " (" + std::strerror(errno) + ")";
}

// A sequence of commands run on one backend; returns the outcomes in order.
using Script = std::function<std::vector<std::string>(const Backend&)>;

void compare(const Script& script) {
    std::string why;
    if (!kernel_available(why)) GTEST_SKIP() << why;
    auto rt = new_runtime();
    const auto kernel = script(kernel_backend());
    const auto ours = script(bpfrt_backend(rt.get()));
    ASSERT_EQ(kernel.size(), ours.size());
    for (size_t i = 0; i < kernel.size(); ++i) EXPECT_EQ(ours[i], kernel[i]) << "step " << i;
}

int create(const Backend& b, uint32_t type, uint32_t key_size, uint32_t value_size, uint32_t max_entries) {
    auto attr = zero_attr();
    attr.map_type = type;
    attr.key_size = key_size;
    attr.value_size = value_size;
    attr.max_entries = max_entries;
    return b.bpf(BPF_MAP_CREATE, &attr, sizeof attr);
}

int elem(const Backend& b, int cmd, int fd, const void* key, const void* value, uint64_t flags = 0) {
    auto attr = zero_attr();
    attr.map_fd = static_cast<uint32_t>(fd);
    attr.key = reinterpret_cast<uintptr_t>(key);
    attr.value = reinterpret_cast<uintptr_t>(value);
    attr.flags = flags;
    return b.bpf(cmd, &attr, sizeof attr);
}

TEST(KernelDiff, SizeRulesAndUnknownCommands) {
    compare([](const Backend& b) {
        std::vector<std::string> out;
        union {
            union bpf_attr attr;
            unsigned char bytes[1024];  // larger than any kernel's union bpf_attr
        } big;
        std::memset(&big, 0, sizeof big);
        big.attr.map_type = BPF_MAP_TYPE_HASH;
        big.attr.key_size = 4;
        big.attr.value_size = 8;
        big.attr.max_entries = 4;
        int fd = b.bpf(BPF_MAP_CREATE, &big.attr, sizeof big);
        out.push_back(outcome(fd));
        if (fd >= 0) b.close(fd);
        out.push_back(outcome(b.bpf(BPF_MAP_CREATE, &big.attr, 4097)));  // over a page
        big.bytes[1000] = 1;
        out.push_back(outcome(b.bpf(BPF_MAP_CREATE, &big.attr, sizeof big)));
        out.push_back(outcome(b.bpf(BPF_MAP_CREATE, &big.attr, 12)));  // max_entries cut off
        fd = b.bpf(BPF_MAP_CREATE, &big.attr, 16);  // zero-extended from max_entries on: fine
        out.push_back(outcome(fd));
        if (fd >= 0) b.close(fd);
        auto attr = zero_attr();
        out.push_back(outcome(b.bpf(1000, &attr, sizeof attr)));
        return out;
    });
}

TEST(KernelDiff, HashMapErrors) {
    compare([](const Backend& b) {
        std::vector<std::string> out;
        const int fd = create(b, BPF_MAP_TYPE_HASH, 4, 8, 2);
        out.push_back(outcome(fd));
        uint32_t key = 1, next = 0;
        uint64_t value = 5;
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_ELEM, fd, &key, &value)));
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, &value, BPF_EXIST)));
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, &value, BPF_NOEXIST)));
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, &value, BPF_NOEXIST)));
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, &value, 7)));
        key = 2;
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, &value, BPF_ANY)));
        key = 3;
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, &value, BPF_ANY)));  // full
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_ELEM, fd, &key, &value, BPF_F_LOCK)));
        out.push_back(outcome(elem(b, BPF_MAP_GET_NEXT_KEY, fd, nullptr, &next)));
        out.push_back(outcome(elem(b, BPF_MAP_GET_NEXT_KEY, fd, &next, &next)));
        out.push_back(outcome(elem(b, BPF_MAP_GET_NEXT_KEY, fd, &next, &next)));  // past the last
        out.push_back(outcome(elem(b, BPF_MAP_DELETE_ELEM, fd, &key, nullptr)));  // missing
        key = 1;
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_AND_DELETE_ELEM, fd, &key, &value)));
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_ELEM, fd, &key, &value)));
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_ELEM, fd, nullptr, &value)));
        b.close(fd);
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_ELEM, fd, &key, &value)));  // closed
        return out;
    });
}

TEST(KernelDiff, ArrayAndQueueErrors) {
    compare([](const Backend& b) {
        std::vector<std::string> out;
        const int array = create(b, BPF_MAP_TYPE_ARRAY, 4, 8, 2);
        out.push_back(outcome(array));
        uint32_t key = 1, next = 0;
        uint64_t value = 5;
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_ELEM, array, &key, &value)));
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, array, &key, &value, BPF_NOEXIST)));
        out.push_back(outcome(elem(b, BPF_MAP_DELETE_ELEM, array, &key, nullptr)));
        key = 2;
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_ELEM, array, &key, &value)));
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, array, &key, &value, BPF_ANY)));
        key = 1;
        out.push_back(outcome(elem(b, BPF_MAP_GET_NEXT_KEY, array, &key, &next)));
        out.push_back(outcome(create(b, BPF_MAP_TYPE_ARRAY, 8, 8, 2)));
        const int queue = create(b, BPF_MAP_TYPE_QUEUE, 0, 8, 1);
        out.push_back(outcome(queue));
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, queue, nullptr, &value, BPF_ANY)));
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, queue, nullptr, &value, BPF_ANY)));  // full
        out.push_back(outcome(elem(b, BPF_MAP_UPDATE_ELEM, queue, &key, &value, BPF_ANY)));     // key given
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_AND_DELETE_ELEM, queue, nullptr, &value)));
        out.push_back(outcome(elem(b, BPF_MAP_LOOKUP_AND_DELETE_ELEM, queue, nullptr, &value)));  // empty
        b.close(array);
        b.close(queue);
        return out;
    });
}

int load(const Backend& b, const std::vector<bpf_insn>& insns, char* log, uint32_t log_size, uint32_t log_level,
         uint32_t count = 0) {
    auto attr = zero_attr();
    attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    attr.insns = reinterpret_cast<uintptr_t>(insns.data());
    attr.insn_cnt = count != 0 ? count : static_cast<uint32_t>(insns.size());
    attr.license = reinterpret_cast<uintptr_t>("GPL");
    attr.log_buf = reinterpret_cast<uintptr_t>(log);
    attr.log_size = log_size;
    attr.log_level = log_level;
    return b.bpf(BPF_PROG_LOAD, &attr, sizeof attr);
}

TEST(KernelDiff, ProgLoadErrors) {
    compare([](const Backend& b) {
        std::vector<std::string> out;
        char log[4096];
        const std::vector<bpf_insn> ok = {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};
        const int fd = load(b, ok, nullptr, 0, 0);
        out.push_back(outcome(fd));
        for (auto [buf, size, level] : {std::tuple<char*, uint32_t, uint32_t>{log, 127, 1}, {nullptr, sizeof log, 1},
                                        {log, sizeof log, 0}, {log, 0, 1}, {log, sizeof log, 8},
                                        {log, sizeof log, 16}, {nullptr, 0, 1}, {log, 1u << 30, 1}}) {
            const int result = load(b, ok, buf, size, level);
            out.push_back(outcome(result));
            if (result >= 0) b.close(result);
        }
        out.push_back(outcome(load(b, ok, nullptr, 0, 0, 1000001)));  // too many
        out.push_back(outcome(load(b, {BPF_RAW_INSN(0xff, 0, 0, 0, 0), BPF_EXIT_INSN()}, nullptr, 0, 0)));
        out.push_back(outcome(load(b, {BPF_LD_MAP_FD(BPF_REG_1, 999), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()},
                                   nullptr, 0, 0)));
        out.push_back(outcome(load(b, {BPF_LD_MAP_FD(BPF_REG_1, fd), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()},
                                   nullptr, 0, 0)));  // a program where a map is needed
        // Test runs: too short, flags, data_out too small.
        std::vector<unsigned char> frame = ip_frame(6);
        unsigned char small[8];
        auto attr = zero_attr();
        attr.test.prog_fd = static_cast<uint32_t>(fd);
        attr.test.data_in = reinterpret_cast<uintptr_t>(frame.data());
        attr.test.data_size_in = 64;
        attr.test.repeat = 3;
        out.push_back(outcome(b.bpf(BPF_PROG_TEST_RUN, &attr, sizeof attr)));
        out.push_back(std::to_string(attr.test.retval));
        attr.test.data_out = reinterpret_cast<uintptr_t>(small);
        attr.test.data_size_out = sizeof small;
        out.push_back(outcome(b.bpf(BPF_PROG_TEST_RUN, &attr, sizeof attr)));
        out.push_back(std::to_string(attr.test.data_size_out));
        attr.test.data_out = 0;
        attr.test.data_size_out = 0;
        attr.test.flags = BPF_F_TEST_RUN_ON_CPU;
        out.push_back(outcome(b.bpf(BPF_PROG_TEST_RUN, &attr, sizeof attr)));
        attr.test.flags = 0;
        attr.test.data_size_in = 10;
        out.push_back(outcome(b.bpf(BPF_PROG_TEST_RUN, &attr, sizeof attr)));
        b.close(fd);
        return out;
    });
}

TEST(KernelDiff, LogTooSmallIsEnospc) {
    compare([](const Backend& b) {
        std::vector<std::string> out;
        std::vector<bpf_insn> insns(100, BPF_MOV64_IMM(BPF_REG_0, 1));
        insns.push_back(BPF_EXIT_INSN());
        // (Not level 1: the kernel counts the per-instruction log it drops
        // on success toward log_size, which bpfrt's log does not have.)
        for (uint32_t level : {2u, 2u | BPFRT_LOG_FIXED}) {
            char log[128];
            const int fd = load(b, insns, log, sizeof log, level);
            out.push_back(outcome(fd));
            out.push_back(std::to_string(std::strlen(log)));
            if (fd >= 0) b.close(fd);
        }
        return out;
    });
}

}  // namespace
}  // namespace bpfrt::test
