// Property tests of the abstract domains against brute force.
#include "verifier/scalar.hpp"
#include "verifier/tnum.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace bpfrt::verifier {
namespace {

// All members of a tnum whose mask has at most 8 set bits.
std::vector<uint64_t> members(Tnum t) {
    std::vector<uint64_t> bits;
    for (unsigned i = 0; i < 64; ++i)
        if (t.mask >> i & 1) bits.push_back(uint64_t{1} << i);
    std::vector<uint64_t> out;
    for (uint64_t combo = 0; combo < (uint64_t{1} << bits.size()); ++combo) {
        uint64_t v = t.value;
        for (size_t i = 0; i < bits.size(); ++i)
            if (combo >> i & 1) v |= bits[i];
        out.push_back(v);
    }
    return out;
}

// Every tnum over the low `width` bits (value & mask == 0).
std::vector<Tnum> all_tnums(unsigned width) {
    std::vector<Tnum> out;
    const uint64_t n = uint64_t{1} << width;
    for (uint64_t m = 0; m < n; ++m)
        for (uint64_t v = 0; v < n; ++v)
            if ((v & m) == 0) out.push_back({v, m});
    return out;
}

TEST(Tnum, ArithmeticIsSoundOnAllFourBitTnums) {
    const auto ts = all_tnums(4);
    for (const Tnum& a : ts) {
        const auto ma = members(a);
        for (const Tnum& b : ts) {
            const auto mb = members(b);
            const Tnum add = tnum_add(a, b), sub = tnum_sub(a, b), mul = tnum_mul(a, b);
            const Tnum tand = tnum_and(a, b), tor = tnum_or(a, b), txor = tnum_xor(a, b);
            for (uint64_t x : ma)
                for (uint64_t y : mb) {
                    ASSERT_TRUE(add.contains(x + y));
                    ASSERT_TRUE(sub.contains(x - y));
                    ASSERT_TRUE(mul.contains(x * y));
                    ASSERT_TRUE(tand.contains(x & y));
                    ASSERT_TRUE(tor.contains(x | y));
                    ASSERT_TRUE(txor.contains(x ^ y));
                }
        }
    }
}

TEST(Tnum, ShiftsRangeAndIntersect) {
    for (const Tnum& a : all_tnums(5)) {
        for (unsigned s = 0; s < 8; ++s)
            for (uint64_t x : members(a)) {
                ASSERT_TRUE(tnum_lshift(a, s).contains(x << s));
                ASSERT_TRUE(tnum_rshift(a, s).contains(x >> s));
                ASSERT_TRUE(tnum_arshift(a, s, 64).contains(static_cast<uint64_t>(static_cast<int64_t>(x) >> s)));
            }
    }
    for (uint64_t lo = 0; lo < 64; ++lo)
        for (uint64_t hi = lo; hi < 64; ++hi) {
            const Tnum r = Tnum::range(lo, hi);
            for (uint64_t x = lo; x <= hi; ++x) ASSERT_TRUE(r.contains(x));
        }
    bool conflict = false;
    tnum_intersect(Tnum::constant(1), Tnum::constant(2), &conflict);
    EXPECT_TRUE(conflict);
    EXPECT_TRUE(Tnum::unknown().includes(Tnum::constant(5)));
    EXPECT_FALSE(Tnum::constant(5).includes(Tnum::unknown()));
}

// A random abstract scalar with a few concrete members (all members are contained).
struct Sample {
    Scalar abs;
    std::vector<uint64_t> values;
};

Sample random_sample(std::mt19937_64& rng) {
    auto pick = [&]() -> uint64_t {
        switch (rng() % 6) {
            case 0: return rng() % 16;
            case 1: return static_cast<uint64_t>(-static_cast<int64_t>(rng() % 16));
            case 2: return rng() % 0x10000;
            case 3: return 0xffffffffULL - rng() % 8;
            case 4: return 0x7fffffffffffffffULL - rng() % 4 + rng() % 8;
            default: return rng();
        }
    };
    Sample s;
    const int n = 1 + static_cast<int>(rng() % 4);
    const uint64_t base = pick();
    for (int i = 0; i < n; ++i) s.values.push_back(rng() % 2 ? base + rng() % 8 : pick());
    // Abstract value: the hull of the members in every view.
    Scalar a = Scalar::constant(s.values[0]);
    for (uint64_t v : s.values) {
        a.umin = std::min(a.umin, v);
        a.umax = std::max(a.umax, v);
        a.smin = std::min(a.smin, static_cast<int64_t>(v));
        a.smax = std::max(a.smax, static_cast<int64_t>(v));
        a.u32_min = std::min(a.u32_min, static_cast<uint32_t>(v));
        a.u32_max = std::max(a.u32_max, static_cast<uint32_t>(v));
        a.s32_min = std::min(a.s32_min, static_cast<int32_t>(static_cast<uint32_t>(v)));
        a.s32_max = std::max(a.s32_max, static_cast<int32_t>(static_cast<uint32_t>(v)));
        a.var_off = tnum_union(a.var_off, Tnum::constant(v));
    }
    a.sync();
    s.abs = a;
    return s;
}

bool member(const Scalar& s, uint64_t v) {
    const auto sv = static_cast<int64_t>(v);
    const auto v32 = static_cast<uint32_t>(v);
    const auto s32 = static_cast<int32_t>(v32);
    return s.umin <= v && v <= s.umax && s.smin <= sv && sv <= s.smax && s.u32_min <= v32 && v32 <= s.u32_max &&
           s.s32_min <= s32 && s32 <= s.s32_max && s.var_off.contains(v);
}

uint64_t concrete(AluOp op, unsigned width, uint64_t x, uint64_t y) {
    if (width == 32) {
        const auto a = static_cast<uint32_t>(x), b = static_cast<uint32_t>(y);
        switch (op) {
            case AluOp::Add: return static_cast<uint32_t>(a + b);
            case AluOp::Sub: return static_cast<uint32_t>(a - b);
            case AluOp::Mul: return static_cast<uint32_t>(a * b);
            case AluOp::Div: return b ? a / b : 0;
            case AluOp::Mod: return b ? a % b : a;
            case AluOp::Or: return a | b;
            case AluOp::And: return a & b;
            case AluOp::Xor: return a ^ b;
            case AluOp::Lsh: return static_cast<uint32_t>(a << (b & 31));
            case AluOp::Rsh: return a >> (b & 31);
            case AluOp::Arsh: return static_cast<uint32_t>(static_cast<int32_t>(a) >> (b & 31));
            case AluOp::Mov: return b;
            case AluOp::Neg: return static_cast<uint32_t>(0u - a);
            default: return 0;
        }
    }
    switch (op) {
        case AluOp::Add: return x + y;
        case AluOp::Sub: return x - y;
        case AluOp::Mul: return x * y;
        case AluOp::Div: return y ? x / y : 0;
        case AluOp::Mod: return y ? x % y : x;
        case AluOp::Or: return x | y;
        case AluOp::And: return x & y;
        case AluOp::Xor: return x ^ y;
        case AluOp::Lsh: return x << (y & 63);
        case AluOp::Rsh: return x >> (y & 63);
        case AluOp::Arsh: return static_cast<uint64_t>(static_cast<int64_t>(x) >> (y & 63));
        case AluOp::Mov: return y;
        case AluOp::Neg: return 0 - x;
        default: return 0;
    }
}

TEST(Scalar, AluIsSoundOnRandomSamples) {
    std::mt19937_64 rng(42);
    const AluOp ops[] = {AluOp::Add, AluOp::Sub, AluOp::Mul, AluOp::Div, AluOp::Mod, AluOp::Or, AluOp::And,
                         AluOp::Xor, AluOp::Lsh, AluOp::Rsh, AluOp::Arsh, AluOp::Mov, AluOp::Neg};
    for (int iter = 0; iter < 20000; ++iter) {
        Sample a = random_sample(rng), b = random_sample(rng);
        if (rng() % 3 == 0) {  // constant shift amounts / divisors are the common case
            const uint64_t c = rng() % 70;
            b.values = {c};
            b.abs = Scalar::constant(c);
        }
        for (uint64_t v : a.values) ASSERT_TRUE(member(a.abs, v)) << a.abs.str();
        for (AluOp op : ops)
            for (unsigned width : {64u, 32u}) {
                const Scalar r = scalar_alu(op, width, a.abs, b.abs);
                ASSERT_TRUE(r.consistent()) << r.str();
                for (uint64_t x : a.values)
                    for (uint64_t y : b.values) {
                        const uint64_t z = concrete(op, width, x, y);
                        ASSERT_TRUE(member(r, z)) << "op " << static_cast<int>(op) << " w" << width << " x=" << x
                                                  << " y=" << y << " z=" << z << " a=" << a.abs.str()
                                                  << " b=" << b.abs.str() << " r=" << r.str();
                    }
            }
    }
}

bool holds(CmpOp op, unsigned width, uint64_t x, uint64_t y) {
    if (width == 32) {
        x = static_cast<uint32_t>(x);
        y = static_cast<uint32_t>(y);
    }
    const int64_t sx = width == 32 ? static_cast<int32_t>(x) : static_cast<int64_t>(x);
    const int64_t sy = width == 32 ? static_cast<int32_t>(y) : static_cast<int64_t>(y);
    switch (op) {
        case CmpOp::Eq: return x == y;
        case CmpOp::Ne: return x != y;
        case CmpOp::Gt: return x > y;
        case CmpOp::Ge: return x >= y;
        case CmpOp::Lt: return x < y;
        case CmpOp::Le: return x <= y;
        case CmpOp::Sgt: return sx > sy;
        case CmpOp::Sge: return sx >= sy;
        case CmpOp::Slt: return sx < sy;
        case CmpOp::Sle: return sx <= sy;
        case CmpOp::Set: return (x & y) != 0;
        case CmpOp::NotSet: return (x & y) == 0;
    }
    return false;
}

TEST(Scalar, BranchRefinementKeepsEverySatisfyingPair) {
    std::mt19937_64 rng(7);
    const CmpOp ops[] = {CmpOp::Eq, CmpOp::Ne, CmpOp::Gt, CmpOp::Ge, CmpOp::Lt, CmpOp::Le,
                         CmpOp::Sgt, CmpOp::Sge, CmpOp::Slt, CmpOp::Sle, CmpOp::Set, CmpOp::NotSet};
    for (int iter = 0; iter < 20000; ++iter) {
        const Sample a = random_sample(rng), b = random_sample(rng);
        for (CmpOp op : ops)
            for (unsigned width : {64u, 32u}) {
                Scalar ra = a.abs, rb = b.abs;
                const bool feasible = scalar_refine(op, width, ra, rb);
                for (uint64_t x : a.values)
                    for (uint64_t y : b.values) {
                        if (!holds(op, width, x, y)) continue;
                        ASSERT_TRUE(feasible) << "op " << static_cast<int>(op) << " w" << width << " x=" << x << " y=" << y << " a=" << a.abs.str() << " b=" << b.abs.str();
                        ASSERT_TRUE(member(ra, x) && member(rb, y))
                            << "op " << static_cast<int>(op) << " w" << width << " x=" << x << " y=" << y
                            << " a=" << a.abs.str() << " ra=" << ra.str() << " b=" << b.abs.str() << " rb=" << rb.str();
                    }
            }
    }
}

TEST(Scalar, RefinementNarrowsRanges) {
    Scalar a = Scalar::unknown(), b = Scalar::constant(10);
    ASSERT_TRUE(scalar_refine(CmpOp::Lt, 64, a, b));
    EXPECT_EQ(a.umax, 9u);
    EXPECT_EQ(a.smin, 0);
    Scalar c = Scalar::unknown(), d = Scalar::constant(100);
    ASSERT_TRUE(scalar_refine(CmpOp::Le, 32, c, d));
    EXPECT_EQ(c.u32_max, 100u);
    Scalar e = Scalar::constant(5), f = Scalar::constant(5);
    EXPECT_FALSE(scalar_refine(CmpOp::Ne, 64, e, f));
    Scalar g = Scalar::unknown_bits(8), h = Scalar::constant(300);
    EXPECT_FALSE(scalar_refine(CmpOp::Gt, 64, g, h));
}

TEST(Scalar, ExtensionsAndTruncation) {
    EXPECT_EQ(Scalar::constant(0x80).sign_extend(8).value(), 0xffffffffffffff80ULL);
    EXPECT_EQ(Scalar::constant(0x1234).truncate(8).value(), 0x34u);
    const Scalar s = Scalar::unknown_signed_bits(16);
    EXPECT_EQ(s.smin, -32768);
    EXPECT_EQ(s.smax, 32767);
    EXPECT_EQ(Scalar::unknown_bits(8).umax, 255u);
    EXPECT_EQ(Scalar::constant(0xffffffff).sext32().smin, -1);
}

}  // namespace
}  // namespace bpfrt::verifier
