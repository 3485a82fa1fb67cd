// The host kernel's verdict on a corpus program, through Debian's libbpf.
//
// Objects with BTF-defined maps are opened and loaded with libbpf
// (bpf_object__load with only the wanted program autoloaded). libbpf 1.x no
// longer reads legacy `struct bpf_map_def SEC("maps")` definitions, so those
// objects go through a small ELF reader here that creates the maps and
// patches their ld_imm64 relocations before bpf_prog_load.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace bpfrt::corpus {

struct ObjectProgram {
    std::string program;
    std::string section;
    uint32_t prog_type_id = 0;
    uint32_t expected_attach_type = 0;
    bool legacy_maps = false;
};

// The programs of an object, without the kernel. Empty with `error` set when
// the object cannot be read.
std::vector<ObjectProgram> list_object_programs(const std::filesystem::path& object, std::string& error);

// libbpf's name for a program type ("xdp", "sched_cls", ...).
std::string prog_type_name(uint32_t prog_type_id);

// True when this process may use bpf(); otherwise `why` says why not.
bool kernel_bpf_permitted(std::string& why);

struct KernelLoad {
    bool accepted = false;
    int error = 0;             // errno of a rejected load
    std::string log;           // the verifier log (log_level 1|4 when rejected, stats when accepted)
    uint32_t insn_count = 0;   // instructions given to the kernel
    uint32_t verified_insns = 0;
    uint64_t load_time_ns = 0; // median wall time of `timing_runs` extra loads (accepted only)
    std::string problem;       // a failure that is not the kernel's verdict (libbpf, ELF)
};

KernelLoad kernel_load_program(const std::filesystem::path& object, const std::string& program,
                               int timing_runs = 0);

}  // namespace bpfrt::corpus
