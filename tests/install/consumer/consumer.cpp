// A tiny program built against the installed bpfrt: assemble, prepare, run.
#include <bpfrt/asm.hpp>
#include <bpfrt/insn.h>
#include <bpfrt/vm.hpp>

#include <cstdio>

int main() {
    auto prog = bpfrt::isa::assemble("mov %r0, 40\nadd %r0, 2\nexit\n");
    if (!prog) return 1;
    bpfrt::vm::HelperTable helpers;
    auto vm = bpfrt::vm::make_interpreter(*prog, &helpers, bpfrt::vm::Mode::Checked);
    if (!vm) return 2;
    bpfrt::vm::ExecContext ctx;
    auto r0 = (*vm)->run(0, 0, ctx);
    if (!r0) return 3;
    std::printf("r0 = %llu\n", static_cast<unsigned long long>(*r0));
    return 0;
}
