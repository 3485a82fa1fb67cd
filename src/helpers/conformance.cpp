#include "helpers/conformance.hpp"

#include <cmath>
#include <cstring>

namespace bpfrt::helpers {
namespace {

using vm::ExecContext;

uint64_t gather_bytes(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, ExecContext&) {
    return ((r1 & 0xff) << 32) | ((r2 & 0xff) << 24) | ((r3 & 0xff) << 16) | ((r4 & 0xff) << 8) |
           (r5 & 0xff);
}

// XORs r2 bytes at r1 with 42. In checked mode the range must be writable
// program memory; a helper must not become a way around the bounds checks.
uint64_t memfrob(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    if (ctx.checked && !ctx.is_allowed(r1, r2, true)) return static_cast<uint64_t>(-14);  // -EFAULT
    auto* p = reinterpret_cast<unsigned char*>(r1);
    for (uint64_t i = 0; i < r2; ++i) p[i] ^= 42;
    return 0;
}

uint64_t no_op(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) { return 0; }

uint64_t integer_sqrt(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) {
    // Newton's method on integers: exact floor(sqrt(r1)) for all 64-bit inputs.
    if (r1 < 2) return r1;
    uint64_t x = static_cast<uint64_t>(std::sqrt(static_cast<double>(r1)));
    while (x > 0 && x > r1 / x) --x;
    while ((x + 1) <= r1 / (x + 1)) ++x;
    return x;
}

// Length of the NUL-terminated string at addr within allowed memory, or -1.
long bounded_strlen(uint64_t addr, const ExecContext& ctx) {
    for (long n = 0;; ++n) {
        if (!ctx.is_allowed(addr + static_cast<uint64_t>(n), 1, false)) return -1;
        if (*reinterpret_cast<const char*>(addr + static_cast<uint64_t>(n)) == '\0') return n;
    }
}

uint64_t string_compare(uint64_t r1, uint64_t r2, uint64_t, uint64_t, uint64_t, ExecContext& ctx) {
    if (ctx.checked && (bounded_strlen(r1, ctx) < 0 || bounded_strlen(r2, ctx) < 0)) return static_cast<uint64_t>(-14);
    return static_cast<uint64_t>(static_cast<int64_t>(
        std::strcmp(reinterpret_cast<const char*>(r1), reinterpret_cast<const char*>(r2))));
}

uint64_t unwind(uint64_t r1, uint64_t, uint64_t, uint64_t, uint64_t, ExecContext&) { return r1; }

}  // namespace

vm::HelperTable conformance_helpers() {
    vm::HelperTable table;
    table.set(0, {gather_bytes, "gather_bytes", false});
    table.set(1, {memfrob, "memfrob", false});
    table.set(2, {no_op, "no_op", false});
    table.set(3, {integer_sqrt, "sqrti", false});
    table.set(4, {string_compare, "strcmp_ext", false});
    table.set(5, {unwind, "unwind", true});
    return table;
}

}  // namespace bpfrt::helpers
