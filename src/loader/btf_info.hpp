// What the loader reads from BTF: map definitions of `.maps` (with the type
// ids of their keys and values), the variables of global-data sections
// (DATASEC), the key/value types of legacy maps, and line info from .BTF.ext.
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
    uint32_t key_type_id = 0;    // __type(key, T): T's id (0 with __uint(key_size, N))
    uint32_t value_type_id = 0;  // __type(value, T)
    std::vector<std::string> notes;  // attributes accepted and ignored
    // __array(values, T): map-in-map (T, a map definition, is the inner map
    // template) and prog arrays (T a function prototype). The slots' initial
    // contents are relocations at values_offset + 8 * slot in `.maps`.
    bool has_values = false;
    uint32_t values_offset = 0;  // in the definition
    std::shared_ptr<const BtfMapDefinition> inner;
};

// The offset of the struct bpf_spin_lock inside BTF type `type_id` (a
// map's value), following typedefs, qualifiers and nested structs; -1 when
// there is none. EINVAL when there are several (as the kernel's BTF check).
Result<int32_t> spin_lock_offset(const Btf& btf, uint32_t type_id, std::string_view map);

// The maps of the `.maps` DATASEC (empty when BTF has none). Offsets are
// as BTF has them: in an object clang leaves them to relocations, so the
// caller takes them from the symbols (as libbpf does) and checks them.
Result<std::vector<BtfMapDefinition>> btf_map_definitions(const Btf& btf);

struct DatasecVariable {
    std::string name;
    uint32_t offset = 0;
    uint32_t size = 0;
    uint32_t type_id = 0;  // the variable's type
};

// The variables BTF records for a data section (empty when none); offsets
// as for btf_map_definitions.
Result<std::vector<DatasecVariable>> datasec_variables(const Btf& btf, std::string_view section);

// The DATASEC type of a section (0 when BTF has none).
uint32_t datasec_type_id(const Btf& btf, std::string_view section);

// The key and value types of a legacy map from the `struct ____btf_map_NAME
// { K key; V value; }` that BPF_ANNOTATE_KV_PAIR declares; zeros when there
// is none, or when its sizes are not the map's (then the types would lie).
struct KeyValueTypes {
    uint32_t key = 0;
    uint32_t value = 0;
};
KeyValueTypes legacy_map_types(const Btf& btf, std::string_view map, uint32_t key_size, uint32_t value_size);

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
