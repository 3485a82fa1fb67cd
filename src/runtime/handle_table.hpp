// The handle table of a Runtime: small integers that behave like file
// descriptors, each holding one reference to the object behind it.
//
// A new handle is the lowest free number >= kFirstHandle. 0, 1 and 2 are
// never handles (as stdin/stdout/stderr are never bpf fds in practice), so a
// zero-filled bpf_attr never names an object by accident. Thread-safe.
#pragma once

#include "runtime/object.hpp"

#include <bpfrt/error.hpp>

#include <cstddef>
#include <functional>
#include <mutex>
#include <queue>
#include <unordered_map>
#include <vector>

namespace bpfrt::runtime {

class HandleTable {
public:
    static constexpr int kFirstHandle = 3;
    static constexpr size_t kMaxHandles = 65536;  // EMFILE beyond, as RLIMIT_NOFILE

    HandleTable() = default;
    HandleTable(const HandleTable&) = delete;
    HandleTable& operator=(const HandleTable&) = delete;
    ~HandleTable() { close_all(); }

    // Stores a reference to `object` under the lowest free handle. EMFILE when full.
    Result<int> open(ObjectRef object);
    // The object behind `handle`, or nullptr when it is not open.
    ObjectRef get(int handle) const;
    // Drops the table's reference. EBADF when `handle` is not open. Calls
    // Object::on_last_handle_closed when it was the object's last handle.
    Result<void> close(int handle);
    // Closes every handle (the runtime's teardown).
    void close_all();
    size_t open_count() const;

private:
    mutable std::mutex mutex_;
    std::vector<ObjectRef> slots_;  // index = handle - kFirstHandle
    std::priority_queue<size_t, std::vector<size_t>, std::greater<>> free_;  // freed indices
    std::unordered_map<const Object*, size_t> handles_per_object_;
    size_t open_ = 0;
};

}  // namespace bpfrt::runtime
