// Verifier test cases in the readable format of tests/verifier/README.md:
// one file per topic under tests/verifier/cases/, many cases per file.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bpfrt::vtest {

// One map the case's program refers to by handle (0, 1, ... in order).
struct MapSpec {
    std::string type_name;  // as written: hash, array, prog_array, ...
    uint32_t type = 0;      // BPF_MAP_TYPE_*
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t flags = 0;     // BPF_F_* (rdonly_prog, wronly_prog, no_prealloc)
    // array_of_maps / hash_of_maps: the inner map (`inner TYPE K V N [FLAGS]`),
    // created first and stored at key 0 where the test runs programs.
    std::shared_ptr<const MapSpec> inner{};
};

enum class Verdict { Accept, Reject };

struct Expectation {
    Verdict verdict = Verdict::Accept;
    int error = 0;          // errno the load must fail with (0 = not checked)
    std::string substring;  // must appear in the log or message of a rejection
};

struct Case {
    std::string file;  // topic file name, e.g. "stack.txt"
    int line = 0;      // line of the "==" header
    std::string name;  // as written after "=="
    std::string id;    // unique test name: <topic>_<name> with [A-Za-z0-9_]
    std::string prog_type_name = "socket_filter";
    uint32_t prog_type = 0;
    bool privileged = true;
    std::string license = "GPL";
    std::vector<MapSpec> maps;
    Expectation expect;
    // A documented, deliberate difference from the kernel: its verdict (and
    // why we differ). Unset: the kernel must agree with `expect`.
    std::optional<Verdict> kernel;
    std::string why;
    // Substring of the kernel's log where its wording differs from ours
    // (default: expect.substring must appear in the kernel's log too).
    std::optional<std::string> kernel_log;
    // The program: assembly text (`.rep N insn` lines are expanded when built).
    std::string asm_text;
    // Set when the case could not be parsed: the test reports it as a failure.
    std::string parse_error;
};

// Parses one case file. Syntax errors become cases with parse_error set, so
// that a broken file fails loudly instead of silently losing cases.
std::vector<Case> parse_case_file(const std::string& text, const std::string& file_name);

// Every *.txt under `dir`, in file-name order.
std::vector<Case> load_case_dir(const std::filesystem::path& dir);

// The program's instructions; map_fd handles stay handles (see patch_map_handles).
Result<std::vector<bpf_insn>> build_program(const Case& c);

// Replaces the handle in every lddw with src BPF_PSEUDO_MAP_FD/VALUE by
// fds[handle]; handles out of range become `invalid_fd`.
void patch_map_handles(std::vector<bpf_insn>& insns, const std::vector<int>& fds, int invalid_fd);

// Every case of tests/verifier/cases (loaded once).
const std::vector<Case>& all_cases();

std::string verdict_name(Verdict v);

}  // namespace bpfrt::vtest
