// Shared verification context: the input, the CFG, the program type's
// context description, the maps, id generation and the log.
#pragma once

#include "verifier/cfg.hpp"
#include "verifier/context.hpp"
#include "verifier/log.hpp"
#include "verifier/maps.hpp"
#include "verifier/state.hpp"
#include "verifier/verifier.hpp"

#include <bpfrt/error.hpp>

#include <cerrno>
#include <string>
#include <vector>

namespace bpfrt::verifier {

struct Env {
    const VerifyInput& in;
    const Cfg& cfg;
    const ContextDesc& ctx;
    MapTable maps;
    std::vector<int32_t> map_of_insn;       // per slot: map index of an lddw, -1 otherwise
    std::vector<uint32_t> stack_depth;      // per subprogram: deepest byte used
    uint32_t id_gen = 0;
    Log log;
    size_t pc = 0;                          // instruction being checked
    std::vector<CtxAccess> ctx_accesses;    // one per instruction (first proven access)
    std::vector<bool> ctx_seen;             // per slot: in ctx_accesses already

    Env(const VerifyInput& input, const Cfg& c, const ContextDesc& cd) : in(input), cfg(c), ctx(cd), log(input, c, maps) {}
    bool force_strict = false;              // strict alignment for this access (atomics)
    bool privileged() const { return in.privileged; }
    bool strict() const { return in.strict_alignment || force_strict; }
    uint32_t new_id() { return ++id_gen; }
    void note_ctx_access(int off, int size, bool write) {
        if (ctx_seen.size() <= pc) ctx_seen.resize(cfg.size() > pc ? cfg.size() : pc + 1, false);
        if (ctx_seen[pc]) return;
        ctx_seen[pc] = true;
        ctx_accesses.push_back({static_cast<uint32_t>(pc), off, static_cast<uint8_t>(size), write});
    }
    void note_stack(const State& st, uint8_t frameno, int off) {
        const uint32_t sp = st.frames[frameno].subprog;
        if (sp < stack_depth.size() && static_cast<uint32_t>(-off) > stack_depth[sp])
            stack_depth[sp] = static_cast<uint32_t>(-off);
    }
};

using Check = Result<void>;
// A safety violation (EACCES) / a malformed or unsupported use (EINVAL).
inline std::unexpected<Error> deny(std::string msg) { return fail(EACCES, std::move(msg)); }
inline std::unexpected<Error> invalid(std::string msg) { return fail(EINVAL, std::move(msg)); }

}  // namespace bpfrt::verifier
