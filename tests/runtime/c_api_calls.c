/* Every wrapper of bpf.h called from C, in a translation unit that includes
 * <linux/bpf.h> before <bpfrt/bpf.h> (the header must coexist with it). */
#if defined(__has_include)
#if __has_include(<linux/bpf.h>)
#include <linux/bpf.h>
#endif
#endif
#include <bpfrt/bpf.h>

#include <errno.h>
#include <string.h>

/* Returns 0 when every call behaves as documented, else the failing step. */
int bpfrt_c_api_calls(void) {
    bpfrt_runtime *rt = bpfrt_runtime_new();
    unsigned int key = 1, next = 0;
    unsigned long long value = 10, out = 0;
    struct bpf_insn prog[] = {BPF_MOV64_IMM(BPF_REG_0, 3), BPF_EXIT_INSN()};
    unsigned char frame[20] = {0};
    unsigned retval = 0, duration = 0, size_out = 0;
    union bpf_attr attr;
    int map, fd, step = 0;
    if (!rt) return ++step;
    ++step; if ((map = bpfrt_create_map(rt, BPF_MAP_TYPE_HASH, sizeof key, sizeof value, 4)) != 3) goto out;
    ++step; if (bpfrt_update_elem(rt, map, &key, &value, BPF_NOEXIST) != 0) goto out;
    ++step; if (bpfrt_update_elem(rt, map, &key, &value, BPF_NOEXIST) != -1 || errno != EEXIST) goto out;
    ++step; if (strlen(bpfrt_last_error()) == 0) goto out;
    ++step; if (bpfrt_lookup_elem(rt, map, &key, &out) != 0 || out != 10) goto out;
    ++step; if (bpfrt_get_next_key(rt, map, NULL, &next) != 0 || next != 1) goto out;
    ++step; if (bpfrt_get_next_key(rt, map, &next, &next) != -1 || errno != ENOENT) goto out;
    ++step; if (bpfrt_delete_elem(rt, map, &key) != 0) goto out;
    ++step; if (bpfrt_delete_elem(rt, map, &key) != -1 || errno != ENOENT) goto out;
    ++step; if ((fd = bpfrt_prog_load(rt, BPF_PROG_TYPE_SOCKET_FILTER, prog, 2, "GPL", NULL, 0, 0)) != 4) goto out;
    ++step; if (bpfrt_prog_test_run(rt, fd, 2, frame, sizeof frame, NULL, &size_out, &retval, &duration) != 0) goto out;
    ++step; if (retval != 3 || size_out != sizeof frame) goto out;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (unsigned)map;
    ++step; if (bpfrt_bpf(rt, BPFRT_CMD_CLOSE, &attr, sizeof attr) != 0) goto out;
    ++step; if (bpfrt_close(rt, map) != -1 || errno != EBADF) goto out;
    ++step; if (bpfrt_close(rt, fd) != 0) goto out;
    step = 0;
out:
    bpfrt_runtime_free(rt);
    return step;
}
