// Parsing and linking an eBPF object: programs, subprograms, maps, global
// data, relocations, license, version and line info.
#include "loader/btf_info.hpp"
#include "loader/elf_reader.hpp"
#include "loader/object_state.hpp"

#include <bpfrt/bpf.h>

#include <elf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>

namespace bpfrt::loader {
namespace {

constexpr uint32_t kNoMap = std::numeric_limits<uint32_t>::max();
constexpr uint8_t kOpLddw = BPF_LD | BPF_IMM | BPF_DW;
constexpr uint8_t kOpCall = BPF_JMP | BPF_CALL;

// A function of a code section: a program, or a subprogram others call.
struct Function {
    uint32_t section = 0;
    uint32_t start = 0;  // first slot in the section
    uint32_t count = 0;  // slots
    std::string name;
};

bool is_code_section(const Section& s) {
    return s.type == SHT_PROGBITS && (s.flags & SHF_EXECINSTR) != 0;
}

bool is_global_data_section(const Section& s) {
    if ((s.flags & SHF_ALLOC) == 0 || (s.flags & SHF_EXECINSTR) != 0) return false;
    if (s.type != SHT_PROGBITS && s.type != SHT_NOBITS) return false;
    const std::string_view n = s.name;
    return n == ".data" || n == ".rodata" || n == ".bss" || n.starts_with(".data.") || n.starts_with(".rodata.");
}

bool is_read_only_data(const Section& s) { return std::string_view(s.name).starts_with(".rodata"); }

bpf_insn insn_at(std::span<const std::byte> data, size_t slot) {
    bpf_insn insn;
    std::memcpy(&insn, data.data() + slot * sizeof insn, sizeof insn);
    return insn;
}

class Parser {
public:
    Parser(const ElfFile& elf, ObjectFile::State& out) : elf_(elf), out_(out), btf_(out.btf) {}

    // The slots of a map's __array(values, ...) in `.maps`.
    struct ValuesRange {
        uint32_t map = 0;    // index in out_.maps
        uint64_t begin = 0;  // offset of values[0] in .maps
        uint64_t end = 0;    // end of the map's definition
    };

    Result<void> run() {
        if (auto r = read_license_and_version(); !r) return r;
        if (auto r = read_btf(); !r) return r;
        data_map_of_section_.assign(elf_.sections.size(), kNoMap);
        if (auto r = read_btf_maps(); !r) return r;
        if (auto r = read_legacy_maps(); !r) return r;
        if (auto r = read_global_data(); !r) return r;
        if (auto r = index_code_relocations(); !r) return r;
        if (auto r = read_functions(); !r) return r;
        if (auto r = read_slot_initialisers(); !r) return r;
        if (auto r = read_line_info(); !r) return r;
        return link_programs();
    }

private:
    const ElfFile& elf_;
    ObjectFile::State& out_;
    std::optional<Btf>& btf_;  // kept in the state: decoding keys and values needs it
    std::vector<Function> functions_;
    std::vector<bool> entry_;  // functions_[i] is a program of its own
    // Map definitions by (section, offset), for relocations against map symbols.
    std::vector<std::tuple<uint32_t, uint64_t, uint32_t>> map_slots_;
    std::vector<uint32_t> data_map_of_section_;  // section index -> global-data map (or kNoMap)
    std::vector<ValuesRange> values_of_;          // maps with __array(values, ...), for .rel.maps
    // Relocations of each code section by slot.
    std::vector<std::unordered_map<uint32_t, Relocation>> code_relocs_;
    std::vector<std::vector<LineInfoRecord>> line_info_;  // by section index

    std::string where(const Function& f, uint32_t slot) const {
        return fmt::format("'{}' (section '{}', insn {})", f.name, elf_.sections[f.section].name, slot - f.start);
    }

    // A DATASEC variable's offset comes from its symbol (clang leaves the
    // BTF offset to a relocation); then it must fit its section.
    Result<void> place_variable(const std::string& name, const Section& s, uint32_t& offset, uint32_t size) const {
        for (const auto& sym : elf_.symbols) {
            if (sym.shndx != s.index || sym.name != name || sym.type == STT_SECTION) continue;
            if (sym.value > std::numeric_limits<uint32_t>::max())
                return fail(EINVAL, fmt::format("symbol '{}' has offset {}, past the end of '{}'", name, sym.value,
                                                s.name));
            offset = static_cast<uint32_t>(sym.value);
            break;
        }
        if (offset > s.size || s.size - offset < size)
            return fail(EINVAL, fmt::format("'{}' (offset {}, {} bytes) is past the end of section '{}' ({} bytes)",
                                            name, offset, size, s.name, s.size));
        return {};
    }

    Result<void> read_license_and_version() {
        if (const Section* s = elf_.section_by_name("license")) {
            if (s->data.empty()) return fail(EINVAL, "the license section is empty");
            const auto* text = reinterpret_cast<const char*>(s->data.data());
            const size_t len = strnlen(text, s->data.size());
            if (len == s->data.size())
                return fail(EINVAL, "the license section is not a NUL-terminated string");
            out_.license.assign(text, len);
        }
        if (const Section* s = elf_.section_by_name("version")) {
            uint32_t version = 0;
            if (s->data.size() != sizeof version)
                return fail(EINVAL, fmt::format("the version section has {} bytes (expected 4)", s->data.size()));
            std::memcpy(&version, s->data.data(), sizeof version);
            out_.kernel_version = version;
        }
        return {};
    }

    Result<void> read_btf() {
        const Section* s = elf_.section_by_name(".BTF");
        if (!s) return {};
        if (s->type == SHT_NOBITS) return fail(EINVAL, "corrupted BTF: the .BTF section has no contents");
        auto btf = Btf::parse(s->data);
        if (!btf) return std::unexpected(btf.error());
        btf_ = std::move(*btf);
        return {};
    }

    Result<void> read_btf_maps() {
        const Section* s = elf_.section_by_name(".maps");
        if (!s) return {};
        if (!btf_) return fail(EINVAL, "the object has a .maps section but no BTF (compile with -g)");
        auto defs = btf_map_definitions(*btf_);
        if (!defs) return std::unexpected(defs.error());
        for (auto& d : *defs) {
            if (auto r = place_variable(d.name, *s, d.offset, d.size); !r) return r;
            auto m = btf_map(d, s->name);
            if (!m) return std::unexpected(m.error());
            if (d.has_values) values_of_.push_back({static_cast<uint32_t>(out_.maps.size()), d.offset + d.values_offset,
                                                    d.offset + d.size});
            map_slots_.emplace_back(s->index, d.offset, static_cast<uint32_t>(out_.maps.size()));
            out_.maps.push_back(std::move(*m));
        }
        return {};
    }

    Result<ObjectMap> btf_map(BtfMapDefinition& d, const std::string& section) const {
        ObjectMap m;
        m.name = d.name;
        m.section = section;
        m.origin = MapOrigin::BtfDefined;
        m.type = d.type;
        m.key_size = d.key_size;
        m.value_size = d.value_size;
        m.max_entries = d.max_entries;
        m.map_flags = d.map_flags;
        m.btf_key_type_id = d.key_type_id;
        m.btf_value_type_id = d.value_type_id;
        m.notes = std::move(d.notes);
        auto lock = spin_lock_offset(*btf_, d.value_type_id, d.name);
        if (!lock) return std::unexpected(lock.error());
        m.spin_lock_off = *lock;
        if (d.inner) {
            BtfMapDefinition inner = *d.inner;
            auto made = btf_map(inner, section);
            if (!made) return std::unexpected(made.error());
            m.inner = std::make_shared<const ObjectMap>(std::move(*made));
        }
        return m;
    }

    // `.values = { [i] = &target }` of map-in-map and prog arrays: clang
    // emits one 64-bit relocation per initialised slot into `.maps`.
    Result<void> read_slot_initialisers() {
        const Section* s = elf_.section_by_name(".maps");
        if (!s) return {};
        for (const auto& r : elf_.relocations[s->index]) {
            if (r.type == kRelocNone) continue;
            auto values = values_at(r.offset);
            if (!values)
                return fail(EINVAL, fmt::format("relocation at offset {} of '.maps' is not in a map's 'values'",
                                                r.offset));
            if (r.type != kReloc64_Abs64)
                return fail(EINVAL, fmt::format("relocation at offset {} of '.maps' has type {} (expected "
                                                "R_BPF_64_ABS64)", r.offset, r.type));
            ObjectMap& map = out_.maps[values->map];
            const uint64_t slot = (r.offset - values->begin) / 8;
            if (slot >= map.max_entries)
                return fail(EINVAL, fmt::format("map '{}': .values[{}] is past max_entries ({})", map.name, slot,
                                                map.max_entries));
            auto target = slot_target(map, elf_.symbols[r.symbol]);
            if (!target) return std::unexpected(target.error());
            map.slot_inits.push_back({static_cast<uint32_t>(slot), std::move(*target)});
        }
        return {};
    }

    std::optional<ValuesRange> values_at(uint64_t offset) const {
        for (const ValuesRange& v : values_of_)
            if (offset >= v.begin && offset < v.end && (offset - v.begin) % 8 == 0) return v;
        return std::nullopt;
    }

    // A map-in-map slot names a map of `.maps`; a prog array slot an entry program.
    Result<std::string> slot_target(const ObjectMap& map, const Symbol& sym) const {
        if (map.type == BPF_MAP_TYPE_PROG_ARRAY) {
            for (uint32_t i = 0; i < functions_.size(); ++i)
                if (functions_[i].section == sym.shndx && functions_[i].name == sym.name && entry_[i]) return sym.name;
            return fail(EINVAL, fmt::format("map '{}': .values names '{}', which is not a program of its own",
                                            map.name, sym.name));
        }
        const Section* maps = elf_.section_by_name(".maps");
        if (sym.shndx != maps->index || !map_at(maps->index, sym.value))
            return fail(EINVAL, fmt::format("map '{}': .values names '{}', which is not a map of '.maps'", map.name,
                                            sym.name));
        const ObjectMap& target = out_.maps[*map_at(maps->index, sym.value)];
        if (target.type == BPF_MAP_TYPE_ARRAY_OF_MAPS || target.type == BPF_MAP_TYPE_HASH_OF_MAPS)
            return fail(EINVAL, fmt::format("map '{}': .values names '{}', which itself holds maps", map.name,
                                            sym.name));
        return target.name;
    }

    // SEC("maps"): an array of struct bpf_map_def, one per symbol.
    Result<void> read_legacy_maps() {
        const Section* s = elf_.section_by_name("maps");
        if (!s) return {};
        if (s->type == SHT_NOBITS) return fail(EINVAL, "the maps section has no contents");
        std::vector<const Symbol*> syms;
        for (const auto& sym : elf_.symbols)
            if (sym.shndx == s->index && sym.type != STT_SECTION) syms.push_back(&sym);
        if (syms.empty()) {
            if (s->size != 0) return fail(EINVAL, "the maps section has contents but no map symbols");
            return {};
        }
        constexpr size_t kDefFields = 5;  // type, key_size, value_size, max_entries, map_flags
        const size_t def_size = s->data.size() / syms.size();
        if (s->data.size() % syms.size() != 0 || def_size < kDefFields * 4)
            return fail(EINVAL, fmt::format("the maps section ({} bytes) does not hold {} map definitions",
                                            s->data.size(), syms.size()));
        std::sort(syms.begin(), syms.end(), [](auto* a, auto* b) { return a->value < b->value; });
        for (const Symbol* sym : syms) {
            if (sym->value % def_size != 0 || sym->value > s->data.size() - def_size)
                return fail(EINVAL, fmt::format("map '{}': offset {} in the maps section is not a definition",
                                                sym->name, sym->value));
            uint32_t f[kDefFields];
            std::memcpy(f, s->data.data() + sym->value, sizeof f);
            ObjectMap m;
            m.name = sym->name;
            m.section = s->name;
            m.origin = MapOrigin::Legacy;
            m.type = f[0];
            m.key_size = f[1];
            m.value_size = f[2];
            m.max_entries = f[3];
            m.map_flags = f[4];
            const auto extra = s->data.subspan(sym->value + sizeof f, def_size - sizeof f);
            if (std::any_of(extra.begin(), extra.end(), [](std::byte b) { return b != std::byte{0}; }))
                m.notes.push_back("fields after map_flags (inner_map_idx, numa_node...) ignored");
            if (btf_) {
                const auto types = legacy_map_types(*btf_, m.name, m.key_size, m.value_size);
                m.btf_key_type_id = types.key;
                m.btf_value_type_id = types.value;
            }
            map_slots_.emplace_back(s->index, sym->value, static_cast<uint32_t>(out_.maps.size()));
            out_.maps.push_back(std::move(m));
        }
        return {};
    }

    Result<void> read_global_data() {
        for (const auto& s : elf_.sections) {
            if (!is_global_data_section(s) || s.size == 0) continue;
            if (s.size > std::numeric_limits<uint32_t>::max() / 2)
                return fail(EINVAL, fmt::format("section '{}' is too large for a map ({} bytes)", s.name, s.size));
            ObjectMap m;
            m.name = s.name;
            m.section = s.name;
            m.origin = MapOrigin::GlobalData;
            m.type = BPF_MAP_TYPE_ARRAY;
            m.key_size = 4;
            m.value_size = static_cast<uint32_t>(s.size);
            m.max_entries = 1;
            m.read_only = is_read_only_data(s);
            m.map_flags = m.read_only ? BPF_F_RDONLY_PROG : 0;
            m.initial.assign(s.size, std::byte{0});
            if (s.type != SHT_NOBITS) std::copy(s.data.begin(), s.data.end(), m.initial.begin());
            if (btf_) m.btf_value_type_id = datasec_type_id(*btf_, s.name);
            data_map_of_section_[s.index] = static_cast<uint32_t>(out_.maps.size());
            out_.maps.push_back(std::move(m));
            if (!btf_) continue;
            auto vars = datasec_variables(*btf_, s.name);
            if (!vars) return std::unexpected(vars.error());
            for (auto& v : *vars) {
                if (auto r = check_variable_name(v.name, s.name); !r) return r;
                if (auto r = place_variable(v.name, s, v.offset, v.size); !r) return r;
                out_.globals.push_back({std::move(v.name), s.name, v.offset, v.size, v.type_id});
            }
        }
        return {};
    }

    // Globals are set by name: a name must be present and unique (hostile
    // BTF can give neither).
    Result<void> check_variable_name(const std::string& name, const std::string& section) const {
        if (name.empty())
            return fail(EINVAL, fmt::format("corrupted BTF: a variable of section '{}' has no name", section));
        for (const auto& g : out_.globals)
            if (g.name == name)
                return fail(EINVAL, fmt::format("corrupted BTF: two global variables are named '{}' ({} and {})",
                                                name, g.section, section));
        return {};
    }

    Result<void> index_code_relocations() {
        code_relocs_.assign(elf_.sections.size(), {});
        for (const auto& s : elf_.sections) {
            if (!is_code_section(s)) continue;
            for (const auto& r : elf_.relocations[s.index]) {
                if (r.type == kRelocNone) continue;
                if (r.offset % sizeof(bpf_insn) != 0)
                    return fail(EINVAL, fmt::format("relocation at offset {} of section '{}' is not at an "
                                                    "instruction boundary", r.offset, s.name));
                if (r.type != kReloc64_64 && r.type != kReloc64_32)
                    return fail(EINVAL, fmt::format("relocation at offset {} of section '{}' has type {}, which "
                                                    "code cannot have (R_BPF_64_64 or R_BPF_64_32 expected)",
                                                    r.offset, s.name, r.type));
                const auto slot = static_cast<uint32_t>(r.offset / sizeof(bpf_insn));
                if (!code_relocs_[s.index].emplace(slot, r).second)
                    return fail(EINVAL, fmt::format("two relocations at offset {} of section '{}'", r.offset, s.name));
            }
        }
        return {};
    }

    Result<void> read_functions() {
        for (const auto& s : elf_.sections) {
            if (!is_code_section(s) || s.size == 0) continue;
            if (s.size % sizeof(bpf_insn) != 0)
                return fail(EINVAL, fmt::format("code section '{}' has {} bytes, not a multiple of 8", s.name, s.size));
            const bool text = s.name == ".text";
            const size_t first = functions_.size();
            for (const auto& sym : elf_.symbols) {
                if (sym.shndx != s.index || sym.type != STT_FUNC) continue;
                if (sym.value % 8 != 0 || sym.size % 8 != 0 || sym.size == 0 || sym.value > s.size ||
                    s.size - sym.value < sym.size)
                    return fail(EINVAL, fmt::format("function '{}' (offset {}, {} bytes) does not fit section '{}' "
                                                    "({} bytes) in whole instructions",
                                                    sym.name, sym.value, sym.size, s.name, s.size));
                if (!text && sym.bind == STB_LOCAL)
                    return fail(EINVAL, fmt::format("program '{}' in section '{}' is static; programs must be "
                                                    "global functions", sym.name, s.name));
                functions_.push_back({s.index, static_cast<uint32_t>(sym.value / 8),
                                      static_cast<uint32_t>(sym.size / 8), sym.name});
                entry_.push_back(!text);
            }
            // Hand-written objects may have no function symbols: the section is one program.
            if (functions_.size() == first) {
                functions_.push_back({s.index, 0, static_cast<uint32_t>(s.size / 8), s.name});
                entry_.push_back(!text);
            }
            std::sort(functions_.begin() + static_cast<ptrdiff_t>(first), functions_.end(),
                      [](const Function& a, const Function& b) { return a.start < b.start; });
            for (size_t i = first + 1; i < functions_.size(); ++i)
                if (functions_[i].start < functions_[i - 1].start + functions_[i - 1].count)
                    return fail(EINVAL, fmt::format("functions '{}' and '{}' of section '{}' overlap",
                                                    functions_[i - 1].name, functions_[i].name, s.name));
        }
        return {};
    }

    Result<void> read_line_info() {
        line_info_.assign(elf_.sections.size(), {});
        const Section* ext = elf_.section_by_name(".BTF.ext");
        if (!ext || !btf_) return {};
        auto sections = parse_line_info(ext->data, *btf_);
        if (!sections) return std::unexpected(sections.error());
        for (auto& sec : *sections) {
            const Section* code = elf_.section_by_name(sec.section);
            if (!code || !is_code_section(*code))
                return fail(EINVAL, fmt::format("corrupted .BTF.ext: line info for '{}', which is not a code section",
                                                sec.section));
            for (auto& rec : sec.records) {
                if (rec.insn_off % 8 != 0 || rec.insn_off >= code->size)
                    return fail(EINVAL, fmt::format("corrupted .BTF.ext: line info at byte {} of '{}' is not an "
                                                    "instruction of the section", rec.insn_off, sec.section));
                line_info_[code->index].push_back(std::move(rec));
            }
        }
        for (auto& v : line_info_)
            std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.insn_off < b.insn_off; });
        return {};
    }

    std::optional<uint32_t> function_at(uint32_t section, uint64_t slot) const {
        for (size_t i = 0; i < functions_.size(); ++i)
            if (functions_[i].section == section && functions_[i].start == slot) return static_cast<uint32_t>(i);
        return std::nullopt;
    }

    std::optional<uint32_t> map_at(uint32_t section, uint64_t offset) const {
        for (const auto& [sec, off, index] : map_slots_)
            if (sec == section && off == offset) return index;
        return std::nullopt;
    }

    // One program being linked: the functions placed so far and where.
    struct Linking {
        ObjectProgram prog;
        std::vector<std::pair<uint32_t, uint32_t>> placed;  // (function, first slot in prog)
    };

    uint32_t place(Linking& l, uint32_t func) const {
        for (const auto& [f, at] : l.placed)
            if (f == func) return at;
        const Function& fn = functions_[func];
        const auto at = static_cast<uint32_t>(l.prog.insns.size());
        const auto data = elf_.sections[fn.section].data;
        for (uint32_t i = 0; i < fn.count; ++i) l.prog.insns.push_back(insn_at(data, fn.start + i));
        l.placed.emplace_back(func, at);
        return at;
    }

    // Re-targets a local call (or a function-pointer lddw) at `pos` to the
    // function starting at `slot` of `section`, placing it if needed.
    Result<void> link_call(Linking& l, const Function& from, uint32_t from_slot, uint32_t pos, uint32_t section,
                           int64_t slot) {
        const auto target = slot >= 0 ? function_at(section, static_cast<uint64_t>(slot)) : std::nullopt;
        if (!target)
            return fail(EINVAL, fmt::format("call at {} targets insn {} of section '{}', which is not the start of "
                                            "a function", where(from, from_slot), slot, elf_.sections[section].name));
        if (entry_[*target] && section != from.section)
            return fail(EINVAL, fmt::format("call at {} targets program '{}'; subprograms must be in .text",
                                            where(from, from_slot), functions_[*target].name));
        const uint32_t at = place(l, *target);
        l.prog.insns[pos].imm = static_cast<int32_t>(static_cast<int64_t>(at) - (int64_t{pos} + 1));
        return {};
    }

    Result<void> apply_relocation(Linking& l, const Function& f, uint32_t slot, uint32_t pos, const Relocation& r) {
        bpf_insn& insn = l.prog.insns[pos];
        const Symbol& sym = elf_.symbols[r.symbol];
        const Section* target = elf_.section_of(sym);
        if (sym.shndx == SHN_UNDEF)
            return fail(ENOTSUP, fmt::format("relocation at {} names undefined symbol '{}' (extern variables, "
                                             "kfuncs and kconfig are not supported)", where(f, slot), sym.name));
        if (!target)
            return fail(EINVAL, fmt::format("relocation at {} names symbol '{}' with special section index {:#x}",
                                            where(f, slot), sym.name, sym.shndx));
        if (r.type == kReloc64_32) {
            if (insn.code != kOpCall || insn.src_reg != BPF_PSEUDO_CALL)
                return fail(EINVAL, fmt::format("R_BPF_64_32 relocation at {} is not on a local call",
                                                where(f, slot)));
            if (!is_code_section(*target) || sym.value % 8 != 0)
                return fail(EINVAL, fmt::format("call at {} targets '{}' in section '{}', which is not code",
                                                where(f, slot), sym.name, target->name));
            return link_call(l, f, slot, pos, target->index, static_cast<int64_t>(sym.value / 8) + insn.imm + 1);
        }
        // R_BPF_64_64: an lddw of a map, a global-data address or a function.
        if (insn.code != kOpLddw)
            return fail(EINVAL, fmt::format("R_BPF_64_64 relocation at {} is not on an lddw instruction",
                                            where(f, slot)));
        if (is_code_section(*target)) {
            // A function's address (a callback for bpf_loop...): clang leaves
            // src_reg 0 and the byte offset in sym.value + imm, as libbpf reads it.
            const int64_t off = static_cast<int64_t>(sym.value) + insn.imm;
            if (off % 8 != 0)
                return fail(EINVAL, fmt::format("function reference at {} is not to an instruction", where(f, slot)));
            insn.src_reg = BPF_PSEUDO_FUNC;
            l.prog.insns[pos + 1].imm = 0;
            return link_call(l, f, slot, pos, target->index, off / 8);
        }
        if (auto map = map_at(target->index, sym.value)) {
            l.prog.map_refs.push_back({pos, *map, false, 0});
            insn.src_reg = BPF_PSEUDO_MAP_IDX;
            insn.imm = static_cast<int32_t>(*map);
            l.prog.insns[pos + 1].imm = 0;
            return {};
        }
        if (const uint32_t map = data_map_of_section_[target->index]; map != kNoMap) {
            const uint64_t off = sym.value + static_cast<uint32_t>(insn.imm);
            if (off >= out_.maps[map].value_size)
                return fail(EINVAL, fmt::format("reference at {} to '{}' + {} is past the end of section '{}'",
                                                where(f, slot), sym.name, insn.imm, target->name));
            l.prog.map_refs.push_back({pos, map, true, static_cast<uint32_t>(off)});
            insn.src_reg = BPF_PSEUDO_MAP_IDX_VALUE;
            insn.imm = static_cast<int32_t>(map);
            l.prog.insns[pos + 1].imm = static_cast<int32_t>(off);
            return {};
        }
        if (target->name == ".maps" || target->name == "maps")
            return fail(EINVAL, fmt::format("relocation at {} names '{}' at offset {} of '{}', where no map is "
                                            "defined", where(f, slot), sym.name, sym.value, target->name));
        return fail(EINVAL, fmt::format("relocation at {} names '{}' in section '{}', which is neither a map nor "
                                        "global data", where(f, slot), sym.name, target->name));
    }

    // Applies the relocations of one placed function and follows its calls.
    Result<void> link_function(Linking& l, uint32_t func, uint32_t at) {
        const Function f = functions_[func];  // copy: place() may not move functions_, but keep it simple
        const auto& relocs = code_relocs_[f.section];
        for (uint32_t i = 0; i < f.count;) {
            const uint32_t slot = f.start + i;
            const uint32_t pos = at + i;
            const bpf_insn insn = l.prog.insns[pos];
            const bool wide = insn.code == kOpLddw;
            if (wide && i + 1 >= f.count)
                return fail(EINVAL, fmt::format("lddw at {} misses its second slot", where(f, slot)));
            if (auto it = relocs.find(slot); it != relocs.end()) {
                if (auto r = apply_relocation(l, f, slot, pos, it->second); !r) return r;
            } else if ((insn.code == kOpCall && insn.src_reg == BPF_PSEUDO_CALL) ||
                       (wide && insn.src_reg == BPF_PSEUDO_FUNC)) {
                // A call within the section needs no relocation: imm is relative.
                if (auto r = link_call(l, f, slot, pos, f.section, int64_t{slot} + insn.imm + 1); !r) return r;
            } else if (insn.code == kOpCall && insn.src_reg == BPF_PSEUDO_KFUNC_CALL) {
                return fail(ENOTSUP, fmt::format("kfunc call at {} is not supported", where(f, slot)));
            }
            i += wide ? 2 : 1;
        }
        return {};
    }

    void attach_line_info(Linking& l) const {
        for (const auto& [func, at] : l.placed) {
            const Function& f = functions_[func];
            for (const auto& rec : line_info_[f.section]) {
                const uint32_t slot = rec.insn_off / 8;
                if (slot < f.start || slot >= f.start + f.count) continue;
                l.prog.line_info.push_back({at + (slot - f.start), rec.file, rec.line, rec.column, rec.text});
            }
        }
        std::stable_sort(l.prog.line_info.begin(), l.prog.line_info.end(),
                         [](const SourceLine& a, const SourceLine& b) { return a.insn_off < b.insn_off; });
    }

    Result<void> link_programs() {
        for (uint32_t func = 0; func < functions_.size(); ++func) {
            const Function& f = functions_[func];
            Linking l;
            l.prog.name = f.name;
            l.prog.section = elf_.sections[f.section].name;
            if (auto t = program_type_of_section(l.prog.section)) {
                l.prog.type = t->prog_type;
                l.prog.expected_attach_type = t->expected_attach_type;
            }
            l.prog.autoload = entry_[func];
            place(l, func);
            // placed grows while we walk it: each new subprogram is linked in turn.
            for (size_t p = 0; p < l.placed.size(); ++p) {
                const auto [fn, at] = l.placed[p];
                if (auto r = link_function(l, fn, at); !r) return r;
            }
            attach_line_info(l);
            out_.programs.push_back(std::move(l.prog));
        }
        return {};
    }
};

}  // namespace

Result<std::unique_ptr<ObjectFile::State>> parse_object(std::span<const std::byte> bytes, std::string name) {
    auto elf = read_elf(bytes);
    if (!elf) return fail(elf.error().code, fmt::format("{}: {}", name, elf.error().message));
    auto state = std::make_unique<ObjectFile::State>();
    state->name = name;
    Parser parser(*elf, *state);
    if (auto r = parser.run(); !r) return fail(r.error().code, fmt::format("{}: {}", name, r.error().message));
    return state;
}

}  // namespace bpfrt::loader
