// Coverage for libFuzzer from GCC-built code.
//
// The project is C++23 (std::expected) and clang 14 cannot compile
// libstdc++'s <expected>, so -fsanitize=fuzzer is out of reach. Instead the
// loader is compiled by g++ with -fsanitize-coverage=trace-pc, and this
// callback turns each (previous block, block) pair into a hit in libFuzzer's
// "extra counters" section, which libFuzzer (linked from clang's runtime)
// reads as coverage features.
#include <cstddef>
#include <cstdint>

namespace {
constexpr size_t kCounters = 1 << 16;
}

extern "C" {
__attribute__((section("__libfuzzer_extra_counters"), used)) uint8_t bpfrt_fuzz_counters[kCounters];

__attribute__((no_sanitize_address, no_sanitize_undefined)) void __sanitizer_cov_trace_pc() {
    static thread_local uintptr_t previous = 0;
    const auto pc = reinterpret_cast<uintptr_t>(__builtin_return_address(0));
    const uintptr_t edge = (pc ^ previous) * uintptr_t{0x9E3779B97F4A7C15u};
    uint8_t& counter = bpfrt_fuzz_counters[(edge >> 40) % kCounters];
    if (counter != 0xff) ++counter;
    previous = pc >> 1;
}
}
