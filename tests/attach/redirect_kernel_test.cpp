// Kernel-differential: device and CPU maps (create rules, element operations) and
// the redirect helpers' return values (through BPF_PROG_TEST_RUN), the same
// bpf() attrs on the host kernel and on bpfrt. Skipped where the kernel
// refuses bpf().
//
// Device map entries use ifindex 1 (the loopback device, present in every
// network namespace): the kernel refuses entries naming no device, bpfrt
// accepts any ifindex (its devices are what the host registers when it runs
// packets), so other ifindexes are not compared.
#include "bpf_backend.hpp"
#include "test_support.hpp"

#include <linux/pkt_cls.h>

#include <algorithm>
#include <string>

namespace bpfrt::test {
namespace {

void compare(const Script& script) { compare_with_kernel(script); }

TEST(RedirectKernelDiff, DeviceMapCreateRules) {
    compare([](const Backend& b) {
        Opened opened{b, {}};
        std::vector<std::string> out;
        for (uint32_t type : {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH}) {
            struct Spec {
                uint32_t key, value, max, flags;
            };
            for (const Spec s : {Spec{4, 4, 8, 0}, Spec{4, 8, 8, 0}, Spec{4, 12, 8, 0}, Spec{4, 2, 8, 0},
                                 Spec{8, 4, 8, 0}, Spec{4, 4, 0, 0}, Spec{4, 4, 8, BPF_F_RDONLY},
                                 Spec{4, 4, 8, BPF_F_WRONLY}, Spec{4, 4, 8, BPF_F_RDONLY_PROG},
                                 Spec{4, 4, 8, BPF_F_NO_PREALLOC}, Spec{4, 4, 8, BPF_F_MMAPABLE}})
                out.push_back(outcome(opened.keep(backend_create_map(b, type, s.key, s.value, s.max, s.flags))));
        }
        out.push_back(outcome(opened.keep(backend_create_map(b, BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, (1u << 31) + 1))));
        return out;
    });
}

TEST(RedirectKernelDiff, DevmapElements) {
    compare([](const Backend& b) {
        Opened opened{b, {}};
        std::vector<std::string> out;
        const long fd = opened.keep(backend_create_map(b, BPF_MAP_TYPE_DEVMAP, 4, 8, 4));
        out.push_back(outcome(fd));
        auto update = [&](uint32_t key, uint32_t ifindex, int32_t prog_fd, uint64_t flags) {
            uint32_t value[2] = {ifindex, static_cast<uint32_t>(prog_fd)};
            return outcome(backend_elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, value, flags));
        };
        auto lookup = [&](uint32_t key) {
            uint32_t value[2] = {0xdead, 0xbeef};
            const long r = backend_elem(b, BPF_MAP_LOOKUP_ELEM, fd, &key, value);
            return r < 0 ? outcome(r) : std::to_string(value[0]) + "/" + std::to_string(value[1]);
        };
        auto erase = [&](uint32_t key) { return outcome(backend_elem(b, BPF_MAP_DELETE_ELEM, fd, &key, nullptr)); };
        out.push_back(lookup(0));
        out.push_back(update(1, 1, 0, BPF_ANY));
        out.push_back(lookup(1));
        out.push_back(update(1, 1, -1, BPF_ANY));  // fd -1: no program
        out.push_back(lookup(1));
        out.push_back(update(1, 1, 0, BPF_NOEXIST));
        out.push_back(update(2, 1, 0, BPF_NOEXIST));
        out.push_back(update(2, 1, 0, BPF_EXIST));
        out.push_back(update(4, 1, 0, BPF_ANY));
        out.push_back(update(0, 1, 0, 7));
        out.push_back(update(3, 0, 0, BPF_ANY));  // ifindex 0: empty
        out.push_back(lookup(3));
        out.push_back(update(3, 0, 5, BPF_ANY));  // a program with no device
        uint32_t key = 0, next = 0;
        for (bool first = true; out.size() < 40; first = false) {
            const long r = backend_elem(b, BPF_MAP_GET_NEXT_KEY, fd, first ? nullptr : &key, &next);
            out.push_back(r < 0 ? outcome(r) : "next " + std::to_string(next));
            if (r < 0) break;
            key = next;
        }
        key = 100;
        out.push_back(outcome(backend_elem(b, BPF_MAP_GET_NEXT_KEY, fd, &key, &next)) + " " + std::to_string(next));
        out.push_back(erase(1));
        out.push_back(erase(1));
        out.push_back(erase(4));
        out.push_back(lookup(1));
        out.push_back(lookup(2));
        return out;
    });
}

TEST(RedirectKernelDiff, DevmapHashElements) {
    compare([](const Backend& b) {
        Opened opened{b, {}};
        std::vector<std::string> out;
        const long fd = opened.keep(backend_create_map(b, BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 2));
        out.push_back(outcome(fd));
        auto update = [&](uint32_t key, uint32_t ifindex, uint64_t flags) {
            return outcome(backend_elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, &ifindex, flags));
        };
        auto lookup = [&](uint32_t key) {
            uint32_t value = 0xdead;
            const long r = backend_elem(b, BPF_MAP_LOOKUP_ELEM, fd, &key, &value);
            return r < 0 ? outcome(r) : std::to_string(value);
        };
        out.push_back(update(500, 1, BPF_ANY));
        out.push_back(update(100, 1, BPF_ANY));
        out.push_back(update(7, 1, BPF_ANY));  // full
        out.push_back(update(100, 1, BPF_NOEXIST));
        out.push_back(update(100, 1, BPF_EXIST));
        out.push_back(update(100, 0, BPF_ANY));
        out.push_back(update(100, 1, 9));
        out.push_back(lookup(100));
        out.push_back(lookup(7));
        // Every key once, in whatever order the table keeps them.
        std::vector<uint32_t> keys;
        uint32_t key = 0, next = 0;
        for (bool first = true; keys.size() < 10; first = false) {
            if (backend_elem(b, BPF_MAP_GET_NEXT_KEY, fd, first ? nullptr : &key, &next) < 0) break;
            keys.push_back(key = next);
        }
        std::sort(keys.begin(), keys.end());
        for (uint32_t k : keys) out.push_back("key " + std::to_string(k));
        key = 100;
        out.push_back(outcome(backend_elem(b, BPF_MAP_DELETE_ELEM, fd, &key, nullptr)));
        out.push_back(outcome(backend_elem(b, BPF_MAP_DELETE_ELEM, fd, &key, nullptr)));
        out.push_back(update(7, 1, BPF_EXIST));
        out.push_back(lookup(7));
        return out;
    });
}

// The return value of one test run of `insns`, or the errno of loading or running it.
std::string test_run_retval(const Backend& b, uint32_t type, const std::vector<bpf_insn>& insns) {
    const long prog = backend_prog_load(b, type, insns);
    if (prog < 0) return "load " + outcome(prog);
    const auto frame = ip_frame(6);
    auto attr = zeroed_attr();
    attr.test.prog_fd = static_cast<uint32_t>(prog);
    attr.test.data_in = reinterpret_cast<uintptr_t>(frame.data());
    attr.test.data_size_in = static_cast<uint32_t>(frame.size());
    const long r = b.bpf(BPF_PROG_TEST_RUN, attr);
    b.close(static_cast<int>(prog));
    if (r < 0) return "run " + outcome(r);
    return "retval " + std::to_string(attr.test.retval);
}

TEST(RedirectKernelDiff, RedirectHelperReturnValues) {
    compare([](const Backend& b) {
        std::vector<std::string> out;
        for (uint32_t type : {BPF_PROG_TYPE_XDP, BPF_PROG_TYPE_SCHED_CLS})
            for (int32_t ifindex : {1, 4242})
                for (int32_t flags : {0, static_cast<int32_t>(BPF_F_INGRESS), 2, 4, 8, 0x10, 0x100}) {
                    const std::vector<bpf_insn> insns = {BPF_MOV64_IMM(BPF_REG_1, ifindex),
                                                         BPF_MOV64_IMM(BPF_REG_2, flags),
                                                         BPF_CALL_FUNC(BPF_FUNC_redirect), BPF_EXIT_INSN()};
                    out.push_back(test_run_retval(b, type, insns));
                }
        return out;
    });
}

TEST(RedirectKernelDiff, RedirectMapReturnValues) {
    compare([](const Backend& b) {
        Opened opened{b, {}};
        std::vector<std::string> out;
        for (uint32_t type : {BPF_MAP_TYPE_DEVMAP, BPF_MAP_TYPE_DEVMAP_HASH}) {
            const long map = opened.keep(backend_create_map(b, type, 4, 4, 4));
            out.push_back(outcome(map));
            uint32_t key = 0, lo = 1;
            out.push_back(outcome(backend_elem(b, BPF_MAP_UPDATE_ELEM, map, &key, &lo, BPF_ANY)));
            for (int32_t k : {0, 1, 3, 4, 1000})
                for (int32_t flags : {0, 1, 2, 3, 4, 8, 8 | 0x10, 0x10, 0x10 | 2, 0x20, 0x40}) {
                    const std::vector<bpf_insn> insns = {
                        BPF_LD_MAP_FD(BPF_REG_1, static_cast<int32_t>(map)), BPF_MOV64_IMM(BPF_REG_2, k),
                        BPF_MOV64_IMM(BPF_REG_3, flags), BPF_CALL_FUNC(BPF_FUNC_redirect_map), BPF_EXIT_INSN()};
                    out.push_back(std::to_string(k) + "/" + std::to_string(flags) + " " +
                                  test_run_retval(b, BPF_PROG_TYPE_XDP, insns));
                }
        }
        return out;
    });
}

// CPU maps need CAP_SYS_ADMIN in the kernel: skip (with the reason) without it.
bool kernel_refuses_cpumap(std::string& why) {
    const Backend kernel = kernel_backend();
    const long fd = backend_create_map(kernel, BPF_MAP_TYPE_CPUMAP, 4, 4, 1);
    if (fd >= 0) {
        kernel.close(static_cast<int>(fd));
        return false;
    }
    why = "the kernel refuses BPF_MAP_TYPE_CPUMAP: " + outcome(fd) + " (needs CAP_SYS_ADMIN)";
    return true;
}

TEST(RedirectKernelDiff, CpuMapElementsThroughBpf) {
    std::string why;
    if (kernel_bpf_permitted(why) && kernel_refuses_cpumap(why)) GTEST_SKIP() << why;
    compare([](const Backend& b) {
        Opened opened{b, {}};
        std::vector<std::string> out;
        const long fd = opened.keep(backend_create_map(b, BPF_MAP_TYPE_CPUMAP, 4, 8, 2));
        out.push_back(outcome(fd));
        auto update = [&](uint32_t key, uint32_t qsize, uint64_t flags) {
            uint32_t value[2] = {qsize, 0};
            return outcome(backend_elem(b, BPF_MAP_UPDATE_ELEM, fd, &key, value, flags));
        };
        auto lookup = [&](uint32_t key) {
            uint32_t value[2] = {0xdead, 0xbeef};
            const long r = backend_elem(b, BPF_MAP_LOOKUP_ELEM, fd, &key, value);
            return r < 0 ? outcome(r) : std::to_string(value[0]) + "/" + std::to_string(value[1]);
        };
        out.push_back(lookup(0));
        out.push_back(update(0, 128, BPF_ANY));
        out.push_back(lookup(0));
        out.push_back(update(0, 128, BPF_NOEXIST));
        out.push_back(update(0, 20000, BPF_ANY));
        out.push_back(update(2, 128, BPF_ANY));
        out.push_back(update(0, 128, 4));  // BPF_F_LOCK
        out.push_back(update(0, 0, BPF_EXIST));
        out.push_back(lookup(0));
        uint32_t key = 0, next = 0;
        out.push_back(outcome(backend_elem(b, BPF_MAP_GET_NEXT_KEY, fd, nullptr, &next)) + " " + std::to_string(next));
        out.push_back(outcome(backend_elem(b, BPF_MAP_GET_NEXT_KEY, fd, &key, &next)) + " " + std::to_string(next));
        key = 1;
        out.push_back(outcome(backend_elem(b, BPF_MAP_GET_NEXT_KEY, fd, &key, &next)));
        out.push_back(outcome(backend_elem(b, BPF_MAP_DELETE_ELEM, fd, &key, nullptr)));
        key = 2;
        out.push_back(outcome(backend_elem(b, BPF_MAP_DELETE_ELEM, fd, &key, nullptr)));
        return out;
    });
}

TEST(RedirectKernelDiff, CpuMapRedirectReturnValues) {
    std::string why;
    if (kernel_bpf_permitted(why) && kernel_refuses_cpumap(why)) GTEST_SKIP() << why;
    compare([](const Backend& b) {
        Opened opened{b, {}};
        std::vector<std::string> out;
        const long map = opened.keep(backend_create_map(b, BPF_MAP_TYPE_CPUMAP, 4, 4, 4));
        out.push_back(outcome(map));
        uint32_t key = 0, qsize = 64;
        out.push_back(outcome(backend_elem(b, BPF_MAP_UPDATE_ELEM, map, &key, &qsize, BPF_ANY)));
        for (int32_t k : {0, 1, 3, 4, 1000})
            for (int32_t flags : {0, 1, 2, 3, 4, 8, 8 | 0x10, 0x10, 0x10 | 2, 0x20, 0x40}) {
                const std::vector<bpf_insn> insns = {
                    BPF_LD_MAP_FD(BPF_REG_1, static_cast<int32_t>(map)), BPF_MOV64_IMM(BPF_REG_2, k),
                    BPF_MOV64_IMM(BPF_REG_3, flags), BPF_CALL_FUNC(BPF_FUNC_redirect_map), BPF_EXIT_INSN()};
                out.push_back(std::to_string(k) + "/" + std::to_string(flags) + " " +
                              test_run_retval(b, BPF_PROG_TYPE_XDP, insns));
            }
        // Programs may not look entries up.
        const std::vector<bpf_insn> lookup = {
            BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0), BPF_LD_MAP_FD(BPF_REG_1, static_cast<int32_t>(map)),
            BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
            BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem), BPF_MOV64_IMM(BPF_REG_0, XDP_PASS), BPF_EXIT_INSN()};
        out.push_back(test_run_retval(b, BPF_PROG_TYPE_XDP, lookup));
        return out;
    });
}

}  // namespace
}  // namespace bpfrt::test
