// Running one program on the interpreter and the JIT with identical inputs.
#pragma once

#include <bpfrt/jit.hpp>
#include <bpfrt/vm.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace bpfrt::jit::testing {

// r0 or the error of one run, and the memory it ran on afterwards.
struct Outcome {
    std::optional<uint64_t> r0;
    std::string error;
    std::vector<uint8_t> memory;

    bool operator==(const Outcome& o) const { return r0 == o.r0 && memory == o.memory && r0.has_value() == o.r0.has_value(); }
};

inline std::string describe(const Outcome& o) {
    return o.r0 ? "r0 = " + std::to_string(*o.r0) : "error: " + o.error;
}

}  // namespace bpfrt::jit::testing
