/* The EXAMPLE of man/bpfrt_bpf.3, compiled as C: the count-by-protocol
 * program (a hash map, LD_ABS at ETH_HLEN + 9, an atomic add) loaded with
 * bpfrt_prog_load. The instruction array below must equal the man page's,
 * character for character (man_example_test.cpp checks it). */
#include <bpfrt/bpf.h>

#include <stddef.h>
#include <string.h>

#define ETH_HLEN 14
#define IP_PROTO_OFF 9    /* offsetof(struct iphdr, protocol) */

int bpfrt_man_example_create_map(bpfrt_runtime *rt) {
    return bpfrt_create_map(rt, BPF_MAP_TYPE_HASH, sizeof(int), sizeof(long long), 256);
}

int bpfrt_man_example_load(bpfrt_runtime *rt, int map_fd, char *log, unsigned log_size) {
    struct bpf_insn prog[] = {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),             /* r6 = r1 */
        BPF_LD_ABS(BPF_B, ETH_HLEN + IP_PROTO_OFF),      /* r0 = ip->proto */
        BPF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_0, -4),   /* *(u32 *)(fp - 4) = r0 */
        BPF_ST_MEM(BPF_DW, BPF_REG_10, -16, 1),          /* *(u64 *)(fp - 16) = 1 */
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),            /* r2 = fp */
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),           /* r2 = fp - 4 (key) */
        BPF_LD_MAP_FD(BPF_REG_1, map_fd),                /* r1 = map */
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),         /* r0 = lookup(r1, r2) */
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 4),           /* if (!r0) goto insert */
        BPF_MOV64_IMM(BPF_REG_1, 1),                     /* r1 = 1 */
        BPF_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0),    /* lock *(u64 *)r0 += r1 */
        BPF_MOV64_IMM(BPF_REG_0, 0),                     /* r0 = 0 */
        BPF_EXIT_INSN(),                                 /* return r0 */
        /* insert: */
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),           /* r2 = key */
        BPF_MOV64_REG(BPF_REG_3, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_3, -16),          /* r3 = &one */
        BPF_MOV64_IMM(BPF_REG_4, BPF_NOEXIST),           /* r4 = flags */
        BPF_LD_MAP_FD(BPF_REG_1, map_fd),
        BPF_CALL_FUNC(BPF_FUNC_map_update_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 8),           /* inserted: done */
        /* another run inserted it first: count there */
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),
        BPF_LD_MAP_FD(BPF_REG_1, map_fd),
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 2),
        BPF_MOV64_IMM(BPF_REG_1, 1),
        BPF_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0),
        BPF_MOV64_IMM(BPF_REG_0, 0),                     /* return 0 */
        BPF_EXIT_INSN(),
    };
    return bpfrt_prog_load(rt, BPF_PROG_TYPE_SOCKET_FILTER, prog, sizeof(prog) / sizeof(prog[0]), "GPL",
                           log, log_size, log ? 1 : 0);
}

/* A 64-byte Ethernet + IPv4 frame whose IP protocol is `proto`. */
void bpfrt_man_example_frame(unsigned char *frame, size_t len, int proto) {
    memset(frame, 0, len);
    frame[12] = 0x08; /* ethertype IPv4 */
    frame[13] = 0x00;
    frame[14] = 0x45; /* version 4, IHL 5 */
    frame[ETH_HLEN + IP_PROTO_OFF] = (unsigned char)proto;
}

/* Runs the whole example from C: returns 0 when the map ends with
 * tcp_runs packets under 6 and udp_runs under 17 and nothing else. */
int bpfrt_man_example_run(int tcp_runs, int udp_runs) {
    bpfrt_runtime *rt = bpfrt_runtime_new();
    unsigned char frame[64];
    unsigned retval = 1, duration = 0, size_out = 0;
    int map_fd, prog_fd, key = -1, next, seen = 0, bad = 0;
    if (!rt) return -1;
    map_fd = bpfrt_man_example_create_map(rt);
    prog_fd = map_fd < 0 ? -1 : bpfrt_man_example_load(rt, map_fd, NULL, 0);
    if (prog_fd < 0) { bpfrt_runtime_free(rt); return -2; }
    bpfrt_man_example_frame(frame, sizeof(frame), 6);
    if (tcp_runs && bpfrt_prog_test_run(rt, prog_fd, tcp_runs, frame, sizeof(frame), NULL, &size_out, &retval, &duration))
        bad = 1;
    bpfrt_man_example_frame(frame, sizeof(frame), 17);
    if (udp_runs && bpfrt_prog_test_run(rt, prog_fd, udp_runs, frame, sizeof(frame), NULL, NULL, &retval, NULL))
        bad = 1;
    if (retval != 0) bad = 1;
    while (bpfrt_get_next_key(rt, map_fd, key < 0 ? NULL : &key, &next) == 0) {
        long long count = -1;
        if (bpfrt_lookup_elem(rt, map_fd, &next, &count) != 0) bad = 1;
        if (next == 6 && count != tcp_runs) bad = 1;
        if (next == 17 && count != udp_runs) bad = 1;
        if (next != 6 && next != 17) bad = 1;
        ++seen;
        key = next;
    }
    if (seen != (tcp_runs != 0) + (udp_runs != 0)) bad = 1;
    if (bpfrt_close(rt, prog_fd) || bpfrt_close(rt, map_fd)) bad = 1;
    bpfrt_runtime_free(rt);
    return bad ? -3 : 0;
}
