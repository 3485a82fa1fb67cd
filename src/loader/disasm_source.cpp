#include "isa/opcodes.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/object.hpp>

#include <fmt/format.h>

namespace bpfrt {

std::string disassemble_with_source(const ObjectProgram& prog) {
    std::string out;
    size_t next_line = 0;
    const SourceLine* last = nullptr;  // the line printed last: repeats are not printed again
    const auto& lines = prog.line_info;
    for (size_t pc = 0; pc < prog.insns.size();) {
        // Line info is sorted; print the lines recorded for this slot.
        while (next_line < lines.size() && lines[next_line].insn_off <= pc) {
            const SourceLine& l = lines[next_line++];
            if (l.insn_off != pc || l.line == 0) continue;  // line 0: code without a source line
            if (last && last->line == l.line && last->file == l.file) continue;
            last = &l;
            const auto slash = l.file.find_last_of('/');
            const std::string_view file = slash == std::string::npos ? std::string_view(l.file)
                                                                      : std::string_view(l.file).substr(slash + 1);
            out += fmt::format("    # {}:{}: {}\n", file, l.line, l.text);
        }
        out += fmt::format("{:5}: {}\n", pc, isa::format_instruction(prog.insns, pc));
        const auto insn = isa::decode(prog.insns, pc);
        pc += insn ? insn->slots() : 1;
    }
    return out;
}

}  // namespace bpfrt
