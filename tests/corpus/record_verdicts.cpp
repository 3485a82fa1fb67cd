// record_verdicts: loads every program of the corpus into the host kernel and
// writes the kernel's verdicts to verdicts.json (run as root; see README.md).
//
//   record_verdicts OBJECT_DIR SOURCE_DIR OUTPUT.json [--runs N]
#include "corpus.hpp"
#include "corpus_kernel.hpp"

#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace bpfrt::corpus;

namespace {

// What a source file says about itself in `// bpfrt-corpus:` comments.
struct SourceNotes {
    std::string category = "misc";
    std::string mcpu;
    bool reject = false;
    std::string expect_message;
    int fault_line = 0;
};

// The word after `key=` on a `bpfrt-corpus:` line ("" when absent).
std::string note_value(const std::string& line, const std::string& key) {
    const size_t at = line.find(key + "=");
    if (at == std::string::npos) return {};
    size_t start = at + key.size() + 1, end = start;
    if (start < line.size() && line[start] == '"') {
        end = line.find('"', ++start);
        return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    }
    while (end < line.size() && (std::isalnum(static_cast<unsigned char>(line[end])) || line[end] == '_')) ++end;
    return line.substr(start, end - start);
}

SourceNotes read_notes(const fs::path& source) {
    SourceNotes notes;
    std::ifstream in(source);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (line.find("bpfrt-corpus:") == std::string::npos) continue;
        if (std::string v = note_value(line, "category"); !v.empty()) notes.category = v;
        if (std::string v = note_value(line, "mcpu"); !v.empty()) notes.mcpu = v;
        if (line.find("bpfrt-corpus: reject") != std::string::npos) {
            notes.reject = true;
            notes.expect_message = note_value(line, "expect_message");
        }
        if (line.find("bpfrt-corpus: fault") != std::string::npos) notes.fault_line = number;
    }
    return notes;
}

std::vector<std::string> log_tail(const std::string& log, size_t count) {
    std::vector<std::string> lines;
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(line);
    if (lines.size() > count) lines.erase(lines.begin(), lines.end() - static_cast<long>(count));
    return lines;
}

std::string header_json(int runs) {
    utsname u{};
    uname(&u);
    std::ostringstream h;
    h << "{\"kernel\": \"" << u.release << "\", \"libbpf\": \"" << libbpf_major_version() << "."
      << libbpf_minor_version() << "\", \"compiler\": \"" << BPFRT_CORPUS_CLANG_VERSION
      << "\", \"load_time\": \"median wall time of " << runs
      << " BPF_PROG_LOAD calls with log_level 0, same attributes as the verdict load\"}";
    return h.str();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: record_verdicts OBJECT_DIR SOURCE_DIR OUTPUT.json [--runs N]\n";
        return 2;
    }
    const fs::path object_dir = argv[1], source_dir = argv[2], output = argv[3];
    int runs = 5;
    if (argc == 6 && std::string(argv[4]) == "--runs") runs = std::max(1, std::atoi(argv[5]));

    std::string why;
    if (!kernel_bpf_permitted(why)) {
        std::cerr << "record_verdicts: " << why << "\n";
        return 1;
    }
    std::vector<fs::path> objects;
    for (const auto& item : fs::directory_iterator(object_dir))
        if (item.path().extension() == ".o") objects.push_back(item.path());
    std::sort(objects.begin(), objects.end());

    std::vector<CorpusEntry> entries;
    int problems = 0;
    for (const fs::path& object : objects) {
        const fs::path source = source_dir / object.filename().replace_extension(".c");
        const SourceNotes notes = read_notes(source);
        std::string error;
        for (const ObjectProgram& p : list_object_programs(object, error)) {
            KernelLoad load = kernel_load_program(object, p.program, runs);
            if (!load.problem.empty()) {
                std::cerr << object.filename().string() << " " << p.program << ": " << load.problem << "\n";
                ++problems;
                continue;
            }
            CorpusEntry e;
            e.object = object.filename().string();
            e.source = source.filename().string();
            e.program = p.program;
            e.section = p.section;
            e.prog_type_id = p.prog_type_id;
            e.prog_type = prog_type_name(p.prog_type_id);
            e.expected_attach_type = p.expected_attach_type;
            e.category = notes.category;
            e.mcpu = notes.mcpu;
            e.legacy_maps = p.legacy_maps;
            e.verdict = load.accepted ? Verdict::Accept : Verdict::Reject;
            e.insn_count = load.insn_count;
            e.verified_insns = load.verified_insns;
            e.load_time_ns = load.load_time_ns;
            if (!load.accepted) {
                e.kernel_errno = load.error;
                e.kernel_log_tail = log_tail(load.log, 12);
                e.expect_message = notes.expect_message;
                e.source_line = notes.fault_line;
            }
            if (notes.reject == load.accepted) {
                std::cerr << e.object << " " << e.program << ": the source says "
                          << (notes.reject ? "REJECT" : "ACCEPT") << " but the kernel says "
                          << verdict_name(e.verdict) << "\n";
                if (!load.accepted)
                    for (const std::string& l : log_tail(load.log, 6)) std::cerr << "    " << l << "\n";
                ++problems;
            }
            std::printf("%-34s %-28s %-14s %s insns=%u verified=%u time_us=%.1f\n", e.object.c_str(),
                        e.program.c_str(), e.prog_type.c_str(), verdict_name(e.verdict), e.insn_count,
                        e.verified_insns, static_cast<double>(e.load_time_ns) / 1000.0);
            entries.push_back(std::move(e));
        }
        if (!error.empty()) {
            std::cerr << error << "\n";
            ++problems;
        }
    }
    std::ofstream out(output);
    out << entries_to_json(entries, header_json(runs));
    std::printf("%zu programs recorded in %s; %d problem(s)\n", entries.size(), output.c_str(), problems);
    return problems == 0 ? 0 : 1;
}
