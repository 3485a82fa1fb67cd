// JIT-compiled programs: the vm::Program implementation around generated
// code, engine selection, and the C++ halves of callx and tail calls.
#include "jit/code_memory.hpp"
#include "jit/compiler.hpp"
#include "jit/run_state.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/jit.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>

namespace bpfrt::jit {
namespace {

using CallbackFn = uint64_t (*)(const void* function, uint64_t r1, uint64_t r2, RunState* state);

Result<uint64_t> call_function(vm::ExecContext& ctx, uint64_t entry, uint64_t r1, uint64_t r2);

class JitProgram final : public vm::Program {
public:
    JitProgram(std::vector<bpf_insn> raw, CodeMemory code, CompiledCode layout, const vm::HelperTable* helpers)
        : raw_(std::move(raw)), code_(std::move(code)), layout_(std::move(layout)), helpers_(helpers) {
        const uint8_t* start = code_.data();
        std::memcpy(&entry_, &start, sizeof entry_);  // object to function pointer, without a cast warning
        if (layout_.callback_entry != 0) {
            const uint8_t* trampoline = start + layout_.callback_entry;
            std::memcpy(&callback_, &trampoline, sizeof callback_);
        }
        layout_.bytes.clear();  // the executable copy is the one kept
    }

    Result<uint64_t> run(uint64_t r1, uint64_t r2, vm::ExecContext& ctx) const override {
        // DirectEntry::run (jit.hpp) does the same inline: keep them in step.
        ctx.exit_requested = false;
        ctx.tail_call_target = nullptr;
        // Runs under ctx.checked = false, as verified-mode interpreter runs.
        // The generated code sets ctx.stack_top at entry (vm.hpp); it is
        // restored when the run ends, as are the callback fields.
        const bool was_checked = ctx.checked;
        const uintptr_t was_stack_top = ctx.stack_top;
        const auto was_call_function = ctx.call_function;
        const void* was_call_site = ctx.call_site;
        ctx.checked = false;
        RunState st;
        st.ctx = &ctx;
        st.helpers = helpers_;
        prepare_callbacks(st, ctx);
        const uint64_t r0 = entry_(r1, r2, &st);
        auto result = st.status == RunStatus::Returned ? Result<uint64_t>(r0) : continue_chain(st, r2, ctx);
        ctx.checked = was_checked;
        ctx.stack_top = was_stack_top;
        ctx.call_function = was_call_function;
        ctx.call_site = was_call_site;
        return result;
    }

    bool has_callbacks() const noexcept { return callback_ != nullptr; }

    // ExecContext::call_function of this run: a helper calls a function of
    // the program back through the trampoline.
    void prepare_callbacks(RunState& st, vm::ExecContext& ctx) const {
        if (!has_callbacks()) return;
        st.program = this;
        ctx.call_function = &call_function;
        ctx.call_site = &st;
    }

    Result<uint64_t> call_back(RunState& st, uint64_t entry, uint64_t r1, uint64_t r2) const {
        if (entry >= raw_.size() || entry >= layout_.insn_offsets.size())
            return fail(EINVAL, fmt::format("callback entry {} is not an instruction of the program", entry));
        const uint8_t* function = code_.data() + layout_.insn_offsets[entry];
        const uint64_t r0 = callback_(function, r1, r2, &st);
        if (st.status != RunStatus::Returned) return std::unexpected(error(st));  // the run reports it too
        return r0;
    }
    vm::Mode mode() const noexcept override { return vm::Mode::Verified; }
    size_t size() const noexcept override { return raw_.size(); }

    JitCode code() const {
        return JitCode{{code_.data(), code_.size()}, reinterpret_cast<uint64_t>(code_.data()), layout_.insn_offsets,
                       layout_.body_start, layout_.stubs_start};
    }
    const CompiledCode& layout() const noexcept { return layout_; }

    EntryFn entry() const noexcept { return entry_; }
    const vm::HelperTable* helpers() const noexcept { return helpers_; }

    // After a run of this program that ended with `st` not Returned: the
    // error, or the tail-called programs, JIT-compiled ones one after
    // another in this loop.
    Result<uint64_t> continue_chain(const RunState& ended, uint64_t r2, vm::ExecContext& ctx) const {
        const JitProgram* cur = this;
        RunState st = ended;
        for (;;) {
            if (st.status == RunStatus::Error) return std::unexpected(cur->error(st));
            const vm::Program* target = ctx.tail_call_target;
            ctx.tail_call_target = nullptr;
            const uint64_t r1 = st.ctx_arg;  // the target gets the caller's context (r1 at the call)
            const auto* same = dynamic_cast<const JitProgram*>(target);
            if (same == nullptr) return target->run(r1, r2, ctx);
            cur = same;
            st = RunState{};
            st.ctx = &ctx;
            st.helpers = cur->helpers_;
            cur->prepare_callbacks(st, ctx);
            const uint64_t r0 = cur->entry_(r1, r2, &st);
            if (st.status == RunStatus::Returned) return r0;
        }
    }

private:
    [[gnu::cold]] Error error(const RunState& st) const {
        std::string what;
        switch (st.error_kind) {
            case RunError::UnknownHelper: what = fmt::format("call to unknown helper {}", st.error_arg); break;
            case RunError::CallDepth: what = fmt::format("call depth exceeds {} frames", vm::kMaxCallDepth); break;
            case RunError::None: what = "internal error"; break;
        }
        const size_t pc = st.error_pc;
        if (pc >= raw_.size()) return Error{EINVAL, fmt::format("pc {}: {}", pc, what)};
        return Error{EINVAL, fmt::format("pc {}: `{}`: {}", pc, isa::format_instruction(raw_, pc), what)};
    }

    std::vector<bpf_insn> raw_;  // for error messages
    CodeMemory code_;
    CompiledCode layout_;
    const vm::HelperTable* helpers_;
    EntryFn entry_ = nullptr;
    CallbackFn callback_ = nullptr;
};

Result<uint64_t> call_function(vm::ExecContext& ctx, uint64_t entry, uint64_t r1, uint64_t r2) {
    auto* st = static_cast<RunState*>(const_cast<void*>(ctx.call_site));
    if (st == nullptr || st->program == nullptr) return fail(EINVAL, "no JIT run is calling back");
    return static_cast<const JitProgram*>(st->program)->call_back(*st, entry, r1, r2);
}

}  // namespace

DirectEntry::DirectEntry(const vm::Program& program) noexcept : program_(&program) {
    const auto* jit = dynamic_cast<const JitProgram*>(&program);
    // Programs with callbacks set up more per run: run() calls program.run().
    if (jit == nullptr || jit->has_callbacks()) return;
    entry_ = jit->entry();
    state_.helpers = jit->helpers();
}

Result<uint64_t> DirectEntry::finish(uint64_t r2, vm::ExecContext& ctx, bool was_checked, uintptr_t was_stack_top) {
    const RunState ended = state_;
    state_.status = RunStatus::Returned;  // ready for the next run
    auto result = static_cast<const JitProgram*>(program_)->continue_chain(ended, r2, ctx);
    ctx.checked = was_checked;
    ctx.stack_top = was_stack_top;
    return result;
}

const ContextOffsets& context_offsets() noexcept {
    static const ContextOffsets offsets = [] {
        const vm::ExecContext probe;
        const auto* base = reinterpret_cast<const char*>(&probe);
        auto at = [base](const void* field) {
            return static_cast<int32_t>(reinterpret_cast<const char*>(field) - base);
        };
        return ContextOffsets{at(&probe.packet),         at(&probe.packet_len),       at(&probe.exit_requested),
                              at(&probe.exit_value),     at(&probe.tail_call_target), at(&probe.tail_calls),
                              at(&probe.stack_top)};
    }();
    return offsets;
}

uint64_t callx_trampoline(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, RunState* state) {
    state->callx_error = 0;
    state->callx_unwind = 0;
    const uint64_t id = state->callx_id;
    const vm::Helper* helper =
        (state->helpers == nullptr || id > UINT32_MAX) ? nullptr : state->helpers->find(static_cast<uint32_t>(id));
    if (helper == nullptr) {
        state->callx_error = 1;
        return 0;
    }
    const uint64_t r0 = helper->fn(r1, r2, r3, r4, r5, *state->ctx);
    state->callx_unwind = helper->unwind_on_zero && r0 == 0;
    return r0;
}

bool jit_supported() noexcept {
#if defined(__x86_64__)
    return true;
#else
    return false;
#endif
}

Result<std::unique_ptr<vm::Program>> make_jit(std::span<const bpf_insn> insns, const vm::HelperTable* helpers,
                                              const JitOptions& options) {
    if (!jit_supported()) return fail(ENOTSUP, "the JIT supports only x86-64 hosts");
    auto prog = isa::decode_program(insns);
    if (!prog) return std::unexpected(prog.error());
    auto compiled = compile(*prog, helpers, options);
    if (!compiled) return std::unexpected(compiled.error());
    auto memory = CodeMemory::create(compiled->bytes);
    if (!memory) return std::unexpected(memory.error());
    return std::make_unique<JitProgram>(std::vector<bpf_insn>(insns.begin(), insns.end()), std::move(*memory),
                                        std::move(*compiled), helpers);
}

Result<std::unique_ptr<vm::Program>> make_program(std::span<const bpf_insn> insns, const vm::HelperTable* helpers,
                                                  Engine engine, const JitOptions& options) {
    if (engine == Engine::Jit || (engine == Engine::Auto && jit_supported())) return make_jit(insns, helpers, options);
    return vm::make_interpreter(insns, helpers, vm::Mode::Verified);
}

Result<JitCode> jit_code(const vm::Program& program) {
    const auto* jit = dynamic_cast<const JitProgram*>(&program);
    if (jit == nullptr) return fail(EINVAL, "the program was not compiled by the JIT");
    return jit->code();
}

}  // namespace bpfrt::jit
