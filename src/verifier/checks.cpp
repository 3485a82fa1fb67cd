#include "verifier/checks.hpp"

#include "helpers/prototypes.hpp"

#include <bpfrt/bpf.h>

#include <fmt/format.h>

namespace bpfrt::verifier {
namespace {

constexpr int64_t kMaxVarOff = int64_t{1} << 29;  // BPF_MAX_VAR_OFF

const char* verb(Access kind) { return kind == Access::Read ? "read" : "write"; }

// Strict alignment (BPF_F_STRICT_ALIGNMENT, and always for atomics): the
// kernel's check_generic_ptr_alignment. `desc` is the kernel's pointer_desc.
Check check_alignment(Env& env, const RegState& reg, int64_t off, int size, const char* desc) {
    if (!env.strict() || size <= 1) return {};
    if (tnum_add(reg.var.var_off, Tnum::constant(static_cast<uint64_t>(off))).is_aligned(static_cast<uint64_t>(size)))
        return {};
    return deny(fmt::format("misaligned {}access off {}+{} size {} (a {}-byte access must be {}-byte aligned)", desc,
                            reg.var.var_off.str(), off, size, size, size));
}

// Bounds of [off + var, off + var + size) within [0, region_size). `desc`
// (the kernel's pointer_desc) is set for loads and stores, which are checked
// for alignment too; nullptr for a helper's memory argument, which is not.
Check check_region(Env& env, const RegState& reg, int regno, int64_t off, int size, uint64_t region_size,
                   const char* what, const char* size_name, const char* desc) {
    const Scalar& v = reg.var;
    if (desc)
        if (auto r = check_alignment(env, reg, off, size, desc); !r) return r;
    if (v.smin < 0 && (v.smin == std::numeric_limits<int64_t>::min() || v.smin + off < 0))
        return deny(fmt::format("R{} min value is negative, either use unsigned index or do a if (index >=0) check.", regno));
    const int64_t lo = off + (v.smin > 0 ? v.smin : 0);
    if (lo < 0 || static_cast<uint64_t>(lo) + static_cast<uint64_t>(size) > region_size)
        return deny(fmt::format("invalid access to {}, {}={} off={} size={}", what, size_name, region_size, lo, size));
    if (v.umax >= static_cast<uint64_t>(kMaxVarOff))
        return deny(fmt::format("R{} unbounded memory access, make sure to bounds check any such access", regno));
    const int64_t hi = off + static_cast<int64_t>(v.umax);
    if (hi < 0 || static_cast<uint64_t>(hi) + static_cast<uint64_t>(size) > region_size)
        return deny(fmt::format("invalid access to {}, {}={} off={} size={}", what, size_name, region_size, hi, size));
    return {};
}

// `align`: loads and stores are checked for alignment, helper arguments are not.
Check check_packet(Env& env, const RegState& reg, int regno, int64_t off, int size, Access kind, bool align) {
    if (kind == Access::Write && !env.ctx.pkt_write)
        return deny(fmt::format("cannot write into packet (R{}): {} programs may only read it", regno, env.ctx.name));
    if (reg.var.smin < 0)
        return deny(fmt::format("R{} min value is negative, either use unsigned index or do a if (index >=0) check.", regno));
    if (off < 0 || off + size > static_cast<int64_t>(reg.range))
        return deny(fmt::format("invalid access to packet, off={} size={}, R{}(id={},off={},r={}) "
                                "(compare the pointer with data_end before accessing {} bytes at offset {})",
                                off, size, regno, reg.id, reg.off, reg.range, size, off));
    // NET_IP_ALIGN: the kernel places packets 2 bytes after an aligned address.
    if (align && env.strict() && size > 1 &&
        !tnum_add(reg.var.var_off, Tnum::constant(static_cast<uint64_t>(2 + off))).is_aligned(static_cast<uint64_t>(size)))
        return deny(fmt::format("misaligned packet access off 2+{}+{} size {} (packet data starts 2 bytes after an "
                                "aligned address, NET_IP_ALIGN)", reg.var.var_off.str(), off, size));
    return {};
}

Check check_leak(Env& env, const State& st, const StoreValue& value, const char* where) {
    if (env.privileged() || value.regno < 0) return {};
    if (st.reg(value.regno).is_ptr()) return deny(fmt::format("R{} leaks addr into {}", value.regno, where));
    return {};
}

RegState loaded_scalar(int size, bool sign_extend) {
    const unsigned bits = static_cast<unsigned>(size) * 8;
    return RegState::scalar(sign_extend ? Scalar::unknown_signed_bits(bits) : Scalar::unknown_bits(bits));
}

// ---- stack ----

Check stack_write(Env& env, State& st, uint8_t frameno, int off, int size, const StoreValue& value) {
    Frame& fr = st.frames[frameno];
    StackSlot& slot = fr.stack.slot_mut(StackState::slot_of(off));
    const RegState* src = value.regno >= 0 ? &st.reg(value.regno) : nullptr;
    if (!env.privileged() && slot.is_spill() && slot.spilled.is_ptr() && size != 8)
        return deny("attempt to corrupt spilled pointer on stack");
    if (src && src->is_ptr() && size != 8) return deny(fmt::format("invalid size of register spill (R{} holds a pointer; spill it with an 8-byte store)", value.regno));
    if (src && src->type == RegType::PtrToStack && frameno + 1u != st.frames.size())
        return invalid("cannot spill pointers to stack into stack frame of the caller");
    if (size == 8) {
        slot.bytes.fill(SlotType::Spill);
        // A store of unknown data (the result of an atomic) spills an unknown scalar.
        slot.spilled = src ? *src : RegState::scalar(value.imm ? Scalar::constant(*value.imm) : Scalar::unknown());
        return {};
    }
    const bool zero = src ? src->is_const() && src->var.value() == 0 : (value.imm && *value.imm == 0);
    if (slot.is_spill()) slot.scrub();  // a partial write destroys the spilled register
    // A narrower scalar store at a slot's start keeps the value (privileged;
    // the kernel's narrow spill, e.g. a u32 loop counter whose address is taken).
    if (env.privileged() && !zero && StackState::byte_of(off) == 0 && (src ? src->is_scalar() : value.imm.has_value())) {
        RegState v = src ? *src : RegState::scalar(Scalar::constant(*value.imm));
        if (v.var.umax > (uint64_t{1} << (8 * size)) - 1) v.id = 0;  // only its low bytes are stored
        for (int i = 0; i < size; ++i) slot.bytes[static_cast<size_t>(i)] = SlotType::Spill;
        slot.spilled = v;
        return {};
    }
    for (int i = 0; i < size; ++i) slot.bytes[StackState::byte_of(off + i)] = zero ? SlotType::Zero : SlotType::Misc;
    return {};
}

// Unprivileged reads below the deepest byte this frame has written so far (the
// kernel's allocated_stack, in 8-byte slots) are out of bounds in the kernel.
Check check_read_allocated(const Env& env, const StackState& stack, int regno, int64_t off, int size) {
    if (env.privileged() || off >= -static_cast<int64_t>(stack.size() * 8)) return {};
    return deny(fmt::format("invalid read from stack R{} off={} size={} (nothing was written to the stack at offset "
                            "{} before this read)", regno, off, size, off));
}

Check stack_read(Env& env, State& st, uint8_t frameno, int off, int size, int dst, bool sign_extend, int regno) {
    const Frame& fr = st.frames[frameno];
    if (auto r = check_read_allocated(env, fr.stack, regno, off, size); !r) return r;
    const StackSlot* slot = fr.stack.slot(StackState::slot_of(off));
    if (slot && slot->is_spill() && slot->spill_size() < 8 && StackState::byte_of(off) == 0 &&
        static_cast<size_t>(size) <= slot->spill_size()) {
        // A fill from a narrow spill: the value's low bytes.
        if (dst < 0) return {};
        RegState v = slot->spilled;
        const unsigned bits = static_cast<unsigned>(size) * 8;
        const uint64_t fits = sign_extend ? (uint64_t{1} << (bits - 1)) - 1 : (uint64_t{1} << bits) - 1;
        if (v.var.umax > fits) v.id = 0;  // truncated or sign-extended: no longer the same value
        v.var = sign_extend ? v.var.sign_extend(bits) : v.var.truncate(bits);
        st.reg(dst) = v;
        return {};
    }
    if (slot && slot->is_spill() && slot->spill_size() == 8) {
        const RegState spilled = slot->spilled;
        if (size != 8 && spilled.is_ptr())
            return deny(fmt::format("invalid size of register fill (a {}-byte read of a spilled {} pointer)", size, type_name(spilled.type)));
        if (dst < 0) return {};
        if (size == 8) {
            st.reg(dst) = spilled;
        } else if (spilled.is_const()) {
            const unsigned shift = static_cast<unsigned>(StackState::byte_of(off)) * 8;
            const Scalar v = Scalar::constant(spilled.var.value() >> shift).truncate(static_cast<unsigned>(size) * 8);
            st.reg(dst) = RegState::scalar(sign_extend ? v.sign_extend(static_cast<unsigned>(size) * 8) : v);
        } else {
            st.reg(dst) = loaded_scalar(size, sign_extend);
        }
        return {};
    }
    bool all_zero = true;
    for (int i = 0; i < size; ++i) {
        const SlotType t = fr.stack.byte_type(off + i);
        if (t == SlotType::Invalid && !env.privileged())
            return deny(fmt::format("invalid read from stack off {}+{} size {} (byte {} was never written)", off, i, size, off + i));
        if (t != SlotType::Zero) all_zero = false;
    }
    if (dst >= 0) st.reg(dst) = all_zero ? RegState::scalar(Scalar::constant(0)) : loaded_scalar(size, sign_extend);
    return {};
}

// A store at a variable offset (privileged only): any byte of the range may be
// written, so every byte becomes data (zero only where it already was and
// zero is written) and spilled registers in the range are lost.
Check stack_write_var(Env& env, State& st, uint8_t frameno, int64_t lo, int64_t hi, const StoreValue& value) {
    const RegState* src = value.regno >= 0 ? &st.reg(value.regno) : nullptr;
    if (src && src->is_ptr())
        return deny(fmt::format("R{} spill of a pointer at a variable stack offset is not allowed", value.regno));
    const bool zero = src ? src->is_const() && src->var.value() == 0 : (value.imm && *value.imm == 0);
    Frame& fr = st.frames[frameno];
    for (int64_t a = lo; a < hi; ++a) {
        StackSlot& slot = fr.stack.slot_mut(StackState::slot_of(static_cast<int>(a)));
        if (slot.is_spill()) {
            slot.bytes.fill(SlotType::Misc);
            slot.spilled = {};
        }
        SlotType& t = slot.bytes[StackState::byte_of(static_cast<int>(a))];
        t = zero && t == SlotType::Zero ? SlotType::Zero : SlotType::Misc;
    }
    (void)env;
    return {};
}

// A load at a variable offset (privileged only): an unknown scalar, or zero
// when every byte it may read is known zero.
Check stack_read_var(State& st, uint8_t frameno, int64_t lo, int64_t hi, int size, int dst, bool sign_extend) {
    const Frame& fr = st.frames[frameno];
    bool all_zero = true;
    for (int64_t a = lo; a < hi; ++a)
        if (fr.stack.byte_type(static_cast<int>(a)) != SlotType::Zero) all_zero = false;
    if (dst >= 0) st.reg(dst) = all_zero ? RegState::scalar(Scalar::constant(0)) : loaded_scalar(size, sign_extend);
    return {};
}

Check stack_access(Env& env, State& st, const RegState& reg, int regno, int insn_off, int size, Access kind, int dst,
                   bool sign_extend, const StoreValue& value) {
    const int64_t fixed = int64_t{reg.off} + insn_off;
    // The stack is always strictly aligned, as in the kernel.
    if (!tnum_add(reg.var.var_off, Tnum::constant(static_cast<uint64_t>(fixed))).is_aligned(static_cast<uint64_t>(size)))
        return deny(fmt::format("misaligned stack access off {}+{}+{} size {} (a {}-byte stack access must be "
                                "{}-byte aligned)", reg.var.var_off.str(), reg.off, insn_off, size, size, size));
    if (!reg.var.is_const()) {
        if (!env.privileged())
            return deny(fmt::format("R{} variable stack access prohibited for !root, var_off={}", regno, reg.var.var_off.str()));
        if (reg.var.smin <= -kMaxVarOff || reg.var.smax >= kMaxVarOff)
            return deny(fmt::format("invalid unbounded variable-offset {} stack R{}", verb(kind), regno));
        const int64_t lo = fixed + reg.var.smin;
        const int64_t hi = fixed + reg.var.smax + size;
        if (lo < -StackState::kSize || hi > 0)
            return deny(fmt::format("invalid variable-offset {} {} stack R{} var_off={} off={} size={} (the access "
                                    "may reach [{}, {}), the stack is [-512, 0))", verb(kind),
                                    kind == Access::Read ? "from" : "to", regno, reg.var.var_off.str(), insn_off, size,
                                    lo, hi));
        env.note_stack(st, reg.frameno, static_cast<int>(lo));
        if (kind == Access::Write) return stack_write_var(env, st, reg.frameno, lo, hi, value);
        return stack_read_var(st, reg.frameno, lo, hi, size, dst, sign_extend);
    }
    const int64_t off = fixed + static_cast<int64_t>(reg.var.value());
    if (off < -StackState::kSize || off + size > 0)
        return deny(fmt::format("invalid {} {} stack R{} off={} size={} (the stack is [-512, 0))",
                                verb(kind), kind == Access::Read ? "from" : "to", regno, off, size));
    env.note_stack(st, reg.frameno, static_cast<int>(off));
    if (kind == Access::Write) return stack_write(env, st, reg.frameno, static_cast<int>(off), size, value);
    return stack_read(env, st, reg.frameno, static_cast<int>(off), size, dst, sign_extend, regno);
}

// ---- context ----

Check ctx_access(Env& env, State& st, const RegState& reg, int regno, int insn_off, int size, Access kind, int dst,
                 bool sign_extend, const StoreValue& value) {
    if (auto r = check_alignment(env, reg, int64_t{reg.off} + insn_off, size, "context "); !r) return r;
    if (auto r = check_ctx_reg(reg, regno); !r) return r;
    const CtxAccessResult r = env.ctx.access(insn_off, size, kind == Access::Write, env.privileged(), env.in.ctx_size);
    if (!r.ok)
        return deny(fmt::format("invalid bpf_context access off={} size={} ({} {} of {} for {} programs is not allowed)",
                                insn_off, size, size, kind == Access::Read ? "byte read" : "byte write", env.ctx.ctx_name,
                                env.ctx.name));
    env.note_ctx_access(insn_off, size, kind == Access::Write);
    if (kind == Access::Write) return check_leak(env, st, value, "ctx");
    if (dst < 0) return {};
    if (r.loaded == RegType::Scalar) {
        st.reg(dst) = loaded_scalar(size, sign_extend);
    } else {
        st.reg(dst) = RegState::pointer(r.loaded);
        if (maybe_null(r.loaded)) st.reg(dst).id = env.new_id();
    }
    return {};
}

constexpr int64_t kSpinLockSize = 4;  // sizeof(struct bpf_spin_lock)

// The lock inside a map value belongs to bpf_spin_lock/unlock: no load,
// store or helper may touch its bytes (the kernel's check_map_access).
// Called once the access is known to be within the value.
Check check_lock_overlap(const MapInfo& m, const RegState& reg, int64_t off, int size) {
    if (m.spin_lock_off < 0 || size <= 0) return {};
    const int64_t lock = m.spin_lock_off;
    const int64_t lo = reg.var.smin + off;
    const int64_t hi = static_cast<int64_t>(reg.var.umax) + off + size;
    if (lo < lock + kSpinLockSize && lock < hi)
        return deny(fmt::format("bpf_spin_lock cannot be accessed directly by load/store (bytes [{}, {}) of the "
                                "value hold its lock; only bpf_spin_lock/bpf_spin_unlock may use them)",
                                lock, lock + kSpinLockSize));
    return {};
}

// A map value the program may only write, or only read (BPF_F_RDONLY_PROG,
// BPF_F_WRONLY_PROG, frozen .rodata): the kernel's check_map_access_type.
Check check_map_access_type(const MapInfo& m, int64_t off, int size, Access kind) {
    const bool read_only = m.frozen || (m.map_flags & BPF_F_RDONLY_PROG) != 0;
    if (kind == Access::Write && read_only)
        return deny(fmt::format("write into map forbidden, value_size={} off={} size={} (the map is read-only for "
                                "programs)", m.value_size, off, size));
    if (kind == Access::Read && (m.map_flags & BPF_F_WRONLY_PROG) != 0)
        return deny(fmt::format("read from map forbidden, value_size={} off={} size={} (the map is write-only for "
                                "programs)", m.value_size, off, size));
    return {};
}

}  // namespace

Check check_ctx_reg(const RegState& reg, int regno) {
    if (reg.off != 0)
        return deny(fmt::format("dereference of modified ctx ptr R{} off={} disallowed (use the context pointer the "
                                "program received, without adding to it)", regno, reg.off));
    if (!reg.var.is_zero())
        return deny(fmt::format("variable ctx access var_off={} disallowed (the context can only be accessed at "
                                "constant offsets)", reg.var.var_off.str()));
    return {};
}

Check check_reg_read(const State& st, int regno) {
    if (!st.reg(regno).is_init())
        return deny(fmt::format("R{} !read_ok (R{} is read before anything was written to it)", regno, regno));
    return {};
}

Check check_reg_write(int regno) {
    if (regno == BPF_REG_10) return deny("frame pointer is read only (R10 cannot be written)");
    return {};
}

Check check_mem_access(Env& env, State& st, int ptr_regno, int insn_off, int size, Access kind, int dst_regno,
                       bool sign_extend, const StoreValue& value) {
    const RegState reg = st.reg(ptr_regno);
    const int64_t off = static_cast<int64_t>(reg.off) + insn_off;
    switch (reg.type) {
        case RegType::PtrToStack:
            return stack_access(env, st, reg, ptr_regno, insn_off, size, kind, dst_regno, sign_extend, value);
        case RegType::PtrToCtx:
            return ctx_access(env, st, reg, ptr_regno, insn_off, size, kind, dst_regno, sign_extend, value);
        case RegType::PtrToMapValue: {
            const MapInfo& m = env.maps[reg.map].info;
            if (auto r = check_map_access_type(m, off, size, kind); !r) return r;
            if (kind == Access::Write)
                if (auto r = check_leak(env, st, value, "map"); !r) return r;
            if (auto r = check_region(env, reg, ptr_regno, off, size, m.value_size, "map value", "value_size", "value "); !r) return r;
            if (auto r = check_lock_overlap(m, reg, off, size); !r) return r;
            break;
        }
        case RegType::PtrToMem: {
            if (kind == Access::Write)
                if (auto r = check_leak(env, st, value, "mem"); !r) return r;
            if (auto r = check_region(env, reg, ptr_regno, off, size, reg.mem_size, "memory", "mem_size", ""); !r) return r;
            break;
        }
        case RegType::PtrToPacket:
        case RegType::PtrToPacketMeta: {
            if (kind == Access::Write)
                if (auto r = check_leak(env, st, value, "packet"); !r) return r;
            if (auto r = check_packet(env, reg, ptr_regno, off, size, kind, true); !r) return r;
            break;
        }
        case RegType::PtrToMapValueOrNull:
        case RegType::PtrToMemOrNull:
        case RegType::PtrToSockCommonOrNull:
            return deny(fmt::format("R{} invalid mem access '{}' (R{} may be NULL: add a NULL check, "
                                    "e.g. if (!ptr) return 0; after bpf_map_lookup_elem)",
                                    ptr_regno, type_name(reg.type), ptr_regno));
        default:
            return deny(fmt::format("R{} invalid mem access '{}' (R{} is not a pointer to memory the program may {})",
                                    ptr_regno, type_name(reg.type), ptr_regno, verb(kind)));
    }
    if (kind == Access::Read && dst_regno >= 0) st.reg(dst_regno) = loaded_scalar(size, sign_extend);
    return {};
}

Check check_atomic_access(Env& env, State& st, int ptr_regno, int off, int size, int src_regno) {
    const RegState reg = st.reg(ptr_regno);
    if (!env.privileged() && st.reg(src_regno).is_ptr())
        return deny(fmt::format("R{} leaks addr into mem", src_regno));
    if (reg.type == RegType::PtrToCtx || is_packet(reg.type))
        return deny(fmt::format("BPF_ATOMIC stores into R{} {} is not allowed", ptr_regno, type_name(reg.type)));
    if (reg.type == RegType::PtrToStack && reg.var.is_const()) {
        const int64_t a = reg.off + static_cast<int64_t>(reg.var.value()) + off;
        if (a >= -StackState::kSize && a < 0) {
            const StackSlot* slot = st.frames[reg.frameno].stack.slot(StackState::slot_of(static_cast<int>(a)));
            if (slot && slot->is_spill() && slot->spilled.is_ptr())
                return deny(fmt::format("atomic operation on a stack slot holding a spilled pointer (R{} off={})", ptr_regno, a));
        }
    }
    // Atomics are always strictly aligned, as in the kernel (strict_alignment_once).
    const bool was_strict = env.force_strict;
    env.force_strict = true;
    auto restore = [&](Check r) {
        env.force_strict = was_strict;
        return r;
    };
    if (auto r = check_mem_access(env, st, ptr_regno, off, size, Access::Read, -1, false, {}); !r) return restore(r);
    StoreValue v;
    v.regno = -1;
    v.imm.reset();  // unknown data: the result of the operation
    return restore(check_mem_access(env, st, ptr_regno, off, size, Access::Write, -1, false, v));
}

// ---- helper calls ----

namespace {

using helpers::ArgType;
using helpers::HelperProto;
using helpers::RetType;

struct CallMeta {
    int map = -1;
    int mem_regno = -1;      // the memory argument the next size argument belongs to
    bool mem_write = false;
    bool mem_null = false;   // the memory argument is NULL (allowed with size 0)
    uint64_t alloc_size = 0;
    uint32_t release_ref = 0;
    uint32_t pc = 0;         // the call
};

bool is_mem_type(RegType t) {
    return t == RegType::PtrToStack || is_packet(t) || t == RegType::PtrToMapValue || t == RegType::PtrToMem;
}

Check helper_mem(Env& env, State& st, int regno, uint64_t size, bool write) {
    const RegState reg = st.reg(regno);
    const int sz = static_cast<int>(size);
    switch (reg.type) {
        case RegType::PtrToStack: {
            if (!reg.var.is_const())
                return deny(fmt::format("R{} variable offset stack access prohibited for helper arguments", regno));
            const int64_t off = reg.off + static_cast<int64_t>(reg.var.value());
            if (off < -StackState::kSize || off + sz > 0 || (off >= 0 && sz > 0))
                return deny(fmt::format("invalid {} stack R{} off={} size={} (the helper {} {} bytes at offset {}; "
                                        "the stack is [-512, 0))", write ? "write to" : "read from", regno, off, sz,
                                        write ? "writes" : "reads", sz, off));
            if (sz == 0) return {};
            if (!write)
                if (auto r = check_read_allocated(env, st.frames[reg.frameno].stack, regno, off, sz); !r) return r;
            env.note_stack(st, reg.frameno, static_cast<int>(off));
            Frame& fr = st.frames[reg.frameno];
            for (int i = 0; i < sz; ++i) {
                const int a = static_cast<int>(off) + i;
                StackSlot& slot = fr.stack.slot_mut(StackState::slot_of(a));
                if (write) {
                    if (slot.is_spill()) {
                        if (slot.spilled.is_ptr() && !env.privileged())
                            return deny("attempt to corrupt spilled pointer on stack");
                        slot.bytes.fill(SlotType::Misc);
                        slot.spilled = {};
                    }
                    slot.bytes[StackState::byte_of(a)] = SlotType::Misc;
                    continue;
                }
                const SlotType t = slot.bytes[StackState::byte_of(a)];
                const bool ok = t == SlotType::Misc || t == SlotType::Zero ||
                                (t == SlotType::Spill && (slot.spilled.is_scalar() || env.privileged())) ||
                                (t == SlotType::Invalid && env.privileged());
                if (!ok)
                    return deny(fmt::format("invalid read from stack R{} off {}+{} size {} (byte {} was never "
                                            "written, or holds a pointer)", regno, off, i, sz, a));
            }
            return {};
        }
        case RegType::PtrToMapValue: {
            const MapInfo& m = env.maps[reg.map].info;
            if (auto r = check_map_access_type(m, reg.off, sz, write ? Access::Write : Access::Read); !r) return r;
            if (auto r = check_region(env, reg, regno, reg.off, sz, m.value_size, "map value", "value_size", nullptr); !r)
                return r;
            return check_lock_overlap(m, reg, reg.off, sz);
        }
        case RegType::PtrToMem: return check_region(env, reg, regno, reg.off, sz, reg.mem_size, "memory", "mem_size", nullptr);
        case RegType::PtrToPacket:
        case RegType::PtrToPacketMeta:
            return check_packet(env, reg, regno, reg.off, sz, write ? Access::Write : Access::Read, false);
        default:
            return deny(fmt::format("R{} type={} expected=fp, pkt, pkt_meta, map_value, mem", regno, type_name(reg.type)));
    }
}

// bpf_spin_lock / bpf_spin_unlock (the kernel's process_spin_lock): the
// argument points at the lock of a map value whose type BTF describes; one
// lock at a time, released through a pointer to the same element.
Check process_spin_lock(Env& env, State& st, const RegState& reg, int regno, bool lock, uint32_t pc) {
    const char* fn = lock ? "bpf_spin_lock" : "bpf_spin_unlock";
    if (reg.type != RegType::PtrToMapValue)
        return deny(fmt::format("R{} type={} expected=map_value ({} takes a pointer to the struct bpf_spin_lock "
                                "of a map value)", regno, type_name(reg.type), fn));
    if (!reg.var.is_const())
        return invalid(fmt::format("R{} doesn't have constant offset. bpf_spin_lock has to be at the constant offset",
                                   regno));
    const MapInfo& m = env.maps[reg.map].info;
    if (!m.btf)
        return invalid("map has to have BTF in order to use bpf_spin_lock (define it with __type(value, ...) in "
                       "SEC(\".maps\"))");
    if (m.spin_lock_off < 0)
        return invalid("map has no valid bpf_spin_lock (its value type has no struct bpf_spin_lock field)");
    const int64_t off = reg.off + static_cast<int64_t>(reg.var.value());
    if (off != m.spin_lock_off)
        return invalid(fmt::format("off {} doesn't point to 'struct bpf_spin_lock' that is at {}", off,
                                   m.spin_lock_off));
    if (lock) {
        if (st.lock) return invalid("Locking two bpf_spin_locks are not allowed");
        st.lock = HeldLock{reg.map, reg.id, pc};
        return {};
    }
    if (!st.lock) return invalid("bpf_spin_unlock without taking a lock");
    if (st.lock->map != reg.map || st.lock->id != reg.id)
        return invalid(fmt::format("bpf_spin_unlock of different lock (the lock taken at insn {} belongs to another "
                                   "map element)", st.lock->insn));
    st.lock.reset();
    return {};
}

Check check_size_arg(Env& env, State& st, int regno, ArgType arg, CallMeta& meta) {
    const RegState& reg = st.reg(regno);
    if (!reg.is_scalar()) return deny(fmt::format("R{} type={} expected=scalar (a size)", regno, type_name(reg.type)));
    if (reg.var.smin < 0)
        return deny(fmt::format("R{} min value is negative, either use unsigned or 'var &= const'", regno));
    if (reg.var.umax == 0 && arg == ArgType::ConstSize)
        return deny(fmt::format("R{} invalid zero-sized read", regno));
    if (reg.var.umax >= static_cast<uint64_t>(kMaxVarOff))
        return deny(fmt::format("R{} unbounded memory access, use 'var &= const' or 'if (var < const)'", regno));
    if (meta.mem_null) {
        if (reg.var.umax != 0) return deny(fmt::format("R{} NULL pointer passed with a non-zero size R{}", meta.mem_regno, regno));
        return {};
    }
    if (reg.var.umax == 0) return {};
    return helper_mem(env, st, meta.mem_regno, reg.var.umax, meta.mem_write);
}

Check check_arg(Env& env, State& st, const HelperProto& proto, int regno, ArgType arg, CallMeta& meta) {
    if (arg == ArgType::DontCare) return {};
    if (auto r = check_reg_read(st, regno); !r) return r;
    const RegState reg = st.reg(regno);
    auto expect = [&](std::string_view what) {
        return deny(fmt::format("R{} type={} expected={}", regno, type_name(reg.type), what));
    };
    switch (arg) {
        case ArgType::DontCare: return {};
        case ArgType::Anything:
            if (!env.privileged() && reg.is_ptr()) return deny(fmt::format("R{} leaks addr into helper function", regno));
            return {};
        case ArgType::ConstMapPtr: {
            if (reg.type != RegType::ConstPtrToMap) return expect("map_ptr");
            meta.map = static_cast<int>(reg.map);
            const uint32_t mt = env.maps[reg.map].info.type;
            if (!helpers::map_compatible(proto, mt))
                return invalid(fmt::format("cannot pass map_type {} into func bpf_{}#{}", mt, proto.name, proto.id));
            return {};
        }
        case ArgType::PtrToMapKey:
        case ArgType::PtrToMapValue:
        case ArgType::PtrToUninitMapValue: {
            if (meta.map < 0) return deny("invalid map_ptr to access map->key");
            if (!is_mem_type(reg.type) || reg.type == RegType::PtrToMem) return expect("fp, pkt, pkt_meta, map_value");
            const MapInfo& m = env.maps[static_cast<size_t>(meta.map)].info;
            const bool key = arg == ArgType::PtrToMapKey;
            return helper_mem(env, st, regno, key ? m.key_size : m.value_size, arg == ArgType::PtrToUninitMapValue);
        }
        case ArgType::PtrToCtx:
            if (reg.type != RegType::PtrToCtx) return expect("ctx");
            return check_ctx_reg(reg, regno);
        case ArgType::PtrToMem:
        case ArgType::PtrToMemOrNull:
        case ArgType::PtrToUninitMem:
            meta.mem_regno = regno;
            meta.mem_write = arg == ArgType::PtrToUninitMem;
            meta.mem_null = arg == ArgType::PtrToMemOrNull && reg.is_const() && reg.var.value() == 0;
            if (meta.mem_null) return {};
            if (!is_mem_type(reg.type)) return expect("fp, pkt, pkt_meta, map_value, mem");
            return {};
        case ArgType::ConstSize:
        case ArgType::ConstSizeOrZero: return check_size_arg(env, st, regno, arg, meta);
        case ArgType::ConstAllocSizeOrZero:
            if (!reg.is_const()) return deny(fmt::format("R{} is not a known constant (the size to reserve must be a constant)", regno));
            meta.alloc_size = reg.var.value();
            return {};
        case ArgType::PtrToAllocMem:
            if (reg.type == RegType::PtrToMemOrNull && reg.ref_obj_id != 0)
                return deny(fmt::format("R{} type=ringbuf_mem_or_null expected=ringbuf_mem (the record from "
                                        "bpf_ringbuf_reserve may be NULL: check it before submitting)", regno));
            if (reg.type != RegType::PtrToMem || reg.ref_obj_id == 0) return expect("ringbuf_mem (from bpf_ringbuf_reserve, NULL-checked)");
            if (reg.off != 0 || !reg.var.is_zero())
                return deny(fmt::format("R{} must have zero offset when passed to release func", regno));
            meta.release_ref = reg.ref_obj_id;
            return {};
        case ArgType::PtrToSpinLock: return process_spin_lock(env, st, reg, regno, proto.id == BPF_FUNC_spin_lock, meta.pc);
        case ArgType::PtrToFunc:
        case ArgType::PtrToStackOrNull:  // callback-calling helpers are checked by the explorer (explore.cpp)
            return invalid(fmt::format("R{} callback argument of bpf_{} outside a callback call", regno, proto.name));
    }
    return {};
}

// The key of a lookup when it is a known constant on the stack (the kernel's
// get_constant_map_key, privileged only): bytes known zero, or an 8-byte
// spilled constant of the key's size.
std::optional<uint64_t> constant_map_key(const Env& env, const State& st, const RegState& key, uint32_t key_size) {
    if (!env.privileged() || key.type != RegType::PtrToStack || !key.var.is_const() || key_size == 0) return std::nullopt;
    const int64_t off = key.off + static_cast<int64_t>(key.var.value());
    if (off < -StackState::kSize || off + key_size > 0) return std::nullopt;
    const StackState& stack = st.frames[key.frameno].stack;
    const size_t slot = StackState::slot_of(static_cast<int>(off));
    if (StackState::slot_of(static_cast<int>(off + key_size - 1)) != slot) return std::nullopt;
    bool zero = true;
    for (uint32_t i = 0; i < key_size; ++i)
        if (stack.byte_type(static_cast<int>(off + i)) != SlotType::Zero) zero = false;
    if (zero) return 0;
    const StackSlot* s = stack.slot(slot);
    if (s && s->is_spill() && s->spill_size() == key_size && StackState::byte_of(static_cast<int>(off)) == 0 &&
        s->spilled.is_const())
        return key_size == 8 ? s->spilled.var.value() : s->spilled.var.value() & ((uint64_t{1} << (8 * key_size)) - 1);
    return std::nullopt;
}

// bpf_map_lookup_elem on an array with a constant in-range key cannot fail
// (the kernel's can_elide_value_nullness, Linux 6.13+).
bool lookup_never_null(const Env& env, const State& st, const HelperProto& proto, int map) {
    if (proto.id != BPF_FUNC_map_lookup_elem || map < 0) return false;
    const MapInfo& m = env.maps[static_cast<size_t>(map)].info;
    if (m.type != BPF_MAP_TYPE_ARRAY && m.type != BPF_MAP_TYPE_PERCPU_ARRAY) return false;
    if (m.map_flags & BPF_F_INNER_MAP) return false;  // an inner map of any size may stand in its place
    const std::optional<uint64_t> key = constant_map_key(env, st, st.reg(BPF_REG_2), m.key_size);
    return key && *key < m.max_entries;
}

void clear_packet_pointers(State& st) {
    st.for_each_reg([](RegState& r) {
        if (is_packet(r.type) || r.type == RegType::PtrToPacketEnd) r = RegState::scalar(Scalar::unknown());
    });
}

void release_reference(Env& env, State& st, uint32_t ref) {
    std::erase_if(st.refs, [&](const Reference& r) { return r.id == ref; });
    const bool priv = env.privileged();
    st.for_each_reg([&](RegState& r) {
        if (r.ref_obj_id == ref) r = priv ? RegState::scalar(Scalar::unknown()) : RegState{};
    });
}

}  // namespace

Check check_helper_call(Env& env, State& st, int32_t helper_id, size_t pc) {
    if (st.lock && helper_id != BPF_FUNC_spin_unlock)
        return invalid(fmt::format("function calls are not allowed while holding a lock (the bpf_spin_lock of "
                                   "insn {}; call bpf_spin_unlock first)", st.lock->insn));
    const HelperProto* proto = helpers::find_prototype(static_cast<uint32_t>(helper_id));
    if (!proto)
        for (const HelperProto& host : env.in.host_helpers)
            if (host.id == static_cast<uint32_t>(helper_id)) proto = &host;
    if (helper_id == 0)
        return invalid("program of this type cannot use helper bpf_unspec#0 (helper number 0 does not exist)");
    if (!proto) return invalid(fmt::format("invalid func unknown#{} (no helper with this number)", helper_id));
    if (!helpers::allowed_for(*proto, env.in.prog_type))
        return invalid(fmt::format("program of this type cannot use helper bpf_{}#{} ({} programs may not call it)",
                                   proto->name, proto->id, env.ctx.name));
    if (proto->privileged_only && !env.privileged())
        return invalid(fmt::format("program of this type cannot use helper bpf_{}#{} (it needs a privileged load)",
                                   proto->name, proto->id));
    if (proto->gpl_only && !helpers::is_gpl_compatible(env.in.license))
        return invalid(fmt::format("cannot call GPL-restricted function from non-GPL compatible program "
                                   "(bpf_{} needs a GPL-compatible license, the program's is \"{}\")",
                                   proto->name, env.in.license));
    if (proto->id == BPF_FUNC_tail_call && !st.refs.empty())
        return invalid("tail_call would lead to reference leak (submit or discard reserved ring buffer memory first)");
    CallMeta meta;
    meta.pc = static_cast<uint32_t>(pc);
    for (unsigned i = 0; i < helpers::kMaxArgs; ++i)
        if (auto r = check_arg(env, st, *proto, static_cast<int>(i + 1), proto->args[i], meta); !r) return r;

    const bool never_null = lookup_never_null(env, st, *proto, meta.map);
    if (proto->changes_pkt_data) clear_packet_pointers(st);
    if (meta.release_ref) release_reference(env, st, meta.release_ref);
    for (int r = BPF_REG_1; r <= BPF_REG_5; ++r) st.reg(r) = RegState{};
    RegState& r0 = st.reg(BPF_REG_0);
    switch (proto->ret) {
        case RetType::Integer: r0 = RegState::scalar(Scalar::unknown()); break;
        case RetType::Void: r0 = RegState{}; break;
        case RetType::PtrToMapValueOrNull:
            r0 = RegState::pointer(never_null ? RegType::PtrToMapValue : RegType::PtrToMapValueOrNull);
            r0.map = static_cast<uint32_t>(meta.map);
            if (!never_null || keeps_value_id(env, r0)) r0.id = env.new_id();
            break;
        case RetType::PtrToAllocMemOrNull:
            r0 = RegState::pointer(RegType::PtrToMemOrNull);
            r0.mem_size = static_cast<uint32_t>(meta.alloc_size);
            r0.id = env.new_id();
            r0.ref_obj_id = r0.id;
            st.refs.push_back({r0.id, static_cast<uint32_t>(pc)});
            break;
    }
    return {};
}

// ---- bpf_spin_lock ----

bool keeps_value_id(const Env& env, const RegState& reg) {
    return reg.type == RegType::PtrToMapValue && reg.map < env.maps.size() && env.maps[reg.map].info.spin_lock_off >= 0;
}

Check check_no_lock_held(const State& st, std::string_view what) {
    if (!st.lock) return {};
    return invalid(fmt::format("{} cannot be used inside bpf_spin_lock-ed region (the lock taken at insn {} is "
                               "still held: call bpf_spin_unlock first)", what, st.lock->insn));
}

Check check_map_prog_compat(const Env& env, const MapInfo& map) {
    if (map.spin_lock_off < 0) return {};
    const uint32_t t = env.in.prog_type;
    if (t == BPF_PROG_TYPE_SOCKET_FILTER) return invalid("socket filter progs cannot use bpf_spin_lock yet");
    if (t == BPF_PROG_TYPE_KPROBE || t == BPF_PROG_TYPE_TRACEPOINT || t == BPF_PROG_TYPE_PERF_EVENT ||
        t == BPF_PROG_TYPE_RAW_TRACEPOINT || t == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE)
        return invalid("tracing progs cannot use bpf_spin_lock yet");
    return {};
}

}  // namespace bpfrt::verifier
