// The kernel half of the differential test: the same .o loaded with libbpf,
// every packet run with BPF_PROG_TEST_RUN, a map read back. Its own
// translation unit so that libbpf's headers stay apart from bpfrt's.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace bpfrt::test {

struct KernelRun {
    std::string skipped;  // why the kernel could not be used (empty: it ran)
    std::vector<uint32_t> retvals;
    std::vector<std::vector<uint8_t>> data_out;
    std::vector<uint64_t> map_values;  // per key 0..max_entries-1, per-CPU values summed
};

namespace {
int quiet(enum libbpf_print_level, const char*, va_list) { return 0; }
}  // namespace

KernelRun kernel_run(const std::string& object, const std::string& program, const std::string& map,
                     const std::vector<std::vector<uint8_t>>& packets) {
    KernelRun out;
    libbpf_set_print(quiet);
    bpf_object* obj = bpf_object__open_file(object.c_str(), nullptr);
    if (obj == nullptr) {
        out.skipped = "libbpf cannot open " + object;
        return out;
    }
    if (int err = bpf_object__load(obj); err != 0) {
        out.skipped = "the kernel refused to load " + object + ": " + std::strerror(-err);
        bpf_object__close(obj);
        return out;
    }
    const int fd = bpf_program__fd(bpf_object__find_program_by_name(obj, program.c_str()));
    std::vector<uint8_t> buffer(4096);
    for (const auto& p : packets) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p.data(), .data_out = buffer.data(),
                    .data_size_in = static_cast<uint32_t>(p.size()), .data_size_out = static_cast<uint32_t>(buffer.size()),
                    .repeat = 1);
        if (int err = bpf_prog_test_run_opts(fd, &opts); err != 0) {
            out.skipped = std::string("BPF_PROG_TEST_RUN failed: ") + std::strerror(errno);
            bpf_object__close(obj);
            return out;
        }
        out.retvals.push_back(opts.retval);
        out.data_out.emplace_back(buffer.begin(), buffer.begin() + opts.data_size_out);
    }
    const bpf_map* m = bpf_object__find_map_by_name(obj, map.c_str());
    const int map_fd = bpf_map__fd(m);
    const bool percpu = bpf_map__type(m) == BPF_MAP_TYPE_PERCPU_ARRAY;
    const size_t slots = percpu ? static_cast<size_t>(libbpf_num_possible_cpus()) : 1;
    std::vector<uint64_t> value(slots);
    for (uint32_t key = 0; key < bpf_map__max_entries(m); ++key) {
        uint64_t sum = 0;
        if (bpf_map_lookup_elem(map_fd, &key, value.data()) == 0)
            for (uint64_t v : value) sum += v;
        out.map_values.push_back(sum);
    }
    bpf_object__close(obj);
    return out;
}

}  // namespace bpfrt::test
