/*
 * bpfrt/bpf.h - the bpf(2) command interface of bpfrt, usable from C.
 *
 * A bpfrt_runtime is what a process is to the kernel: it owns a table of
 * handles (small integers that behave like file descriptors) to maps and
 * programs. bpfrt_bpf() is the single entry point with the layout of the
 * Linux UAPI `union bpf_attr`; the bpfrt_* wrappers below are those of the
 * bpf(2) manual page, prefixed so they never clash with libbpf.
 *
 * Where <linux/bpf.h> exists it is included and its definitions are used, so
 * this header and <linux/bpf.h> may share one translation unit. Elsewhere
 * (or with BPFRT_NO_LINUX_UAPI) the needed definitions are provided here with
 * the kernel's values and layout.
 *
 * Conventions of every function below (see also bpfrt_bpf(3)):
 *   - failure returns -1 and sets errno, as the kernel's bpf(2) would for the
 *     same failure; bpfrt_last_error() then gives a message in words;
 *   - handles are the lowest free number >= 3 (0, 1 and 2 are never handles,
 *     so a zero-filled attr never names an object by accident);
 *   - EBADF: the handle is not open; EINVAL: the handle is open but names the
 *     wrong kind of object (a program where a map is needed or the reverse);
 *   - EFAULT: a required pointer (attr, key, value, insns, license...) is NULL.
 *     Other invalid pointers cannot be detected in user space: the caller
 *     must pass buffers of the sizes the command needs.
 * All functions are thread-safe; one runtime may be used from many threads.
 */
#ifndef BPFRT_BPF_H
#define BPFRT_BPF_H

#include <bpfrt/insn.h> /* struct bpf_insn; includes <linux/bpf.h> where present */

#include <stdint.h>

#ifndef BPFRT_HAVE_LINUX_UAPI
/* ---- Definitions equal to the Linux UAPI (linux/bpf.h, Linux 6.1) ---- */
#define BPF_OBJ_NAME_LEN 16U

enum bpf_cmd {
    BPF_MAP_CREATE,
    BPF_MAP_LOOKUP_ELEM,
    BPF_MAP_UPDATE_ELEM,
    BPF_MAP_DELETE_ELEM,
    BPF_MAP_GET_NEXT_KEY,
    BPF_PROG_LOAD,
    BPF_OBJ_PIN,
    BPF_OBJ_GET,
    BPF_PROG_ATTACH,
    BPF_PROG_DETACH,
    BPF_PROG_TEST_RUN,
    BPF_PROG_RUN = BPF_PROG_TEST_RUN,
    BPF_PROG_GET_NEXT_ID,
    BPF_MAP_GET_NEXT_ID,
    BPF_PROG_GET_FD_BY_ID,
    BPF_MAP_GET_FD_BY_ID,
    BPF_OBJ_GET_INFO_BY_FD,
    BPF_PROG_QUERY,
    BPF_RAW_TRACEPOINT_OPEN,
    BPF_BTF_LOAD,
    BPF_BTF_GET_FD_BY_ID,
    BPF_TASK_FD_QUERY,
    BPF_MAP_LOOKUP_AND_DELETE_ELEM,
    BPF_MAP_FREEZE,
    BPF_BTF_GET_NEXT_ID,
    BPF_MAP_LOOKUP_BATCH,
    BPF_MAP_LOOKUP_AND_DELETE_BATCH,
    BPF_MAP_UPDATE_BATCH,
    BPF_MAP_DELETE_BATCH,
    BPF_LINK_CREATE,
    BPF_LINK_UPDATE,
    BPF_LINK_GET_FD_BY_ID,
    BPF_LINK_GET_NEXT_ID,
    BPF_ENABLE_STATS,
    BPF_ITER_CREATE,
    BPF_LINK_DETACH,
    BPF_PROG_BIND_MAP,
};

enum bpf_map_type {
    BPF_MAP_TYPE_UNSPEC,
    BPF_MAP_TYPE_HASH,
    BPF_MAP_TYPE_ARRAY,
    BPF_MAP_TYPE_PROG_ARRAY,
    BPF_MAP_TYPE_PERF_EVENT_ARRAY,
    BPF_MAP_TYPE_PERCPU_HASH,
    BPF_MAP_TYPE_PERCPU_ARRAY,
    BPF_MAP_TYPE_STACK_TRACE,
    BPF_MAP_TYPE_CGROUP_ARRAY,
    BPF_MAP_TYPE_LRU_HASH,
    BPF_MAP_TYPE_LRU_PERCPU_HASH,
    BPF_MAP_TYPE_LPM_TRIE,
    BPF_MAP_TYPE_ARRAY_OF_MAPS,
    BPF_MAP_TYPE_HASH_OF_MAPS,
    BPF_MAP_TYPE_DEVMAP,
    BPF_MAP_TYPE_SOCKMAP,
    BPF_MAP_TYPE_CPUMAP,
    BPF_MAP_TYPE_XSKMAP,
    BPF_MAP_TYPE_SOCKHASH,
    BPF_MAP_TYPE_CGROUP_STORAGE,
    BPF_MAP_TYPE_REUSEPORT_SOCKARRAY,
    BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE,
    BPF_MAP_TYPE_QUEUE,
    BPF_MAP_TYPE_STACK,
    BPF_MAP_TYPE_SK_STORAGE,
    BPF_MAP_TYPE_DEVMAP_HASH,
    BPF_MAP_TYPE_STRUCT_OPS,
    BPF_MAP_TYPE_RINGBUF,
    BPF_MAP_TYPE_INODE_STORAGE,
    BPF_MAP_TYPE_TASK_STORAGE,
    BPF_MAP_TYPE_BLOOM_FILTER,
    BPF_MAP_TYPE_USER_RINGBUF,
};

enum bpf_prog_type {
    BPF_PROG_TYPE_UNSPEC,
    BPF_PROG_TYPE_SOCKET_FILTER,
    BPF_PROG_TYPE_KPROBE,
    BPF_PROG_TYPE_SCHED_CLS,
    BPF_PROG_TYPE_SCHED_ACT,
    BPF_PROG_TYPE_TRACEPOINT,
    BPF_PROG_TYPE_XDP,
    BPF_PROG_TYPE_PERF_EVENT,
    BPF_PROG_TYPE_CGROUP_SKB,
    BPF_PROG_TYPE_CGROUP_SOCK,
    BPF_PROG_TYPE_LWT_IN,
    BPF_PROG_TYPE_LWT_OUT,
    BPF_PROG_TYPE_LWT_XMIT,
    BPF_PROG_TYPE_SOCK_OPS,
    BPF_PROG_TYPE_SK_SKB,
    BPF_PROG_TYPE_CGROUP_DEVICE,
    BPF_PROG_TYPE_SK_MSG,
    BPF_PROG_TYPE_RAW_TRACEPOINT,
    BPF_PROG_TYPE_CGROUP_SOCK_ADDR,
    BPF_PROG_TYPE_LWT_SEG6LOCAL,
    BPF_PROG_TYPE_LIRC_MODE2,
    BPF_PROG_TYPE_SK_REUSEPORT,
    BPF_PROG_TYPE_FLOW_DISSECTOR,
    BPF_PROG_TYPE_CGROUP_SYSCTL,
    BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE,
    BPF_PROG_TYPE_CGROUP_SOCKOPT,
    BPF_PROG_TYPE_TRACING,
    BPF_PROG_TYPE_STRUCT_OPS,
    BPF_PROG_TYPE_EXT,
    BPF_PROG_TYPE_LSM,
    BPF_PROG_TYPE_SK_LOOKUP,
    BPF_PROG_TYPE_SYSCALL,
};

/* flags of BPF_MAP_UPDATE_ELEM */
enum {
    BPF_ANY = 0,     /* create a new element or update an existing one */
    BPF_NOEXIST = 1, /* create a new element only if it did not exist */
    BPF_EXIST = 2,   /* update an existing element */
    BPF_F_LOCK = 4,  /* copy holding the value's bpf_spin_lock (maps whose value type has one) */
};

/* map_flags of BPF_MAP_CREATE */
enum {
    BPF_F_NO_PREALLOC = (1U << 0),
    BPF_F_NO_COMMON_LRU = (1U << 1),
    BPF_F_NUMA_NODE = (1U << 2),
    BPF_F_RDONLY = (1U << 3),
    BPF_F_WRONLY = (1U << 4),
    BPF_F_STACK_BUILD_ID = (1U << 5),
    BPF_F_ZERO_SEED = (1U << 6),
    BPF_F_RDONLY_PROG = (1U << 7),
    BPF_F_WRONLY_PROG = (1U << 8),
    BPF_F_CLONE = (1U << 9),
    BPF_F_MMAPABLE = (1U << 10),
    BPF_F_PRESERVE_ELEMS = (1U << 11),
    BPF_F_INNER_MAP = (1U << 12),
};

/* prog_flags of BPF_PROG_LOAD */
#define BPF_F_STRICT_ALIGNMENT (1U << 0)
#define BPF_F_ANY_ALIGNMENT (1U << 1)
#define BPF_F_TEST_RND_HI32 (1U << 2)
#define BPF_F_TEST_STATE_FREQ (1U << 3)
#define BPF_F_SLEEPABLE (1U << 4)
#define BPF_F_XDP_HAS_FRAGS (1U << 5)

/* flags of BPF_PROG_TEST_RUN */
#define BPF_F_TEST_RUN_ON_CPU (1U << 0)

#include <bpfrt/bits/bpf_attr_def.h> /* union bpf_attr */
#endif /* !BPFRT_HAVE_LINUX_UAPI */

/* Verifier log levels (log_level of BPF_PROG_LOAD), as the kernel's. */
#define BPFRT_LOG_LEVEL1 1U /* the log of a failed load; statistics on success */
#define BPFRT_LOG_LEVEL2 2U /* every instruction processed */
#define BPFRT_LOG_STATS 4U  /* statistics only */
#define BPFRT_LOG_FIXED 8U  /* keep the log's beginning when it overflows (default: its end) */
#define BPFRT_LOG_MASK (BPFRT_LOG_LEVEL1 | BPFRT_LOG_LEVEL2 | BPFRT_LOG_STATS | BPFRT_LOG_FIXED)

/*
 * bpfrt's own command, outside the kernel's range (which closes fds with
 * close(2)): closes the handle in attr->map_fd (the first __u32 of the attr;
 * a program handle is closed the same way). Every other attr byte must be 0.
 */
#define BPFRT_CMD_CLOSE 0x62660001

#ifdef __cplusplus
extern "C" {
#endif

/* A runtime: the handle table and everything behind it. Opaque. */
typedef struct bpfrt_runtime bpfrt_runtime;

/* Creates a runtime. Returns NULL (errno ENOMEM) when out of memory. */
bpfrt_runtime *bpfrt_runtime_new(void);

/* Closes every handle of `rt` and frees it; objects still used by programs
 * of this runtime go with them. NULL is allowed (does nothing). No other
 * call on `rt` may be running or follow. */
void bpfrt_runtime_free(bpfrt_runtime *rt);

/*
 * The privilege of every later BPF_PROG_LOAD on `rt`: non-zero (the
 * default) verifies programs with the kernel's rules for root (CAP_BPF);
 * 0 with its rules for unprivileged users: only BPF_PROG_TYPE_SOCKET_FILTER
 * (others fail with EPERM), no bpf-to-bpf calls (EPERM), no loops, at most
 * 4096 instructions (E2BIG), no pointer leaks into maps, the return value or
 * helpers, no pointer comparisons or arithmetic the kernel forbids, and no
 * reads of uninitialised stack (EACCES). Returns 0, or -1 with errno EINVAL
 * when `rt` is NULL.
 */
int bpfrt_runtime_set_privileged(bpfrt_runtime *rt, int privileged);

/* Engines of bpfrt_runtime_set_engine(). */
#define BPFRT_ENGINE_AUTO 0   /* the JIT where the host supports it (x86-64), else the interpreter */
#define BPFRT_ENGINE_INTERP 1 /* the interpreter */
#define BPFRT_ENGINE_JIT 2    /* the JIT; loads fail with ENOTSUP where unsupported */

/*
 * The engine of every later BPF_PROG_LOAD on `rt` (BPFRT_ENGINE_AUTO by
 * default). Only programs the verifier proves safe are JIT-compiled; the
 * others (tracing types) run in the checked interpreter whatever is chosen.
 * Non-zero `constant_blinding` makes the JIT blind every immediate (as the
 * kernel's bpf_jit_harden), for untrusted programs. Returns 0, or -1 with
 * errno EINVAL when `rt` is NULL or `engine` is not a BPFRT_ENGINE_*.
 */
int bpfrt_runtime_set_engine(bpfrt_runtime *rt, int engine, int constant_blinding);

/*
 * The bpf(2) entry point. `attr` points to `size` bytes laid out as the
 * kernel's union bpf_attr. A smaller `size` is zero-extended; a larger one
 * is accepted only if every byte past sizeof(union bpf_attr) is zero; a
 * size above 4096 is always refused (E2BIG), as the kernel does.
 * Fields a command does not use must be zero.
 *
 * Commands: BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM,
 * BPF_MAP_DELETE_ELEM, BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_AND_DELETE_ELEM,
 * BPF_PROG_LOAD, BPF_PROG_TEST_RUN and BPFRT_CMD_CLOSE.
 *
 * Returns: a new handle (>= 3) for BPF_MAP_CREATE and BPF_PROG_LOAD; 0 for
 * the others; -1 with errno on failure. Errors common to every command:
 *   EFAULT  attr is NULL, or a pointer the command needs is NULL;
 *   E2BIG   size > 4096, or size > sizeof(union bpf_attr) and a byte past
 *           it is not zero;
 *   EINVAL  cmd is unknown, or a field the command does not use is not zero;
 *   EBADF   a handle in attr is not open;
 *   ENOMEM  out of memory.
 * Errors of each command are listed at its wrapper below and in bpfrt_bpf(3).
 */
int bpfrt_bpf(bpfrt_runtime *rt, int cmd, union bpf_attr *attr, unsigned size);

/*
 * BPF_MAP_CREATE: a map of `type` with the given sizes; returns its handle.
 *   EINVAL  unknown or unsupported type; key_size, value_size or max_entries
 *           invalid for the type (zero where the type needs a size, ...);
 *   E2BIG   key or value larger than the type allows;
 *   EMFILE  the handle table is full (65536 handles);
 *   ENOMEM  out of memory.
 */
int bpfrt_create_map(bpfrt_runtime *rt, enum bpf_map_type type, int key_size, int value_size,
                     int max_entries);

/*
 * BPF_MAP_UPDATE_ELEM: stores `value` under `key`. flags: BPF_ANY (create or
 * replace), BPF_NOEXIST (create only), BPF_EXIST (replace only). Returns 0.
 *   EBADF   fd is not open;            EINVAL  fd is not a map, or bad flags;
 *   EFAULT  key or value is NULL;      EEXIST  BPF_NOEXIST and the key exists;
 *   ENOENT  BPF_EXIST and the key does not exist;
 *   E2BIG   the map is full (max_entries) or the array index is out of range;
 *   ENOMEM  out of memory;             ENOTSUPP/EOPNOTSUPP for map types that
 *           cannot be updated from the host (as the kernel).
 */
int bpfrt_update_elem(bpfrt_runtime *rt, int fd, const void *key, const void *value,
                      unsigned long long flags);

/*
 * BPF_MAP_LOOKUP_ELEM: copies the value stored under `key` into `value`
 * (value_size bytes; for per-CPU maps round_up(value_size, 8) bytes per CPU
 * slot, all slots). For queue and stack maps `key` must be NULL and the head
 * is copied without removing it. Returns 0.
 *   EBADF, EINVAL (not a map), EFAULT (key or value NULL where needed);
 *   ENOENT  no element with that key (or the queue/stack is empty).
 */
int bpfrt_lookup_elem(bpfrt_runtime *rt, int fd, const void *key, void *value);

/*
 * BPF_MAP_DELETE_ELEM: removes the element under `key`. Returns 0.
 *   EBADF, EINVAL (not a map; array maps, whose elements cannot be deleted),
 *   EFAULT (key NULL), ENOENT (no such element).
 */
int bpfrt_delete_elem(bpfrt_runtime *rt, int fd, const void *key);

/*
 * BPF_MAP_GET_NEXT_KEY: copies into `next_key` the key after `key`; with a
 * NULL or missing `key`, the first key. Returns 0.
 *   EBADF, EINVAL (not a map, or a map without keys), EFAULT (next_key NULL);
 *   ENOENT  `key` is the last key, or the map is empty.
 */
int bpfrt_get_next_key(bpfrt_runtime *rt, int fd, const void *key, void *next_key);

/*
 * BPF_PROG_LOAD: checks and prepares `insn_cnt` instructions as a program of
 * `type`; returns its handle. The program holds a reference to every map its
 * BPF_LD_MAP_FD / BPF_LD_MAP_VALUE instructions name. `license` must not be
 * NULL ("GPL" or a compatible license enables GPL-only helpers). With
 * log_level > 0 the log (NUL-terminated) is written to log_buf, which must
 * hold log_size bytes (log_buf and log_size both set or both 0; a log_level
 * without buffer is allowed and discards the log). A log longer than
 * log_size - 1 bytes keeps its end (its beginning with BPFRT_LOG_FIXED in
 * log_level) and the load fails with ENOSPC.
 *   EINVAL  unsupported type; malformed program (unknown opcode, bad
 *           register, jump out of range, call to an unknown helper, lddw
 *           naming a handle that is not a map...); bad log attributes
 *           (log_buf without log_size or log_level, unknown log_level
 *           bits, log_size >= 2^30);
 *   E2BIG   insn_cnt is 0 or larger than 1000000;
 *   EBADF   an lddw names a handle that is not open;
 *   EACCES  the verifier rejected the program (see the log);
 *   EFAULT  insns or license is NULL;
 *   ENOSPC  the log did not fit in log_size bytes (it is truncated and the
 *           program is not loaded);
 *   EMFILE, ENOMEM.
 */
int bpfrt_prog_load(bpfrt_runtime *rt, enum bpf_prog_type type, const struct bpf_insn *insns,
                    int insn_cnt, const char *license, char *log_buf, unsigned log_size,
                    unsigned log_level);

/*
 * BPF_PROG_TEST_RUN: runs program `prog_fd` `repeat` times (0 means 1) over a
 * copy of `data` (`size` bytes); the data after the last run is copied to
 * `data_out` (when not NULL) and its length stored in *size_out (when not
 * NULL; if *size_out is non-zero on entry it is the capacity of data_out).
 * *retval gets the low 32 bits of r0 of the last run, *duration the mean
 * time of one run in nanoseconds. Any output pointer may be NULL.
 *   EBADF, EINVAL (not a program; data too short or too long for the program
 *           type; a type without test-run support);
 *   ENOSPC  data_out too small (the part that fits is copied);
 *   EFAULT  data NULL with size > 0, or, for programs run unverified, the
 *           program accessed memory it may not (EINVAL for other run-time
 *           faults); bpfrt_last_error() names the instruction.
 */
int bpfrt_prog_test_run(bpfrt_runtime *rt, int prog_fd, int repeat, const void *data,
                        unsigned size, void *data_out, unsigned *size_out, unsigned *retval,
                        unsigned *duration);

/* Closes a handle; the object lives on while programs use it. Returns 0.
 *   EBADF  fd is not open. */
int bpfrt_close(bpfrt_runtime *rt, int fd);

/* The message of the last failed call made by this thread ("" if none). */
const char *bpfrt_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* BPFRT_BPF_H */
