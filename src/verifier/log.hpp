// The verifier log: kernel-style text for log_level 1 (the failing path) and
// 2 (every instruction's state), instruction and state formatting.
#pragma once

#include "verifier/cfg.hpp"
#include "verifier/maps.hpp"
#include "verifier/state.hpp"
#include "verifier/verifier.hpp"

#include <memory>
#include <string>
#include <vector>

namespace bpfrt::verifier {

// The instructions one path executed, newest first (shared between paths).
struct TraceNode {
    uint32_t pc = 0;
    std::shared_ptr<TraceNode> prev;
    TraceNode(uint32_t p, std::shared_ptr<TraceNode> before) : pc(p), prev(std::move(before)) {}
    TraceNode(const TraceNode&) = delete;
    TraceNode& operator=(const TraceNode&) = delete;
    ~TraceNode();  // iterative: paths can be a million instructions long
};
using Trace = std::shared_ptr<TraceNode>;

// Local instruction formatter (assembly syntax of the opcode table's mnemonics).
std::string format_insn(const isa::Instruction& in);

class Log {
public:
    Log(const VerifyInput& in, const Cfg& cfg, const MapTable& maps) : in_(in), cfg_(cfg), maps_(maps) {}

    uint32_t level() const { return in_.log_level; }
    std::string state_str(const State& st) const;
    std::string insn_line(size_t pc) const;        // "12: (61) ldxw r2, [r1+0]"
    std::string source_line(size_t pc) const;      // "file:line: text" or ""
    void insn_with_state(size_t pc, const State& st);  // log_level 2
    void failing_path(const Trace& trace);         // log_level 1: the path to the error
    void line(const std::string& text);
    void prepend(const std::string& text);       // the rejection summary opens the log
    std::string take() { return std::move(text_); }

private:
    const LineInfo* line_info_for(size_t pc, bool exact) const;
    const VerifyInput& in_;
    const Cfg& cfg_;
    const MapTable& maps_;
    std::string text_;
};

}  // namespace bpfrt::verifier
