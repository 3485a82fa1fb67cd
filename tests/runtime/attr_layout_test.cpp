// bpfrt's own union bpf_attr (used where <linux/bpf.h> is missing) has the
// kernel's layout: every offset is checked at compile time against the UAPI.
#include <bpfrt/bpf.h>

#include <gtest/gtest.h>

#include <cstddef>

#ifdef BPFRT_HAVE_LINUX_UAPI
#define BPFRT_ATTR_TAG bpfrt_attr_mirror
#include <bpfrt/bits/bpf_attr_def.h>

#define SAME_OFFSET(field) \
    static_assert(offsetof(union bpf_attr, field) == offsetof(union bpfrt_attr_mirror, field), #field)

SAME_OFFSET(map_type);
SAME_OFFSET(key_size);
SAME_OFFSET(value_size);
SAME_OFFSET(max_entries);
SAME_OFFSET(map_flags);
SAME_OFFSET(inner_map_fd);
SAME_OFFSET(numa_node);
SAME_OFFSET(map_name);
SAME_OFFSET(map_ifindex);
SAME_OFFSET(btf_fd);
SAME_OFFSET(btf_key_type_id);
SAME_OFFSET(btf_value_type_id);
SAME_OFFSET(btf_vmlinux_value_type_id);
SAME_OFFSET(map_extra);
SAME_OFFSET(map_fd);
SAME_OFFSET(key);
SAME_OFFSET(value);
SAME_OFFSET(next_key);
SAME_OFFSET(flags);
SAME_OFFSET(prog_type);
SAME_OFFSET(insn_cnt);
SAME_OFFSET(insns);
SAME_OFFSET(license);
SAME_OFFSET(log_level);
SAME_OFFSET(log_size);
SAME_OFFSET(log_buf);
SAME_OFFSET(kern_version);
SAME_OFFSET(prog_flags);
SAME_OFFSET(prog_name);
SAME_OFFSET(prog_ifindex);
SAME_OFFSET(expected_attach_type);
SAME_OFFSET(prog_btf_fd);
SAME_OFFSET(func_info_rec_size);
SAME_OFFSET(func_info);
SAME_OFFSET(func_info_cnt);
SAME_OFFSET(line_info_rec_size);
SAME_OFFSET(line_info);
SAME_OFFSET(line_info_cnt);
SAME_OFFSET(attach_btf_id);
SAME_OFFSET(attach_prog_fd);
SAME_OFFSET(core_relo_cnt);
SAME_OFFSET(fd_array);
SAME_OFFSET(core_relos);
SAME_OFFSET(core_relo_rec_size);
SAME_OFFSET(test.prog_fd);
SAME_OFFSET(test.retval);
SAME_OFFSET(test.data_size_in);
SAME_OFFSET(test.data_size_out);
SAME_OFFSET(test.data_in);
SAME_OFFSET(test.data_out);
SAME_OFFSET(test.repeat);
SAME_OFFSET(test.duration);
SAME_OFFSET(test.ctx_size_in);
SAME_OFFSET(test.ctx_size_out);
SAME_OFFSET(test.ctx_in);
SAME_OFFSET(test.ctx_out);
SAME_OFFSET(test.flags);
SAME_OFFSET(test.cpu);
SAME_OFFSET(test.batch_size);
static_assert(sizeof(union bpf_attr) == sizeof(union bpfrt_attr_mirror));
static_assert(alignof(union bpf_attr) == alignof(union bpfrt_attr_mirror));
#endif

// Values of bpfrt's own constants (own_defs.c, compiled without the UAPI).
extern "C" int bpfrt_own_defs_value(const char* name);

TEST(AttrLayout, OwnConstantsEqualTheUapi) {
#ifndef BPFRT_HAVE_LINUX_UAPI
    GTEST_SKIP() << "<linux/bpf.h> is not available: nothing to compare against";
#else
    EXPECT_EQ(bpfrt_own_defs_value("BPF_MAP_CREATE"), BPF_MAP_CREATE);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_PROG_LOAD"), BPF_PROG_LOAD);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_PROG_TEST_RUN"), BPF_PROG_TEST_RUN);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_MAP_LOOKUP_AND_DELETE_ELEM"), BPF_MAP_LOOKUP_AND_DELETE_ELEM);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_PROG_BIND_MAP"), BPF_PROG_BIND_MAP);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_MAP_TYPE_QUEUE"), BPF_MAP_TYPE_QUEUE);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_MAP_TYPE_RINGBUF"), BPF_MAP_TYPE_RINGBUF);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_MAP_TYPE_USER_RINGBUF"), BPF_MAP_TYPE_USER_RINGBUF);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_PROG_TYPE_SYSCALL"), BPF_PROG_TYPE_SYSCALL);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_PROG_TYPE_SCHED_ACT"), BPF_PROG_TYPE_SCHED_ACT);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_F_INNER_MAP"), BPF_F_INNER_MAP);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_F_RDONLY_PROG"), BPF_F_RDONLY_PROG);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_F_XDP_HAS_FRAGS"), BPF_F_XDP_HAS_FRAGS);
    EXPECT_EQ(bpfrt_own_defs_value("BPF_EXIST"), BPF_EXIST);
    EXPECT_EQ(bpfrt_own_defs_value("sizeof_attr"), static_cast<int>(sizeof(union bpf_attr)));
#endif
}
