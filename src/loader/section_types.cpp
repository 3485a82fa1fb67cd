// libbpf's section-name conventions (libbpf.c section_defs, v1.1: strict
// names, no sloppy prefixes), and the
// names of program and map types.
#include <bpfrt/bpf.h>
#include <bpfrt/object.hpp>

#include <linux/bpf.h>

#include <array>
#include <string>

namespace bpfrt {
namespace {

// How a section name matches a definition (libbpf's sec_def_matches):
//   Exact: the name itself only ("socket", "xdp", "tc");
//   Plus:  the name itself or the name, '/' and anything ("kprobe",
//          "kprobe/do_sys_open"): libbpf's "kprobe+";
//   Prefix: the definition ends in '/' and the section starts with it.
enum class Match : uint8_t { Exact, Plus, Prefix };

struct SectionDef {
    std::string_view name;
    Match match;
    uint32_t prog_type;
    uint32_t attach_type;
};

constexpr std::array kSectionDefs = {
    SectionDef{"socket", Match::Exact, BPF_PROG_TYPE_SOCKET_FILTER, 0},
    SectionDef{"sk_reuseport/migrate", Match::Exact, BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE},
    SectionDef{"sk_reuseport", Match::Exact, BPF_PROG_TYPE_SK_REUSEPORT, BPF_SK_REUSEPORT_SELECT},
    SectionDef{"kprobe", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"uprobe", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"uprobe.s", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"kretprobe", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"uretprobe", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"uretprobe.s", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"kprobe.multi", Match::Plus, BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI},
    SectionDef{"kretprobe.multi", Match::Plus, BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI},
    SectionDef{"ksyscall", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"kretsyscall", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"usdt", Match::Plus, BPF_PROG_TYPE_KPROBE, 0},
    SectionDef{"tc", Match::Exact, BPF_PROG_TYPE_SCHED_CLS, 0},
    SectionDef{"classifier", Match::Exact, BPF_PROG_TYPE_SCHED_CLS, 0},
    SectionDef{"action", Match::Exact, BPF_PROG_TYPE_SCHED_ACT, 0},
    SectionDef{"tracepoint", Match::Plus, BPF_PROG_TYPE_TRACEPOINT, 0},
    SectionDef{"tp", Match::Plus, BPF_PROG_TYPE_TRACEPOINT, 0},
    SectionDef{"raw_tracepoint", Match::Plus, BPF_PROG_TYPE_RAW_TRACEPOINT, 0},
    SectionDef{"raw_tp", Match::Plus, BPF_PROG_TYPE_RAW_TRACEPOINT, 0},
    SectionDef{"raw_tracepoint.w", Match::Plus, BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0},
    SectionDef{"raw_tp.w", Match::Plus, BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE, 0},
    SectionDef{"tp_btf", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP},
    SectionDef{"fentry", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY},
    SectionDef{"fmod_ret", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN},
    SectionDef{"fexit", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT},
    SectionDef{"fentry.s", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY},
    SectionDef{"fmod_ret.s", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN},
    SectionDef{"fexit.s", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT},
    SectionDef{"freplace", Match::Plus, BPF_PROG_TYPE_EXT, 0},
    SectionDef{"lsm", Match::Plus, BPF_PROG_TYPE_LSM, BPF_LSM_MAC},
    SectionDef{"lsm.s", Match::Plus, BPF_PROG_TYPE_LSM, BPF_LSM_MAC},
    SectionDef{"iter", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER},
    SectionDef{"iter.s", Match::Plus, BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER},
    SectionDef{"syscall", Match::Exact, BPF_PROG_TYPE_SYSCALL, 0},
    SectionDef{"xdp.frags/devmap", Match::Exact, BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP},
    SectionDef{"xdp/devmap", Match::Exact, BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP},
    SectionDef{"xdp.frags/cpumap", Match::Exact, BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP},
    SectionDef{"xdp/cpumap", Match::Exact, BPF_PROG_TYPE_XDP, BPF_XDP_CPUMAP},
    SectionDef{"xdp.frags", Match::Exact, BPF_PROG_TYPE_XDP, BPF_XDP},
    SectionDef{"xdp", Match::Exact, BPF_PROG_TYPE_XDP, BPF_XDP},
    SectionDef{"perf_event", Match::Exact, BPF_PROG_TYPE_PERF_EVENT, 0},
    SectionDef{"lwt_in", Match::Exact, BPF_PROG_TYPE_LWT_IN, 0},
    SectionDef{"lwt_out", Match::Exact, BPF_PROG_TYPE_LWT_OUT, 0},
    SectionDef{"lwt_xmit", Match::Exact, BPF_PROG_TYPE_LWT_XMIT, 0},
    SectionDef{"lwt_seg6local", Match::Exact, BPF_PROG_TYPE_LWT_SEG6LOCAL, 0},
    SectionDef{"sockops", Match::Exact, BPF_PROG_TYPE_SOCK_OPS, BPF_CGROUP_SOCK_OPS},
    SectionDef{"sk_skb/stream_parser", Match::Exact, BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_PARSER},
    SectionDef{"sk_skb/stream_verdict", Match::Exact, BPF_PROG_TYPE_SK_SKB, BPF_SK_SKB_STREAM_VERDICT},
    SectionDef{"sk_skb", Match::Exact, BPF_PROG_TYPE_SK_SKB, 0},
    SectionDef{"sk_msg", Match::Exact, BPF_PROG_TYPE_SK_MSG, BPF_SK_MSG_VERDICT},
    SectionDef{"lirc_mode2", Match::Exact, BPF_PROG_TYPE_LIRC_MODE2, BPF_LIRC_MODE2},
    SectionDef{"flow_dissector", Match::Exact, BPF_PROG_TYPE_FLOW_DISSECTOR, BPF_FLOW_DISSECTOR},
    SectionDef{"cgroup_skb/ingress", Match::Exact, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS},
    SectionDef{"cgroup_skb/egress", Match::Exact, BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS},
    SectionDef{"cgroup/skb", Match::Exact, BPF_PROG_TYPE_CGROUP_SKB, 0},
    SectionDef{"cgroup/sock_create", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE},
    SectionDef{"cgroup/sock_release", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_RELEASE},
    SectionDef{"cgroup/sock", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE},
    SectionDef{"cgroup/post_bind4", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET4_POST_BIND},
    SectionDef{"cgroup/post_bind6", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET6_POST_BIND},
    SectionDef{"cgroup/bind4", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND},
    SectionDef{"cgroup/bind6", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND},
    SectionDef{"cgroup/connect4", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT},
    SectionDef{"cgroup/connect6", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT},
    SectionDef{"cgroup/sendmsg4", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG},
    SectionDef{"cgroup/sendmsg6", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG},
    SectionDef{"cgroup/recvmsg4", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG},
    SectionDef{"cgroup/recvmsg6", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_RECVMSG},
    SectionDef{"cgroup/getpeername4", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETPEERNAME},
    SectionDef{"cgroup/getpeername6", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETPEERNAME},
    SectionDef{"cgroup/getsockname4", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_GETSOCKNAME},
    SectionDef{"cgroup/getsockname6", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_GETSOCKNAME},
    SectionDef{"cgroup/sysctl", Match::Exact, BPF_PROG_TYPE_CGROUP_SYSCTL, BPF_CGROUP_SYSCTL},
    SectionDef{"cgroup/getsockopt", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_GETSOCKOPT},
    SectionDef{"cgroup/setsockopt", Match::Exact, BPF_PROG_TYPE_CGROUP_SOCKOPT, BPF_CGROUP_SETSOCKOPT},
    SectionDef{"cgroup/dev", Match::Exact, BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE},
    SectionDef{"struct_ops", Match::Plus, BPF_PROG_TYPE_STRUCT_OPS, 0},
    SectionDef{"struct_ops.s", Match::Plus, BPF_PROG_TYPE_STRUCT_OPS, 0},
    SectionDef{"sk_lookup", Match::Exact, BPF_PROG_TYPE_SK_LOOKUP, BPF_SK_LOOKUP},
};

bool matches(const SectionDef& def, std::string_view section) {
    if (def.match == Match::Prefix) return section.starts_with(def.name);
    if (section == def.name) return true;
    return def.match == Match::Plus && section.size() > def.name.size() && section.starts_with(def.name) &&
           section[def.name.size()] == '/';
}

// Names as bpftool prints them, indexed by the enum value.
constexpr std::array<std::string_view, 32> kProgTypeNames = {
    "unspec", "socket_filter", "kprobe", "sched_cls", "sched_act", "tracepoint", "xdp", "perf_event",
    "cgroup_skb", "cgroup_sock", "lwt_in", "lwt_out", "lwt_xmit", "sock_ops", "sk_skb", "cgroup_device",
    "sk_msg", "raw_tracepoint", "cgroup_sock_addr", "lwt_seg6local", "lirc_mode2", "sk_reuseport",
    "flow_dissector", "cgroup_sysctl", "raw_tracepoint_writable", "cgroup_sockopt", "tracing", "struct_ops",
    "ext", "lsm", "sk_lookup", "syscall",
};

constexpr std::array<std::string_view, 31> kMapTypeNames = {
    "unspec", "hash", "array", "prog_array", "perf_event_array", "percpu_hash", "percpu_array",
    "stack_trace", "cgroup_array", "lru_hash", "lru_percpu_hash", "lpm_trie", "array_of_maps",
    "hash_of_maps", "devmap", "sockmap", "cpumap", "xskmap", "sockhash", "cgroup_storage",
    "reuseport_sockarray", "percpu_cgroup_storage", "queue", "stack", "sk_storage", "devmap_hash",
    "struct_ops", "ringbuf", "inode_storage", "task_storage", "bloom_filter",
};

}  // namespace

std::optional<SectionType> program_type_of_section(std::string_view section) {
    for (const auto& def : kSectionDefs)
        if (matches(def, section)) return SectionType{def.prog_type, def.attach_type};
    return std::nullopt;
}

std::optional<uint32_t> program_type_by_name(std::string_view name) {
    for (size_t i = 1; i < kProgTypeNames.size(); ++i)
        if (kProgTypeNames[i] == name) return static_cast<uint32_t>(i);
    // Section-style names ("socket", "tc", "tp", "raw_tp"...) are accepted too.
    if (name == "tp") return BPF_PROG_TYPE_TRACEPOINT;
    if (name == "raw_tp") return BPF_PROG_TYPE_RAW_TRACEPOINT;
    if (auto t = program_type_of_section(name)) return t->prog_type;
    return std::nullopt;
}

std::string program_type_name(uint32_t prog_type) {
    if (prog_type < kProgTypeNames.size()) return std::string(kProgTypeNames[prog_type]);
    return std::to_string(prog_type);
}

std::string map_type_name(uint32_t map_type) {
    if (map_type < kMapTypeNames.size()) return std::string(kMapTypeNames[map_type]);
    return std::to_string(map_type);
}

}  // namespace bpfrt
