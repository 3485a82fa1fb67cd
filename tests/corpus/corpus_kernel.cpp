#include "corpus_kernel.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dlfcn.h>
#include <elf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>

namespace bpfrt::corpus {
namespace {

// libbpf prints its own diagnostics to stderr; keep them out of test output.
int quiet_print(enum libbpf_print_level, const char*, va_list) { return 0; }

void silence_libbpf() {
    static bool done = false;
    if (!done) libbpf_set_print(quiet_print);
    done = true;
}

struct ObjectCloser {
    void operator()(bpf_object* obj) const { bpf_object__close(obj); }
};
using ObjectPtr = std::unique_ptr<bpf_object, ObjectCloser>;

class FdGuard {
public:
    explicit FdGuard(int fd) : fd_(fd) {}
    FdGuard(const FdGuard&) = delete;
    FdGuard& operator=(const FdGuard&) = delete;
    ~FdGuard() { if (fd_ >= 0) close(fd_); }
    int get() const { return fd_; }
private:
    int fd_;
};

constexpr uint32_t kStatsLogLevel = 4;      // BPF_LOG_STATS: errors and totals only
constexpr uint32_t kDetailLogLevel = 1 | 4; // the instruction trace as well
constexpr size_t kStatsLogSize = 1u << 20;
constexpr size_t kDetailLogSize = 16u << 20;  // the kernel keeps the tail when it overflows

uint64_t now_ns() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
        std::chrono::steady_clock::now().time_since_epoch()).count());
}

uint64_t median(std::vector<uint64_t> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

std::string c_string(const std::vector<char>& buf) {
    return std::string(buf.data(), strnlen(buf.data(), buf.size()));
}

// ---- raw ELF, for objects with legacy map definitions ----------------------

struct Elf {
    std::vector<char> bytes;
    const Elf64_Ehdr* header = nullptr;
    std::vector<const Elf64_Shdr*> sections;

    template <class T>
    const T* at(uint64_t offset, uint64_t count = 1) const {
        if (offset > bytes.size() || count > (bytes.size() - offset) / sizeof(T)) return nullptr;
        return reinterpret_cast<const T*>(bytes.data() + offset);
    }
    std::string section_name(const Elf64_Shdr* sec) const {
        const Elf64_Shdr* names = sections.at(header->e_shstrndx);
        return string_at(names, sec->sh_name);
    }
    std::string string_at(const Elf64_Shdr* table, uint64_t index) const {
        if (index >= table->sh_size) return {};
        const char* start = at<char>(table->sh_offset + index, table->sh_size - index);
        return start ? std::string(start, strnlen(start, table->sh_size - index)) : std::string{};
    }
    int find_section(const std::string& name) const {
        for (size_t i = 0; i < sections.size(); ++i)
            if (section_name(sections[i]) == name) return static_cast<int>(i);
        return -1;
    }
    const Elf64_Shdr* symtab() const {
        for (const Elf64_Shdr* s : sections)
            if (s->sh_type == SHT_SYMTAB) return s;
        return nullptr;
    }
};

std::optional<Elf> read_elf(const std::filesystem::path& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = path.string() + ": cannot open";
        return std::nullopt;
    }
    Elf elf;
    elf.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    elf.header = elf.at<Elf64_Ehdr>(0);
    if (!elf.header || std::memcmp(elf.header->e_ident, ELFMAG, SELFMAG) != 0 ||
        elf.header->e_ident[EI_CLASS] != ELFCLASS64 || elf.header->e_machine != EM_BPF) {
        error = path.string() + ": not a 64-bit eBPF ELF object";
        return std::nullopt;
    }
    const Elf64_Shdr* table = elf.at<Elf64_Shdr>(elf.header->e_shoff, elf.header->e_shnum);
    if (!table || elf.header->e_shstrndx >= elf.header->e_shnum) {
        error = path.string() + ": section header table out of the file";
        return std::nullopt;
    }
    for (unsigned i = 0; i < elf.header->e_shnum; ++i) {
        if (table[i].sh_type != SHT_NOBITS && !elf.at<char>(table[i].sh_offset, table[i].sh_size)) {
            error = path.string() + ": section " + std::to_string(i) + " out of the file";
            return std::nullopt;
        }
        elf.sections.push_back(&table[i]);
    }
    return elf;
}

bool has_legacy_maps(const std::filesystem::path& path) {
    std::string error;
    std::optional<Elf> elf = read_elf(path, error);
    return elf && elf->find_section("maps") >= 0;
}

struct ElfProgram {
    std::string name;
    int section = -1;
};

std::vector<ElfProgram> elf_programs(const Elf& elf) {
    std::vector<ElfProgram> out;
    const Elf64_Shdr* symtab = elf.symtab();
    if (!symtab || symtab->sh_link >= elf.sections.size()) return out;
    const Elf64_Shdr* strtab = elf.sections[symtab->sh_link];
    const Elf64_Sym* syms = elf.at<Elf64_Sym>(symtab->sh_offset, symtab->sh_size / sizeof(Elf64_Sym));
    if (!syms) return out;
    for (size_t i = 0; i < symtab->sh_size / sizeof(Elf64_Sym); ++i) {
        const Elf64_Sym& sym = syms[i];
        if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || ELF64_ST_BIND(sym.st_info) != STB_GLOBAL) continue;
        if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= elf.sections.size()) continue;
        const Elf64_Shdr* sec = elf.sections[sym.st_shndx];
        if (!(sec->sh_flags & SHF_EXECINSTR) || elf.section_name(sec) == ".text") continue;
        out.push_back({elf.string_at(strtab, sym.st_name), static_cast<int>(sym.st_shndx)});
    }
    return out;
}

struct LegacyMapDef {
    uint32_t type, key_size, value_size, max_entries, map_flags;
};

// Creates the maps of a legacy object and returns the program's instructions
// with their ld_imm64 map relocations resolved to the new descriptors.
bool prepare_legacy(const Elf& elf, const ElfProgram& prog, std::vector<bpf_insn>& insns,
                    std::vector<std::unique_ptr<FdGuard>>& maps, std::string& error) {
    const Elf64_Shdr* code = elf.sections[prog.section];
    const bpf_insn* first = elf.at<bpf_insn>(code->sh_offset, code->sh_size / sizeof(bpf_insn));
    if (!first) {
        error = "program section out of the file";
        return false;
    }
    insns.assign(first, first + code->sh_size / sizeof(bpf_insn));

    const int maps_index = elf.find_section("maps");
    const Elf64_Shdr* symtab = elf.symtab();
    if (!symtab || symtab->sh_link >= elf.sections.size()) {
        error = "no symbol table";
        return false;
    }
    const Elf64_Shdr* strtab = elf.sections[symtab->sh_link];
    const size_t nsyms = symtab->sh_size / sizeof(Elf64_Sym);
    const Elf64_Sym* syms = elf.at<Elf64_Sym>(symtab->sh_offset, nsyms);
    if (!syms) {
        error = "symbol table out of the file";
        return false;
    }
    std::vector<int> map_fd_of_symbol(nsyms, -1);
    for (size_t i = 0; i < nsyms; ++i) {
        if (maps_index < 0 || syms[i].st_shndx != maps_index || ELF64_ST_TYPE(syms[i].st_info) != STT_OBJECT)
            continue;
        const Elf64_Shdr* maps_sec = elf.sections[maps_index];
        LegacyMapDef def{};
        if (syms[i].st_value + sizeof(def) > maps_sec->sh_size) {
            error = "map definition out of the maps section";
            return false;
        }
        std::memcpy(&def, elf.bytes.data() + maps_sec->sh_offset + syms[i].st_value, sizeof(def));
        LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = def.map_flags);
        std::string name = elf.string_at(strtab, syms[i].st_name).substr(0, BPF_OBJ_NAME_LEN - 1);
        int fd = bpf_map_create(static_cast<bpf_map_type>(def.type), name.c_str(), def.key_size,
                                def.value_size, def.max_entries, &opts);
        if (fd < 0) {
            error = "cannot create legacy map " + name + ": " + std::strerror(errno);
            return false;
        }
        maps.push_back(std::make_unique<FdGuard>(fd));
        map_fd_of_symbol[i] = fd;
    }

    for (const Elf64_Shdr* rel : elf.sections) {
        if (rel->sh_type != SHT_REL || rel->sh_info != static_cast<unsigned>(prog.section)) continue;
        const size_t count = rel->sh_size / sizeof(Elf64_Rel);
        const Elf64_Rel* rels = elf.at<Elf64_Rel>(rel->sh_offset, count);
        for (size_t r = 0; rels && r < count; ++r) {
            const size_t sym = ELF64_R_SYM(rels[r].r_info);
            const size_t index = rels[r].r_offset / sizeof(bpf_insn);
            if (sym >= nsyms || index >= insns.size() || map_fd_of_symbol[sym] < 0 ||
                insns[index].code != (BPF_LD | BPF_IMM | BPF_DW)) {
                error = "relocation " + std::to_string(r) + " is not a legacy map reference "
                        "(the corpus's legacy objects keep to one section without subprograms)";
                return false;
            }
            insns[index].src_reg = BPF_PSEUDO_MAP_FD;
            insns[index].imm = map_fd_of_symbol[sym];
        }
    }
    return true;
}

std::string section_of(const Elf& elf, const ElfProgram& p) { return elf.section_name(elf.sections[p.section]); }

// ---- one load, with or without a log -----------------------------------------

struct RawLoad {
    bpf_prog_type type = BPF_PROG_TYPE_UNSPEC;
    bpf_attach_type attach = static_cast<bpf_attach_type>(0);
    std::string name;
    std::string license = "GPL";
    std::vector<bpf_insn> insns;
    uint32_t prog_flags = 0;
    uint32_t kern_version = 0;
    int btf_fd = -1;  // owned by the bpf_object, which outlives the RawLoad's use
    std::vector<char> func_info, line_info;
    uint32_t func_info_rec_size = 0, line_info_rec_size = 0;
};

using BpfProgLoadFn = int (*)(bpf_prog_type, const char*, const char*, const bpf_insn*, size_t,
                              const bpf_prog_load_opts*);

// libbpf's own bpf_prog_load (this file defines an interposer of the same name).
BpfProgLoadFn real_bpf_prog_load() {
    static BpfProgLoadFn real = [] {
        void* fn = dlvsym(RTLD_NEXT, "bpf_prog_load", "LIBBPF_0.6.0");
        if (!fn) fn = dlsym(RTLD_NEXT, "bpf_prog_load");
        return reinterpret_cast<BpfProgLoadFn>(fn);
    }();
    return real;
}

// While `capturing`, the interposer records what libbpf hands the kernel for
// the program named `name`, so that it can be loaded again identically.
struct Capture {
    bool capturing = false;
    std::string name;
    bool captured = false;
    RawLoad load;
};
Capture g_capture;

void copy_records(const void* from, uint32_t count, uint32_t rec_size, std::vector<char>& to) {
    to.clear();
    if (from && count && rec_size) {
        const char* bytes = static_cast<const char*>(from);
        to.assign(bytes, bytes + static_cast<size_t>(count) * rec_size);
    }
}

void capture(bpf_prog_type type, const char* name, const char* license, const bpf_insn* insns, size_t count,
             const bpf_prog_load_opts* opts) {
    if (!g_capture.capturing || !name || g_capture.name != name) return;
    RawLoad& load = g_capture.load;
    load = RawLoad{};
    load.type = type;
    load.name = g_capture.name;
    load.license = license ? license : "";
    load.insns.assign(insns, insns + count);
    if (opts) {
        load.attach = opts->expected_attach_type;
        load.prog_flags = opts->prog_flags;
        load.kern_version = opts->kern_version;
        load.btf_fd = opts->prog_btf_fd ? static_cast<int>(opts->prog_btf_fd) : -1;
        copy_records(opts->func_info, opts->func_info_cnt, opts->func_info_rec_size, load.func_info);
        load.func_info_rec_size = opts->func_info_rec_size;
        copy_records(opts->line_info, opts->line_info_cnt, opts->line_info_rec_size, load.line_info);
        load.line_info_rec_size = opts->line_info_rec_size;
    }
    g_capture.captured = true;
}

int raw_prog_load(const RawLoad& load, uint32_t log_level, std::vector<char>* log) {
    LIBBPF_OPTS(bpf_prog_load_opts, opts);
    opts.expected_attach_type = load.attach;
    opts.prog_flags = load.prog_flags;
    opts.kern_version = load.kern_version;
    if (load.btf_fd >= 0) opts.prog_btf_fd = static_cast<uint32_t>(load.btf_fd);
    if (!load.func_info.empty()) {
        opts.func_info = load.func_info.data();
        opts.func_info_rec_size = load.func_info_rec_size;
        opts.func_info_cnt = static_cast<uint32_t>(load.func_info.size() / load.func_info_rec_size);
    }
    if (!load.line_info.empty()) {
        opts.line_info = load.line_info.data();
        opts.line_info_rec_size = load.line_info_rec_size;
        opts.line_info_cnt = static_cast<uint32_t>(load.line_info.size() / load.line_info_rec_size);
    }
    if (log) {
        opts.log_level = log_level;
        opts.log_buf = log->data();
        opts.log_size = static_cast<uint32_t>(log->size());
    }
    std::string name = load.name.substr(0, BPF_OBJ_NAME_LEN - 1);
    BpfProgLoadFn real = real_bpf_prog_load();
    if (!real) {
        errno = ENOSYS;
        return -ENOSYS;
    }
    int fd = real(load.type, name.c_str(), load.license.c_str(), load.insns.data(), load.insns.size(), &opts);
    return fd < 0 ? -errno : fd;
}

uint64_t time_loads(const RawLoad& load, int runs) {
    std::vector<uint64_t> times;
    for (int i = 0; i < runs; ++i) {
        const uint64_t start = now_ns();
        int fd = raw_prog_load(load, 0, nullptr);
        const uint64_t elapsed = now_ns() - start;
        if (fd < 0) return 0;
        close(fd);
        times.push_back(elapsed);
    }
    return median(times);
}

uint32_t verified_insns_of(int prog_fd) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return 0;
    return info.verified_insns;
}

// A rejected program is loaded a second time with the instruction trace so
// that the log ends with the failing instruction and the kernel's message.
void add_detailed_log(const RawLoad& load, KernelLoad& out) {
    std::vector<char> log(kDetailLogSize, '\0');
    raw_prog_load(load, kDetailLogLevel, &log);
    out.log = c_string(log);
}

KernelLoad load_legacy(const std::filesystem::path& object, const std::string& program, int timing_runs) {
    KernelLoad out;
    std::string error;
    std::optional<Elf> elf = read_elf(object, error);
    if (!elf) {
        out.problem = error;
        return out;
    }
    std::vector<ElfProgram> programs = elf_programs(*elf);
    auto it = std::find_if(programs.begin(), programs.end(), [&](const ElfProgram& p) { return p.name == program; });
    if (it == programs.end()) {
        out.problem = object.string() + ": no program " + program;
        return out;
    }
    RawLoad load;
    load.name = program;
    if (libbpf_prog_type_by_name(section_of(*elf, *it).c_str(), &load.type, &load.attach) != 0) {
        out.problem = "libbpf does not know the section " + section_of(*elf, *it);
        return out;
    }
    std::vector<std::unique_ptr<FdGuard>> maps;
    if (!prepare_legacy(*elf, *it, load.insns, maps, out.problem)) return out;
    out.insn_count = static_cast<uint32_t>(load.insns.size());

    std::vector<char> log(kStatsLogSize, '\0');
    int fd = raw_prog_load(load, kStatsLogLevel, &log);
    out.log = c_string(log);
    if (fd < 0) {
        out.error = -fd;
        add_detailed_log(load, out);
        return out;
    }
    FdGuard guard(fd);
    out.accepted = true;
    out.verified_insns = verified_insns_of(fd);
    out.load_time_ns = time_loads(load, timing_runs);
    return out;
}

KernelLoad load_with_libbpf(const std::filesystem::path& object, const std::string& program, int timing_runs) {
    KernelLoad out;
    ObjectPtr obj(bpf_object__open_file(object.c_str(), nullptr));
    if (!obj) {
        out.problem = object.string() + ": libbpf cannot open it: " + std::strerror(errno);
        return out;
    }
    bpf_program* target = nullptr;
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj.get()) {
        const bool wanted = program == bpf_program__name(p);
        bpf_program__set_autoload(p, wanted);
        if (wanted) target = p;
    }
    if (!target) {
        out.problem = object.string() + ": no program " + program;
        return out;
    }
    std::vector<char> log(kStatsLogSize, '\0');
    bpf_program__set_log_level(target, kStatsLogLevel);
    bpf_program__set_log_buf(target, log.data(), log.size());
    g_capture = Capture{true, program, false, {}};
    const int err = bpf_object__load(obj.get());
    g_capture.capturing = false;
    out.log = c_string(log);
    out.insn_count = static_cast<uint32_t>(bpf_program__insn_cnt(target));

    if (err != 0) {
        out.error = -err;
        if (out.log.empty()) {
            // libbpf stopped before the kernel saw the program (or the kernel
            // said nothing): not a verifier verdict.
            out.problem = "bpf_object__load failed without a verifier log: " + std::string(std::strerror(-err));
            return out;
        }
        // The maps are gone with the failed object, so the detailed pass
        // loads the object again with the instruction trace.
        ObjectPtr again(bpf_object__open_file(object.c_str(), nullptr));
        if (!again) return out;
        bpf_program* q = nullptr;
        bpf_program* retry = nullptr;
        bpf_object__for_each_program(q, again.get()) {
            const bool wanted = program == bpf_program__name(q);
            bpf_program__set_autoload(q, wanted);
            if (wanted) retry = q;
        }
        std::vector<char> detailed(kDetailLogSize, '\0');
        bpf_program__set_log_level(retry, kDetailLogLevel);
        bpf_program__set_log_buf(retry, detailed.data(), detailed.size());
        bpf_object__load(again.get());
        if (detailed[0] != '\0') out.log = c_string(detailed);
        return out;
    }
    out.accepted = true;
    const int fd = bpf_program__fd(target);
    out.verified_insns = verified_insns_of(fd);
    // The timing loads repeat libbpf's own BPF_PROG_LOAD (same instructions,
    // BTF, func and line info) without a log, while the object's maps and
    // BTF are still open.
    if (timing_runs > 0) {
        if (!g_capture.captured) {
            out.problem = "libbpf's BPF_PROG_LOAD for " + program + " was not seen; cannot time it";
            return out;
        }
        out.load_time_ns = time_loads(g_capture.load, timing_runs);
        if (out.load_time_ns == 0) out.problem = "repeating libbpf's BPF_PROG_LOAD for " + program + " failed";
    }
    return out;
}

}  // namespace

std::string prog_type_name(uint32_t prog_type_id) {
    const char* name = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(prog_type_id));
    return name ? name : "type" + std::to_string(prog_type_id);
}

std::vector<ObjectProgram> list_object_programs(const std::filesystem::path& object, std::string& error) {
    silence_libbpf();
    std::vector<ObjectProgram> out;
    if (has_legacy_maps(object)) {
        std::optional<Elf> elf = read_elf(object, error);
        if (!elf) return out;
        for (const ElfProgram& p : elf_programs(*elf)) {
            ObjectProgram entry{p.name, section_of(*elf, p), 0, 0, true};
            bpf_prog_type type{};
            bpf_attach_type attach{};
            if (libbpf_prog_type_by_name(entry.section.c_str(), &type, &attach) == 0) {
                entry.prog_type_id = type;
                entry.expected_attach_type = attach;
            }
            out.push_back(entry);
        }
        return out;
    }
    ObjectPtr obj(bpf_object__open_file(object.c_str(), nullptr));
    if (!obj) {
        error = object.string() + ": libbpf cannot open it: " + std::strerror(errno);
        return out;
    }
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, obj.get()) {
        out.push_back({bpf_program__name(p), bpf_program__section_name(p),
                       static_cast<uint32_t>(bpf_program__type(p)),
                       static_cast<uint32_t>(bpf_program__expected_attach_type(p)), false});
    }
    return out;
}

bool kernel_bpf_permitted(std::string& why) {
    silence_libbpf();
    const int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "probe", 4, 4, 1, nullptr);
    if (fd >= 0) {
        close(fd);
        return true;
    }
    why = std::string("the kernel refuses bpf(BPF_MAP_CREATE): ") + std::strerror(errno);
    return false;
}

KernelLoad kernel_load_program(const std::filesystem::path& object, const std::string& program, int timing_runs) {
    silence_libbpf();
    if (has_legacy_maps(object)) return load_legacy(object, program, timing_runs);
    return load_with_libbpf(object, program, timing_runs);
}

}  // namespace bpfrt::corpus

// Interposes libbpf's bpf_prog_load (libbpf calls it through its PLT), to see
// the exact attributes of the load that bpf_object__load makes.
extern "C" int bpf_prog_load(enum bpf_prog_type prog_type, const char* prog_name, const char* license,
                             const struct bpf_insn* insns, size_t insn_cnt, const struct bpf_prog_load_opts* opts) {
    bpfrt::corpus::capture(prog_type, prog_name, license, insns, insn_cnt, opts);
    bpfrt::corpus::BpfProgLoadFn real = bpfrt::corpus::real_bpf_prog_load();
    if (!real) {
        errno = ENOSYS;
        return -ENOSYS;
    }
    return real(prog_type, prog_name, license, insns, insn_cnt, opts);
}
