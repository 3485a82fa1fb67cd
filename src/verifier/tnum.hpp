// Tracked numbers ("known bits"): the kernel's tnum.c.
//
// A tnum describes a set of 64-bit values: bits set in `mask` are unknown,
// the others equal the corresponding bits of `value` (value & mask == 0).
#pragma once

#include <cstdint>
#include <string>

namespace bpfrt::verifier {

struct Tnum {
    uint64_t value = 0;
    uint64_t mask = ~uint64_t{0};

    static constexpr Tnum constant(uint64_t v) { return {v, 0}; }
    static constexpr Tnum unknown() { return {0, ~uint64_t{0}}; }
    static Tnum range(uint64_t min, uint64_t max);  // smallest tnum holding [min, max]

    bool is_const() const { return mask == 0; }
    bool is_unknown() const { return mask == ~uint64_t{0}; }
    bool contains(uint64_t v) const { return (v & ~mask) == value; }
    // Every value of `other` is in this set.
    bool includes(const Tnum& other) const;
    bool is_aligned(uint64_t size) const { return size == 0 || ((value | mask) & (size - 1)) == 0; }
    uint64_t min() const { return value; }
    uint64_t max() const { return value | mask; }
    bool operator==(const Tnum&) const = default;
    std::string str() const;
};

Tnum tnum_add(Tnum a, Tnum b);
Tnum tnum_sub(Tnum a, Tnum b);
Tnum tnum_mul(Tnum a, Tnum b);
Tnum tnum_and(Tnum a, Tnum b);
Tnum tnum_or(Tnum a, Tnum b);
Tnum tnum_xor(Tnum a, Tnum b);
Tnum tnum_lshift(Tnum a, unsigned shift);
Tnum tnum_rshift(Tnum a, unsigned shift);
Tnum tnum_arshift(Tnum a, unsigned shift, unsigned bits);  // bits: 32 or 64
// Both sets' facts together; `conflict` is set when no value satisfies both.
Tnum tnum_intersect(Tnum a, Tnum b, bool* conflict = nullptr);
Tnum tnum_cast(Tnum a, unsigned bytes);  // keep the low `bytes` bytes
inline Tnum tnum_subreg(Tnum a) { return tnum_cast(a, 4); }
inline Tnum tnum_clear_subreg(Tnum a) { return tnum_lshift(tnum_rshift(a, 32), 32); }
// The union's smallest covering tnum (for joins).
Tnum tnum_union(Tnum a, Tnum b);

}  // namespace bpfrt::verifier
