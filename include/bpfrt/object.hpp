// Loading ELF objects compiled with `clang -O2 -g -target bpf`, in the
// spirit of libbpf's skeletons:
//
//   auto obj = bpfrt::ObjectFile::open("prog.o");          // parse, link, check
//   if (!obj) { report(obj.error().message); }
//   obj->set_global("match_protocol", uint32_t{6});        // .rodata config
//   bpfrt::Runtime rt;
//   if (auto r = obj->load(rt); !r) { ... }                // maps, then programs
//   int prog_fd = obj->find_program("count_matching")->fd;
//
// open() reads every program by libbpf's section-name conventions (one
// program per global function of an executable section), appends the
// subprograms each program calls (bpf-to-bpf calls into .text), reads maps
// from BTF-defined `.maps` and the legacy `maps` section, turns .data,
// .rodata, .bss and .rodata.str1.1 into single-element array maps, and keeps
// the BTF line info of every instruction and the object's BTF, with which
// keys, values and globals decode into typed values (decode_key(),
// decode_value(), to_string()). Until load(), map references in
// the instructions are BPF_PSEUDO_MAP_IDX / BPF_PSEUDO_MAP_IDX_VALUE with imm
// = the index into maps(); load() creates the maps and rewrites them to
// BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE with the handles of the Runtime.
//
// Malformed or hostile objects give an Error (EINVAL, or ENOTSUP for
// features the loader does not implement) naming what is wrong.
#pragma once

#include <bpfrt/error.hpp>
#include <bpfrt/insn.h>
#include <bpfrt/runtime.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

struct btf;  // libbpf's

namespace bpfrt {

// Where a map comes from.
enum class MapOrigin : uint8_t {
    BtfDefined,  // SEC(".maps") with __uint / __type
    Legacy,      // SEC("maps"): struct bpf_map_def
    GlobalData,  // .data, .rodata, .bss, .rodata.str1.1 (and .data.* / .rodata.*)
};

struct ObjectMap {
    std::string name;     // symbol name; the section name for global data
    std::string section;  // ELF section it was defined in
    MapOrigin origin = MapOrigin::BtfDefined;
    uint32_t type = 0;    // BPF_MAP_TYPE_*
    uint32_t key_size = 0;
    uint32_t value_size = 0;
    uint32_t max_entries = 0;
    uint32_t map_flags = 0;
    bool read_only = false;             // .rodata: frozen for programs (BPF_F_RDONLY_PROG)
    std::vector<std::byte> initial;     // global data: the value written before programs load
    std::vector<std::string> notes;     // attributes accepted but ignored (pinning, numa_node)
    // BTF types of keys and values (as libbpf's bpf_map__btf_key_type_id):
    // __type(key/value, T), or a legacy map's ____btf_map_NAME; global data
    // has the section's DATASEC as its value type. 0: none.
    uint32_t btf_key_type_id = 0;
    uint32_t btf_value_type_id = 0;
    // The offset of the value's struct bpf_spin_lock (from its BTF type), -1: none.
    int32_t spin_lock_off = -1;
    // ARRAY_OF_MAPS / HASH_OF_MAPS: the inner map template, from
    // __array(values, struct { ... }). Created only to make this map.
    std::shared_ptr<const ObjectMap> inner{};
    // `.values = { [slot] = &target }`: the map (map-in-map) or program
    // (prog array) named `target` goes into `slot` when the object loads
    // (maps when they are created, programs once every program is loaded).
    struct SlotInit {
        uint32_t slot = 0;
        std::string target;
    };
    std::vector<SlotInit> slot_inits;
    int fd = -1;                        // the Runtime handle after load()
};

// A map reference inside a program's instructions (one lddw).
struct MapReference {
    uint32_t insn_off = 0;   // slot of the lddw
    uint32_t map_index = 0;  // index into ObjectFile::maps()
    bool value = false;      // BPF_PSEUDO_MAP_VALUE (global data) instead of MAP_FD
    uint32_t value_off = 0;  // byte offset into the value (global data)
};

struct ObjectProgram {
    std::string name;     // function name
    std::string section;  // ELF section name ("socket", "xdp", "tp/syscalls/...", ".text")
    uint32_t type = 0;    // BPF_PROG_TYPE_* from the section name (0 = unknown)
    uint32_t expected_attach_type = 0;
    // Loaded by load(): programs of recognised sections. Functions in .text
    // (subprograms) are not, but may be loaded by giving them a type.
    bool autoload = true;
    // The linked instructions: the function, then every subprogram it
    // calls (transitively), calls re-targeted. Map references: see above.
    std::vector<bpf_insn> insns;
    std::vector<MapReference> map_refs;
    std::vector<SourceLine> line_info;  // sorted by insn_off
    // After load(): the handle (or -1) and the verifier log of the load.
    int fd = -1;
    std::string load_log;
};

// A global variable of .data / .rodata / .bss (from the BTF DATASEC).
struct GlobalVariable {
    std::string name;
    std::string section;
    uint32_t offset = 0;
    uint32_t size = 0;
    uint32_t btf_type_id = 0;  // the variable's type
};

// A key, a value or a variable decoded with the object's BTF
// (ObjectFile::decode), for printing: typedefs and qualifiers resolved,
// bitfields extracted, char arrays holding text turned into strings.
struct TypedValue {
    enum class Kind : uint8_t {
        Integer,  // `integer` (two's complement when is_signed); chars too
        Bool,     // `integer` is 0 or 1
        Float,    // `real`
        Enum,     // `integer` (is_signed as the enum); `text` the enumerator, "" when none matches
        String,   // `text`: a char array holding printable text up to its NULs
        Pointer,  // `integer`: the address
        Bytes,    // `text`: the bytes in hex, when there is no type to read them by
        Struct,   // `members`, each named (struct, union, or a section's variables)
        Array,    // `members`: the elements
    };
    Kind kind = Kind::Bytes;
    bool is_signed = false;
    std::string name;  // inside a Struct: the member's name
    uint64_t integer = 0;
    double real = 0;
    std::string text;
    std::vector<TypedValue> members;

    int64_t as_signed() const noexcept { return static_cast<int64_t>(integer); }
};

// C-like text: integers in decimal, enums by name, strings quoted, pointers
// in hex, `{field=value, ...}`, `[a, b, ...]`, bytes as hex digits.
std::string to_string(const TypedValue& value);

// Options of ObjectFile::verify().
struct ObjectVerifyOptions {
    std::optional<uint32_t> prog_type;  // override the type from the section name
    uint32_t log_level = 1;             // 0 none, 1 the failing path, 2 every instruction
    bool privileged = true;             // false: the rules for unprivileged users
    // BPF_F_STRICT_ALIGNMENT: packet, context and map value accesses aligned
    // to their size. Off by default, as the kernel on x86-64 (efficient
    // unaligned access) and BPF_PROG_LOAD without the flag.
    bool strict_alignment = false;
};

// The verifier's verdict on one program of an object.
struct ObjectVerdict {
    bool accepted = false;
    int error_code = 0;          // 0 accepted; EACCES rejected; EINVAL malformed; E2BIG too large
    std::string message;         // the root cause in one line (empty when accepted)
    std::string log;             // the verifier log (with source lines from line info)
    uint64_t processed_insns = 0;
    uint32_t max_stack_depth = 0;
    double time_ns = 0;
};

struct ObjectLoadOptions {
    uint32_t log_level = 0;     // verifier log level for every program
    size_t log_limit = 0;       // 0 = unlimited
    std::optional<uint32_t> prog_type;  // override the type of every program loaded
};

class ObjectFile {
public:
    // Parses and links an object. `name` is used in error messages.
    static Result<ObjectFile> open(const std::string& path);
    static Result<ObjectFile> open_bytes(std::span<const std::byte> bytes, std::string name = "<memory>");

    ObjectFile(ObjectFile&&) noexcept;
    ObjectFile& operator=(ObjectFile&&) noexcept;
    // Closes the handles load() opened: the Runtime must outlive the
    // ObjectFile (declare the Runtime first).
    ~ObjectFile();

    const std::string& name() const noexcept;
    const std::string& license() const noexcept;       // "" when there is no license section
    std::optional<uint32_t> kernel_version() const noexcept;  // the `version` section

    std::span<ObjectProgram> programs() noexcept;
    std::span<const ObjectProgram> programs() const noexcept;
    std::span<ObjectMap> maps() noexcept;
    std::span<const ObjectMap> maps() const noexcept;
    std::span<const GlobalVariable> globals() const noexcept;

    ObjectProgram* find_program(std::string_view name) noexcept;
    const ObjectProgram* find_program(std::string_view name) const noexcept;
    ObjectMap* find_map(std::string_view name) noexcept;
    const ObjectMap* find_map(std::string_view name) const noexcept;
    const GlobalVariable* find_global(std::string_view name) const noexcept;

    // The object's BTF, to read with libbpf's btf__* API (<bpf/btf.h>);
    // nullptr when the object has none.
    const struct btf* btf() const noexcept;
    // A BTF type's name as C writes it ("struct flow_key", "__u64",
    // "char[8]", "void *"); "" for id 0, an unknown id or without BTF.
    std::string btf_type_name(uint32_t type_id) const;
    // `bytes` read as BTF type `type_id`. With id 0, without BTF or when the
    // type's size is not bytes.size(): an unsigned Integer for 1, 2, 4 or 8
    // bytes, else Bytes.
    TypedValue decode(uint32_t type_id, std::span<const std::byte> bytes) const;
    // A key of `map`, and one value (of per-CPU maps: one CPU's slot, the
    // first value_size bytes). A global-data map's value is a Struct of its
    // variables by name (Bytes when BTF names none).
    TypedValue decode_key(const ObjectMap& map, std::span<const std::byte> key) const;
    TypedValue decode_value(const ObjectMap& map, std::span<const std::byte> value) const;

    // Sets a global variable's initial value before load(). EINVAL: unknown
    // name or a size that differs from the variable's; EBUSY after load().
    Result<void> set_global(std::string_view name, std::span<const std::byte> value);
    template <class T>
        requires(std::is_trivially_copyable_v<T> && !std::is_convertible_v<const T&, std::span<const std::byte>>)
    Result<void> set_global(std::string_view name, const T& value) {
        return set_global(name, std::span<const std::byte>(reinterpret_cast<const std::byte*>(&value), sizeof(T)));
    }

    // The instructions of `prog` with map references resolved to the fds of
    // the loaded maps (BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE). EINVAL
    // before load() (no fds yet).
    Result<std::vector<bpf_insn>> resolved_insns(const ObjectProgram& prog) const;

    // Runs bpfrt's verifier on `prog` as it would be loaded (its maps as
    // the object defines them, the object's license, the line info) without
    // creating anything. EINVAL when the program type is unknown.
    Result<ObjectVerdict> verify(const ObjectProgram& prog, const ObjectVerifyOptions& options = {}) const;

    // Creates every map in `runtime` (writing global data), then loads every
    // autoload program. On failure the error names the map or program (and
    // carries the verifier's message); handles already opened stay open
    // until the ObjectFile is destroyed. EBUSY if already loaded.
    Result<void> load(Runtime& runtime, const ObjectLoadOptions& options = {});
    // Only creates the maps (for callers that load or verify programs
    // themselves with resolved_insns()).
    Result<void> create_maps(Runtime& runtime);
    // Loads one program (creating the maps first if needed), whether or not
    // it is an autoload program, and puts it into the prog array slots that
    // `.values` gives it. EBUSY if it is loaded already.
    Result<void> load_program(Runtime& runtime, ObjectProgram& prog, const ObjectLoadOptions& options = {});
    bool loaded() const noexcept;

    struct State;

private:
    explicit ObjectFile(std::unique_ptr<State> state) noexcept;
    Result<MapHandle> create_map(Runtime& runtime, ObjectMap& map);
    Result<void> fill_slots(Runtime& runtime, bool prog_array);
    std::unique_ptr<State> state_;
};

// A program's instructions, one per line with its slot number, each C
// source line (from line info) as a `#` comment before its first
// instruction: text the assembler accepts.
std::string disassemble_with_source(const ObjectProgram& prog);

// The BPF_PROG_TYPE_* and expected attach type libbpf gives a section name
// ("socket", "xdp", "kprobe/do_sys_open", ...); nullopt when unknown.
struct SectionType {
    uint32_t prog_type = 0;
    uint32_t expected_attach_type = 0;
};
std::optional<SectionType> program_type_of_section(std::string_view section);

// A program type by its name as written on a command line ("xdp",
// "socket_filter", "sched_cls", "kprobe"...), or nullopt.
std::optional<uint32_t> program_type_by_name(std::string_view name);
// A type's name ("socket_filter") or its number when unknown.
std::string program_type_name(uint32_t prog_type);
std::string map_type_name(uint32_t map_type);

}  // namespace bpfrt
