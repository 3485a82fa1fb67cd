// jit_disassemble(): the generated code through capstone, interleaved with
// the eBPF instructions it was compiled from.
#include "isa/opcodes.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/jit.hpp>

#include <capstone/capstone.h>
#include <fmt/format.h>

#include <cerrno>

namespace bpfrt::jit {
namespace {

// A capstone handle, closed on scope exit.
class Disassembler {
public:
    Disassembler() { ok_ = cs_open(CS_ARCH_X86, CS_MODE_64, &handle_) == CS_ERR_OK; }
    ~Disassembler() {
        if (ok_) cs_close(&handle_);
    }
    Disassembler(const Disassembler&) = delete;
    Disassembler& operator=(const Disassembler&) = delete;
    bool ok() const noexcept { return ok_; }

    // Appends the instructions of bytes [from, to) of `code` to `out`.
    void range(const JitCode& code, uint32_t from, uint32_t to, std::string& out) const {
        if (from >= to) return;
        cs_insn* insn = nullptr;
        const size_t count = cs_disasm(handle_, code.bytes.data() + from, to - from, code.address + from, 0, &insn);
        uint64_t decoded_end = code.address + from;
        for (size_t i = 0; i < count; ++i) {
            out += fmt::format("  {:6x}:  {:<8} {}\n", insn[i].address - code.address, insn[i].mnemonic, insn[i].op_str);
            decoded_end = insn[i].address + insn[i].size;
        }
        if (count > 0) cs_free(insn, count);
        if (decoded_end < code.address + to)
            out += fmt::format("  {:6x}:  (.byte x {} not decoded)\n", decoded_end - code.address,
                               code.address + to - decoded_end);
    }

private:
    csh handle_ = 0;
    bool ok_ = false;
};

}  // namespace

Result<std::string> jit_disassemble(const vm::Program& program, std::span<const bpf_insn> insns) {
    auto code = jit_code(program);
    if (!code) return std::unexpected(code.error());
    if (code->insn_offsets.size() != insns.size() + 1)
        return fail(EINVAL, "the instructions given are not those the program was compiled from");
    Disassembler dis;
    if (!dis.ok()) return fail(EINVAL, "capstone cannot disassemble x86-64");
    std::string out = fmt::format("; {} bytes of x86-64 code at {:#x}\n; entry\n",
                                  code->bytes.size(), code->address);
    dis.range(*code, 0, code->body_start, out);
    const auto& offs = code->insn_offsets;
    for (size_t pc = 0; pc < insns.size();) {
        auto insn = isa::decode(insns, pc);
        const size_t next = pc + (insn ? insn->slots() : 1);  // an lddw spans two slots
        out += fmt::format("; {}: {}\n", pc, isa::format_instruction(insns, pc));
        dis.range(*code, offs[pc], offs[next], out);
        pc = next;
    }
    out += "; out-of-line code (shared epilogue, stubs)\n";
    dis.range(*code, code->stubs_start, static_cast<uint32_t>(code->bytes.size()), out);
    return out;
}

}  // namespace bpfrt::jit
