// Parsing and linking: programs, subprograms, maps of each style, global
// data, relocations and line info of real clang objects.
#include "elf_patch.hpp"

#include <bpfrt/asm.hpp>
#include <bpfrt/bpf.h>
#include <bpfrt/object.hpp>

#include <gtest/gtest.h>

#include <algorithm>

using bpfrt::ObjectFile;
using loader_test::example_path;
using loader_test::test_object_path;

namespace {

ObjectFile open_or_die(const std::string& path) {
    auto obj = ObjectFile::open(path);
    if (!obj) ADD_FAILURE() << obj.error().message;
    return std::move(*obj);
}

const std::vector<std::string> kExamples = {"sockex1", "globals", "subprograms", "bounded_loop", "xdp_parser"};

// Every local call and function reference must land inside the program.
void expect_calls_in_range(const bpfrt::ObjectProgram& prog) {
    const auto n = static_cast<int64_t>(prog.insns.size());
    for (int64_t pc = 0; pc < n; ++pc) {
        const bpf_insn& insn = prog.insns[static_cast<size_t>(pc)];
        const bool call = insn.code == (BPF_JMP | BPF_CALL) && insn.src_reg == BPF_PSEUDO_CALL;
        const bool func = insn.code == (BPF_LD | BPF_IMM | BPF_DW) && insn.src_reg == BPF_PSEUDO_FUNC;
        if (!call && !func) continue;
        const int64_t target = pc + insn.imm + 1;
        EXPECT_GE(target, 0) << prog.name << " insn " << pc;
        EXPECT_LT(target, n) << prog.name << " insn " << pc;
    }
}

}  // namespace

TEST(ObjectFile, EveryExampleOpens) {
    for (const auto& name : kExamples) {
        SCOPED_TRACE(name);
        auto obj = ObjectFile::open(example_path(name));
        ASSERT_TRUE(obj) << obj.error().message;
        EXPECT_FALSE(obj->license().empty());
        size_t entries = 0;
        for (const auto& prog : obj->programs()) {
            if (!prog.autoload) continue;
            ++entries;
            EXPECT_NE(prog.type, 0u) << prog.name;
            EXPECT_FALSE(prog.insns.empty());
            EXPECT_FALSE(prog.line_info.empty()) << prog.name << " has no line info";
            expect_calls_in_range(prog);
        }
        EXPECT_GE(entries, 1u);
    }
}

TEST(ObjectFile, SocketFilterWithBtfArrayMap) {
    auto obj = open_or_die(example_path("sockex1"));
    auto* prog = obj.find_program("bpf_prog1");
    ASSERT_NE(prog, nullptr);
    EXPECT_EQ(prog->section, "socket");
    EXPECT_EQ(prog->type, uint32_t{BPF_PROG_TYPE_SOCKET_FILTER});
    EXPECT_EQ(obj.license(), "GPL");
    auto* map = obj.find_map("my_map");
    ASSERT_NE(map, nullptr);
    EXPECT_EQ(map->origin, bpfrt::MapOrigin::BtfDefined);
    EXPECT_EQ(map->type, uint32_t{BPF_MAP_TYPE_ARRAY});
    EXPECT_EQ(map->key_size, 4u);
    EXPECT_EQ(map->value_size, 8u);
    EXPECT_EQ(map->max_entries, 256u);
    // R_BPF_64_64 against a .maps symbol: lddw with BPF_PSEUDO_MAP_IDX until load.
    ASSERT_EQ(prog->map_refs.size(), 1u);
    const auto& ref = prog->map_refs[0];
    EXPECT_FALSE(ref.value);
    EXPECT_EQ(prog->insns[ref.insn_off].src_reg, BPF_PSEUDO_MAP_IDX);
    EXPECT_EQ(obj.maps()[ref.map_index].name, "my_map");
}

TEST(ObjectFile, GlobalDataMapsAndVariables) {
    auto obj = open_or_die(example_path("globals"));
    for (const char* sec : {".rodata", ".data", ".bss", ".rodata.str1.1"}) {
        auto* m = obj.find_map(sec);
        ASSERT_NE(m, nullptr) << sec;
        EXPECT_EQ(m->origin, bpfrt::MapOrigin::GlobalData);
        EXPECT_EQ(m->type, uint32_t{BPF_MAP_TYPE_ARRAY});
        EXPECT_EQ(m->max_entries, 1u);
        EXPECT_EQ(m->initial.size(), m->value_size);
        const bool ro = std::string_view(sec).starts_with(".rodata");
        EXPECT_EQ(m->read_only, ro) << sec;
        EXPECT_EQ((m->map_flags & BPF_F_RDONLY_PROG) != 0, ro) << sec;
    }
    auto* hash = obj.find_map("bytes_by_source");
    ASSERT_NE(hash, nullptr);
    EXPECT_EQ(hash->type, uint32_t{BPF_MAP_TYPE_HASH});
    EXPECT_EQ(hash->map_flags, uint32_t{BPF_F_NO_PREALLOC});

    // Relocations against global variables: BPF_PSEUDO_MAP_IDX_VALUE + offset.
    const auto* seen = obj.find_global("packets_matched");
    ASSERT_NE(seen, nullptr);
    EXPECT_EQ(seen->section, ".bss");
    auto* prog = obj.find_program("count_matching");
    ASSERT_NE(prog, nullptr);
    const auto bss = static_cast<uint32_t>(obj.find_map(".bss") - obj.maps().data());
    const bool found = std::any_of(prog->map_refs.begin(), prog->map_refs.end(), [&](const auto& r) {
        return r.value && r.map_index == bss && r.value_off == seen->offset &&
               prog->insns[r.insn_off].src_reg == BPF_PSEUDO_MAP_IDX_VALUE &&
               prog->insns[r.insn_off + 1].imm == static_cast<int32_t>(seen->offset);
    });
    EXPECT_TRUE(found);
    // The string literal of bpf_trace_printk lives in .rodata.str1.1.
    const auto str = static_cast<uint32_t>(obj.find_map(".rodata.str1.1") - obj.maps().data());
    EXPECT_TRUE(std::any_of(prog->map_refs.begin(), prog->map_refs.end(),
                            [&](const auto& r) { return r.value && r.map_index == str; }));
}

TEST(ObjectFile, SetGlobalBeforeLoad) {
    auto obj = open_or_die(example_path("globals"));
    const auto* var = obj.find_global("match_protocol");
    ASSERT_NE(var, nullptr);
    EXPECT_EQ(var->section, ".rodata");
    ASSERT_TRUE(obj.set_global("match_protocol", uint32_t{6}));
    const auto& initial = obj.find_map(".rodata")->initial;
    uint32_t value = 0;
    std::memcpy(&value, initial.data() + var->offset, sizeof value);
    EXPECT_EQ(value, 6u);

    auto wrong_size = obj.set_global("match_protocol", uint64_t{6});
    ASSERT_FALSE(wrong_size);
    EXPECT_EQ(wrong_size.error().code, EINVAL);
    auto unknown = obj.set_global("no_such_variable", uint32_t{1});
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("no_such_variable"), std::string::npos);
}

TEST(ObjectFile, SubprogramsAppendedToEachCaller) {
    auto obj = open_or_die(example_path("subprograms"));
    auto* sample = obj.find_program("sample_flows");
    auto* bucket = obj.find_program("length_bucket");
    ASSERT_TRUE(sample && bucket);
    EXPECT_EQ(bucket->section, "tc");
    EXPECT_EQ(bucket->type, uint32_t{BPF_PROG_TYPE_SCHED_CLS});
    // Two programs in one section: one per global function.
    auto* keep = obj.find_program("keep_short");
    ASSERT_NE(keep, nullptr);
    EXPECT_EQ(keep->section, "socket");
    EXPECT_GT(keep->insns.size(), obj.find_program("clamp")->insns.size());  // with its own clamp
    expect_calls_in_range(*keep);
    auto size_of = [&](const char* name) { return obj.find_program(name)->insns.size(); };
    // .text functions are listed, as subprograms that do not load by themselves.
    auto* fnv = obj.find_program("fnv_step");
    ASSERT_NE(fnv, nullptr);
    EXPECT_FALSE(fnv->autoload);
    EXPECT_EQ(fnv->section, ".text");
    // sample_flows = itself + hash_addresses (linked with its callee fnv_step).
    EXPECT_EQ(sample->insns.size(), 7 + size_of("hash_addresses"));
    EXPECT_EQ(size_of("hash_addresses"), 34 + size_of("fnv_step"));
    // length_bucket = itself (13) + clamp + fnv_step, each once.
    EXPECT_EQ(bucket->insns.size(), 13 + size_of("clamp") + size_of("fnv_step"));
    expect_calls_in_range(*sample);
    expect_calls_in_range(*bucket);
    // Line info of a subprogram moves with it.
    const auto it = std::find_if(bucket->line_info.begin(), bucket->line_info.end(),
                                 [](const auto& l) { return l.text.find("16777619u") != std::string::npos; });
    ASSERT_NE(it, bucket->line_info.end());
    EXPECT_GE(it->insn_off, 13u);
    EXPECT_TRUE(it->file.ends_with("subprograms.c"));
}

TEST(ObjectFile, EveryCallRelocationKind) {
    auto obj = open_or_die(test_object_path("calls"));
    auto* prog = obj.find_program("calls");
    ASSERT_NE(prog, nullptr);
    EXPECT_EQ(prog->type, uint32_t{BPF_PROG_TYPE_SCHED_CLS});
    expect_calls_in_range(*prog);
    // calls (15) + sum_index (7, the bpf_loop callback) + twice_plus_one (4)
    // + global_double (3) + add_one (3): slot counts from the symbol sizes.
    EXPECT_EQ(prog->insns.size(), 15u + 7 + 4 + 3 + 3);
    // The callback reference became lddw BPF_PSEUDO_FUNC pointing at sum_index's copy.
    const auto& cb = obj.find_program("sum_index")->insns;
    bool found = false;
    for (size_t pc = 0; pc < prog->insns.size(); ++pc) {
        const auto& insn = prog->insns[pc];
        if (insn.code != (BPF_LD | BPF_IMM | BPF_DW) || insn.src_reg != BPF_PSEUDO_FUNC) continue;
        const size_t target = pc + static_cast<size_t>(insn.imm) + 1;
        ASSERT_LT(target, prog->insns.size());
        EXPECT_EQ(std::memcmp(&prog->insns[target], cb.data(), cb.size() * sizeof(bpf_insn)), 0);
        found = true;
    }
    EXPECT_TRUE(found);
    auto* xdp = obj.find_program("xdp_calls");
    ASSERT_NE(xdp, nullptr);
    EXPECT_EQ(xdp->insns.size(), 4u + 3);
}

TEST(ObjectFile, LegacyMapsAndVersion) {
    auto obj = open_or_die(test_object_path("legacy_maps"));
    EXPECT_EQ(obj.kernel_version(), std::optional<uint32_t>(0x050a00));
    auto* counters = obj.find_map("counters");
    auto* flows = obj.find_map("flows");
    ASSERT_TRUE(counters && flows);
    EXPECT_EQ(counters->origin, bpfrt::MapOrigin::Legacy);
    EXPECT_EQ(counters->type, uint32_t{BPF_MAP_TYPE_ARRAY});
    EXPECT_EQ(counters->key_size, 4u);
    EXPECT_EQ(counters->value_size, 8u);
    EXPECT_EQ(counters->max_entries, 16u);
    EXPECT_EQ(flows->type, uint32_t{BPF_MAP_TYPE_HASH});
    EXPECT_EQ(flows->key_size, 8u);
    EXPECT_EQ(flows->value_size, 16u);
    EXPECT_EQ(flows->max_entries, 128u);
    EXPECT_EQ(flows->map_flags, uint32_t{BPF_F_NO_PREALLOC});
    auto* prog = obj.find_program("legacy");
    ASSERT_NE(prog, nullptr);
    ASSERT_EQ(prog->map_refs.size(), 2u);
}

TEST(ObjectFile, BtfMapStyles) {
    auto obj = open_or_die(test_object_path("btf_maps"));
    auto* flows = obj.find_map("flows");
    auto* sized = obj.find_map("sized");
    auto* mixed = obj.find_map("mixed");
    ASSERT_TRUE(flows && sized && mixed);
    EXPECT_EQ(flows->type, uint32_t{BPF_MAP_TYPE_LRU_HASH});
    EXPECT_EQ(flows->key_size, 16u);  // struct flow_key with padding
    EXPECT_EQ(flows->value_size, 16u);
    EXPECT_EQ(flows->max_entries, 4096u);
    EXPECT_EQ(sized->key_size, 8u);
    EXPECT_EQ(sized->value_size, 24u);
    EXPECT_EQ(sized->map_flags, uint32_t{BPF_F_NO_PREALLOC});
    ASSERT_EQ(sized->notes.size(), 1u);  // pinning: read, ignored, said so
    EXPECT_NE(sized->notes[0].find("pinning"), std::string::npos);
    EXPECT_EQ(mixed->key_size, 4u);
    EXPECT_EQ(mixed->value_size, 8u);
    auto* custom = obj.find_map(".data.custom");
    ASSERT_NE(custom, nullptr);
    ASSERT_EQ(custom->initial.size(), 4u);
    EXPECT_EQ(custom->initial[0], std::byte{7});
    ASSERT_NE(obj.find_global("scale"), nullptr);
    EXPECT_EQ(obj.find_global("scale")->size, 8u);
}

TEST(ObjectFile, DisassemblyShowsSourceAndAssemblesBack) {
    auto obj = open_or_die(example_path("sockex1"));
    const auto& prog = *obj.find_program("bpf_prog1");
    const std::string text = bpfrt::disassemble_with_source(prog);
    EXPECT_NE(text.find("# sockex1.c:"), std::string::npos) << text;
    EXPECT_NE(text.find("__sync_fetch_and_add"), std::string::npos) << text;
    auto back = bpfrt::isa::assemble(text);
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_EQ(back->size(), prog.insns.size());
    EXPECT_EQ(std::memcmp(back->data(), prog.insns.data(), prog.insns.size() * sizeof(bpf_insn)), 0);
}

TEST(SectionNames, LibbpfConventions) {
    struct Case {
        const char* section;
        uint32_t type;
    };
    const Case cases[] = {
        {"socket", BPF_PROG_TYPE_SOCKET_FILTER},      {"kprobe", BPF_PROG_TYPE_KPROBE},
        {"xdp", BPF_PROG_TYPE_XDP},                   {"tc", BPF_PROG_TYPE_SCHED_CLS},
        {"classifier", BPF_PROG_TYPE_SCHED_CLS},      {"tracepoint/syscalls/sys_enter_open", BPF_PROG_TYPE_TRACEPOINT},
        {"tp/sched/sched_switch", BPF_PROG_TYPE_TRACEPOINT}, {"raw_tp/sys_enter", BPF_PROG_TYPE_RAW_TRACEPOINT},
        {"kprobe/do_sys_open", BPF_PROG_TYPE_KPROBE}, {"uprobe/bin:func", BPF_PROG_TYPE_KPROBE},
        {"cgroup_skb/ingress", BPF_PROG_TYPE_CGROUP_SKB}, {"cgroup_skb/egress", BPF_PROG_TYPE_CGROUP_SKB},
    };
    for (const auto& c : cases) {
        auto t = bpfrt::program_type_of_section(c.section);
        ASSERT_TRUE(t) << c.section;
        EXPECT_EQ(t->prog_type, c.type) << c.section;
    }
    EXPECT_EQ(bpfrt::program_type_of_section("cgroup_skb/egress")->expected_attach_type,
              uint32_t{BPF_CGROUP_INET_EGRESS});
    EXPECT_FALSE(bpfrt::program_type_of_section("sockets"));
    EXPECT_FALSE(bpfrt::program_type_of_section("socket/x"));  // libbpf 1.x: exact names
    EXPECT_FALSE(bpfrt::program_type_of_section("kprobex/y"));
    EXPECT_FALSE(bpfrt::program_type_of_section("xdpfoo"));
    EXPECT_FALSE(bpfrt::program_type_of_section(".text"));
    EXPECT_EQ(bpfrt::program_type_by_name("xdp"), std::optional<uint32_t>(BPF_PROG_TYPE_XDP));
    EXPECT_EQ(bpfrt::program_type_by_name("socket_filter"), std::optional<uint32_t>(BPF_PROG_TYPE_SOCKET_FILTER));
    EXPECT_EQ(bpfrt::program_type_name(BPF_PROG_TYPE_SCHED_CLS), "sched_cls");
}
