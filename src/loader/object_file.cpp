// bpfrt::ObjectFile: the public face of the loader, and load().
#include "loader/object_state.hpp"
#include "maps/map.hpp"

#include <bpfrt/bpf.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace bpfrt {
namespace {

constexpr size_t kMaxObjectSize = size_t{1} << 30;

// A name the Runtime accepts (at most 15 of [A-Za-z0-9_.]), as libbpf
// truncates long program and map names.
std::string runtime_name(std::string_view name) {
    std::string out;
    for (char c : name.substr(0, 15)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        c == '.';
        out.push_back(ok ? c : '_');
    }
    return out;
}

template <class Range, class Name>
auto find_by_name(Range& range, std::string_view name, Name get) -> decltype(&*range.begin()) {
    auto it = std::find_if(range.begin(), range.end(), [&](auto& x) { return get(x) == name; });
    return it == range.end() ? nullptr : &*it;
}

}  // namespace

ObjectFile::ObjectFile(std::unique_ptr<State> state) noexcept : state_(std::move(state)) {}
ObjectFile::ObjectFile(ObjectFile&&) noexcept = default;
ObjectFile& ObjectFile::operator=(ObjectFile&&) noexcept = default;
ObjectFile::~ObjectFile() = default;

Result<ObjectFile> ObjectFile::open(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(errno ? errno : ENOENT, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    std::vector<char> bytes;
    in.seekg(0, std::ios::end);
    const auto size = in.tellg();
    if (size < 0 || static_cast<size_t>(size) > kMaxObjectSize)
        return fail(EFBIG, fmt::format("{}: not a regular file of at most 1 GiB", path));
    in.seekg(0);
    bytes.resize(static_cast<size_t>(size));
    if (!in.read(bytes.data(), size)) return fail(EIO, fmt::format("cannot read {}", path));
    return open_bytes(std::as_bytes(std::span<const char>(bytes)), path);
}

Result<ObjectFile> ObjectFile::open_bytes(std::span<const std::byte> bytes, std::string name) {
    auto state = loader::parse_object(bytes, std::move(name));
    if (!state) return std::unexpected(state.error());
    return ObjectFile(std::move(*state));
}

const std::string& ObjectFile::name() const noexcept { return state_->name; }
const std::string& ObjectFile::license() const noexcept { return state_->license; }
std::optional<uint32_t> ObjectFile::kernel_version() const noexcept { return state_->kernel_version; }
std::span<ObjectProgram> ObjectFile::programs() noexcept { return state_->programs; }
std::span<const ObjectProgram> ObjectFile::programs() const noexcept { return state_->programs; }
std::span<ObjectMap> ObjectFile::maps() noexcept { return state_->maps; }
std::span<const ObjectMap> ObjectFile::maps() const noexcept { return state_->maps; }
std::span<const GlobalVariable> ObjectFile::globals() const noexcept { return state_->globals; }
bool ObjectFile::loaded() const noexcept { return state_->loaded; }

ObjectProgram* ObjectFile::find_program(std::string_view name) noexcept {
    return find_by_name(state_->programs, name, [](const ObjectProgram& p) -> const std::string& { return p.name; });
}
const ObjectProgram* ObjectFile::find_program(std::string_view name) const noexcept {
    return const_cast<ObjectFile*>(this)->find_program(name);
}
ObjectMap* ObjectFile::find_map(std::string_view name) noexcept {
    return find_by_name(state_->maps, name, [](const ObjectMap& m) -> const std::string& { return m.name; });
}
const ObjectMap* ObjectFile::find_map(std::string_view name) const noexcept {
    return const_cast<ObjectFile*>(this)->find_map(name);
}
const GlobalVariable* ObjectFile::find_global(std::string_view name) const noexcept {
    const auto& globals = state_->globals;
    auto it = std::find_if(globals.begin(), globals.end(), [&](const GlobalVariable& g) { return g.name == name; });
    return it == globals.end() ? nullptr : &*it;
}

Result<void> ObjectFile::set_global(std::string_view name, std::span<const std::byte> value) {
    if (state_->maps_created)
        return fail(EBUSY, fmt::format("cannot set '{}': the object's maps are already created", name));
    const GlobalVariable* var = find_global(name);
    if (!var) return fail(EINVAL, fmt::format("no global variable '{}' in {}", name, state_->name));
    if (value.size() != var->size)
        return fail(EINVAL, fmt::format("global '{}' has {} bytes, not {}", name, var->size, value.size()));
    ObjectMap* map = find_map(var->section);
    // The parser checked offset + size against the section, the map's size.
    if (!map || map->initial.size() < size_t{var->offset} + var->size)
        return fail(EINVAL, fmt::format("global '{}': no data map for section '{}'", name, var->section));
    std::copy(value.begin(), value.end(), map->initial.begin() + var->offset);
    return {};
}

Result<std::vector<bpf_insn>> ObjectFile::resolved_insns(const ObjectProgram& prog) const {
    std::vector<bpf_insn> insns = prog.insns;
    for (const auto& ref : prog.map_refs) {
        if (ref.map_index >= state_->maps.size() || size_t{ref.insn_off} + 1 >= insns.size())
            return fail(EINVAL, fmt::format("program '{}': bad map reference at insn {}", prog.name, ref.insn_off));
        const ObjectMap& map = state_->maps[ref.map_index];
        if (map.fd < 0)
            return fail(EINVAL, fmt::format("program '{}': map '{}' is not created yet", prog.name, map.name));
        bpf_insn& insn = insns[ref.insn_off];
        insn.src_reg = ref.value ? BPF_PSEUDO_MAP_VALUE : BPF_PSEUDO_MAP_FD;
        insn.imm = map.fd;
        insns[ref.insn_off + 1].imm = static_cast<int32_t>(ref.value_off);
    }
    return insns;
}

namespace {

MapCreate map_create_input(const ObjectMap& map) {
    MapCreate in;
    in.map_type = map.type;
    in.key_size = map.key_size;
    in.value_size = map.value_size;
    in.max_entries = map.max_entries;
    in.map_flags = map.map_flags;
    in.name = runtime_name(map.name);
    if (map.btf_value_type_id != 0) in.value_btf = MapCreate::ValueBtf{map.spin_lock_off};
    return in;
}

}  // namespace

Result<MapHandle> ObjectFile::create_map(Runtime& runtime, ObjectMap& map) {
    // As libbpf: a perf event array left at 0 entries gets one per possible CPU.
    if (map.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && map.max_entries == 0) map.max_entries = maps::possible_cpus();
    MapCreate in = map_create_input(map);
    MapHandle inner;  // the template: the map-in-map keeps what it needs of it
    if (map.inner) {
        auto made = runtime.map_create(map_create_input(*map.inner));
        if (!made)
            return fail(made.error().code, fmt::format("{}: inner map of '{}' ({}): {}", state_->name, map.name,
                                                       map_type_name(map.inner->type), made.error().message));
        inner = std::move(*made);
        in.inner_map_fd = inner.fd();
    }
    auto handle = runtime.map_create(in);
    if (!handle)
        return fail(handle.error().code, fmt::format("{}: map '{}' ({}): {}", state_->name, map.name,
                                                     map_type_name(map.type), handle.error().message));
    return handle;
}

// Writes `.values` slots naming objects of kind `prog_array` (programs) or
// map-in-map (maps): each slot gets the target's handle.
Result<void> ObjectFile::fill_slots(Runtime& runtime, bool prog_array) {
    for (const ObjectMap& map : state_->maps) {
        if ((map.type == BPF_MAP_TYPE_PROG_ARRAY) != prog_array) continue;
        for (const ObjectMap::SlotInit& init : map.slot_inits) {
            int fd = -1;
            if (prog_array) {
                const ObjectProgram* prog = find_program(init.target);
                if (prog == nullptr || prog->fd < 0) continue;  // not loaded (autoload off): the slot stays empty
                fd = prog->fd;
            } else {
                const ObjectMap* target = find_map(init.target);
                fd = target != nullptr ? target->fd : -1;
            }
            const uint32_t key = init.slot;
            MapUpdateElem update;
            update.map_fd = map.fd;
            update.key = std::as_bytes(std::span<const uint32_t, 1>(&key, 1));
            update.value = std::as_bytes(std::span<const int, 1>(&fd, 1));
            if (auto ok = runtime.map_update_elem(update); !ok)
                return fail(ok.error().code, fmt::format("{}: map '{}': .values[{}] = '{}': {}", state_->name,
                                                         map.name, init.slot, init.target, ok.error().message));
        }
    }
    return {};
}

Result<void> ObjectFile::create_maps(Runtime& runtime) {
    if (state_->maps_created) return fail(EBUSY, fmt::format("{}: maps are already created", state_->name));
    state_->maps_created = true;
    for (auto& map : state_->maps) {
        auto handle = create_map(runtime, map);
        if (!handle) return std::unexpected(handle.error());
        map.fd = handle->fd();
        state_->map_handles.push_back(std::move(*handle));
        if (map.initial.empty()) continue;
        const uint32_t key = 0;
        MapUpdateElem update;
        update.map_fd = map.fd;
        update.key = std::as_bytes(std::span<const uint32_t, 1>(&key, 1));
        update.value = map.initial;
        if (auto ok = runtime.map_update_elem(update); !ok)
            return fail(ok.error().code, fmt::format("{}: writing the initial value of '{}': {}", state_->name,
                                                     map.name, ok.error().message));
    }
    return fill_slots(runtime, false);
}

Result<void> ObjectFile::load_program(Runtime& runtime, ObjectProgram& prog, const ObjectLoadOptions& options) {
    if (prog.fd >= 0) return fail(EBUSY, fmt::format("{}: program '{}' is already loaded", state_->name, prog.name));
    if (!state_->maps_created)
        if (auto ok = create_maps(runtime); !ok) return ok;
    const uint32_t type = options.prog_type.value_or(prog.type);
    if (type == BPF_PROG_TYPE_UNSPEC)
        return fail(EINVAL, fmt::format("{}: program '{}': section '{}' does not tell the program type "
                                        "(unknown section name)", state_->name, prog.name, prog.section));
    auto insns = resolved_insns(prog);
    if (!insns) return std::unexpected(insns.error());
    ProgLoad in;
    in.prog_type = type;
    in.insns = *insns;
    in.license = state_->license;
    in.log_level = options.log_level;
    in.log_limit = options.log_limit;
    in.expected_attach_type = options.prog_type ? 0 : prog.expected_attach_type;
    in.name = runtime_name(prog.name);
    in.kern_version = state_->kernel_version.value_or(0);
    in.line_info = prog.line_info;
    auto result = runtime.prog_load(in);
    prog.load_log = std::move(result.log);
    if (!result.program)
        return fail(result.program.error().code,
                    fmt::format("{}: program '{}' (section '{}'): {}", state_->name, prog.name, prog.section,
                                result.program.error().message));
    prog.fd = result.program->fd();
    state_->program_handles.push_back(std::move(*result.program));
    return fill_slots(runtime, true);
}

Result<void> ObjectFile::load(Runtime& runtime, const ObjectLoadOptions& options) {
    if (state_->loaded) return fail(EBUSY, fmt::format("{}: already loaded", state_->name));
    if (!state_->maps_created)
        if (auto ok = create_maps(runtime); !ok) return ok;
    state_->loaded = true;
    for (auto& prog : state_->programs) {
        if (!prog.autoload || prog.fd >= 0) continue;
        if (auto ok = load_program(runtime, prog, options); !ok) return ok;
    }
    return {};
}

}  // namespace bpfrt
