#include "helpers/loop_helpers.hpp"

#include "helpers/prototypes.hpp"

#include <cerrno>

namespace bpfrt::helpers {
namespace {

constexpr uint32_t kMaxLoops = 1u << 23;  // BPF_MAX_LOOPS

uint64_t negative(int err) { return static_cast<uint64_t>(-static_cast<int64_t>(err)); }

// The run ends with `e` once the helper returns (the engine reads call_error).
uint64_t stop_with(vm::ExecContext& ctx, Error e) {
    ctx.call_error = std::move(e);
    ctx.exit_requested = true;
    ctx.exit_value = 0;
    return 0;
}

uint64_t loop(uint64_t nr_loops, uint64_t callback, uint64_t callback_ctx, uint64_t flags, uint64_t,
              vm::ExecContext& ctx) {
    if (flags != 0) return negative(EINVAL);
    const auto n = static_cast<uint32_t>(nr_loops);  // u32 nr_loops in the kernel
    if (n > kMaxLoops) return negative(E2BIG);
    if (n != 0 && ctx.call_function == nullptr)
        return stop_with(ctx, Error{ENOTSUP, "bpf_loop: this engine cannot call a function of the program"});
    for (uint32_t i = 0; i < n; ++i) {
        const Result<uint64_t> ret = ctx.call_function(ctx, callback, i, callback_ctx);
        if (!ret) return stop_with(ctx, ret.error());
        if (ctx.exit_requested) return 0;  // the callback ended the whole program
        if (*ret != 0) return i + 1;       // 1: stop the loop
    }
    return n;
}

}  // namespace

void register_loop_helpers(vm::HelperTable& table) {
    const HelperProto* proto = find_prototype(BPF_FUNC_loop);
    table.set(BPF_FUNC_loop, vm::Helper{loop, proto != nullptr ? std::string(proto->name) : "loop", false});
}

}  // namespace bpfrt::helpers
