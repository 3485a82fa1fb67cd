// A loaded program: the object behind a program handle.
#pragma once

#include "runtime/map_bridge.hpp"
#include "runtime/object.hpp"

#include <bpfrt/insn.h>
#include <bpfrt/vm.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bpfrt::runtime {

// A map value a program addresses directly (BPF_PSEUDO_MAP_VALUE): allowed
// to the program for every run in checked mode.
struct DirectValue {
    const void* start = nullptr;
    size_t size = 0;
    bool writable = true;
};

// What the runtime keeps for one run, reached by helpers through
// ExecContext::user: inner maps a checked run obtained from map-in-map
// lookups, which it may then pass to the map helpers.
struct RunState {
    uint64_t context = 0;  // r1 at entry: helpers taking the context check it is this
    std::vector<const void*> inner_maps;
    // Ring buffer records reserved and not yet submitted or discarded: the
    // record and its ring (bpf_ringbuf_submit gets only the record).
    struct Reserved {
        void* sample;
        void* ring;  // maps::RingBuf*
    };
    std::vector<Reserved> reserved;
    bool knows_map(const void* map) const noexcept {
        return std::find(inner_maps.begin(), inner_maps.end(), map) != inner_maps.end();
    }
};

class ProgramObject final : public Object {
public:
    ObjectKind kind() const noexcept override { return ObjectKind::Program; }

    uint32_t type = 0;  // BPF_PROG_TYPE_*
    uint32_t expected_attach_type = 0;
    uint32_t flags = 0;
    std::string name;
    std::string license;
    bool gpl_compatible = false;
    uint32_t kern_version = 0;  // given at load; not interpreted (as the kernel since 5.0)
    // The instructions after lddw resolution (map handles -> addresses).
    std::vector<bpf_insn> insns;
    // Every map the program references, kept alive as long as it is.
    std::vector<bridge::MapRef> maps;
    std::vector<DirectValue> direct_values;
    // The helper table the engine calls through; shared so that it outlives
    // the runtime if the program does (a prog array holding it).
    std::shared_ptr<const vm::HelperTable> helpers;
    std::unique_ptr<vm::Program> exec;
    // Proven safe by the verifier (exec runs in vm::Mode::Verified).
    bool verified = false;
    // End of the furthest context byte the program reads (the kernel's
    // max_ctx_offset): tracing programs attach only to larger contexts.
    uint32_t max_ctx_offset = 0;

    // Whether `map` is one the program referenced at load time: helpers
    // check their map argument with it in checked mode (an unverified program
    // could pass any number as a map pointer).
    bool uses_map(const void* map) const noexcept {
        return std::any_of(maps.begin(), maps.end(),
                           [map](const bridge::MapRef& m) {
                               return static_cast<const void*>(m.get()) == map;
                           });
    }
};

}  // namespace bpfrt::runtime
