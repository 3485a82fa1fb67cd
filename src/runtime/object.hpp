// Base of every object a Runtime handle can refer to (maps, programs).
//
// Objects are shared: the handle table holds one reference per open handle,
// and a loaded program holds a reference to every map it uses, so an object
// lives until its last user lets go.
#pragma once

#include <memory>

namespace bpfrt {

// PerfEvent: a bpf-output perf event (a buffer a host reader consumes,
// maps/perf_event_array.hpp), the value type of PERF_EVENT_ARRAY maps.
enum class ObjectKind { Map, Program, PerfEvent };

class Object : public std::enable_shared_from_this<Object> {
public:
    virtual ~Object() = default;
    virtual ObjectKind kind() const noexcept = 0;

    // Called by the handle table when the last handle to this object is
    // closed (the kernel's "usercnt" reaching zero), outside any runtime
    // lock; programs may still hold references. A PROG_ARRAY empties itself
    // here as in the kernel, which breaks the cycle program -> prog array ->
    // program so that closing every handle frees everything.
    virtual void on_last_handle_closed() noexcept {}
};

using ObjectRef = std::shared_ptr<Object>;

}  // namespace bpfrt
