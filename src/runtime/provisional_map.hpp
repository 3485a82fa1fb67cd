// PROVISIONAL stand-in for the map types of src/maps (not yet landed), so
// that the runtime, the C API and the map helpers can be built and tested
// end to end: HASH, ARRAY, QUEUE and STACK with the kernel's errors, one
// mutex per map. Deleted or replaced hash values are kept until the map is
// destroyed, so a program's pointer stays valid while it runs. Replaced by
// bpfrt::maps::Map through map_bridge.hpp.
#pragma once

#include "runtime/object.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace bpfrt::runtime {

class ProvisionalMap final : public Object {
public:
    ObjectKind kind() const noexcept override { return ObjectKind::Map; }

    uint32_t type = 0;
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0;

    std::mutex mutex;
    std::map<std::string, std::byte*> hash;              // key bytes -> value
    std::vector<std::unique_ptr<std::byte[]>> storage;   // every hash value ever made
    std::vector<std::byte> array;                        // max_entries * stride bytes
    std::deque<std::vector<std::byte>> queue;            // queue / stack elements

    size_t stride() const { return (static_cast<size_t>(value_size) + 7) & ~size_t{7}; }
};

}  // namespace bpfrt::runtime
