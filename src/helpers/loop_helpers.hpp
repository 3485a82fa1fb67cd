// bpf_loop (181): calls a function of the program back nr_loops times with
// (index, callback_ctx), stopping early when it returns 1; -EINVAL for
// non-zero flags, -E2BIG above BPF_MAX_LOOPS (1 << 23), as the kernel's
// kernel/bpf/bpf_iter.c. The callback runs through
// vm::ExecContext::call_function, which the engine provides.
#pragma once

#include <bpfrt/vm.hpp>

namespace bpfrt::helpers {

void register_loop_helpers(vm::HelperTable& table);

}  // namespace bpfrt::helpers
