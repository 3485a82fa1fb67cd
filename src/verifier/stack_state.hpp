// Abstract state of one frame's stack: per 8-byte slot, per byte, what it holds.
#pragma once

#include "verifier/reg_state.hpp"

#include <array>
#include <cstdint>
#include <vector>

namespace bpfrt::verifier {

enum class SlotType : uint8_t {
    Invalid,  // never written
    Misc,     // some data
    Zero,     // known zero
    Spill,    // part of a register spilled with an 8-byte store
};

struct StackSlot {
    std::array<SlotType, 8> bytes{};  // bytes[i]: byte at (slot start + i)
    RegState spilled;                 // valid when is_spill()
    // A register spilled at the slot's start: all 8 bytes, or (a scalar
    // stored with a narrower store, the kernel's narrow spill) the first
    // spill_size() bytes, the rest being plain data.
    bool is_spill() const { return bytes[0] == SlotType::Spill; }
    size_t spill_size() const {
        size_t n = 0;
        while (n < bytes.size() && bytes[n] == SlotType::Spill) ++n;
        return n;
    }
    // Part of the spill is overwritten: the register is gone, its bytes are data.
    void scrub() {
        for (SlotType& t : bytes)
            if (t == SlotType::Spill) t = SlotType::Misc;
        spilled = {};
    }
    bool operator==(const StackSlot&) const = default;
};

// Slots are numbered from the frame pointer down: slot k covers [-8(k+1), -8k).
class StackState {
public:
    static constexpr int kSize = 512;

    // Slot index and byte index of stack offset `off` (-512 <= off < 0).
    static size_t slot_of(int off) { return static_cast<size_t>((-off - 1) / 8); }
    static size_t byte_of(int off) { return static_cast<size_t>(((off % 8) + 8) % 8); }

    const StackSlot* slot(size_t k) const { return k < slots_.size() ? &slots_[k] : nullptr; }
    StackSlot& slot_mut(size_t k) {
        if (k >= slots_.size()) slots_.resize(k + 1);
        return slots_[k];
    }
    SlotType byte_type(int off) const {
        const StackSlot* s = slot(slot_of(off));
        return s ? s->bytes[byte_of(off)] : SlotType::Invalid;
    }
    size_t size() const { return slots_.size(); }
    std::vector<StackSlot>& slots() { return slots_; }
    const std::vector<StackSlot>& slots() const { return slots_; }
    bool operator==(const StackState& o) const;

private:
    std::vector<StackSlot> slots_;
};

}  // namespace bpfrt::verifier
