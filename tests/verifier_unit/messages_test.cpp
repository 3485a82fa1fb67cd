// Rejection messages: the summary that opens a rejection's log names the root
// cause in plain words, the instruction (index and disassembly), the C source
// line from line info, the register's type and range, the instruction that
// made the value (through moves, spills and fills) and the usual fix.
//
// Two halves: small hand-written programs with made-up line info, one per
// kind of hint; and every rejected program of the corpus (tests/corpus),
// compiled by clang with BTF, against its recorded expect_message and
// source_line.
#include "corpus.hpp"
#include "verify_helpers.hpp"

#include "verifier/reg_state.hpp"

#include <bpfrt/object.hpp>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <ostream>
#include <regex>
#include <string>
#include <vector>

namespace bpfrt::corpus {
// gtest names a failing corpus case by its program, not by its bytes.
void PrintTo(const CorpusEntry& e, std::ostream* os) { *os << e.object << ":" << e.program; }
}  // namespace bpfrt::corpus

namespace bpfrt::verifier::testing {
namespace {

using Prog = std::vector<bpf_insn>;

Prog cat(std::initializer_list<Prog> parts) {
    Prog out;
    for (const Prog& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// The summary: the log up to its first blank line.
std::string summary_of(const std::string& log) { return log.substr(0, log.find("\n\n")); }

struct Source {
    uint32_t insn;
    uint32_t line;
    const char* text;
};

VerifyResult run_with_lines(const Prog& prog, const std::vector<Source>& lines, Options o = {}) {
    VerifyInput in;
    in.insns = prog;
    in.prog_type = o.prog_type;
    in.privileged = o.privileged;
    in.license = o.license;
    in.log_level = o.log_level ? o.log_level : 1;
    in.strict_alignment = o.strict;
    in.map_info = test_map;
    for (const Source& s : lines) in.line_info.push_back({s.insn, "prog.c", s.line, s.text});
    return verify(in);
}

// key = 0 at fp-4; R0 = bpf_map_lookup_elem(map, &key): insns 0-5 (the call is insn 5).
Prog lookup(int32_t map) {
    return {BPF_ST_MEM(BPF_W, BPF_REG_10, -4, 0), BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
            BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4), BPF_LD_MAP_FD(BPF_REG_1, map),
            BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem)};
}
const Prog kExit0 = {BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};

void expect_has(const std::string& text, const std::string& part) {
    EXPECT_NE(text.find(part), std::string::npos) << "missing \"" << part << "\" in:\n" << text;
}

TEST(Messages, NullDereferenceNamesTheLookupAndTheFix) {
    const Prog p = cat({lookup(kHash), {BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_0, 0)}, kExit0});
    const VerifyResult r = run_with_lines(p, {{0, 10, "  __u32 key = 0;"},
                                              {3, 11, "  __u64 *v = bpf_map_lookup_elem(&m, &key);"},
                                              {6, 12, "  sum += *v;"}});
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    EXPECT_EQ(s.rfind("error: R0 may be NULL", 0), 0u) << s;  // the summary opens the log
    expect_has(s, "at insn 6: (79) ldxdw r1, [r0+0]");
    expect_has(s, "source: prog.c:12: sum += *v;");
    expect_has(s, "R0 = map_value_or_null(id=1,off=0,ks=4,vs=8)");
    expect_has(s, "R0 came from insn 5: call 1 (bpf_map_lookup_elem) (prog.c:11: __u64 *v = bpf_map_lookup_elem(&m, &key);)");
    expect_has(s, "hint: add a NULL check after bpf_map_lookup_elem");
    // The kernel's wording stays in the log, after the path.
    expect_has(r.log, "R0 invalid mem access 'map_value_or_null'");
}

TEST(Messages, OriginSurvivesMovesSpillsAndFills) {
    const Prog p = cat({lookup(kHash),
                        {BPF_MOV64_REG(BPF_REG_6, BPF_REG_0),              // 6
                         BPF_STX_MEM(BPF_DW, BPF_REG_10, BPF_REG_6, -16),  // 7: spill
                         BPF_MOV64_IMM(BPF_REG_6, 0),                      // 8
                         BPF_LDX_MEM(BPF_DW, BPF_REG_7, BPF_REG_10, -16),  // 9: fill
                         BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_7, 0)},    // 10
                        kExit0});
    const VerifyResult r = run_with_lines(p, {});
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "at insn 10:");
    expect_has(s, "R7 = map_value_or_null");
    expect_has(s, "R7 came from insn 5: call 1 (bpf_map_lookup_elem)");
}

TEST(Messages, PacketRangeNamesTheBytesToCheck) {
    // R2 = data, R3 = data_end; if (data + 14 > data_end) return; then a 4-byte read at offset 12.
    const Prog p = {BPF_LDX_MEM(BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct xdp_md, data)),
                    BPF_LDX_MEM(BPF_W, BPF_REG_3, BPF_REG_1, offsetof(struct xdp_md, data_end)),
                    BPF_MOV64_REG(BPF_REG_4, BPF_REG_2),
                    BPF_ALU64_IMM(BPF_ADD, BPF_REG_4, 14),
                    BPF_JMP_REG(BPF_JLE, BPF_REG_4, BPF_REG_3, 2),
                    BPF_MOV64_IMM(BPF_REG_0, 0),
                    BPF_EXIT_INSN(),
                    BPF_LDX_MEM(BPF_W, BPF_REG_0, BPF_REG_2, 12),
                    BPF_EXIT_INSN()};
    Options o;
    o.prog_type = BPF_PROG_TYPE_XDP;
    const VerifyResult r = run_with_lines(p, {{0, 5, "void *data = (void *)(long)ctx->data;"},
                                              {7, 9, "return iph->saddr;"}}, o);
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "error: the 4-byte read at packet offset 12 is not proven to be before data_end (the checks so far "
                  "cover 14 bytes)");
    expect_has(s, "at insn 7: (61) ldxw r0, [r2+12]");
    expect_has(s, "source: prog.c:9: return iph->saddr;");
    expect_has(s, "R2 = pkt(off=0,r=14)");
    expect_has(s, "R2 came from insn 0: ldxw r2, [r1+0] (prog.c:5: void *data = (void *)(long)ctx->data;)");
    expect_has(s, "hint: compare the pointer with data_end before reading 16 bytes: if (data + 16 > data_end)");
    expect_has(r.log, "invalid access to packet");  // the kernel's wording
}

TEST(Messages, UninitialisedKeyAsksToInitialiseIt) {
    // Unprivileged: a lookup whose key on the stack was never written.
    const Prog p = cat({{BPF_MOV64_REG(BPF_REG_2, BPF_REG_10), BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -8),
                         BPF_ST_MEM(BPF_DW, BPF_REG_10, -16, 0),  // something else on the stack
                         BPF_LD_MAP_FD(BPF_REG_1, kHash), BPF_EMIT_CALL(BPF_FUNC_map_lookup_elem)},
                        kExit0});
    Options o;
    o.privileged = false;
    const VerifyResult r = run_with_lines(p, {{5, 20, "v = bpf_map_lookup_elem(&m, &key);"}}, o);
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "at insn 5: (85) call 1 (bpf_map_lookup_elem)");
    expect_has(s, "source: prog.c:20:");
    expect_has(s, "R2 = fp-8");
    expect_has(s, "hint: initialise the key before the call");
}

TEST(Messages, UnboundedIndexAsksForABound) {
    // value pointer + an unknown 64-bit number from the value itself.
    const Prog p = cat({lookup(kArray),
                        {BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN(),
                         BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_0, 0),   // 9: the index
                         BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1),   // 10
                         BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0),    // 11
                         BPF_EXIT_INSN()}});
    const VerifyResult r = run_with_lines(p, {{9, 30, "idx = v->idx;"}, {10, 31, "return v->bytes[idx];"}});
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "error: the offset in R1 is not bounded");
    expect_has(s, "at insn 10: (0f) add r0, r1");
    expect_has(s, "source: prog.c:31:");
    expect_has(s, "R1 = scalar()");
    expect_has(s, "R1 came from insn 9: ldxdw r1, [r0+0] (prog.c:30: idx = v->idx;)");
    expect_has(s, "hint: bound the index with a mask");
}

TEST(Messages, MapValueOutOfBoundsNamesWhereTheOffsetWasAdded) {
    // idx = *v & 0xff (0..255); v + idx; read 1 byte of a 16-byte value.
    const Prog p = cat({lookup(kArray),
                        {BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2), BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN(),
                         BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_0, 0),   // 9
                         BPF_ALU64_IMM(BPF_AND, BPF_REG_1, 0xff),        // 10
                         BPF_ALU64_REG(BPF_ADD, BPF_REG_0, BPF_REG_1),   // 11
                         BPF_LDX_MEM(BPF_B, BPF_REG_0, BPF_REG_0, 0),    // 12
                         BPF_EXIT_INSN()}});
    const VerifyResult r = run_with_lines(p, {{11, 40, "return v->bytes[idx];"}});
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "error: the 1-byte read at offset up to 255 goes past the end of the 16-byte map value");
    expect_has(s, "at insn 12:");
    expect_has(s, "R0 is the pointer made at insn 5: call 1 (bpf_map_lookup_elem), moved by a variable offset");
    expect_has(s, "its variable offset was added at insn 11: add r0, r1 (prog.c:40: return v->bytes[idx];)");
    expect_has(s, "hint: bound the index so that offset + 1 <= 16");
}

TEST(Messages, LeakedRecordNamesTheReservationAndThePath) {
    const Prog p = {BPF_LD_MAP_FD(BPF_REG_1, kRingbuf), BPF_MOV64_IMM(BPF_REG_2, 8), BPF_MOV64_IMM(BPF_REG_3, 0),
                    BPF_EMIT_CALL(BPF_FUNC_ringbuf_reserve),          // 4
                    BPF_JMP_IMM(BPF_JNE, BPF_REG_0, 0, 2),            // 5
                    BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN(),
                    BPF_MOV64_IMM(BPF_REG_0, 0), BPF_EXIT_INSN()};    // 8-9: leaks
    Options o;
    o.prog_type = BPF_PROG_TYPE_XDP;
    const VerifyResult r = run_with_lines(p, {{0, 50, "e = bpf_ringbuf_reserve(&rb, 8, 0);"},
                                              {5, 51, "if (!e) return 0;"}, {8, 52, "return 0;"}}, o);
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "error: a reserved ring buffer record is neither submitted nor discarded on this path");
    expect_has(s, "at insn 9: (95) exit");
    expect_has(s, "source: prog.c:52: return 0;");
    expect_has(s, "the record was reserved at insn 4: call 131 (bpf_ringbuf_reserve) (prog.c:50:");
    expect_has(s, "this path was decided at insn 5: jne r0, 0, +2 (prog.c:51: if (!e) return 0;)");
    expect_has(s, "hint: release the reference on every path: bpf_ringbuf_submit or bpf_ringbuf_discard");
}

TEST(Messages, EndlessLoopNamesTheLoop) {
    const Prog p = {BPF_MOV64_IMM(BPF_REG_0, 0),
                    BPF_ALU64_IMM(BPF_AND, BPF_REG_0, 1),       // 1: loop head
                    BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, -2),     // 2: back edge
                    BPF_EXIT_INSN()};
    const VerifyResult r = run_with_lines(p, {{1, 60, "while (x == 0)"}, {2, 61, "x &= 1;"}});
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "at insn 1:");
    expect_has(s, "the loop's back edge is insn 2: jeq r0, 0, -2");
    expect_has(s, "the loop is insns 1-2:\n    prog.c:60: while (x == 0)\n    prog.c:61: x &= 1;");
    expect_has(s, "hint: the loop is not provably bounded");
    expect_has(r.log, "infinite loop detected");
}

TEST(Messages, RegisterClearedByACallSaysSo) {
    const Prog p = {BPF_MOV64_IMM(BPF_REG_1, 5), BPF_EMIT_CALL(BPF_FUNC_ktime_get_ns),
                    BPF_MOV64_REG(BPF_REG_0, BPF_REG_1), BPF_EXIT_INSN()};
    const VerifyResult r = run_with_lines(p, {});
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "error: R1 is read before anything was written to it");
    expect_has(s, "R1 was cleared by insn 1: call 5 (bpf_ktime_get_ns) (helper calls overwrite R1-R5)");
    expect_has(s, "hint: keep values needed after a call in R6-R9");
}

TEST(Messages, CombinedStackNamesTheCall) {
    const Prog p = {BPF_ST_MEM(BPF_DW, BPF_REG_10, -320, 0), BPF_CALL_REL(2), BPF_MOV64_IMM(BPF_REG_0, 0),
                    BPF_EXIT_INSN(), BPF_ST_MEM(BPF_DW, BPF_REG_10, -320, 0), BPF_MOV64_IMM(BPF_REG_0, 0),
                    BPF_EXIT_INSN()};
    const VerifyResult r = run_with_lines(p, {{1, 70, "return helper();"}});
    ASSERT_FALSE(r.accepted);
    const std::string s = summary_of(r.log);
    expect_has(s, "error: the frames of a call chain need 640 bytes of stack together");
    expect_has(s, "at insn 1: (85) call local +2");
    expect_has(s, "source: prog.c:70: return helper();");
    expect_has(s, "insn 1 calls the function at insn 4, whose frame adds 320 bytes: 640 in all");
    expect_has(r.log, "combined stack size");
}

TEST(Messages, SummaryIsShortAndComesFirstAtEveryLevel) {
    const Prog p = cat({lookup(kHash), {BPF_LDX_MEM(BPF_DW, BPF_REG_1, BPF_REG_0, 0)}, kExit0});
    for (uint32_t level : {1u, 2u}) {
        Options o;
        o.log_level = level;
        const VerifyResult r = run_with_lines(p, {}, o);
        ASSERT_FALSE(r.accepted);
        EXPECT_EQ(r.log.rfind("error: ", 0), 0u) << r.log;
        const std::string s = summary_of(r.log);
        EXPECT_LE(std::count(s.begin(), s.end(), '\n'), 8) << s;
        EXPECT_EQ(s.find("frame"), std::string::npos) << "no state dump in the summary:\n" << s;
    }
    Options quiet;
    quiet.log_level = 0;
    EXPECT_TRUE(run(p, quiet).log.empty());
}

TEST(Messages, OriginTakesNoPartInStateComparison) {
    RegState a = RegState::scalar(Scalar::constant(3));
    RegState b = a;
    a.origin.insn = 4;
    b.origin.insn = 9;
    EXPECT_EQ(a, b);
}

// ---- the corpus: every rejected program, compiled by clang with BTF ----

// What each rejected program's summary must also say (the origin and the
// hint), as patterns; instruction numbers are left to the compiler.
struct CorpusExpectation {
    const char* origin;  // regex, "" when the rejection is about no register's value
    const char* hint;    // substring, "" when no common fix applies
};

const std::map<std::string, CorpusExpectation>& corpus_expectations() {
    static const std::map<std::string, CorpusExpectation> m = {
        {"tc_deep_stack", {R"(insn \d+ calls the function at insn \d+, whose frame adds \d+ bytes: \d+ in all)",
                           "per-CPU array map"}},
        {"tc_write_hash", {R"(R1 is the program's context argument)", "read-only for sched_cls programs"}},
        {"xdp_short_value", {R"(R3 = fp-\d+)", "a variable of the map's value type (16 bytes)"}},
        {"kp_connect_direct", {R"(R1 came from insn \d+: ldxdw r1, \[r1\+112\])", "bpf_probe_read_kernel"}},
        {"xdp_slot_oob", {R"(R0 is the pointer made at insn \d+: call 1 \(bpf_map_lookup_elem\))",
                          "compare the index with its number of elements"}},
        {"xdp_count_no_null_check", {R"(R0 came from insn \d+: call 1 \(bpf_map_lookup_elem\))",
                                     "add a NULL check after bpf_map_lookup_elem"}},
        {"tc_proto_unchecked", {R"(R1 came from insn \d+: ldxw r1, \[r1\+76\])",
                                "compare the pointer with data_end before reading 24 bytes"}},
        {"xdp_arith_before_check", {R"(R0 came from insn \d+: call 1 \(bpf_map_lookup_elem\))",
                                    "add a NULL check after bpf_map_lookup_elem"}},
        {"xdp_retry_insert", {R"(the loop's back edge is insn \d+)", "the loop is not provably bounded"}},
        {"tp_exec_leak", {R"(the record was reserved at insn \d+: call 131 \(bpf_ringbuf_reserve\))",
                          "bpf_ringbuf_submit or bpf_ringbuf_discard"}},
        {"xdp_short_check", {R"(R2 is the pointer made at insn \d+: ldxw r\d, \[r1\+0\] .*, moved by 36)",
                             "compare the pointer with data_end before reading 38 bytes"}},
        {"tp_openat_common_pid", {R"(R1 is the program's context argument)", "bpf_get_current_pid_tgid()"}},
    };
    return m;
}

std::vector<corpus::CorpusEntry> rejected_corpus_programs() {
    std::vector<corpus::CorpusEntry> out;
    try {
        for (corpus::CorpusEntry& e : corpus::load_corpus_manifest())
            if (e.verdict == corpus::Verdict::Reject && e.category == "reject") out.push_back(std::move(e));
    } catch (const std::exception&) {
    }
    return out;
}

class CorpusMessage : public ::testing::TestWithParam<corpus::CorpusEntry> {};

TEST_P(CorpusMessage, NamesCauseInstructionSourceOriginAndHint) {
    const corpus::CorpusEntry& e = GetParam();
    const auto path = corpus::corpus_object_path(e);
    if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is not built (ninja corpus_objects)";
    auto obj = ObjectFile::open(path.string());
    ASSERT_TRUE(obj) << obj.error().message;
    const ObjectProgram* prog = obj->find_program(e.program);
    ASSERT_NE(prog, nullptr) << e.program;
    ObjectVerifyOptions opt;
    opt.prog_type = e.prog_type_id;
    opt.log_level = 1;
    auto v = obj->verify(*prog, opt);
    ASSERT_TRUE(v) << v.error().message;
    ASSERT_FALSE(v->accepted) << "the kernel rejects " << e.program;
    const std::string s = summary_of(v->log);

    // The root cause, in the words the corpus expects, in the summary.
    EXPECT_EQ(s.rfind("error: ", 0), 0u) << v->log;
    expect_has(s, e.expect_message);
    // The instruction, with its disassembly.
    std::smatch at;
    ASSERT_TRUE(std::regex_search(s, at, std::regex(R"(at insn (\d+): \([0-9a-f]{2}\) \S)"))) << s;
    // The C source line of the fault. Where the compiler kept no instruction
    // of that line (a `return` merged into the shared exit), the summary
    // names the branch that chose the path, at most 3 lines above it.
    const std::string file = e.source;
    bool line_has_insn = false;
    for (const SourceLine& l : prog->line_info) line_has_insn |= static_cast<int>(l.line) == e.source_line;
    if (line_has_insn) {
        expect_has(s, fmt::format("{}:{}:", file, e.source_line));
    } else {
        bool near = false;
        for (int l = e.source_line - 3; l < e.source_line; ++l)
            near |= s.find(fmt::format("{}:{}:", file, l)) != std::string::npos;
        EXPECT_TRUE(near) << "no instruction has line " << e.source_line << ", and no line just above it is named:\n" << s;
    }
    // Where the value came from, and the hint.
    const auto it = corpus_expectations().find(e.program);
    ASSERT_NE(it, corpus_expectations().end()) << "add the expected origin and hint of " << e.program;
    if (*it->second.origin) {
        EXPECT_TRUE(std::regex_search(s, std::regex(it->second.origin))) << it->second.origin << "\n" << s;
    }
    if (*it->second.hint) {
        expect_has(s, "hint: ");
        expect_has(s, it->second.hint);
    }
}

std::string corpus_name(const ::testing::TestParamInfo<corpus::CorpusEntry>& info) { return info.param.program; }

INSTANTIATE_TEST_SUITE_P(Rejected, CorpusMessage, ::testing::ValuesIn(rejected_corpus_programs()), corpus_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(CorpusMessage);

}  // namespace
}  // namespace bpfrt::verifier::testing
