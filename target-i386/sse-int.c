/*
 * Packed-integer, bitwise-logic and shuffle lane operations of MMX, SSE and
 * SSE2, written once for the 64-bit (MMX register) and 128-bit (XMM
 * register) forms: each works on the low n bytes of its operands.
 * Reference: Intel SDM vol. 2, instruction pages PUNPCKLBW..PUNPCKHQDQ,
 * PACKSSWB/PACKSSDW/PACKUSWB, PCMPEQB/W/D and PCMPGTB/W/D, PADDx and PSUBx (wrapping,
 * signed and unsigned saturation), PMULLW/PMULHW/PMULHUW/PMULUDQ/PMADDWD,
 * PSADBW, PAVGB/PAVGW, PMINUB/PMAXUB/PMINSW/PMAXSW, PAND/PANDN/POR/PXOR,
 * PSLLx, PSRLx and PSRAx (counts above the lane width clear the lane or fill it
 * with the sign), PSLLDQ/PSRLDQ, PSHUFW/PSHUFD/PSHUFHW/PSHUFLW, SHUFPS,
 * SHUFPD.
 */
#include <string.h>
#include "sse-ops.h"

#define OP(name) static void name(X86Vec *d, const X86Vec *s, int n, uint8_t imm)
#define UNUSED_IMM (void)imm

static inline int8_t sat_s8(int v) { return v > 127 ? 127 : v < -128 ? -128 : v; }
static inline uint8_t sat_u8(int v) { return v > 255 ? 255 : v < 0 ? 0 : v; }
static inline int16_t sat_s16(int v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }
static inline uint16_t sat_u16(int v) { return v > 65535 ? 65535 : v < 0 ? 0 : v; }

/* --- unpack (interleave) ------------------------------------------------- */

static void interleave(X86Vec *d, const X86Vec *s, int n, int es, bool high)
{
    X86Vec r;
    int half = n / 2, base = high ? half : 0;
    for (int j = 0; j < half / es; j++) {
        memcpy(&r.b[2 * j * es], &d->b[base + j * es], es);
        memcpy(&r.b[(2 * j + 1) * es], &s->b[base + j * es], es);
    }
    memcpy(d, &r, n);
}

OP(punpcklbw) { UNUSED_IMM; interleave(d, s, n, 1, false); }
OP(punpcklwd) { UNUSED_IMM; interleave(d, s, n, 2, false); }
OP(punpckldq) { UNUSED_IMM; interleave(d, s, n, 4, false); }
OP(punpcklqdq) { UNUSED_IMM; interleave(d, s, n, 8, false); }
OP(punpckhbw) { UNUSED_IMM; interleave(d, s, n, 1, true); }
OP(punpckhwd) { UNUSED_IMM; interleave(d, s, n, 2, true); }
OP(punpckhdq) { UNUSED_IMM; interleave(d, s, n, 4, true); }
OP(punpckhqdq) { UNUSED_IMM; interleave(d, s, n, 8, true); }

/* --- pack with saturation ------------------------------------------------- */

OP(packsswb)
{
    UNUSED_IMM;
    X86Vec r;
    int m = n / 2;          /* words per operand */
    for (int k = 0; k < m; k++) {
        r.sb[k] = sat_s8(d->sw[k]);
        r.sb[m + k] = sat_s8(s->sw[k]);
    }
    memcpy(d, &r, n);
}

OP(packuswb)
{
    UNUSED_IMM;
    X86Vec r;
    int m = n / 2;
    for (int k = 0; k < m; k++) {
        r.b[k] = sat_u8(d->sw[k]);
        r.b[m + k] = sat_u8(s->sw[k]);
    }
    memcpy(d, &r, n);
}

OP(packssdw)
{
    UNUSED_IMM;
    X86Vec r;
    int m = n / 4;          /* dwords per operand */
    for (int k = 0; k < m; k++) {
        r.sw[k] = sat_s16(d->sd[k]);
        r.sw[m + k] = sat_s16(s->sd[k]);
    }
    memcpy(d, &r, n);
}

/* --- lane-wise arithmetic ------------------------------------------------- */

#define LANEWISE(name, fld, width, expr)                        \
    OP(name)                                                    \
    {                                                           \
        UNUSED_IMM;                                             \
        for (int k = 0; k < n / (width); k++) {                 \
            d->fld[k] = (expr);                                 \
        }                                                       \
    }

#define A(fld) d->fld[k]
#define B(fld) s->fld[k]

LANEWISE(pcmpgtb, b, 1, A(sb) > B(sb) ? 0xff : 0)
LANEWISE(pcmpgtw, w, 2, A(sw) > B(sw) ? 0xffff : 0)
LANEWISE(pcmpgtd, d, 4, A(sd) > B(sd) ? 0xffffffffu : 0)
LANEWISE(pcmpeqb, b, 1, A(b) == B(b) ? 0xff : 0)
LANEWISE(pcmpeqw, w, 2, A(w) == B(w) ? 0xffff : 0)
LANEWISE(pcmpeqd, d, 4, A(d) == B(d) ? 0xffffffffu : 0)

LANEWISE(paddb, b, 1, (uint8_t)(A(b) + B(b)))
LANEWISE(paddw, w, 2, (uint16_t)(A(w) + B(w)))
LANEWISE(paddd, d, 4, A(d) + B(d))
LANEWISE(paddq, q, 8, A(q) + B(q))
LANEWISE(paddsb, sb, 1, sat_s8(A(sb) + B(sb)))
LANEWISE(paddsw, sw, 2, sat_s16(A(sw) + B(sw)))
LANEWISE(paddusb, b, 1, sat_u8(A(b) + B(b)))
LANEWISE(paddusw, w, 2, sat_u16(A(w) + B(w)))

LANEWISE(psubb, b, 1, (uint8_t)(A(b) - B(b)))
LANEWISE(psubw, w, 2, (uint16_t)(A(w) - B(w)))
LANEWISE(psubd, d, 4, A(d) - B(d))
LANEWISE(psubq, q, 8, A(q) - B(q))
LANEWISE(psubsb, sb, 1, sat_s8(A(sb) - B(sb)))
LANEWISE(psubsw, sw, 2, sat_s16(A(sw) - B(sw)))
LANEWISE(psubusb, b, 1, sat_u8(A(b) - B(b)))
LANEWISE(psubusw, w, 2, sat_u16(A(w) - B(w)))

LANEWISE(pmullw, w, 2, (uint16_t)((int32_t)A(sw) * B(sw)))
LANEWISE(pmulhw, w, 2, (uint16_t)(((int32_t)A(sw) * B(sw)) >> 16))
LANEWISE(pmulhuw, w, 2, (uint16_t)(((uint32_t)A(w) * B(w)) >> 16))
LANEWISE(pavgb, b, 1, (A(b) + B(b) + 1) >> 1)
LANEWISE(pavgw, w, 2, (A(w) + B(w) + 1) >> 1)
LANEWISE(pminub, b, 1, A(b) < B(b) ? A(b) : B(b))
LANEWISE(pmaxub, b, 1, A(b) > B(b) ? A(b) : B(b))
LANEWISE(pminsw, sw, 2, A(sw) < B(sw) ? A(sw) : B(sw))
LANEWISE(pmaxsw, sw, 2, A(sw) > B(sw) ? A(sw) : B(sw))

LANEWISE(pand, q, 8, A(q) & B(q))
LANEWISE(pandn, q, 8, ~A(q) & B(q))
LANEWISE(por, q, 8, A(q) | B(q))
LANEWISE(pxor, q, 8, A(q) ^ B(q))

/* PMULUDQ: the even dwords, multiplied unsigned into quadwords. */
LANEWISE(pmuludq, q, 8, (uint64_t)(uint32_t)A(q) * (uint32_t)B(q))

OP(pmaddwd)
{
    UNUSED_IMM;
    for (int k = 0; k < n / 4; k++) {
        int32_t lo = (int32_t)d->sw[2 * k] * s->sw[2 * k];
        int32_t hi = (int32_t)d->sw[2 * k + 1] * s->sw[2 * k + 1];
        d->d[k] = (uint32_t)lo + (uint32_t)hi;  /* 0x8000 * 0x8000 * 2 wraps */
    }
}

OP(psadbw)
{
    UNUSED_IMM;
    for (int h = 0; h < n / 8; h++) {
        unsigned sum = 0;
        for (int k = 0; k < 8; k++) {
            int diff = d->b[8 * h + k] - s->b[8 * h + k];
            sum += diff < 0 ? -diff : diff;
        }
        d->q[h] = sum;
    }
}

/* --- shifts --------------------------------------------------------------- */

#define SHIFT(name, fld, width, bits, expr_in, expr_over)       \
    OP(name)                                                    \
    {                                                           \
        UNUSED_IMM;                                             \
        uint64_t c = s->q[0];                                   \
        for (int k = 0; k < n / (width); k++) {                 \
            d->fld[k] = c < (bits) ? (expr_in) : (expr_over);   \
        }                                                       \
    }

SHIFT(psrlw, w, 2, 16, A(w) >> c, 0)
SHIFT(psrld, d, 4, 32, A(d) >> c, 0)
SHIFT(psrlq, q, 8, 64, A(q) >> c, 0)
SHIFT(psllw, w, 2, 16, (uint16_t)(A(w) << c), 0)
SHIFT(pslld, d, 4, 32, A(d) << c, 0)
SHIFT(psllq, q, 8, 64, A(q) << c, 0)
SHIFT(psraw, sw, 2, 16, A(sw) >> c, A(sw) >> 15)
SHIFT(psrad, sd, 4, 32, A(sd) >> c, A(sd) >> 31)

/* Whole-register byte shifts (XMM only); the count is the immediate. */
OP(psrldq)
{
    UNUSED_IMM;
    uint64_t c = s->q[0];
    X86Vec r = { .q = { 0, 0 } };
    for (int k = 0; c < 16 && k + (int)c < n; k++) {
        r.b[k] = d->b[k + c];
    }
    memcpy(d, &r, n);
}

OP(pslldq)
{
    UNUSED_IMM;
    uint64_t c = s->q[0];
    X86Vec r = { .q = { 0, 0 } };
    for (int k = (int)c; c < 16 && k < n; k++) {
        r.b[k] = d->b[k - c];
    }
    memcpy(d, &r, n);
}

/* --- shuffles (d is written from s and the immediate) ---------------------- */

OP(pshufw)
{
    (void)n;
    X86Vec r;
    for (int k = 0; k < 4; k++) {
        r.w[k] = s->w[(imm >> (2 * k)) & 3];
    }
    d->q[0] = r.q[0];
}

OP(pshufd)
{
    (void)n;
    X86Vec r;
    for (int k = 0; k < 4; k++) {
        r.d[k] = s->d[(imm >> (2 * k)) & 3];
    }
    *d = r;
}

OP(pshufhw)
{
    (void)n;
    X86Vec r;
    r.q[0] = s->q[0];
    for (int k = 0; k < 4; k++) {
        r.w[4 + k] = s->w[4 + ((imm >> (2 * k)) & 3)];
    }
    *d = r;
}

OP(pshuflw)
{
    (void)n;
    X86Vec r;
    for (int k = 0; k < 4; k++) {
        r.w[k] = s->w[(imm >> (2 * k)) & 3];
    }
    r.q[1] = s->q[1];
    *d = r;
}

OP(shufps)
{
    (void)n;
    X86Vec r;
    r.d[0] = d->d[imm & 3];
    r.d[1] = d->d[(imm >> 2) & 3];
    r.d[2] = s->d[(imm >> 4) & 3];
    r.d[3] = s->d[(imm >> 6) & 3];
    *d = r;
}

OP(shufpd)
{
    (void)n;
    X86Vec r;
    r.q[0] = d->q[imm & 1];
    r.q[1] = s->q[(imm >> 1) & 1];
    *d = r;
}

const X86VecOp x86_vec_ops[VO_COUNT] = {
    [VO_PUNPCKLBW] = punpcklbw, [VO_PUNPCKLWD] = punpcklwd, [VO_PUNPCKLDQ] = punpckldq,
    [VO_PUNPCKLQDQ] = punpcklqdq, [VO_PUNPCKHBW] = punpckhbw, [VO_PUNPCKHWD] = punpckhwd,
    [VO_PUNPCKHDQ] = punpckhdq, [VO_PUNPCKHQDQ] = punpckhqdq,
    [VO_PACKSSWB] = packsswb, [VO_PACKSSDW] = packssdw, [VO_PACKUSWB] = packuswb,
    [VO_PCMPGTB] = pcmpgtb, [VO_PCMPGTW] = pcmpgtw, [VO_PCMPGTD] = pcmpgtd,
    [VO_PCMPEQB] = pcmpeqb, [VO_PCMPEQW] = pcmpeqw, [VO_PCMPEQD] = pcmpeqd,
    [VO_PADDB] = paddb, [VO_PADDW] = paddw, [VO_PADDD] = paddd, [VO_PADDQ] = paddq,
    [VO_PADDSB] = paddsb, [VO_PADDSW] = paddsw, [VO_PADDUSB] = paddusb, [VO_PADDUSW] = paddusw,
    [VO_PSUBB] = psubb, [VO_PSUBW] = psubw, [VO_PSUBD] = psubd, [VO_PSUBQ] = psubq,
    [VO_PSUBSB] = psubsb, [VO_PSUBSW] = psubsw, [VO_PSUBUSB] = psubusb, [VO_PSUBUSW] = psubusw,
    [VO_PMULLW] = pmullw, [VO_PMULHW] = pmulhw, [VO_PMULHUW] = pmulhuw,
    [VO_PMULUDQ] = pmuludq, [VO_PMADDWD] = pmaddwd, [VO_PSADBW] = psadbw,
    [VO_PAVGB] = pavgb, [VO_PAVGW] = pavgw, [VO_PMINUB] = pminub, [VO_PMAXUB] = pmaxub,
    [VO_PMINSW] = pminsw, [VO_PMAXSW] = pmaxsw,
    [VO_PAND] = pand, [VO_PANDN] = pandn, [VO_POR] = por, [VO_PXOR] = pxor,
    [VO_PSRLW] = psrlw, [VO_PSRLD] = psrld, [VO_PSRLQ] = psrlq, [VO_PSRAW] = psraw,
    [VO_PSRAD] = psrad, [VO_PSLLW] = psllw, [VO_PSLLD] = pslld, [VO_PSLLQ] = psllq,
    [VO_PSRLDQ] = psrldq, [VO_PSLLDQ] = pslldq,
    [VO_PSHUFW] = pshufw, [VO_PSHUFD] = pshufd, [VO_PSHUFHW] = pshufhw,
    [VO_PSHUFLW] = pshuflw, [VO_SHUFPS] = shufps, [VO_SHUFPD] = shufpd,
};
