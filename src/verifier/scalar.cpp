#include "verifier/scalar.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace bpfrt::verifier {
namespace {

constexpr int64_t kS64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kS64Max = std::numeric_limits<int64_t>::max();
constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
constexpr int32_t kS32Min = std::numeric_limits<int32_t>::min();
constexpr int32_t kS32Max = std::numeric_limits<int32_t>::max();
constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kLow32 = 0xffffffffULL;

void unbound64(Scalar& r) {
    r.smin = kS64Min;
    r.smax = kS64Max;
    r.umin = 0;
    r.umax = kU64Max;
}
void unbound_signed64(Scalar& r) {
    r.smin = kS64Min;
    r.smax = kS64Max;
}
void unbound_unsigned64(Scalar& r) {
    r.umin = 0;
    r.umax = kU64Max;
}
// Signed range equal to the unsigned one when it does not cross the sign bit.
void signed_from_unsigned(Scalar& r) {
    if (r.umax <= static_cast<uint64_t>(kS64Max)) {
        r.smin = static_cast<int64_t>(r.umin);
        r.smax = static_cast<int64_t>(r.umax);
    } else {
        unbound_signed64(r);
    }
}

void update_bounds32(Scalar& r) {
    const Tnum t = tnum_subreg(r.var_off);
    r.s32_min = std::max(r.s32_min, static_cast<int32_t>(static_cast<uint32_t>(t.value | (t.mask & 0x80000000ULL))));
    r.s32_max = std::min(r.s32_max, static_cast<int32_t>(static_cast<uint32_t>(t.value | (t.mask & 0x7fffffffULL))));
    r.u32_min = std::max(r.u32_min, static_cast<uint32_t>(t.value));
    r.u32_max = std::min(r.u32_max, static_cast<uint32_t>(t.value | t.mask));
}

void update_bounds64(Scalar& r) {
    const Tnum t = r.var_off;
    r.smin = std::max(r.smin, static_cast<int64_t>(t.value | (t.mask & (uint64_t{1} << 63))));
    r.smax = std::min(r.smax, static_cast<int64_t>(t.value | (t.mask & static_cast<uint64_t>(kS64Max))));
    r.umin = std::max(r.umin, t.value);
    r.umax = std::min(r.umax, t.value | t.mask);
}

void deduce32(Scalar& r) {
    // Upper halves constant: the low halves form a range.
    if ((r.umin >> 32) == (r.umax >> 32)) {
        r.u32_min = std::max(r.u32_min, static_cast<uint32_t>(r.umin));
        r.u32_max = std::min(r.u32_max, static_cast<uint32_t>(r.umax));
        if (static_cast<int32_t>(r.umin) <= static_cast<int32_t>(r.umax)) {
            r.s32_min = std::max(r.s32_min, static_cast<int32_t>(r.umin));
            r.s32_max = std::min(r.s32_max, static_cast<int32_t>(r.umax));
        }
    }
    if ((r.smin >> 32) == (r.smax >> 32)) {
        if (static_cast<uint32_t>(r.smin) <= static_cast<uint32_t>(r.smax)) {
            r.u32_min = std::max(r.u32_min, static_cast<uint32_t>(r.smin));
            r.u32_max = std::min(r.u32_max, static_cast<uint32_t>(r.smax));
        }
        if (static_cast<int32_t>(r.smin) <= static_cast<int32_t>(r.smax)) {
            r.s32_min = std::max(r.s32_min, static_cast<int32_t>(r.smin));
            r.s32_max = std::min(r.s32_max, static_cast<int32_t>(r.smax));
        }
    }
    if (static_cast<int32_t>(r.u32_min) <= static_cast<int32_t>(r.u32_max)) {
        r.s32_min = std::max(r.s32_min, static_cast<int32_t>(r.u32_min));
        r.s32_max = std::min(r.s32_max, static_cast<int32_t>(r.u32_max));
    }
    if (static_cast<uint32_t>(r.s32_min) <= static_cast<uint32_t>(r.s32_max)) {
        r.u32_min = std::max(r.u32_min, static_cast<uint32_t>(r.s32_min));
        r.u32_max = std::min(r.u32_max, static_cast<uint32_t>(r.s32_max));
    }
}

void deduce64(Scalar& r) {
    if (static_cast<int64_t>(r.umin) <= static_cast<int64_t>(r.umax)) {
        r.smin = std::max(r.smin, static_cast<int64_t>(r.umin));
        r.smax = std::min(r.smax, static_cast<int64_t>(r.umax));
    }
    if (static_cast<uint64_t>(r.smin) <= static_cast<uint64_t>(r.smax)) {
        r.umin = std::max(r.umin, static_cast<uint64_t>(r.smin));
        r.umax = std::min(r.umax, static_cast<uint64_t>(r.smax));
    } else if (r.umax < static_cast<uint64_t>(r.smin)) {
        // The signed range wraps; the values lie in its non-negative part [0, smax].
        const uint64_t hi = std::min(r.umax, static_cast<uint64_t>(r.smax));
        r.smin = static_cast<int64_t>(r.umin);
        r.smax = static_cast<int64_t>(hi);
        r.umax = hi;
    } else if (static_cast<uint64_t>(r.smax) < r.umin) {
        // ... or in its negative part [smin, -1].
        const uint64_t lo = std::max(r.umin, static_cast<uint64_t>(r.smin));
        r.smin = static_cast<int64_t>(lo);
        r.smax = static_cast<int64_t>(r.umax);
        r.umin = lo;
    }
}

// 64-bit bounds from the 32-bit ones.
void deduce_mixed(Scalar& r) {
    const uint64_t new_umin = (r.umin & ~kLow32) | r.u32_min;
    const uint64_t new_umax = (r.umax & ~kLow32) | r.u32_max;
    r.umin = std::max(r.umin, new_umin);
    r.umax = std::min(r.umax, new_umax);
    const auto new_smin = static_cast<int64_t>((static_cast<uint64_t>(r.smin) & ~kLow32) | r.u32_min);
    const auto new_smax = static_cast<int64_t>((static_cast<uint64_t>(r.smax) & ~kLow32) | r.u32_max);
    r.smin = std::max(r.smin, new_smin);
    r.smax = std::min(r.smax, new_smax);
    if (r.s32_min >= 0 && r.smin >= kS32Min && r.smax <= kS32Max) {
        r.smin = r.s32_min;
        r.smax = r.s32_max;
        r.umin = static_cast<uint64_t>(r.s32_min);
        r.umax = static_cast<uint64_t>(r.s32_max);
    }
}

bool bound_offset(Scalar& r) {
    bool c64 = false, c32 = false;
    const Tnum t64 = tnum_intersect(r.var_off, Tnum::range(r.umin, r.umax), &c64);
    const Tnum t32 = tnum_intersect(tnum_subreg(t64), Tnum::range(r.u32_min, r.u32_max), &c32);
    r.var_off = tnum_or(tnum_clear_subreg(t64), t32);
    return !c64 && !c32;
}

bool ranges_ordered(const Scalar& r) {
    return r.umin <= r.umax && r.smin <= r.smax && r.u32_min <= r.u32_max && r.s32_min <= r.s32_max;
}

// The 64-bit part of an operation (32-bit views left to sync()).
Scalar op64(AluOp op, const Scalar& a, const Scalar& b) {
    Scalar r;
    switch (op) {
        case AluOp::Mov: return b;
        case AluOp::Neg: return op64(AluOp::Sub, Scalar::constant(0), a);
        case AluOp::Add: {
            r.var_off = tnum_add(a.var_off, b.var_off);
            if (__builtin_add_overflow(a.smin, b.smin, &r.smin) || __builtin_add_overflow(a.smax, b.smax, &r.smax))
                unbound_signed64(r);
            if (__builtin_add_overflow(a.umin, b.umin, &r.umin) || __builtin_add_overflow(a.umax, b.umax, &r.umax))
                unbound_unsigned64(r);
            break;
        }
        case AluOp::Sub: {
            r.var_off = tnum_sub(a.var_off, b.var_off);
            if (__builtin_sub_overflow(a.smin, b.smax, &r.smin) || __builtin_sub_overflow(a.smax, b.smin, &r.smax))
                unbound_signed64(r);
            if (a.umin < b.umax) {
                unbound_unsigned64(r);
            } else {
                r.umin = a.umin - b.umax;
                r.umax = a.umax - b.umin;
            }
            break;
        }
        case AluOp::Mul: {
            r.var_off = tnum_mul(a.var_off, b.var_off);
            if (a.smin < 0 || b.smin < 0 || a.umax > kU32Max || b.umax > kU32Max) {
                unbound64(r);
                break;
            }
            r.umin = a.umin * b.umin;
            r.umax = a.umax * b.umax;
            signed_from_unsigned(r);
            break;
        }
        case AluOp::And: {
            r.var_off = tnum_and(a.var_off, b.var_off);
            r.umin = r.var_off.value;
            r.umax = std::min(a.umax, b.umax);
            if (a.smin < 0 || b.smin < 0) unbound_signed64(r); else signed_from_unsigned(r);
            break;
        }
        case AluOp::Or: {
            r.var_off = tnum_or(a.var_off, b.var_off);
            r.umin = std::max(a.umin, b.umin);
            r.umax = r.var_off.value | r.var_off.mask;
            if (a.smin < 0 || b.smin < 0) unbound_signed64(r); else signed_from_unsigned(r);
            break;
        }
        case AluOp::Xor: {
            r.var_off = tnum_xor(a.var_off, b.var_off);
            r.umin = r.var_off.value;
            r.umax = r.var_off.value | r.var_off.mask;
            if (a.smin >= 0 && b.smin >= 0) signed_from_unsigned(r); else unbound_signed64(r);
            break;
        }
        case AluOp::Lsh: {
            if (!b.is_const()) return Scalar::unknown();
            const unsigned s = static_cast<unsigned>(b.value() & 63);
            r.var_off = tnum_lshift(a.var_off, s);
            if (a.umax > (kU64Max >> s)) {
                unbound_unsigned64(r);
            } else {
                r.umin = a.umin << s;
                r.umax = a.umax << s;
            }
            unbound_signed64(r);
            break;
        }
        case AluOp::Rsh: {
            if (!b.is_const()) return Scalar::unknown();
            const unsigned s = static_cast<unsigned>(b.value() & 63);
            r.var_off = tnum_rshift(a.var_off, s);
            r.umin = a.umin >> s;
            r.umax = a.umax >> s;
            unbound_signed64(r);
            break;
        }
        case AluOp::Arsh: {
            if (!b.is_const()) return Scalar::unknown();
            const unsigned s = static_cast<unsigned>(b.value() & 63);
            r.var_off = tnum_arshift(a.var_off, s, 64);
            r.smin = a.smin >> s;
            r.smax = a.smax >> s;
            unbound_unsigned64(r);
            break;
        }
        case AluOp::Div: {
            // Division by zero gives 0 (RFC 9669); x / y <= x.
            if (b.is_zero()) return Scalar::constant(0);
            const uint64_t lo = b.umin == 0 ? 0 : a.umin / b.umax;
            const uint64_t hi = a.umax / std::max<uint64_t>(b.umin, 1);
            return Scalar::urange(lo, hi);
        }
        case AluOp::Mod: {
            // Modulo by zero leaves dst unchanged (RFC 9669).
            if (b.is_zero()) return a;
            if (b.umin > 0 && a.umax < b.umin) return a;
            uint64_t hi = a.umax;
            if (b.umin > 0) hi = std::min(hi, b.umax - 1);
            return Scalar::urange(0, hi);
        }
        case AluOp::SDiv:
        case AluOp::SMod: return Scalar::unknown();
    }
    r.sync();
    return r;
}

// Whether the low 32 bits of the result depend only on the low 32 bits of the operands.
bool low_bits_only(AluOp op) {
    switch (op) {
        case AluOp::Add:
        case AluOp::Sub:
        case AluOp::Mul:
        case AluOp::And:
        case AluOp::Or:
        case AluOp::Xor:
        case AluOp::Lsh:
        case AluOp::Mov:
        case AluOp::Neg: return true;
        default: return false;
    }
}

// Intersects the 32-bit views of two descriptions of the same low half.
Scalar meet32(const Scalar& x, const Scalar& y) {
    Scalar r = x;
    r.u32_min = std::max(x.u32_min, y.u32_min);
    r.u32_max = std::min(x.u32_max, y.u32_max);
    r.s32_min = std::max(x.s32_min, y.s32_min);
    r.s32_max = std::min(x.s32_max, y.s32_max);
    bool conflict = false;
    const Tnum low = tnum_intersect(tnum_subreg(x.var_off), tnum_subreg(y.var_off), &conflict);
    if (conflict || !ranges_ordered(r)) return x;  // cannot happen for sound inputs; stay safe
    r.var_off = tnum_or(tnum_clear_subreg(x.var_off), low);
    return r;
}

// The low 32 bits of `a OP b` computed at 32-bit width (in the result's 32-bit view).
Scalar low32(AluOp op, const Scalar& a, const Scalar& b) {
    Scalar bs = b;
    if (op == AluOp::Lsh || op == AluOp::Rsh || op == AluOp::Arsh) {
        if (!b.is_const()) return Scalar::unknown();
        bs = Scalar::constant(b.value() & 31);
    }
    switch (op) {
        case AluOp::Div:
        case AluOp::Mod:
        case AluOp::Rsh: return op64(op, a.zext32(), op == AluOp::Rsh ? bs : b.zext32());
        case AluOp::Arsh: {
            Scalar r = op64(op, a.sext32(), bs);
            r.sync();
            return r;
        }
        case AluOp::SDiv:
        case AluOp::SMod: return Scalar::unknown();
        default: break;
    }
    const Scalar bz = (op == AluOp::Lsh) ? bs : b.zext32();
    const Scalar bsx = (op == AluOp::Lsh) ? bs : b.sext32();
    Scalar rz = op64(op, a.zext32(), bz);
    Scalar rs = op64(op, a.sext32(), bsx);
    rz.sync();
    rs.sync();
    return meet32(rz, rs);
}

}  // namespace

CmpOp negate(CmpOp op) {
    switch (op) {
        case CmpOp::Eq: return CmpOp::Ne;
        case CmpOp::Ne: return CmpOp::Eq;
        case CmpOp::Gt: return CmpOp::Le;
        case CmpOp::Ge: return CmpOp::Lt;
        case CmpOp::Lt: return CmpOp::Ge;
        case CmpOp::Le: return CmpOp::Gt;
        case CmpOp::Sgt: return CmpOp::Sle;
        case CmpOp::Sge: return CmpOp::Slt;
        case CmpOp::Slt: return CmpOp::Sge;
        case CmpOp::Sle: return CmpOp::Sgt;
        case CmpOp::Set: return CmpOp::NotSet;
        case CmpOp::NotSet: return CmpOp::Set;
    }
    return op;
}

CmpOp swap_operands(CmpOp op) {
    switch (op) {
        case CmpOp::Gt: return CmpOp::Lt;
        case CmpOp::Ge: return CmpOp::Le;
        case CmpOp::Lt: return CmpOp::Gt;
        case CmpOp::Le: return CmpOp::Ge;
        case CmpOp::Sgt: return CmpOp::Slt;
        case CmpOp::Sge: return CmpOp::Sle;
        case CmpOp::Slt: return CmpOp::Sgt;
        case CmpOp::Sle: return CmpOp::Sge;
        default: return op;
    }
}

Scalar Scalar::constant(uint64_t v) {
    Scalar r;
    r.var_off = Tnum::constant(v);
    r.smin = r.smax = static_cast<int64_t>(v);
    r.umin = r.umax = v;
    r.s32_min = r.s32_max = static_cast<int32_t>(static_cast<uint32_t>(v));
    r.u32_min = r.u32_max = static_cast<uint32_t>(v);
    return r;
}

Scalar Scalar::urange(uint64_t lo, uint64_t hi) {
    Scalar r;
    r.umin = lo;
    r.umax = hi;
    r.var_off = Tnum::range(lo, hi);
    r.sync();
    return r;
}

Scalar Scalar::unknown_bits(unsigned bits) {
    if (bits >= 64) return unknown();
    return urange(0, (uint64_t{1} << bits) - 1);
}

Scalar Scalar::unknown_signed_bits(unsigned bits) {
    if (bits >= 64) return unknown();
    Scalar r;
    r.smin = -(int64_t{1} << (bits - 1));
    r.smax = (int64_t{1} << (bits - 1)) - 1;
    r.sync();
    return r;
}

bool Scalar::is_unbounded() const { return *this == Scalar{}; }

bool Scalar::consistent() const {
    if (!ranges_ordered(*this)) return false;
    if (var_off.value & var_off.mask) return false;
    return var_off.min() <= umax && var_off.max() >= umin;
}

void Scalar::sync() {
    update_bounds32(*this);
    update_bounds64(*this);
    for (int round = 0; round < 2; ++round) {
        deduce32(*this);
        deduce64(*this);
        deduce_mixed(*this);
    }
    const bool ok = bound_offset(*this);
    update_bounds32(*this);
    update_bounds64(*this);
    if (!ok) {
        // No value fits: make the contradiction visible to consistent().
        umin = 1;
        umax = 0;
    }
}

bool Scalar::includes(const Scalar& o) const {
    return smin <= o.smin && o.smax <= smax && umin <= o.umin && o.umax <= umax && s32_min <= o.s32_min &&
           o.s32_max <= s32_max && u32_min <= o.u32_min && o.u32_max <= u32_max && var_off.includes(o.var_off);
}

std::string Scalar::bounds_str() const {
    std::string out;
    auto add = [&](std::string_view name, auto v) {
        if (!out.empty()) out += ',';
        out += fmt::format("{}={}", name, v);
    };
    if (smin != kS64Min && static_cast<uint64_t>(smin) != umin) add("smin", smin);
    if (smax != kS64Max && static_cast<uint64_t>(smax) != umax) add("smax", smax);
    if (umin != 0) add("umin", umin);
    if (umax != kU64Max) add("umax", umax);
    if (s32_min != kS32Min && static_cast<uint32_t>(s32_min) != u32_min) add("smin32", s32_min);
    if (s32_max != kS32Max && static_cast<uint32_t>(s32_max) != u32_max) add("smax32", s32_max);
    if (u32_min != 0 && u32_min != umin) add("umin32", u32_min);
    if (u32_max != kU32Max && u32_max != umax) add("umax32", u32_max);
    if (!var_off.is_unknown() && var_off != Tnum::range(umin, umax)) add("var_off", var_off.str());
    return out;
}

std::string Scalar::str() const {
    if (is_const()) return fmt::format("{}", static_cast<int64_t>(value()));
    return fmt::format("scalar({})", bounds_str());
}

Scalar Scalar::zext32() const {
    Scalar r;
    r.var_off = tnum_subreg(var_off);
    r.u32_min = u32_min;
    r.u32_max = u32_max;
    r.s32_min = s32_min;
    r.s32_max = s32_max;
    r.umin = u32_min;
    r.umax = u32_max;
    r.smin = u32_min;
    r.smax = u32_max;
    r.sync();
    return r;
}

Scalar Scalar::sext32() const {
    Scalar r;
    const Tnum low = tnum_subreg(var_off);
    // Sign-extend the known bits: an unknown sign bit makes the upper half unknown.
    r.var_off = tnum_arshift(tnum_lshift(low, 32), 32, 64);
    r.u32_min = u32_min;
    r.u32_max = u32_max;
    r.s32_min = s32_min;
    r.s32_max = s32_max;
    r.smin = s32_min;
    r.smax = s32_max;
    r.sync();
    return r;
}

Scalar Scalar::truncate(unsigned bits) const {
    if (bits >= 64) return *this;
    if (bits == 32) return zext32();
    const uint64_t m = (uint64_t{1} << bits) - 1;
    Scalar r = ((umin >> bits) == (umax >> bits)) ? urange(umin & m, umax & m) : unknown_bits(bits);
    r.var_off = tnum_intersect(r.var_off, tnum_cast(var_off, bits / 8));
    r.sync();
    return r;
}

Scalar Scalar::sign_extend(unsigned bits) const {
    if (bits >= 64) return *this;
    if (bits == 32) return sext32();
    const Scalar t = truncate(bits);
    const uint64_t half = uint64_t{1} << (bits - 1);
    if (t.umax < half) return t;  // sign bit clear: unchanged
    if (t.is_const()) {
        const uint64_t v = t.value();
        return constant(v | ~((half << 1) - 1));
    }
    if (t.umin >= half) {  // sign bit set everywhere
        const uint64_t ext = ~((half << 1) - 1);
        Scalar r;
        r.smin = static_cast<int64_t>(t.umin | ext);
        r.smax = static_cast<int64_t>(t.umax | ext);
        r.sync();
        return r;
    }
    return unknown_signed_bits(bits);
}

Scalar scalar_alu(AluOp op, unsigned width, const Scalar& dst, const Scalar& src) {
    if (width == 64) {
        Scalar r = op64(op, dst, src);
        if (low_bits_only(op)) r = meet32(r, low32(op, dst, src));
        r.sync();
        return r;
    }
    return low32(op, dst, src).zext32();
}

Scalar scalar_endian(bool swap, unsigned bits, const Scalar& dst) {
    if (!swap) return dst.truncate(bits);
    if (!dst.is_const()) return Scalar::unknown_bits(bits);
    const uint64_t v = dst.value();
    switch (bits) {
        case 16: return Scalar::constant(__builtin_bswap16(static_cast<uint16_t>(v)));
        case 32: return Scalar::constant(__builtin_bswap32(static_cast<uint32_t>(v)));
        default: return Scalar::constant(__builtin_bswap64(v));
    }
}

namespace {

// One width's view of a scalar as plain 64-bit numbers.
struct View {
    uint64_t umin, umax;
    int64_t smin, smax;
    Tnum t;
    uint64_t max_u;
    int64_t min_s, max_s;
};

View view_of(const Scalar& s, unsigned width) {
    if (width == 64) return {s.umin, s.umax, s.smin, s.smax, s.var_off, kU64Max, kS64Min, kS64Max};
    return {s.u32_min, s.u32_max, s.s32_min, s.s32_max, tnum_subreg(s.var_off), kU32Max, kS32Min, kS32Max};
}

void store(Scalar& s, const View& v, unsigned width) {
    if (width == 64) {
        s.umin = v.umin;
        s.umax = v.umax;
        s.smin = v.smin;
        s.smax = v.smax;
        s.var_off = v.t;
        return;
    }
    s.u32_min = static_cast<uint32_t>(v.umin);
    s.u32_max = static_cast<uint32_t>(v.umax);
    s.s32_min = static_cast<int32_t>(v.smin);
    s.s32_max = static_cast<int32_t>(v.smax);
    s.var_off = tnum_or(tnum_clear_subreg(s.var_off), tnum_subreg(v.t));
}

bool is_const_view(const View& v) { return v.t.is_const(); }

bool refine_views(CmpOp op, View& a, View& b) {
    switch (op) {
        case CmpOp::Eq: {
            a.umin = b.umin = std::max(a.umin, b.umin);
            a.umax = b.umax = std::min(a.umax, b.umax);
            a.smin = b.smin = std::max(a.smin, b.smin);
            a.smax = b.smax = std::min(a.smax, b.smax);
            bool conflict = false;
            a.t = b.t = tnum_intersect(a.t, b.t, &conflict);
            return !conflict;
        }
        case CmpOp::Ne: {
            if (is_const_view(a) && is_const_view(b)) return a.t.value != b.t.value;
            for (int pass = 0; pass < 2; ++pass) {
                View& x = pass == 0 ? a : b;
                const View& c = pass == 0 ? b : a;
                if (!is_const_view(c)) continue;
                const uint64_t v = c.t.value;
                const int64_t sv = c.smin;
                if (x.umin == v && x.umin < x.umax) ++x.umin;
                else if (x.umax == v && x.umin < x.umax) --x.umax;
                if (x.smin == sv && x.smin < x.smax) ++x.smin;
                else if (x.smax == sv && x.smin < x.smax) --x.smax;
            }
            return true;
        }
        case CmpOp::Gt:
            if (b.umin == a.max_u || a.umax == 0) return false;
            a.umin = std::max(a.umin, b.umin + 1);
            b.umax = std::min(b.umax, a.umax - 1);
            return true;
        case CmpOp::Ge:
            a.umin = std::max(a.umin, b.umin);
            b.umax = std::min(b.umax, a.umax);
            return true;
        case CmpOp::Sgt:
            if (b.smin == a.max_s || a.smax == a.min_s) return false;
            a.smin = std::max(a.smin, b.smin + 1);
            b.smax = std::min(b.smax, a.smax - 1);
            return true;
        case CmpOp::Sge:
            a.smin = std::max(a.smin, b.smin);
            b.smax = std::min(b.smax, a.smax);
            return true;
        case CmpOp::Lt:
        case CmpOp::Le:
        case CmpOp::Slt:
        case CmpOp::Sle: return refine_views(swap_operands(op), b, a);
        case CmpOp::Set:
        case CmpOp::NotSet: {
            for (int pass = 0; pass < 2; ++pass) {
                View& x = pass == 0 ? a : b;
                const View& c = pass == 0 ? b : a;
                if (!is_const_view(c)) continue;
                const uint64_t v = c.t.value;
                if (op == CmpOp::Set) {
                    if ((x.t.max() & v) == 0) return false;
                    if ((x.t.value & v) == 0 && (v & (v - 1)) == 0) {
                        x.t.value |= v;
                        x.t.mask &= ~v;
                    }
                } else {
                    if (x.t.value & v) return false;
                    x.t.mask &= ~v;
                }
                return true;
            }
            return true;
        }
    }
    return true;
}

}  // namespace

bool scalar_refine(CmpOp op, unsigned width, Scalar& a, Scalar& b) {
    View va = view_of(a, width);
    View vb = view_of(b, width);
    if (!refine_views(op, va, vb)) return false;
    store(a, va, width);
    store(b, vb, width);
    if (!ranges_ordered(a) || !ranges_ordered(b)) return false;
    a.sync();
    b.sync();
    return a.consistent() && b.consistent();
}

}  // namespace bpfrt::verifier
