// Random eBPF programs that are valid by construction, for differential
// testing of the JIT against the interpreter (and the kernel).
//
// A program has a main function and up to two local functions. Every
// register is initialised before use, memory is accessed only at in-bounds
// aligned offsets of three buffers, jumps go forward except the back edge of
// bounded loops, and r9 / r10 are never used as scalars. The environment
// (see RandomEnv) gives:
//   r1 = the input buffer (kInputSize bytes, also the packet of LD_ABS/LD_IND),
//   helper kMixHelper(r1..r5) = a pure mix of its arguments,
//   helper kMapHelper() = a pointer to the map-like buffer (kMapSize bytes).
// Before exiting, main copies its stack's first kStackUsed bytes into the
// input buffer at kStackCopyOffset and folds r6-r8 into r0, so comparing r0
// and both buffers compares registers, stack and memory.
//
// In kernel-compatible mode the programs use only what a SOCKET_FILTER
// program may do and what BPF_PROG_TEST_RUN can show: no helpers, no input
// buffer or packet access, no immediate division by zero or oversized
// shift; the stack is folded into r0 (low 32 bits meaningful) instead.
#pragma once

#include <bpfrt/insn.h>
#include <bpfrt/vm.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpfrt::jit::testing {

inline constexpr size_t kInputSize = 256;
inline constexpr size_t kMapSize = 64;
inline constexpr int kStackUsed = 64;
inline constexpr int kStackCopyOffset = 128;
inline constexpr uint32_t kMixHelper = 1;
inline constexpr uint32_t kMapHelper = 2;

struct RandomProgramOptions {
    bool kernel_compatible = false;
    size_t main_budget = 60;    // random instructions in main (before set-up and epilogue)
    size_t callee_budget = 16;  // in each local function
};

std::vector<bpf_insn> random_program(uint64_t seed, const RandomProgramOptions& options = {});

// The helpers the programs call. kMapHelper returns RandomEnv::map of the
// run, found through ExecContext::user.
vm::HelperTable random_program_helpers();

// The memory one run sees; fill() makes it a function of the seed.
struct RandomEnv {
    uint8_t input[kInputSize];
    uint8_t map[kMapSize];
    void fill(uint64_t seed);
};

}  // namespace bpfrt::jit::testing
