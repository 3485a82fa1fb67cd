// Shared helpers for the verifier unit tests: maps and a one-call verify.
#pragma once

#include "verifier/verifier.hpp"

#include <bpfrt/insn.h>

#include <initializer_list>
#include <string>
#include <vector>

namespace bpfrt::verifier::testing {

// Map handles the tests use.
enum : int32_t {
    kHash = 1,      // hash, key 4, value 8
    kArray = 2,     // array, 1 entry, value 16
    kProgArray = 3, // prog array
    kRingbuf = 4,   // ring buffer
    kFrozen = 5,    // read-only array, value 8
    kQueue = 6,     // queue, value 8
};

inline std::optional<MapInfo> test_map(int32_t h) {
    switch (h) {
        case kHash: return MapInfo{BPF_MAP_TYPE_HASH, 4, 8, 16, 0, false};
        case kArray: return MapInfo{BPF_MAP_TYPE_ARRAY, 4, 16, 1, 0, false};
        case kProgArray: return MapInfo{BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0, false};
        case kRingbuf: return MapInfo{BPF_MAP_TYPE_RINGBUF, 0, 0, 4096, 0, false};
        case kFrozen: return MapInfo{BPF_MAP_TYPE_ARRAY, 4, 8, 1, 0, true};
        case kQueue: return MapInfo{BPF_MAP_TYPE_QUEUE, 0, 8, 16, 0, false};
        default: return std::nullopt;
    }
}

struct Options {
    uint32_t prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
    bool privileged = true;
    std::string license = "GPL";
    uint32_t log_level = 0;
    uint64_t max_processed = 1'000'000;
    bool strict = false;
};

inline VerifyResult run(const std::vector<bpf_insn>& prog, const Options& o = {}) {
    VerifyInput in;
    in.insns = prog;
    in.prog_type = o.prog_type;
    in.privileged = o.privileged;
    in.license = o.license;
    in.log_level = o.log_level;
    in.max_processed = o.max_processed;
    in.strict_alignment = o.strict;
    in.map_info = test_map;
    return verify(in);
}

}  // namespace bpfrt::verifier::testing
