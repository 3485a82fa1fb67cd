// The verifier's abstract machine state: call frames (registers and stack)
// and acquired references; plus comparison for pruning and loop detection.
#pragma once

#include "verifier/stack_state.hpp"

#include <array>
#include <bitset>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace bpfrt::verifier {

inline constexpr int kMaxCallFrames = 8;
inline constexpr int kNumRegs = 11;

struct Frame {
    std::array<RegState, kNumRegs> regs{};
    StackState stack;
    int32_t callsite = -1;  // insn of the call that created this frame (-1: main)
    uint32_t subprog = 0;
    bool callback = false;        // called back by a helper (bpf_loop): exits to the helper call again
    uint32_t callback_depth = 0;  // callbacks entered from this frame's current helper call (bounded by nr_loops)
    bool operator==(const Frame&) const = default;
};

struct Reference {
    uint32_t id = 0;
    uint32_t insn = 0;  // where it was acquired
    bool operator==(const Reference&) const = default;
};

// The bpf_spin_lock a path holds (the kernel's active lock): the map and
// the id of the value pointer it was taken through.
struct HeldLock {
    uint32_t map = 0;
    uint32_t id = 0;
    uint32_t insn = 0;  // the bpf_spin_lock call
    bool operator==(const HeldLock&) const = default;
};

struct State {
    std::vector<Frame> frames;
    std::vector<Reference> refs;
    std::optional<HeldLock> lock;

    Frame& cur() { return frames.back(); }
    const Frame& cur() const { return frames.back(); }
    RegState& reg(int r) { return frames.back().regs[static_cast<size_t>(r)]; }
    const RegState& reg(int r) const { return frames.back().regs[static_cast<size_t>(r)]; }

    // Calls fn on every register and spilled register in every frame.
    void for_each_reg(const std::function<void(RegState&)>& fn);
};

// Which registers are live in each frame: bit r set = r may still be read.
using LiveMasks = std::array<uint16_t, kMaxCallFrames>;  // by frame index (no allocation per comparison)

inline constexpr size_t kStackSlots = StackState::kSize / 8;
using SlotSet = std::bitset<kStackSlots>;

// A set of registers and stack slots in each call frame (by frame index):
// precision marks, stack slots read, slots written.
struct RegSlotSet {
    std::array<uint16_t, kMaxCallFrames> regs{};
    std::array<SlotSet, kMaxCallFrames> slots{};

    bool has_reg(size_t f, int r) const { return (regs[f] >> r) & 1u; }
    void set_reg(size_t f, int r) { regs[f] = static_cast<uint16_t>(regs[f] | (1u << r)); }
    void clear_reg(size_t f, int r) { regs[f] = static_cast<uint16_t>(regs[f] & ~(1u << r)); }
    bool has_slot(size_t f, size_t k) const { return k < kStackSlots && slots[f].test(k); }
    void set_slot(size_t f, size_t k) {
        if (k < kStackSlots) slots[f].set(k);
    }
    void clear_slot(size_t f, size_t k) {
        if (k < kStackSlots) slots[f].reset(k);
    }
    void clear_frame(size_t f) {
        regs[f] = 0;
        slots[f].reset();
    }
    bool empty() const;
    bool intersects(const RegSlotSet& o) const;
    bool subset_of(const RegSlotSet& o) const;
    RegSlotSet& operator|=(const RegSlotSet& o);
};

// What an explored state's continuation depended on, for comparing it with
// the current state (the kernel's precision and liveness marks). nullptr
// means "everything" (a state whose exploration is still in progress).
struct PruneMarks {
    const RegSlotSet* precise = nullptr;  // scalars whose range mattered
    const RegSlotSet* read = nullptr;     // stack slots read before written
};

// `old` was explored and found safe: is `cur` safe too (every concrete state
// of cur is one of old's, for what old's continuation can observe)? Scalars
// without a precision mark in `old` may hold any value in `cur`; stack slots
// old's continuation never read are not compared.
bool state_subsumes(const State& old, const State& cur, const LiveMasks& live, const PruneMarks& marks = {});
// Exactly the same on live registers, stack and references (ids compared up
// to renaming): a loop that comes back here never ends.
bool state_equal(const State& a, const State& b, const LiveMasks& live);

}  // namespace bpfrt::verifier
