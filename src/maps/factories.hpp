// The constructor of each map family, called by create_map after the
// checks every type shares (internal to src/maps). Each validates the spec
// like the kernel's map_alloc_check for its types.
#pragma once

#include "maps/map.hpp"

namespace bpfrt::maps::detail {

Result<std::shared_ptr<Map>> create_hash(const MapSpec& spec);         // HASH, PERCPU_HASH, LRU_*  (hash.cpp)
Result<std::shared_ptr<Map>> create_array(const MapSpec& spec);        // ARRAY, PERCPU_ARRAY      (array.cpp)
Result<std::shared_ptr<Map>> create_prog_array(const MapSpec& spec);   // prog_array.cpp
Result<std::shared_ptr<Map>> create_ringbuf(const MapSpec& spec);      // ringbuf.cpp
Result<std::shared_ptr<Map>> create_queue_stack(const MapSpec& spec);  // QUEUE, STACK             (queue_stack.cpp)
Result<std::shared_ptr<Map>> create_lpm_trie(const MapSpec& spec);     // lpm_trie.cpp
Result<std::shared_ptr<Map>> create_map_in_map(const MapSpec& spec);   // *_OF_MAPS                (map_in_map.cpp)
Result<std::shared_ptr<Map>> create_perf_event_array(const MapSpec& spec);  // PERF_EVENT_ARRAY (perf_event_array.cpp)
Result<std::shared_ptr<Map>> create_devmap(const MapSpec& spec);       // DEVMAP, DEVMAP_HASH       (devmap.cpp)
Result<std::shared_ptr<Map>> create_cpumap(const MapSpec& spec);       // CPUMAP                    (cpumap.cpp)
Result<std::shared_ptr<Map>> create_stack_trace(const MapSpec& spec);  // STACK_TRACE              (stack_trace.cpp)

// htab_map_alloc_check, shared with HASH_OF_MAPS.
Result<void> check_hash_spec(const MapSpec& spec);

}  // namespace bpfrt::maps::detail
