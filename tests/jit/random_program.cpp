#include "random_program.hpp"

#include "isa/opcodes.hpp"

#include <array>
#include <bit>
#include <cstring>
#include <random>

namespace bpfrt::jit::testing {
namespace {

using isa::Form;
using isa::Instruction;
using isa::Op;

// Operations by kind, derived from the opcode table.
struct OpLists {
    std::vector<Op> alu, unary, load, store_imm, store_reg, atomic, cond;
    OpLists() {
        for (const isa::OpInfo& row : isa::all_ops()) {
            switch (row.form) {
                case Form::AluImm:
                case Form::AluReg: alu.push_back(row.op); break;
                case Form::Unary: unary.push_back(row.op); break;
                case Form::Load: load.push_back(row.op); break;
                case Form::StoreImm: store_imm.push_back(row.op); break;
                case Form::StoreReg: store_reg.push_back(row.op); break;
                case Form::Atomic: atomic.push_back(row.op); break;
                case Form::CondImm:
                case Form::CondReg: cond.push_back(row.op); break;
                default: break;
            }
        }
    }
};
const OpLists& ops() {
    static const OpLists lists;
    return lists;
}

// One instruction with an optional symbolic target (a label id).
struct Item {
    Instruction insn;
    int target = -1;
};

// Where memory accesses go.
enum class Region { Stack, Input, Map };

class Generator {
public:
    Generator(uint64_t seed, const RandomProgramOptions& options) : rng_(seed), opt_(options) {}

    std::vector<bpf_insn> run() {
        const int callees = pick(0, 2);
        for (int i = 0; i < callees; ++i) function_labels_.push_back(new_label());
        called_.assign(function_labels_.size(), false);
        main_function();
        for (int i = 0; i < callees; ++i) callee_function(function_labels_[static_cast<size_t>(i)]);
        return resolve();
    }

private:
    bool kernel() const { return opt_.kernel_compatible; }

    // ---- Randomness ----
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(int percent) { return pick(0, 99) < percent; }
    template <class T> const T& one_of(const std::vector<T>& v) { return v[static_cast<size_t>(pick(0, static_cast<int>(v.size()) - 1))]; }

    int32_t interesting_imm() {
        static const std::array<int32_t, 14> special = {0, 1, -1, 2, 7, 31, 32, 63, 64, 0x7fffffff,
                                                        INT32_MIN, 0xff, 0xffff, -2};
        if (chance(50)) return special[static_cast<size_t>(pick(0, special.size() - 1))];
        if (chance(50)) return pick(-300, 300);
        return static_cast<int32_t>(rng_());
    }
    uint64_t interesting_imm64() {
        static const std::array<uint64_t, 8> special = {0, 1, ~uint64_t{0}, uint64_t{1} << 63, (uint64_t{1} << 63) - 1,
                                                        0xffffffff, 0x100000000, 0x8000000000000001};
        if (chance(40)) return special[static_cast<size_t>(pick(0, special.size() - 1))];
        if (chance(30)) return static_cast<uint64_t>(static_cast<int64_t>(interesting_imm()));
        return rng_();
    }

    // ---- Registers: r0-r8 are scalars (r8 is a loop counter inside loops) ----
    uint8_t scalar_src() { return static_cast<uint8_t>(pick(0, 8)); }
    uint8_t scalar_dst() { return static_cast<uint8_t>(pick(0, in_loop_ ? 7 : 8)); }
    uint8_t scalar_dst_not_r0() { return static_cast<uint8_t>(pick(1, in_loop_ ? 7 : 8)); }

    // ---- Emission ----
    int new_label() {
        labels_.push_back(-1);
        return static_cast<int>(labels_.size()) - 1;
    }
    void place(int label) { labels_[static_cast<size_t>(label)] = static_cast<int>(items_.size()); }
    void emit(const Instruction& insn, int target = -1) { items_.push_back(Item{insn, target}); }
    void emit(Op op, uint8_t dst = 0, uint8_t src = 0, int16_t off = 0, int32_t imm = 0) {
        emit(isa::make(op, dst, src, off, imm));
    }
    void mov_imm(uint8_t r, bool wide) {
        if (wide) emit(isa::make_lddw(r, interesting_imm64()));
        else emit(Op::MOV64_IMM, r, 0, 0, interesting_imm());
    }

    // ---- Functions ----
    void main_function() {
        in_callee_ = false;
        if (!kernel()) emit(Op::MOV64_REG, 9, 1);  // r9 = the input buffer
        for (uint8_t r = 0; r <= 8; ++r) mov_imm(r, chance(40));
        if (kernel()) emit(Op::MOV64_IMM, 9, 0, 0, 0);
        init_stack();
        block(opt_.main_budget, 0);
        // Every function is called (the kernel refuses unreachable code).
        for (size_t f = 0; f < function_labels_.size(); ++f)
            if (!called_[f]) call_function(f);
        fold_registers();
        if (kernel()) {
            fold_stack();
            emit(Op::MOV64_REG, 1, 0);  // 64 bits to 32: TEST_RUN shows only the low half
            emit(Op::RSH64_IMM, 1, 0, 0, 32);
            emit(Op::XOR64_REG, 0, 1);
        } else {
            for (int i = 0; i < kStackUsed; i += 8) {
                emit(Op::LDXDW, 1, 10, static_cast<int16_t>(-kStackUsed + i));
                emit(Op::STXDW, 9, 1, static_cast<int16_t>(kStackCopyOffset + i));
            }
        }
        emit(Op::EXIT);
    }

    void callee_function(int label) {
        in_callee_ = true;
        place(label);
        emit(Op::MOV64_REG, 0, static_cast<uint8_t>(pick(1, 5)));  // depends on the arguments
        for (uint8_t r = 6; r <= 8; ++r) mov_imm(r, chance(30));
        init_stack();
        block(opt_.callee_budget, 0);
        fold_registers();
        fold_stack();
        emit(Op::EXIT);
    }

    void init_stack() {
        for (int i = 0; i < kStackUsed; i += 8) {
            if (chance(50)) {
                emit(Op::STDW, 10, 0, static_cast<int16_t>(-kStackUsed + i), interesting_imm());
            } else {
                emit(Op::STXDW, 10, static_cast<uint8_t>(pick(0, 8)), static_cast<int16_t>(-kStackUsed + i));
            }
        }
    }

    void fold_registers() {
        emit(Op::XOR64_REG, 0, 6);
        emit(Op::ADD64_REG, 0, 7);
        emit(Op::MUL64_IMM, 0, 0, 0, 31);
        emit(Op::XOR64_REG, 0, 8);
    }

    // r0 = r0 * 31 + each stack word (through r1).
    void fold_stack() {
        for (int i = 0; i < kStackUsed; i += 8) {
            emit(Op::LDXDW, 1, 10, static_cast<int16_t>(-kStackUsed + i));
            emit(Op::MUL64_IMM, 0, 0, 0, 31);
            emit(Op::ADD64_REG, 0, 1);
        }
    }

    // ---- Random code ----
    void block(size_t budget, int nesting) {
        while (budget > 0) {
            const size_t used = statement(nesting, budget);
            budget = used >= budget ? 0 : budget - used;
        }
    }

    // One random construct; returns roughly how many instructions it took.
    size_t statement(int nesting, size_t budget) {
        const int roll = pick(0, 99);
        if (roll < 38) return alu();
        if (roll < 56) return memory(Region::Stack);
        if (roll < 62) return atomic(Region::Stack);
        if (roll < 72 && nesting < 3 && budget > 3) return if_then(nesting, budget);
        if (roll < 75 && nesting < 3 && budget > 6) return if_else(nesting, budget);
        if (roll < 78 && !in_loop_ && nesting < 2 && budget > 6) return loop(nesting, budget);
        if (roll < 81 && !in_callee_ && !function_labels_.empty()) return local_call();
        if (kernel()) return alu();
        if (roll < 87 && !in_callee_) return memory(Region::Input);
        if (roll < 89 && !in_callee_) return atomic(Region::Input);
        if (roll < 92) return helper_call();
        if (roll < 94) return callx();
        if (roll < 97) return map_block();
        return packet_load();
    }

    size_t alu() {
        if (chance(10)) {
            const uint8_t dst = scalar_dst();
            emit(one_of(ops().unary), dst);
            return 1;
        }
        if (chance(5)) {
            mov_imm(scalar_dst(), true);
            return 1;
        }
        const Op op = one_of(ops().alu);
        const isa::OpInfo& row = isa::info(op);
        const uint8_t dst = scalar_dst();
        if (row.form == Form::AluReg) {
            Instruction insn = isa::make(op, dst, scalar_src());
            insn.off = static_cast<int16_t>(row.disc_field == isa::DiscField::Off ? row.disc_value : 0);
            emit(insn);
            return 1;
        }
        int32_t imm = interesting_imm();
        const unsigned aop = BPF_OP(row.code);
        if (kernel()) {
            if ((aop == BPF_DIV || aop == BPF_MOD) && imm == 0) imm = 3;
            if (aop == BPF_LSH || aop == BPF_RSH || aop == BPF_ARSH) imm &= row.width - 1;
        }
        Instruction insn = isa::make(op, dst, 0, 0, imm);
        insn.off = static_cast<int16_t>(row.disc_field == isa::DiscField::Off ? row.disc_value : 0);
        emit(insn);
        return 1;
    }

    // An aligned in-bounds offset for `bytes` into a region, and its base register.
    std::pair<uint8_t, int16_t> address(Region region, unsigned bytes) {
        int size = kStackUsed;
        int bias = -kStackUsed;
        uint8_t base = 10;
        if (region == Region::Input) {
            size = kStackCopyOffset;  // the rest receives the stack copy
            bias = 0;
            base = 9;
        } else if (region == Region::Map) {
            size = static_cast<int>(kMapSize);
            bias = 0;
            base = 0;
        }
        const int slots = size / static_cast<int>(bytes);
        return {base, static_cast<int16_t>(bias + pick(0, slots - 1) * static_cast<int>(bytes))};
    }

    size_t memory(Region region) {
        const int kind = pick(0, 2);
        if (kind == 0) {
            const Op op = one_of(ops().load);
            const auto [base, off] = address(region, isa::info(op).width / 8u);
            emit(op, region == Region::Map ? scalar_dst_not_r0() : scalar_dst(), base, off);
        } else if (kind == 1) {
            const Op op = one_of(ops().store_imm);
            const auto [base, off] = address(region, isa::info(op).width / 8u);
            emit(op, base, 0, off, interesting_imm());
        } else {
            const Op op = one_of(ops().store_reg);
            const auto [base, off] = address(region, isa::info(op).width / 8u);
            emit(op, base, region == Region::Map ? scalar_dst_not_r0() : scalar_src(), off);
        }
        return 1;
    }

    size_t atomic(Region region) {
        const Op op = one_of(ops().atomic);
        const isa::OpInfo& row = isa::info(op);
        const bool is_cmpxchg = row.disc_value == BPF_CMPXCHG;
        if (region == Region::Map && is_cmpxchg) return memory(region);  // r0 is the map pointer there
        const bool fetches = (row.disc_value & BPF_FETCH) != 0;
        const auto [base, off] = address(region, row.width / 8u);
        uint8_t src = fetches ? scalar_dst() : scalar_src();
        if (region == Region::Map) src = scalar_dst_not_r0();
        emit(isa::make(op, base, src, off, row.disc_value));
        return 1;
    }

    // A conditional forward jump over a random block.
    void cond_jump(int target) {
        const Op op = one_of(ops().cond);
        const isa::OpInfo& row = isa::info(op);
        Instruction insn = isa::make(op, scalar_src(), row.form == Form::CondReg ? scalar_src() : 0, 0,
                                     row.form == Form::CondImm ? interesting_imm() : 0);
        emit(insn, target);
    }

    size_t if_then(int nesting, size_t budget) {
        const int end = new_label();
        cond_jump(end);
        const size_t inner = static_cast<size_t>(pick(1, static_cast<int>(std::min<size_t>(budget - 1, 6))));
        block(inner, nesting + 1);
        place(end);
        return inner + 1;
    }

    size_t if_else(int nesting, size_t budget) {
        const int other = new_label();
        const int end = new_label();
        cond_jump(other);
        const size_t half = std::min<size_t>((budget - 2) / 2, 5);
        block(static_cast<size_t>(pick(1, static_cast<int>(half))), nesting + 1);
        emit(isa::make(chance(50) ? Op::JA : Op::JA32), end);
        place(other);
        block(static_cast<size_t>(pick(1, static_cast<int>(half))), nesting + 1);
        place(end);
        return 2 * half + 2;
    }

    // A counted loop on r8: 1 to 4 iterations of a small body.
    size_t loop(int nesting, size_t budget) {
        emit(Op::MOV64_IMM, 8, 0, 0, pick(1, 4));
        const int top = new_label();
        place(top);
        in_loop_ = true;
        const size_t body = static_cast<size_t>(pick(1, static_cast<int>(std::min<size_t>(budget - 3, 8))));
        block(body, nesting + 1);
        in_loop_ = false;
        emit(Op::SUB64_IMM, 8, 0, 0, 1);
        emit(isa::make(Op::JNE_IMM, 8, 0, 0, 0), top);
        return body + 3;
    }

    // After a call r1-r5 are clobbered (the verifier forbids reading them).
    void reinit_args() {
        for (uint8_t r = 1; r <= 5; ++r) emit(Op::MOV64_IMM, r, 0, 0, interesting_imm());
    }

    size_t local_call() {
        call_function(static_cast<size_t>(pick(0, static_cast<int>(function_labels_.size()) - 1)));
        return 6;
    }
    void call_function(size_t f) {
        emit(isa::make(Op::CALL_LOCAL, 0, BPF_PSEUDO_CALL), function_labels_[f]);
        called_[f] = true;
        reinit_args();
    }

    size_t helper_call() {
        emit(Op::CALL_HELPER, 0, 0, 0, static_cast<int32_t>(kMixHelper));
        reinit_args();
        return 6;
    }

    size_t callx() {
        const uint8_t r = static_cast<uint8_t>(pick(1, 5));
        emit(Op::MOV64_IMM, r, 0, 0, static_cast<int32_t>(kMixHelper));
        emit(Op::CALLX, r);
        reinit_args();
        return 7;
    }

    // r0 = the map-like buffer, a few accesses through it, r0 a scalar again.
    size_t map_block() {
        emit(Op::CALL_HELPER, 0, 0, 0, static_cast<int32_t>(kMapHelper));
        reinit_args();
        const int n = pick(1, 4);
        for (int i = 0; i < n; ++i) {
            if (chance(40)) atomic(Region::Map);
            else memory(Region::Map);
        }
        mov_imm(0, false);
        return static_cast<size_t>(n) + 7;
    }

    // LD_ABS / LD_IND into the input buffer, now and then out of bounds (the
    // program then ends with r0 = 0).
    size_t packet_load() {
        static const Op abs_ops[] = {Op::LDABSB, Op::LDABSH, Op::LDABSW};
        static const Op ind_ops[] = {Op::LDINDB, Op::LDINDH, Op::LDINDW};
        const int which = pick(0, 2);
        const bool out = chance(3);
        const int32_t off = out ? (chance(50) ? static_cast<int32_t>(kInputSize) - 1 : -4) : pick(0, kInputSize - 4);
        if (chance(50)) {
            emit(abs_ops[which], 0, 0, 0, off);
            return 1;
        }
        const uint8_t r = scalar_dst_not_r0();
        const int32_t base = pick(0, 16);
        emit(Op::MOV64_IMM, r, 0, 0, base);
        emit(ind_ops[which], 0, r, 0, out ? off : off / 2);
        return 2;
    }

    // ---- Labels to offsets ----
    std::vector<bpf_insn> resolve() {
        std::vector<size_t> slot(items_.size() + 1, 0);
        for (size_t i = 0; i < items_.size(); ++i) slot[i + 1] = slot[i] + items_[i].insn.slots();
        std::vector<bpf_insn> out;
        for (size_t i = 0; i < items_.size(); ++i) {
            Instruction insn = items_[i].insn;
            if (items_[i].target >= 0) {
                const size_t to = slot[static_cast<size_t>(labels_[static_cast<size_t>(items_[i].target)])];
                const auto rel = static_cast<int64_t>(to) - static_cast<int64_t>(slot[i] + 1);
                if (insn.op == Op::JA32 || insn.op == Op::CALL_LOCAL) insn.imm = static_cast<int32_t>(rel);
                else insn.off = static_cast<int16_t>(rel);
            }
            isa::encode(insn, out);
        }
        return out;
    }

    std::mt19937_64 rng_;
    RandomProgramOptions opt_;
    std::vector<Item> items_;
    std::vector<int> labels_;  // label id -> item index
    std::vector<int> function_labels_;
    std::vector<bool> called_;
    bool in_loop_ = false;
    bool in_callee_ = false;
};

uint64_t mix_helper(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, vm::ExecContext&) {
    uint64_t h = r1 * 0x9E3779B97F4A7C15ull;
    h ^= std::rotl(r2, 17) + r3;
    h += std::rotl(r4, 41) ^ (r5 * 0xC2B2AE3D27D4EB4Full);
    return h ^ (h >> 29);
}

uint64_t map_helper(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, vm::ExecContext& ctx) {
    return reinterpret_cast<uint64_t>(static_cast<RandomEnv*>(ctx.user)->map);
}

}  // namespace

std::vector<bpf_insn> random_program(uint64_t seed, const RandomProgramOptions& options) {
    return Generator(seed, options).run();
}

vm::HelperTable random_program_helpers() {
    vm::HelperTable table;
    table.set(kMixHelper, vm::Helper{&mix_helper, "mix", false});
    table.set(kMapHelper, vm::Helper{&map_helper, "map", false});
    return table;
}

void RandomEnv::fill(uint64_t seed) {
    std::mt19937_64 rng(seed ^ 0x5bd1e995);
    for (auto& b : input) b = static_cast<uint8_t>(rng());
    for (auto& b : map) b = static_cast<uint8_t>(rng());
}

}  // namespace bpfrt::jit::testing
