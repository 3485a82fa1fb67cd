// Abstract scalar values: signed and unsigned 64- and 32-bit ranges plus known
// bits, kept consistent with the kernel's bounds-sync logic
// (__update_reg_bounds, __reg_deduce_bounds, __reg_bound_offset).
//
// Also used for the variable part of pointer offsets.
#pragma once

#include "verifier/tnum.hpp"

#include <cstdint>
#include <limits>
#include <string>

namespace bpfrt::verifier {

// Operations on scalars, independent of the instruction encoding.
enum class AluOp : uint8_t { Add, Sub, Mul, Div, SDiv, Mod, SMod, Or, And, Lsh, Rsh, Arsh, Xor, Mov, Neg };
// Comparisons (the condition under which a conditional jump is taken).
enum class CmpOp : uint8_t { Eq, Ne, Gt, Ge, Lt, Le, Sgt, Sge, Slt, Sle, Set, NotSet };

CmpOp negate(CmpOp op);
CmpOp swap_operands(CmpOp op);  // a OP b == b swap(OP) a

struct Scalar {
    Tnum var_off = Tnum::unknown();
    int64_t smin = std::numeric_limits<int64_t>::min();
    int64_t smax = std::numeric_limits<int64_t>::max();
    uint64_t umin = 0;
    uint64_t umax = std::numeric_limits<uint64_t>::max();
    int32_t s32_min = std::numeric_limits<int32_t>::min();
    int32_t s32_max = std::numeric_limits<int32_t>::max();
    uint32_t u32_min = 0;
    uint32_t u32_max = std::numeric_limits<uint32_t>::max();

    static Scalar unknown() { return {}; }
    static Scalar constant(uint64_t v);
    // Any value of the low `bits` bits, zero-extended (bits < 64) or sign-extended.
    static Scalar unknown_bits(unsigned bits);
    static Scalar unknown_signed_bits(unsigned bits);
    static Scalar urange(uint64_t lo, uint64_t hi);

    bool is_const() const { return var_off.is_const(); }
    uint64_t value() const { return var_off.value; }
    bool is_zero() const { return is_const() && value() == 0; }
    bool is_unbounded() const;
    // Ranges and known bits agree with each other (false: no value fits).
    bool consistent() const;
    // The kernel's reg_bounds_sync: tighten every view from the others.
    void sync();
    // Every value of `o` is one of ours (range and tnum containment).
    bool includes(const Scalar& o) const;
    bool operator==(const Scalar&) const = default;
    // Kernel-style text: "5" for constants, else "scalar(umax=255,var_off=(0x0; 0xff))".
    std::string str() const;
    // Only the facts, without the "scalar(...)" wrapper (for pointer offsets).
    std::string bounds_str() const;

    // Views.
    Scalar zext32() const;        // low 32 bits, zero-extended
    Scalar sext32() const;        // low 32 bits, sign-extended
    Scalar truncate(unsigned bits) const;  // low `bits`, zero-extended
    Scalar sign_extend(unsigned bits) const;  // low `bits`, sign-extended to 64
};

// dst = dst OP src at width 64 or 32 (32: the result is zero-extended, as the ISA).
Scalar scalar_alu(AluOp op, unsigned width, const Scalar& dst, const Scalar& src);
// Byte-order operations: to little endian (truncate) or swap, at `bits` width.
Scalar scalar_endian(bool swap, unsigned bits, const Scalar& dst);

// Refines a and b assuming `a OP b` holds at width 64 or 32. Returns false
// when no pair of values can satisfy it (the branch is dead).
bool scalar_refine(CmpOp op, unsigned width, Scalar& a, Scalar& b);

}  // namespace bpfrt::verifier
