#include "verifier/hints.hpp"

#include "helpers/prototypes.hpp"

#include <bpfrt/bpf.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>

namespace bpfrt::verifier {

void stamp_origins(State& st, uint32_t insn) {
    auto stamp = [insn](RegState& r) {
        if (r.origin.insn == Origin::kUnset) r.origin.insn = insn;
    };
    for (Frame& f : st.frames) {
        for (RegState& r : f.regs) stamp(r);
        for (StackSlot& s : f.stack.slots())
            if (s.is_spill()) stamp(s.spilled);
    }
}

namespace {

using isa::Form;

bool has(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// The integer after `key` in `text` ("off=" in "... off=23 size=1"), if any.
std::optional<int64_t> number_after(std::string_view text, std::string_view key) {
    size_t at = text.find(key);
    // A whole word: "size=" is not the end of "value_size=".
    while (at != std::string_view::npos && at > 0 &&
           (std::isalnum(static_cast<unsigned char>(text[at - 1])) || text[at - 1] == '_'))
        at = text.find(key, at + 1);
    if (at == std::string_view::npos) return std::nullopt;
    size_t i = at + key.size();
    const bool neg = i < text.size() && text[i] == '-';
    if (neg) ++i;
    if (i >= text.size() || !std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    constexpr uint64_t kMax = uint64_t{1} << 62;  // saturate: a number that large is only shown, never used
    uint64_t v = 0;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i)
        v = v > kMax / 10 ? kMax : v * 10 + static_cast<uint64_t>(text[i] - '0');
    return neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
}

// The first register the message names ("R0 invalid mem access", "..., R1(id=0...").
int named_register(std::string_view msg) {
    for (size_t i = 0; i + 1 < msg.size(); ++i) {
        if (msg[i] != 'R' || !std::isdigit(static_cast<unsigned char>(msg[i + 1]))) continue;
        if (i > 0 && std::isalnum(static_cast<unsigned char>(msg[i - 1]))) continue;
        int r = msg[i + 1] - '0';
        if (i + 2 < msg.size() && std::isdigit(static_cast<unsigned char>(msg[i + 2]))) r = r * 10 + (msg[i + 2] - '0');
        if (r < kNumRegs) return r;
    }
    return -1;
}

bool is_tracing(uint32_t prog_type) {
    return prog_type == BPF_PROG_TYPE_KPROBE || prog_type == BPF_PROG_TYPE_TRACEPOINT ||
           prog_type == BPF_PROG_TYPE_PERF_EVENT || prog_type == BPF_PROG_TYPE_RAW_TRACEPOINT ||
           prog_type == BPF_PROG_TYPE_TRACING;
}

// Everything a rule may look at.
struct Facts {
    const Env& env;
    std::string_view msg;
    int64_t pc;
    const isa::Instruction* in;  // nullptr: no instruction
    const State* st;
    const Trace& trace;

    Form form() const { return in ? in->info().form : Form::Exit; }
    bool is_store() const { return form() == Form::StoreReg || form() == Form::StoreImm || form() == Form::Atomic; }
    bool is_call() const { return form() == Form::CallHelper; }
    const char* verb() const { return is_store() ? "write" : "read"; }
    // The register a load or store goes through.
    int pointer_register() const {
        if (form() == Form::Load) return in->src;
        if (is_store()) return in->dst;
        return -1;
    }
    const RegState* reg(int regno) const {
        return st && !st->frames.empty() && regno >= 0 && regno < kNumRegs ? &st->reg(regno) : nullptr;
    }
    const helpers::HelperProto* helper() const {
        return is_call() ? helpers::find_prototype(static_cast<uint32_t>(in->imm)) : nullptr;
    }
};

// "file.c:18: text" (text trimmed; the file without its directories when
// `short_file`), or "" without line info.
std::string source_of(const Env& env, size_t pc, bool short_file = false) {
    const std::string s = env.log.source_line(pc);
    const size_t colon = s.find(": ");
    if (colon == std::string::npos) return s;
    std::string_view file_line = std::string_view(s).substr(0, colon);
    if (short_file)
        if (const size_t slash = file_line.rfind('/'); slash != std::string_view::npos) file_line.remove_prefix(slash + 1);
    return fmt::format("{}: {}", file_line, trim(std::string_view(s).substr(colon + 2)));
}

bool valid_insn(const Env& env, int64_t pc) {
    return pc >= 0 && static_cast<size_t>(pc) < env.cfg.size() && env.cfg.insns[static_cast<size_t>(pc)];
}

// "insn 6: call 1 (bpf_map_lookup_elem) (file.c:18: text)"
std::string insn_ref(const Env& env, size_t pc) {
    std::string s = fmt::format("insn {}: {}", pc, format_insn(env.cfg.at(pc)));
    const std::string src = source_of(env, pc, true);
    if (!src.empty()) s += fmt::format(" ({})", src);
    return s;
}

std::string helper_name_at(const Env& env, uint32_t pc) {
    if (!valid_insn(env, pc) || env.cfg.at(pc).info().form != Form::CallHelper) return {};
    const auto* proto = helpers::find_prototype(static_cast<uint32_t>(env.cfg.at(pc).imm));
    return proto ? fmt::format("bpf_{}", proto->name) : std::string{};
}

// "its range is [0, 255]" (unsigned when it cannot be negative), or "it is 5".
std::string range_text(const Scalar& v) {
    if (v.is_const()) return fmt::format("it is {}", static_cast<int64_t>(v.value()));
    if (v.smin < 0) return fmt::format("its range is [{}, {}]", v.smin, v.smax);
    return fmt::format("its range is [{}, {}]", v.umin, v.umax);
}

// Where a register's value came from, as a sentence.
std::string origin_sentence(const Env& env, int regno, const RegState& r) {
    const uint32_t o = r.origin.insn;
    if (o == Origin::kEntry) {
        if (!r.is_init()) return fmt::format("R{} was never written since the program started", regno);
        if (r.type == RegType::PtrToCtx) return fmt::format("R{} is the program's context argument (set at entry)", regno);
        if (r.type == RegType::PtrToStack)
            return regno == BPF_REG_10 ? "R10 is the frame pointer"
                                       : fmt::format("R{} points into the stack (a copy of the frame pointer R10)", regno);
        return fmt::format("R{} holds its value from the program's entry", regno);
    }
    if (!valid_insn(env, o)) return {};
    const Form f = env.cfg.at(o).info().form;
    if (!r.is_init()) {
        if (f == Form::CallHelper)
            return fmt::format("R{} was cleared by {} (helper calls overwrite R1-R5)", regno, insn_ref(env, o));
        if (f == Form::CallLocal)
            return fmt::format("R{} is not set on entry to the function called at {}", regno, insn_ref(env, o));
        if (f == Form::Exit)
            return fmt::format("R{} was cleared when the function returned at {} (R1-R5 do not survive calls)", regno,
                               insn_ref(env, o));
        return fmt::format("R{} was last cleared at {}", regno, insn_ref(env, o));
    }
    if (r.is_ptr() && (r.off != 0 || !r.var.is_const())) {
        const std::string fixed = r.off != 0 ? fmt::format("{}", r.off) : "";
        const std::string var = r.var.is_const() ? "" : "a variable offset";
        return fmt::format("R{} is the pointer made at {}, moved by {}{}{}", regno, insn_ref(env, o), fixed,
                           !fixed.empty() && !var.empty() ? " and " : "", var);
    }
    return fmt::format("R{} came from {}", regno, insn_ref(env, o));
}

// Walking the failing path back from the error, the instruction that last
// added a variable amount to `regno` (through register moves), if any.
std::optional<uint32_t> offset_added_at(const Env& env, const Trace& trace, int regno) {
    const TraceNode* n = trace.get();
    if (n) n = n->prev.get();  // the failing instruction itself
    for (int r = regno; n; n = n->prev.get()) {
        if (!valid_insn(env, n->pc)) return std::nullopt;
        const isa::Instruction& in = env.cfg.at(n->pc);
        const isa::OpInfo& row = in.info();
        if (row.form == Form::CallHelper && r >= BPF_REG_0 && r <= BPF_REG_5) return std::nullopt;
        if (row.form == Form::CallLocal || row.form == Form::Exit) return std::nullopt;
        if (!isa::writes_dst(in.op) || in.dst != r) continue;
        const bool alu64 = BPF_CLASS(row.code) == BPF_ALU64;
        if (row.form == Form::AluReg && alu64 && (BPF_OP(row.code) == BPF_ADD || BPF_OP(row.code) == BPF_SUB))
            return n->pc;
        if (row.form == Form::AluReg && alu64 && BPF_OP(row.code) == BPF_MOV && row.disc_value == 0) {
            r = in.src;
            continue;
        }
        if (row.form == Form::AluImm && alu64 && (BPF_OP(row.code) == BPF_ADD || BPF_OP(row.code) == BPF_SUB))
            continue;  // a constant part; keep looking for the variable one
        return std::nullopt;
    }
    return std::nullopt;
}

// The last conditional jump of the failing path before the error: the
// decision that led this path here.
std::optional<uint32_t> last_branch(const Env& env, const Trace& trace) {
    for (const TraceNode* n = trace.get(); n; n = n->prev.get())
        if (valid_insn(env, n->pc) && isa::is_conditional(env.cfg.at(n->pc).op)) return n->pc;
    return std::nullopt;
}

// "the loop is insns 4-18:" and the source lines whose instructions lie in
// [first, last] (at most a few).
std::vector<std::string> loop_lines(const Env& env, size_t first, size_t last) {
    std::vector<std::string> out{fmt::format("the loop is insns {}-{}{}", first, last, env.in.line_info.empty() ? "" : ":")};
    std::vector<uint32_t> seen;
    constexpr size_t kMaxLines = 4;
    size_t more = 0;
    for (const LineInfo& li : env.in.line_info) {
        if (li.insn_off < first || li.insn_off > last || li.line == 0) continue;
        if (std::find(seen.begin(), seen.end(), li.line) != seen.end()) continue;
        seen.push_back(li.line);
        if (seen.size() > kMaxLines) {
            ++more;
            continue;
        }
        out.push_back(fmt::format("  {}", source_of(env, li.insn_off, true)));
    }
    if (more) out.push_back(fmt::format("  ... and {} more source line{}", more, more > 1 ? "s" : ""));
    return out;
}

// ---- the rules: each recognises one kind of rejection ----

void note_register(const Facts& f, Diagnosis& d, int regno) {
    d.regno = regno;
    const RegState* r = f.reg(regno);
    if (!r) return;
    d.reg = r->is_init() ? reg_str(*r, &f.env.maps) : "not initialised";
    d.origin = origin_sentence(f.env, regno, *r);
    if (r->is_ptr() && !r->var.is_const())
        if (auto at = offset_added_at(f.env, f.trace, regno))
            d.notes.push_back(fmt::format("its variable offset was added at {}", insn_ref(f.env, *at)));
}

bool null_pointer(const Facts& f, Diagnosis& d) {
    if (!has(f.msg, "_or_null")) return false;
    const bool deref = has(f.msg, "invalid mem access");
    const bool arith = has(f.msg, "pointer arithmetic on");
    const bool passed = has(f.msg, "expected=ringbuf_mem");
    if (!deref && !arith && !passed) return false;
    const int regno = named_register(f.msg);
    note_register(f, d, regno);
    const RegState* r = f.reg(regno);
    const std::string helper = r ? helper_name_at(f.env, r->origin.insn) : std::string{};
    if (deref) d.plain = fmt::format("R{} may be NULL: it is used to {} memory before it was compared with NULL", regno, f.verb());
    if (arith) d.plain = fmt::format("R{} may be NULL: pointer arithmetic on it before it was compared with NULL", regno);
    if (passed) d.plain = fmt::format("R{} may be NULL: it is passed to the helper before it was compared with NULL", regno);
    d.hint = fmt::format("add a NULL check after {}: if (!ptr) return ...; then use the pointer{}",
                         helper.empty() ? "getting the pointer" : helper,
                         arith ? " (and do the arithmetic after the check)" : "");
    return true;
}

bool packet_range(const Facts& f, Diagnosis& d) {
    if (!has(f.msg, "invalid access to packet")) return false;
    const int regno = named_register(f.msg);
    note_register(f, d, regno);
    const int64_t off = number_after(f.msg, "off=").value_or(0);
    const int64_t size = number_after(f.msg, "size=").value_or(0);
    const RegState* r = f.reg(regno);
    const uint32_t range = r ? r->range : 0;
    const char* verb = f.is_call() ? "access" : f.verb();
    d.plain = fmt::format("the {}-byte {} at packet offset {} is not proven to be before data_end (the checks so far "
                          "cover {} bytes)", size, verb, off, range);
    if (r && !r->var.is_const()) {
        d.hint = fmt::format("compare the pointer with data_end after adding the variable offset and before the {}: "
                             "if ((void *)ptr + {} > data_end) return ...;", verb, off - r->off + size);
    } else {
        d.hint = fmt::format("compare the pointer with data_end before {} {} bytes: if (data + {} > data_end) "
                             "return ...;", f.is_store() ? "writing" : "reading", off + size, off + size);
    }
    return true;
}

bool uninit_stack(const Facts& f, Diagnosis& d) {
    if (!has(f.msg, "from stack") || !(has(f.msg, "never written") || has(f.msg, "nothing was written"))) return false;
    int regno = named_register(f.msg);
    if (regno < 0) regno = f.pointer_register();
    note_register(f, d, regno);
    const auto* proto = f.helper();
    const bool key = proto && regno == BPF_REG_2 && has(proto->name, "map_");
    d.plain = proto ? fmt::format("bpf_{} reads stack memory through R{} that was never written", proto->name, regno)
                    : "the read takes stack bytes that were never written";
    d.hint = key ? "initialise the key before the call (e.g. __u32 key = 0; or a struct key with = {} or __builtin_memset)"
                 : "initialise the stack slot before reading it (a variable = {} or __builtin_memset for structs and "
                   "their padding)";
    return true;
}

bool helper_stack_size(const Facts& f, Diagnosis& d) {
    const auto* proto = f.helper();
    if (!proto || !(has(f.msg, "invalid read from stack") || has(f.msg, "invalid write to stack"))) return false;
    const int regno = named_register(f.msg);
    note_register(f, d, regno);
    const int64_t off = number_after(f.msg, "off=").value_or(0);
    const int64_t size = number_after(f.msg, "size=").value_or(0);
    const bool reads = has(f.msg, "read from");
    const RegState* map = f.reg(BPF_REG_1);
    const bool map_arg = map && map->type == RegType::ConstPtrToMap && map->map < f.env.maps.size();
    const char* what = !map_arg ? "" : regno == BPF_REG_2 ? " (the map's key size)" : regno == BPF_REG_3 ? " (the map's value size)" : "";
    d.plain = fmt::format("bpf_{} {} {} bytes{} through R{} (fp{}), but only {} bytes of stack lie above that address",
                          proto->name, reads ? "reads" : "writes", size, what, regno, off, off < 0 ? -off : 0);
    if (map_arg && regno == BPF_REG_2) {
        d.hint = fmt::format("pass a pointer to a whole key: a variable of the map's key type ({} bytes)",
                             f.env.maps[map->map].info.key_size);
    } else if (map_arg && regno == BPF_REG_3) {
        d.hint = fmt::format("pass a pointer to a whole value: a variable of the map's value type ({} bytes), not a "
                             "smaller one", f.env.maps[map->map].info.value_size);
    } else {
        d.hint = fmt::format("pass a pointer to an object of at least {} bytes (or a smaller size argument)", size);
    }
    return true;
}

bool unbounded_offset(const Facts& f, Diagnosis& d) {
    const bool math = has(f.msg, "register with unbounded min value");
    const bool negative = has(f.msg, "min value is negative");
    if (!math && !negative && !has(f.msg, "unbounded memory access") && !has(f.msg, "invalid unbounded variable-offset") &&
        !has(f.msg, "pointer be out of bounds"))
        return false;
    int regno = named_register(f.msg);
    if (math && f.in && f.in->info().form == Form::AluReg) {
        const RegState* dst = f.reg(f.in->dst);
        regno = dst && dst->is_scalar() ? f.in->dst : f.in->src;  // the scalar operand
    }
    if (regno < 0) regno = f.pointer_register();
    note_register(f, d, regno);
    const RegState* r = f.reg(regno);
    const char* what = f.is_call() ? "size" : "offset";
    const std::string range = r ? range_text(r->var) : std::string("it is unknown");
    d.plain = negative ? fmt::format("the {} in R{} may be negative ({})", what, regno, range)
                       : fmt::format("the {} in R{} is not bounded ({})", what, regno, range);
    if (f.is_call())
        d.hint = "bound the size with a mask (size &= N - 1) or a comparison (if (size > N) return ...;) on an "
                 "unsigned variable before the call";
    else
        d.hint = negative ? "use an unsigned index, or check that it is >= 0 before using it"
                          : "bound the index with a mask (idx &= N - 1) or a comparison (if (idx >= N) return ...;) "
                            "before using it as an offset";
    return true;
}

bool region_out_of_bounds(const Facts& f, Diagnosis& d) {
    const bool map = has(f.msg, "invalid access to map value");
    const bool mem = has(f.msg, "invalid access to memory");
    if (!map && !mem) return false;
    int regno = named_register(f.msg);
    if (regno < 0) regno = f.pointer_register();
    note_register(f, d, regno);
    const int64_t total = number_after(f.msg, map ? "value_size=" : "mem_size=").value_or(0);
    const int64_t off = number_after(f.msg, "off=").value_or(0);
    const int64_t size = number_after(f.msg, "size=").value_or(0);
    const RegState* r = f.reg(regno);
    const bool variable = r && !r->var.is_const();
    const char* what = map ? "map value" : "memory";
    d.plain = fmt::format("the {}-byte {} at offset {}{} goes past the end of the {}-byte {}", size,
                          f.is_call() ? "access" : f.verb(), variable ? "up to " : "", off, total, what);
    if (variable)
        d.hint = fmt::format("bound the index so that offset + {} <= {}: for an array field compare the index with its "
                             "number of elements, not with its size in bytes", size, total);
    return true;
}

bool context_access(const Facts& f, Diagnosis& d) {
    const bool modified = has(f.msg, "dereference of modified ctx ptr") || has(f.msg, "variable ctx access");
    if (!modified && !has(f.msg, "invalid bpf_context access")) return false;
    const int regno = f.pointer_register();
    note_register(f, d, regno);
    const auto& ctx = f.env.ctx;
    if (modified) {
        d.plain = fmt::format("the context is accessed through a pointer moved away from its start");
        d.hint = "access context fields through the context pointer itself (ctx->field), not a copy with an offset added";
        return true;
    }
    const int64_t off = number_after(f.msg, "off=").value_or(0);
    const int64_t size = number_after(f.msg, "size=").value_or(0);
    d.plain = fmt::format("{} programs may not {} {} bytes at offset {} of the context ({})", ctx.name, f.verb(), size,
                          off, ctx.ctx_name);
    if (f.is_store()) {
        d.hint = fmt::format("this context field is read-only for {} programs: leave it, or change it with the helper "
                             "made for it (e.g. bpf_set_hash for the skb hash)", ctx.name);
    } else if (f.env.in.prog_type == BPF_PROG_TYPE_TRACEPOINT && off < 8) {
        d.hint = "the first 8 bytes of a tracepoint record (the common fields such as common_pid) are not readable: "
                 "take the pid from bpf_get_current_pid_tgid()";
    } else {
        d.hint = fmt::format("read only the fields {} programs may read, with the field's own size", ctx.name);
    }
    return true;
}

bool not_a_pointer(const Facts& f, Diagnosis& d) {
    if (!has(f.msg, "invalid mem access '")) return false;
    const int regno = named_register(f.msg);
    note_register(f, d, regno);
    const RegState* r = f.reg(regno);
    if (r && r->is_scalar()) {
        d.plain = fmt::format("R{} is a number (scalar), not a pointer the verifier can check, so it cannot be "
                              "dereferenced", regno);
        d.hint = is_tracing(f.env.in.prog_type)
                     ? "read kernel memory with bpf_probe_read_kernel(&dst, sizeof(dst), ptr) (or BPF_CORE_READ)"
                     : "only pointers the verifier tracks (context, stack, map values, packet) may be dereferenced";
    } else {
        d.plain = fmt::format("R{} is {} and cannot be dereferenced", regno, r ? std::string(type_name(r->type)) : "?");
    }
    return true;
}

bool leaked_reference(const Facts& f, Diagnosis& d) {
    const bool tail_call = has(f.msg, "tail_call would lead to reference leak");
    if (!has(f.msg, "Unreleased reference") && !tail_call) return false;
    std::optional<int64_t> alloc = number_after(f.msg, "alloc_insn=");
    if (!alloc && f.st && !f.st->refs.empty()) alloc = f.st->refs.front().insn;
    d.plain = tail_call ? "a tail call leaves the program while a reserved ring buffer record is still held"
                        : "a reserved ring buffer record is neither submitted nor discarded on this path";
    if (alloc && valid_insn(f.env, *alloc)) d.origin = fmt::format("the record was reserved at {}", insn_ref(f.env, static_cast<size_t>(*alloc)));
    if (auto br = last_branch(f.env, f.trace))
        d.notes.push_back(fmt::format("this path was decided at {}", insn_ref(f.env, *br)));
    d.hint = "release the reference on every path: bpf_ringbuf_submit or bpf_ringbuf_discard before each return";
    return true;
}

bool unbounded_loop(const Facts& f, Diagnosis& d) {
    if (has(f.msg, "infinite loop detected")) {
        d.plain = fmt::format("the loop through insn {} comes back in exactly the same state: nothing in it bounds the "
                              "number of iterations", f.pc);
        if (auto from = number_after(f.msg, "from insn "); from && valid_insn(f.env, *from)) {
            d.notes.push_back(fmt::format("the loop's back edge is {}", insn_ref(f.env, static_cast<size_t>(*from))));
            for (std::string& l : loop_lines(f.env, static_cast<size_t>(std::min(f.pc, *from)),
                                             static_cast<size_t>(std::max(f.pc, *from))))
                d.notes.push_back(std::move(l));
        }
    } else if (has(f.msg, "BPF program is too large")) {
        d.plain = fmt::format("verification did not finish within {} processed instructions (every path, loops "
                              "unrolled)", f.env.in.max_processed);
    } else {
        return false;
    }
    d.hint = "the loop is not provably bounded: count to a constant bound (for (int i = 0; i < N; i++)), or use "
             "bpf_loop()";
    return true;
}

bool uninit_register(const Facts& f, Diagnosis& d) {
    if (!has(f.msg, "!read_ok")) return false;
    const int regno = named_register(f.msg);
    note_register(f, d, regno);
    d.plain = fmt::format("R{} is read before anything was written to it", regno);
    const RegState* r = f.reg(regno);
    if (r && valid_insn(f.env, r->origin.insn) && f.env.cfg.at(r->origin.insn).info().form == Form::CallHelper)
        d.hint = "keep values needed after a call in R6-R9 or on the stack";
    return true;
}

bool return_value(const Facts& f, Diagnosis& d) {
    if (!has(f.msg, "At program exit the register R0") && !has(f.msg, "At subprogram exit the register R0")) return false;
    note_register(f, d, BPF_REG_0);
    if (has(f.msg, "should have been in")) {
        d.plain = fmt::format("the return value may be outside what {} programs may return", f.env.ctx.name);
        d.hint = fmt::format("return only values in [{}, {}]", f.env.ctx.ret_min, f.env.ctx.ret_max);
    } else {
        d.plain = "the return value is a pointer, not a number";
    }
    return true;
}

bool helper_argument(const Facts& f, Diagnosis& d) {
    if (!has(f.msg, " expected=")) return false;
    const int regno = named_register(f.msg);
    note_register(f, d, regno);
    const auto* proto = f.helper();
    const size_t at = f.msg.find(" expected=");
    d.plain = fmt::format("R{} is {}, but {} expects {}", regno, d.reg.empty() ? "of another type" : d.reg,
                          proto ? fmt::format("bpf_{}", proto->name) : std::string("the instruction"),
                          f.msg.substr(at + 10));
    return true;
}

bool license(const Facts& f, Diagnosis& d) {
    if (!has(f.msg, "GPL-restricted")) return false;
    d.plain = "a GPL-only helper is called from a program whose license is not GPL-compatible";
    d.hint = "declare a GPL-compatible license: char LICENSE[] SEC(\"license\") = \"GPL\";";
    return true;
}

bool misaligned(const Facts& f, Diagnosis& d) {
    if (f.msg.rfind("misaligned ", 0) != 0) return false;
    const int regno = f.pointer_register();
    note_register(f, d, regno);
    const int64_t size = number_after(f.msg, "size ").value_or(0);
    d.plain = fmt::format("the {}-byte {} through R{} is not {}-byte aligned{}", size, f.verb(), regno, size,
                          has(f.msg, "packet") ? " (packet data starts 2 bytes after an aligned address)" : "");
    d.hint = "access the field at an offset that is a multiple of its size, or in smaller pieces";
    return true;
}

// The default: the message itself (its own explanation included).
void fallback(const Facts& f, Diagnosis& d) {
    d.plain = std::string(f.msg);
    int regno = named_register(f.msg);
    if (regno < 0) regno = f.pointer_register();
    if (regno >= 0) note_register(f, d, regno);
}

void add_line(std::string& out, std::string_view label, const std::string& text) {
    if (!text.empty()) out += fmt::format("  {}{}\n", label, text);
}

}  // namespace

Diagnosis diagnose(const Env& env, const std::string& message, int64_t insn, const State* state, const Trace& trace) {
    Diagnosis d;
    d.insn = insn;
    const Facts f{env, message, insn, valid_insn(env, insn) ? &env.cfg.at(static_cast<size_t>(insn)) : nullptr,
                  state, trace};
    using Rule = bool (*)(const Facts&, Diagnosis&);
    // Order matters where messages share words: NULL before the generic
    // "invalid mem access", uninitialised stack before the helper's stack size.
    static constexpr Rule kRules[] = {null_pointer,     packet_range,     uninit_stack,      helper_stack_size,
                                      unbounded_offset, region_out_of_bounds, context_access, not_a_pointer,
                                      leaked_reference, unbounded_loop,   uninit_register,   return_value,
                                      helper_argument,  license,          misaligned};
    for (Rule rule : kRules)
        if (rule(f, d)) return d;
    fallback(f, d);
    return d;
}

namespace {

// Frames rounded as the stack-depth check rounds them.
uint32_t frame_bytes(const Env& env, uint32_t sub) {
    return sub < env.stack_depth.size() ? (env.stack_depth[sub] + 15) / 16 * 16 : 0u;
}

uint32_t callee_of(const Cfg& cfg, size_t call) {
    return cfg.subprog_of[static_cast<size_t>(isa::branch_target(cfg.at(call), call))];
}

// The deepest stack below subprogram `sub` and the call leading to it (the
// call graph is acyclic: recursion is rejected before exploration).
struct DeepestCall {
    std::vector<uint32_t> below;
    std::vector<int64_t> via;  // -1: no call
    std::vector<uint8_t> done;
};

uint32_t deepest_below(const Env& env, uint32_t sub, DeepestCall& m) {
    if (m.done[sub]) return m.below[sub];
    m.done[sub] = 1;
    for (size_t pc = env.cfg.subprog_start[sub]; pc < env.cfg.subprog_end(sub); ++pc) {
        if (!env.cfg.insns[pc] || env.cfg.at(pc).op != isa::Op::CALL_LOCAL) continue;
        const uint32_t callee = callee_of(env.cfg, pc);
        const uint32_t depth = frame_bytes(env, callee) + deepest_below(env, callee, m);
        if (m.via[sub] < 0 || depth > m.below[sub]) {
            m.below[sub] = depth;
            m.via[sub] = static_cast<int64_t>(pc);
        }
    }
    return m.below[sub];
}

}  // namespace

Diagnosis diagnose_stack_depth(const Env& env) {
    Diagnosis d;
    const size_t n = env.cfg.subprog_start.size();
    DeepestCall m{std::vector<uint32_t>(n, 0), std::vector<int64_t>(n, -1), std::vector<uint8_t>(n, 0)};
    deepest_below(env, 0, m);
    // Follow the deepest chain from the program to the call that crosses the limit.
    uint32_t sub = 0, total = frame_bytes(env, 0);
    d.notes.push_back(fmt::format("the program's own frame: {} bytes", total));
    while (m.via[sub] >= 0) {
        const auto call = static_cast<size_t>(m.via[sub]);
        sub = callee_of(env.cfg, call);
        total += frame_bytes(env, sub);
        d.notes.push_back(fmt::format("insn {} calls the function at insn {}, whose frame adds {} bytes: {} in all",
                                      call, env.cfg.subprog_start[sub], frame_bytes(env, sub), total));
        if (d.insn < 0 && total > static_cast<uint32_t>(StackState::kSize)) d.insn = static_cast<int64_t>(call);
    }
    d.plain = fmt::format("the frames of a call chain need {} bytes of stack together, more than the 512 bytes allowed",
                          total);
    d.hint = "make the buffers smaller, or keep large ones in a per-CPU array map with one entry instead of on the stack";
    return d;
}

std::string summary_text(const Env& env, const Diagnosis& d) {
    std::string out = fmt::format("error: {}\n", d.plain);
    if (valid_insn(env, d.insn)) {
        const auto pc = static_cast<size_t>(d.insn);
        out += fmt::format("  at insn {}: ({:02x}) {}\n", pc, env.cfg.at(pc).info().code, format_insn(env.cfg.at(pc)));
        add_line(out, "source: ", source_of(env, pc));
    }
    if (d.regno >= 0 && !d.reg.empty()) out += fmt::format("  R{} = {}\n", d.regno, d.reg);
    add_line(out, "", d.origin);
    for (const std::string& n : d.notes) add_line(out, "", n);
    add_line(out, "hint: ", d.hint);
    out += '\n';
    return out;
}

}  // namespace bpfrt::verifier
