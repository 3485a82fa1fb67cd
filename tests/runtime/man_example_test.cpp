// The man page's example (count packets by IP protocol in a hash map with
// an atomic add), from a C translation unit, over synthetic TCP and UDP
// frames; and the example in the man page is the program tested here.
#include "test_util.hpp"

#include <fstream>
#include <sstream>
#include <thread>

extern "C" {
int bpfrt_man_example_create_map(bpfrt_runtime* rt);
int bpfrt_man_example_load(bpfrt_runtime* rt, int map_fd, char* log, unsigned log_size);
void bpfrt_man_example_frame(unsigned char* frame, size_t len, int proto);
int bpfrt_man_example_run(int tcp_runs, int udp_runs);
}

namespace bpfrt::test {
namespace {

constexpr int kTcp = 6;
constexpr int kUdp = 17;

TEST(ManExample, FromCCountsTcpAndUdp) {
    EXPECT_EQ(bpfrt_man_example_run(3, 1), 0);
    EXPECT_EQ(bpfrt_man_example_run(0, 5), 0);
    EXPECT_EQ(bpfrt_man_example_run(1000, 1), 0);
}

TEST(ManExample, CountsInTheMap) {
    auto rt = new_runtime();
    const int map = bpfrt_man_example_create_map(rt.get());
    ASSERT_GE(map, 3) << bpfrt_last_error();
    char log[4096];
    const int prog = bpfrt_man_example_load(rt.get(), map, log, sizeof log);
    ASSERT_GE(prog, 3) << bpfrt_last_error() << "\n" << log;
    unsigned char frame[64];
    for (int i = 0; i < 7; ++i) {
        bpfrt_man_example_frame(frame, sizeof frame, i % 2 == 0 ? kTcp : kUdp);
        EXPECT_EQ(run_once(rt.get(), prog, std::span<const unsigned char>(frame, sizeof frame)), 0u);
    }
    long long count = 0;
    int key = kTcp;
    ASSERT_EQ(bpfrt_lookup_elem(rt.get(), map, &key, &count), 0);
    EXPECT_EQ(count, 4);
    key = kUdp;
    ASSERT_EQ(bpfrt_lookup_elem(rt.get(), map, &key, &count), 0);
    EXPECT_EQ(count, 3);
    key = 1;  // ICMP: never seen
    EXPECT_EQ(errno_of([&] { return bpfrt_lookup_elem(rt.get(), map, &key, &count); }), ENOENT);
}

TEST(ManExample, ConcurrentRunsGiveExactTotals) {
    auto rt = new_runtime();
    const int map = bpfrt_man_example_create_map(rt.get());
    const int prog = bpfrt_man_example_load(rt.get(), map, nullptr, 0);
    ASSERT_GE(prog, 3) << bpfrt_last_error();
    constexpr int kThreads = 4;
    constexpr unsigned kRuns = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&, t] {
            unsigned char frame[64];
            bpfrt_man_example_frame(frame, sizeof frame, t % 2 == 0 ? kTcp : kUdp);
            unsigned retval = 1;
            // Alternate many single runs (racing inserts) and repeated runs.
            for (unsigned i = 0; i < 50; ++i)
                ASSERT_EQ(bpfrt_prog_test_run(rt.get(), prog, 1, frame, sizeof frame, nullptr, nullptr, &retval, nullptr),
                          0);
            ASSERT_EQ(bpfrt_prog_test_run(rt.get(), prog, kRuns - 50, frame, sizeof frame, nullptr, nullptr, &retval,
                                          nullptr),
                      0);
        });
    for (auto& t : threads) t.join();
    long long count = 0;
    int key = kTcp;
    ASSERT_EQ(bpfrt_lookup_elem(rt.get(), map, &key, &count), 0);
    EXPECT_EQ(count, 2LL * kRuns);
    key = kUdp;
    ASSERT_EQ(bpfrt_lookup_elem(rt.get(), map, &key, &count), 0);
    EXPECT_EQ(count, 2LL * kRuns);
}

// The instruction block between "struct bpf_insn prog[] = {" and "};".
std::string program_block(const std::string& text) {
    const auto start = text.find("struct bpf_insn prog[] = {");
    const auto end = text.find("};", start);
    if (start == std::string::npos || end == std::string::npos) return {};
    return text.substr(start, end - start);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string unescape_troff(std::string text) {
    for (auto [from, to] : {std::pair<std::string, std::string>{"\\-", "-"}, {"\\e", "\\"}}) {
        for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
            text.replace(at, from.size(), to);
    }
    return text;
}

TEST(ManExample, ManPageShowsTheTestedProgram) {
    const std::string page = unescape_troff(read_file(std::string(BPFRT_SOURCE_DIR) + "/man/bpfrt_bpf.3"));
    const std::string source = read_file(std::string(BPFRT_SOURCE_DIR) + "/tests/runtime/man_example.c");
    const std::string in_page = program_block(page);
    ASSERT_FALSE(in_page.empty());
    EXPECT_EQ(in_page, program_block(source));
}

}  // namespace
}  // namespace bpfrt::test
