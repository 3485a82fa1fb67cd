/*
 * bpfrt/bits/bpf_attr_def.h - bpfrt's own definition of the members of the
 * Linux UAPI `union bpf_attr` that bpfrt supports, with the kernel's layout.
 *
 * Not meant to be included directly: <bpfrt/bpf.h> includes it where
 * <linux/bpf.h> is missing. The union's tag is BPFRT_ATTR_TAG (default
 * bpf_attr) so that a test can include it beside <linux/bpf.h> under another
 * name and static_assert every offset against the kernel's definition.
 */
#ifndef BPFRT_ATTR_TAG
#define BPFRT_ATTR_TAG bpf_attr
#endif

#include <stdint.h>

#ifndef BPFRT_ALIGNED_U64_DEFINED
#define BPFRT_ALIGNED_U64_DEFINED 1
typedef uint64_t bpfrt_aligned_u64 __attribute__((aligned(8)));
#endif

#if defined(__GNUC__) || defined(__clang__)
#define BPFRT_ANON __extension__ /* anonymous structs: C11, a GNU extension in C++ */
#else
#define BPFRT_ANON
#endif

union BPFRT_ATTR_TAG {
    BPFRT_ANON struct { /* BPF_MAP_CREATE */
        uint32_t map_type;
        uint32_t key_size;
        uint32_t value_size;
        uint32_t max_entries;
        uint32_t map_flags;
        uint32_t inner_map_fd;
        uint32_t numa_node;
        char map_name[16];
        uint32_t map_ifindex;
        uint32_t btf_fd;
        uint32_t btf_key_type_id;
        uint32_t btf_value_type_id;
        uint32_t btf_vmlinux_value_type_id;
        uint64_t map_extra;
    };

    BPFRT_ANON struct { /* BPF_MAP_*_ELEM */
        uint32_t map_fd;
        bpfrt_aligned_u64 key;
        BPFRT_ANON union {
            bpfrt_aligned_u64 value;
            bpfrt_aligned_u64 next_key;
        };
        uint64_t flags;
    };

    BPFRT_ANON struct { /* BPF_PROG_LOAD */
        uint32_t prog_type;
        uint32_t insn_cnt;
        bpfrt_aligned_u64 insns;
        bpfrt_aligned_u64 license;
        uint32_t log_level;
        uint32_t log_size;
        bpfrt_aligned_u64 log_buf;
        uint32_t kern_version;
        uint32_t prog_flags;
        char prog_name[16];
        uint32_t prog_ifindex;
        uint32_t expected_attach_type;
        uint32_t prog_btf_fd;
        uint32_t func_info_rec_size;
        bpfrt_aligned_u64 func_info;
        uint32_t func_info_cnt;
        uint32_t line_info_rec_size;
        bpfrt_aligned_u64 line_info;
        uint32_t line_info_cnt;
        uint32_t attach_btf_id;
        BPFRT_ANON union {
            uint32_t attach_prog_fd;
            uint32_t attach_btf_obj_fd;
        };
        uint32_t core_relo_cnt;
        bpfrt_aligned_u64 fd_array;
        bpfrt_aligned_u64 core_relos;
        uint32_t core_relo_rec_size;
    };

    struct { /* BPF_PROG_TEST_RUN */
        uint32_t prog_fd;
        uint32_t retval;
        uint32_t data_size_in;
        uint32_t data_size_out;
        bpfrt_aligned_u64 data_in;
        bpfrt_aligned_u64 data_out;
        uint32_t repeat;
        uint32_t duration;
        uint32_t ctx_size_in;
        uint32_t ctx_size_out;
        bpfrt_aligned_u64 ctx_in;
        bpfrt_aligned_u64 ctx_out;
        uint32_t flags;
        uint32_t cpu;
        uint32_t batch_size;
    } test;

    /* The kernel's union is larger (other commands); keep its size. */
    char bpfrt_reserved_[144];
} __attribute__((aligned(8)));

#undef BPFRT_ANON
