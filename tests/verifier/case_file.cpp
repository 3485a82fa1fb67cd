// Parser of the verifier case format (see README.md in this folder).
#include "case_file.hpp"

#include <bpfrt/asm.hpp>

#include "kernel_oracle.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace bpfrt::vtest {
namespace {

struct NamedValue {
    const char* name;
    uint32_t value;
};

// Program types the cases may name (the kernel's BPF_PROG_TYPE_* values).
constexpr NamedValue kProgTypes[] = {
    {"socket_filter", BPF_PROG_TYPE_SOCKET_FILTER},
    {"kprobe", BPF_PROG_TYPE_KPROBE},
    {"sched_cls", BPF_PROG_TYPE_SCHED_CLS},
    {"sched_act", BPF_PROG_TYPE_SCHED_ACT},
    {"tracepoint", BPF_PROG_TYPE_TRACEPOINT},
    {"xdp", BPF_PROG_TYPE_XDP},
    {"perf_event", BPF_PROG_TYPE_PERF_EVENT},
    {"cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB},
    {"lwt_in", BPF_PROG_TYPE_LWT_IN},
    {"lwt_out", BPF_PROG_TYPE_LWT_OUT},
    {"lwt_xmit", BPF_PROG_TYPE_LWT_XMIT},
    {"sk_skb", BPF_PROG_TYPE_SK_SKB},
    {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT},
};

constexpr NamedValue kMapTypes[] = {
    {"hash", BPF_MAP_TYPE_HASH},
    {"array", BPF_MAP_TYPE_ARRAY},
    {"prog_array", BPF_MAP_TYPE_PROG_ARRAY},
    {"percpu_hash", BPF_MAP_TYPE_PERCPU_HASH},
    {"percpu_array", BPF_MAP_TYPE_PERCPU_ARRAY},
    {"lru_hash", BPF_MAP_TYPE_LRU_HASH},
    {"queue", BPF_MAP_TYPE_QUEUE},
    {"stack", BPF_MAP_TYPE_STACK},
    {"ringbuf", BPF_MAP_TYPE_RINGBUF},
    {"perf_event_array", BPF_MAP_TYPE_PERF_EVENT_ARRAY},
    {"array_of_maps", BPF_MAP_TYPE_ARRAY_OF_MAPS},
    {"hash_of_maps", BPF_MAP_TYPE_HASH_OF_MAPS},
    {"cpumap", BPF_MAP_TYPE_CPUMAP},
};

constexpr NamedValue kMapFlags[] = {
    {"no_prealloc", BPF_F_NO_PREALLOC},
    {"rdonly_prog", BPF_F_RDONLY_PROG},
    {"wronly_prog", BPF_F_WRONLY_PROG},
};

template <size_t N>
std::optional<uint32_t> lookup(const NamedValue (&table)[N], std::string_view name) {
    for (const auto& entry : table) {
        if (name == entry.name) return entry.value;
    }
    return std::nullopt;
}

std::string trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string_view::npos) return {};
    size_t e = s.find_last_not_of(" \t\r");
    return std::string(s.substr(b, e - b + 1));
}

// Removes a trailing "# comment" (outside double quotes).
std::string strip_comment(std::string_view s) {
    bool quoted = false;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '"') quoted = !quoted;
        if (s[i] == '#' && !quoted) return trim(s.substr(0, i));
    }
    return trim(s);
}

std::vector<std::string> split_words(std::string_view s) {
    std::vector<std::string> words;
    std::istringstream in{std::string(s)};
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

std::optional<uint64_t> parse_uint(std::string_view s) {
    uint64_t v = 0;
    int base = 10;
    if (s.starts_with("0x") || s.starts_with("0X")) {
        s.remove_prefix(2);
        base = 16;
    }
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

std::string make_id(const std::string& file, const std::string& name) {
    std::string stem = std::filesystem::path(file).stem().string();
    std::string id;
    for (char ch : stem + "_" + name) {
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (alnum) {
            id += ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
        } else if (!id.empty() && id.back() != '_') {
            id += '_';
        }
    }
    while (!id.empty() && id.back() == '_') id.pop_back();
    return id;
}

// `REJECT [ERRNO] ["substring"]` or `ACCEPT`.
Result<Expectation> parse_expectation(std::string_view value) {
    Expectation e;
    std::string text = trim(value);
    std::string quoted;
    size_t q = text.find('"');
    if (q != std::string::npos) {
        size_t q2 = text.rfind('"');
        if (q2 == q) return fail(EINVAL, "unterminated \"substring\"");
        quoted = text.substr(q + 1, q2 - q - 1);
        if (!trim(text.substr(q2 + 1)).empty()) return fail(EINVAL, "text after the \"substring\"");
        text = trim(text.substr(0, q));
    }
    auto words = split_words(text);
    if (words.empty()) return fail(EINVAL, "expected ACCEPT or REJECT");
    if (words[0] == "ACCEPT") {
        if (words.size() > 1 || !quoted.empty()) return fail(EINVAL, "ACCEPT takes no arguments");
        return e;
    }
    if (words[0] != "REJECT") return fail(EINVAL, "expected ACCEPT or REJECT, got '" + words[0] + "'");
    e.verdict = Verdict::Reject;
    e.substring = quoted;
    if (words.size() > 2) return fail(EINVAL, "REJECT [ERRNO] [\"substring\"]");
    if (words.size() == 2) {
        e.error = kernel::errno_from_name(words[1]);
        if (e.error == 0) return fail(EINVAL, "unknown errno name '" + words[1] + "'");
    }
    return e;
}

Result<MapSpec> parse_map_words(std::vector<std::string> words);

Result<MapSpec> parse_map(std::string_view value) { return parse_map_words(split_words(value)); }

Result<MapSpec> parse_map_words(std::vector<std::string> words) {
    if (words.size() < 4)
        return fail(EINVAL, "map: TYPE KEY_SIZE VALUE_SIZE MAX_ENTRIES [FLAGS...] [inner TYPE KEY VALUE MAX [FLAGS...]]");
    const auto inner_at = std::find(words.begin(), words.end(), "inner");
    std::shared_ptr<const MapSpec> inner;
    if (inner_at != words.end()) {
        auto m = parse_map_words(std::vector<std::string>(inner_at + 1, words.end()));
        if (!m) return std::unexpected(m.error());
        if (m->inner) return fail(EINVAL, "an inner map cannot have an inner map");
        inner = std::make_shared<const MapSpec>(std::move(*m));
        words.erase(inner_at, words.end());
        if (words.size() < 4) return fail(EINVAL, "map: TYPE KEY_SIZE VALUE_SIZE MAX_ENTRIES before 'inner'");
    }
    MapSpec m;
    m.type_name = words[0];
    auto type = lookup(kMapTypes, words[0]);
    if (!type) return fail(EINVAL, "unknown map type '" + words[0] + "'");
    m.type = *type;
    uint32_t* fields[] = {&m.key_size, &m.value_size, &m.max_entries};
    for (size_t i = 0; i < 3; ++i) {
        auto v = parse_uint(words[i + 1]);
        if (!v || *v > UINT32_MAX) return fail(EINVAL, "bad number '" + words[i + 1] + "'");
        *fields[i] = static_cast<uint32_t>(*v);
    }
    for (size_t i = 4; i < words.size(); ++i) {
        auto flag = lookup(kMapFlags, words[i]);
        if (!flag) return fail(EINVAL, "unknown map flag '" + words[i] + "'");
        m.flags |= *flag;
    }
    m.inner = std::move(inner);
    const bool holds_maps = m.type == BPF_MAP_TYPE_ARRAY_OF_MAPS || m.type == BPF_MAP_TYPE_HASH_OF_MAPS;
    if (holds_maps != (m.inner != nullptr)) return fail(EINVAL, "array_of_maps and hash_of_maps (only) need 'inner ...'");
    return m;
}

// `.rep N instruction` repeats one line N times (for size-limit cases).
Result<std::string> expand_repeats(const std::string& text) {
    std::string out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::string t = trim(line);
        if (!t.starts_with(".rep ")) {
            out += line + "\n";
            continue;
        }
        auto words = split_words(t);
        auto n = words.size() >= 3 ? parse_uint(words[1]) : std::nullopt;
        if (!n || *n > 2'000'000) return fail(EINVAL, ".rep N INSTRUCTION (N <= 2000000)");
        std::string body = trim(std::string_view(t).substr(t.find(words[1]) + words[1].size()));
        body += "\n";
        out.reserve(out.size() + body.size() * *n);
        for (uint64_t i = 0; i < *n; ++i) out += body;
    }
    return out;
}

class Parser {
public:
    Parser(const std::string& file) : file_(file) {}

    std::vector<Case> run(const std::string& text) {
        std::istringstream in(text);
        int lineno = 0;
        for (std::string line; std::getline(in, line);) {
            ++lineno;
            handle(line, lineno);
        }
        finish();
        return std::move(cases_);
    }

private:
    enum class Section { Header, Asm };

    void handle(const std::string& line, int lineno) {
        if (line.starts_with("==")) {
            finish();
            cur_ = Case{};
            cur_->file = file_;
            cur_->line = lineno;
            cur_->name = trim(std::string_view(line).substr(2));
            cur_->id = make_id(file_, cur_->name);
            section_ = Section::Header;
            body_.clear();
            return;
        }
        if (!cur_) {
            std::string t = strip_comment(line);
            if (!t.empty()) error_at(lineno, "text before the first '== name' line");
            return;
        }
        if (line.starts_with("-- ")) {
            std::string kind = trim(std::string_view(line).substr(3));
            if (kind == "asm") {
                section_ = Section::Asm;
            } else {
                error_at(lineno, "unknown section '-- " + kind + "'");
            }
            return;
        }
        if (section_ == Section::Asm) {
            body_ += line + "\n";
        } else {
            header_line(line, lineno);
        }
    }

    void header_line(const std::string& raw_line, int lineno) {
        std::string line = strip_comment(raw_line);
        if (line.empty()) return;
        size_t colon = line.find(':');
        if (colon == std::string::npos) return error_at(lineno, "expected 'key: value'");
        std::string key = trim(std::string_view(line).substr(0, colon));
        std::string value = trim(std::string_view(line).substr(colon + 1));
        Case& c = *cur_;
        if (key == "type") {
            auto t = lookup(kProgTypes, value);
            if (!t) return error_at(lineno, "unknown program type '" + value + "'");
            c.prog_type_name = value;
            c.prog_type = *t;
        } else if (key == "priv") {
            if (value != "privileged" && value != "unprivileged") {
                return error_at(lineno, "priv: privileged or unprivileged");
            }
            c.privileged = value == "privileged";
        } else if (key == "license") {
            if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
                return error_at(lineno, "license: \"STRING\"");
            }
            c.license = value.substr(1, value.size() - 2);
        } else if (key == "map") {
            auto m = parse_map(value);
            if (!m) return error_at(lineno, m.error().message);
            c.maps.push_back(*m);
        } else if (key == "expect") {
            auto e = parse_expectation(value);
            if (!e) return error_at(lineno, e.error().message);
            c.expect = *e;
            have_expect_ = true;
        } else if (key == "kernel") {
            if (value != "ACCEPT" && value != "REJECT") return error_at(lineno, "kernel: ACCEPT or REJECT");
            c.kernel = value == "ACCEPT" ? Verdict::Accept : Verdict::Reject;
        } else if (key == "why") {
            c.why = value;
        } else if (key == "klog") {
            if (value.size() < 2 || value.front() != '"' || value.back() != '"') {
                return error_at(lineno, "klog: \"SUBSTRING\"");
            }
            c.kernel_log = value.substr(1, value.size() - 2);
        } else {
            error_at(lineno, "unknown key '" + key + "'");
        }
    }

    void finish() {
        if (!cur_) return;
        Case& c = *cur_;
        if (c.parse_error.empty()) {
            if (!have_expect_) c.parse_error = "missing 'expect:'";
            else if (c.kernel && c.why.empty()) c.parse_error = "'kernel:' needs a 'why:' line";
            else if (c.kernel && *c.kernel == c.expect.verdict) c.parse_error = "'kernel:' equals 'expect:'";
            else if (c.name.empty()) c.parse_error = "case without a name";
            else if (!ids_.insert(c.id).second) {
                c.parse_error = "duplicate case name (id " + c.id + ")";
                c.id += "_dup" + std::to_string(c.line);  // test names must stay unique
            }
            else if (trim(body_).empty()) c.parse_error = "no program";
        }
        if (c.prog_type == 0) c.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
        c.asm_text = body_;
        if (!c.parse_error.empty()) {
            c.parse_error = file_ + ":" + std::to_string(c.line) + ": " + c.parse_error;
        }
        cases_.push_back(std::move(c));
        cur_.reset();
        have_expect_ = false;
    }

    void error_at(int lineno, const std::string& message) {
        if (!cur_) {
            Case c;
            c.file = file_;
            c.line = lineno;
            c.name = "syntax error at line " + std::to_string(lineno);
            c.id = make_id(file_, c.name);
            c.parse_error = file_ + ":" + std::to_string(lineno) + ": " + message;
            cases_.push_back(std::move(c));
            return;
        }
        if (cur_->parse_error.empty()) {
            cur_->parse_error = "line " + std::to_string(lineno) + ": " + message;
        }
    }

    std::string file_;
    std::vector<Case> cases_;
    std::optional<Case> cur_;
    Section section_ = Section::Header;
    std::string body_;
    bool have_expect_ = false;
    std::set<std::string> ids_;
};

}  // namespace

std::vector<Case> parse_case_file(const std::string& text, const std::string& file_name) {
    return Parser(file_name).run(text);
}

std::vector<Case> load_case_dir(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.path().extension() == ".txt") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<Case> all;
    std::set<std::string> ids;
    for (const auto& path : files) {
        std::ifstream in(path);
        std::stringstream text;
        text << in.rdbuf();
        for (auto& c : parse_case_file(text.str(), path.filename().string())) {
            if (!ids.insert(c.id).second && c.parse_error.empty()) {
                c.parse_error = c.file + ":" + std::to_string(c.line) + ": duplicate id " + c.id;
                c.id += "_dup" + std::to_string(c.line);
            }
            all.push_back(std::move(c));
        }
    }
    return all;
}

Result<std::vector<bpf_insn>> build_program(const Case& c) {
    auto text = expand_repeats(c.asm_text);
    if (!text) return std::unexpected(text.error());
    return isa::assemble(*text);
}

const std::vector<Case>& all_cases() {
    static const std::vector<Case> cases = load_case_dir(BPFRT_VTEST_CASE_DIR);
    return cases;
}

void patch_map_handles(std::vector<bpf_insn>& insns, const std::vector<int>& fds, int invalid_fd) {
    for (size_t i = 0; i + 1 < insns.size(); ++i) {
        bpf_insn& insn = insns[i];
        if (insn.code != (BPF_LD | BPF_DW | BPF_IMM)) continue;
        if (insn.src_reg == BPF_PSEUDO_MAP_FD || insn.src_reg == BPF_PSEUDO_MAP_VALUE) {
            size_t handle = static_cast<uint32_t>(insn.imm);
            insn.imm = handle < fds.size() ? fds[handle] : invalid_fd;
        }
        ++i;  // skip the second slot
    }
}

std::string verdict_name(Verdict v) { return v == Verdict::Accept ? "ACCEPT" : "REJECT"; }

}  // namespace bpfrt::vtest
