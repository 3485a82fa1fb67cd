#include "runtime/verify.hpp"

#include "isa/opcodes.hpp"
#include "verifier/context.hpp"

#include <bpfrt/asm.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>

namespace bpfrt::runtime {

namespace {

bool is_map_reference(const isa::Instruction& insn) {
    return insn.op == isa::Op::LDDW &&
           (insn.src == BPF_PSEUDO_MAP_FD || insn.src == BPF_PSEUDO_MAP_VALUE);
}

verifier::VerifyResult reject(verifier::VerifyResult result, int code, std::string message) {
    result.accepted = false;
    result.error_code = code;
    result.message = std::move(message);
    return result;
}

// The kernel's closing statistics line (log_level 1, 2 or 4).
std::string statistics(const verifier::VerifyResult& r) {
    return fmt::format("processed {} insns (limit 1000000) max_states_per_insn 0 total_states {} "
                       "peak_states {} mark_read 0\n",
                       r.processed_insns, r.states, r.peak_states);
}

}  // namespace

bool verifier_proves_safety(uint32_t prog_type) { return verifier::context_for(prog_type) != nullptr; }

verifier::VerifyResult verify(const verifier::VerifyInput& input) {
    if (verifier_proves_safety(input.prog_type)) return verifier::verify(input);
    const auto start = std::chrono::steady_clock::now();
    verifier::VerifyResult result;
    const bool log_all = (input.log_level & 2U) != 0;
    const bool log_any = input.log_level != 0;

    for (size_t pc = 0; pc < input.insns.size();) {
        auto insn = isa::decode(input.insns, pc);
        if (!insn) {
            if (log_any) result.log += insn.error().message + "\n";
            return reject(std::move(result), insn.error().code, insn.error().message);
        }
        if (log_all) result.log += fmt::format("{}: {}\n", pc, isa::format_instruction(input.insns, pc));
        if (is_map_reference(*insn)) {
            const auto map = input.map_info ? input.map_info(insn->imm) : std::nullopt;
            if (!map) {
                auto message = fmt::format("fd {} is not pointing to valid bpf_map", insn->imm);
                if (log_any) result.log += message + "\n";
                return reject(std::move(result), EBADF, std::move(message));
            }
        }
        ++result.processed_insns;
        pc += insn->slots();
    }
    result.accepted = true;
    if (log_any) result.log += statistics(result);
    result.time_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace bpfrt::runtime
