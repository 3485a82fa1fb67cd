#include "verifier/tnum.hpp"

#include <fmt/format.h>

#include <bit>

namespace bpfrt::verifier {

Tnum Tnum::range(uint64_t min, uint64_t max) {
    const uint64_t chi = min ^ max;
    const unsigned bits = 64 - static_cast<unsigned>(std::countl_zero(chi));
    if (bits > 63) return unknown();
    const uint64_t delta = (uint64_t{1} << bits) - 1;
    return {min & ~delta, delta};
}

bool Tnum::includes(const Tnum& b) const {
    if (b.mask & ~mask) return false;
    return value == (b.value & ~mask);
}

std::string Tnum::str() const { return fmt::format("({:#x}; {:#x})", value, mask); }

Tnum tnum_add(Tnum a, Tnum b) {
    const uint64_t sm = a.mask + b.mask;
    const uint64_t sv = a.value + b.value;
    const uint64_t sigma = sm + sv;
    const uint64_t chi = sigma ^ sv;
    const uint64_t mu = chi | a.mask | b.mask;
    return {sv & ~mu, mu};
}

Tnum tnum_sub(Tnum a, Tnum b) {
    const uint64_t dv = a.value - b.value;
    const uint64_t alpha = dv + a.mask;
    const uint64_t beta = dv - b.mask;
    const uint64_t chi = alpha ^ beta;
    const uint64_t mu = chi | a.mask | b.mask;
    return {dv & ~mu, mu};
}

Tnum tnum_mul(Tnum a, Tnum b) {
    const uint64_t acc_v = a.value * b.value;
    Tnum acc_m{0, 0};
    while (a.value || a.mask) {
        if (a.value & 1)
            acc_m = tnum_add(acc_m, Tnum{0, b.mask});
        else if (a.mask & 1)
            acc_m = tnum_add(acc_m, Tnum{0, b.value | b.mask});
        a = tnum_rshift(a, 1);
        b = tnum_lshift(b, 1);
    }
    return tnum_add(Tnum{acc_v, 0}, acc_m);
}

Tnum tnum_and(Tnum a, Tnum b) {
    const uint64_t alpha = a.value | a.mask;
    const uint64_t beta = b.value | b.mask;
    const uint64_t v = a.value & b.value;
    return {v, alpha & beta & ~v};
}

Tnum tnum_or(Tnum a, Tnum b) {
    const uint64_t v = a.value | b.value;
    const uint64_t mu = a.mask | b.mask;
    return {v, mu & ~v};
}

Tnum tnum_xor(Tnum a, Tnum b) {
    const uint64_t v = a.value ^ b.value;
    const uint64_t mu = a.mask | b.mask;
    return {v & ~mu, mu};
}

Tnum tnum_lshift(Tnum a, unsigned shift) {
    if (shift >= 64) return Tnum::constant(0);
    return {a.value << shift, a.mask << shift};
}

Tnum tnum_rshift(Tnum a, unsigned shift) {
    if (shift >= 64) return Tnum::constant(0);
    return {a.value >> shift, a.mask >> shift};
}

Tnum tnum_arshift(Tnum a, unsigned shift, unsigned bits) {
    if (bits == 32) {
        shift &= 31;
        const auto v = static_cast<int32_t>(static_cast<uint32_t>(a.value)) >> shift;
        const auto m = static_cast<int32_t>(static_cast<uint32_t>(a.mask)) >> shift;
        return {static_cast<uint32_t>(v), static_cast<uint32_t>(m)};
    }
    shift &= 63;
    return {static_cast<uint64_t>(static_cast<int64_t>(a.value) >> shift),
            static_cast<uint64_t>(static_cast<int64_t>(a.mask) >> shift)};
}

Tnum tnum_intersect(Tnum a, Tnum b, bool* conflict) {
    if (conflict) *conflict = ((a.value ^ b.value) & ~a.mask & ~b.mask) != 0;
    const uint64_t v = a.value | b.value;
    const uint64_t mu = a.mask & b.mask;
    return {v & ~mu, mu};
}

Tnum tnum_cast(Tnum a, unsigned bytes) {
    if (bytes >= 8) return a;
    const uint64_t keep = (uint64_t{1} << (bytes * 8)) - 1;
    return {a.value & keep, a.mask & keep};
}

Tnum tnum_union(Tnum a, Tnum b) {
    const uint64_t mu = a.mask | b.mask | (a.value ^ b.value);
    return {a.value & ~mu, mu};
}

}  // namespace bpfrt::verifier
