// The kernel's helpers beyond the map helpers, with its numbers and
// semantics: time, random numbers, the CPU slot, bpf_trace_printk (to the
// runtime's trace stream), tail calls through PROG_ARRAY, ring buffer
// output, probe_read on host memory the program was given, skb_load_bytes
// and the XDP adjust helpers. Their prototypes are in prototypes.cpp.
//
// probe_read_kernel/user(_str) and the %s of trace_printk copy only from
// memory ExecContext::is_allowed() knows: the program's own stack (in
// verified and checked runs alike: every engine sets ExecContext::stack_top)
// and the run's regions (the context, the packet, map values handed out,
// memory the host passes with an event); any other address gives -EFAULT
// and a zeroed destination, as a faulting read in the kernel.
#pragma once

#include <bpfrt/vm.hpp>

namespace bpfrt::helpers {

void register_kernel_helpers(vm::HelperTable& table);

}  // namespace bpfrt::helpers
