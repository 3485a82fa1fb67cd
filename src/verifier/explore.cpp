#include "verifier/explore.hpp"

#include "verifier/checks.hpp"
#include "verifier/hints.hpp"
#include "verifier/history.hpp"

#include "helpers/prototypes.hpp"

#include <fmt/format.h>

#include <memory>

namespace bpfrt::verifier {
namespace {

using isa::Form;
using isa::Op;

// ---- paths ----

struct Path {
    State st;
    uint32_t pc = 0;
    uint32_t prev_pc = 0;
    PathHistory hist;  // where it came from, for pruning marks
    Trace trace;
};

AluOp alu_op(const isa::Instruction& in) {
    const isa::OpInfo& row = in.info();
    const bool is_signed = row.disc_field == isa::DiscField::Off && row.disc_value == 1;
    switch (BPF_OP(row.code)) {
        case BPF_ADD: return AluOp::Add;
        case BPF_SUB: return AluOp::Sub;
        case BPF_MUL: return AluOp::Mul;
        case BPF_DIV: return is_signed ? AluOp::SDiv : AluOp::Div;
        case BPF_MOD: return is_signed ? AluOp::SMod : AluOp::Mod;
        case BPF_OR: return AluOp::Or;
        case BPF_AND: return AluOp::And;
        case BPF_LSH: return AluOp::Lsh;
        case BPF_RSH: return AluOp::Rsh;
        case BPF_ARSH: return AluOp::Arsh;
        case BPF_XOR: return AluOp::Xor;
        case BPF_NEG: return AluOp::Neg;
        default: return AluOp::Mov;
    }
}

const char* alu_str(AluOp op) {
    switch (op) {
        case AluOp::Add: return "+=";
        case AluOp::Sub: return "-=";
        case AluOp::Mul: return "*=";
        case AluOp::Div: return "/=";
        case AluOp::SDiv: return "s/=";
        case AluOp::Mod: return "%=";
        case AluOp::SMod: return "s%=";
        case AluOp::Or: return "|=";
        case AluOp::And: return "&=";
        case AluOp::Lsh: return "<<=";
        case AluOp::Rsh: return ">>=";
        case AluOp::Arsh: return "s>>=";
        case AluOp::Xor: return "^=";
        case AluOp::Mov: return "=";
        case AluOp::Neg: return "neg";
    }
    return "?";
}

constexpr int64_t kMaxVarOff = int64_t{1} << 29;  // BPF_MAX_VAR_OFF

CmpOp cmp_op(const isa::Instruction& in) {
    switch (BPF_OP(in.info().code)) {
        case BPF_JEQ: return CmpOp::Eq;
        case BPF_JNE: return CmpOp::Ne;
        case BPF_JGT: return CmpOp::Gt;
        case BPF_JGE: return CmpOp::Ge;
        case BPF_JLT: return CmpOp::Lt;
        case BPF_JLE: return CmpOp::Le;
        case BPF_JSGT: return CmpOp::Sgt;
        case BPF_JSGE: return CmpOp::Sge;
        case BPF_JSLT: return CmpOp::Slt;
        case BPF_JSLE: return CmpOp::Sle;
        default: return CmpOp::Set;
    }
}

class Explorer {
public:
    Explorer(Env& env, ExploreStats& stats) : env_(env), stats_(stats), history_(env.cfg), at_pc_(env.cfg.size()) {}
    Check run();

private:
    enum class Next { Continue, EndPath };

    Check step(Path& p, Next& next);
    Check do_alu(State& st, const isa::Instruction& in);
    Check do_ptr_alu(State& st, const isa::Instruction& in, AluOp op, int ptr_reg_idx, const RegState& ptr,
                     const RegState& scalar);
    Check do_load_store(State& st, const isa::Instruction& in);
    Check do_ld_abs(State& st, const isa::Instruction& in);
    Check do_lddw(State& st, const isa::Instruction& in);
    Check do_cond_jump(Path& p, const isa::Instruction& in, Next& next);
    Check do_call_local(Path& p, const isa::Instruction& in);
    Check do_helper_call(State& st, int32_t helper_id, uint32_t pc);
    Check do_callback_call(Path& p, const isa::Instruction& in);
    Check do_exit(Path& p, Next& next);

    Check visit(Path& p, bool& prune);
    LiveMasks live_masks(const State& st, uint32_t pc) const;
    void add_checkpoint(Path& p);
    void propagate_hit(Path& p, const Node& old, const LiveMasks& live, bool in_progress);
    void push(Path&& p);
    // Precision and liveness bookkeeping of the instruction being checked.
    void need_precise(const RegSlotSet& regs);
    void need_precise_reg(const State& st, int regno);
    void note_stack_range(size_t frame, int64_t lo, int64_t hi);
    void note_stack_read(const RegState& ptr, int64_t insn_off, int size);
    void note_stack_access(const RegState& ptr, int64_t insn_off, int size, bool write);
    void note_helper_stack_reads(const State& st, const helpers::HelperProto& proto);
    void note_links(const State& st, uint32_t id_a, uint32_t id_b);
    uint32_t target(const isa::Instruction& in, uint32_t pc) const {
        return static_cast<uint32_t>(isa::branch_target(in, pc));
    }

    Env& env_;
    ExploreStats& stats_;
    History history_;
    std::vector<std::vector<Node*>> at_pc_;  // checkpoints by instruction
    std::vector<Path> pending_;
    uint64_t live_states_ = 0;
    uint64_t jmps_processed_ = 0;       // jumps, calls and exits checked
    uint64_t prev_jmps_ = 0, prev_insns_ = 0;  // counts when the last checkpoint was stored
    Path* cur_ = nullptr;
};

// ---- pruning ----

LiveMasks Explorer::live_masks(const State& st, uint32_t pc) const {
    LiveMasks live;
    live.fill(0xffff);
    constexpr uint16_t kClobbered = 0x3f;  // R0-R5 are overwritten when the callee returns
    for (size_t f = 0; f < st.frames.size(); ++f) {
        if (f + 1 == st.frames.size()) {
            live[f] = env_.cfg.live_in[pc];
        } else if (st.frames[f + 1].callback) {
            // A callback returns to its helper call, which runs again with the caller's registers.
            live[f] = env_.cfg.live_in[static_cast<size_t>(st.frames[f + 1].callsite)];
        } else {
            const auto ret = static_cast<size_t>(st.frames[f + 1].callsite + 1);
            live[f] = static_cast<uint16_t>(env_.cfg.live_in[ret] & ~kClobbered);
        }
    }
    return live;
}

// The kernel's is_state_visited: prune against a fully explored state that
// subsumes the current one, detect loops that come back unchanged, and
// decide whether to store the current state as a checkpoint: after at
// least 2 jumps and 8 instructions since the last one, but inside a loop
// (this instruction has a state still being explored) only after 20 jumps
// or 100 instructions, so a long loop keeps few states while a repeating
// one is still found (every arrival is compared).
Check Explorer::visit(Path& p, bool& prune) {
    prune = false;
    auto& list = at_pc_[p.pc];
    const LiveMasks live = list.empty() ? LiveMasks{} : live_masks(p.st, p.pc);
    const uint64_t jmps = jmps_processed_ - prev_jmps_, insns = stats_.processed - prev_insns_;
    // A callback-calling helper is a loop head that always gets a checkpoint.
    const bool callback_site = env_.cfg.callback_call[p.pc] != 0;
    bool add = callback_site || (jmps >= 2 && insns >= 8);
    for (size_t i = 0; i < list.size();) {
        Node& s = *list[i];
        if (s.branches > 0 && callback_site) {
            // An earlier iteration still being explored covers this one: the
            // callback converged. Its marks are not final, so every value
            // counts (compared by range, all of them kept precise).
            if (state_subsumes(s.st, p.st, live, PruneMarks{})) {
                ++s.hits;
                propagate_hit(p, s, live, true);
                prune = true;
                return {};
            }
        } else if (s.branches > 0) {
            // Still being explored (a loop came back here): its marks are not final.
            if (state_equal(s.st, p.st, live))
                return invalid(fmt::format("infinite loop detected at insn {} (the jump from insn {} returns to it "
                                           "in exactly the same state, so the loop never ends)", p.pc, p.prev_pc));
            if (jmps < 20 && insns < 100) add = false;
        } else if (state_subsumes(s.st, p.st, live, PruneMarks{&s.precise, &s.read})) {
            ++s.hits;
            propagate_hit(p, s, live, false);
            prune = true;
            return {};
        }
        // States that keep failing to match are dropped (the kernel's miss
        // heuristic); arrivals that store no state do not count, so that
        // loops keep states from some of their iterations.
        if (add) ++s.misses;
        const uint32_t n = callback_site && s.branches > 0 ? 64 : 3;  // loop heads are kept longer
        if (s.misses > s.hits * n + n) {
            Node* dropped = list[i];
            list[i] = list.back();
            list.pop_back();
            history_.unlist(dropped);
            --live_states_;
            continue;
        }
        ++i;
    }
    if (add) add_checkpoint(p);
    return {};
}

void Explorer::add_checkpoint(Path& p) {
    prev_jmps_ = jmps_processed_;
    prev_insns_ = stats_.processed;
    Node* node = history_.add_node(p.hist, &p.st, p.pc);
    node->listed = true;
    auto& list = at_pc_[p.pc];
    list.push_back(node);
    ++stats_.total_states;
    ++live_states_;
    stats_.peak_states = std::max(stats_.peak_states, live_states_);
    stats_.max_states_per_insn = std::max<uint64_t>(stats_.max_states_per_insn, list.size());
}

// The current path continues as `old` did: what old's continuation needed
// precise or read, the current path's checkpoints need too (the kernel's
// propagate_precision and propagate_liveness). A state still being explored
// has no final marks: then everything counts.
void Explorer::propagate_hit(Path& p, const Node& old, const LiveMasks& live, bool in_progress) {
    RegSlotSet precise;
    const State& st = p.st;
    for (size_t f = 0; f < st.frames.size(); ++f) {
        const Frame& fr = st.frames[f];
        for (int r = 0; r < kNumRegs; ++r) {
            const bool wanted = in_progress ? ((live[f] >> r) & 1u) != 0 : old.precise.has_reg(f, r);
            if (wanted && fr.regs[static_cast<size_t>(r)].type == RegType::Scalar) precise.set_reg(f, r);
        }
        for (size_t k = 0; k < fr.stack.size(); ++k) {
            const StackSlot& slot = *fr.stack.slot(k);
            const bool wanted = in_progress || old.precise.has_slot(f, k);
            if (wanted && slot.is_spill() && slot.spilled.type == RegType::Scalar) precise.set_slot(f, k);
            if (in_progress || old.read.has_slot(f, k)) history_.mark_read(p.hist, f, k);
        }
    }
    if (!precise.empty()) history_.mark_precise(p.hist, precise, false, st.frames.size() - 1);
}

void Explorer::push(Path&& p) {
    history_.share(p.hist);
    pending_.push_back(std::move(p));
}

// ---- precision and liveness of the instruction being checked ----

void Explorer::need_precise(const RegSlotSet& regs) {
    if (!regs.empty()) history_.mark_precise(cur_->hist, regs, true, 0);
}

void Explorer::need_precise_reg(const State& st, int regno) {
    if (st.reg(regno).type != RegType::Scalar) return;
    RegSlotSet s;
    s.set_reg(st.frames.size() - 1, regno);
    need_precise(s);
}

void Explorer::note_stack_range(size_t frame, int64_t lo, int64_t hi) {
    lo = std::max<int64_t>(lo, -StackState::kSize);
    hi = std::min<int64_t>(hi, 0);
    for (int64_t a = lo; a < hi; a += 8 - ((a % 8) + 8) % 8)
        history_.mark_read(cur_->hist, frame, StackState::slot_of(static_cast<int>(a)));
}

// A load (or the read of an atomic) of `size` bytes at `ptr` + `insn_off`.
void Explorer::note_stack_read(const RegState& ptr, int64_t insn_off, int size) {
    if (ptr.type != RegType::PtrToStack) return;
    const int64_t base = int64_t{ptr.off} + insn_off;
    if (ptr.var.is_const()) {
        const int64_t lo = base + static_cast<int64_t>(ptr.var.value());
        note_stack_range(ptr.frameno, lo, lo + size);
    } else {
        note_stack_range(ptr.frameno, base + ptr.var.smin, base + ptr.var.smax + size);
    }
}

// Any access at `ptr` + `insn_off`: the stack slot it names, for
// backtracking; a whole-slot store hides the slot's old value.
void Explorer::note_stack_access(const RegState& ptr, int64_t insn_off, int size, bool write) {
    if (ptr.type != RegType::PtrToStack || !ptr.var.is_const()) return;
    const int64_t off = int64_t{ptr.off} + static_cast<int64_t>(ptr.var.value()) + insn_off;
    if (off < -StackState::kSize || off >= 0) return;
    HistEntry& e = history_.last();
    e.stack_frame = ptr.frameno;
    e.stack_off = static_cast<int16_t>(off);
    if (write && size == 8 && off % 8 == 0)
        cur_->hist.written.set_slot(ptr.frameno, StackState::slot_of(static_cast<int>(off)));
}

// Stack memory a helper reads through its arguments (before the call).
void Explorer::note_helper_stack_reads(const State& st, const helpers::HelperProto& proto) {
    using helpers::ArgType;
    const MapInfo* map = nullptr;
    for (unsigned i = 0; i < helpers::kMaxArgs; ++i) {
        const RegState& r = st.reg(static_cast<int>(i + 1));
        if (proto.args[i] == ArgType::ConstMapPtr && r.type == RegType::ConstPtrToMap && r.map < env_.maps.size())
            map = &env_.maps[r.map].info;
    }
    for (unsigned i = 0; i < helpers::kMaxArgs; ++i) {
        const ArgType arg = proto.args[i];
        const RegState& r = st.reg(static_cast<int>(i + 1));
        if (arg == ArgType::DontCare || r.type != RegType::PtrToStack) continue;
        if (arg == ArgType::PtrToUninitMapValue || arg == ArgType::PtrToUninitMem) continue;  // written, not read
        int64_t size = -1;  // unknown: the whole stack of that frame
        if (arg == ArgType::PtrToMapKey && map) size = map->key_size;
        else if (arg == ArgType::PtrToMapValue && map) size = map->value_size;
        else if ((arg == ArgType::PtrToMem || arg == ArgType::PtrToMemOrNull) && i + 1 < helpers::kMaxArgs &&
                 st.reg(static_cast<int>(i + 2)).type == RegType::Scalar)
            size = static_cast<int64_t>(std::min<uint64_t>(st.reg(static_cast<int>(i + 2)).var.umax, StackState::kSize));
        if (size < 0 || !r.var.is_const()) {
            note_stack_range(r.frameno, -StackState::kSize, 0);
            continue;
        }
        const int64_t lo = int64_t{r.off} + static_cast<int64_t>(r.var.value());
        note_stack_range(r.frameno, lo, lo + size);
    }
}

// Scalars linked by id that a conditional jump refines together.
void Explorer::note_links(const State& st, uint32_t id_a, uint32_t id_b) {
    std::vector<RegSlotSet> groups;
    const uint32_t ids[2] = {id_a, id_b == id_a ? 0 : id_b};
    for (uint32_t id : ids) {
        if (id == 0) continue;
        RegSlotSet g;
        size_t members = 0;
        for (size_t f = 0; f < st.frames.size(); ++f) {
            const Frame& fr = st.frames[f];
            for (int r = 0; r < kNumRegs; ++r)
                if (fr.regs[static_cast<size_t>(r)].type == RegType::Scalar && fr.regs[static_cast<size_t>(r)].id == id) {
                    g.set_reg(f, r);
                    ++members;
                }
            for (size_t k = 0; k < fr.stack.size(); ++k) {
                const StackSlot& slot = *fr.stack.slot(k);
                if (slot.is_spill() && slot.spilled.type == RegType::Scalar && slot.spilled.id == id) {
                    g.set_slot(f, k);
                    ++members;
                }
            }
        }
        if (members > 1) groups.push_back(g);
    }
    if (!groups.empty()) history_.last().links = history_.add_links(groups);
}

// ---- the main loop ----

Check Explorer::run() {
    Path p;
    Frame main;
    main.regs[BPF_REG_1] = RegState::pointer(RegType::PtrToCtx);
    if (env_.in.prog_type == kProgTypeRawMemory) {  // r1 = memory of ctx_size bytes, r2 = ctx_size
        main.regs[BPF_REG_1] = RegState::pointer(RegType::PtrToMem);
        main.regs[BPF_REG_1].mem_size = env_.in.ctx_size;
        main.regs[BPF_REG_2] = RegState::scalar(Scalar::constant(env_.in.ctx_size));
    }
    main.regs[BPF_REG_10] = RegState::pointer(RegType::PtrToStack);
    p.st.frames.push_back(std::move(main));
    stamp_origins(p.st, Origin::kEntry);
    for (;;) {
        cur_ = &p;
        stamp_origins(p.st, p.prev_pc);  // the values the path's last instruction made (hints.hpp)
        env_.pc = p.pc;
        if (++stats_.processed > env_.in.max_processed)
            return fail(E2BIG, fmt::format("BPF program is too large. Processed {} insn (the limit is {}; "
                                           "a loop may not terminate within it)",
                                           stats_.processed, env_.in.max_processed));
        bool prune = false;
        if (env_.cfg.prune_point[p.pc]) {
            if (auto r = visit(p, prune); !r) {
                stats_.fail_trace = p.trace;
                stats_.fail_state = p.st;
                return r;
            }
        }
        Next next = Next::Continue;
        if (!prune) {
            if (env_.log.level() >= 1) p.trace = std::make_shared<TraceNode>(p.pc, p.trace);
            if (env_.log.level() >= 2) env_.log.insn_with_state(p.pc, p.st);
            State before = env_.log.level() >= 1 ? p.st : State{};
            if (auto r = step(p, next); !r) {
                stats_.fail_trace = p.trace;
                stats_.fail_state = env_.log.level() >= 1 ? std::move(before) : p.st;
                return r;
            }
        }
        if (prune || next == Next::EndPath) {
            history_.end_path(p.hist.parent);
            if (pending_.empty()) return {};
            p = std::move(pending_.back());
            pending_.pop_back();
            history_.resume(p.hist);
            if (env_.log.level() >= 2) env_.log.line(fmt::format("from {} to {}:", p.prev_pc, p.pc));
        }
    }
}

Check Explorer::step(Path& p, Next& next) {
    const isa::Instruction& in = env_.cfg.at(p.pc);
    State& st = p.st;
    const Form form = in.info().form;
    const uint32_t pc = p.pc;
    p.prev_pc = pc;
    if (isa::is_jump(in.op) || form == Form::CallHelper || form == Form::CallLocal || form == Form::Exit)
        ++jmps_processed_;
    HistEntry entry;
    entry.pc = pc;
    entry.frame = static_cast<uint8_t>(st.frames.size() - 1);
    history_.append(entry);
    switch (form) {
        case Form::AluImm:
        case Form::AluReg:
        case Form::Unary:
            if (auto r = do_alu(st, in); !r) return r;
            break;
        case Form::LoadImm64:
            if (auto r = do_lddw(st, in); !r) return r;
            break;
        case Form::LoadAbs:
        case Form::LoadInd:
            if (auto r = do_ld_abs(st, in); !r) return r;
            break;
        case Form::Load:
        case Form::StoreImm:
        case Form::StoreReg:
        case Form::Atomic:
            if (auto r = do_load_store(st, in); !r) return r;
            break;
        case Form::Jump:
        case Form::Jump32: p.pc = target(in, pc); return {};
        case Form::CondImm:
        case Form::CondReg: return do_cond_jump(p, in, next);
        case Form::CallHelper:
            if (calls_back(in.imm)) return do_callback_call(p, in);
            if (auto r = do_helper_call(st, in.imm, pc); !r) return r;
            break;
        case Form::CallLocal: return do_call_local(p, in);
        case Form::CallReg: return invalid("callx is not supported");
        case Form::Exit: return do_exit(p, next);
    }
    p.pc = pc + static_cast<uint32_t>(in.slots());
    return {};
}

// ---- arithmetic ----

Check Explorer::do_alu(State& st, const isa::Instruction& in) {
    const Form form = in.info().form;
    const unsigned width = BPF_CLASS(in.info().code) == BPF_ALU64 ? 64 : 32;
    const AluOp op = alu_op(in);
    const bool is_endian = BPF_OP(in.info().code) == BPF_END;
    const bool is_mov = op == AluOp::Mov && !is_endian;
    if (form == Form::AluReg)
        if (auto r = check_reg_read(st, in.src); !r) return r;
    if (!is_mov)
        if (auto r = check_reg_read(st, in.dst); !r) return r;
    if (auto r = check_reg_write(in.dst); !r) return r;
    RegState& dst = st.reg(in.dst);

    if (form == Form::Unary) {
        if (dst.is_ptr()) {
            if (!env_.privileged())
                return deny(fmt::format("R{} pointer arithmetic with {} prohibited", in.dst, is_endian ? "endian" : "neg"));
            dst = RegState::scalar(Scalar::unknown());
            return {};
        }
        if (is_endian) {
            const bool swap = (in.info().code & BPF_X) != 0 || BPF_CLASS(in.info().code) == BPF_ALU64;
            dst = RegState::scalar(scalar_endian(swap, in.info().width, dst.var));
        } else {
            dst = RegState::scalar(scalar_alu(AluOp::Neg, width, dst.var, Scalar::constant(0)));
        }
        return {};
    }

    const RegState src = form == Form::AluReg ? st.reg(in.src)
                                              : RegState::scalar(Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(in.imm))));
    if (is_mov) {
        const unsigned ext = in.info().disc_field == isa::DiscField::Off ? static_cast<unsigned>(in.info().disc_value) : 0;
        if (ext != 0) {  // movsx
            if (src.is_ptr()) return deny(fmt::format("R{} sign-extension part of pointer", in.src));
            const Scalar v = src.var.sign_extend(ext);
            dst = RegState::scalar(width == 32 ? v.zext32() : v);
            return {};
        }
        if (width == 64) {
            if (form == Form::AluReg && src.is_scalar() && !src.var.is_const() && in.src != in.dst) {
                // Link the copies so a bounds check on one refines the other.
                RegState& s = st.reg(in.src);
                if (s.id == 0) s.id = env_.new_id();
                dst = s;
                return {};
            }
            dst = src;
            return {};
        }
        if (src.is_ptr()) {
            if (!env_.privileged()) return deny(fmt::format("R{} partial copy of pointer", in.src));
            dst = RegState::scalar(Scalar::unknown_bits(32));
            return {};
        }
        dst = RegState::scalar(src.var.zext32());
        return {};
    }

    if (dst.is_ptr() || src.is_ptr()) {
        if (width == 32) {
            if (op == AluOp::Sub && env_.privileged()) {
                dst = RegState::scalar(Scalar::unknown_bits(32));
                return {};
            }
            return deny(fmt::format("R{} 32-bit pointer arithmetic prohibited", in.dst));
        }
        if (dst.is_ptr() && src.is_ptr()) {
            if (op == AluOp::Sub && env_.privileged()) {
                dst = RegState::scalar(Scalar::unknown());
                return {};
            }
            return deny(fmt::format("R{} pointer {} pointer prohibited", in.dst, alu_str(op)));
        }
        // The scalar becomes part of a pointer: its range matters.
        if (dst.is_scalar()) {  // scalar OP pointer
            if (op == AluOp::Sub) return deny(fmt::format("R{} tried to subtract pointer from scalar", in.dst));
            const RegState scalar = dst;
            need_precise_reg(st, in.dst);
            return do_ptr_alu(st, in, op, in.src, src, scalar);
        }
        if (form == Form::AluReg) need_precise_reg(st, in.src);
        return do_ptr_alu(st, in, op, in.dst, dst, src);
    }
    dst = RegState::scalar(scalar_alu(op, width, dst.var, src.var));
    return {};
}

Check Explorer::do_ptr_alu(State& st, const isa::Instruction& in, AluOp op, int ptr_regno, const RegState& ptr,
                           const RegState& off) {
    const std::string_view tn = type_name(ptr.type);
    if (op == AluOp::And || op == AluOp::Or || op == AluOp::Xor)
        return deny(fmt::format("R{} bitwise operator {} on pointer prohibited", in.dst, alu_str(op)));
    if (op != AluOp::Add && op != AluOp::Sub)
        return deny(fmt::format("R{} pointer arithmetic with {} operator prohibited", in.dst, alu_str(op)));
    if (maybe_null(ptr.type))
        return deny(fmt::format("R{} pointer arithmetic on {} prohibited, null-check it first", ptr_regno, tn));
    if (ptr.type == RegType::ConstPtrToMap || ptr.type == RegType::PtrToPacketEnd)
        return deny(fmt::format("R{} pointer arithmetic on {} prohibited", ptr_regno, tn));
    if (op == AluOp::Sub && ptr.type == RegType::PtrToStack)
        return deny(fmt::format("R{} subtraction from stack pointer prohibited (add a negative offset instead)", in.dst));
    // The kernel's check_reg_sane_offset (EINVAL).
    if (off.var.smin == std::numeric_limits<int64_t>::min() && !off.var.is_const())
        return invalid(fmt::format("math between {} pointer and register with unbounded min value is not allowed", tn));
    RegState res = ptr;
    if (off.var.is_const()) {
        const auto v = static_cast<int64_t>(off.var.value());
        if (v <= -kMaxVarOff || v >= kMaxVarOff)
            return invalid(fmt::format("math between {} pointer and {} is not allowed", tn, v));
        const int64_t n = op == AluOp::Add ? int64_t{res.off} + v : int64_t{res.off} - v;
        if (n <= -kMaxVarOff || n >= kMaxVarOff)
            return invalid(fmt::format("{} pointer offset {} is not allowed", tn, n));
        res.off = static_cast<int32_t>(n);
    } else {
        res.var = scalar_alu(op, 64, res.var, off.var);
        if (res.var.smin <= -kMaxVarOff)
            return invalid(fmt::format("value {} makes {} pointer be out of bounds", res.var.smin, tn));
        if (ptr.type == RegType::PtrToStack && !env_.privileged())
            return deny(fmt::format("R{} variable stack access prohibited for !root, var_off={} off={} (unprivileged "
                                    "programs may only use constant stack offsets)", in.dst, res.var.var_off.str(), res.off));
        if (is_packet(ptr.type)) {
            res.id = env_.new_id();
            res.range = 0;
        }
    }
    st.reg(in.dst) = res;
    return {};
}

// ---- memory ----

Check Explorer::do_load_store(State& st, const isa::Instruction& in) {
    const Form form = in.info().form;
    const int size = in.info().width / 8;
    switch (form) {
        case Form::Load: {
            if (auto r = check_reg_read(st, in.src); !r) return r;
            if (auto r = check_reg_write(in.dst); !r) return r;
            const bool sx = BPF_MODE(in.info().code) == BPF_MEMSX;
            const RegState ptr = st.reg(in.src);
            if (auto r = check_mem_access(env_, st, in.src, in.off, size, Access::Read, in.dst, sx, {}); !r) return r;
            note_stack_read(ptr, in.off, size);
            note_stack_access(ptr, in.off, size, false);
            return {};
        }
        case Form::StoreReg: {
            if (auto r = check_reg_read(st, in.dst); !r) return r;
            if (auto r = check_reg_read(st, in.src); !r) return r;
            const RegState ptr = st.reg(in.dst);
            const RegState& value = st.reg(in.src);
            // Zero stored below a whole slot makes the bytes known zero (STACK_ZERO): that value matters.
            if (ptr.type == RegType::PtrToStack && value.is_scalar() && value.var.is_zero() &&
                (size != 8 || !ptr.var.is_const()))
                need_precise_reg(st, in.src);
            StoreValue v;
            v.regno = in.src;
            if (auto r = check_mem_access(env_, st, in.dst, in.off, size, Access::Write, -1, false, v); !r) return r;
            note_stack_access(ptr, in.off, size, true);
            return {};
        }
        case Form::StoreImm: {
            if (auto r = check_reg_read(st, in.dst); !r) return r;
            const RegState ptr = st.reg(in.dst);
            StoreValue v;
            v.imm = static_cast<uint64_t>(static_cast<int64_t>(in.imm));
            if (auto r = check_mem_access(env_, st, in.dst, in.off, size, Access::Write, -1, false, v); !r) return r;
            note_stack_access(ptr, in.off, size, true);
            return {};
        }
        default: break;
    }
    // Atomics.
    const bool cmpxchg = in.op == Op::ATOMIC_CMPXCHG64 || in.op == Op::ATOMIC_CMPXCHG32;
    const bool fetch = (in.imm & BPF_FETCH) != 0;
    if (auto r = check_reg_read(st, in.dst); !r) return r;
    if (auto r = check_reg_read(st, in.src); !r) return r;
    if (cmpxchg) {
        if (auto r = check_reg_read(st, BPF_REG_0); !r) return r;
        if (!env_.privileged() && st.reg(BPF_REG_0).is_ptr()) return deny("R0 leaks addr into mem");
    }
    if (fetch && !cmpxchg)
        if (auto r = check_reg_write(in.src); !r) return r;
    const RegState ptr = st.reg(in.dst);
    if (auto r = check_atomic_access(env_, st, in.dst, in.off, size, in.src); !r) return r;
    note_stack_read(ptr, in.off, size);
    note_stack_access(ptr, in.off, size, false);
    const Scalar old = Scalar::unknown_bits(static_cast<unsigned>(size) * 8);
    if (cmpxchg) st.reg(BPF_REG_0) = RegState::scalar(old);
    else if (fetch) st.reg(in.src) = RegState::scalar(old);
    return {};
}

Check Explorer::do_ld_abs(State& st, const isa::Instruction& in) {
    if (!env_.ctx.ld_abs)
        return invalid(fmt::format("BPF_LD_[ABS|IND] instructions not allowed for this program type ({})", env_.ctx.name));
    if (!st.refs.empty()) return invalid("BPF_LD_[ABS|IND] cannot be mixed with socket references");
    if (auto r = check_no_lock_held(st, "BPF_LD_[ABS|IND]"); !r) return r;
    if (auto r = check_reg_read(st, BPF_REG_6); !r) return r;
    if (st.reg(BPF_REG_6).type != RegType::PtrToCtx)
        return invalid("at the time of BPF_LD_ABS|IND R6 != pointer to skb (R6 must hold the context)");
    if (auto r = check_ctx_reg(st.reg(BPF_REG_6), BPF_REG_6); !r) return r;
    if (in.info().form == Form::LoadInd) {
        if (auto r = check_reg_read(st, in.src); !r) return r;
        if (!env_.privileged() && st.reg(in.src).is_ptr())
            return deny(fmt::format("R{} leaks addr into packet offset", in.src));
    }
    for (int r = BPF_REG_1; r <= BPF_REG_5; ++r) st.reg(r) = RegState{};
    st.reg(BPF_REG_0) = RegState::scalar(Scalar::unknown_bits(in.info().width));
    return {};
}

Check Explorer::do_lddw(State& st, const isa::Instruction& in) {
    if (auto r = check_reg_write(in.dst); !r) return r;
    if (is_pseudo_func(in)) {  // a function for a callback-calling helper
        RegState r = RegState::pointer(RegType::PtrToFunc);
        r.map = env_.cfg.subprog_of[static_cast<size_t>(pseudo_func_target(in, env_.pc))];
        st.reg(in.dst) = r;
        return {};
    }
    const int32_t map = env_.map_of_insn[env_.pc];
    if (map < 0) {
        st.reg(in.dst) = RegState::scalar(Scalar::constant(in.imm64));
        return {};
    }
    if (in.src == BPF_PSEUDO_MAP_FD || in.src == BPF_PSEUDO_MAP_IDX) {
        RegState r = RegState::pointer(RegType::ConstPtrToMap);
        r.map = static_cast<uint32_t>(map);
        st.reg(in.dst) = r;
        return {};
    }
    RegState r = RegState::pointer(RegType::PtrToMapValue, static_cast<int32_t>(in.imm64 >> 32));
    r.map = static_cast<uint32_t>(map);
    st.reg(in.dst) = r;
    return {};
}

// ---- branches ----

// Every register (all frames, spills) with scalar id `id` gets `value`.
void propagate_scalar(State& st, uint32_t id, const Scalar& value) {
    if (id == 0) return;
    st.for_each_reg([&](RegState& r) {
        if (r.type == RegType::Scalar && r.id == id) r.var = value;
    });
}

// NULL-check outcome for every register sharing the pointer's id.
void mark_null_check(Env& env, State& st, uint32_t id, bool is_null) {
    uint32_t ref = 0;
    st.for_each_reg([&](RegState& r) {
        if (!maybe_null(r.type) || r.id != id) return;
        if (is_null) {
            ref = r.ref_obj_id;
            r = RegState::scalar(Scalar::constant(0));
        } else if (r.type == RegType::PtrToMapValueOrNull && env.maps[r.map].inner >= 0) {
            // A map-in-map lookup gives the inner map (the kernel's mark_ptr_or_null_reg).
            const auto map = static_cast<uint32_t>(env.maps[r.map].inner);
            r = RegState::pointer(RegType::ConstPtrToMap);
            r.map = map;
        } else {
            r.type = without_null(r.type);
            if (!keeps_value_id(env, r)) r.id = 0;
        }
    });
    if (is_null && ref) std::erase_if(st.refs, [&](const Reference& x) { return x.id == ref; });
}

// After proving pkt' (fixed offset `off`) <= end (or < end when `strict`).
void mark_pkt_range(State& st, const RegState& pkt, bool strict) {
    constexpr int64_t kMaxPacketOff = 0xffff;
    if (pkt.off < 0 || pkt.off > kMaxPacketOff || pkt.var.umax > static_cast<uint64_t>(kMaxPacketOff)) return;
    const auto range = static_cast<uint32_t>(pkt.off + (strict ? 1 : 0));
    st.for_each_reg([&](RegState& r) {
        if (r.type == pkt.type && r.id == pkt.id) r.range = std::max(r.range, range);
    });
}

// Pointers the kernel knows are not NULL (reg_not_null).
bool never_null(const RegState& r) {
    return r.type == RegType::PtrToMapValue || r.type == RegType::PtrToMem || r.type == RegType::PtrToSockCommon;
}

bool is_init_pkt(const RegState& r) { return r.type == RegType::PtrToPacket && r.off == 0 && r.var.is_zero(); }

// Packet-pointer comparison: adds ranges in the branch(es) where the pointer is proven below the end.
bool try_pkt_compare(CmpOp op, const RegState& a, const RegState& b, State& taken, State& fall) {
    const RegState* pkt = nullptr;
    if ((is_packet(a.type) && b.type == RegType::PtrToPacketEnd) ||
        (a.type == RegType::PtrToPacketMeta && is_init_pkt(b))) {
        pkt = &a;
    } else if ((is_packet(b.type) && a.type == RegType::PtrToPacketEnd) ||
               (b.type == RegType::PtrToPacketMeta && is_init_pkt(a))) {
        pkt = &b;
        op = swap_operands(op);
    } else {
        return false;
    }
    switch (op) {
        case CmpOp::Gt: mark_pkt_range(fall, *pkt, false); break;   // not taken: pkt <= end
        case CmpOp::Ge: mark_pkt_range(fall, *pkt, true); break;    // not taken: pkt < end
        case CmpOp::Lt: mark_pkt_range(taken, *pkt, true); break;
        case CmpOp::Le: mark_pkt_range(taken, *pkt, false); break;
        default: break;
    }
    return true;
}

Check Explorer::do_cond_jump(Path& p, const isa::Instruction& in, Next& next) {
    State& st = p.st;
    const bool is_reg = in.info().form == Form::CondReg;
    if (auto r = check_reg_read(st, in.dst); !r) return r;
    if (is_reg)
        if (auto r = check_reg_read(st, in.src); !r) return r;
    const unsigned width = in.info().width;
    const CmpOp op = cmp_op(in);
    const RegState a = st.reg(in.dst);
    const RegState b = is_reg ? st.reg(in.src)
                              : RegState::scalar(Scalar::constant(static_cast<uint64_t>(static_cast<int64_t>(in.imm))));
    const uint32_t tgt = target(in, p.pc);
    const uint32_t fall_pc = p.pc + 1;

    State taken = st;
    bool taken_ok = true, fall_ok = true;

    if (a.is_scalar() && b.is_scalar()) {
        note_links(st, a.id, is_reg ? b.id : 0);
        RegState ta = a, tb = b, fa = a, fb = b;
        taken_ok = scalar_refine(op, width, ta.var, tb.var);
        fall_ok = scalar_refine(negate(op), width, fa.var, fb.var);
        auto apply = [&](State& s, const RegState& ra, const RegState& rb) {
            if (is_reg) {
                s.reg(in.src).var = rb.var;
                propagate_scalar(s, rb.id, rb.var);
            }
            s.reg(in.dst).var = ra.var;
            propagate_scalar(s, ra.id, ra.var);
        };
        if (taken_ok) apply(taken, ta, tb);
        if (fall_ok) apply(st, fa, fb);
    } else if (maybe_null(a.type) && !is_reg && in.imm == 0) {
        // As the kernel: only a comparison with the immediate 0 is a NULL check.
        const RegState& ptr = a;
        if (width != 64 || (op != CmpOp::Eq && op != CmpOp::Ne)) {
            if (!env_.privileged())
                return deny(fmt::format("R{} pointer comparison prohibited", in.dst));
        } else {
            mark_null_check(env_, taken, ptr.id, op == CmpOp::Eq);
            mark_null_check(env_, st, ptr.id, op != CmpOp::Eq);
        }
    } else if (width == 64 && try_pkt_compare(op, a, b, taken, st)) {
        // ranges recorded
    } else if (!env_.privileged()) {
        return deny(fmt::format("R{} pointer comparison prohibited", a.is_ptr() ? in.dst : in.src));
    } else if (width == 64 && (op == CmpOp::Eq || op == CmpOp::Ne) &&
               ((never_null(a) && b.is_scalar() && b.var.is_zero()) || (never_null(b) && a.is_scalar() && a.var.is_zero()))) {
        // A pointer that cannot be NULL is never equal to 0 (the kernel's is_branch_taken).
        (op == CmpOp::Eq ? taken_ok : fall_ok) = false;
    }

    if (!taken_ok || !fall_ok) {
        // One way only, decided by the scalars' ranges: those ranges matter.
        if (a.is_scalar()) need_precise_reg(st, in.dst);
        if (is_reg && b.is_scalar()) need_precise_reg(st, in.src);
    }
    if (taken_ok) {
        Path other;
        other.st = std::move(taken);
        other.pc = tgt;
        other.prev_pc = p.pc;
        other.trace = p.trace;
        if (fall_ok) {
            history_.add_node(p.hist, nullptr, p.pc);  // both ways: a fork
            other.hist = p.hist;
            push(std::move(other));
        } else {
            // Only the jump is possible: continue there.
            p.st = std::move(other.st);
            p.pc = tgt;
            return {};
        }
    }
    if (!fall_ok) {
        next = Next::EndPath;
        return {};
    }
    p.pc = fall_pc;
    return {};
}

// ---- calls and exit ----

Check Explorer::do_helper_call(State& st, int32_t helper_id, uint32_t pc) {
    using helpers::ArgType;
    const helpers::HelperProto* proto = helpers::find_prototype(static_cast<uint32_t>(helper_id));
    if (!proto)
        for (const helpers::HelperProto& host : env_.in.host_helpers)
            if (host.id == static_cast<uint32_t>(helper_id)) proto = &host;
    if (proto) {
        note_helper_stack_reads(st, *proto);
        // Sizes, constants and NULLs passed for pointers: the checks depend on their values.
        RegSlotSet need;
        const size_t f = st.frames.size() - 1;
        for (unsigned i = 0; i < helpers::kMaxArgs; ++i) {
            const ArgType arg = proto->args[i];
            const int regno = static_cast<int>(i + 1);
            if (arg != ArgType::DontCare && arg != ArgType::Anything && st.reg(regno).is_scalar()) need.set_reg(f, regno);
        }
        // A lookup with a constant key may be known to succeed (array maps): the key's spilled value matters.
        if (proto->id == BPF_FUNC_map_lookup_elem && st.reg(BPF_REG_2).type == RegType::PtrToStack &&
            st.reg(BPF_REG_2).var.is_const()) {
            const RegState& key = st.reg(BPF_REG_2);
            const int64_t off = int64_t{key.off} + static_cast<int64_t>(key.var.value());
            if (off >= -StackState::kSize && off < 0) need.set_slot(key.frameno, StackState::slot_of(static_cast<int>(off)));
        }
        need_precise(need);
    }
    return check_helper_call(env_, st, helper_id, pc);
}

// A helper that calls a BPF function back (bpf_loop): as the kernel, the
// path either goes on after the call (no more iterations) or enters the
// callback, whose exit comes back to this call; states at the call converge
// (visit() prunes against the state of an earlier iteration still in
// progress when it covers the current one). At most nr_loops entries are
// explored along one path.
Check Explorer::do_callback_call(Path& p, const isa::Instruction& in) {
    State& st = p.st;
    const uint32_t pc = p.pc;
    const helpers::HelperProto* proto = helpers::find_prototype(static_cast<uint32_t>(in.imm));
    if (!proto) return invalid(fmt::format("invalid func unknown#{} (no helper with this number)", in.imm));
    if (!helpers::allowed_for(*proto, env_.in.prog_type))
        return invalid(fmt::format("program of this type cannot use helper bpf_{}#{} ({} programs may not call it)",
                                   proto->name, proto->id, env_.ctx.name));
    if (proto->privileged_only && !env_.privileged())
        return invalid(fmt::format("program of this type cannot use helper bpf_{}#{} (it needs a privileged load)",
                                   proto->name, proto->id));
    for (int r = BPF_REG_1; r <= BPF_REG_4; ++r)
        if (auto c = check_reg_read(st, r); !c) return c;
    const RegState fn = st.reg(BPF_REG_2);
    const RegState ctx = st.reg(BPF_REG_3);
    if (fn.type != RegType::PtrToFunc)
        return deny(fmt::format("R2 type={} expected=func (bpf_{} needs a static function, e.g. bpf_{}(n, callback, &ctx, 0))",
                                type_name(fn.type), proto->name, proto->name));
    if (fn.off != 0) return deny(fmt::format("dereference of modified func ptr R2 off={} disallowed", fn.off));
    if (!fn.var.is_zero()) return deny(fmt::format("variable func access var_off={} disallowed", fn.var.var_off.str()));
    if (ctx.type != RegType::PtrToStack && !(ctx.is_scalar() && ctx.var.is_zero()))
        return deny(fmt::format("R3 type={} expected=fp (the callback's context must be on the stack, or NULL)",
                                type_name(ctx.type)));
    // The number of iterations bounds the unrolling; flags are read by the helper.
    RegSlotSet need;
    const size_t f = st.frames.size() - 1;
    for (int r : {BPF_REG_1, BPF_REG_3, BPF_REG_4})
        if (st.reg(r).is_scalar()) need.set_reg(f, r);
    need_precise(need);
    const uint64_t iterations = st.reg(BPF_REG_1).is_scalar() ? st.reg(BPF_REG_1).var.umax : ~uint64_t{0};
    if (st.cur().callback_depth < iterations) {
        if (st.frames.size() >= static_cast<size_t>(kMaxCallFrames))
            return fail(E2BIG, fmt::format("the call stack of {} frames is too deep ! (at most {} frames)",
                                           st.frames.size() + 1, kMaxCallFrames));
        Path cb;
        cb.st = st;
        cb.st.cur().callback_depth++;
        Frame callee;
        callee.regs[BPF_REG_1] = RegState::scalar(Scalar::unknown());  // the index, as the kernel: any scalar
        callee.regs[BPF_REG_2] = ctx;
        callee.regs[BPF_REG_10] = RegState::pointer(RegType::PtrToStack);
        callee.regs[BPF_REG_10].frameno = static_cast<uint8_t>(st.frames.size());
        callee.callsite = static_cast<int32_t>(pc);
        callee.subprog = fn.map;
        callee.callback = true;
        cb.st.frames.push_back(std::move(callee));
        cb.pc = env_.cfg.subprog_start[fn.map];
        cb.prev_pc = pc;
        cb.trace = p.trace;
        history_.add_node(p.hist, nullptr, pc);
        cb.hist = p.hist;
        cb.hist.written.slots[cb.st.frames.size() - 1].set();
        push(std::move(cb));
    }
    st.cur().callback_depth = 0;
    for (int r = BPF_REG_1; r <= BPF_REG_5; ++r) st.reg(r) = RegState{};
    st.reg(BPF_REG_0) = RegState::scalar(Scalar::unknown());
    p.pc = pc + 1;
    return {};
}

Check Explorer::do_call_local(Path& p, const isa::Instruction& in) {
    State& st = p.st;
    if (st.frames.size() >= static_cast<size_t>(kMaxCallFrames))
        return fail(E2BIG, fmt::format("the call stack of {} frames is too deep ! (at most {} frames)",
                                       st.frames.size() + 1, kMaxCallFrames));
    const uint32_t tgt = target(in, p.pc);
    Frame callee;
    for (int r = BPF_REG_1; r <= BPF_REG_5; ++r) callee.regs[static_cast<size_t>(r)] = st.reg(r);
    callee.regs[BPF_REG_10] = RegState::pointer(RegType::PtrToStack);
    callee.regs[BPF_REG_10].frameno = static_cast<uint8_t>(st.frames.size());
    callee.callsite = static_cast<int32_t>(p.pc);
    callee.subprog = env_.cfg.subprog_of[tgt];
    st.frames.push_back(std::move(callee));
    p.hist.written.slots[st.frames.size() - 1].set();  // a fresh stack: nothing above is read through it
    p.pc = tgt;
    return {};
}

Check Explorer::do_exit(Path& p, Next& next) {
    State& st = p.st;
    if (auto r = check_reg_read(st, BPF_REG_0); !r) return r;
    const RegState r0 = st.reg(BPF_REG_0);
    if (st.frames.size() > 1 && st.cur().callback) {
        // Back to the helper call, which may call the callback again (the kernel's
        // model of bpf_loop: any number of iterations, up to nr_loops).
        if (r0.type == RegType::PtrToStack) return invalid("cannot return stack pointer to the caller");
        if (!r0.is_scalar()) return deny(fmt::format("R0 not a scalar value (a callback returns 0 or 1, not {})", type_name(r0.type)));
        need_precise_reg(st, BPF_REG_0);
        if (r0.var.smin < 0 || r0.var.smax > 1) {
            std::string has;
            if (r0.var.smin > std::numeric_limits<int64_t>::min()) has += fmt::format(" smin={}", r0.var.smin);
            if (r0.var.smax < std::numeric_limits<int64_t>::max()) has += fmt::format(" smax={}", r0.var.smax);
            if (has.empty()) has = " unknown scalar value";
            return invalid(fmt::format("At callback return the register R0 has{} should have been in [0, 1] "
                                       "(0 continues the loop, 1 stops it)", has));
        }
        history_.last().flags |= HistEntry::kCallbackExit;
        p.pc = static_cast<uint32_t>(st.cur().callsite);
        st.frames.pop_back();
        return {};
    }
    if (st.frames.size() > 1) {
        if (r0.type == RegType::PtrToStack && r0.frameno + 1u == st.frames.size())
            return invalid("cannot return stack pointer to the caller frame");
        if (!r0.is_scalar())
            return invalid(fmt::format("At subprogram exit the register R0 is not a scalar value ({})", type_name(r0.type)));
        const auto ret = static_cast<uint32_t>(st.cur().callsite + 1);
        st.frames.pop_back();
        for (int r = BPF_REG_1; r <= BPF_REG_5; ++r) st.reg(r) = RegState{};
        st.reg(BPF_REG_0) = r0;
        p.pc = ret;
        return {};
    }
    if (auto r = check_no_lock_held(st, "BPF_EXIT instruction in main prog"); !r) return r;
    if (!st.refs.empty())
        return invalid(fmt::format("Unreleased reference id={} alloc_insn={} (submit or discard the ring buffer "
                                   "memory on every path)", st.refs.front().id, st.refs.front().insn));
    // As the kernel: unprivileged programs may not return pointers; privileged
    // ones may, except where the program type constrains the return value.
    if (r0.is_ptr() && !env_.privileged()) return deny("R0 leaks addr as return value");
    if (r0.is_ptr() && env_.ctx.ret_range)
        return invalid(fmt::format("At program exit the register R0 is not a known value ({})", type_name(r0.type)));
    if (env_.ctx.ret_range && r0.is_scalar()) need_precise_reg(st, BPF_REG_0);
    if (env_.ctx.ret_range && (r0.var.smin < env_.ctx.ret_min || r0.var.smax > env_.ctx.ret_max))
        return invalid(fmt::format("At program exit the register R0 has smin={} smax={} should have been in [{}, {}]",
                                   r0.var.smin, r0.var.smax, env_.ctx.ret_min, env_.ctx.ret_max));
    next = Next::EndPath;
    return {};
}

}  // namespace

Check explore(Env& env, ExploreStats& stats) {
    Explorer ex(env, stats);
    return ex.run();
}

}  // namespace bpfrt::verifier
