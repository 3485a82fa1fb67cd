// eBPF to x86-64 with Xbyak.
//
// Register mapping (the Linux kernel's): r0=rax r1=rdi r2=rsi r3=rdx r4=rcx
// r5=r8 r6=rbx r7=r13 r8=r14 r9=r15 r10=rbp. r1-r5 are exactly the System V
// argument registers, so a helper call is a plain `call` with the ExecContext
// as sixth argument (r9); r6-r9 and r10 sit in callee-saved registers and
// survive helper calls for free. r12 holds the RunState; r9, r10 and r11 are
// scratch (r10 doubles as the blinding register, the kernel's BPF_REG_AX).
//
// Frame layout. The entry saves the callee-saved registers the program
// changes and, when it uses a stack (names r10, calls helpers or functions),
// reserves the whole eBPF stack (kMaxCallDepth frames of 512 bytes) below
// them; r10 starts at its top. A program with bpf-to-bpf calls enters every
// eBPF function, the main one included, with a native `call` and leaves it
// with `ret`, so `exit` is `ret`; a local call pushes r6-r9 and r10 (5 x 8
// bytes, + 8 for the return address: rsp keeps its alignment) and moves r10
// down one 512-byte frame. A program without them runs its body inside the
// entry and `exit` is the epilogue itself. The reservation is padded so that
// rsp is 16-byte aligned at every helper call. Anything that ends the run
// early (an unwinding helper, an exit request, a tail call, a packet load out
// of bounds, an error) resets rsp to its value after the reservation and
// leaves through the shared epilogue.
//
// The entry sets up only what the program uses (its fixed cost per run):
// r12 and RunState::entry_rsp for programs that call helpers or functions or
// load from the packet, the call-depth limit for bpf-to-bpf calls, and
// ExecContext::stack_top for helper calls.
//
// Semantics that x86 does not give directly are spelled out: division by
// zero (x/0 = 0, x%0 = x), signed INT_MIN / -1 (no #DE: -1 is handled apart),
// shift counts (masked by the hardware exactly as eBPF wants), 32-bit results
// (x86 zero-extends every 32-bit register write, except cmpxchg's accumulator
// on success, which is zero-extended explicitly).
#include "jit/compiler.hpp"

#include "jit/run_state.hpp"
#include "helpers/prototypes.hpp"

#if defined(__x86_64__)
#include <xbyak/xbyak.h>
#include <xbyak/xbyak_util.h>
#endif

#include <fmt/format.h>

#include <cerrno>
#include <cstddef>
#include <deque>
#include <functional>
#include <random>

namespace bpfrt::jit {

#if !defined(__x86_64__)

Result<CompiledCode> compile(const PreparedProgram&, const vm::HelperTable*, const JitOptions&) {
    return fail(ENOTSUP, "the JIT supports only x86-64 hosts");
}

#else

namespace {

using isa::Form;
using isa::Op;
using Xbyak::Label;
using Xbyak::Reg64;

inline constexpr uint32_t kMaxTailCalls = 33;  // as the kernel's MAX_TAIL_CALL_CNT
inline constexpr uint32_t kStackBytes = static_cast<uint32_t>(vm::kStackSize * vm::kMaxCallDepth);
// Native stack taken by one local call: r6-r9, r10 and the return address.
inline constexpr uint32_t kCallFrameBytes = 48;

// Xbyak buffers live on the heap and are copied into CodeMemory: they must
// never be made executable.
struct HeapAllocator final : Xbyak::Allocator {
    bool useProtect() const override { return false; }
};

bool have_bmi2() {
    static const bool bmi2 = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tBMI2);
    return bmi2;
}

// An operand that is a register or a (sign-extended) 32-bit immediate.
struct Source {
    bool is_imm = false;
    uint8_t reg = 0;   // eBPF register, or kBlindReg
    int32_t imm = 0;
};
inline constexpr uint8_t kBlindReg = 11;  // the kernel's BPF_REG_AX, here r10

// What a program uses, which decides what its entry sets up.
struct Shape {
    bool named[16] = {};        // registers in a dst or src field (conservative)
    bool local_calls = false;   // bpf-to-bpf calls
    bool helper_calls = false;  // call imm, callx
    bool packet_loads = false;  // LD_ABS, LD_IND
    bool callbacks = false;     // a helper that calls functions of the program back (bpf_loop)
    // r12 = RunState: calls, packet loads and every early exit use it.
    bool uses_state() const { return local_calls || helper_calls || packet_loads; }
    // r10 and the reserved eBPF stack (helpers get ExecContext::stack_top).
    bool uses_stack() const { return named[BPF_REG_10] || local_calls || helper_calls; }
};

Shape shape_of(const PreparedProgram& prog) {
    Shape shape;
    for (size_t pc = 0; pc < prog.at.size(); ++pc) {
        if (!prog.starts[pc]) continue;
        const isa::Instruction& in = prog.at[pc];
        shape.named[in.dst & 15] = true;
        shape.named[in.src & 15] = true;  // also for forms without a source register: conservative
        switch (in.info().form) {
            case Form::CallLocal: shape.local_calls = true; break;
            case Form::CallHelper:
                shape.helper_calls = true;
                if (helpers::calls_back(static_cast<uint32_t>(in.imm))) shape.callbacks = true;
                break;
            case Form::CallReg: shape.helper_calls = true; break;
            case Form::LoadAbs:
            case Form::LoadInd: shape.packet_loads = true; break;
            default: break;
        }
    }
    // Functions called back end with `ret`, as those of local calls.
    if (shape.callbacks) shape.local_calls = true;
    return shape;
}

class Compiler final : public Xbyak::CodeGenerator {
public:
    Compiler(const PreparedProgram& prog, const vm::HelperTable* helpers, const JitOptions& options,
             HeapAllocator* allocator)
        : Xbyak::CodeGenerator(4096 + prog.at.size() * 32, Xbyak::AutoGrow, allocator),
          prog_(prog),
          helpers_(helpers),
          blind_(options.constant_blinding),
          bmi2_(options.use_bmi2 && have_bmi2()),
          offs_(context_offsets()),
          shape_(shape_of(prog)),
          labels_(prog.at.size()) {
        if (blind_) rng_.seed(std::random_device{}());
        setDefaultJmpNEAR(true);  // forward jumps: rel32 (backward ones still pick rel8 when they fit)
    }

    CompiledCode run() {
        CompiledCode out;
        prologue();
        out.body_start = static_cast<uint32_t>(getSize());
        body(out.insn_offsets);
        out.stubs_start = static_cast<uint32_t>(getSize());
        common_stubs();
        if (shape_.callbacks) {
            out.callback_entry = static_cast<uint32_t>(getSize());
            callback_trampoline();
        }
        for (auto& stub : cold_) stub();
        ready();
        out.bytes.assign(getCode(), getCode() + getSize());
        return out;
    }

private:
    // ---- Registers ----
    Reg64 R(uint8_t r) const {
        static const Reg64 map[] = {rax, rdi, rsi, rdx, rcx, r8, rbx, r13, r14, r15, rbp, r10};
        return map[r];
    }
    Xbyak::Reg32 R32(uint8_t r) const { return R(r).cvt32(); }

    Xbyak::Address mem(uint8_t width, uint8_t base, int16_t off) {
        const Xbyak::RegExp addr = R(base) + off;
        switch (width) {
            case 8: return byte[addr];
            case 16: return word[addr];
            case 32: return dword[addr];
            default: return qword[addr];
        }
    }
    Xbyak::Reg sized(uint8_t width, uint8_t r) const {
        switch (width) {
            case 8: return R(r).cvt8();
            case 16: return R(r).cvt16();
            case 32: return R(r).cvt32();
            default: return R(r);
        }
    }
    Xbyak::Address state(size_t offset) { return qword[r12 + static_cast<int>(offset)]; }

    // ---- Constant blinding ----
    uint32_t next_key() { return static_cast<uint32_t>(rng_()); }

    // An immediate operand: as is, or (blinding) rebuilt in r10 from imm ^ key.
    Source imm_source(int32_t imm) {
        if (!blind_) return Source{true, 0, imm};
        const uint32_t key = next_key();
        const auto blinded = static_cast<int32_t>(static_cast<uint32_t>(imm) ^ key);
        mov(r10, static_cast<uint64_t>(static_cast<int64_t>(blinded)));
        xor_(r10, static_cast<uint32_t>(key));  // sign-extended: sext(a ^ k) ^ sext(k) = sext(a)
        return Source{false, kBlindReg, 0};
    }
    Source reg_source(uint8_t r) { return Source{false, r, 0}; }
    Source source_of(const isa::Instruction& in) {
        const Form form = in.info().form;
        const bool imm = form == Form::AluImm || form == Form::CondImm;
        return imm ? imm_source(in.imm) : reg_source(in.src);
    }
    // The value of `s` in scratch register `dst` (64 bits, sign-extended).
    void load_source(const Reg64& dst, const Source& s) {
        if (s.is_imm) mov(dst, static_cast<uint64_t>(static_cast<int64_t>(s.imm)));
        else if (R(s.reg) != dst) mov(dst, R(s.reg));
    }

    // ---- Prologue, epilogue, shared stubs ----
    // The callee-saved registers the run changes: rbp (r10) when the program
    // uses a stack, r12 (the RunState) when it uses the state, rbx and
    // r13-r15 when it names r6-r9 (a local call pushes and pops them, leaving
    // them intact).
    std::vector<Reg64> saved_registers() const {
        std::vector<Reg64> regs;
        if (shape_.uses_stack()) regs.push_back(rbp);
        if (shape_.uses_state()) regs.push_back(r12);
        for (uint8_t r = 6; r <= 9; ++r)
            if (shape_.named[r]) regs.push_back(R(r));
        return regs;
    }

    // Bytes reserved below the saved registers: the eBPF stack, plus 8 when
    // needed for rsp to be 16-byte aligned at helper calls. At entry rsp is
    // 8 mod 16 (the return address); the body runs 8 bytes lower when it is
    // entered with `call`.
    uint32_t reserved_bytes(size_t saved) const {
        uint32_t bytes = shape_.uses_stack() ? kStackBytes : 0;
        if (!shape_.local_calls && !shape_.helper_calls) return bytes;
        const uint32_t below = static_cast<uint32_t>(8 + 8 * saved) + bytes + (shape_.local_calls ? 8 : 0);
        if (below % 16 != 0) bytes += 8;
        return bytes;
    }

    void prologue() {
        saved_ = saved_registers();
        reserved_ = reserved_bytes(saved_.size());
        for (const Reg64& r : saved_) push(r);
        if (shape_.uses_state()) mov(r12, rdx);
        if (shape_.uses_stack()) mov(rbp, rsp);  // r10: the top of the eBPF stack
        if (reserved_ != 0) sub(rsp, reserved_);
        if (shape_.uses_state()) mov(state(offsetof(RunState, entry_rsp)), rsp);
        if (shape_.local_calls) {
            lea(r11, ptr[rsp - static_cast<int>(8 + kCallFrameBytes * (vm::kMaxCallDepth - 1))]);
            mov(state(offsetof(RunState, depth_limit)), r11);
        }
        if (shape_.helper_calls) {
            // ctx.stack_top = r10: helpers may use the program's stack (vm.hpp).
            mov(r11, state(offsetof(RunState, ctx)));
            mov(qword[r11 + offs_.stack_top], rbp);
        }
        // Registers start at zero, as in the interpreter.
        // r6-r9 the program never names keep the caller's values (not saved).
        for (const Reg64& r : {rax, rdx, rcx, r8}) xor_(r.cvt32(), r.cvt32());
        for (const Reg64& r : saved_)
            if (r == rbx || r == r13 || r == r14 || r == r15) xor_(r.cvt32(), r.cvt32());
        if (!shape_.local_calls) return;  // the body follows; `exit` is the epilogue
        call(labels_[0]);
        L(epilogue_);
        epilogue();
    }

    void epilogue() {
        if (reserved_ != 0) add(rsp, reserved_);
        for (auto r = saved_.rbegin(); r != saved_.rend(); ++r) pop(*r);
        ret();
    }

    void common_stubs() {
        if (!shape_.local_calls) {
            L(epilogue_);
            epilogue();
        }
        // Leaves the run from any depth with rax as the result; inside a
        // callback, leaves the callback only (its trampoline returns to the
        // helper, which sees the status or exit request and stops).
        L(abort_);
        if (shape_.callbacks) {
            cmp(state(offsetof(RunState, callback_rsp)), 0);
            jne(callback_abort_, T_NEAR);
        }
        mov(rsp, state(offsetof(RunState, entry_rsp)));
        jmp(epilogue_);
        // r0 = 0 and stop: packet loads out of bounds, unwinding helpers.
        L(return_zero_);
        xor_(eax, eax);
        jmp(abort_);
        // A helper asked to stop with ctx.exit_value.
        L(exit_requested_);
        mov(r11, state(offsetof(RunState, ctx)));
        mov(rax, qword[r11 + offs_.exit_value]);
        jmp(abort_);
    }

    // uint64_t trampoline(const void* function, uint64_t r1, uint64_t r2,
    // RunState* state), called by ExecContext::call_function (jit.cpp) from
    // a helper: runs the function as a local call would, in the frame below
    // the helper's caller, and returns its r0. Callee-saved registers of the
    // C ABI are kept; the state fields a nested callback changes are saved
    // and restored around it.
    void callback_trampoline() {
        for (const Reg64& r : {rbx, rbp, r12, r13, r14, r15}) push(r);
        mov(r12, rcx);
        push(state(offsetof(RunState, helper_rbp)));
        push(state(offsetof(RunState, callback_rsp)));
        push(state(offsetof(RunState, depth_limit)));
        sub(rsp, 8);  // rsp is 8 mod 16 before the call: 0 mod 16 in the function, as in local calls
        mov(state(offsetof(RunState, callback_rsp)), rsp);
        // The verifier bounds the frames of callbacks as of local calls; the
        // native frames of the helper in between must not count against them.
        lea(r11, ptr[rsp - static_cast<int>(8 + kCallFrameBytes * (vm::kMaxCallDepth - 1))]);
        mov(state(offsetof(RunState, depth_limit)), r11);
        mov(rbp, state(offsetof(RunState, helper_rbp)));
        sub(rbp, static_cast<uint32_t>(vm::kStackSize));
        mov(r11, rdi);
        mov(R(BPF_REG_1), rsi);
        mov(R(BPF_REG_2), rdx);
        call(r11);
        L(callback_abort_);  // aborts inside the callback land here with rax set
        mov(rsp, state(offsetof(RunState, callback_rsp)));
        add(rsp, 8);
        pop(state(offsetof(RunState, depth_limit)));
        pop(state(offsetof(RunState, callback_rsp)));
        pop(state(offsetof(RunState, helper_rbp)));
        for (const Reg64& r : {r15, r14, r13, r12, rbp, rbx}) pop(r);
        ret();
    }

    // An out-of-line error exit for the instruction at `pc`.
    Label& error_stub(size_t pc, RunError kind, uint64_t arg) {
        Label& stub = cold_labels_.emplace_back();
        cold_.push_back([this, &stub, pc, kind, arg] {
            L(stub);
            mov(state(offsetof(RunState, error_pc)), static_cast<uint32_t>(pc));
            mov(r11, arg);
            mov(state(offsetof(RunState, error_arg)), r11);
            mov(dword[r12 + static_cast<int>(offsetof(RunState, error_kind))], static_cast<uint32_t>(kind));
            mov(dword[r12 + static_cast<int>(offsetof(RunState, status))], static_cast<uint32_t>(RunStatus::Error));
            jmp(abort_);
        });
        return stub;
    }

    // ---- Body ----
    void body(std::vector<uint32_t>& offsets) {
        const size_t n = prog_.at.size();
        std::vector<bool> target(n, false);
        for (size_t pc = 0; pc < n; ++pc) {
            if (!prog_.starts[pc]) continue;
            const isa::Instruction& in = prog_.at[pc];
            if (isa::is_jump(in.op) || in.op == Op::CALL_LOCAL)
                target[static_cast<size_t>(isa::branch_target(in, pc))] = true;
        }
        target[0] = true;
        offsets.assign(n + 1, 0);
        for (size_t pc = 0; pc < n; ++pc) {
            offsets[pc] = static_cast<uint32_t>(getSize());
            if (!prog_.starts[pc]) continue;  // lddw's second slot: no code of its own
            if (target[pc]) L(labels_[pc]);
            instruction(prog_.at[pc], pc);
        }
        offsets[n] = static_cast<uint32_t>(getSize());
    }

    void instruction(const isa::Instruction& in, size_t pc) {
        switch (in.info().form) {
            case Form::AluImm:
            case Form::AluReg: return alu(in);
            case Form::Unary: return unary(in);
            case Form::LoadImm64: return load_imm64(in);
            case Form::LoadAbs:
            case Form::LoadInd: return packet_load(in);
            case Form::Load: return load(in);
            case Form::StoreImm:
            case Form::StoreReg: return store(in);
            case Form::Atomic: return atomic(in);
            case Form::Jump: return jmp(labels_[static_cast<size_t>(isa::branch_target(in, pc))]);
            case Form::Jump32: return jmp(labels_[static_cast<size_t>(isa::branch_target(in, pc))]);
            case Form::CondImm:
            case Form::CondReg: return cond_jump(in, pc);
            case Form::CallHelper: return call_helper(in, pc);
            case Form::CallLocal: return call_local(in, pc);
            case Form::CallReg: return call_reg(in, pc);
            case Form::Exit:
                if (shape_.local_calls) return ret();
                return epilogue();
        }
    }

    // ---- Arithmetic ----
    void alu(const isa::Instruction& in) {
        const isa::OpInfo& row = in.info();
        const bool is64 = row.width == 64;
        const unsigned op = BPF_OP(row.code);
        const bool is_signed = row.disc_field == isa::DiscField::Off && row.disc_value == 1;
        if (op == BPF_MOV && row.disc_field == isa::DiscField::Off && row.disc_value >= 8)
            return emit_movsx(in.dst, in.src, static_cast<unsigned>(row.disc_value), is64);
        // Division, modulo and shifts by an immediate are decided at compile time.
        const bool imm = row.form == Form::AluImm;
        if (op == BPF_DIV || op == BPF_MOD) {
            if (imm && !blind_) return divide_imm(in.dst, in.imm, op == BPF_MOD, is_signed, is64);
            return divide(in.dst, source_of(in), op == BPF_MOD, is_signed, is64);
        }
        if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) && imm && !blind_)
            return shift_imm(in.dst, in.imm, op, is64);
        const Source s = source_of(in);
        if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) return shift_reg(in.dst, s.reg, op, is64);
        simple_alu(op, in.dst, s, is64);
    }

    void simple_alu(unsigned op, uint8_t dst, const Source& s, bool is64) {
        const Xbyak::Reg d = is64 ? Xbyak::Reg(R(dst)) : Xbyak::Reg(R32(dst));
        if (s.is_imm) {
            const auto imm = static_cast<uint32_t>(s.imm);
            switch (op) {
                case BPF_ADD: return add(d, imm);
                case BPF_SUB: return sub(d, imm);
                case BPF_AND: return and_(d, imm);
                case BPF_OR: return or_(d, imm);
                case BPF_XOR: return xor_(d, imm);
                case BPF_MUL: return imul(d, d, static_cast<int>(s.imm));
                case BPF_MOV:
                    if (s.imm == 0) return xor_(R32(dst), R32(dst));
                    if (is64) return mov(R(dst), static_cast<uint64_t>(static_cast<int64_t>(s.imm)));
                    return mov(R32(dst), imm);
                default: break;
            }
        } else {
            const Xbyak::Reg sr = is64 ? Xbyak::Reg(R(s.reg)) : Xbyak::Reg(R32(s.reg));
            switch (op) {
                case BPF_ADD: return add(d, sr);
                case BPF_SUB: return sub(d, sr);
                case BPF_AND: return and_(d, sr);
                case BPF_OR: return or_(d, sr);
                case BPF_XOR: return xor_(d, sr);
                case BPF_MUL: return imul(d, sr);
                case BPF_MOV: return mov(d, sr);  // a 32-bit mov zero-extends, even to itself
                default: break;
            }
        }
        XBYAK_THROW(Xbyak::ERR_BAD_COMBINATION);
    }

    void emit_movsx(uint8_t dst, uint8_t src, unsigned from, bool is64) {
        const Xbyak::Reg d = is64 ? Xbyak::Reg(R(dst)) : Xbyak::Reg(R32(dst));
        if (from == 8) return movsx(d, R(src).cvt8());
        if (from == 16) return movsx(d, R(src).cvt16());
        movsxd(R(dst), R32(src));
    }

    // x / 0 = 0, x % 0 = x (its low 32 bits for 32-bit operations); signed:
    // x / -1 = -x (wrapping), x % -1 = 0. Otherwise x86 div / idiv, which
    // need rax and rdx (eBPF r0 and r3): they are kept in r9 and r10.
    void divide(uint8_t dst, const Source& s, bool mod, bool is_signed, bool is64) {
        Label zero, minus_one, done;
        load_source(r11, s);
        if (is64) test(r11, r11);
        else test(r11d, r11d);
        jz(zero, T_NEAR);
        if (is_signed) {
            if (is64) cmp(r11, -1);
            else cmp(r11d, -1);
            je(minus_one, T_NEAR);
        }
        divide_nonzero(dst, mod, is_signed, is64);
        jmp(done, T_NEAR);
        if (is_signed) {
            L(minus_one);
            divide_by_minus_one(dst, mod, is64);
            jmp(done, T_NEAR);
        }
        L(zero);
        divide_by_zero(dst, mod, is64);
        L(done);
    }

    void divide_imm(uint8_t dst, int32_t imm, bool mod, bool is_signed, bool is64) {
        if (imm == 0) return divide_by_zero(dst, mod, is64);
        if (is_signed && imm == -1) return divide_by_minus_one(dst, mod, is64);
        mov(r11, static_cast<uint64_t>(static_cast<int64_t>(imm)));
        divide_nonzero(dst, mod, is_signed, is64);
    }

    // Divides dst by r11 (neither 0 nor, when signed, -1).
    void divide_nonzero(uint8_t dst, bool mod, bool is_signed, bool is64) {
        mov(r10, rax);
        mov(r9, rdx);
        if (R(dst) != rax) mov(rax, R(dst));
        if (is64) {
            if (is_signed) {
                cqo();
                idiv(r11);
            } else {
                xor_(edx, edx);
                div(r11);
            }
        } else {
            if (is_signed) {
                cdq();
                idiv(r11d);
            } else {
                xor_(edx, edx);
                div(r11d);
            }
        }
        if (is64) mov(r11, mod ? rdx : rax);
        else mov(r11d, mod ? edx : eax);  // zero-extends
        mov(rax, r10);
        mov(rdx, r9);
        mov(R(dst), r11);
    }

    void divide_by_zero(uint8_t dst, bool mod, bool is64) {
        if (!mod) return xor_(R32(dst), R32(dst));
        if (!is64) mov(R32(dst), R32(dst));
    }

    void divide_by_minus_one(uint8_t dst, bool mod, bool is64) {
        if (mod) return xor_(R32(dst), R32(dst));
        if (is64) neg(R(dst));
        else neg(R32(dst));
    }

    void shift_imm(uint8_t dst, int32_t imm, unsigned op, bool is64) {
        const auto count = static_cast<uint8_t>(static_cast<uint32_t>(imm) & (is64 ? 63u : 31u));
        const Xbyak::Reg d = is64 ? Xbyak::Reg(R(dst)) : Xbyak::Reg(R32(dst));
        if (count == 0) {
            if (!is64) mov(R32(dst), R32(dst));
            return;
        }
        if (op == BPF_LSH) shl(d, count);
        else if (op == BPF_RSH) shr(d, count);
        else sar(d, count);
    }

    template <class RegT>
    void bmi2_shift(unsigned op, const RegT& d, const RegT& s) {
        if (op == BPF_LSH) shlx(d, d, s);
        else if (op == BPF_RSH) shrx(d, d, s);
        else sarx(d, d, s);
    }

    // The hardware masks the count to 5 or 6 bits, as eBPF specifies.
    void shift_reg(uint8_t dst, uint8_t src, unsigned op, bool is64) {
        if (bmi2_) {
            if (is64) return bmi2_shift(op, R(dst), R(src));
            return bmi2_shift(op, R32(dst), R32(src));
        }
        // Classic form: the count must be in cl, and rcx is eBPF r4.
        const bool dst_is_rcx = R(dst) == rcx;
        const Reg64 value = dst_is_rcx ? r11 : R(dst);
        const Xbyak::Reg v = is64 ? Xbyak::Reg(value) : Xbyak::Reg(value.cvt32());
        if (R(src) != rcx) {
            mov(r9, rcx);
            mov(rcx, R(src));
        }
        if (dst_is_rcx) mov(r11, R(src) == rcx ? rcx : r9);
        if (op == BPF_LSH) shl(v, cl);
        else if (op == BPF_RSH) shr(v, cl);
        else sar(v, cl);
        if (dst_is_rcx) mov(rcx, r11);
        else if (R(src) != rcx) mov(rcx, r9);
    }

    void unary(const isa::Instruction& in) {
        const isa::OpInfo& row = in.info();
        const Reg64 d = R(in.dst);
        if (BPF_OP(row.code) == BPF_NEG) {
            if (row.width == 64) neg(d);
            else neg(d.cvt32());
            return;
        }
        // Byte order: "le" on a little-endian host truncates; "be" and bswap swap.
        const bool swap = BPF_SRC(row.code) == BPF_TO_BE || BPF_CLASS(row.code) == BPF_ALU64;
        switch (row.width) {
            case 16:
                if (swap) rol(d.cvt16(), 8);
                movzx(d.cvt32(), d.cvt16());
                return;
            case 32:
                if (swap) bswap(d.cvt32());
                else mov(d.cvt32(), d.cvt32());
                return;
            default:
                if (swap) bswap(d);
                return;
        }
    }

    // ---- Loads and stores ----
    void load_imm64(const isa::Instruction& in) {
        const Reg64 d = R(in.dst);
        if (blind_) {
            const uint64_t key = (static_cast<uint64_t>(next_key()) << 32) | next_key();
            mov(d, in.imm64 ^ key);
            mov(r10, key);
            xor_(d, r10);
            return;
        }
        if (in.imm64 == 0) xor_(d.cvt32(), d.cvt32());
        else mov(d, in.imm64);
    }

    void load(const isa::Instruction& in) {
        const isa::OpInfo& row = in.info();
        const bool sign = BPF_MODE(row.code) == BPF_MEMSX;
        const Xbyak::Address src = mem(row.width, in.src, in.off);
        const Reg64 d = R(in.dst);
        switch (row.width) {
            case 8:
                if (sign) movsx(d, src);
                else movzx(d.cvt32(), src);
                return;
            case 16:
                if (sign) movsx(d, src);
                else movzx(d.cvt32(), src);
                return;
            case 32:
                if (sign) movsxd(d, src);
                else mov(d.cvt32(), src);
                return;
            default: mov(d, src); return;
        }
    }

    void store(const isa::Instruction& in) {
        const isa::OpInfo& row = in.info();
        if (row.form == Form::StoreReg) return mov(mem(row.width, in.dst, in.off), sized(row.width, in.src));
        const Source s = imm_source(in.imm);
        if (!s.is_imm) return mov(mem(row.width, in.dst, in.off), sized(row.width, s.reg));
        const auto imm = static_cast<uint64_t>(static_cast<int64_t>(in.imm));
        const uint64_t mask = row.width == 64 ? ~uint64_t{0} : (uint64_t{1} << row.width) - 1;
        mov(mem(row.width, in.dst, in.off), row.width == 64 ? imm : imm & mask);
    }

    // LD_ABS / LD_IND: r0 = big-endian load from the packet at the 32-bit
    // offset imm (+ src); outside the packet the program ends with r0 = 0.
    void packet_load(const isa::Instruction& in) {
        const isa::OpInfo& row = in.info();
        const uint32_t size = row.width / 8u;
        const Source off = imm_source(in.imm);
        if (row.form == Form::LoadInd) {
            mov(r11d, R32(in.src));
            if (off.is_imm) {
                if (off.imm != 0) add(r11d, static_cast<uint32_t>(off.imm));
            } else {
                add(r11d, R32(off.reg));
            }
        } else if (off.is_imm) {
            if (off.imm < 0) return jmp(return_zero_, T_NEAR);
            mov(r11d, static_cast<uint32_t>(off.imm));
        } else {
            mov(r11d, R32(off.reg));
        }
        test(r11d, r11d);
        js(return_zero_, T_NEAR);
        lea(r9, ptr[r11 + size]);
        mov(r10, state(offsetof(RunState, ctx)));
        cmp(r9, qword[r10 + offs_.packet_len]);
        ja(return_zero_, T_NEAR);
        mov(r10, qword[r10 + offs_.packet]);
        test(r10, r10);
        jz(return_zero_, T_NEAR);
        switch (size) {
            case 1: movzx(eax, byte[r10 + r11]); return;
            case 2:
                movzx(eax, word[r10 + r11]);
                rol(ax, 8);
                return;
            default:
                mov(eax, dword[r10 + r11]);
                bswap(eax);
                return;
        }
    }

    // ---- Atomics ----
    void atomic(const isa::Instruction& in) {
        const isa::OpInfo& row = in.info();
        const auto aop = static_cast<unsigned>(row.disc_value);
        const Xbyak::Address m = mem(row.width, in.dst, in.off);
        const Xbyak::Reg s = sized(row.width, in.src);
        if (aop == BPF_CMPXCHG) {
            lock();
            cmpxchg(m, s);
            if (row.width == 32) mov(eax, eax);  // not written on success: zero-extend explicitly
            return;
        }
        if (aop == BPF_XCHG) return xchg(m, s);  // implicitly locked
        if (aop == (BPF_ADD | BPF_FETCH)) {
            lock();
            return xadd(m, s);
        }
        if ((aop & BPF_FETCH) != 0) return atomic_fetch_loop(in, aop & ~static_cast<unsigned>(BPF_FETCH));
        lock();
        switch (aop) {
            case BPF_ADD: return add(m, s);
            case BPF_OR: return or_(m, s);
            case BPF_AND: return and_(m, s);
            default: return xor_(m, s);
        }
    }

    // fetch-or/and/xor: a cmpxchg loop. rax (r0) is cmpxchg's accumulator, so
    // the program's r0 waits on the native stack meanwhile.
    void atomic_fetch_loop(const isa::Instruction& in, unsigned aop) {
        const bool is64 = in.info().width == 64;
        push(rax);
        lea(r11, ptr[R(in.dst) + in.off]);
        mov(r9, R(in.src));
        const Xbyak::Address m = is64 ? qword[r11] : dword[r11];
        const Xbyak::Reg acc = is64 ? Xbyak::Reg(rax) : Xbyak::Reg(eax);
        const Xbyak::Reg tmp = is64 ? Xbyak::Reg(r10) : Xbyak::Reg(r10d);
        const Xbyak::Reg val = is64 ? Xbyak::Reg(r9) : Xbyak::Reg(r9d);
        mov(acc, m);
        Label retry;
        L(retry);
        mov(tmp, acc);
        if (aop == BPF_OR) or_(tmp, val);
        else if (aop == BPF_AND) and_(tmp, val);
        else xor_(tmp, val);
        lock();
        cmpxchg(m, tmp);
        jne(retry);
        if (R(in.src) == rax) {
            add(rsp, 8);  // r0 is the fetching register: it keeps the old value
            return;
        }
        mov(R(in.src), rax);  // the old value, zero-extended for 32 bits by the load
        pop(rax);
    }

    // ---- Jumps ----
    void cond_jump(const isa::Instruction& in, size_t pc) {
        const isa::OpInfo& row = in.info();
        const bool is64 = row.width == 64;
        const unsigned op = BPF_OP(row.code);
        const Xbyak::Reg d = is64 ? Xbyak::Reg(R(in.dst)) : Xbyak::Reg(R32(in.dst));
        const Source s = source_of(in);
        if (s.is_imm) {
            if (op == BPF_JSET) test(d, static_cast<uint32_t>(s.imm));
            else if (s.imm == 0) test(d, d);
            else cmp(d, static_cast<uint32_t>(s.imm));
        } else {
            const Xbyak::Reg sr = is64 ? Xbyak::Reg(R(s.reg)) : Xbyak::Reg(R32(s.reg));
            if (op == BPF_JSET) test(d, sr);
            else cmp(d, sr);
        }
        Label& to = labels_[static_cast<size_t>(isa::branch_target(in, pc))];
        switch (op) {
            case BPF_JEQ: return je(to);
            case BPF_JNE:
            case BPF_JSET: return jne(to);
            case BPF_JGT: return ja(to);
            case BPF_JGE: return jae(to);
            case BPF_JLT: return jb(to);
            case BPF_JLE: return jbe(to);
            case BPF_JSGT: return jg(to);
            case BPF_JSGE: return jge(to);
            case BPF_JSLT: return jl(to);
            case BPF_JSLE: return jle(to);
            default: XBYAK_THROW(Xbyak::ERR_BAD_COMBINATION);
        }
    }

    // ---- Calls ----
    void call_helper(const isa::Instruction& in, size_t pc) {
        const auto id = static_cast<uint32_t>(in.imm);
        const vm::Helper* helper = helpers_ != nullptr ? helpers_->find(id) : nullptr;
        if (helper == nullptr) return jmp(error_stub(pc, RunError::UnknownHelper, id), T_NEAR);
        mov(state(offsetof(RunState, ctx_arg)), rdi);
        if (shape_.callbacks) mov(state(offsetof(RunState, helper_rbp)), rbp);
        mov(r9, state(offsetof(RunState, ctx)));
        mov(r10, reinterpret_cast<uint64_t>(helper->fn));
        call(r10);
        after_call(helper->unwind_on_zero, false);
    }

    void call_reg(const isa::Instruction& in, size_t pc) {
        mov(state(offsetof(RunState, callx_id)), R(in.dst));
        mov(state(offsetof(RunState, ctx_arg)), rdi);
        if (shape_.callbacks) mov(state(offsetof(RunState, helper_rbp)), rbp);
        mov(r9, r12);
        mov(r10, reinterpret_cast<uint64_t>(&callx_trampoline));
        call(r10);
        cmp(byte[r12 + static_cast<int>(offsetof(RunState, callx_error))], 0);
        Label& unknown = cold_labels_.emplace_back();
        jne(unknown, T_NEAR);
        cold_.push_back([this, &unknown, pc] {
            L(unknown);
            mov(state(offsetof(RunState, error_pc)), static_cast<uint32_t>(pc));
            mov(r11, state(offsetof(RunState, callx_id)));
            mov(state(offsetof(RunState, error_arg)), r11);
            mov(dword[r12 + static_cast<int>(offsetof(RunState, error_kind))],
                static_cast<uint32_t>(RunError::UnknownHelper));
            mov(dword[r12 + static_cast<int>(offsetof(RunState, status))], static_cast<uint32_t>(RunStatus::Error));
            jmp(abort_);
        });
        after_call(false, true);
    }

    // After a helper: stop when asked to (exit request, unwinding helper
    // returning 0), or leave for a tail call. The order is the interpreter's.
    void after_call(bool unwind_on_zero, bool dynamic_unwind) {
        mov(r11, state(offsetof(RunState, ctx)));
        cmp(byte[r11 + offs_.exit_requested], 0);
        jne(exit_requested_, T_NEAR);
        if (unwind_on_zero) {
            test(rax, rax);
            jz(return_zero_, T_NEAR);
        }
        if (dynamic_unwind) {
            cmp(byte[r12 + static_cast<int>(offsetof(RunState, callx_unwind))], 0);
            jne(return_zero_, T_NEAR);
        }
        cmp(qword[r11 + offs_.tail_call_target], 0);
        Label& tail = cold_labels_.emplace_back();
        Label& back = cold_labels_.emplace_back();
        jne(tail, T_NEAR);
        L(back);
        cold_.push_back([this, &tail, &back] {
            Label not_taken;
            L(tail);
            cmp(dword[r11 + offs_.tail_calls], kMaxTailCalls);
            jae(not_taken);
            add(dword[r11 + offs_.tail_calls], 1);
            mov(dword[r12 + static_cast<int>(offsetof(RunState, status))],
                static_cast<uint32_t>(RunStatus::TailCall));
            jmp(abort_);
            // Over the limit the tail call does not happen and the program goes on.
            L(not_taken);
            mov(qword[r11 + offs_.tail_call_target], 0);
            jmp(back, T_NEAR);
        });
    }

    void call_local(const isa::Instruction& in, size_t pc) {
        cmp(rsp, state(offsetof(RunState, depth_limit)));
        jbe(error_stub(pc, RunError::CallDepth, 0), T_NEAR);
        for (const Reg64& r : {rbx, r13, r14, r15, rbp}) push(r);
        sub(rbp, static_cast<uint32_t>(vm::kStackSize));
        call(labels_[static_cast<size_t>(isa::branch_target(in, pc))]);
        for (const Reg64& r : {rbp, r15, r14, r13, rbx}) pop(r);
    }

    const PreparedProgram& prog_;
    const vm::HelperTable* helpers_;
    bool blind_;
    bool bmi2_;
    ContextOffsets offs_;
    Shape shape_;
    std::vector<Reg64> saved_;  // by the prologue, restored by the epilogue
    uint32_t reserved_ = 0;     // bytes below them
    std::mt19937_64 rng_;
    std::vector<Label> labels_;              // one per slot (bound where jumped to)
    std::deque<Label> cold_labels_;          // stable addresses for deferred stubs
    std::vector<std::function<void()>> cold_;  // out-of-line code, emitted after the body
    Label epilogue_, abort_, return_zero_, exit_requested_, callback_abort_;
};

}  // namespace

Result<CompiledCode> compile(const PreparedProgram& prog, const vm::HelperTable* helpers, const JitOptions& options) {
    try {
        HeapAllocator allocator;
        Compiler compiler(prog, helpers, options, &allocator);
        return compiler.run();
    } catch (const Xbyak::Error& e) {
        return fail(EINVAL, fmt::format("JIT code generation failed: {}", e.what()));
    } catch (const std::bad_alloc&) {
        return fail(ENOMEM, "out of memory while generating JIT code");
    }
}

#endif

}  // namespace bpfrt::jit
