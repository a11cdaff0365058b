/*
 * State of the SSE/SSE2 unit of the x86 CPU (the XMM registers and MXCSR)
 * and the entry points of sse.c, the MMX/SSE/SSE2 instruction set.
 * Reference: Intel SDM vol. 1, 10.2 (SSE execution environment: XMM
 * registers, MXCSR, figure 10-3) and 11.5 (SIMD floating-point exceptions);
 * vol. 3, 13.1 (system programming for SSE: CR4.OSFXSR/OSXMMEXCPT, CR0.EM/TS).
 *
 * Included by x86-internal.h; the CPU struct embeds one X86SSEState.  The
 * MMX registers are not here: they are the x87 registers' significands
 * (X86FPU, fpu.c).
 */
#ifndef VMKEMU_X86_SSE_STATE_H
#define VMKEMU_X86_SSE_STATE_H

#include <stdbool.h>
#include <stdint.h>

/* One 128-bit XMM register (or, with 8 bytes used, an MMX value).  Lanes
 * are numbered from the least significant end; the host is little-endian
 * (checked in sse.c), so b[0] is bits 7:0 and q[1] is bits 127:64. */
typedef union X86Vec {
    uint8_t b[16];
    int8_t sb[16];
    uint16_t w[8];
    int16_t sw[8];
    uint32_t d[4];
    int32_t sd[4];
    uint64_t q[2];
    int64_t sq[2];
} X86Vec;

/* MXCSR (SDM vol. 1, figure 10-3). */
#define MXCSR_IE        0x0001u
#define MXCSR_DE        0x0002u
#define MXCSR_ZE        0x0004u
#define MXCSR_OE        0x0008u
#define MXCSR_UE        0x0010u
#define MXCSR_PE        0x0020u
#define MXCSR_FLAGS     0x003fu
#define MXCSR_DAZ       0x0040u
#define MXCSR_MASK_SHIFT 7          /* IM..PM are bits 7..12 */
#define MXCSR_MASKS     0x1f80u
#define MXCSR_RC_SHIFT  13
#define MXCSR_RC        0x6000u
#define MXCSR_FZ        0x8000u
/* The bits this CPU implements (FXSAVE's MXCSR_MASK; DAZ included);
 * setting any other bit with LDMXCSR or FXRSTOR is #GP(0). */
#define MXCSR_WRITABLE  0xffffu
#define MXCSR_RESET     0x1f80u

typedef struct X86SSEState {
    X86Vec xmm[8];
    uint32_t mxcsr;
} X86SSEState;

typedef struct X86CPU X86CPU;

/* Power-on state: XMM0-7 zero, MXCSR 0x1f80 (SDM vol. 3, table 9-1). */
void x86_sse_reset(X86CPU *cpu);

/* The decoder's hook for the 0F map's MMX/SSE/SSE2 opcodes (and the other
 * 0F opcodes decode.c leaves to it): fills what the handler needs into
 * *i and returns the handler (x86_h_ud for an undefined encoding).
 * `pfx` is the mandatory-prefix class of the instruction: 0 none, 1 66,
 * 2 F3, 3 F2 (F3/F2 win over 66).  *imm8 is set when an immediate byte
 * follows, which the decoder then fetches into i->imm. */
struct X86Insn;
typedef struct X86Insn *(*X86SSEHandler)(X86CPU *cpu, struct X86Insn *i);
X86SSEHandler x86_sse_decode(struct X86Insn *i, unsigned op, unsigned pfx, bool mem,
                             bool *imm8);

#endif
