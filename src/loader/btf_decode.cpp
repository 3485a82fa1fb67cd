// Keys, values and globals of an object decoded with its BTF (libbpf's
// btf__* API), and their C-like text.
//
// The bytes come from maps at run time and the BTF from the object, which
// may be hostile: every read is bounds-checked against the bytes, type
// chains and nesting are limited, and a value that would take too many
// nodes (a huge array of empty structs) falls back to hex.
#include "loader/object_state.hpp"

#include <bpf/btf.h>
#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <iterator>
#include <optional>

namespace bpfrt {
namespace {

constexpr int kMaxDepth = 32;           // nested types (and modifier chains) followed
constexpr size_t kMaxNodes = 100'000;   // TypedValues of one decoded value

std::string hex(std::span<const std::byte> bytes) {
    std::string s;
    s.reserve(bytes.size() * 2);
    for (std::byte b : bytes) s += fmt::format("{:02x}", std::to_integer<unsigned>(b));
    return s;
}

TypedValue raw_bytes(std::span<const std::byte> bytes) {
    TypedValue v;
    v.kind = TypedValue::Kind::Bytes;
    v.text = hex(bytes);
    return v;
}

// Without a type: integers of the sizes C has, else hex (as bpftool).
TypedValue untyped(std::span<const std::byte> bytes) {
    const size_t n = bytes.size();
    if (n != 1 && n != 2 && n != 4 && n != 8) return raw_bytes(bytes);
    TypedValue v;
    v.kind = TypedValue::Kind::Integer;
    std::memcpy(&v.integer, bytes.data(), n);  // little-endian host, low bytes first
    return v;
}

// `nbits` bits from bit `bit_off` of little-endian bytes (the caller checks
// that they are inside `bytes` and nbits <= 64).
uint64_t read_bits(std::span<const std::byte> bytes, uint64_t bit_off, uint32_t nbits) {
    uint64_t v = 0;
    for (uint32_t i = 0; i < nbits; ++i) {
        const uint64_t pos = bit_off + i;
        const unsigned byte = std::to_integer<unsigned>(bytes[pos / 8]);
        if ((byte >> (pos % 8)) & 1U) v |= uint64_t{1} << i;
    }
    return v;
}

uint64_t sign_extend(uint64_t v, uint32_t nbits) {
    if (nbits == 0 || nbits >= 64 || ((v >> (nbits - 1)) & 1U) == 0) return v;
    return v | (~uint64_t{0} << nbits);
}

bool fits_bits(std::span<const std::byte> bytes, uint64_t bit_off, uint32_t nbits) {
    return nbits <= 64 && bit_off <= uint64_t{bytes.size()} * 8 && uint64_t{bytes.size()} * 8 - bit_off >= nbits;
}

bool is_printable(unsigned char c) { return c >= 0x20 && c < 0x7f; }

class Decoder {
public:
    explicit Decoder(const struct btf* b) : btf_(b) {}

    TypedValue decode_top(uint32_t id, std::span<const std::byte> bytes) {
        TypedValue v = decode(id, bytes, 0);
        if (nodes_ > kMaxNodes) return raw_bytes(bytes);
        return v;
    }

    // A struct of named parts of `bytes` (a section's variables).
    struct Part {
        std::string name;
        uint32_t type_id;
        uint32_t offset;
        uint32_t size;
    };
    TypedValue decode_parts(std::span<const Part> parts, std::span<const std::byte> bytes) {
        TypedValue v;
        v.kind = TypedValue::Kind::Struct;
        for (const Part& p : parts) {
            if (p.offset > bytes.size() || bytes.size() - p.offset < p.size) continue;
            TypedValue m = decode(p.type_id, bytes.subspan(p.offset, p.size), 1);
            m.name = p.name;
            v.members.push_back(std::move(m));
        }
        if (nodes_ > kMaxNodes) return raw_bytes(bytes);
        return v;
    }

    // Follows typedefs, qualifiers and type tags to the type they name.
    const btf_type* resolve(uint32_t id) const {
        for (int depth = 0; depth < kMaxDepth; ++depth) {
            const btf_type* t = btf__type_by_id(btf_, id);
            if (!t) return nullptr;
            switch (btf_kind(t)) {
                case BTF_KIND_TYPEDEF:
                case BTF_KIND_VOLATILE:
                case BTF_KIND_CONST:
                case BTF_KIND_RESTRICT:
                case BTF_KIND_TYPE_TAG:
                case BTF_KIND_VAR:
                    id = t->type;
                    continue;
                default:
                    return t;
            }
        }
        return nullptr;
    }

private:
    const struct btf* btf_;
    size_t nodes_ = 0;

    std::string name_of(uint32_t name_off) const {
        const char* s = btf__name_by_offset(btf_, name_off);
        return s ? s : "";
    }

    TypedValue decode(uint32_t id, std::span<const std::byte> bytes, int depth) {
        if (++nodes_ > kMaxNodes || depth > kMaxDepth) return raw_bytes(bytes);
        const btf_type* t = resolve(id);
        const long long size = btf__resolve_size(btf_, id);
        if (!t || size < 0 || static_cast<unsigned long long>(size) > bytes.size()) return raw_bytes(bytes);
        bytes = bytes.first(static_cast<size_t>(size));
        switch (btf_kind(t)) {
            case BTF_KIND_INT: return integer(t, bytes, btf_int_offset(t), btf_int_bits(t));
            case BTF_KIND_ENUM:
            case BTF_KIND_ENUM64: return enumeration(t, bytes, 0, static_cast<uint32_t>(bytes.size() * 8));
            case BTF_KIND_PTR: return pointer(bytes);
            case BTF_KIND_FLOAT: return floating(bytes);
            case BTF_KIND_STRUCT:
            case BTF_KIND_UNION: return structure(t, bytes, depth);
            case BTF_KIND_ARRAY: return array(t, bytes, depth);
            case BTF_KIND_DATASEC: return datasec(t, bytes, depth);
            default: return raw_bytes(bytes);  // void, fwd, func: nothing to read
        }
    }

    TypedValue integer(const btf_type* t, std::span<const std::byte> bytes, uint64_t bit_off, uint32_t nbits) {
        if (!fits_bits(bytes, bit_off, nbits)) return raw_bytes(bytes);  // __int128 and broken encodings
        const uint8_t encoding = btf_int_encoding(t);
        TypedValue v;
        v.kind = (encoding & BTF_INT_BOOL) ? TypedValue::Kind::Bool : TypedValue::Kind::Integer;
        v.is_signed = (encoding & BTF_INT_SIGNED) != 0;
        v.integer = read_bits(bytes, bit_off, nbits);
        if (v.is_signed) v.integer = sign_extend(v.integer, nbits);
        if (v.kind == TypedValue::Kind::Bool) v.integer = v.integer != 0;
        return v;
    }

    TypedValue enumeration(const btf_type* t, std::span<const std::byte> bytes, uint64_t bit_off, uint32_t nbits) {
        if (!fits_bits(bytes, bit_off, nbits)) return raw_bytes(bytes);
        TypedValue v;
        v.kind = TypedValue::Kind::Enum;
        v.is_signed = btf_kflag(t);  // libbpf 1.0+: kflag marks signed enums
        v.integer = read_bits(bytes, bit_off, nbits);
        if (v.is_signed) v.integer = sign_extend(v.integer, nbits);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
            uint64_t value = 0;
            uint32_t name_off = 0;
            if (btf_is_enum64(t)) {
                value = btf_enum64_value(btf_enum64(t) + i);
                name_off = btf_enum64(t)[i].name_off;
            } else {
                const int32_t val = btf_enum(t)[i].val;
                value = v.is_signed ? static_cast<uint64_t>(int64_t{val}) : uint64_t{static_cast<uint32_t>(val)};
                name_off = btf_enum(t)[i].name_off;
            }
            if (value == v.integer) {
                v.text = name_of(name_off);
                break;
            }
        }
        return v;
    }

    static TypedValue pointer(std::span<const std::byte> bytes) {
        TypedValue v = untyped(bytes);
        if (v.kind == TypedValue::Kind::Integer) v.kind = TypedValue::Kind::Pointer;
        return v;
    }

    static TypedValue floating(std::span<const std::byte> bytes) {
        TypedValue v;
        v.kind = TypedValue::Kind::Float;
        if (bytes.size() == sizeof(float)) {
            float f;
            std::memcpy(&f, bytes.data(), sizeof f);
            v.real = f;
        } else if (bytes.size() == sizeof(double)) {
            std::memcpy(&v.real, bytes.data(), sizeof v.real);
        } else {
            return raw_bytes(bytes);  // long double: no portable reading
        }
        return v;
    }

    // A bitfield member: an integer or an enum of `nbits` bits.
    TypedValue bitfield(uint32_t id, std::span<const std::byte> bytes, uint64_t bit_off, uint32_t nbits) {
        ++nodes_;
        const btf_type* t = resolve(id);
        if (t && btf_is_int(t)) return integer(t, bytes, bit_off, nbits);
        if (t && btf_is_any_enum(t)) return enumeration(t, bytes, bit_off, nbits);
        return raw_bytes({});
    }

    TypedValue structure(const btf_type* t, std::span<const std::byte> bytes, int depth) {
        TypedValue v;
        v.kind = TypedValue::Kind::Struct;
        const btf_member* members = btf_members(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
            const uint64_t bit_off = btf_member_bit_offset(t, i);
            const uint32_t nbits = btf_member_bitfield_size(t, i);
            TypedValue m;
            if (nbits != 0) {
                m = bitfield(members[i].type, bytes, bit_off, nbits);
            } else if (bit_off % 8 == 0 && bit_off / 8 <= bytes.size()) {
                m = decode(members[i].type, bytes.subspan(bit_off / 8), depth + 1);
            } else {
                continue;  // outside the bytes: BTF that lies about the size
            }
            std::string name = name_of(members[i].name_off);
            if (name.empty()) {
                // Anonymous struct/union: its members belong to this one (as C
                // reads them); unnamed bitfields are padding.
                if (m.kind == TypedValue::Kind::Struct)
                    std::move(m.members.begin(), m.members.end(), std::back_inserter(v.members));
                continue;
            }
            m.name = std::move(name);
            v.members.push_back(std::move(m));
        }
        return v;
    }

    // char name[N] holding text: NUL-free printable characters, then only NULs.
    std::optional<std::string> as_text(uint32_t elem, std::span<const std::byte> bytes) const {
        const btf_type* e = resolve(elem);
        if (!e || !btf_is_int(e) || e->size != 1) return std::nullopt;
        if ((btf_int_encoding(e) & BTF_INT_CHAR) == 0 && name_of(e->name_off) != "char") return std::nullopt;
        const auto nul = std::find(bytes.begin(), bytes.end(), std::byte{0});
        const bool printable =
            std::all_of(bytes.begin(), nul, [](std::byte b) { return is_printable(std::to_integer<unsigned char>(b)); });
        const bool zero_tail = std::all_of(nul, bytes.end(), [](std::byte b) { return b == std::byte{0}; });
        if (!printable || !zero_tail) return std::nullopt;
        return std::string(reinterpret_cast<const char*>(bytes.data()), static_cast<size_t>(nul - bytes.begin()));
    }

    TypedValue array(const btf_type* t, std::span<const std::byte> bytes, int depth) {
        const struct btf_array* a = btf_array(t);
        TypedValue v;
        if (auto text = as_text(a->type, bytes)) {
            v.kind = TypedValue::Kind::String;
            v.text = std::move(*text);
            return v;
        }
        v.kind = TypedValue::Kind::Array;
        const long long elem_size = btf__resolve_size(btf_, a->type);
        if (elem_size <= 0) return v;  // zero-size elements: nothing to show
        const auto step = static_cast<size_t>(elem_size);
        const size_t count = std::min<size_t>(a->nelems, bytes.size() / step);
        for (size_t i = 0; i < count && nodes_ <= kMaxNodes; ++i)
            v.members.push_back(decode(a->type, bytes.subspan(i * step, step), depth + 1));
        return v;
    }

    TypedValue datasec(const btf_type* t, std::span<const std::byte> bytes, int depth) {
        TypedValue v;
        v.kind = TypedValue::Kind::Struct;
        const btf_var_secinfo* vars = btf_var_secinfos(t);
        for (uint16_t i = 0; i < btf_vlen(t); ++i) {
            const btf_type* var = btf__type_by_id(btf_, vars[i].type);
            if (!var || !btf_is_var(var)) continue;
            if (vars[i].offset > bytes.size() || bytes.size() - vars[i].offset < vars[i].size) continue;
            TypedValue m = decode(var->type, bytes.subspan(vars[i].offset, vars[i].size), depth + 1);
            m.name = name_of(var->name_off);
            v.members.push_back(std::move(m));
        }
        return v;
    }
};

class TypeNamer {
public:
    explicit TypeNamer(const struct btf* b) : btf_(b) {}

    std::string name(uint32_t id, int depth = 0) const {
        if (id == 0) return "void";
        const btf_type* t = btf__type_by_id(btf_, id);
        if (!t || depth > kMaxDepth) return "?";
        const std::string own = name_of(t->name_off);
        switch (btf_kind(t)) {
            case BTF_KIND_STRUCT: return tagged("struct", own);
            case BTF_KIND_UNION: return tagged("union", own);
            case BTF_KIND_ENUM:
            case BTF_KIND_ENUM64: return tagged("enum", own);
            case BTF_KIND_FWD: return tagged(btf_kflag(t) ? "union" : "struct", own);
            case BTF_KIND_PTR: return pointer(t->type, depth);
            case BTF_KIND_ARRAY: return array(id, depth);
            case BTF_KIND_CONST: return "const " + name(t->type, depth + 1);
            case BTF_KIND_VOLATILE: return "volatile " + name(t->type, depth + 1);
            case BTF_KIND_RESTRICT: return name(t->type, depth + 1) + " restrict";
            case BTF_KIND_TYPE_TAG:
            case BTF_KIND_VAR: return name(t->type, depth + 1);
            case BTF_KIND_FUNC_PROTO: return "function";
            default: return own.empty() ? "?" : own;  // int, float, typedef, func, datasec
        }
    }

private:
    const struct btf* btf_;

    std::string name_of(uint32_t name_off) const {
        const char* s = btf__name_by_offset(btf_, name_off);
        return s ? s : "";
    }
    static std::string tagged(const char* tag, const std::string& own) {
        return fmt::format("{} {}", tag, own.empty() ? "(anonymous)" : own);
    }
    std::string pointer(uint32_t target, int depth) const {
        std::string s = name(target, depth + 1);
        return s + (s.ends_with('*') ? "*" : " *");
    }
    // int a[2][3] is an array of 2 arrays of 3 ints: dimensions outermost first.
    std::string array(uint32_t id, int depth) const {
        std::string dims;
        const btf_type* t = btf__type_by_id(btf_, id);
        while (t && btf_is_array(t) && depth <= kMaxDepth) {
            dims += fmt::format("[{}]", btf_array(t)->nelems);
            id = btf_array(t)->type;
            t = btf__type_by_id(btf_, id);
            ++depth;
        }
        return name(id, depth + 1) + dims;
    }
};

std::string quoted(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

void append(std::string& out, const TypedValue& v) {
    using Kind = TypedValue::Kind;
    switch (v.kind) {
        case Kind::Integer: out += v.is_signed ? fmt::format("{}", v.as_signed()) : fmt::format("{}", v.integer); return;
        case Kind::Bool: out += v.integer ? "true" : "false"; return;
        case Kind::Float: out += fmt::format("{}", v.real); return;
        case Kind::Enum:
            if (!v.text.empty()) out += v.text;
            else out += v.is_signed ? fmt::format("{}", v.as_signed()) : fmt::format("{}", v.integer);
            return;
        case Kind::String: out += quoted(v.text); return;
        case Kind::Pointer: out += fmt::format("{:#x}", v.integer); return;
        case Kind::Bytes: out += v.text; return;
        case Kind::Struct:
        case Kind::Array: {
            const bool is_struct = v.kind == Kind::Struct;
            out += is_struct ? '{' : '[';
            for (size_t i = 0; i < v.members.size(); ++i) {
                if (i) out += ", ";
                if (is_struct) out += v.members[i].name + "=";
                append(out, v.members[i]);
            }
            out += is_struct ? '}' : ']';
            return;
        }
    }
}

}  // namespace

std::string to_string(const TypedValue& value) {
    std::string out;
    append(out, value);
    return out;
}

const struct btf* ObjectFile::btf() const noexcept { return state_->btf ? state_->btf->raw() : nullptr; }

std::string ObjectFile::btf_type_name(uint32_t type_id) const {
    if (type_id == 0 || !btf() || !btf__type_by_id(btf(), type_id)) return "";
    return TypeNamer(btf()).name(type_id);
}

TypedValue ObjectFile::decode(uint32_t type_id, std::span<const std::byte> bytes) const {
    const struct btf* b = btf();
    // Objects for big-endian BPF would need byte swaps: read them as bytes.
    const bool host_order = b && btf__endianness(b) == (std::endian::native == std::endian::little ? BTF_LITTLE_ENDIAN
                                                                                                      : BTF_BIG_ENDIAN);
    if (type_id == 0 || !host_order || btf__resolve_size(b, type_id) != static_cast<long long>(bytes.size()))
        return untyped(bytes);
    return Decoder(b).decode_top(type_id, bytes);
}

TypedValue ObjectFile::decode_key(const ObjectMap& map, std::span<const std::byte> key) const {
    return decode(map.btf_key_type_id, key);
}

TypedValue ObjectFile::decode_value(const ObjectMap& map, std::span<const std::byte> value) const {
    if (map.origin != MapOrigin::GlobalData)
        return decode(map.btf_value_type_id, value.first(std::min<size_t>(value.size(), map.value_size)));
    // The variables as placed by their symbols (the DATASEC's offsets may be
    // left to relocations in an object), in address order.
    std::vector<Decoder::Part> parts;
    for (const GlobalVariable& g : state_->globals)
        if (g.section == map.section) parts.push_back({g.name, g.btf_type_id, g.offset, g.size});
    if (parts.empty() || !btf()) return raw_bytes(value);
    std::stable_sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.offset < b.offset; });
    return Decoder(btf()).decode_parts(parts, value);
}

}  // namespace bpfrt
