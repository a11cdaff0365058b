/*
 * A small x86-64 instruction encoder for the JIT (jit.c): REX prefixes,
 * ModRM/SIB memory operands, and the handful of integer instructions the
 * translator emits.  Encodings: Intel SDM vol. 2, chapter 2 (instruction
 * format, REX prefixes, 32/64-bit addressing forms with ModRM and SIB) and
 * the opcode tables of appendix A.
 *
 * Code goes into a buffer written through one mapping (`p`) and executed
 * through another (`p + rx_delta`); relative displacements are computed
 * against the executable address.  Running out of room sets `overflow` and
 * stops writing; the caller throws the translation away.
 */
#ifndef VMKEMU_JIT_EMIT_X86_64_H
#define VMKEMU_JIT_EMIT_X86_64_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

typedef struct JitEmit {
    uint8_t *p;             /* write pointer (writable mapping) */
    uint8_t *end;
    intptr_t rx_delta;      /* executable address = p + rx_delta */
    bool overflow;
} JitEmit;

enum {
    H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
    H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15,
    H_NONE = -1,
};

/* A memory operand [base + index * 2^scale + disp]; H_NONE for absent
 * base/index. */
typedef struct JMem {
    int base, index, scale;
    int32_t disp;
} JMem;

static inline JMem jm(int base, int32_t disp)
{
    return (JMem){ base, H_NONE, 0, disp };
}
static inline JMem jmx(int base, int index, int scale, int32_t disp)
{
    return (JMem){ base, index, scale, disp };
}

/* Host condition codes (the low nibble of Jcc/SETcc/CMOVcc), which are
 * also the guest's: O NO B AE E NE BE A S NS P NP L GE LE G. */
enum { HC_O, HC_NO, HC_B, HC_AE, HC_E, HC_NE, HC_BE, HC_A,
       HC_S, HC_NS, HC_P, HC_NP, HC_L, HC_GE, HC_LE, HC_G };

static inline uint8_t *e_rx(const JitEmit *e, const uint8_t *p)
{
    return (uint8_t *)((uintptr_t)p + e->rx_delta);
}
static inline uint8_t *e_here_rx(const JitEmit *e)
{
    return e_rx(e, e->p);
}

static inline void e8(JitEmit *e, uint8_t b)
{
    if (e->p < e->end) {
        *e->p++ = b;
    } else {
        e->overflow = true;
    }
}
static inline void e16(JitEmit *e, uint16_t v)
{
    e8(e, v);
    e8(e, v >> 8);
}
static inline void e32(JitEmit *e, uint32_t v)
{
    if (e->p + 4 <= e->end) {
        memcpy(e->p, &v, 4);
        e->p += 4;
    } else {
        e->overflow = true;
    }
}
static inline void e64(JitEmit *e, uint64_t v)
{
    e32(e, (uint32_t)v);
    e32(e, (uint32_t)(v >> 32));
}

static inline bool fits8(int64_t v)
{
    return v >= -128 && v <= 127;
}
static inline bool fits32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

/* Prefixes for an operand of `sz` bytes (1, 2, 4, 8), then REX when any
 * register is r8-r15, the size is 8, or a byte register operand is one of
 * SPL/BPL/SIL/DIL (`byte_reg`: without REX those encodings mean AH-BH). */
static inline void e_prefix(JitEmit *e, int sz, int reg, int index, int base, bool byte_reg)
{
    if (sz == 2) {
        e8(e, 0x66);
    }
    uint8_t rex = 0x40;
    if (sz == 8) {
        rex |= 8;
    }
    if (reg >= 0 && (reg & 8)) {
        rex |= 4;
    }
    if (index >= 0 && (index & 8)) {
        rex |= 2;
    }
    if (base >= 0 && (base & 8)) {
        rex |= 1;
    }
    if (rex != 0x40 || byte_reg) {
        e8(e, rex);
    }
}

/* Opcode of 1-3 bytes: 0x0fXX, 0x0f38XX style values are written big-end
 * first. */
static inline void e_opc(JitEmit *e, unsigned opc)
{
    if (opc > 0xffff) {
        e8(e, opc >> 16);
    }
    if (opc > 0xff) {
        e8(e, opc >> 8);
    }
    e8(e, opc);
}

/* ModRM (+ SIB + displacement) for a memory operand; `imm_bytes` (the size
 * of a following immediate) is kept for symmetry with RIP-relative forms,
 * which are emitted by e_lea_rip only. */
static inline void e_modrm_mem(JitEmit *e, int reg, JMem m, int imm_bytes)
{
    int r = reg & 7;
    (void)imm_bytes;
    if (m.base == H_NONE) {
        /* [index*s + disp32] or [disp32] through a SIB without base. */
        e8(e, (uint8_t)(0x04 | (r << 3)));
        int idx = m.index == H_NONE ? 4 : (m.index & 7);
        e8(e, (uint8_t)((m.scale << 6) | (idx << 3) | 5));
        e32(e, (uint32_t)m.disp);
        return;
    }
    int mod;
    if (m.disp == 0 && (m.base & 7) != 5) {
        mod = 0;
    } else if (fits8(m.disp)) {
        mod = 1;
    } else {
        mod = 2;
    }
    if (m.index == H_NONE && (m.base & 7) != 4) {
        e8(e, (uint8_t)((mod << 6) | (r << 3) | (m.base & 7)));
    } else {
        int idx = m.index == H_NONE ? 4 : (m.index & 7);
        e8(e, (uint8_t)((mod << 6) | (r << 3) | 4));
        e8(e, (uint8_t)((m.scale << 6) | (idx << 3) | (m.base & 7)));
    }
    if (mod == 1) {
        e8(e, (uint8_t)m.disp);
    } else if (mod == 2) {
        e32(e, (uint32_t)m.disp);
    }
}

/* op reg, [mem] (or op [mem], reg: the direction is in the opcode). */
static inline void e_op_m(JitEmit *e, int sz, unsigned opc, int reg, JMem m, int imm_bytes)
{
    e_prefix(e, sz, reg, m.index, m.base, sz == 1 && reg >= 4 && reg < 8);
    e_opc(e, opc);
    e_modrm_mem(e, reg, m, imm_bytes);
}

/* op reg, rm (register form, ModRM.mod = 3). */
static inline void e_op_r(JitEmit *e, int sz, unsigned opc, int reg, int rm)
{
    e_prefix(e, sz, reg, H_NONE, rm, sz == 1 && ((reg >= 4 && reg < 8) || (rm >= 4 && rm < 8)));
    e_opc(e, opc);
    e8(e, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

/* --- moves ----------------------------------------------------------------- */

/* reg <- [mem], sz bytes (1/2 write only the low part of reg). */
static inline void e_load(JitEmit *e, int sz, int reg, JMem m)
{
    e_op_m(e, sz, sz == 1 ? 0x8a : 0x8b, reg, m, 0);
}
/* [mem] <- reg */
static inline void e_store(JitEmit *e, int sz, JMem m, int reg)
{
    e_op_m(e, sz, sz == 1 ? 0x88 : 0x89, reg, m, 0);
}
/* reg32 <- zero-extended [mem] of 1 or 2 bytes; 4: plain 32-bit load. */
static inline void e_loadzx(JitEmit *e, int sz, int reg, JMem m)
{
    if (sz == 4) {
        e_load(e, 4, reg, m);
    } else {
        e_op_m(e, 4, sz == 1 ? 0x0fb6 : 0x0fb7, reg, m, 0);
    }
}
/* reg32 <- sign-extended [mem] of 1 or 2 bytes. */
static inline void e_loadsx(JitEmit *e, int sz, int reg, JMem m)
{
    e_op_m(e, 4, sz == 1 ? 0x0fbe : 0x0fbf, reg, m, 0);
}
/* [mem] <- imm (sz 1, 2, 4; 8 sign-extends imm32). */
static inline void e_store_imm(JitEmit *e, int sz, JMem m, uint32_t imm)
{
    int ib = sz == 1 ? 1 : sz == 2 ? 2 : 4;
    e_op_m(e, sz, sz == 1 ? 0xc6 : 0xc7, 0, m, ib);
    if (ib == 1) {
        e8(e, imm);
    } else if (ib == 2) {
        e16(e, imm);
    } else {
        e32(e, imm);
    }
}
/* reg <- reg (32 or 64 bits) */
static inline void e_mov_rr(JitEmit *e, int sz, int dst, int src)
{
    e_op_r(e, sz, 0x89, src, dst);
}
/* reg32 <- 0, clobbering the host flags */
static inline void e_zero(JitEmit *e, int reg)
{
    e_op_r(e, 4, 0x31, reg, reg);               /* xor r, r */
}
/* reg32 <- imm32 (zero-extends; leaves the flags alone) */
static inline void e_mov_ri32(JitEmit *e, int reg, uint32_t imm)
{
    e_prefix(e, 4, H_NONE, H_NONE, reg, false);
    e8(e, (uint8_t)(0xb8 + (reg & 7)));
    e32(e, imm);
}
/* reg64 <- imm64 */
static inline void e_mov_ri64(JitEmit *e, int reg, uint64_t imm)
{
    if (imm <= 0xffffffffu) {
        e_mov_ri32(e, reg, (uint32_t)imm);
        return;
    }
    e_prefix(e, 8, H_NONE, H_NONE, reg, false);
    e8(e, (uint8_t)(0xb8 + (reg & 7)));
    e64(e, imm);
}
static inline void e_lea(JitEmit *e, int sz, int reg, JMem m)
{
    e_op_m(e, sz, 0x8d, reg, m, 0);
}
/* reg32 <- zero-extended low 8/16 bits of reg */
static inline void e_ext_rr(JitEmit *e, unsigned opc, int from_sz, int dst, int src)
{
    e_prefix(e, 4, dst, H_NONE, src, from_sz == 1 && src >= 4 && src < 8);
    e_opc(e, opc);
    e8(e, (uint8_t)(0xc0 | ((dst & 7) << 3) | (src & 7)));
}
static inline void e_movzx_rr(JitEmit *e, int from_sz, int dst, int src)
{
    e_ext_rr(e, from_sz == 1 ? 0x0fb6 : 0x0fb7, from_sz, dst, src);
}
static inline void e_movsx_rr(JitEmit *e, int from_sz, int dst, int src)
{
    e_ext_rr(e, from_sz == 1 ? 0x0fbe : 0x0fbf, from_sz, dst, src);
}

/* --- arithmetic --------------------------------------------------------------- */

/* ALU operation numbers (ModRM.reg of group 1): ADD OR ADC SBB AND SUB XOR CMP */
enum { A_ADD, A_OR, A_ADC, A_SBB, A_AND, A_SUB, A_XOR, A_CMP };

/* reg op= [mem] */
static inline void e_alu_rm(JitEmit *e, int op, int sz, int reg, JMem m)
{
    e_op_m(e, sz, (unsigned)(op * 8 + (sz == 1 ? 2 : 3)), reg, m, 0);
}
/* [mem] op= reg */
static inline void e_alu_mr(JitEmit *e, int op, int sz, JMem m, int reg)
{
    e_op_m(e, sz, (unsigned)(op * 8 + (sz == 1 ? 0 : 1)), reg, m, 0);
}
/* dst op= src (registers) */
static inline void e_alu_rr(JitEmit *e, int op, int sz, int dst, int src)
{
    e_op_r(e, sz, (unsigned)(op * 8 + (sz == 1 ? 0 : 1)), src, dst);
}
/* reg op= imm (imm is the operand-size value; sign-extended short forms
 * are used when they mean the same) */
static inline void e_alu_ri(JitEmit *e, int op, int sz, int reg, uint32_t imm)
{
    if (sz == 1) {
        e_op_r(e, 1, 0x80, op, reg);
        e8(e, imm);
        return;
    }
    int32_t s = sz == 2 ? (int16_t)imm : (int32_t)imm;
    if (fits8(s)) {
        e_op_r(e, sz, 0x83, op, reg);
        e8(e, (uint8_t)s);
    } else {
        e_op_r(e, sz, 0x81, op, reg);
        if (sz == 2) {
            e16(e, imm);
        } else {
            e32(e, imm);
        }
    }
}
/* [mem] op= imm */
static inline void e_alu_mi(JitEmit *e, int op, int sz, JMem m, uint32_t imm)
{
    if (sz == 1) {
        e_op_m(e, 1, 0x80, op, m, 1);
        e8(e, imm);
        return;
    }
    int32_t s = sz == 2 ? (int16_t)imm : (int32_t)imm;
    if (fits8(s)) {
        e_op_m(e, sz, 0x83, op, m, 1);
        e8(e, (uint8_t)s);
    } else {
        e_op_m(e, sz, 0x81, op, m, sz == 2 ? 2 : 4);
        if (sz == 2) {
            e16(e, imm);
        } else {
            e32(e, imm);
        }
    }
}
static inline void e_test_rr(JitEmit *e, int sz, int a, int b)
{
    e_op_r(e, sz, sz == 1 ? 0x84 : 0x85, b, a);
}
static inline void e_test_ri(JitEmit *e, int sz, int reg, uint32_t imm)
{
    e_op_r(e, sz, sz == 1 ? 0xf6 : 0xf7, 0, reg);
    if (sz == 1) {
        e8(e, imm);
    } else if (sz == 2) {
        e16(e, imm);
    } else {
        e32(e, imm);
    }
}
/* group 3 on a register: 2 NOT, 3 NEG */
static inline void e_grp3_r(JitEmit *e, int ext, int sz, int reg)
{
    e_op_r(e, sz, sz == 1 ? 0xf6 : 0xf7, ext, reg);
}
/* INC (ext 0) / DEC (ext 1) of a register */
static inline void e_incdec_r(JitEmit *e, int dec, int sz, int reg)
{
    e_op_r(e, sz, sz == 1 ? 0xfe : 0xff, dec, reg);
}
/* group 2 by immediate: 4 SHL, 5 SHR, 7 SAR (0 ROL, 1 ROR) */
static inline void e_shift_ri(JitEmit *e, int ext, int sz, int reg, uint8_t count)
{
    e_op_r(e, sz, sz == 1 ? 0xc0 : 0xc1, ext, reg);
    e8(e, count);
}
static inline void e_imul_rr(JitEmit *e, int sz, int dst, int src)
{
    e_op_r(e, sz, 0x0faf, dst, src);
}
static inline void e_imul_rri(JitEmit *e, int sz, int dst, int src, uint32_t imm)
{
    e_op_r(e, sz, 0x69, dst, src);
    if (sz == 2) {
        e16(e, imm);
    } else {
        e32(e, imm);
    }
}
static inline void e_setcc(JitEmit *e, int cc, int reg)
{
    e_prefix(e, 1, H_NONE, H_NONE, reg, reg >= 4 && reg < 8);
    e_opc(e, 0x0f90u + (unsigned)cc);
    e8(e, (uint8_t)(0xc0 | (reg & 7)));
}
static inline void e_cmovcc(JitEmit *e, int sz, int cc, int dst, int src)
{
    e_op_r(e, sz, 0x0f40u + (unsigned)cc, dst, src);
}
/* BT reg, imm8 */
static inline void e_bt_ri(JitEmit *e, int sz, int reg, uint8_t bit)
{
    e_op_r(e, sz, 0x0fba, 4, reg);
    e8(e, bit);
}
static inline void e_sahf(JitEmit *e)
{
    e8(e, 0x9e);
}

/* --- control ------------------------------------------------------------------ */

static inline void e_push(JitEmit *e, int reg)
{
    if (reg & 8) {
        e8(e, 0x41);
    }
    e8(e, (uint8_t)(0x50 + (reg & 7)));
}
static inline void e_pop(JitEmit *e, int reg)
{
    if (reg & 8) {
        e8(e, 0x41);
    }
    e8(e, (uint8_t)(0x58 + (reg & 7)));
}
static inline void e_ret(JitEmit *e)
{
    e8(e, 0xc3);
}

/* Set the rel32 at `site` (writable address of the 4 bytes) to reach the
 * executable address `target`. */
static inline void e_patch_rel32(const JitEmit *e, uint8_t *site, const uint8_t *target)
{
    int32_t rel = (int32_t)((intptr_t)target - (intptr_t)e_rx(e, site + 4));
    memcpy(site, &rel, 4);
}

/* jmp rel32 to an executable address; returns the writable address of the
 * rel32 (for patching).  `target` NULL leaves it to be patched. */
static inline uint8_t *e_jmp(JitEmit *e, const uint8_t *target)
{
    e8(e, 0xe9);
    uint8_t *site = e->p;
    e32(e, 0);
    if (target && !e->overflow) {
        e_patch_rel32(e, site, target);
    }
    return site;
}
static inline uint8_t *e_jcc(JitEmit *e, int cc, const uint8_t *target)
{
    e8(e, 0x0f);
    e8(e, (uint8_t)(0x80 + cc));
    uint8_t *site = e->p;
    e32(e, 0);
    if (target && !e->overflow) {
        e_patch_rel32(e, site, target);
    }
    return site;
}
/* Short forward jcc over a few bytes: returns the writable address of the
 * rel8, to be fixed by e_fix8. */
static inline uint8_t *e_jcc8(JitEmit *e, int cc)
{
    e8(e, (uint8_t)(0x70 + cc));
    uint8_t *site = e->p;
    e8(e, 0);
    return site;
}
/* Short forward jmp, fixed by e_fix8. */
static inline uint8_t *e_jmp8(JitEmit *e)
{
    e8(e, 0xeb);
    uint8_t *site = e->p;
    e8(e, 0);
    return site;
}
static inline void e_fix8(JitEmit *e, uint8_t *site)
{
    if (!e->overflow) {
        *site = (uint8_t)(e->p - (site + 1));
    }
}

/* call an absolute host function: rel32 when in reach, else through RAX */
static inline void e_call(JitEmit *e, const void *fn)
{
    intptr_t rel = (intptr_t)fn - (intptr_t)(e_here_rx(e) + 5);
    if (fits32(rel)) {
        e8(e, 0xe8);
        e32(e, (uint32_t)(int32_t)rel);
    } else {
        e_mov_ri64(e, H_RAX, (uint64_t)(uintptr_t)fn);
        e8(e, 0xff);
        e8(e, 0xd0);                            /* call rax */
    }
}
/* lea reg, [rip + to the executable address target] */
static inline void e_lea_rip(JitEmit *e, int reg, const uint8_t *target)
{
    e_prefix(e, 8, reg, H_NONE, H_NONE, false);
    e8(e, 0x8d);
    e8(e, (uint8_t)(0x05 | ((reg & 7) << 3)));
    int32_t rel = (int32_t)((intptr_t)target - (intptr_t)(e_here_rx(e) + 4));
    e32(e, (uint32_t)rel);
}

#endif
