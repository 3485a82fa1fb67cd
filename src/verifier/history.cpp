#include "verifier/history.hpp"

#include <bpfrt/insn.h>

namespace bpfrt::verifier {
namespace {

using isa::Form;
using isa::Op;

constexpr uint16_t kSlotBase = 16;  // link members: frame * 128 + register, or + kSlotBase + slot

bool full_slot(int16_t off, unsigned size) { return size == 8 && off % 8 == 0; }

size_t slot_index(int16_t off) { return StackState::slot_of(off); }

}  // namespace

Node* History::add_node(PathHistory& path, const State* st, uint32_t pc) {
    Node& n = nodes_.emplace_back();
    n.self = std::prev(nodes_.end());
    n.parent = path.parent;
    n.begin = path.begin;
    n.end = arena_.size();
    n.written = path.written;
    n.pc = pc;
    if (st) {
        n.checkpoint = true;
        n.st = *st;
    }
    path.parent = &n;
    path.begin = arena_.size();
    path.written = {};
    return &n;
}

void History::end_path(Node* n) {
    while (n) {
        if (--n->branches > 0) return;
        Node* up = n->parent;
        if (!n->checkpoint || !n->listed) nodes_.erase(n->self);
        n = up;
    }
}

void History::unlist(Node* n) {
    n->listed = false;
    if (n->branches == 0) nodes_.erase(n->self);
}

uint32_t History::add_links(const std::vector<RegSlotSet>& groups) {
    const auto at = static_cast<uint32_t>(links_.size());
    for (const RegSlotSet& g : groups) {
        const size_t count_at = links_.size();
        links_.push_back(0);
        for (size_t f = 0; f < g.regs.size(); ++f) {
            for (int r = 0; r < kNumRegs; ++r)
                if (g.has_reg(f, r)) links_.push_back(static_cast<uint16_t>(f * 128 + static_cast<size_t>(r)));
            for (size_t k = 0; k < kStackSlots; ++k)
                if (g.has_slot(f, k)) links_.push_back(static_cast<uint16_t>(f * 128 + kSlotBase + k));
        }
        links_[count_at] = static_cast<uint16_t>(links_.size() - count_at - 1);
    }
    links_.push_back(0);
    return at;
}

void History::link_groups(uint32_t at, RegSlotSet& s) const {
    for (size_t i = at; i < links_.size() && links_[i] != 0; i += links_[i] + 1u) {
        RegSlotSet group;
        for (size_t j = i + 1; j <= i + links_[i]; ++j) {
            const size_t f = links_[j] / 128, m = links_[j] % 128;
            if (m < kSlotBase) group.set_reg(f, static_cast<int>(m));
            else group.set_slot(f, m - kSlotBase);
        }
        if (s.intersects(group)) s |= group;
    }
}

// The kernel's backtrack_insn: `s` holds what must be precise after the
// instruction of `e`; afterwards it holds what must be precise before it.
void History::back_one(const HistEntry& e, uint8_t next_frame, RegSlotSet& s) const {
    const isa::Instruction& in = cfg_.at(e.pc);
    const Form form = in.info().form;
    const size_t f = e.frame;
    if (next_frame > f) {  // the call that entered a function
        // A bpf-to-bpf callee's r1-r5 are the caller's; a callback's come
        // from the helper (an unknown index, a pointer) and depend on nothing.
        if (form == Form::CallLocal)
            for (int r = BPF_REG_1; r <= BPF_REG_5; ++r)
                if (s.has_reg(f + 1, r)) s.set_reg(f, r);
        s.clear_frame(f + 1);
        return;
    }
    if (next_frame < f) {  // an exit back to the caller
        const size_t caller = f - 1;
        s.clear_frame(f);
        if (!(e.flags & HistEntry::kCallbackExit)) {
            if (s.has_reg(caller, BPF_REG_0)) s.set_reg(f, BPF_REG_0);
            for (int r = BPF_REG_0; r <= BPF_REG_5; ++r) s.clear_reg(caller, r);
        }
        return;
    }
    const int dst = in.dst, src = in.src;
    const bool on_stack = e.stack_frame != HistEntry::kNoStack;
    const unsigned size = in.info().width / 8;
    switch (form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Unary: {
            if (!s.has_reg(f, dst)) return;
            const bool is_mov = BPF_OP(in.info().code) == BPF_MOV;
            if (is_mov) s.clear_reg(f, dst);
            if (form == Form::AluReg) s.set_reg(f, src);
            return;
        }
        case Form::LoadImm64:
            s.clear_reg(f, dst);
            return;
        case Form::Load:
            if (!s.has_reg(f, dst)) return;
            s.clear_reg(f, dst);
            if (on_stack) s.set_slot(e.stack_frame, slot_index(e.stack_off));
            return;
        case Form::StoreReg:
            if (!on_stack || !s.has_slot(e.stack_frame, slot_index(e.stack_off))) return;
            if (full_slot(e.stack_off, size)) s.clear_slot(e.stack_frame, slot_index(e.stack_off));
            s.set_reg(f, src);
            return;
        case Form::StoreImm:
            if (on_stack && full_slot(e.stack_off, size)) s.clear_slot(e.stack_frame, slot_index(e.stack_off));
            return;
        case Form::Atomic: {
            // A read-modify-write: the memory, the operand and the fetched
            // value depend on each other; keep all of them.
            const bool cmpxchg = in.op == Op::ATOMIC_CMPXCHG64 || in.op == Op::ATOMIC_CMPXCHG32;
            const bool slot = on_stack && s.has_slot(e.stack_frame, slot_index(e.stack_off));
            if (slot || s.has_reg(f, src) || (cmpxchg && s.has_reg(f, BPF_REG_0))) {
                s.set_reg(f, src);
                if (cmpxchg) s.set_reg(f, BPF_REG_0);
                if (on_stack) s.set_slot(e.stack_frame, slot_index(e.stack_off));
            }
            return;
        }
        case Form::LoadAbs:
        case Form::LoadInd:
        case Form::CallHelper:
        case Form::CallReg:
            // r0 comes from the packet or the helper; r1-r5 are clobbered.
            for (int r = BPF_REG_0; r <= BPF_REG_5; ++r) s.clear_reg(f, r);
            return;
        case Form::CondImm:
        case Form::CondReg:
            if (e.links != HistEntry::kNoLinks) link_groups(e.links, s);
            if (form == Form::CondReg && (s.has_reg(f, dst) || s.has_reg(f, src))) {
                s.set_reg(f, dst);
                s.set_reg(f, src);
            }
            if (e.links != HistEntry::kNoLinks) link_groups(e.links, s);
            return;
        case Form::CallLocal:
        case Form::Jump:
        case Form::Jump32:
        case Form::Exit: return;
    }
}

// Marks the scalars of `s` precise in checkpoint `n`; drops what holds no
// scalar there. False when nothing new was marked: whoever marked these
// before went on up the chain already.
bool History::apply_marks(Node& n, RegSlotSet& s) const {
    bool fresh = false;
    for (size_t f = 0; f < s.regs.size(); ++f) {
        if (f >= n.st.frames.size()) {
            s.clear_frame(f);
            continue;
        }
        const Frame& fr = n.st.frames[f];
        for (int r = 0; r < kNumRegs; ++r) {
            if (!s.has_reg(f, r)) continue;
            if (fr.regs[static_cast<size_t>(r)].type != RegType::Scalar) {
                s.clear_reg(f, r);
            } else if (!n.precise.has_reg(f, r)) {
                n.precise.set_reg(f, r);
                fresh = true;
            }
        }
        if (s.slots[f].none()) continue;
        for (size_t k = 0; k < kStackSlots; ++k) {
            if (!s.has_slot(f, k)) continue;
            const StackSlot* slot = fr.stack.slot(k);
            // Plain data is compared by its slot types; only spilled scalars carry values.
            if (!slot || !slot->is_spill() || slot->spilled.type != RegType::Scalar) {
                s.clear_slot(f, k);
            } else if (!n.precise.has_slot(f, k)) {
                n.precise.set_slot(f, k);
                fresh = true;
            }
        }
    }
    return fresh;
}

void History::mark_precise(const PathHistory& path, RegSlotSet need, bool skip_last, size_t cur_frame) {
    size_t begin = path.begin, end = arena_.size();
    auto next_frame = static_cast<uint8_t>(cur_frame);
    if (skip_last && end > begin) {
        next_frame = arena_[end - 1].frame;
        --end;
    }
    Node* node = path.parent;
    for (;;) {
        for (size_t i = end; i-- > begin;) {
            const HistEntry& e = arena_[i];
            back_one(e, next_frame, need);
            next_frame = e.frame;
            if (need.empty()) return;
        }
        if (!node) return;
        if (node->checkpoint && !apply_marks(*node, need)) return;
        if (need.empty()) return;
        begin = node->begin;
        end = node->end;
        node = node->parent;
    }
}

void History::mark_read(const PathHistory& path, size_t frame, size_t slot) {
    if (frame >= kMaxCallFrames || slot >= kStackSlots || path.written.has_slot(frame, slot)) return;
    for (Node* n = path.parent; n; n = n->parent) {
        if (n->checkpoint) {
            if (frame >= n->st.frames.size() || n->read.has_slot(frame, slot)) return;
            n->read.set_slot(frame, slot);
        }
        if (n->written.has_slot(frame, slot)) return;
    }
}

}  // namespace bpfrt::verifier
