#include "verifier/cfg.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <string>

namespace bpfrt::verifier {
namespace {

using isa::Form;
using isa::Op;

constexpr size_t kMaxInsnsPrivileged = 1'000'000;  // BPF_COMPLEXITY_LIMIT_INSNS

std::unexpected<Error> malformed(std::string msg) { return fail(EINVAL, std::move(msg)); }

bool ends_flow(const isa::Instruction& in) {
    const Form f = in.info().form;
    return f == Form::Exit || f == Form::Jump || f == Form::Jump32;
}

bool has_target(const isa::Instruction& in) {
    const Form f = in.info().form;
    return f == Form::Jump || f == Form::Jump32 || f == Form::CondImm || f == Form::CondReg;
}

// Whether the kernel's instruction table knows the opcode byte: every byte our
// opcode table has a row for, plus the LDX mode the kernel reserves for itself
// (BPF_PROBE_MEM, 0x20), which it rejects as a reserved-field use instead.
bool kernel_knows_opcode(uint8_t code) {
    for (const isa::OpInfo& row : isa::all_ops())
        if (row.code == code) return true;
    return BPF_CLASS(code) == BPF_LDX && BPF_MODE(code) == 0x20;
}

// The kernel's phrase for an lddw whose fields the opcode table rejects
// (resolve_pseudo_ldimm64 looks at the second slot and the pseudo source
// before check_ld_imm looks at the reserved fields).
std::string lddw_phrase(std::span<const bpf_insn> prog, size_t pc) {
    const bpf_insn& raw = prog[pc];
    if (pc + 1 >= prog.size()) return "invalid bpf_ld_imm64 insn";
    const bpf_insn& hi = prog[pc + 1];
    if (hi.code != 0 || hi.dst_reg != 0 || hi.src_reg != 0 || hi.off != 0) return "invalid bpf_ld_imm64 insn";
    if (raw.src_reg > BPF_PSEUDO_MAP_IDX_VALUE) return "unrecognized bpf_ld_imm64 insn";
    return "BPF_LD_IMM64 uses reserved fields";
}

// The kernel's wording for an instruction the opcode table rejects, so that a
// user who knows the kernel's log recognises it.
std::string kernel_phrase(std::span<const bpf_insn> prog, size_t pc) {
    const bpf_insn& raw = prog[pc];
    const uint8_t code = raw.code;
    if (!kernel_knows_opcode(code)) return fmt::format("unknown opcode {:02x}", code);
    // Fields fine but a register out of range: the kernel's check_reg_arg.
    bpf_insn regs_ok = raw;
    if (regs_ok.dst_reg > BPF_REG_10) regs_ok.dst_reg = 0;
    if (regs_ok.src_reg > BPF_REG_10) regs_ok.src_reg = 0;
    std::vector<bpf_insn> probe(prog.begin() + static_cast<std::ptrdiff_t>(pc), prog.end());
    probe[0] = regs_ok;
    if ((regs_ok.dst_reg != raw.dst_reg || regs_ok.src_reg != raw.src_reg) && isa::decode(probe, 0))
        return fmt::format("R{} is invalid", raw.dst_reg > BPF_REG_10 ? raw.dst_reg : raw.src_reg);
    const uint8_t op = BPF_OP(code);
    switch (BPF_CLASS(code)) {
        case BPF_ALU:
        case BPF_ALU64:
            if (op == BPF_END) return "BPF_END uses reserved fields";
            if (op == BPF_NEG) return "BPF_NEG uses reserved fields";
            if (op == BPF_MOV) return "BPF_MOV uses reserved fields";
            return "BPF_ALU uses reserved fields";
        case BPF_LDX: return "BPF_LDX uses reserved fields";
        case BPF_ST: return "BPF_ST uses reserved fields";
        case BPF_STX:
            if (BPF_MODE(code) == BPF_ATOMIC) return fmt::format("BPF_ATOMIC uses invalid atomic opcode {:02x}", raw.imm);
            return "BPF_STX uses reserved fields";
        case BPF_LD:
            if (BPF_MODE(code) == BPF_IMM) return lddw_phrase(prog, pc);
            return "BPF_LD_[ABS|IND] uses reserved fields";
        default:
            if (op == BPF_CALL) return "BPF_CALL uses reserved fields";
            if (op == BPF_JA) return "BPF_JA uses reserved fields";
            if (op == BPF_EXIT) return "BPF_EXIT uses reserved fields";
            return "BPF_JMP/JMP32 uses reserved fields";
    }
}

// The decoder's error in the kernel's words, with the decoder's plain
// explanation after them: "insn 1: unknown opcode f5 (unknown opcode 0xf5)".
Error structural_error(std::span<const bpf_insn> prog, size_t pc, const Error& decoded) {
    std::string detail = decoded.message;
    if (const size_t colon = detail.find(": "); detail.starts_with("invalid instruction at ") && colon != std::string::npos)
        detail = detail.substr(colon + 2);
    return Error{EINVAL, fmt::format("insn {}: {} ({})", pc, kernel_phrase(prog, pc), detail)};
}

Result<void> decode_slots(std::span<const bpf_insn> prog, Cfg& cfg) {
    cfg.insns.assign(prog.size(), std::nullopt);
    for (size_t pc = 0; pc < prog.size();) {
        auto in = isa::decode(prog, pc);
        if (!in) return std::unexpected(structural_error(prog, pc, in.error()));
        const Form f = in->info().form;
        if (f == Form::LoadAbs || f == Form::LoadInd) cfg.has_ld_abs = true;
        if (f == Form::CallReg) return malformed(fmt::format("insn {}: callx (call through a register) is not supported by the verifier", pc));
        if (in->op == Op::LDDW && in->src == BPF_PSEUDO_BTF_ID)
            return malformed(fmt::format("insn {}: lddw with src_reg {} (BTF id) is not supported", pc, in->src));
        if (f == Form::AluImm) {  // the kernel's check_alu_op rules for immediates
            const uint8_t op = BPF_OP(in->info().code);
            if ((op == BPF_DIV || op == BPF_MOD) && in->imm == 0) return malformed(fmt::format("insn {}: div by zero", pc));
            if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) &&
                (in->imm < 0 || in->imm >= static_cast<int32_t>(in->info().width)))
                return malformed(fmt::format("insn {}: invalid shift {}", pc, in->imm));
        }
        cfg.insns[pc] = *in;
        pc += in->slots();
    }
    return {};
}

Result<void> find_subprogs(Cfg& cfg) {
    const size_t n = cfg.size();
    cfg.subprog_start = {0};
    for (size_t pc = 0; pc < n; ++pc) {
        if (!cfg.insns[pc] || (cfg.at(pc).op != Op::CALL_LOCAL && !is_pseudo_func(cfg.at(pc)))) continue;
        const int64_t t = is_pseudo_func(cfg.at(pc)) ? pseudo_func_target(cfg.at(pc), pc) : isa::branch_target(cfg.at(pc), pc);
        if (t < 0 || t >= static_cast<int64_t>(n) || !cfg.insns[static_cast<size_t>(t)])
            return malformed(fmt::format("insn {}: call to invalid destination {}", pc, t));
        cfg.subprog_start.push_back(static_cast<uint32_t>(t));
    }
    std::sort(cfg.subprog_start.begin(), cfg.subprog_start.end());
    cfg.subprog_start.erase(std::unique(cfg.subprog_start.begin(), cfg.subprog_start.end()), cfg.subprog_start.end());
    cfg.subprog_of.assign(n, 0);
    for (uint32_t s = 0; s < cfg.subprog_start.size(); ++s)
        for (uint32_t pc = cfg.subprog_start[s]; pc < cfg.subprog_end(s); ++pc) cfg.subprog_of[pc] = s;
    return {};
}

Result<void> check_jumps(Cfg& cfg) {
    const size_t n = cfg.size();
    cfg.prune_point.assign(n, 0);
    for (size_t pc = 0; pc < n; ++pc) {
        if (!cfg.insns[pc]) continue;
        const isa::Instruction& in = cfg.at(pc);
        if (!has_target(in)) continue;
        const int64_t t = isa::branch_target(in, pc);
        if (t < 0 || t >= static_cast<int64_t>(n))
            return malformed(fmt::format("jump out of range from insn {} to {}", pc, t));
        const auto target = static_cast<size_t>(t);
        if (!cfg.insns[target]) return malformed(fmt::format("jump into the middle of ldimm64 insn {}", target - 1));
        if (cfg.subprog_of[target] != cfg.subprog_of[pc])
            return malformed(fmt::format("jump out of range from insn {} to {} (the target is in another function)", pc, t));
        cfg.prune_point[target] = 1;
        // As the kernel: a conditional jump is a prune point itself, as are both its successors.
        if (isa::is_conditional(in.op)) {
            cfg.prune_point[pc] = 1;
            if (pc + 1 < n) cfg.prune_point[pc + 1] = 1;
        }
    }
    for (uint32_t s = 0; s < cfg.subprog_start.size(); ++s) {
        const uint32_t last = cfg.subprog_end(s) - 1;
        if (!cfg.insns[last] || !ends_flow(cfg.at(last)))
            return malformed(fmt::format("last insn is not an exit or jmp (insn {})", last));
    }
    return {};
}

// Depth-first search over jumps, fall-through and calls: finds back edges
// (loops, recursion) and unreachable instructions.
Result<void> walk(Cfg& cfg, bool privileged) {
    const size_t n = cfg.size();
    enum : uint8_t { kNew, kOnStack, kDone };
    std::vector<uint8_t> mark(n, kNew);
    struct Item {
        size_t pc;
        unsigned next_edge;
    };
    std::vector<Item> stack{{0, 0}};
    mark[0] = kOnStack;
    while (!stack.empty()) {
        Item& top = stack.back();
        const isa::Instruction& in = cfg.at(top.pc);
        // Successors in a fixed order: fall-through, then jump/call target.
        size_t succ[2];
        bool is_call_edge[2] = {false, false};
        unsigned count = 0;
        if (!ends_flow(in) && top.pc + in.slots() < n) succ[count++] = top.pc + in.slots();
        if (has_target(in) || in.op == Op::CALL_LOCAL) {
            is_call_edge[count] = in.op == Op::CALL_LOCAL;
            succ[count++] = static_cast<size_t>(isa::branch_target(in, top.pc));
        } else if (is_pseudo_func(in)) {  // a function pointer: the function may be called from here
            is_call_edge[count] = true;
            succ[count++] = static_cast<size_t>(pseudo_func_target(in, top.pc));
        }
        if (top.next_edge >= count) {
            mark[top.pc] = kDone;
            stack.pop_back();
            continue;
        }
        const unsigned e = top.next_edge++;
        const size_t w = succ[e];
        const size_t from = top.pc;
        if (mark[w] == kOnStack) {
            if (is_call_edge[e]) return malformed(fmt::format("back-edge from insn {} to {} (recursive call)", from, w));
            if (!privileged) return malformed(fmt::format("back-edge from insn {} to {} (loops need privilege)", from, w));
            cfg.has_back_edges = true;
            cfg.prune_point[w] = 1;
        } else if (mark[w] == kNew) {
            mark[w] = kOnStack;
            stack.push_back({w, 0});
        }
    }
    for (size_t pc = 0; pc < n; ++pc)
        if (cfg.insns[pc] && mark[pc] == kNew) return malformed(fmt::format("unreachable insn {}", pc));
    return {};
}

constexpr uint16_t bit(unsigned r) { return static_cast<uint16_t>(1u << r); }
constexpr uint16_t kArgRegs = bit(1) | bit(2) | bit(3) | bit(4) | bit(5);
constexpr uint16_t kCallerSaved = bit(0) | kArgRegs;

struct UseDef {
    uint16_t use = 0, def = 0;
};

UseDef use_def(const isa::Instruction& in, const CfgOptions& opts) {
    const uint16_t d = bit(in.dst), s = bit(in.src);
    const bool is_mov = in.info().mnemonic.starts_with("mov");
    switch (in.info().form) {
        case Form::AluImm: return {is_mov ? uint16_t{0} : d, d};
        case Form::AluReg: return {static_cast<uint16_t>(is_mov ? s : (d | s)), d};
        case Form::Unary: return {d, d};
        case Form::LoadImm64: return {0, d};
        case Form::LoadAbs: return {bit(6), kCallerSaved};
        case Form::LoadInd: return {static_cast<uint16_t>(bit(6) | s), kCallerSaved};
        case Form::Load: return {s, d};
        case Form::StoreImm: return {d, 0};
        case Form::StoreReg: return {static_cast<uint16_t>(d | s), 0};
        case Form::Atomic: {
            const bool cmpxchg = in.op == Op::ATOMIC_CMPXCHG64 || in.op == Op::ATOMIC_CMPXCHG32;
            const bool fetch = (in.imm & BPF_FETCH) != 0;
            return {static_cast<uint16_t>(d | s | (cmpxchg ? bit(0) : 0)),
                    static_cast<uint16_t>(cmpxchg ? bit(0) : (fetch ? s : 0))};
        }
        case Form::CondImm: return {d, 0};
        case Form::CondReg: return {static_cast<uint16_t>(d | s), 0};
        case Form::CallHelper: return {opts.helper_uses ? opts.helper_uses(in.imm) : kArgRegs, kCallerSaved};
        case Form::CallLocal:
        case Form::CallReg: return {kArgRegs, kCallerSaved};
        case Form::Exit: return {bit(0), 0};
        case Form::Jump:
        case Form::Jump32: break;
    }
    return {};
}

void compute_liveness(Cfg& cfg, const CfgOptions& opts) {
    const size_t n = cfg.size();
    cfg.live_in.assign(n, 0);
    std::vector<UseDef> ud(n);
    for (size_t pc = 0; pc < n; ++pc)
        if (cfg.insns[pc]) ud[pc] = use_def(cfg.at(pc), opts);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = n; i-- > 0;) {
            if (!cfg.insns[i]) continue;
            const isa::Instruction& in = cfg.at(i);
            uint16_t out = 0;
            if (!ends_flow(in) && i + in.slots() < n) out |= cfg.live_in[i + in.slots()];
            if (has_target(in)) out |= cfg.live_in[static_cast<size_t>(isa::branch_target(in, i))];
            const auto live = static_cast<uint16_t>(ud[i].use | (out & ~ud[i].def) | bit(10));
            if (live != cfg.live_in[i]) {
                cfg.live_in[i] = live;
                changed = true;
            }
        }
    }
}

}  // namespace

Result<Cfg> build_cfg(std::span<const bpf_insn> prog, const CfgOptions& opts) {
    const size_t limit = opts.privileged ? kMaxInsnsPrivileged : BPF_MAXINSNS;
    if (prog.empty()) return fail(E2BIG, "program has no instructions");
    if (prog.size() > limit)
        return fail(E2BIG, fmt::format("program has {} instructions, the limit is {} ({})", prog.size(), limit,
                                       opts.privileged ? "privileged" : "unprivileged"));
    Cfg cfg;
    if (auto r = decode_slots(prog, cfg); !r) return std::unexpected(r.error());
    if (auto r = find_subprogs(cfg); !r) return std::unexpected(r.error());
    if (auto r = check_jumps(cfg); !r) return std::unexpected(r.error());
    if (auto r = walk(cfg, opts.privileged); !r) return std::unexpected(r.error());
    cfg.callback_call.assign(cfg.size(), 0);
    for (size_t pc = 0; pc < cfg.size(); ++pc) {
        if (!cfg.insns[pc]) continue;
        const isa::Instruction& in = cfg.at(pc);
        if (in.info().form == Form::CallLocal && pc + 1 < cfg.size()) cfg.prune_point[pc + 1] = 1;
        // A callback's exit comes back to its helper call: a loop head, always a checkpoint.
        if (in.info().form == Form::CallHelper && calls_back(in.imm)) cfg.prune_point[pc] = cfg.callback_call[pc] = 1;
    }
    compute_liveness(cfg, opts);
    return cfg;
}

}  // namespace bpfrt::verifier
