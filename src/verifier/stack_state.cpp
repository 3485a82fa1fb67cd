#include "verifier/stack_state.hpp"

namespace bpfrt::verifier {

bool StackState::operator==(const StackState& o) const {
    // Trailing never-written slots do not count.
    const size_t n = std::max(slots_.size(), o.slots_.size());
    static const StackSlot kEmpty{};
    for (size_t k = 0; k < n; ++k) {
        const StackSlot& a = k < slots_.size() ? slots_[k] : kEmpty;
        const StackSlot& b = k < o.slots_.size() ? o.slots_[k] : kEmpty;
        if (!(a == b)) return false;
    }
    return true;
}

}  // namespace bpfrt::verifier
