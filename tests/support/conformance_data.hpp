// Reader of the bpf_conformance suite's .data files (format: ../shared/README.md).
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

struct ConformanceCase {
    std::string name;                            // file name without .data
    std::string asm_text;                        // the `-- asm` section, verbatim
    std::vector<uint8_t> mem;                    // `-- mem`: the bytes r1 points to
    std::optional<uint64_t> result;              // `-- result`: expected r0
    std::optional<std::string> error;            // `-- error`: expected error text
    std::optional<std::vector<uint64_t>> raw;    // `-- raw`: slots that replace the asm
};

// Reads one .data file. Errors: ENOENT (cannot open), EINVAL ("<file>:<line>: what").
bpfrt::Result<ConformanceCase> read_conformance_file(const std::filesystem::path& file);

// The .data files of `dir`, sorted by name (empty if dir does not exist).
std::vector<std::filesystem::path> conformance_files(const std::filesystem::path& dir);

// The slots of a `-- raw` section (each word: the little-endian reading of a slot).
std::vector<bpf_insn> insns_from_raw(std::span<const uint64_t> words);
