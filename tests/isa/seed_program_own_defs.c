/* The bpf(2) man page example written with bpfrt's own definitions (no Linux
 * UAPI headers), compiled as C: proves insn.h works standalone and from C. */
#define BPFRT_NO_LINUX_UAPI 1
#include <bpfrt/insn.h>

#include <stddef.h>
#include <string.h>

#define ETH_HLEN 14
#define IPHDR_PROTOCOL_OFFSET 9 /* offsetof(struct iphdr, protocol) */

size_t bpfrt_seed_program_own_defs(int map_fd, struct bpf_insn *out, size_t cap) {
    struct bpf_insn prog[] = {
        BPF_MOV64_REG(BPF_REG_6, BPF_REG_1),                          /* r6 = r1 */
        BPF_LD_ABS(BPF_B, ETH_HLEN + IPHDR_PROTOCOL_OFFSET),          /* r0 = ip->proto */
        BPF_STX_MEM(BPF_W, BPF_REG_10, BPF_REG_0, -4),                /* *(u32 *)(fp - 4) = r0 */
        BPF_MOV64_REG(BPF_REG_2, BPF_REG_10),                         /* r2 = fp */
        BPF_ALU64_IMM(BPF_ADD, BPF_REG_2, -4),                        /* r2 = r2 - 4 */
        BPF_LD_MAP_FD(BPF_REG_1, map_fd),                             /* r1 = map_fd */
        BPF_CALL_FUNC(BPF_FUNC_map_lookup_elem),                      /* r0 = map_lookup(r1, r2) */
        BPF_JMP_IMM(BPF_JEQ, BPF_REG_0, 0, 2),                        /* if (r0 == 0) goto pc+2 */
        BPF_MOV64_IMM(BPF_REG_1, 1),                                  /* r1 = 1 */
        BPF_XADD(BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0),                 /* lock *(u64 *) r0 += r1 */
        BPF_MOV64_IMM(BPF_REG_0, 0),                                  /* r0 = 0 */
        BPF_EXIT_INSN(),                                              /* return r0 */
    };
    size_t n = sizeof(prog) / sizeof(prog[0]);
    if (n > cap) return 0;
    memcpy(out, prog, sizeof(prog));
    return n;
}
