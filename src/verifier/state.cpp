#include "verifier/state.hpp"

#include <algorithm>
#include <optional>
#include <utility>

namespace bpfrt::verifier {

void State::for_each_reg(const std::function<void(RegState&)>& fn) {
    for (Frame& f : frames) {
        for (RegState& r : f.regs) fn(r);
        for (StackSlot& s : f.stack.slots())
            if (s.is_spill()) fn(s.spilled);
    }
}

bool RegSlotSet::empty() const {
    for (size_t f = 0; f < regs.size(); ++f)
        if (regs[f] || slots[f].any()) return false;
    return true;
}

bool RegSlotSet::intersects(const RegSlotSet& o) const {
    for (size_t f = 0; f < regs.size(); ++f)
        if ((regs[f] & o.regs[f]) || (slots[f] & o.slots[f]).any()) return true;
    return false;
}

bool RegSlotSet::subset_of(const RegSlotSet& o) const {
    for (size_t f = 0; f < regs.size(); ++f)
        if ((regs[f] & ~o.regs[f]) || (slots[f] & ~o.slots[f]).any()) return false;
    return true;
}

RegSlotSet& RegSlotSet::operator|=(const RegSlotSet& o) {
    for (size_t f = 0; f < regs.size(); ++f) {
        regs[f] = static_cast<uint16_t>(regs[f] | o.regs[f]);
        slots[f] |= o.slots[f];
    }
    return *this;
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
    // Both zero, or both non-zero and consistently renamed.
    bool same(uint32_t a, uint32_t b) { return (a == 0) == (b == 0) && (a == 0 || check(a, b)); }
    // The kernel's check_scalar_ids: an unlinked current scalar gets a fresh
    // id of its own, so it may stand for an old id used by one register only.
    bool scalar(uint32_t old_id, uint32_t cur_id) {
        if (old_id == 0) return true;
        return check(old_id, cur_id != 0 ? cur_id : fresh_--);
    }

private:
    std::vector<std::pair<uint32_t, uint32_t>> pairs_;
    uint32_t fresh_ = ~uint32_t{0};  // ids counted down from the top: never a real one
};

// The semantic fields of a register (not RegState::operator==, which may
// grow fields that say where a value came from).
bool same_value(const RegState& a, const RegState& b) {
    return a.type == b.type && a.off == b.off && a.var == b.var && a.range == b.range && a.map == b.map &&
           a.mem_size == b.mem_size && a.frameno == b.frameno;
}

bool reg_exact(const RegState& a, const RegState& b, IdMap& ids) {
    if (a.type == RegType::NotInit && b.type == RegType::NotInit) return true;
    return same_value(a, b) && ids.same(a.id, b.id) && ids.same(a.ref_obj_id, b.ref_obj_id);
}

bool regsafe(const RegState& old, const RegState& cur, bool precise, IdMap& ids) {
    if (old.type == RegType::NotInit) return true;  // old's continuation never reads it
    if (old.type != cur.type) return false;
    if (old.type == RegType::Scalar) {
        // No decision below old depended on this value: any scalar will do.
        if (!precise) return true;
        if (!old.var.includes(cur.var)) return false;
        // Linked copies in old were refined together; cur must link them the same way.
        return ids.scalar(old.id, cur.id);
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

// What an 8-byte load of a slot without a spilled register gives: zero when
// every byte is known zero, any scalar when every byte is data; nothing else.
std::optional<RegState> slot_as_scalar(const StackSlot* s) {
    if (!s) return std::nullopt;
    bool zero = true;
    for (SlotType t : s->bytes) {
        if (t != SlotType::Misc && t != SlotType::Zero) return std::nullopt;
        if (t != SlotType::Zero) zero = false;
    }
    return RegState::scalar(zero ? Scalar::constant(0) : Scalar::unknown());
}

bool slot_safe(const StackSlot& o, const StackSlot* c, bool precise, IdMap& ids) {
    // A spilled scalar against plain data: compare it with the value a load would give.
    if (o.is_spill() && o.spilled.type == RegType::Scalar && c && !c->is_spill())
        if (const std::optional<RegState> v = slot_as_scalar(c)) return regsafe(o.spilled, *v, precise, ids);
    for (size_t i = 0; i < 8; ++i) {
        const SlotType ct = c ? c->bytes[i] : SlotType::Invalid;
        if (!byte_safe(o.bytes[i], ct, c)) return false;
    }
    return !o.is_spill() || regsafe(o.spilled, c->spilled, precise, ids);
}

bool stacksafe(const StackState& old, const StackState& cur, size_t frame, const PruneMarks& marks, IdMap& ids) {
    for (size_t k = 0; k < old.size(); ++k) {
        if (marks.read && !marks.read->has_slot(frame, k)) continue;  // old's continuation never read it
        const bool precise = !marks.precise || marks.precise->has_slot(frame, k);
        if (!slot_safe(*old.slot(k), cur.slot(k), precise, ids)) return false;
    }
    return true;
}

bool stack_exact(const StackState& a, const StackState& b, IdMap& ids) {
    static const StackSlot kEmpty{};
    const size_t n = std::max(a.size(), b.size());
    for (size_t k = 0; k < n; ++k) {
        const StackSlot& x = k < a.size() ? *a.slot(k) : kEmpty;
        const StackSlot& y = k < b.size() ? *b.slot(k) : kEmpty;
        if (x.bytes != y.bytes) return false;
        if (x.is_spill() && !reg_exact(x.spilled, y.spilled, ids)) return false;
    }
    return true;
}

uint16_t live_mask(const LiveMasks& live, size_t frame) { return live[frame]; }

}  // namespace

bool state_subsumes(const State& old, const State& cur, const LiveMasks& live, const PruneMarks& marks) {
    if (old.frames.size() != cur.frames.size() || old.refs.size() != cur.refs.size()) return false;
    IdMap ids;
    for (size_t f = 0; f < old.frames.size(); ++f) {
        const Frame& of = old.frames[f];
        const Frame& cf = cur.frames[f];
        if (of.callsite != cf.callsite || of.callback != cf.callback) return false;
        // Iterations of a callback still allowed: old's continuation covered at least as many.
        if (of.callback_depth > cf.callback_depth) return false;
        const uint16_t mask = live_mask(live, f);
        for (int r = 0; r < kNumRegs; ++r) {
            if (!(mask & (1u << r))) continue;
            const bool precise = !marks.precise || marks.precise->has_reg(f, r);
            if (!regsafe(of.regs[static_cast<size_t>(r)], cf.regs[static_cast<size_t>(r)], precise, ids)) return false;
        }
        if (!stacksafe(of.stack, cf.stack, f, marks, ids)) return false;
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
    if (a.frames.size() != b.frames.size() || a.refs.size() != b.refs.size()) return false;
    if (a.lock.has_value() != b.lock.has_value()) return false;
    IdMap ids;
    for (size_t f = 0; f < a.frames.size(); ++f) {
        const Frame& fa = a.frames[f];
        const Frame& fb = b.frames[f];
        if (fa.callsite != fb.callsite || fa.callback != fb.callback || fa.callback_depth != fb.callback_depth ||
            !stack_exact(fa.stack, fb.stack, ids))
            return false;
        const uint16_t mask = live_mask(live, f);
        for (int r = 0; r < kNumRegs; ++r) {
            if (!(mask & (1u << r))) continue;
            if (!reg_exact(fa.regs[static_cast<size_t>(r)], fb.regs[static_cast<size_t>(r)], ids)) return false;
        }
    }
    for (size_t i = 0; i < a.refs.size(); ++i)
        if (a.refs[i].insn != b.refs[i].insn || !ids.check(a.refs[i].id, b.refs[i].id)) return false;
    if (a.lock && (a.lock->map != b.lock->map || a.lock->insn != b.lock->insn || !ids.same(a.lock->id, b.lock->id)))
        return false;
    return true;
}

}  // namespace bpfrt::verifier
