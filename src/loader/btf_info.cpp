#include "loader/btf_info.hpp"

#include <bpf/btf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace bpfrt::loader {
namespace {

constexpr int kMaxTypeChain = 32;  // modifiers/typedefs followed before giving up (as libbpf)

// Follows typedefs and qualifiers to the type they name.
Result<const btf_type*> skip_mods(const struct btf* b, uint32_t id, uint32_t* out_id = nullptr) {
    for (int depth = 0; depth < kMaxTypeChain; ++depth) {
        const btf_type* t = btf__type_by_id(b, id);
        if (!t) return fail(EINVAL, fmt::format("corrupted BTF: type id {} does not exist", id));
        switch (btf_kind(t)) {
            case BTF_KIND_TYPEDEF:
            case BTF_KIND_VOLATILE:
            case BTF_KIND_CONST:
            case BTF_KIND_RESTRICT:
            case BTF_KIND_TYPE_TAG:
                id = t->type;
                continue;
            default:
                if (out_id) *out_id = id;
                return t;
        }
    }
    return fail(EINVAL, fmt::format("corrupted BTF: type chain from id {} is too long (a loop?)", id));
}

Result<std::string> type_name(const struct btf* b, const btf_type* t, std::string_view what) {
    const char* name = btf__name_by_offset(b, t->name_off);
    if (!name) return fail(EINVAL, fmt::format("corrupted BTF: {} has a bad name offset {}", what, t->name_off));
    return std::string(name);
}

// __uint(name, N) is `int (*name)[N]`: a pointer to an array of N elements.
Result<uint32_t> uint_attribute(const struct btf* b, const btf_member& m, std::string_view map,
                                std::string_view field) {
    auto ptr = skip_mods(b, m.type);
    if (!ptr) return std::unexpected(ptr.error());
    if (!btf_is_ptr(*ptr))
        return fail(EINVAL, fmt::format("map '{}': attribute '{}' is not __uint(...) (not a pointer)", map, field));
    const btf_type* arr = btf__type_by_id(b, (*ptr)->type);
    if (!arr || !btf_is_array(arr))
        return fail(EINVAL, fmt::format("map '{}': attribute '{}' is not __uint(...) (not a pointer to an array)",
                                        map, field));
    return btf_array(arr)->nelems;
}

struct TypeAttribute {
    uint32_t type_id = 0;
    uint32_t size = 0;
};

// __type(name, T) is `typeof(T) *name`: T and its size.
Result<TypeAttribute> type_attribute(const struct btf* b, const btf_member& m, std::string_view map,
                                     std::string_view field) {
    auto ptr = skip_mods(b, m.type);
    if (!ptr) return std::unexpected(ptr.error());
    if (!btf_is_ptr(*ptr))
        return fail(EINVAL, fmt::format("map '{}': attribute '{}' is not __type(...) (not a pointer)", map, field));
    const long long size = btf__resolve_size(b, (*ptr)->type);
    if (size < 0 || size > UINT32_MAX)
        return fail(EINVAL, fmt::format("map '{}': cannot tell the size of the {} type", map, field));
    return TypeAttribute{(*ptr)->type, static_cast<uint32_t>(size)};
}

Result<void> set_size(uint32_t& slot, uint32_t value, std::string_view map, std::string_view field) {
    if (slot != 0 && slot != value)
        return fail(EINVAL, fmt::format("map '{}': {} is given twice with different sizes ({} and {})", map, field,
                                        slot, value));
    slot = value;
    return {};
}

Result<void> read_values(const struct btf* b, const btf_member& m, uint32_t bit_offset, BtfMapDefinition& def);

Result<void> read_map_attribute(const struct btf* b, const btf_member& m, uint32_t bit_offset, BtfMapDefinition& def) {
    const char* raw_name = btf__name_by_offset(b, m.name_off);
    if (!raw_name) return fail(EINVAL, fmt::format("corrupted BTF: a member of map '{}' has a bad name", def.name));
    const std::string_view field = raw_name;
    auto number = [&]() { return uint_attribute(b, m, def.name, field); };
    Result<uint32_t> v;
    if (field == "type") {
        if (!(v = number())) return std::unexpected(v.error());
        def.type = *v;
    } else if (field == "max_entries") {
        if (!(v = number())) return std::unexpected(v.error());
        def.max_entries = *v;
    } else if (field == "map_flags") {
        if (!(v = number())) return std::unexpected(v.error());
        def.map_flags = *v;
    } else if (field == "key_size" || field == "value_size") {
        if (!(v = number())) return std::unexpected(v.error());
        return set_size(field == "key_size" ? def.key_size : def.value_size, *v, def.name, field);
    } else if (field == "key" || field == "value") {
        auto t = type_attribute(b, m, def.name, field);
        if (!t) return std::unexpected(t.error());
        (field == "key" ? def.key_type_id : def.value_type_id) = t->type_id;
        return set_size(field == "key" ? def.key_size : def.value_size, t->size, def.name, field);
    } else if (field == "pinning" || field == "numa_node" || field == "map_extra") {
        if (!(v = number())) return std::unexpected(v.error());
        if (*v != 0)
            def.notes.push_back(fmt::format("{} = {} ignored ({})", field, *v,
                                            field == "pinning" ? "bpfrt has no BPF filesystem" : "not used by bpfrt"));
    } else if (field == "values") {
        return read_values(b, m, bit_offset, def);
    } else {
        return fail(EINVAL, fmt::format("map '{}': unknown attribute '{}'", def.name, field));
    }
    return {};
}

// The members of a map definition struct.
Result<void> read_map_struct(const struct btf* b, const btf_type* st, BtfMapDefinition& def) {
    if (!btf_is_struct(st)) return fail(EINVAL, fmt::format("map '{}': its definition is not a struct", def.name));
    const btf_member* members = btf_members(st);
    for (uint16_t i = 0; i < btf_vlen(st); ++i)
        if (auto ok = read_map_attribute(b, members[i], btf_member_bit_offset(st, i), def); !ok) return ok;
    return {};
}

// __array(values, T) is `typeof(T) *values[]`: a zero-length array of
// pointers, placed last so that an initialiser can extend it.
Result<void> read_values(const struct btf* b, const btf_member& m, uint32_t bit_offset, BtfMapDefinition& def) {
    auto arr = skip_mods(b, m.type);
    if (!arr) return std::unexpected(arr.error());
    if (!btf_is_array(*arr) || btf_array(*arr)->nelems != 0 || bit_offset % 64 != 0)
        return fail(EINVAL, fmt::format("map '{}': 'values' is not __array(values, ...) (a zero-length array of "
                                        "pointers)", def.name));
    auto ptr = skip_mods(b, btf_array(*arr)->type);
    if (!ptr) return std::unexpected(ptr.error());
    if (!btf_is_ptr(*ptr))
        return fail(EINVAL, fmt::format("map '{}': the elements of 'values' are not pointers", def.name));
    auto target = skip_mods(b, (*ptr)->type);
    if (!target) return std::unexpected(target.error());
    def.has_values = true;
    def.values_offset = bit_offset / 8;
    if (btf_is_func_proto(*target)) return {};  // a prog array's programs
    auto inner = std::make_shared<BtfMapDefinition>();
    inner->name = def.name + ".inner";
    if (auto ok = read_map_struct(b, *target, *inner); !ok) return ok;
    if (inner->has_values)
        return fail(EINVAL, fmt::format("map '{}': an inner map cannot itself hold maps or programs", def.name));
    def.inner = std::move(inner);
    return {};
}

// What only the whole definition tells: 'values' belongs to map-in-map
// (whose values are then 4-byte handles) and prog arrays.
Result<void> check_values(BtfMapDefinition& def) {
    const bool holds_maps = def.type == BPF_MAP_TYPE_ARRAY_OF_MAPS || def.type == BPF_MAP_TYPE_HASH_OF_MAPS;
    const bool holds_progs = def.type == BPF_MAP_TYPE_PROG_ARRAY;
    if (holds_maps && !def.inner)
        return fail(EINVAL, fmt::format("map '{}': a map-in-map needs its inner map's definition "
                                        "(__array(values, struct {{ ... }}))", def.name));
    if (!def.has_values) return {};
    if (!holds_maps && !holds_progs)
        return fail(EINVAL, fmt::format("map '{}': 'values' is only for map-in-map and prog arrays (type {})",
                                        def.name, def.type));
    if (holds_progs && def.inner)
        return fail(EINVAL, fmt::format("map '{}': a prog array's 'values' must be programs, not maps", def.name));
    if (holds_maps && !def.inner)
        return fail(EINVAL, fmt::format("map '{}': a map-in-map's 'values' must be maps", def.name));
    return set_size(def.value_size, 4, def.name, "value_size");  // a handle
}

Result<BtfMapDefinition> read_map(const struct btf* b, const btf_var_secinfo& vi) {
    const btf_type* var = btf__type_by_id(b, vi.type);
    if (!var || !btf_is_var(var))
        return fail(EINVAL, fmt::format("corrupted BTF: .maps entry at offset {} is not a variable", vi.offset));
    BtfMapDefinition def;
    auto name = type_name(b, var, ".maps variable");
    if (!name) return std::unexpected(name.error());
    def.name = std::move(*name);
    def.offset = vi.offset;
    def.size = vi.size;
    auto st = skip_mods(b, var->type);
    if (!st) return std::unexpected(st.error());
    if (auto ok = read_map_struct(b, *st, def); !ok) return std::unexpected(ok.error());
    if (auto ok = check_values(def); !ok) return std::unexpected(ok.error());
    return def;
}

// Collects the offsets of struct bpf_spin_lock fields inside type `id`
// (at byte `base`), into nested structs, unions and arrays; two are enough
// to tell that there are several.
Result<void> find_spin_locks(const struct btf* b, uint32_t id, uint64_t base, int depth, std::vector<uint64_t>& found) {
    if (depth > kMaxTypeChain || found.size() > 1) return {};
    auto t = skip_mods(b, id);
    if (!t) return std::unexpected(t.error());
    if (btf_is_array(*t)) {
        const struct btf_array* a = btf_array(*t);
        const long long elem = btf__resolve_size(b, a->type);
        if (elem < 0) return fail(EINVAL, fmt::format("corrupted BTF: cannot size the elements of type {}", id));
        for (uint32_t i = 0; i < a->nelems && found.size() < 2; ++i) {
            const size_t before = found.size();
            if (auto ok = find_spin_locks(b, a->type, base + uint64_t{i} * static_cast<uint64_t>(elem), depth + 1, found);
                !ok)
                return ok;
            if (found.size() == before) break;  // elements without a lock: none has one
        }
        return {};
    }
    if (!btf_is_composite(*t)) return {};
    const char* name = btf__name_by_offset(b, (*t)->name_off);
    if (btf_is_struct(*t) && name && std::strcmp(name, "bpf_spin_lock") == 0) {
        found.push_back(base);
        return {};
    }
    const btf_member* members = btf_members(*t);
    for (uint16_t i = 0; i < btf_vlen(*t); ++i) {
        if (btf_member_bitfield_size(*t, i) != 0) continue;
        if (auto ok = find_spin_locks(b, members[i].type, base + btf_member_bit_offset(*t, i) / 8, depth + 1, found);
            !ok)
            return ok;
    }
    return {};
}

std::optional<uint32_t> find_datasec(const struct btf* b, std::string_view name) {
    const std::string n(name);
    const int id = btf__find_by_name_kind(b, n.c_str(), BTF_KIND_DATASEC);
    if (id <= 0) return std::nullopt;
    return static_cast<uint32_t>(id);
}

// Little-endian fields of .BTF.ext.
template <class T>
bool read_at(std::span<const std::byte> data, uint64_t off, T& out) {
    if (off > data.size() || data.size() - off < sizeof(T)) return false;
    std::memcpy(&out, data.data() + off, sizeof(T));
    return true;
}

struct ExtHeader {
    uint16_t magic;
    uint8_t version;
    uint8_t flags;
    uint32_t hdr_len;
    uint32_t func_info_off;
    uint32_t func_info_len;
    uint32_t line_info_off;
    uint32_t line_info_len;
};

struct RawLineInfo {
    uint32_t insn_off;
    uint32_t file_name_off;
    uint32_t line_off;
    uint32_t line_col;
};

}  // namespace

void Btf::Deleter::operator()(struct btf* b) const noexcept { btf__free(b); }

Result<Btf> Btf::parse(std::span<const std::byte> data) {
    if (data.size() > UINT32_MAX) return fail(EINVAL, "corrupted BTF: section too large");
    errno = 0;
    struct btf* b = btf__new(data.data(), static_cast<uint32_t>(data.size()));
    if (!b) {
        const int err = errno ? errno : EINVAL;
        return fail(EINVAL, fmt::format("corrupted BTF (.BTF section): {}", std::strerror(err)));
    }
    Btf out;
    out.btf_.reset(b);
    return out;
}

Result<std::string> Btf::string_at(uint32_t offset, std::string_view what) const {
    const char* s = btf__name_by_offset(btf_.get(), offset);
    if (!s) return fail(EINVAL, fmt::format("corrupted BTF: {} has a bad string offset {}", what, offset));
    return std::string(s);
}

Result<std::vector<BtfMapDefinition>> btf_map_definitions(const Btf& btf) {
    std::vector<BtfMapDefinition> defs;
    const struct btf* b = btf.raw();
    const auto sec_id = find_datasec(b, ".maps");
    if (!sec_id) return defs;
    const btf_type* sec = btf__type_by_id(b, *sec_id);
    const btf_var_secinfo* vars = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
        auto def = read_map(b, vars[i]);
        if (!def) return std::unexpected(def.error());
        defs.push_back(std::move(*def));
    }
    return defs;
}

Result<int32_t> spin_lock_offset(const Btf& btf, uint32_t type_id, std::string_view map) {
    if (type_id == 0) return -1;
    std::vector<uint64_t> found;
    if (auto ok = find_spin_locks(btf.raw(), type_id, 0, 0, found); !ok) return std::unexpected(ok.error());
    if (found.empty()) return -1;
    if (found.size() > 1)
        return fail(EINVAL, fmt::format("map '{}': its value holds more than one struct bpf_spin_lock", map));
    if (found[0] > INT32_MAX) return fail(EINVAL, fmt::format("map '{}': bpf_spin_lock offset out of range", map));
    return static_cast<int32_t>(found[0]);
}

Result<std::vector<DatasecVariable>> datasec_variables(const Btf& btf, std::string_view section) {
    std::vector<DatasecVariable> out;
    const struct btf* b = btf.raw();
    const auto sec_id = find_datasec(b, section);
    if (!sec_id) return out;
    const btf_type* sec = btf__type_by_id(b, *sec_id);
    const btf_var_secinfo* vars = btf_var_secinfos(sec);
    for (uint16_t i = 0; i < btf_vlen(sec); ++i) {
        const btf_type* var = btf__type_by_id(b, vars[i].type);
        if (!var || !btf_is_var(var)) continue;  // functions (ksyms) in a DATASEC: not variables
        auto name = type_name(b, var, fmt::format("a variable of {}", section));
        if (!name) return std::unexpected(name.error());
        out.push_back({std::move(*name), vars[i].offset, vars[i].size, var->type});
    }
    return out;
}

uint32_t datasec_type_id(const Btf& btf, std::string_view section) {
    return find_datasec(btf.raw(), section).value_or(0);
}

KeyValueTypes legacy_map_types(const Btf& btf, std::string_view map, uint32_t key_size, uint32_t value_size) {
    const struct btf* b = btf.raw();
    const std::string name = fmt::format("____btf_map_{}", map);
    const int id = btf__find_by_name_kind(b, name.c_str(), BTF_KIND_STRUCT);
    if (id <= 0) return {};
    const btf_type* st = btf__type_by_id(b, static_cast<uint32_t>(id));
    KeyValueTypes out;
    const btf_member* members = btf_members(st);
    for (uint16_t i = 0; i < btf_vlen(st); ++i) {
        const char* field = btf__name_by_offset(b, members[i].name_off);
        if (!field) continue;
        if (std::strcmp(field, "key") == 0) out.key = members[i].type;
        if (std::strcmp(field, "value") == 0) out.value = members[i].type;
    }
    const auto has_size = [&](uint32_t type, uint32_t size) { return type != 0 && btf__resolve_size(b, type) == size; };
    if (!has_size(out.key, key_size) || !has_size(out.value, value_size)) return {};
    return out;
}

Result<std::vector<SectionLineInfo>> parse_line_info(std::span<const std::byte> ext, const Btf& btf) {
    std::vector<SectionLineInfo> out;
    ExtHeader hdr{};
    // The header grew over time (CO-RE fields at 24..31); line info ends at byte 24.
    if (!read_at(ext, 0, hdr.magic) || !read_at(ext, 2, hdr.version) || !read_at(ext, 4, hdr.hdr_len))
        return fail(EINVAL, "corrupted .BTF.ext: truncated header");
    if (hdr.magic != BTF_MAGIC) return fail(EINVAL, fmt::format("corrupted .BTF.ext: bad magic {:#x}", hdr.magic));
    if (hdr.version != 1) return fail(EINVAL, fmt::format("corrupted .BTF.ext: unsupported version {}", hdr.version));
    if (hdr.hdr_len < 24 || hdr.hdr_len > ext.size())
        return fail(EINVAL, fmt::format("corrupted .BTF.ext: header length {} (section has {} bytes)", hdr.hdr_len,
                                        ext.size()));
    read_at(ext, 16, hdr.line_info_off);
    read_at(ext, 20, hdr.line_info_len);
    const uint64_t begin = uint64_t{hdr.hdr_len} + hdr.line_info_off;
    if (begin > ext.size() || ext.size() - begin < hdr.line_info_len)
        return fail(EINVAL, "corrupted .BTF.ext: line info is past the end of the section");
    if (hdr.line_info_len == 0) return out;
    const auto info = ext.subspan(begin, hdr.line_info_len);
    uint32_t rec_size = 0;
    if (!read_at(info, 0, rec_size) || rec_size < sizeof(RawLineInfo) || rec_size % 4 != 0)
        return fail(EINVAL, fmt::format("corrupted .BTF.ext: line info record size {}", rec_size));
    uint64_t off = 4;
    while (off < info.size()) {
        uint32_t sec_name_off = 0;
        uint32_t count = 0;
        if (!read_at(info, off, sec_name_off) || !read_at(info, off + 4, count))
            return fail(EINVAL, "corrupted .BTF.ext: truncated line info section header");
        off += 8;
        if (count == 0 || (info.size() - off) / rec_size < count)
            return fail(EINVAL, fmt::format("corrupted .BTF.ext: {} line info records do not fit", count));
        SectionLineInfo sec;
        auto name = btf.string_at(sec_name_off, "a .BTF.ext line info section");
        if (!name) return std::unexpected(name.error());
        sec.section = std::move(*name);
        for (uint32_t i = 0; i < count; ++i, off += rec_size) {
            RawLineInfo raw{};
            read_at(info, off, raw);
            LineInfoRecord rec;
            rec.insn_off = raw.insn_off;
            rec.line = raw.line_col >> 10;
            rec.column = raw.line_col & 0x3ffU;
            auto file = btf.string_at(raw.file_name_off, "a line info file name");
            auto text = btf.string_at(raw.line_off, "a line info source line");
            if (!file) return std::unexpected(file.error());
            if (!text) return std::unexpected(text.error());
            rec.file = std::move(*file);
            rec.text = std::move(*text);
            sec.records.push_back(std::move(rec));
        }
        out.push_back(std::move(sec));
    }
    return out;
}

}  // namespace bpfrt::loader
