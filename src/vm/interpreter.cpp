// The eBPF interpreter. Error messages show instructions via isa::format_instruction.
//
// Preparation decodes the program once (through the opcode table) into an
// array of 16-byte slots, one per instruction slot of the original program,
// each holding the address of the handler for its operation (GCC "labels as
// values") and its operands. Jump offsets are kept relative: slot i jumps to
// i + 1 + off, which preparation has checked to be a real instruction.
// Execution is threaded: every handler ends by jumping straight to the
// handler of the next slot, so there is no central switch.
//
// The executor is a template on the mode. Both instantiations share every
// handler body; the checks of Mode::Checked sit under `if constexpr`, so the
// Verified instantiation has no per-instruction checks at all. Each
// instantiation has its own label table, from which preparation fills the
// slots.
//
// Registers live in a local array; the stack (kMaxCallDepth frames of
// kStackSize bytes) is a local, 16-byte aligned buffer, so runs are
// reentrant and a Program is immutable while it runs.

// Computed goto and label addresses are GNU extensions; this file relies on them.
#pragma GCC diagnostic ignored "-Wpedantic"

#include <bpfrt/vm.hpp>

#include "isa/opcodes.hpp"
#include "isa/structure.hpp"
#include <bpfrt/asm.hpp>

#include <fmt/format.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cstring>
#include <type_traits>

namespace bpfrt::vm {
namespace {

using isa::Op;

// One prepared instruction slot.
struct Slot {
    const void* handler;
    uint8_t dst;
    uint8_t src;
    int16_t off;
    int32_t imm;
};
static_assert(sizeof(Slot) == 16);

inline constexpr unsigned kMaxTailCalls = 33;  // as the kernel's MAX_TAIL_CALL_CNT
inline constexpr size_t kStackBytes = kRunStackSize;

// Internal handlers after the table's operations in the label table.
inline constexpr size_t kEndLabel = isa::kOpCount;      // past the last instruction
inline constexpr size_t kLabelCount = isa::kOpCount + 1;

// ---- Operation semantics (unsigned arithmetic: wrapping is defined) ----

template <class U> constexpr U op_add(U a, U b) { return static_cast<U>(a + b); }
template <class U> constexpr U op_sub(U a, U b) { return static_cast<U>(a - b); }
template <class U> constexpr U op_mul(U a, U b) { return static_cast<U>(a * b); }
template <class U> constexpr U op_or(U a, U b) { return a | b; }
template <class U> constexpr U op_and(U a, U b) { return a & b; }
template <class U> constexpr U op_xor(U a, U b) { return a ^ b; }
template <class U> constexpr U op_mov(U, U b) { return b; }
template <class U> constexpr U op_div(U a, U b) { return b == 0 ? U{0} : static_cast<U>(a / b); }
template <class U> constexpr U op_mod(U a, U b) { return b == 0 ? a : static_cast<U>(a % b); }
template <class U> constexpr U op_lsh(U a, U b) { return static_cast<U>(a << (b & (sizeof(U) * 8 - 1))); }
template <class U> constexpr U op_rsh(U a, U b) { return static_cast<U>(a >> (b & (sizeof(U) * 8 - 1))); }
template <class U> constexpr U op_arsh(U a, U b) {
    using S = std::make_signed_t<U>;
    return static_cast<U>(static_cast<S>(a) >> (b & (sizeof(U) * 8 - 1)));  // arithmetic since C++20
}
// Signed division: x / 0 = 0 and x / -1 = -x (wrapping, so INT_MIN / -1 = INT_MIN).
template <class U> constexpr U op_sdiv(U a, U b) {
    using S = std::make_signed_t<U>;
    if (b == 0) return 0;
    if (static_cast<S>(b) == -1) return static_cast<U>(U{0} - a);
    return static_cast<U>(static_cast<S>(a) / static_cast<S>(b));
}
// Signed modulo: x % 0 = x and x % -1 = 0.
template <class U> constexpr U op_smod(U a, U b) {
    using S = std::make_signed_t<U>;
    if (b == 0) return a;
    if (static_cast<S>(b) == -1) return 0;
    return static_cast<U>(static_cast<S>(a) % static_cast<S>(b));
}

template <class U> constexpr bool cmp_eq(U a, U b) { return a == b; }
template <class U> constexpr bool cmp_ne(U a, U b) { return a != b; }
template <class U> constexpr bool cmp_gt(U a, U b) { return a > b; }
template <class U> constexpr bool cmp_ge(U a, U b) { return a >= b; }
template <class U> constexpr bool cmp_lt(U a, U b) { return a < b; }
template <class U> constexpr bool cmp_le(U a, U b) { return a <= b; }
template <class U> constexpr bool cmp_set(U a, U b) { return (a & b) != 0; }
template <class U> constexpr bool cmp_sgt(U a, U b) { return std::make_signed_t<U>(a) > std::make_signed_t<U>(b); }
template <class U> constexpr bool cmp_sge(U a, U b) { return std::make_signed_t<U>(a) >= std::make_signed_t<U>(b); }
template <class U> constexpr bool cmp_slt(U a, U b) { return std::make_signed_t<U>(a) < std::make_signed_t<U>(b); }
template <class U> constexpr bool cmp_sle(U a, U b) { return std::make_signed_t<U>(a) <= std::make_signed_t<U>(b); }

template <class T> inline T load(uintptr_t addr) {
    T v;
    std::memcpy(&v, reinterpret_cast<const void*>(addr), sizeof v);
    return v;
}
template <class T> inline void store(uintptr_t addr, T v) {
    std::memcpy(reinterpret_cast<void*>(addr), &v, sizeof v);
}
template <class T> inline std::atomic_ref<T> atomic_at(uintptr_t addr) {
    return std::atomic_ref<T>(*reinterpret_cast<T*>(addr));
}

// LD_ABS / LD_IND: a big-endian load from the packet, or false when outside it.
// The offset is computed as the kernel does (a 32-bit int).
template <class T> inline bool packet_load(const ExecContext& ctx, uint32_t off32, uint64_t& out) {
    const int32_t off = static_cast<int32_t>(off32);
    if (off < 0 || ctx.packet == nullptr || static_cast<size_t>(off) > ctx.packet_len ||
        ctx.packet_len - static_cast<size_t>(off) < sizeof(T))
        return false;
    T v;
    std::memcpy(&v, ctx.packet + off, sizeof v);
    if constexpr (sizeof(T) > 1) v = std::byteswap(v);  // network order on a little-endian host
    out = v;
    return true;
}

static_assert(std::endian::native == std::endian::little, "the interpreter assumes a little-endian host");

class Interpreter;

// For the length of one run: ctx.checked tells helpers the mode, and
// ctx.stack_top where the run's stack is (in both modes), so that helpers can
// check pointers into it. Both are undone when the run ends, however it ends.
class RunScope {
public:
    RunScope(ExecContext& ctx, bool checked, uintptr_t stack_top)
        : ctx_(ctx), was_checked_(ctx.checked), was_stack_top_(ctx.stack_top), was_call_function_(ctx.call_function),
          was_call_site_(ctx.call_site) {
        ctx.checked = checked;
        ctx.stack_top = stack_top;
    }
    ~RunScope() {
        ctx_.stack_top = was_stack_top_;
        ctx_.checked = was_checked_;
        ctx_.call_function = was_call_function_;
        ctx_.call_site = was_call_site_;
    }
    RunScope(const RunScope&) = delete;
    RunScope& operator=(const RunScope&) = delete;

private:
    ExecContext& ctx_;
    bool was_checked_;
    uintptr_t was_stack_top_;
    decltype(ExecContext::call_function) was_call_function_;
    const void* was_call_site_;
};

// A function of the program called back by a helper (bpf_loop): its first
// slot and the stack it shares with the run that called the helper.
struct Nested {
    size_t entry = 0;
    uintptr_t stack_base = 0;  // the outer run's stack
    uintptr_t r10 = 0;         // top of the new frame, one below the helper's caller
    size_t depth = 0;          // frames below the new one
};

class Interpreter;

// What ExecContext::call_function needs of the run that called the helper.
struct CallSite {
    const Interpreter* prog = nullptr;
    uintptr_t stack_base = 0;
    uintptr_t r10 = 0;
    size_t depth = 0;  // frames below the helper's caller
};

// Where a checked-mode memory violation happened.
struct Fault {
    uintptr_t addr = 0;
    size_t size = 0;
    bool write = false;
    bool misaligned = false;
};

template <bool kChecked>
Result<uint64_t> execute(const Interpreter* prog, uint64_t r1, uint64_t r2, ExecContext& ctx,
                         const void* const** labels_out, const Nested* nested = nullptr);
template <bool kChecked>
Result<uint64_t> call_function(ExecContext& ctx, uint64_t entry, uint64_t r1, uint64_t r2);

class Interpreter final : public Program {
public:
    Interpreter(std::vector<bpf_insn> raw, std::vector<Slot> code, const HelperTable* helpers, Mode mode)
        : raw_(std::move(raw)), code_(std::move(code)), helpers_(helpers), mode_(mode) {}

    Result<uint64_t> run(uint64_t r1, uint64_t r2, ExecContext& ctx) const override {
        ctx.exit_requested = false;
        ctx.tail_call_target = nullptr;
        ctx.call_error.reset();
        return mode_ == Mode::Checked ? execute<true>(this, r1, r2, ctx, nullptr)
                                      : execute<false>(this, r1, r2, ctx, nullptr);
    }
    Mode mode() const noexcept override { return mode_; }
    size_t size() const noexcept override { return raw_.size(); }

    const Slot* code() const noexcept { return code_.data(); }
    const HelperTable* helpers() const noexcept { return helpers_; }

    // Error messages, built off the hot path.
    [[gnu::cold, gnu::noinline]] Error error_at(const Slot* ip, int code, std::string_view what) const {
        const size_t pc = static_cast<size_t>(ip - code_.data());
        if (pc >= raw_.size()) return Error{code, fmt::format("pc {}: {}", pc, what)};
        return Error{code, fmt::format("pc {}: `{}`: {}", pc, isa::format_instruction(raw_, pc), what)};
    }
    [[gnu::cold, gnu::noinline]] Error fault_at(const Slot* ip, const Fault& f) const {
        if (f.misaligned)
            return error_at(ip, EFAULT, fmt::format("misaligned atomic access of {} bytes at {:#x}", f.size, f.addr));
        return error_at(ip, EFAULT,
                        fmt::format("{} of {} bytes at {:#x} is outside the stack and the allowed memory",
                                    f.write ? "write" : "read", f.size, f.addr));
    }

private:
    std::vector<bpf_insn> raw_;  // kept for error messages
    std::vector<Slot> code_;     // raw_.size() + 1 slots; the last ends the program with an error
    const HelperTable* helpers_;
    Mode mode_;
};

// The executor. Called with labels_out != nullptr it only hands out its label
// table; with `nested`, it runs a function called back by a helper.
template <bool kChecked>
Result<uint64_t> execute(const Interpreter* prog, uint64_t r1, uint64_t r2, ExecContext& ctx,
                         const void* const** labels_out, const Nested* nested) {
    static const void* const kLabels[kLabelCount] = {
#define OP(name, code, disc, mnemonic, form, width) &&L_##name,
#include "isa/opcodes.def"
#undef OP
        &&L_END,
    };
    if (labels_out != nullptr) {
        *labels_out = kLabels;
        return 0;
    }

    struct Frame {
        const Slot* ret;
        uint64_t saved[5];  // r6-r9, r10
    };

    alignas(16) uint8_t own_stack[kStackBytes];
    if constexpr (kChecked)
        if (nested == nullptr) std::memset(own_stack, 0, sizeof own_stack);  // never show host data to unchecked code
    // A callback runs on its caller's stack, one frame below the helper's caller.
    const uintptr_t stack_base = nested != nullptr ? nested->stack_base : reinterpret_cast<uintptr_t>(own_stack);
    const uintptr_t stack_top = stack_base + kStackBytes;
    uintptr_t stack_low = (nested != nullptr ? nested->r10 : stack_top) - kStackSize;  // bottom of the current frame
    RunScope scope(ctx, kChecked, stack_top);
    Frame frames[kMaxCallDepth];
    size_t depth = 0;  // frames below the current one (in this run)
    const size_t depth_base = nested != nullptr ? nested->depth : 0;  // and below the callback's
    CallSite site;

    uint64_t reg[11] = {};
    const Interpreter* cur = prog;
    const Slot* ip = prog->code() + (nested != nullptr ? nested->entry : 0);
    uint64_t helper_id = 0;
    Fault fault;

    reg[1] = r1;
    reg[2] = r2;
    reg[10] = nested != nullptr ? nested->r10 : stack_top;

    // The current frame and every caller's, or memory the context allows. The
    // frames below the current one are off limits although the whole stack is
    // a region (for helpers).
    auto access_ok = [&](uintptr_t addr, size_t size, bool write) {
        if (addr >= stack_low && addr <= stack_top - size) return true;
        if (addr < stack_top && addr + size > stack_base) return false;
        return ctx.is_allowed(addr, size, write);
    };

#define DISPATCH() goto* ip->handler
#define NEXT()  \
    do {        \
        ++ip;   \
        DISPATCH(); \
    } while (0)
#define DST reg[ip->dst]
#define SRC reg[ip->src]
#define IMM64 static_cast<uint64_t>(static_cast<int64_t>(ip->imm))
#define IMM32 static_cast<uint32_t>(ip->imm)
#define LO32(x) static_cast<uint32_t>(x)
#define CHECK_ACCESS(ADDR, SIZE, WRITE)                                    \
    do {                                                                   \
        if constexpr (kChecked) {                                          \
            if (!access_ok(ADDR, SIZE, WRITE)) {                           \
                fault = Fault{ADDR, SIZE, WRITE, false};                   \
                goto L_FAULT;                                              \
            }                                                              \
        }                                                                  \
    } while (0)

    DISPATCH();

    // ---- Arithmetic ----
#define ALU(NAME, FN)                                                        \
    L_##NAME##64_IMM : DST = FN<uint64_t>(DST, IMM64);                       \
    NEXT();                                                                  \
    L_##NAME##64_REG : DST = FN<uint64_t>(DST, SRC);                         \
    NEXT();                                                                  \
    L_##NAME##32_IMM : DST = FN<uint32_t>(LO32(DST), IMM32);                 \
    NEXT();                                                                  \
    L_##NAME##32_REG : DST = FN<uint32_t>(LO32(DST), LO32(SRC));             \
    NEXT();
    ALU(ADD, op_add)
    ALU(SUB, op_sub)
    ALU(MUL, op_mul)
    ALU(DIV, op_div)
    ALU(SDIV, op_sdiv)
    ALU(OR, op_or)
    ALU(AND, op_and)
    ALU(LSH, op_lsh)
    ALU(RSH, op_rsh)
    ALU(MOD, op_mod)
    ALU(SMOD, op_smod)
    ALU(XOR, op_xor)
    ALU(MOV, op_mov)
    ALU(ARSH, op_arsh)
#undef ALU

L_NEG64:
    DST = 0 - DST;
    NEXT();
L_NEG32:
    DST = LO32(0u - LO32(DST));
    NEXT();
L_MOVSX8_64:
    DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int8_t>(SRC)));
    NEXT();
L_MOVSX16_64:
    DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(SRC)));
    NEXT();
L_MOVSX32_64:
    DST = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(SRC)));
    NEXT();
L_MOVSX8_32:
    DST = LO32(static_cast<int32_t>(static_cast<int8_t>(SRC)));
    NEXT();
L_MOVSX16_32:
    DST = LO32(static_cast<int32_t>(static_cast<int16_t>(SRC)));
    NEXT();
    // Byte order on a little-endian host: "le" truncates, "be" and bswap swap.
L_LE16:
    DST = static_cast<uint16_t>(DST);
    NEXT();
L_LE32:
    DST = LO32(DST);
    NEXT();
L_LE64:
    NEXT();
L_BE16:
L_BSWAP16:
    DST = std::byteswap(static_cast<uint16_t>(DST));
    NEXT();
L_BE32:
L_BSWAP32:
    DST = std::byteswap(LO32(DST));
    NEXT();
L_BE64:
L_BSWAP64:
    DST = std::byteswap(DST);
    NEXT();

    // ---- Loads and stores ----
L_LDDW:
    DST = LO32(ip[0].imm) | (static_cast<uint64_t>(LO32(ip[1].imm)) << 32);
    ip += 2;
    DISPATCH();

#define LD_PACKET(NAME, T, OFFSET)                                   \
    L_##NAME : if (!packet_load<T>(ctx, OFFSET, reg[0])) return 0;   \
    NEXT();
    LD_PACKET(LDABSB, uint8_t, IMM32)
    LD_PACKET(LDABSH, uint16_t, IMM32)
    LD_PACKET(LDABSW, uint32_t, IMM32)
    LD_PACKET(LDINDB, uint8_t, IMM32 + LO32(SRC))
    LD_PACKET(LDINDH, uint16_t, IMM32 + LO32(SRC))
    LD_PACKET(LDINDW, uint32_t, IMM32 + LO32(SRC))
#undef LD_PACKET

    // T: type in memory; R: its conversion to the register (sign or zero extension).
#define LOAD(NAME, T, R)                                            \
    L_##NAME : {                                                    \
        const uintptr_t addr = SRC + static_cast<uint64_t>(ip->off); \
        CHECK_ACCESS(addr, sizeof(T), false);                       \
        DST = static_cast<uint64_t>(static_cast<R>(load<T>(addr)));  \
        NEXT();                                                     \
    }
    LOAD(LDXB, uint8_t, uint8_t)
    LOAD(LDXH, uint16_t, uint16_t)
    LOAD(LDXW, uint32_t, uint32_t)
    LOAD(LDXDW, uint64_t, uint64_t)
    LOAD(LDXSB, int8_t, int64_t)
    LOAD(LDXSH, int16_t, int64_t)
    LOAD(LDXSW, int32_t, int64_t)
#undef LOAD

#define STORE(NAME, T, VALUE)                                       \
    L_##NAME : {                                                    \
        const uintptr_t addr = DST + static_cast<uint64_t>(ip->off); \
        CHECK_ACCESS(addr, sizeof(T), true);                        \
        store<T>(addr, static_cast<T>(VALUE));                      \
        NEXT();                                                     \
    }
    STORE(STB, uint8_t, IMM64)
    STORE(STH, uint16_t, IMM64)
    STORE(STW, uint32_t, IMM64)
    STORE(STDW, uint64_t, IMM64)
    STORE(STXB, uint8_t, SRC)
    STORE(STXH, uint16_t, SRC)
    STORE(STXW, uint32_t, SRC)
    STORE(STXDW, uint64_t, SRC)
#undef STORE

    // ---- Atomics: real atomic operations, since maps are shared between threads ----
#define ATOMIC_ADDR(T)                                                       \
    const uintptr_t addr = DST + static_cast<uint64_t>(ip->off);             \
    if constexpr (kChecked) {                                                \
        if (addr % sizeof(T) != 0) {                                         \
            fault = Fault{addr, sizeof(T), true, true};                      \
            goto L_FAULT;                                                    \
        }                                                                    \
    }                                                                        \
    CHECK_ACCESS(addr, sizeof(T), true);                                     \
    auto ref = atomic_at<T>(addr);
    // Non-fetching forms.
#define ATOMIC_PLAIN(NAME, FETCH)                                            \
    L_##NAME##64 : {                                                         \
        ATOMIC_ADDR(uint64_t)                                                \
        ref.FETCH(SRC);                                                      \
        NEXT();                                                              \
    }                                                                        \
    L_##NAME##32 : {                                                         \
        ATOMIC_ADDR(uint32_t)                                                \
        ref.FETCH(LO32(SRC));                                                \
        NEXT();                                                              \
    }
    // Fetching forms: src receives the old value (zero-extended for 32 bits).
#define ATOMIC_FETCH(NAME, FETCH)                                            \
    L_##NAME##64 : {                                                         \
        ATOMIC_ADDR(uint64_t)                                                \
        SRC = ref.FETCH(SRC);                                                \
        NEXT();                                                              \
    }                                                                        \
    L_##NAME##32 : {                                                         \
        ATOMIC_ADDR(uint32_t)                                                \
        SRC = ref.FETCH(LO32(SRC));                                          \
        NEXT();                                                              \
    }
    ATOMIC_PLAIN(ATOMIC_ADD, fetch_add)
    ATOMIC_PLAIN(ATOMIC_OR, fetch_or)
    ATOMIC_PLAIN(ATOMIC_AND, fetch_and)
    ATOMIC_PLAIN(ATOMIC_XOR, fetch_xor)
    ATOMIC_FETCH(ATOMIC_FETCH_ADD, fetch_add)
    ATOMIC_FETCH(ATOMIC_FETCH_OR, fetch_or)
    ATOMIC_FETCH(ATOMIC_FETCH_AND, fetch_and)
    ATOMIC_FETCH(ATOMIC_FETCH_XOR, fetch_xor)
    ATOMIC_FETCH(ATOMIC_XCHG, exchange)

#undef ATOMIC_PLAIN
#undef ATOMIC_FETCH
    // cmpxchg: compare with r0, store src when equal; r0 receives the old value.
L_ATOMIC_CMPXCHG64: {
    ATOMIC_ADDR(uint64_t)
    uint64_t expected = reg[0];
    ref.compare_exchange_strong(expected, SRC);
    reg[0] = expected;
    NEXT();
}
L_ATOMIC_CMPXCHG32: {
    ATOMIC_ADDR(uint32_t)
    uint32_t expected = LO32(reg[0]);
    ref.compare_exchange_strong(expected, LO32(SRC));
    reg[0] = expected;
    NEXT();
}
#undef ATOMIC_ADDR

    // ---- Jumps: slot i jumps to i + 1 + offset ----
L_JA:
    ip += ip->off;
    NEXT();
L_JA32:
    ip += ip->imm;
    NEXT();
#define JUMP(NAME, CMP)                                                      \
    L_##NAME##_IMM : if (CMP<uint64_t>(DST, IMM64)) ip += ip->off;           \
    NEXT();                                                                  \
    L_##NAME##_REG : if (CMP<uint64_t>(DST, SRC)) ip += ip->off;             \
    NEXT();                                                                  \
    L_##NAME##32_IMM : if (CMP<uint32_t>(LO32(DST), IMM32)) ip += ip->off;   \
    NEXT();                                                                  \
    L_##NAME##32_REG : if (CMP<uint32_t>(LO32(DST), LO32(SRC))) ip += ip->off; \
    NEXT();
    JUMP(JEQ, cmp_eq)
    JUMP(JGT, cmp_gt)
    JUMP(JGE, cmp_ge)
    JUMP(JSET, cmp_set)
    JUMP(JNE, cmp_ne)
    JUMP(JSGT, cmp_sgt)
    JUMP(JSGE, cmp_sge)
    JUMP(JLT, cmp_lt)
    JUMP(JLE, cmp_le)
    JUMP(JSLT, cmp_slt)
    JUMP(JSLE, cmp_sle)
#undef JUMP

    // ---- Calls ----
L_CALL_HELPER:
    helper_id = IMM32;
    goto L_DO_HELPER;
L_CALLX:
    helper_id = DST;
    goto L_DO_HELPER;
L_DO_HELPER: {
    const HelperTable* table = cur->helpers();
    const Helper* helper =
        (table == nullptr || helper_id > UINT32_MAX) ? nullptr : table->find(static_cast<uint32_t>(helper_id));
    if (helper == nullptr) [[unlikely]]
        return std::unexpected(cur->error_at(ip, EINVAL, fmt::format("call to unknown helper {}", helper_id)));
    const uint64_t ctx_arg = reg[1];
    site = CallSite{cur, stack_base, reg[10], depth_base + depth};
    ctx.call_site = &site;
    ctx.call_function = &call_function<kChecked>;
    reg[0] = helper->fn(reg[1], reg[2], reg[3], reg[4], reg[5], ctx);
    if (ctx.exit_requested) [[unlikely]] {
        if (nested == nullptr && ctx.call_error) return std::unexpected(*ctx.call_error);  // a callback failed
        return ctx.exit_value;
    }
    if (helper->unwind_on_zero && reg[0] == 0) [[unlikely]] {
        if (nested != nullptr) {  // the whole program ends, not just the callback
            ctx.exit_requested = true;
            ctx.exit_value = 0;
        }
        return 0;
    }
    if (ctx.tail_call_target != nullptr && nested != nullptr) [[unlikely]]
        return std::unexpected(cur->error_at(ip, ENOTSUP, "a tail call from a callback (bpf_loop) is not supported"));
    if (ctx.tail_call_target != nullptr) [[unlikely]] {
        const Program* target = ctx.tail_call_target;
        ctx.tail_call_target = nullptr;
        if (ctx.tail_calls < kMaxTailCalls) {
            ++ctx.tail_calls;
            const auto* same = dynamic_cast<const Interpreter*>(target);
            if (same == nullptr || same->mode() != cur->mode()) return target->run(ctx_arg, r2, ctx);
            // Continue in the target with its own fresh stack, as if it had been run.
            cur = same;
            ip = same->code();
            depth = 0;
            stack_low = stack_top - kStackSize;
            reg[1] = ctx_arg;
            reg[2] = r2;
            reg[10] = stack_top;
            DISPATCH();
        }
        // Over the limit the tail call does not happen: the program goes on (as the kernel).
    }
    NEXT();
}
L_CALL_LOCAL:
    if (depth_base + depth + 1 >= kMaxCallDepth) [[unlikely]]
        return std::unexpected(cur->error_at(
            ip, EINVAL, fmt::format("call depth exceeds {} frames", kMaxCallDepth)));
    frames[depth] = Frame{ip, {reg[6], reg[7], reg[8], reg[9], reg[10]}};
    ++depth;
    reg[10] -= kStackSize;
    stack_low -= kStackSize;
    ip += ip->imm;
    NEXT();
L_EXIT:
    if (depth == 0) return reg[0];
    --depth;
    ip = frames[depth].ret;
    reg[6] = frames[depth].saved[0];
    reg[7] = frames[depth].saved[1];
    reg[8] = frames[depth].saved[2];
    reg[9] = frames[depth].saved[3];
    reg[10] = frames[depth].saved[4];
    stack_low += kStackSize;
    NEXT();

    // ---- Errors ----
L_END:
    return std::unexpected(cur->error_at(ip, EINVAL, "execution ran past the last instruction"));
L_FAULT: __attribute__((unused));  // reached only in checked mode
    if constexpr (kChecked) return std::unexpected(cur->fault_at(ip, fault));
    return 0;

#undef DISPATCH
#undef NEXT
#undef DST
#undef SRC
#undef IMM64
#undef IMM32
#undef LO32
#undef CHECK_ACCESS
}

// ExecContext::call_function while an interpreted helper call runs: a
// nested run of the function at `entry` in a frame below the helper's caller.
template <bool kChecked>
Result<uint64_t> call_function(ExecContext& ctx, uint64_t entry, uint64_t r1, uint64_t r2) {
    const auto* site = static_cast<const CallSite*>(ctx.call_site);
    if (site == nullptr || entry >= site->prog->size())
        return fail(EINVAL, fmt::format("callback entry {} is not an instruction of the program", entry));
    if (site->depth + 1 >= kMaxCallDepth)
        return fail(EINVAL, fmt::format("call depth exceeds {} frames", kMaxCallDepth));
    const Nested nested{static_cast<size_t>(entry), site->stack_base, site->r10 - kStackSize, site->depth + 1};
    return execute<kChecked>(site->prog, r1, r2, ctx, nullptr, &nested);
}

}  // namespace

Result<std::unique_ptr<Program>> make_interpreter(std::span<const bpf_insn> insns, const HelperTable* helpers,
                                                  Mode mode) {
    // The structural checks both engines share (src/isa/structure.hpp).
    auto decoded = isa::decode_program(insns);
    if (!decoded) return std::unexpected(decoded.error());
    const size_t n = insns.size();
    const std::vector<isa::Instruction>& at = decoded->at;
    const std::vector<bool>& starts = decoded->starts;
    if (mode == Mode::Checked) {
        for (size_t pc = 0; pc < n; ++pc) {
            if (!starts[pc] || at[pc].op != Op::CALL_HELPER) continue;
            const auto id = static_cast<uint32_t>(at[pc].imm);
            if (helpers == nullptr || helpers->find(id) == nullptr)
                return isa::instruction_error(insns, pc, fmt::format("helper {} does not exist", id));
        }
    }

    const void* const* labels = nullptr;
    ExecContext unused;
    if (mode == Mode::Checked)
        (void)execute<true>(nullptr, 0, 0, unused, &labels);
    else
        (void)execute<false>(nullptr, 0, 0, unused, &labels);

    std::vector<Slot> code(n + 1);
    for (size_t pc = 0; pc < n; ++pc) {
        Slot& s = code[pc];
        if (!starts[pc]) {  // second slot of an lddw: the high half of the immediate
            s = Slot{labels[kEndLabel], 0, 0, 0, insns[pc].imm};
            continue;
        }
        const isa::Instruction& insn = at[pc];
        s = Slot{labels[static_cast<size_t>(insn.op)], insn.dst, insn.src, insn.off, insn.imm};
    }
    code[n] = Slot{labels[kEndLabel], 0, 0, 0, 0};

    return std::make_unique<Interpreter>(std::vector<bpf_insn>(insns.begin(), insns.end()), std::move(code), helpers,
                                         mode);
}

}  // namespace bpfrt::vm
