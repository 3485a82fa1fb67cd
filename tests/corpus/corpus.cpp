#include "corpus.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace bpfrt::corpus {
namespace {

using nlohmann::json;

Verdict parse_verdict(const std::string& text, const std::string& where) {
    if (text == "ACCEPT") return Verdict::Accept;
    if (text == "REJECT") return Verdict::Reject;
    throw std::runtime_error(where + ": verdict must be ACCEPT or REJECT, not '" + text + "'");
}

CorpusEntry entry_from_json(const json& j, const std::string& where) {
    CorpusEntry e;
    e.object = j.at("object").get<std::string>();
    e.source = j.at("source").get<std::string>();
    e.program = j.at("program").get<std::string>();
    e.section = j.at("section").get<std::string>();
    e.prog_type = j.at("prog_type").get<std::string>();
    e.prog_type_id = j.at("prog_type_id").get<uint32_t>();
    e.expected_attach_type = j.value("expected_attach_type", 0u);
    e.category = j.value("category", std::string{});
    e.mcpu = j.value("mcpu", std::string{});
    e.legacy_maps = j.value("legacy_maps", false);
    e.verdict = parse_verdict(j.at("verdict").get<std::string>(), where);
    e.insn_count = j.value("insn_count", 0u);
    e.verified_insns = j.value("verified_insns", 0u);
    e.load_time_ns = j.value("load_time_ns", uint64_t{0});
    e.kernel_errno = j.value("kernel_errno", 0);
    e.kernel_log_tail = j.value("kernel_log_tail", std::vector<std::string>{});
    e.expect_message = j.value("expect_message", std::string{});
    e.source_line = j.value("source_line", 0);
    return e;
}

json entry_to_json(const CorpusEntry& e) {
    json j = {
        {"object", e.object},
        {"source", e.source},
        {"program", e.program},
        {"section", e.section},
        {"prog_type", e.prog_type},
        {"prog_type_id", e.prog_type_id},
        {"expected_attach_type", e.expected_attach_type},
        {"category", e.category},
        {"mcpu", e.mcpu},
        {"legacy_maps", e.legacy_maps},
        {"verdict", verdict_name(e.verdict)},
        {"insn_count", e.insn_count},
        {"verified_insns", e.verified_insns},
        {"load_time_ns", e.load_time_ns},
    };
    if (e.verdict == Verdict::Reject) {
        j["kernel_errno"] = e.kernel_errno;
        j["kernel_log_tail"] = e.kernel_log_tail;
        j["expect_message"] = e.expect_message;
        j["source_line"] = e.source_line;
    }
    return j;
}

}  // namespace

const char* verdict_name(Verdict verdict) {
    return verdict == Verdict::Accept ? "ACCEPT" : "REJECT";
}

std::filesystem::path corpus_object_dir() { return BPFRT_CORPUS_OBJECT_DIR; }
std::filesystem::path corpus_manifest_path() { return BPFRT_CORPUS_MANIFEST; }

std::filesystem::path corpus_object_path(const CorpusEntry& entry) {
    return corpus_object_dir() / entry.object;
}

std::filesystem::path corpus_source_path(const CorpusEntry& entry) {
    return std::filesystem::path(BPFRT_CORPUS_SOURCE_DIR) / entry.source;
}

std::vector<CorpusEntry> load_corpus_manifest() { return load_corpus_manifest(corpus_manifest_path()); }

std::vector<CorpusEntry> load_corpus_manifest(const std::filesystem::path& manifest) {
    std::ifstream in(manifest);
    if (!in) throw std::runtime_error(manifest.string() + ": cannot open the corpus manifest");
    json doc;
    try {
        doc = json::parse(in);
    } catch (const json::exception& ex) {
        throw std::runtime_error(manifest.string() + ": not valid JSON: " + ex.what());
    }
    std::vector<CorpusEntry> entries;
    try {
        for (const json& j : doc.at("programs")) {
            std::string where = manifest.string() + ": program #" + std::to_string(entries.size());
            entries.push_back(entry_from_json(j, where));
        }
    } catch (const json::exception& ex) {
        throw std::runtime_error(manifest.string() + ": malformed entry: " + ex.what());
    }
    return entries;
}

std::string entries_to_json(const std::vector<CorpusEntry>& entries, const std::string& header_json) {
    json doc = header_json.empty() ? json::object() : json::parse(header_json);
    json programs = json::array();
    for (const CorpusEntry& e : entries) programs.push_back(entry_to_json(e));
    doc["programs"] = std::move(programs);
    return doc.dump(1) + "\n";
}

}  // namespace bpfrt::corpus
