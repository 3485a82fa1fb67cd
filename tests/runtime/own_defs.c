/* bpf.h with bpfrt's own definitions (no Linux UAPI), compiled as C: the
 * header works standalone, and its constants can be compared with the UAPI's. */
#define BPFRT_NO_LINUX_UAPI 1
#include <bpfrt/bpf.h>

#include <string.h>

int bpfrt_own_defs_value(const char *name) {
    static const struct { const char *name; int value; } table[] = {
        {"BPF_MAP_CREATE", BPF_MAP_CREATE},
        {"BPF_PROG_LOAD", BPF_PROG_LOAD},
        {"BPF_PROG_TEST_RUN", BPF_PROG_TEST_RUN},
        {"BPF_MAP_LOOKUP_AND_DELETE_ELEM", BPF_MAP_LOOKUP_AND_DELETE_ELEM},
        {"BPF_PROG_BIND_MAP", BPF_PROG_BIND_MAP},
        {"BPF_MAP_TYPE_QUEUE", BPF_MAP_TYPE_QUEUE},
        {"BPF_MAP_TYPE_RINGBUF", BPF_MAP_TYPE_RINGBUF},
        {"BPF_MAP_TYPE_USER_RINGBUF", BPF_MAP_TYPE_USER_RINGBUF},
        {"BPF_PROG_TYPE_SYSCALL", BPF_PROG_TYPE_SYSCALL},
        {"BPF_PROG_TYPE_SCHED_ACT", BPF_PROG_TYPE_SCHED_ACT},
        {"BPF_F_INNER_MAP", BPF_F_INNER_MAP},
        {"BPF_F_RDONLY_PROG", BPF_F_RDONLY_PROG},
        {"BPF_F_XDP_HAS_FRAGS", BPF_F_XDP_HAS_FRAGS},
        {"BPF_EXIST", BPF_EXIST},
        {"sizeof_attr", (int)sizeof(union bpf_attr)},
    };
    size_t i;
    for (i = 0; i < sizeof(table) / sizeof(table[0]); ++i)
        if (strcmp(table[i].name, name) == 0) return table[i].value;
    return -1;
}
