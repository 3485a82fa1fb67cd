// The corpus of realistic restricted-C eBPF programs (tests/corpus/progs) and
// the host kernel's recorded verdict on each (tests/corpus/verdicts.json).
//
// One entry per program (a function in an object's program section). The
// manifest is read at run time, so a verifier test can compare its own
// verdict on corpus_object_path(entry) with entry.verdict without bpf().
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace bpfrt::corpus {

enum class Verdict { Accept, Reject };

struct CorpusEntry {
    std::string object;        // object file name in the object directory, "xdp_lb_maglev.o"
    std::string source;        // C source, relative to tests/corpus/progs
    std::string program;       // the program's function name
    std::string section;       // its ELF section, "xdp", "tracepoint/sched/sched_switch", ...
    std::string prog_type;     // libbpf's name of the program type, "xdp", "sched_cls", ...
    uint32_t prog_type_id = 0; // BPF_PROG_TYPE_*
    uint32_t expected_attach_type = 0;  // BPF_* attach type the section implies
    std::string category;      // "lb", "parser", "tracing", "reject", ...
    std::string mcpu;          // clang -mcpu, "" for the default (v1)
    bool legacy_maps = false;  // maps defined with struct bpf_map_def SEC("maps")
    Verdict verdict = Verdict::Accept;  // the host kernel's verdict
    uint32_t insn_count = 0;      // instructions loaded (with subprograms, after relocation)
    uint32_t verified_insns = 0;  // the kernel's processed instruction count
    uint64_t load_time_ns = 0;    // wall time of BPF_PROG_LOAD here (median), 0 when rejected
    int kernel_errno = 0;         // errno of a rejected load
    std::vector<std::string> kernel_log_tail;  // last lines of the kernel's log when rejected
    // For rejected programs: a substring a good verifier's message should
    // contain (plain words such as "NULL", "data_end"), and the C source line
    // of the faulty instruction.
    std::string expect_message;
    int source_line = 0;
};

// Reads tests/corpus/verdicts.json (or `manifest` when given). Throws
// std::runtime_error with the file and the reason when it cannot be read.
std::vector<CorpusEntry> load_corpus_manifest();
std::vector<CorpusEntry> load_corpus_manifest(const std::filesystem::path& manifest);

// Where the build put the compiled objects, and an entry's object/source.
std::filesystem::path corpus_object_dir();
std::filesystem::path corpus_manifest_path();
std::filesystem::path corpus_object_path(const CorpusEntry& entry);
std::filesystem::path corpus_source_path(const CorpusEntry& entry);

const char* verdict_name(Verdict verdict);  // "ACCEPT" / "REJECT"

// JSON text of one entry / parse of one entry; used by the recorder.
std::string entries_to_json(const std::vector<CorpusEntry>& entries, const std::string& header_json);

}  // namespace bpfrt::corpus
