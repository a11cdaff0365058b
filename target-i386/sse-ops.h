/*
 * The packed-integer, logic and shuffle operations shared by the MMX
 * (64-bit) and SSE/SSE2 (128-bit) forms of the instructions, as a table
 * of lane functions (sse-int.c), and the SIMD handlers' shared helpers.
 * Reference: Intel SDM vol. 2, the page of each instruction named below.
 */
#ifndef VMKEMU_X86_SSE_OPS_H
#define VMKEMU_X86_SSE_OPS_H

#include "sse-state.h"

/* d = op(d, s) over the low n bytes (8: MMX, 16: XMM); imm is the
 * instruction's immediate where it has one.  Shift counts come from the
 * low quadword of s. */
typedef void (*X86VecOp)(X86Vec *d, const X86Vec *s, int n, uint8_t imm);

enum X86VecOpId {
    VO_PUNPCKLBW, VO_PUNPCKLWD, VO_PUNPCKLDQ, VO_PUNPCKLQDQ,
    VO_PUNPCKHBW, VO_PUNPCKHWD, VO_PUNPCKHDQ, VO_PUNPCKHQDQ,
    VO_PACKSSWB, VO_PACKSSDW, VO_PACKUSWB,
    VO_PCMPGTB, VO_PCMPGTW, VO_PCMPGTD, VO_PCMPEQB, VO_PCMPEQW, VO_PCMPEQD,
    VO_PADDB, VO_PADDW, VO_PADDD, VO_PADDQ, VO_PADDSB, VO_PADDSW, VO_PADDUSB, VO_PADDUSW,
    VO_PSUBB, VO_PSUBW, VO_PSUBD, VO_PSUBQ, VO_PSUBSB, VO_PSUBSW, VO_PSUBUSB, VO_PSUBUSW,
    VO_PMULLW, VO_PMULHW, VO_PMULHUW, VO_PMULUDQ, VO_PMADDWD, VO_PSADBW,
    VO_PAVGB, VO_PAVGW, VO_PMINUB, VO_PMAXUB, VO_PMINSW, VO_PMAXSW,
    VO_PAND, VO_PANDN, VO_POR, VO_PXOR,
    VO_PSRLW, VO_PSRLD, VO_PSRLQ, VO_PSRAW, VO_PSRAD, VO_PSLLW, VO_PSLLD, VO_PSLLQ,
    VO_PSRLDQ, VO_PSLLDQ,
    VO_PSHUFW, VO_PSHUFD, VO_PSHUFHW, VO_PSHUFLW, VO_SHUFPS, VO_SHUFPD,
    VO_COUNT
};

extern const X86VecOp x86_vec_ops[VO_COUNT];

#endif
