// The slots of PROG_ARRAY and ARRAY_OF_MAPS: one atomic pointer per index
// to a holder of the object reference (internal to src/maps). Readers load
// the holder inside a ReadSection; a replaced holder is retired, so the
// object stays alive until every section that could see it has ended.
#pragma once

#include "maps/reclaim.hpp"
#include "runtime/object.hpp"

#include <atomic>
#include <cstdint>
#include <memory>

namespace bpfrt::maps::detail {

struct RefHolder {
    ObjectRef object;
};

class FdSlots {
public:
    explicit FdSlots(uint32_t count) : count_(count), slots_(std::make_unique<std::atomic<RefHolder*>[]>(count)) {}
    ~FdSlots() {
        for (uint32_t i = 0; i < count_; ++i) delete slots_[i].load(std::memory_order_relaxed);
    }
    FdSlots(const FdSlots&) = delete;
    FdSlots& operator=(const FdSlots&) = delete;

    uint32_t count() const noexcept { return count_; }
    // Inside a ReadSection; index < count().
    Object* get(uint32_t index) const noexcept {
        RefHolder* h = slots_[index].load(std::memory_order_acquire);
        return h == nullptr ? nullptr : h->object.get();
    }
    ObjectRef get_ref(uint32_t index) const {
        ReadSection section;
        RefHolder* h = slots_[index].load(std::memory_order_acquire);
        return h == nullptr ? nullptr : h->object;
    }
    void set(uint32_t index, ObjectRef object) {
        auto* fresh = new RefHolder{std::move(object)};
        if (RefHolder* old = slots_[index].exchange(fresh, std::memory_order_acq_rel)) retire_delete(old);
    }
    // False when the slot was empty.
    bool clear(uint32_t index) noexcept {
        RefHolder* old = slots_[index].exchange(nullptr, std::memory_order_acq_rel);
        if (old == nullptr) return false;
        retire_delete(old);
        return true;
    }

private:
    const uint32_t count_;
    std::unique_ptr<std::atomic<RefHolder*>[]> slots_;
};

}  // namespace bpfrt::maps::detail
