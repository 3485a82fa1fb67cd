#include "runtime/handle_table.hpp"

#include <cerrno>
#include <string>
#include <unordered_set>
#include <utility>

namespace bpfrt::runtime {

Result<int> HandleTable::open(ObjectRef object) {
    std::lock_guard lock(mutex_);
    if (open_ >= kMaxHandles)
        return fail(EMFILE, "too many open handles (limit " + std::to_string(kMaxHandles) + ")");
    size_t index = slots_.size();
    if (!free_.empty()) {
        index = free_.top();
        free_.pop();
    } else {
        slots_.emplace_back();
    }
    ++handles_per_object_[object.get()];
    slots_[index] = std::move(object);
    ++open_;
    return static_cast<int>(index) + kFirstHandle;
}

ObjectRef HandleTable::get(int handle) const {
    if (handle < kFirstHandle) return nullptr;
    const auto index = static_cast<size_t>(handle - kFirstHandle);
    std::lock_guard lock(mutex_);
    return index < slots_.size() ? slots_[index] : nullptr;
}

Result<void> HandleTable::close(int handle) {
    ObjectRef released;  // dropped after the lock: destructors may be long
    bool last = false;
    {
        std::lock_guard lock(mutex_);
        const auto index = static_cast<size_t>(handle - kFirstHandle);
        if (handle < kFirstHandle || index >= slots_.size() || !slots_[index])
            return fail(EBADF, "handle " + std::to_string(handle) + " is not open");
        released = std::move(slots_[index]);
        slots_[index] = nullptr;
        free_.push(index);
        --open_;
        auto count = handles_per_object_.find(released.get());
        if (--count->second == 0) {
            handles_per_object_.erase(count);
            last = true;
        }
    }
    if (last) released->on_last_handle_closed();
    return {};
}

void HandleTable::close_all() {
    std::vector<ObjectRef> released;
    {
        std::lock_guard lock(mutex_);
        released.swap(slots_);
        free_ = {};
        handles_per_object_.clear();
        open_ = 0;
    }
    // Every handle goes at once: each object's last handle is closed.
    std::unordered_set<const Object*> notified;
    for (const ObjectRef& object : released)
        if (object && notified.insert(object.get()).second) object->on_last_handle_closed();
    // Objects without other users are destroyed here, outside the lock.
}

size_t HandleTable::open_count() const {
    std::lock_guard lock(mutex_);
    return open_;
}

}  // namespace bpfrt::runtime
