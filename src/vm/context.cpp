// HelperTable and ExecContext: the parts of the engine interface that are
// plain data structures, shared by every engine.
#include <bpfrt/vm.hpp>

namespace bpfrt::vm {

void HelperTable::set(uint32_t id, Helper helper) {
    if (id >= helpers_.size()) helpers_.resize(static_cast<size_t>(id) + 1);
    helpers_[id] = std::move(helper);
}

const Helper* HelperTable::find(uint32_t id) const noexcept {
    if (id >= helpers_.size() || helpers_[id].fn == nullptr) return nullptr;
    return &helpers_[id];
}

void ExecContext::allow(const void* start, size_t size, bool writable) {
    if (size == 0) return;
    regions_.push_back(MemoryRegion{reinterpret_cast<uintptr_t>(start), size, writable});
}

bool ExecContext::is_allowed(uintptr_t addr, size_t size, bool write) const noexcept {
    if (stack_top != 0 && size <= kRunStackSize) {
        const uintptr_t stack_base = stack_top - kRunStackSize;
        if (addr >= stack_base && addr - stack_base <= kRunStackSize - size) return true;
    }
    for (const MemoryRegion& r : regions_) {
        // Written so that no sum can wrap around the address space.
        if (addr < r.start || size > r.size || addr - r.start > r.size - size) continue;
        if (write && !r.writable) continue;
        return true;
    }
    return false;
}

void ExecContext::truncate_regions(size_t count) noexcept {
    if (count < regions_.size()) regions_.resize(count);
}

}  // namespace bpfrt::vm
