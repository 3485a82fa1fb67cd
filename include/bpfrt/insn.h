/*
 * bpfrt/insn.h - eBPF instructions: encoding, opcode constants and the
 * instruction macros used to write programs by hand.
 *
 * Usable from C (C99 or later) and C++. Where the Linux UAPI header
 * <linux/bpf.h> exists it is included and its definitions are used, so this
 * header and <linux/bpf.h> may appear in one translation unit in any order.
 * Elsewhere (or with BPFRT_NO_LINUX_UAPI defined) the same definitions are
 * provided here with the same values and layout.
 *
 * Encoding (RFC 9669): every instruction is 8 bytes,
 *   code:8  dst_reg:4  src_reg:4  off:16 (signed)  imm:32 (signed)
 * in host byte order; a 64-bit immediate load (lddw) takes two slots.
 */
#ifndef BPFRT_INSN_H
#define BPFRT_INSN_H

#include <stdint.h>

#if !defined(BPFRT_NO_LINUX_UAPI) && defined(__has_include)
#if __has_include(<linux/bpf.h>)
#include <linux/bpf.h>
#define BPFRT_HAVE_LINUX_UAPI 1
#endif
#endif

#ifndef BPFRT_HAVE_LINUX_UAPI
/* ---- Definitions equal to the Linux UAPI (linux/bpf_common.h, linux/bpf.h) ---- */
struct bpf_insn {
    uint8_t code;      /* opcode */
    uint8_t dst_reg:4; /* destination register */
    uint8_t src_reg:4; /* source register */
    int16_t off;       /* signed offset */
    int32_t imm;       /* signed immediate constant */
};

/* Instruction classes */
#define BPF_CLASS(code) ((code) & 0x07)
#define BPF_LD 0x00
#define BPF_LDX 0x01
#define BPF_ST 0x02
#define BPF_STX 0x03
#define BPF_ALU 0x04
#define BPF_JMP 0x05
#define BPF_RET 0x06
#define BPF_MISC 0x07
#define BPF_JMP32 0x06 /* jumps comparing the low 32 bits */
#define BPF_ALU64 0x07 /* 64-bit arithmetic */

/* Load and store: size and mode */
#define BPF_SIZE(code) ((code) & 0x18)
#define BPF_W 0x00
#define BPF_H 0x08
#define BPF_B 0x10
#define BPF_DW 0x18
#define BPF_MODE(code) ((code) & 0xe0)
#define BPF_IMM 0x00
#define BPF_ABS 0x20
#define BPF_IND 0x40
#define BPF_MEM 0x60
#define BPF_LEN 0x80
#define BPF_MSH 0xa0
#define BPF_ATOMIC 0xc0

/* Arithmetic and jump operations */
#define BPF_OP(code) ((code) & 0xf0)
#define BPF_ADD 0x00
#define BPF_SUB 0x10
#define BPF_MUL 0x20
#define BPF_DIV 0x30
#define BPF_OR 0x40
#define BPF_AND 0x50
#define BPF_LSH 0x60
#define BPF_RSH 0x70
#define BPF_NEG 0x80
#define BPF_MOD 0x90
#define BPF_XOR 0xa0
#define BPF_MOV 0xb0
#define BPF_ARSH 0xc0
#define BPF_END 0xd0
#define BPF_TO_LE 0x00
#define BPF_TO_BE 0x08
#define BPF_FROM_LE BPF_TO_LE
#define BPF_FROM_BE BPF_TO_BE

#define BPF_JA 0x00
#define BPF_JEQ 0x10
#define BPF_JGT 0x20
#define BPF_JGE 0x30
#define BPF_JSET 0x40
#define BPF_JNE 0x50
#define BPF_JSGT 0x60
#define BPF_JSGE 0x70
#define BPF_CALL 0x80
#define BPF_EXIT 0x90
#define BPF_JLT 0xa0
#define BPF_JLE 0xb0
#define BPF_JSLT 0xc0
#define BPF_JSLE 0xd0

/* Source operand */
#define BPF_SRC(code) ((code) & 0x08)
#define BPF_K 0x00
#define BPF_X 0x08

/* Atomic operations (in imm of BPF_STX | BPF_ATOMIC) */
#define BPF_FETCH 0x01
#define BPF_XCHG (0xe0 | BPF_FETCH)
#define BPF_CMPXCHG (0xf0 | BPF_FETCH)

#define BPF_MAXINSNS 4096

/* Registers */
enum {
    BPF_REG_0 = 0,
    BPF_REG_1,
    BPF_REG_2,
    BPF_REG_3,
    BPF_REG_4,
    BPF_REG_5,
    BPF_REG_6,
    BPF_REG_7,
    BPF_REG_8,
    BPF_REG_9,
    BPF_REG_10,
    __MAX_BPF_REG,
};
#define MAX_BPF_REG __MAX_BPF_REG

/* src_reg of lddw and call: what the immediate means */
#define BPF_PSEUDO_MAP_FD 1
#define BPF_PSEUDO_MAP_IDX 5
#define BPF_PSEUDO_MAP_VALUE 2
#define BPF_PSEUDO_MAP_IDX_VALUE 6
#define BPF_PSEUDO_BTF_ID 3
#define BPF_PSEUDO_FUNC 4
#define BPF_PSEUDO_CALL 1
#define BPF_PSEUDO_KFUNC_CALL 2

/* Helper function numbers, as the kernel numbers them (a prefix of its list). */
enum bpf_func_id {
    BPF_FUNC_unspec = 0,
    BPF_FUNC_map_lookup_elem = 1,
    BPF_FUNC_map_update_elem = 2,
    BPF_FUNC_map_delete_elem = 3,
    BPF_FUNC_probe_read = 4,
    BPF_FUNC_ktime_get_ns = 5,
    BPF_FUNC_trace_printk = 6,
    BPF_FUNC_get_prandom_u32 = 7,
    BPF_FUNC_get_smp_processor_id = 8,
    BPF_FUNC_skb_store_bytes = 9,
    BPF_FUNC_l3_csum_replace = 10,
    BPF_FUNC_l4_csum_replace = 11,
    BPF_FUNC_tail_call = 12,
    BPF_FUNC_clone_redirect = 13,
    BPF_FUNC_get_current_pid_tgid = 14,
    BPF_FUNC_get_current_uid_gid = 15,
    BPF_FUNC_get_current_comm = 16,
    BPF_FUNC_get_cgroup_classid = 17,
    BPF_FUNC_skb_vlan_push = 18,
    BPF_FUNC_skb_vlan_pop = 19,
    BPF_FUNC_skb_get_tunnel_key = 20,
    BPF_FUNC_skb_set_tunnel_key = 21,
    BPF_FUNC_perf_event_read = 22,
    BPF_FUNC_redirect = 23,
    BPF_FUNC_get_route_realm = 24,
    BPF_FUNC_perf_event_output = 25,
    BPF_FUNC_skb_load_bytes = 26,
    BPF_FUNC_get_stackid = 27,
    BPF_FUNC_csum_diff = 28,
    BPF_FUNC_xdp_adjust_head = 44,
    BPF_FUNC_probe_read_str = 45,
    BPF_FUNC_xdp_adjust_meta = 54,
    BPF_FUNC_xdp_adjust_tail = 65,
    BPF_FUNC_map_push_elem = 87,
    BPF_FUNC_map_pop_elem = 88,
    BPF_FUNC_map_peek_elem = 89,
    BPF_FUNC_probe_read_user = 112,
    BPF_FUNC_probe_read_kernel = 113,
    BPF_FUNC_probe_read_user_str = 114,
    BPF_FUNC_probe_read_kernel_str = 115,
    BPF_FUNC_ktime_get_boot_ns = 125,
    BPF_FUNC_ringbuf_output = 130,
    BPF_FUNC_ringbuf_reserve = 131,
    BPF_FUNC_ringbuf_submit = 132,
    BPF_FUNC_ringbuf_discard = 133,
    BPF_FUNC_ringbuf_query = 134,
};
#endif /* !BPFRT_HAVE_LINUX_UAPI */

/* ---- Constants newer than some UAPI headers (ISA v4, RFC 9669) ---- */
#ifndef BPF_JMP32
#define BPF_JMP32 0x06
#endif
#ifndef BPF_ATOMIC
#define BPF_ATOMIC 0xc0
#endif
#ifndef BPF_MEMSX
#define BPF_MEMSX 0x80 /* sign-extending load */
#endif
#ifndef BPF_JNE
#define BPF_JNE 0x50
#endif
#ifndef BPF_JLT
#define BPF_JLT 0xa0
#endif
#ifndef BPF_JLE
#define BPF_JLE 0xb0
#endif
#ifndef BPF_JSLT
#define BPF_JSLT 0xc0
#endif
#ifndef BPF_JSLE
#define BPF_JSLE 0xd0
#endif
#ifndef BPF_FETCH
#define BPF_FETCH 0x01
#endif
#ifndef BPF_XCHG
#define BPF_XCHG (0xe0 | BPF_FETCH)
#endif
#ifndef BPF_CMPXCHG
#define BPF_CMPXCHG (0xf0 | BPF_FETCH)
#endif

/* Size of one instruction slot, and the stack of one frame. */
#define BPFRT_INSN_SIZE 8
#define BPFRT_STACK_SIZE 512

/*
 * BPF_XADD is both the legacy mode constant 0xc0 (as in
 * `BPF_STX | BPF_XADD | BPF_DW`) and, in the original bpf(2) design, the
 * instruction macro `BPF_XADD(BPF_DW, dst, src, off, 0)`. A function-like
 * macro is only expanded when followed by '(', so the constant is an
 * enumerator of the same name: both spellings work.
 */
#ifdef BPF_XADD
#undef BPF_XADD
#endif
enum { BPF_XADD = 0xc0 };

/* ---- Instruction macros (the kernel's include/linux/filter.h names) ---- */
#ifdef __cplusplus
#define BPFRT_INSN(CODE, DST, SRC, OFF, IMM)                                               \
    (::bpf_insn{static_cast<uint8_t>(CODE), static_cast<uint8_t>((DST) & 0xf),             \
                static_cast<uint8_t>((SRC) & 0xf), static_cast<int16_t>(OFF),              \
                static_cast<int32_t>(IMM)})
#else
#define BPFRT_INSN(CODE, DST, SRC, OFF, IMM)                                               \
    ((struct bpf_insn){.code = (uint8_t)(CODE),                                            \
                       .dst_reg = (uint8_t)((DST) & 0xf),                                  \
                       .src_reg = (uint8_t)((SRC) & 0xf),                                  \
                       .off = (int16_t)(OFF),                                              \
                       .imm = (int32_t)(IMM)})
#endif

#ifndef BPF_RAW_INSN
#define BPF_RAW_INSN(CODE, DST, SRC, OFF, IMM) BPFRT_INSN(CODE, DST, SRC, OFF, IMM)
#endif

/* Arithmetic: dst = dst OP src / dst = dst OP imm */
#define BPF_ALU64_REG(OP, DST, SRC) BPFRT_INSN(BPF_ALU64 | BPF_OP(OP) | BPF_X, DST, SRC, 0, 0)
#define BPF_ALU32_REG(OP, DST, SRC) BPFRT_INSN(BPF_ALU | BPF_OP(OP) | BPF_X, DST, SRC, 0, 0)
#define BPF_ALU64_IMM(OP, DST, IMM) BPFRT_INSN(BPF_ALU64 | BPF_OP(OP) | BPF_K, DST, 0, 0, IMM)
#define BPF_ALU32_IMM(OP, DST, IMM) BPFRT_INSN(BPF_ALU | BPF_OP(OP) | BPF_K, DST, 0, 0, IMM)
/* Signed division and modulo (ISA v4): off = 1 */
#define BPF_ALU64_REG_OFF(OP, DST, SRC, OFF) BPFRT_INSN(BPF_ALU64 | BPF_OP(OP) | BPF_X, DST, SRC, OFF, 0)
#define BPF_ALU32_REG_OFF(OP, DST, SRC, OFF) BPFRT_INSN(BPF_ALU | BPF_OP(OP) | BPF_X, DST, SRC, OFF, 0)
#define BPF_ALU64_IMM_OFF(OP, DST, IMM, OFF) BPFRT_INSN(BPF_ALU64 | BPF_OP(OP) | BPF_K, DST, 0, OFF, IMM)
#define BPF_ALU32_IMM_OFF(OP, DST, IMM, OFF) BPFRT_INSN(BPF_ALU | BPF_OP(OP) | BPF_K, DST, 0, OFF, IMM)

/* Byte order: dst = to_le/to_be(dst) (LEN 16/32/64), and unconditional swap */
#define BPF_ENDIAN(TYPE, DST, LEN) BPFRT_INSN(BPF_ALU | BPF_END | BPF_SRC(TYPE), DST, 0, 0, LEN)
#define BPF_BSWAP(DST, LEN) BPFRT_INSN(BPF_ALU64 | BPF_END | BPF_TO_LE, DST, 0, 0, LEN)

/* Moves */
#define BPF_MOV64_REG(DST, SRC) BPFRT_INSN(BPF_ALU64 | BPF_MOV | BPF_X, DST, SRC, 0, 0)
#define BPF_MOV32_REG(DST, SRC) BPFRT_INSN(BPF_ALU | BPF_MOV | BPF_X, DST, SRC, 0, 0)
#define BPF_MOV64_IMM(DST, IMM) BPFRT_INSN(BPF_ALU64 | BPF_MOV | BPF_K, DST, 0, 0, IMM)
#define BPF_MOV32_IMM(DST, IMM) BPFRT_INSN(BPF_ALU | BPF_MOV | BPF_K, DST, 0, 0, IMM)
/* Sign-extending moves (ISA v4): OFF is the source width in bits, 8, 16 or 32 */
#define BPF_MOVSX64_REG(DST, SRC, OFF) BPFRT_INSN(BPF_ALU64 | BPF_MOV | BPF_X, DST, SRC, OFF, 0)
#define BPF_MOVSX32_REG(DST, SRC, OFF) BPFRT_INSN(BPF_ALU | BPF_MOV | BPF_X, DST, SRC, OFF, 0)
#define BPF_MOV64_RAW(TYPE, DST, SRC, IMM) BPFRT_INSN(BPF_ALU64 | BPF_MOV | BPF_SRC(TYPE), DST, SRC, 0, IMM)
#define BPF_MOV32_RAW(TYPE, DST, SRC, IMM) BPFRT_INSN(BPF_ALU | BPF_MOV | BPF_SRC(TYPE), DST, SRC, 0, IMM)

/* 64-bit immediate load: two instruction slots */
#define BPF_LD_IMM64_RAW_1(DST, SRC, IMM) \
    BPFRT_INSN(BPF_LD | BPF_DW | BPF_IMM, DST, SRC, 0, (uint32_t)((uint64_t)(IMM)))
#define BPF_LD_IMM64_RAW_2(IMM) BPFRT_INSN(0, 0, 0, 0, (uint32_t)(((uint64_t)(IMM)) >> 32))
#define BPF_LD_IMM64_RAW(DST, SRC, IMM) BPF_LD_IMM64_RAW_1(DST, SRC, IMM), BPF_LD_IMM64_RAW_2(IMM)
#define BPF_LD_IMM64(DST, IMM) BPF_LD_IMM64_RAW(DST, 0, IMM)
/* dst = the map behind handle MAP_FD (resolved when the program is loaded) */
#define BPF_LD_MAP_FD(DST, MAP_FD) BPF_LD_IMM64_RAW(DST, BPF_PSEUDO_MAP_FD, MAP_FD)
/* dst = address of byte OFF of the value of single-element array map MAP_FD */
#define BPF_LD_MAP_VALUE(DST, MAP_FD, OFF)                                      \
    BPFRT_INSN(BPF_LD | BPF_DW | BPF_IMM, DST, BPF_PSEUDO_MAP_VALUE, 0, MAP_FD), \
        BPFRT_INSN(0, 0, 0, 0, OFF)

/* Legacy packet access: R0 = ntoh(*(SIZE *)(skb->data + IMM)) / (+ SRC + IMM) */
#define BPF_LD_ABS(SIZE, IMM) BPFRT_INSN(BPF_LD | BPF_SIZE(SIZE) | BPF_ABS, 0, 0, 0, IMM)
#define BPF_LD_IND(SIZE, SRC, IMM) BPFRT_INSN(BPF_LD | BPF_SIZE(SIZE) | BPF_IND, 0, SRC, 0, IMM)

/* Memory: dst = *(SIZE *)(src + off) / *(SIZE *)(dst + off) = src or imm */
#define BPF_LDX_MEM(SIZE, DST, SRC, OFF) BPFRT_INSN(BPF_LDX | BPF_SIZE(SIZE) | BPF_MEM, DST, SRC, OFF, 0)
#define BPF_LDX_MEMSX(SIZE, DST, SRC, OFF) BPFRT_INSN(BPF_LDX | BPF_SIZE(SIZE) | BPF_MEMSX, DST, SRC, OFF, 0)
#define BPF_STX_MEM(SIZE, DST, SRC, OFF) BPFRT_INSN(BPF_STX | BPF_SIZE(SIZE) | BPF_MEM, DST, SRC, OFF, 0)
#define BPF_ST_MEM(SIZE, DST, OFF, IMM) BPFRT_INSN(BPF_ST | BPF_SIZE(SIZE) | BPF_MEM, DST, 0, OFF, IMM)

/* Atomics: *(SIZE *)(dst + off) OP= src; OP is BPF_ADD, BPF_AND, BPF_OR, BPF_XOR
 * (optionally | BPF_FETCH), BPF_XCHG or BPF_CMPXCHG */
#define BPF_ATOMIC_OP(SIZE, OP, DST, SRC, OFF) \
    BPFRT_INSN(BPF_STX | BPF_SIZE(SIZE) | BPF_ATOMIC, DST, SRC, OFF, OP)
#define BPF_STX_XADD(SIZE, DST, SRC, OFF) BPF_ATOMIC_OP(SIZE, BPF_ADD, DST, SRC, OFF)
/* BPF_XADD(SIZE, DST, SRC, OFF) or the original five-argument form
 * BPF_XADD(SIZE, DST, SRC, OFF, 0); SIZE may also be a whole opcode such as
 * BPF_STX | BPF_XADD | BPF_DW, of which only the size bits are used. */
#define BPFRT_XADD_4(SIZE, DST, SRC, OFF) BPF_ATOMIC_OP(SIZE, BPF_ADD, DST, SRC, OFF)
#define BPFRT_XADD_5(SIZE, DST, SRC, OFF, IMM) BPF_ATOMIC_OP(SIZE, IMM, DST, SRC, OFF)
#define BPFRT_XADD_PICK(_1, _2, _3, _4, _5, NAME, ...) NAME
#define BPF_XADD(...) BPFRT_XADD_PICK(__VA_ARGS__, BPFRT_XADD_5, BPFRT_XADD_4, _unused3, _unused2, _unused1)(__VA_ARGS__)

/* Jumps: if (dst OP src/imm) goto pc + off + 1 */
#define BPF_JMP_REG(OP, DST, SRC, OFF) BPFRT_INSN(BPF_JMP | BPF_OP(OP) | BPF_X, DST, SRC, OFF, 0)
#define BPF_JMP_IMM(OP, DST, IMM, OFF) BPFRT_INSN(BPF_JMP | BPF_OP(OP) | BPF_K, DST, 0, OFF, IMM)
#define BPF_JMP32_REG(OP, DST, SRC, OFF) BPFRT_INSN(BPF_JMP32 | BPF_OP(OP) | BPF_X, DST, SRC, OFF, 0)
#define BPF_JMP32_IMM(OP, DST, IMM, OFF) BPFRT_INSN(BPF_JMP32 | BPF_OP(OP) | BPF_K, DST, 0, OFF, IMM)
#define BPF_JMP_A(OFF) BPFRT_INSN(BPF_JMP | BPF_JA, 0, 0, OFF, 0)
/* goto pc + imm + 1 with a 32-bit displacement (ISA v4) */
#define BPF_JMP32_A(IMM) BPFRT_INSN(BPF_JMP32 | BPF_JA, 0, 0, 0, IMM)

/* Calls: helper by number, local function (imm = pc-relative), through a register */
#define BPF_EMIT_CALL(FUNC) BPFRT_INSN(BPF_JMP | BPF_CALL, 0, 0, 0, FUNC)
#define BPF_CALL_FUNC(FUNC) BPF_EMIT_CALL(FUNC)
#define BPF_CALL_REL(IMM) BPFRT_INSN(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, IMM)
#define BPF_CALLX(REG) BPFRT_INSN(BPF_JMP | BPF_CALL | BPF_X, REG, 0, 0, 0)
#define BPF_EXIT_INSN() BPFRT_INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

#endif /* BPFRT_INSN_H */
