#include "verifier/explore.hpp"

#include "verifier/checks.hpp"
#include "verifier/hints.hpp"

#include "helpers/prototypes.hpp"

#include <fmt/format.h>

#include <memory>

namespace bpfrt::verifier {
namespace {

using isa::Form;
using isa::Op;

// ---- explored states and their branch counts (the kernel's verifier_state.branches) ----

struct Stored {
    State st;
    Stored* parent = nullptr;
    uint32_t branches = 1;  // live paths below this state; 0 = fully explored
    uint32_t hits = 0, misses = 0;
};

struct Path {
    State st;
    uint32_t pc = 0;
    uint32_t prev_pc = 0;
    Stored* parent = nullptr;
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
    Explorer(Env& env, ExploreStats& stats)
        : env_(env), stats_(stats), at_pc_(env.cfg.size()), last_add_(env.cfg.size(), 0), loop_adds_(env.cfg.size(), 0) {}
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
    Check do_exit(Path& p, Next& next);

    Check visit(Path& p, bool& prune);
    LiveMasks live_masks(const State& st, uint32_t pc) const;
    void end_path(Stored* parent);
    void push(Path&& p);
    uint32_t target(const isa::Instruction& in, uint32_t pc) const {
        return static_cast<uint32_t>(isa::branch_target(in, pc));
    }

    Env& env_;
    ExploreStats& stats_;
    std::vector<std::vector<std::unique_ptr<Stored>>> at_pc_;
    std::vector<Path> pending_;
    uint64_t live_states_ = 0;
    std::vector<uint64_t> last_add_;    // per insn: when a state was last stored
    std::vector<uint32_t> loop_adds_;   // per insn: states stored while a loop is in progress
    Path* cur_ = nullptr;
};

// ---- pruning ----

LiveMasks Explorer::live_masks(const State& st, uint32_t pc) const {
    LiveMasks live(st.frames.size());
    constexpr uint16_t kClobbered = 0x3f;  // R0-R5 are overwritten when the callee returns
    for (size_t f = 0; f < st.frames.size(); ++f) {
        if (f + 1 == st.frames.size()) {
            live[f] = env_.cfg.live_in[pc];
        } else {
            const auto ret = static_cast<size_t>(st.frames[f + 1].callsite + 1);
            live[f] = static_cast<uint16_t>(env_.cfg.live_in[ret] & ~kClobbered);
        }
    }
    return live;
}

Check Explorer::visit(Path& p, bool& prune) {
    prune = false;
    auto& list = at_pc_[p.pc];
    const LiveMasks live = live_masks(p.st, p.pc);
    bool looping = false;
    for (size_t i = 0; i < list.size();) {
        Stored& s = *list[i];
        if (s.branches > 0) {
            if (state_equal(s.st, p.st, live))
                return invalid(fmt::format("infinite loop detected at insn {} (the jump from insn {} returns to it "
                                           "in exactly the same state, so the loop never ends)", p.pc, p.prev_pc));
            looping = true;
            ++i;
            continue;
        }
        if (state_subsumes(s.st, p.st, live)) {
            ++s.hits;
            prune = true;
            return {};
        }
        // Drop explored states that keep failing to match (the kernel's miss heuristic).
        if (++s.misses > s.hits * 3 + 3) {
            list[i] = std::move(list.back());
            list.pop_back();
            --live_states_;
            continue;
        }
        ++i;
    }
    // Inside a loop, checkpoint with exponential back-off: a repeating state is
    // still found (every arrival is compared), and a long loop keeps few states.
    if (looping) {
        const uint64_t gap = uint64_t{16} << std::min<uint32_t>(loop_adds_[p.pc], 40);
        if (stats_.processed - last_add_[p.pc] < gap) return {};
        ++loop_adds_[p.pc];
    } else {
        loop_adds_[p.pc] = 0;
    }
    last_add_[p.pc] = stats_.processed;
    auto node = std::make_unique<Stored>();
    node->st = p.st;
    node->parent = p.parent;
    p.parent = node.get();
    list.push_back(std::move(node));
    ++stats_.total_states;
    ++live_states_;
    stats_.peak_states = std::max(stats_.peak_states, live_states_);
    stats_.max_states_per_insn = std::max<uint64_t>(stats_.max_states_per_insn, list.size());
    return {};
}

void Explorer::end_path(Stored* s) {
    while (s) {
        if (--s->branches > 0) return;
        s = s->parent;
    }
}

void Explorer::push(Path&& p) {
    if (p.parent) ++p.parent->branches;
    pending_.push_back(std::move(p));
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
            end_path(p.parent);
            if (pending_.empty()) return {};
            p = std::move(pending_.back());
            pending_.pop_back();
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
            if (auto r = check_helper_call(env_, st, in.imm, pc); !r) return r;
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
        if (dst.is_scalar()) {  // scalar OP pointer
            if (op == AluOp::Sub) return deny(fmt::format("R{} tried to subtract pointer from scalar", in.dst));
            const RegState scalar = dst;
            return do_ptr_alu(st, in, op, in.src, src, scalar);
        }
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
    if (off.var.smin == std::numeric_limits<int64_t>::min() && !off.var.is_const())
        return deny(fmt::format("math between {} pointer and register with unbounded min value is not allowed", tn));
    RegState res = ptr;
    if (off.var.is_const()) {
        const auto v = static_cast<int64_t>(off.var.value());
        if (v <= -kMaxVarOff || v >= kMaxVarOff)
            return deny(fmt::format("math between {} pointer and {} is not allowed", tn, v));
        const int64_t n = op == AluOp::Add ? int64_t{res.off} + v : int64_t{res.off} - v;
        if (n <= -kMaxVarOff || n >= kMaxVarOff)
            return deny(fmt::format("{} pointer offset {} is not allowed", tn, n));
        res.off = static_cast<int32_t>(n);
    } else {
        res.var = scalar_alu(op, 64, res.var, off.var);
        if (res.var.smin <= -kMaxVarOff)
            return deny(fmt::format("value {} makes {} pointer be out of bounds", res.var.smin, tn));
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
            return check_mem_access(env_, st, in.src, in.off, size, Access::Read, in.dst, sx, {});
        }
        case Form::StoreReg: {
            if (auto r = check_reg_read(st, in.dst); !r) return r;
            if (auto r = check_reg_read(st, in.src); !r) return r;
            StoreValue v;
            v.regno = in.src;
            return check_mem_access(env_, st, in.dst, in.off, size, Access::Write, -1, false, v);
        }
        case Form::StoreImm: {
            if (auto r = check_reg_read(st, in.dst); !r) return r;
            StoreValue v;
            v.imm = static_cast<uint64_t>(static_cast<int64_t>(in.imm));
            return check_mem_access(env_, st, in.dst, in.off, size, Access::Write, -1, false, v);
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
    if (auto r = check_atomic_access(env_, st, in.dst, in.off, size, in.src); !r) return r;
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
    }

    if (taken_ok) {
        Path other;
        other.st = std::move(taken);
        other.pc = tgt;
        other.prev_pc = p.pc;
        other.parent = p.parent;
        other.trace = p.trace;
        if (fall_ok) {
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
    p.pc = tgt;
    return {};
}

Check Explorer::do_exit(Path& p, Next& next) {
    State& st = p.st;
    if (auto r = check_reg_read(st, BPF_REG_0); !r) return r;
    const RegState r0 = st.reg(BPF_REG_0);
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
