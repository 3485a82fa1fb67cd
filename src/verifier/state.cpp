#include "verifier/state.hpp"

#include <algorithm>
#include <utility>

namespace bpfrt::verifier {

void State::for_each_reg(const std::function<void(RegState&)>& fn) {
    for (Frame& f : frames) {
        for (RegState& r : f.regs) fn(r);
        for (StackSlot& s : f.stack.slots())
            if (s.is_spill()) fn(s.spilled);
    }
}

namespace {

// Consistent renaming of ids between an explored state and the current one.
class IdMap {
public:
    bool check(uint32_t old_id, uint32_t cur_id) {
        for (auto [o, c] : pairs_) {
            if (o == old_id) return c == cur_id;
            if (c == cur_id) return false;
        }
        pairs_.emplace_back(old_id, cur_id);
        return true;
    }

private:
    std::vector<std::pair<uint32_t, uint32_t>> pairs_;
};

bool regsafe(const RegState& old, const RegState& cur, IdMap& ids) {
    if (old.type == RegType::NotInit) return true;  // old's continuation never reads it
    if (old.type != cur.type) return false;
    if (old.type == RegType::Scalar) {
        if (!old.var.includes(cur.var)) return false;
        // Linked copies in old were refined together; cur must link them the same way.
        return old.id == 0 || (cur.id != 0 && ids.check(old.id, cur.id));
    }
    if (old.off != cur.off || old.map != cur.map || old.mem_size != cur.mem_size || old.frameno != cur.frameno)
        return false;
    if (!old.var.includes(cur.var)) return false;
    if ((old.ref_obj_id || cur.ref_obj_id) && !ids.check(old.ref_obj_id, cur.ref_obj_id)) return false;
    switch (old.type) {
        case RegType::PtrToPacket:
        case RegType::PtrToPacketMeta:
            return old.range <= cur.range && ids.check(old.id, cur.id);
        case RegType::PtrToMapValueOrNull:
        case RegType::PtrToMemOrNull:
        case RegType::PtrToSockCommonOrNull: return ids.check(old.id, cur.id);
        case RegType::PtrToMapValue:  // ids name elements whose bpf_spin_lock may be held
            return old.id == 0 ? cur.id == 0 : cur.id != 0 && ids.check(old.id, cur.id);
        default: return true;
    }
}

bool byte_safe(SlotType old_t, SlotType cur_t, const StackSlot* cur_slot) {
    switch (old_t) {
        case SlotType::Invalid: return true;
        case SlotType::Misc:
            if (cur_t == SlotType::Misc || cur_t == SlotType::Zero) return true;
            return cur_t == SlotType::Spill && cur_slot && cur_slot->spilled.type == RegType::Scalar;
        case SlotType::Zero: return cur_t == SlotType::Zero;
        case SlotType::Spill: return cur_t == SlotType::Spill;
    }
    return false;
}

bool stacksafe(const StackState& old, const StackState& cur, IdMap& ids) {
    for (size_t k = 0; k < old.size(); ++k) {
        const StackSlot& o = *old.slot(k);
        const StackSlot* c = cur.slot(k);
        for (size_t i = 0; i < 8; ++i) {
            const SlotType ct = c ? c->bytes[i] : SlotType::Invalid;
            if (!byte_safe(o.bytes[i], ct, c)) return false;
        }
        if (o.is_spill() && !regsafe(o.spilled, c->spilled, ids)) return false;
    }
    return true;
}

uint16_t live_mask(const LiveMasks& live, size_t frame) {
    return frame < live.size() ? live[frame] : uint16_t{0xffff};
}

}  // namespace

bool state_subsumes(const State& old, const State& cur, const LiveMasks& live) {
    if (old.frames.size() != cur.frames.size() || old.refs.size() != cur.refs.size()) return false;
    IdMap ids;
    for (size_t f = 0; f < old.frames.size(); ++f) {
        const Frame& of = old.frames[f];
        const Frame& cf = cur.frames[f];
        if (of.callsite != cf.callsite) return false;
        const uint16_t mask = live_mask(live, f);
        for (int r = 0; r < kNumRegs; ++r) {
            if (!(mask & (1u << r))) continue;
            if (!regsafe(of.regs[static_cast<size_t>(r)], cf.regs[static_cast<size_t>(r)], ids)) return false;
        }
        if (!stacksafe(of.stack, cf.stack, ids)) return false;
    }
    for (size_t i = 0; i < old.refs.size(); ++i)
        if (!ids.check(old.refs[i].id, cur.refs[i].id)) return false;
    if (old.lock.has_value() != cur.lock.has_value()) return false;
    if (old.lock && (old.lock->map != cur.lock->map || (old.lock->id == 0) != (cur.lock->id == 0) ||
                     (old.lock->id != 0 && !ids.check(old.lock->id, cur.lock->id))))
        return false;
    return true;
}

bool state_equal(const State& a, const State& b, const LiveMasks& live) {
    if (a.frames.size() != b.frames.size() || a.refs != b.refs || a.lock != b.lock) return false;
    for (size_t f = 0; f < a.frames.size(); ++f) {
        const Frame& fa = a.frames[f];
        const Frame& fb = b.frames[f];
        if (fa.callsite != fb.callsite || !(fa.stack == fb.stack)) return false;
        const uint16_t mask = live_mask(live, f);
        for (int r = 0; r < kNumRegs; ++r) {
            if (!(mask & (1u << r))) continue;
            if (!(fa.regs[static_cast<size_t>(r)] == fb.regs[static_cast<size_t>(r)])) return false;
        }
    }
    return true;
}

}  // namespace bpfrt::verifier
