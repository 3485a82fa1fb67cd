// What the loader reads from BTF: map definitions of `.maps`, the variables
// of global-data sections (DATASEC), and line info from .BTF.ext.
//
// BTF itself is parsed by libbpf (btf__new validates the header, string and
// type sections); every type id and string offset we follow is checked, and
// .BTF.ext (whose line info libbpf does not expose) is decoded here with
// bounds checks on every header field and record.
#pragma once

#include <bpfrt/error.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct btf;

namespace bpfrt::loader {

class Btf {
public:
    // EINVAL with libbpf's reason when the data is not valid BTF.
    static Result<Btf> parse(std::span<const std::byte> data);
    const struct btf* raw() const noexcept { return btf_.get(); }
    // The string at `offset` of the string section; EINVAL naming `what`.
    Result<std::string> string_at(uint32_t offset, std::string_view what) const;

private:
    struct Deleter {
        void operator()(struct btf* b) const noexcept;
    };
    std::unique_ptr<struct btf, Deleter> btf_;
};

struct BtfMapDefinition {
    std::string name;
    uint32_t offset = 0;  // in the .maps section
    uint32_t size = 0;
    uint32_t type = 0;
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t map_flags = 0;
    std::vector<std::string> notes;  // attributes accepted and ignored
};

// The maps of the `.maps` DATASEC (empty when BTF has none). Offsets are
// as BTF has them: in an object clang leaves them to relocations, so the
// caller takes them from the symbols (as libbpf does) and checks them.
Result<std::vector<BtfMapDefinition>> btf_map_definitions(const Btf& btf);

struct DatasecVariable {
    std::string name;
    uint32_t offset = 0;
    uint32_t size = 0;
};

// The variables BTF records for a data section (empty when none); offsets
// as for btf_map_definitions.
Result<std::vector<DatasecVariable>> datasec_variables(const Btf& btf, std::string_view section);

struct LineInfoRecord {
    uint32_t insn_off = 0;  // bytes from the start of the section
    std::string file;
    uint32_t line = 0;
    uint32_t column = 0;
    std::string text;
};

struct SectionLineInfo {
    std::string section;
    std::vector<LineInfoRecord> records;
};

// The line info of .BTF.ext, per code section.
Result<std::vector<SectionLineInfo>> parse_line_info(std::span<const std::byte> btf_ext, const Btf& btf);

}  // namespace bpfrt::loader
