#include "support/conformance_data.hpp"

#include "isa/asm_syntax.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <string_view>

namespace {

enum class Section { None, Asm, Mem, Result, Raw, Error, Ignored };

Section section_of(std::string_view name) {
    if (name == "asm") return Section::Asm;
    if (name == "mem") return Section::Mem;
    if (name == "result") return Section::Result;
    if (name == "raw") return Section::Raw;
    if (name == "error") return Section::Error;
    return Section::Ignored;  // "-- c", "-- no register offset" and anything newer
}

std::string_view trim(std::string_view s) {
    const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && space(s.front())) s.remove_prefix(1);
    while (!s.empty() && space(s.back())) s.remove_suffix(1);
    return s;
}

std::string_view strip_comment(std::string_view line) { return line.substr(0, line.find('#')); }

// 0x-hex or decimal (a leading '-' wraps, as in two's complement).
std::optional<uint64_t> parse_u64(std::string_view s) {
    const bool negative = s.starts_with('-');
    if (negative) s.remove_prefix(1);
    int base = 10;
    if (s.starts_with("0x") || s.starts_with("0X")) {
        base = 16;
        s.remove_prefix(2);
    }
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return negative ? 0 - v : v;
}

class Reader {
public:
    Reader(std::string file, std::string name) : file_(std::move(file)) { case_.name = std::move(name); }

    bpfrt::Result<void> line(std::string_view text) {
        ++line_;
        if (text.starts_with("--")) {
            section_ = section_of(trim(text.substr(2)));
            if (section_ == Section::Error) case_.error.emplace();
            if (section_ == Section::Raw && !case_.raw) case_.raw.emplace();
            return {};
        }
        switch (section_) {
            case Section::Asm: case_.asm_text.append(text).push_back('\n'); return {};
            case Section::Mem: return mem(trim(strip_comment(text)));
            case Section::Result: return result(trim(strip_comment(text)));
            case Section::Raw: return raw(trim(strip_comment(text)));
            case Section::Error: return error(trim(text));
            case Section::None:
            case Section::Ignored: return {};
        }
        return {};
    }

    ConformanceCase take() {
        if (case_.error) *case_.error = std::string(trim(*case_.error));
        return std::move(case_);
    }

private:
    std::unexpected<bpfrt::Error> bad(std::string what) const {
        return bpfrt::fail(EINVAL, fmt::format("{}:{}: {}", file_, line_, what));
    }

    bpfrt::Result<void> mem(std::string_view text) {
        while (!text.empty()) {
            const size_t end = std::min(text.find_first_of(" \t"), text.size());
            const std::string_view byte = text.substr(0, end);
            uint8_t v = 0;
            const auto [p, ec] = std::from_chars(byte.data(), byte.data() + byte.size(), v, 16);
            if (byte.size() > 2 || ec != std::errc{} || p != byte.data() + byte.size())
                return bad(fmt::format("bad byte '{}' in -- mem", byte));
            case_.mem.push_back(v);
            text = trim(text.substr(end));
        }
        return {};
    }

    bpfrt::Result<void> result(std::string_view text) {
        if (text.empty()) return {};
        if (case_.result) return bad("more than one value in -- result");
        const auto v = parse_u64(text);
        if (!v) return bad(fmt::format("bad value '{}' in -- result", text));
        case_.result = *v;
        return {};
    }

    bpfrt::Result<void> raw(std::string_view text) {
        if (text.empty()) return {};
        const auto v = parse_u64(text);
        if (!v) return bad(fmt::format("bad word '{}' in -- raw", text));
        case_.raw->push_back(*v);
        return {};
    }

    bpfrt::Result<void> error(std::string_view text) {
        if (text.starts_with('#')) return {};
        if (!case_.error->empty() && !text.empty()) case_.error->push_back('\n');
        case_.error->append(text);
        return {};
    }

    ConformanceCase case_;
    std::string file_;
    size_t line_ = 0;
    Section section_ = Section::None;
};

}  // namespace

bpfrt::Result<ConformanceCase> read_conformance_file(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return bpfrt::fail(ENOENT, fmt::format("cannot open {}", file.string()));
    Reader reader(file.string(), file.stem().string());
    std::string text;
    while (std::getline(in, text)) {
        if (auto ok = reader.line(text); !ok) return std::unexpected(ok.error());
    }
    return reader.take();
}

std::vector<std::filesystem::path> conformance_files(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (entry.is_regular_file() && entry.path().extension() == ".data") files.push_back(entry.path());
    }
    std::ranges::sort(files);
    return files;
}

std::vector<bpf_insn> insns_from_raw(std::span<const uint64_t> words) {
    std::vector<bpf_insn> out;
    out.reserve(words.size());
    for (uint64_t w : words) out.push_back(bpfrt::isa::asm_syntax::from_word(w));
    return out;
}
