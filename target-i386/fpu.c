/*
 * The x87 floating-point unit: register stack, control/status/tag words,
 * the D8-DF instruction map, FWAIT, environment and state save/restore, and
 * exception reporting through #MF (CR0.NE) or as a pending condition.
 * Reference: Intel SDM vol. 1 chapter 8 (x87 FPU: 8.1 state, 8.1.3 status
 * word and condition codes, 8.1.5 control word, 8.1.7 tag word, 8.1.10 and
 * figures 8-9..8-12 environment layouts, 8.4 exception conditions, 8.5
 * masked responses) and vol. 2 for each instruction and table A-7..A-22
 * (x87 opcode maps).
 *
 * Registers are kept as raw 80-bit values, so FSAVE/FRSTOR and FLD/FSTP m80
 * round-trip every encoding exactly.  Arithmetic uses the host's long
 * double: on x86 hosts that is the same 80-bit format, so results are
 * bit-exact; the guest's rounding control is applied with fesetround and its
 * precision control by rounding the significand afterwards; the host's
 * exception flags become the x87 ones.  Transcendental results come from the
 * C library (the SDM promises accuracy, not exact bits).
 */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include "x86-internal.h"

/* Status word bits. */
#define SW_IE   0x0001u
#define SW_DE   0x0002u
#define SW_ZE   0x0004u
#define SW_OE   0x0008u
#define SW_UE   0x0010u
#define SW_PE   0x0020u
#define SW_SF   0x0040u
#define SW_ES   0x0080u
#define SW_C0   0x0100u
#define SW_C1   0x0200u
#define SW_C2   0x0400u
#define SW_C3   0x4000u
#define SW_B    0x8000u
#define SW_EXC  0x003fu

#define CW_PC_SHIFT 8
#define CW_RC_SHIFT 10

typedef long double LD;

enum { OP_ADD, OP_MUL, OP_COM, OP_COMP, OP_SUB, OP_SUBR, OP_DIV, OP_DIVR, OP_SQRT };

/* GCC does not order floating-point operations against fesetround() and
 * fetestexcept(); passing operands and results through volatile storage
 * keeps each operation between the two. */
#define FPB(x) ({ volatile LD fpb_ = (x); fpb_; })

/* --- 80-bit values ------------------------------------------------------------ */

static inline X86F80 f80_make(int sign, int exp, uint64_t mant)
{
    return (X86F80){ .mant = mant, .se = (uint16_t)((sign ? 0x8000 : 0) | (exp & 0x7fff)) };
}

#if LDBL_MANT_DIG == 64 && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline LD f2ld(X86F80 v)
{
    LD r = 0;
    memcpy(&r, &v, 10);
    return r;
}
static inline X86F80 ld2f(LD x)
{
    X86F80 v;
    memcpy(&v, &x, 10);
    return v;
}
#else
/* Hosts whose long double is not the x87 format. */
static LD f2ld(X86F80 v)
{
    int exp = v.se & 0x7fff;
    bool neg = v.se & 0x8000;
    LD r;
    if (exp == 0x7fff) {
        r = (v.mant << 1) ? (LD)NAN : (LD)INFINITY;
    } else {
        r = ldexpl((LD)v.mant, (exp ? exp : 1) - 16383 - 63);
    }
    return neg ? -r : r;
}
static X86F80 ld2f(LD x)
{
    int neg = signbit(x) != 0, e;
    if (isnan(x)) {
        return f80_make(neg, 0x7fff, 0xc000000000000000ULL);
    }
    if (isinf(x)) {
        return f80_make(neg, 0x7fff, 0x8000000000000000ULL);
    }
    if (x == 0) {
        return f80_make(neg, 0, 0);
    }
    LD m = frexpl(fabsl(x), &e);            /* [0.5, 1) */
    int exp = e - 1 + 16383;
    if (exp <= 0) {
        return f80_make(neg, 0, (uint64_t)ldexpl(fabsl(x), 16382 + 63));
    }
    return f80_make(neg, exp, (uint64_t)ldexpl(m, 64));
}
#endif

static inline bool f80_is_nan(X86F80 v)
{
    return (v.se & 0x7fff) == 0x7fff && (v.mant << 1) != 0;
}
static inline bool f80_is_snan(X86F80 v)
{
    return f80_is_nan(v) && !(v.mant & 0x4000000000000000ULL);
}
static inline bool f80_is_inf(X86F80 v)
{
    return (v.se & 0x7fff) == 0x7fff && (v.mant << 1) == 0;
}
static inline bool f80_is_zero(X86F80 v)
{
    return (v.se & 0x7fff) == 0 && v.mant == 0;
}
static inline bool f80_is_denormal(X86F80 v)
{
    return (v.se & 0x7fff) == 0 && v.mant != 0;
}
/* Unsupported encodings: a zero integer bit with a nonzero exponent. */
static inline bool f80_is_unsupported(X86F80 v)
{
    int exp = v.se & 0x7fff;
    return exp != 0 && !(v.mant >> 63);
}

static const X86F80 F80_INDEFINITE = { .mant = 0xc000000000000000ULL, .se = 0xffff };

/* --- stack ---------------------------------------------------------------------- */

#define FPU (&cpu->fpu)

static inline int phys(X86CPU *cpu, int i)
{
    return (FPU->top + i) & 7;
}
static inline bool st_empty(X86CPU *cpu, int i)
{
    return (FPU->tag_empty >> phys(cpu, i)) & 1;
}
static inline X86F80 st_get(X86CPU *cpu, int i)
{
    return FPU->st[phys(cpu, i)];
}
static inline void st_set(X86CPU *cpu, int i, X86F80 v)
{
    int p = phys(cpu, i);
    FPU->st[p] = v;
    FPU->tag_empty &= ~(1u << p);
}

/* Set exception flags; unmasked ones also set ES and B (reported through
 * #MF on the next waiting instruction). */
static void fpu_exc(X86CPU *cpu, uint32_t flags)
{
    FPU->fsw |= flags;
    if (flags & ~FPU->fcw & SW_EXC) {
        FPU->fsw |= SW_ES | SW_B;
    }
}

static inline bool masked(X86CPU *cpu, uint32_t flag)
{
    return FPU->fcw & flag;
}

/* Stack overflow / underflow: invalid operation with SF; C1 says which.
 * Returns true when the instruction must not complete (unmasked). */
static bool stack_fault(X86CPU *cpu, bool overflow)
{
    FPU->fsw = (FPU->fsw & ~SW_C1) | (overflow ? SW_C1 : 0);
    fpu_exc(cpu, SW_IE | SW_SF);
    return !masked(cpu, SW_IE);
}

static inline bool push_overflows(X86CPU *cpu)
{
    return !((FPU->tag_empty >> ((FPU->top - 1) & 7)) & 1);
}

static void fpu_push(X86CPU *cpu, X86F80 v)
{
    int p = (FPU->top - 1) & 7;
    if (!((FPU->tag_empty >> p) & 1)) {
        if (stack_fault(cpu, true)) {
            return;
        }
        v = F80_INDEFINITE;
    }
    FPU->top = p;
    FPU->st[p] = v;
    FPU->tag_empty &= ~(1u << p);
}

/* FLD m32/m64 after the operand was loaded with its exception `flags`: an
 * unmasked DE still loads (the host does), an unmasked IE does not, and a
 * full stack's fault comes before DE. */
static void fld_loaded(X86CPU *cpu, X86F80 v, uint32_t flags)
{
    if (push_overflows(cpu)) {
        flags &= ~SW_DE;
    }
    fpu_exc(cpu, flags);
    FPU->fsw &= ~SW_C1;
    if (!(flags & ~FPU->fcw & SW_IE)) {
        fpu_push(cpu, v);
    }
}

static void fpu_pop(X86CPU *cpu)
{
    FPU->tag_empty |= 1u << FPU->top;
    FPU->top = (FPU->top + 1) & 7;
}

/* --- host arithmetic under the guest's controls ------------------------------------ */

typedef struct FEnv {
    int round;
} FEnv;

static void fe_begin(X86CPU *cpu, FEnv *e)
{
    static const int modes[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
    int rc = (FPU->fcw >> CW_RC_SHIFT) & 3;
    feclearexcept(FE_ALL_EXCEPT);
    e->round = rc;
    if (rc) {
        fesetround(modes[rc]);
    }
}

/* Host exception flags -> x87 flags; restore the host's rounding. */
static uint32_t fe_end(FEnv *e)
{
    int x = fetestexcept(FE_ALL_EXCEPT);
    uint32_t f = 0;
    if (x & FE_INVALID) {
        f |= SW_IE;
    }
    if (x & FE_DIVBYZERO) {
        f |= SW_ZE;
    }
    if (x & FE_OVERFLOW) {
        f |= SW_OE;
    }
    if (x & FE_UNDERFLOW) {
        f |= SW_UE;
    }
    if (x & FE_INEXACT) {
        f |= SW_PE;
    }
    if (e->round) {
        fesetround(FE_TONEAREST);
    }
    feclearexcept(FE_ALL_EXCEPT);
    return f;
}

/* Sign of (exact - r) for r = x op y rounded some way; computed in
 * round-to-nearest (after fe_end) from error terms: TwoSum for sums, FMA
 * residuals for products, quotients and square roots. */
static int sgn(LD v)
{
    return v > 0 ? 1 : v < 0 ? -1 : 0;
}

static int err_sign(int op, LD x, LD y, LD r)
{
    LD s, e, d;
    int ex, ey, er;
    if (isinf(r) && isfinite(x) && isfinite(y)) {
        return r > 0 ? -1 : 1;          /* overflowed to infinity: rounded up */
    }
    if (!isfinite(r) || !isfinite(x) || !isfinite(y)) {
        return 0;
    }
    switch (op) {
    case OP_ADD:
    case OP_SUB:
    case OP_SUBR:
        if (op == OP_SUB) {
            y = -y;
        } else if (op == OP_SUBR) {
            x = -x;
        }
        s = FPB(x + y);
        if (isinf(s)) {
            return r == s ? -sgn(r) : sgn(s);   /* overflow: up to inf, or down to max */
        }
        d = FPB(s - x);
        e = FPB(FPB(x - FPB(s - d)) + FPB(y - d));
        return s != r ? sgn(FPB(s - r)) : sgn(e);
    case OP_MUL:
        /* sign(x*y - r) on normalized significands, so that neither a tiny
         * residual underflows nor a huge one overflows. */
        if (x == 0 || y == 0) {
            return sgn(-r);
        }
        {
            LD mx = frexpl(x, &ex), my = frexpl(y, &ey), mr = frexpl(r, &er);
            if (r == 0) {
                return sgn(x) * sgn(y);
            }
            return sgn(fmal(mx, my, -ldexpl(mr, er - ex - ey)));
        }
    case OP_DIV:
    case OP_DIVR:
        if (op == OP_DIVR) {
            LD t = x;
            x = y;
            y = t;
        }
        /* sign(x/y - r) = sign(x - r*y) * sign(y) */
        if (y == 0 || !isfinite(x / y)) {
            return 0;
        }
        if (r == 0) {
            return x == 0 ? 0 : sgn(x) * sgn(y);
        }
        {
            LD mr = frexpl(r, &er), my = frexpl(y, &ey), mx = frexpl(x, &ex);
            return sgn(fmal(-mr, my, ldexpl(mx, ex - er - ey))) * sgn(y);
        }
    case OP_SQRT:
        if (x <= 0 || r == 0) {
            return 0;
        }
        {
            LD mr = frexpl(r, &er), mx = frexpl(x, &ex);
            return sgn(fmal(-mr, mr, ldexpl(mx, ex - 2 * er)));
        }
    }
    (void)d;
    return 0;
}

/* Precision control: 24 or 53 significand bits.  The exponent range stays
 * that of the 80-bit format, and denormal results keep the same absolute
 * granularity as 80-bit denormals of that precision.  `es` is the sign of
 * (exact - x): a tie created by the first rounding to 64 bits is broken
 * toward the exact value. */
static LD apply_pc(X86CPU *cpu, LD x, int es)
{
    int pc = (FPU->fcw >> CW_PC_SHIFT) & 3;
    if (pc == 3 || pc == 1 || !isfinite(x) || x == 0) {
        return x;
    }
    int bits = pc == 0 ? 24 : 53, e;
    frexpl(x, &e);
    int lead = e - 1 < -16382 ? -16382 : e - 1;     /* weight of the leading bit */
    int q = lead - (bits - 1);                        /* weight of the last kept bit */
    LD m = ldexpl(x, -q);
    LD t = truncl(m);
    if (fabsl(m - t) == 0.5L && es != 0 && ((FPU->fcw >> CW_RC_SHIFT) & 3) == 0) {
        bool up = (es > 0) == (x > 0);
        m = up ? t + copysignl(1.0L, m) : t;
    } else {
        m = rintl(m);
    }
    return ldexpl(m, q);
}

/* C1 after a rounded result: 1 when the magnitude was rounded up. */
static void set_c1_rounding(X86CPU *cpu, LD r, int es)
{
    if (es != 0 && r != 0 && (es > 0) != (r > 0)) {
        FPU->fsw |= SW_C1;
    }
}

/* Denormal-operand check (DE) for 80-bit operands. */
static uint32_t de_of(X86F80 a)
{
    return f80_is_denormal(a) ? SW_DE : 0;
}

/* Write `r` to ST(i) unless an unmasked pre-computation exception (IE, DE,
 * ZE) forbids it. */
static void finish(X86CPU *cpu, int i, LD r, uint32_t flags, bool pop)
{
    /* Exception priority (SDM vol. 1, 8.7): invalid operation and divide
     * by zero come before the denormal-operand check. */
    if (flags & (SW_IE | SW_ZE)) {
        flags &= ~SW_DE;
    }
    /* An unmasked one leaves the destination alone and C1 = 0 (as the
     * host does). */
    if (flags & SW_IE & ~FPU->fcw) {
        FPU->fsw &= ~SW_C1;
        fpu_exc(cpu, SW_IE);
        return;
    }
    if ((flags & (SW_DE | SW_ZE)) & ~FPU->fcw) {
        FPU->fsw &= ~SW_C1;
        fpu_exc(cpu, flags & (SW_DE | SW_ZE));
        return;
    }
    fpu_exc(cpu, flags);
    st_set(cpu, i, ld2f(r));
    if (pop) {
        fpu_pop(cpu);
    }
}

/* x op y on the host under the guest's RC and PC: the rounded result, the
 * flags of the rounding and the sign of (exact - result). */
static LD compute(X86CPU *cpu, int op, LD x, LD y, uint32_t *hfp, int *esp)
{
    FEnv fe;
    LD r, r64;
    fe_begin(cpu, &fe);
    x = FPB(x);
    y = FPB(y);
    switch (op) {
    case OP_ADD: r = x + y; break;
    case OP_MUL: r = x * y; break;
    case OP_SUB: r = x - y; break;
    case OP_SUBR: r = y - x; break;
    case OP_DIV: r = x / y; break;
    default: r = y / x; break;
    }
    r64 = FPB(r);
    uint32_t hf = fe_end(&fe);
    int es = err_sign(op, x, y, r64);
    if (((FPU->fcw >> CW_PC_SHIFT) & 3) != 3 && isfinite(r64) && r64 != 0) {
        fe_begin(cpu, &fe);
        r = FPB(apply_pc(cpu, FPB(r64), es));
        hf |= fe_end(&fe) & ~SW_IE;
        if (r != r64) {
            hf |= SW_PE;
        }
        if ((hf & SW_PE) && fabsl(r) < 0x1p-16382L) {
            hf |= SW_UE;
        }
        es = err_sign(op, x, y, r);
    } else {
        r = r64;
    }
    *hfp = hf;
    *esp = es;
    return r;
}

/* Unmasked overflow and underflow deliver the rounded result scaled by
 * 2^-24576 or 2^24576 (SDM vol. 1, 8.5.4, 8.5.5).  The operands are scaled
 * instead, which is exact while they stay normal; a sum's small operand
 * that would vanish keeps its sticky contribution as the least denormal. */
#define X87_BIAS_ADJUST 24576
static LD compute_scaled(X86CPU *cpu, int op, LD x, LD y, int scale, uint32_t *hf, int *es)
{
    int h = scale / 2;
    LD xs, ys;
    switch (op) {
    case OP_ADD: case OP_SUB: case OP_SUBR:
        xs = ldexpl(x, scale);
        ys = ldexpl(y, scale);
        if (x != 0 && xs == 0) {
            xs = copysignl(LDBL_TRUE_MIN, x);
        }
        if (y != 0 && ys == 0) {
            ys = copysignl(LDBL_TRUE_MIN, y);
        }
        break;
    case OP_MUL:
        xs = ldexpl(x, h);
        ys = ldexpl(y, scale - h);
        break;
    case OP_DIV:            /* x / y */
        xs = ldexpl(x, h);
        ys = ldexpl(y, h - scale);
        break;
    default:                /* OP_DIVR: y / x */
        xs = ldexpl(x, h - scale);
        ys = ldexpl(y, h);
        break;
    }
    return compute(cpu, op, xs, ys, hf, es);
}

/* dst = dst op src (with the operand order of `op`), result to ST(di). */
static void arith_x(X86CPU *cpu, int op, int di, X86F80 a, X86F80 b, bool pop,
                    uint32_t extra)
{
    LD x = f2ld(a), y = f2ld(b), r;
    uint32_t flags = de_of(a) | de_of(b) | extra, hf;
    int es;
    if (f80_is_unsupported(a) || f80_is_unsupported(b)) {
        finish(cpu, di, f2ld(F80_INDEFINITE), SW_IE, pop);
        return;
    }
    if (f80_is_nan(a) || f80_is_nan(b)) {
        flags &= ~SW_DE;
    }
    r = compute(cpu, op, x, y, &hf, &es);
    if (isfinite(x) && isfinite(y) && !(flags & ~FPU->fcw & (SW_DE | SW_ZE)) &&
        !(hf & (SW_IE | SW_ZE))) {
        if ((hf & SW_OE) && !masked(cpu, SW_OE)) {
            uint32_t sf;
            r = compute_scaled(cpu, op, x, y, -X87_BIAS_ADJUST, &sf, &es);
            hf = SW_OE | (sf & SW_PE);
        } else if (!masked(cpu, SW_UE) && fabsl(r) <= 0x1p-16382L) {
            /* Unmasked, tininess alone is underflow (after rounding, with
             * an unbounded exponent); an exact zero is not. */
            uint32_t sf;
            int ses;
            LD rs = compute_scaled(cpu, op, x, y, X87_BIAS_ADJUST, &sf, &ses);
            if (rs != 0 && fabsl(rs) < 0x1p8194L) {
                r = rs;
                es = ses;
                hf = SW_UE | (sf & SW_PE);
            } else {
                hf &= ~SW_UE;
            }
        }
    }
    flags |= hf;
    FPU->fsw &= ~SW_C1;
    if (flags & SW_PE) {
        set_c1_rounding(cpu, r, es);
    }
    finish(cpu, di, r, flags, pop);
}

static void arith(X86CPU *cpu, int op, int di, X86F80 a, X86F80 b, bool pop)
{
    arith_x(cpu, op, di, a, b, pop, 0);
}

/* Compare ST(0) with b: C3 C2 C0 (or ZF PF CF for FCOMI). */
static void compare_x(X86CPU *cpu, X86F80 a, X86F80 b, bool quiet, bool eflags, int pops,
                      uint32_t extra)
{
    uint32_t flags = de_of(a) | de_of(b) | extra, cc;
    bool unordered = f80_is_nan(a) || f80_is_nan(b) || f80_is_unsupported(a) ||
                     f80_is_unsupported(b);
    if (unordered) {
        if (!quiet || f80_is_snan(a) || f80_is_snan(b) || f80_is_unsupported(a) ||
            f80_is_unsupported(b)) {
            flags |= SW_IE;
        }
        cc = 7;                 /* C3 C2 C0 = 111 */
        flags &= ~SW_DE;
    } else {
        LD x = f2ld(a), y = f2ld(b);
        cc = x < y ? 1 : x > y ? 0 : 4;
    }
    fpu_exc(cpu, flags);
    /* The host writes the condition codes (or ZF PF CF) even when an
     * unmasked exception is raised; only the pops are left out. */
    if ((flags & SW_IE & ~FPU->fcw) || (flags & SW_DE & ~FPU->fcw)) {
        pops = 0;
    }
    if (eflags) {
        x86_flags_materialize(cpu);
        cpu->eflags &= ~(FL_ZF | FL_PF | FL_CF | FL_OF | FL_SF | FL_AF);
        cpu->eflags |= ((cc & 4) ? FL_ZF : 0) | ((cc & 2) ? FL_PF : 0) | ((cc & 1) ? FL_CF : 0);
    } else {
        FPU->fsw &= ~(SW_C0 | SW_C1 | SW_C2 | SW_C3);
        FPU->fsw |= ((cc & 4) ? SW_C3 : 0) | ((cc & 2) ? SW_C2 : 0) | ((cc & 1) ? SW_C0 : 0);
    }
    while (pops-- > 0) {
        fpu_pop(cpu);
    }
}

/* Stack underflow in a compare: unordered (C3 C2 C0 or ZF PF CF = 111),
 * written even when the exception is unmasked; pops only when masked. */
static void compare_underflow(X86CPU *cpu, bool eflags, int pops)
{
    bool stop = stack_fault(cpu, false);
    if (eflags) {
        x86_flags_materialize(cpu);
        cpu->eflags &= ~(FL_OF | FL_SF | FL_AF);
        cpu->eflags |= FL_ZF | FL_PF | FL_CF;
    } else {
        FPU->fsw |= SW_C0 | SW_C2 | SW_C3;
    }
    while (!stop && pops-- > 0) {
        fpu_pop(cpu);
    }
}

static void compare(X86CPU *cpu, X86F80 a, X86F80 b, bool quiet, bool eflags, int pops)
{
    compare_x(cpu, a, b, quiet, eflags, pops, 0);
}

/* --- memory operands ------------------------------------------------------------------ */

static inline uint32_t fpu_ea(X86CPU *cpu, X86Insn *i)
{
    return x86_ea(cpu, i);
}

/* #AC for operands wider than the dword pieces they are accessed in:
 * m64 reals and integers, m80 reals (SDM vol. 3, table 6-7). */
static inline void fpu_align(X86CPU *cpu, X86Insn *i, uint32_t ea, unsigned a)
{
    x86_align_check(cpu, cpu->seg[i->seg].base + ea, a);
}

static X86F80 load_m32(X86CPU *cpu, X86Insn *i, uint32_t *flags)
{
    uint32_t v = ld32(cpu, i->seg, fpu_ea(cpu, i));
    float f;
    memcpy(&f, &v, 4);
    if ((v & 0x7f800000u) == 0 && (v & 0x7fffffu)) {
        *flags |= SW_DE;
    }
    FEnv fe;
    fe_begin(cpu, &fe);
    LD r = FPB((LD)f);
    *flags |= fe_end(&fe) & SW_IE;
    return ld2f(r);
}

static X86F80 load_m64(X86CPU *cpu, X86Insn *i, uint32_t *flags)
{
    uint32_t ea = fpu_ea(cpu, i);
    fpu_align(cpu, i, ea, 8);
    uint64_t v = ld32(cpu, i->seg, ea) | ((uint64_t)ld32(cpu, i->seg, (ea + 4) & i->amask) << 32);
    double d;
    memcpy(&d, &v, 8);
    if ((v & 0x7ff0000000000000ULL) == 0 && (v & 0xfffffffffffffULL)) {
        *flags |= SW_DE;
    }
    FEnv fe;
    fe_begin(cpu, &fe);
    LD r = FPB((LD)d);
    *flags |= fe_end(&fe) & SW_IE;
    return ld2f(r);
}

static X86F80 load_m80(X86CPU *cpu, X86Insn *i)
{
    uint32_t ea = fpu_ea(cpu, i);
    X86F80 v;
    fpu_align(cpu, i, ea, 8);
    v.mant = ld32(cpu, i->seg, ea) | ((uint64_t)ld32(cpu, i->seg, (ea + 4) & i->amask) << 32);
    v.se = ld16(cpu, i->seg, (ea + 8) & i->amask);
    return v;
}

static int64_t load_int(X86CPU *cpu, X86Insn *i, int bytes)
{
    uint32_t ea = fpu_ea(cpu, i);
    switch (bytes) {
    case 2: return (int16_t)ld16(cpu, i->seg, ea);
    case 4: return (int32_t)ld32(cpu, i->seg, ea);
    default:
        fpu_align(cpu, i, ea, 8);
        return (int64_t)(ld32(cpu, i->seg, ea) |
                         ((uint64_t)ld32(cpu, i->seg, (ea + 4) & i->amask) << 32));
    }
}

/* Check that [ea, ea+len) is writable before anything changes. */
static uint32_t probe_store(X86CPU *cpu, X86Insn *i, unsigned len)
{
    uint32_t ea = fpu_ea(cpu, i);
    uint32_t lin = seg_w(cpu, i->seg, ea, len > 4 ? 4 : len);
    if (len > 4) {
        (void)seg_w(cpu, i->seg, (ea + len - 4) & i->amask, 4);
    }
    x86_probe_write(cpu, lin, len, cpu->mmu_idx);
    return ea;
}

static void store_bytes(X86CPU *cpu, X86Insn *i, uint32_t ea, const void *buf, unsigned len)
{
    const uint8_t *b = buf;
    unsigned k = 0;
    for (; k + 4 <= len; k += 4) {
        uint32_t v;
        memcpy(&v, b + k, 4);
        st32(cpu, i->seg, (ea + k) & i->amask, v);
    }
    for (; k + 2 <= len; k += 2) {
        uint16_t v;
        memcpy(&v, b + k, 2);
        st16(cpu, i->seg, (ea + k) & i->amask, v);
    }
}

/* Is x tiny for the m32/m64 format: below its least normal after rounding
 * to its precision (under RC) with an unbounded exponent? */
static bool store_tiny(X86CPU *cpu, LD x, bool dbl)
{
    LD lim = dbl ? 0x1p-1022L : 0x1p-126L;
    int bits = dbl ? 53 : 24, e;
    if (fabsl(x) >= lim) {
        return false;
    }
    LD m = frexpl(x, &e);
    FEnv fe;
    fe_begin(cpu, &fe);
    LD t = FPB(rintl(FPB(ldexpl(m, bits))));
    fe_end(&fe);
    return fabsl(ldexpl(t, e - bits)) < lim;
}

/* FST/FSTP m32/m64: round to the format under RC. */
static bool store_real(X86CPU *cpu, X86Insn *i, bool dbl)
{
    uint32_t ea = probe_store(cpu, i, dbl ? 8 : 4);
    fpu_align(cpu, i, ea, dbl ? 8 : 4);
    if (st_empty(cpu, 0)) {
        if (stack_fault(cpu, false)) {
            return false;
        }
        uint64_t q = dbl ? 0xfff8000000000000ULL : 0xffc00000u;
        store_bytes(cpu, i, ea, &q, dbl ? 8 : 4);
        return true;
    }
    X86F80 a = st_get(cpu, 0);
    uint32_t flags = 0;     /* the host reports no DE for stores */
    FEnv fe;
    fe_begin(cpu, &fe);
    LD x = f2ld(a);
    if (f80_is_unsupported(a)) {
        x = NAN;
        flags |= SW_IE;
    }
    float f = 0;
    double d = 0;
    x = FPB(x);
    if (dbl) {
        volatile double vd = (double)x;
        d = vd;
    } else {
        volatile float vf = (float)x;
        f = vf;
    }
    flags |= fe_end(&fe);
    FPU->fsw &= ~SW_C1;
    if ((flags & ~FPU->fcw) & (SW_IE | SW_DE)) {
        fpu_exc(cpu, flags);
        return false;
    }
    /* Unmasked overflow or underflow (tininess alone) leave memory and the
     * stack alone and report just that exception (as the host does). */
    if (isfinite(x) && x != 0) {
        if ((flags & SW_OE) && !masked(cpu, SW_OE)) {
            fpu_exc(cpu, SW_OE);
            return false;
        }
        if (!masked(cpu, SW_UE) && store_tiny(cpu, x, dbl)) {
            fpu_exc(cpu, SW_UE);
            return false;
        }
    }
    fpu_exc(cpu, flags);
    if (isfinite(x) && fabsl(dbl ? (LD)d : (LD)f) > fabsl(x)) {
        FPU->fsw |= SW_C1;          /* rounded up */
    }
    if (dbl) {
        store_bytes(cpu, i, ea, &d, 8);
    } else {
        store_bytes(cpu, i, ea, &f, 4);
    }
    return true;
}

/* FIST/FISTP: round per RC; out of range -> IE, integer indefinite. */
static bool store_int(X86CPU *cpu, X86Insn *i, int bytes)
{
    uint32_t ea = probe_store(cpu, i, bytes);
    fpu_align(cpu, i, ea, bytes);
    FPU->fsw &= ~SW_C1;
    uint64_t out;
    uint32_t flags = 0;
    if (st_empty(cpu, 0)) {
        if (stack_fault(cpu, false)) {
            return false;
        }
        out = 1ULL << (bytes * 8 - 1);
    } else {
        X86F80 a = st_get(cpu, 0);
        FEnv fe;
        fe_begin(cpu, &fe);
        LD r = FPB(rintl(FPB(f2ld(a))));
        uint32_t hf = fe_end(&fe);
        LD lim = ldexpl(1.0L, bytes * 8 - 1);
        if (f80_is_nan(a) || f80_is_unsupported(a) || !(r >= -lim && r < lim)) {
            flags |= SW_IE;
            out = 1ULL << (bytes * 8 - 1);
        } else {
            out = (uint64_t)(int64_t)r;
            flags |= hf & SW_PE;
            if (fabsl(r) > fabsl(f2ld(a))) {
                FPU->fsw |= SW_C1;
            }
        }
        if ((flags & ~FPU->fcw) & (SW_IE | SW_DE)) {
            fpu_exc(cpu, flags);
            return false;
        }
    }
    fpu_exc(cpu, flags);
    store_bytes(cpu, i, ea, &out, bytes);
    return true;
}

/* FBLD / FBSTP: 18-digit packed BCD, sign in bit 79. */
static X86F80 load_bcd(X86CPU *cpu, X86Insn *i)
{
    uint32_t ea = fpu_ea(cpu, i);
    uint8_t b[10];
    for (int k = 0; k < 10; k++) {
        b[k] = ld8(cpu, i->seg, (ea + k) & i->amask);
    }
    uint64_t v = 0;
    for (int k = 8; k >= 0; k--) {
        v = v * 100 + (b[k] >> 4) * 10 + (b[k] & 0xf);
    }
    LD r = (LD)v;
    return ld2f((b[9] & 0x80) ? -r : r);
}

static bool store_bcd(X86CPU *cpu, X86Insn *i)
{
    uint32_t ea = probe_store(cpu, i, 10);
    FPU->fsw &= ~SW_C1;
    uint8_t b[10] = { 0 };
    uint32_t flags = 0;
    if (st_empty(cpu, 0)) {
        if (stack_fault(cpu, false)) {
            return false;
        }
        b[7] = 0xc0; b[8] = 0xff; b[9] = 0xff;      /* BCD indefinite */
    } else {
        X86F80 a = st_get(cpu, 0);
        FEnv fe;
        fe_begin(cpu, &fe);
        LD r = FPB(rintl(FPB(f2ld(a))));
        uint32_t hf = fe_end(&fe);
        if (f80_is_nan(a) || f80_is_unsupported(a) || !(fabsl(r) < 1e18L)) {
            flags |= SW_IE;
            b[7] = 0xc0; b[8] = 0xff; b[9] = 0xff;
        } else {
            uint64_t v = (uint64_t)fabsl(r);
            for (int k = 0; k < 9; k++) {
                b[k] = (uint8_t)((v % 10) | (((v / 10) % 10) << 4));
                v /= 100;
            }
            b[9] = signbit(r) ? 0x80 : 0;
            flags |= hf & SW_PE;
            if (fabsl(r) > fabsl(f2ld(a))) {
                FPU->fsw |= SW_C1;
            }
        }
        if (flags & ~FPU->fcw & SW_IE) {
            fpu_exc(cpu, flags);
            return false;
        }
    }
    fpu_exc(cpu, flags);
    for (int k = 0; k < 10; k++) {
        st8(cpu, i->seg, (ea + k) & i->amask, b[k]);
    }
    return true;
}

/* --- tags, environment, state ----------------------------------------------------------- */

static uint16_t full_tags(X86CPU *cpu)
{
    uint16_t t = 0;
    for (int p = 0; p < 8; p++) {
        unsigned tag;
        X86F80 v = FPU->st[p];
        if ((FPU->tag_empty >> p) & 1) {
            tag = 3;
        } else if (f80_is_zero(v)) {
            tag = 1;
        } else if ((v.se & 0x7fff) == 0x7fff || f80_is_denormal(v) || f80_is_unsupported(v)) {
            tag = 2;
        } else {
            tag = 0;
        }
        t |= tag << (2 * p);
    }
    return t;
}

uint16_t x86_fpu_fsw(X86CPU *cpu)
{
    return (FPU->fsw & ~0x3800u) | ((FPU->top & 7) << 11);
}

void x86_fpu_init(X86CPU *cpu)
{
    FPU->fcw = 0x037f;
    FPU->fsw = 0;
    FPU->top = 0;
    FPU->tag_empty = 0xff;
    FPU->fip = FPU->fdp = 0;
    FPU->fcs = FPU->fds = 0;
    FPU->fop = 0;
}

void x86_fpu_reset(X86CPU *cpu)
{
    x86_fpu_init(cpu);
    FPU->fcw = 0x0040;
    FPU->tag_empty = 0;         /* tag word 5555H: all +0.0 */
    memset(FPU->st, 0, sizeof(FPU->st));
}

static bool env32(X86Insn *i)
{
    return !(i->flags & IF_OP16);
}

static void store_env(X86CPU *cpu, X86Insn *i, uint32_t ea)
{
    bool o32 = env32(i);
    bool real = !(cpu->cr0 & CR0_PE) || (cpu->eflags & FL_VM);
    uint32_t w[7];
    int n = 7;
    w[0] = FPU->fcw | (o32 ? 0xffff0000u : 0);
    w[1] = x86_fpu_fsw(cpu) | (o32 ? 0xffff0000u : 0);
    w[2] = full_tags(cpu) | (o32 ? 0xffff0000u : 0);
    if (real) {
        uint32_t ip = FPU->fip + ((uint32_t)FPU->fcs << 4);
        uint32_t dp = FPU->fdp + ((uint32_t)FPU->fds << 4);
        w[3] = ip & 0xffff;
        w[4] = ((ip >> 16) << 12) | (FPU->fop & 0x7ff);
        w[5] = dp & 0xffff;
        w[6] = (dp >> 16) << 12;
    } else {
        w[3] = FPU->fip;
        w[4] = FPU->fcs | ((uint32_t)(FPU->fop & 0x7ff) << 16);
        w[5] = FPU->fdp;
        w[6] = FPU->fds;
    }
    for (int k = 0; k < n; k++) {
        if (o32) {
            st32(cpu, i->seg, (ea + 4 * k) & i->amask, w[k]);
        } else {
            uint32_t v = w[k];
            if (!real && k == 4) {
                v = FPU->fcs;
            }
            st16(cpu, i->seg, (ea + 2 * k) & i->amask, v);
        }
    }
}

static void load_env(X86CPU *cpu, X86Insn *i, uint32_t ea)
{
    bool o32 = env32(i);
    bool real = !(cpu->cr0 & CR0_PE) || (cpu->eflags & FL_VM);
    uint32_t w[7];
    for (int k = 0; k < 7; k++) {
        w[k] = o32 ? ld32(cpu, i->seg, (ea + 4 * k) & i->amask)
                   : ld16(cpu, i->seg, (ea + 2 * k) & i->amask);
    }
    FPU->fcw = w[0] & 0x1f7f;
    FPU->fsw = w[1] & ~0x3800u;
    FPU->top = (w[1] >> 11) & 7;
    FPU->tag_empty = 0;
    for (int p = 0; p < 8; p++) {
        if (((w[2] >> (2 * p)) & 3) == 3) {
            FPU->tag_empty |= 1u << p;
        }
    }
    if (real) {
        FPU->fip = (w[3] & 0xffff) | ((w[4] >> 12) << 16);
        FPU->fop = w[4] & 0x7ff;
        FPU->fdp = (w[5] & 0xffff) | ((w[6] >> 12) << 16);
        FPU->fcs = FPU->fds = 0;
    } else {
        FPU->fip = w[3];
        FPU->fcs = w[4] & 0xffff;
        FPU->fop = o32 ? (w[4] >> 16) & 0x7ff : 0;
        FPU->fdp = w[5];
        FPU->fds = w[6] & 0xffff;
    }
    /* Unmasked exceptions now pending: ES follows. */
    if (FPU->fsw & ~FPU->fcw & SW_EXC) {
        FPU->fsw |= SW_ES | SW_B;
    } else {
        FPU->fsw &= ~(SW_ES | SW_B);
    }
}

static unsigned env_size(X86Insn *i)
{
    return env32(i) ? 28 : 14;
}

/* --- the instruction map ------------------------------------------------------------------------ */

static void fxam(X86CPU *cpu)
{
    X86F80 a = st_get(cpu, 0);
    uint32_t c;                 /* C3 C2 C0 */
    if (st_empty(cpu, 0)) {
        c = 5;
    } else if (f80_is_unsupported(a)) {
        c = 0;
    } else if (f80_is_nan(a)) {
        c = 1;
    } else if (f80_is_inf(a)) {
        c = 3;
    } else if (f80_is_zero(a)) {
        c = 4;
    } else if (f80_is_denormal(a)) {
        c = 6;
    } else {
        c = 2;
    }
    FPU->fsw &= ~(SW_C0 | SW_C1 | SW_C2 | SW_C3);
    FPU->fsw |= ((c & 4) ? SW_C3 : 0) | ((c & 2) ? SW_C2 : 0) | ((c & 1) ? SW_C0 : 0) |
                ((a.se & 0x8000) ? SW_C1 : 0);
}

/* Constants of D9 E8-EE, rounded per RC where the SDM says so. */
static X86F80 fpu_const(X86CPU *cpu, int k)
{
    static const X86F80 tab[7] = {
        { 0x8000000000000000ULL, 0x3fff },      /* 1 */
        { 0xd49a784bcd1b8afeULL, 0x4000 },      /* log2(10) */
        { 0xb8aa3b295c17f0bcULL, 0x3fff },      /* log2(e) */
        { 0xc90fdaa22168c235ULL, 0x4000 },      /* pi */
        { 0x9a209a84fbcff799ULL, 0x3ffd },      /* log10(2) */
        { 0xb17217f7d1cf79acULL, 0x3ffe },      /* ln(2) */
        { 0, 0 },                               /* +0 */
    };
    X86F80 v = tab[k];
    int rc = (FPU->fcw >> CW_RC_SHIFT) & 3;
    /* The stored significands are rounded to nearest; for RC down/chop the
     * constants whose infinite expansions were rounded up lose one ulp. */
    if ((rc == 1 || rc == 3) && (k == 2 || k == 3 || k == 4 || k == 5)) {
        v.mant -= 1;
    } else if (rc == 2 && k == 1) {
        v.mant += 1;
    }
    return v;
}

/* Unary operations on ST(0) (D9 E0-FF). */
static void unary(X86CPU *cpu, int op)
{
    if (op == 0x25) {
        fxam(cpu);
        return;
    }
    if (st_empty(cpu, 0)) {
        if (op == 0x24) {
            compare_underflow(cpu, false, 0);
        } else if (!stack_fault(cpu, false)) {
            st_set(cpu, 0, F80_INDEFINITE);
        }
        return;
    }
    X86F80 a = st_get(cpu, 0);
    LD x = f2ld(a), r = 0;
    FEnv fe;
    uint32_t flags = de_of(a);
    if (f80_is_unsupported(a)) {
        finish(cpu, 0, f2ld(F80_INDEFINITE), SW_IE, false);
        return;
    }
    switch (op) {
    case 0x20:      /* FCHS */
        a.se ^= 0x8000;
        st_set(cpu, 0, a);
        FPU->fsw &= ~SW_C1;
        return;
    case 0x21:      /* FABS */
        a.se &= 0x7fff;
        st_set(cpu, 0, a);
        FPU->fsw &= ~SW_C1;
        return;
    case 0x24: {    /* FTST */
        X86F80 zero = { 0, 0 };
        compare(cpu, a, zero, false, false, 0);
        return;
    }
    }
    FPU->fsw &= ~SW_C1;
    fe_begin(cpu, &fe);
    x = FPB(x);
    switch (op) {
    case 0x30:      /* F2XM1 */
        r = (x >= -1.0L && x <= 1.0L) ? expm1l(x * 0.6931471805599453094172321214581766L) : x;
        break;
    case 0x3a: {    /* FSQRT */
        LD r64 = FPB(sqrtl(x));
        uint32_t hf = fe_end(&fe);
        int es = err_sign(OP_SQRT, x, 0, r64);
        r = r64;
        if (((FPU->fcw >> CW_PC_SHIFT) & 3) != 3 && isfinite(r64) && r64 != 0) {
            fe_begin(cpu, &fe);
            r = FPB(apply_pc(cpu, FPB(r64), es));
            hf |= fe_end(&fe) & ~SW_IE;
            if (r != r64) {
                hf |= SW_PE;
            }
            es = err_sign(OP_SQRT, x, 0, r);
        }
        flags |= hf;
        if (f80_is_nan(a)) {
            flags &= ~SW_DE;
        }
        if (flags & SW_PE) {
            set_c1_rounding(cpu, r, es);
        }
        finish(cpu, 0, r, flags, false);
        return;
    }
    case 0x3c: {    /* FRNDINT */
        r = FPB(rintl(x));
        flags |= fe_end(&fe);
        if (isfinite(x) && r != x) {
            flags |= SW_PE;
            if (fabsl(r) > fabsl(x)) {
                FPU->fsw |= SW_C1;
            }
        }
        if (f80_is_nan(a)) {
            flags &= ~SW_DE;
        }
        finish(cpu, 0, r, flags, false);
        return;
    }
    case 0x3e:      /* FSIN */
    case 0x3f:      /* FCOS */
        if (isinf(x)) {
            fe_end(&fe);
            FPU->fsw &= ~SW_C2;
            finish(cpu, 0, f2ld(F80_INDEFINITE), SW_IE, false);
            return;
        }
        if (isfinite(x) && fabsl(x) >= 0x1p63L) {
            fe_end(&fe);
            FPU->fsw |= SW_C2;
            return;
        }
        FPU->fsw &= ~SW_C2;
        r = op == 0x3e ? sinl(x) : cosl(x);
        break;
    default:
        r = x;
        break;
    }
    r = FPB(r);
    flags |= fe_end(&fe);
    if (f80_is_snan(a)) {
        flags |= SW_IE;
    }
    finish(cpu, 0, r, flags, false);
}

/* Two-operand and stack-changing operations of D9 F0-FF. */
/* FPTAN, FSINCOS and FXTRACT push a second result: with ST(7) in use that
 * is a stack overflow, answered (masked) by indefinites in both. */
static bool push_overflow(X86CPU *cpu)
{
    if (st_empty(cpu, 7)) {
        return false;
    }
    if (!stack_fault(cpu, true)) {
        st_set(cpu, 0, F80_INDEFINITE);
        FPU->top = (FPU->top - 1) & 7;
        st_set(cpu, 0, F80_INDEFINITE);
    }
    return true;
}

/* Infinite or NaN operand of FPTAN/FSINCOS: NaN results (IE unless QNaN). */
static bool push_special(X86CPU *cpu, X86F80 a)
{
    if (!f80_is_inf(a) && !f80_is_nan(a)) {
        return false;
    }
    bool inv = f80_is_inf(a) || f80_is_snan(a);
    X86F80 q = inv ? F80_INDEFINITE : a;
    fpu_exc(cpu, inv ? SW_IE : 0);
    FPU->fsw &= ~(SW_C1 | SW_C2);
    if (inv && !masked(cpu, SW_IE)) {
        return true;
    }
    st_set(cpu, 0, q);
    fpu_push(cpu, q);
    return true;
}

/* A remainder is exact; below the normal range it is an underflow only
 * when unmasked, and then bias-adjusted. */
static LD rem_underflow(X86CPU *cpu, LD r, uint32_t *flags)
{
    if (r != 0 && fabsl(r) < 0x1p-16382L && !masked(cpu, SW_UE)) {
        *flags |= SW_UE;
        return ldexpl(r, X87_BIAS_ADJUST);
    }
    return r;
}

static void d9_ops(X86CPU *cpu, int op)
{
    FEnv fe;
    if ((op == 0x32 || op == 0x3b || op == 0x34) && st_empty(cpu, 0)) {
        /* Underflow: indefinites in ST(0) and in the pushed register. */
        if (!stack_fault(cpu, false)) {
            st_set(cpu, 0, F80_INDEFINITE);
            FPU->top = (FPU->top - 1) & 7;
            st_set(cpu, 0, F80_INDEFINITE);
        }
        return;
    }
    if ((op == 0x32 || op == 0x3b || op == 0x34) && push_overflow(cpu)) {
        return;
    }
    if ((op == 0x32 || op == 0x3b) && !st_empty(cpu, 0) && push_special(cpu, st_get(cpu, 0))) {
        return;
    }
    switch (op) {
    case 0x32: {    /* FPTAN */
        if (st_empty(cpu, 0)) {
            unary(cpu, op);
            return;
        }
        LD x = f2ld(st_get(cpu, 0));
        if (fabsl(x) >= 0x1p63L) {
            FPU->fsw |= SW_C2;
            return;
        }
        FPU->fsw &= ~(SW_C2 | SW_C1);
        fe_begin(cpu, &fe);
        LD r = tanl(x);
        uint32_t f = fe_end(&fe);
        fpu_exc(cpu, f);
        st_set(cpu, 0, ld2f(r));
        fpu_push(cpu, fpu_const(cpu, 0));
        return;
    }
    case 0x33:      /* FPATAN: ST(1) = atan(ST(1)/ST(0)), pop */
    case 0x31:      /* FYL2X: ST(1) = ST(1) * log2(ST(0)), pop */
    case 0x39:      /* FYL2XP1: ST(1) = ST(1) * log2(ST(0) + 1), pop */
    case 0x3d: {    /* FSCALE: ST(0) = ST(0) * 2^trunc(ST(1)) */
        if (st_empty(cpu, 0) || st_empty(cpu, 1)) {
            if (stack_fault(cpu, false)) {
                return;
            }
            st_set(cpu, op == 0x3d ? 0 : 1, F80_INDEFINITE);
            if (op != 0x3d) {
                fpu_pop(cpu);
            }
            return;
        }
        X86F80 a = st_get(cpu, 0), b = st_get(cpu, 1);
        LD x = f2ld(a), y = f2ld(b), r;
        LD t = isfinite(y) ? truncl(y) : y;   /* before fe_begin: may set PE */
        uint32_t flags = de_of(a) | de_of(b);
        FPU->fsw &= ~SW_C1;
        fe_begin(cpu, &fe);
        switch (op) {
        case 0x33: r = atan2l(y, x); break;
        case 0x31: r = y * log2l(x); break;
        case 0x39: r = y * (log1pl(x) / 0.6931471805599453094172321214581766L); break;
        default: {
            if (isnan(x) || isnan(y)) {
                r = isnan(x) ? x + y : y + x;
                flags &= ~SW_DE;
                if (f80_is_snan(a) || f80_is_snan(b)) {
                    flags |= SW_IE;
                }
            } else if (isinf(y)) {
                /* x * 2^inf: 0 * inf and inf * 2^-inf are invalid. */
                if ((y > 0 && x == 0) || (y < 0 && isinf(x))) {
                    r = f2ld(F80_INDEFINITE);
                    flags |= SW_IE;
                } else {
                    r = y > 0 ? (x == 0 ? x : copysignl(INFINITY, x)) : copysignl(0.0L, x);
                    if (isinf(x)) {
                        r = x;
                    }
                }
            } else {
                long sc = fabsl(t) > 100000.0L ? (t > 0 ? 100000 : -100000) : (long)t;
                int ex = 0;
                if (isfinite(x) && x != 0) {
                    frexpl(x, &ex);
                }
                long te = ex - 1 + sc;          /* exponent of the exact result */
                r = ldexpl(x, (int)sc);
                if (isfinite(x) && x != 0 && te > 16383 && !masked(cpu, SW_OE) &&
                    te - X87_BIAS_ADJUST <= 16383) {
                    /* Unmasked overflow: the exact result, bias-adjusted. */
                    r = ldexpl(x, (int)(sc - X87_BIAS_ADJUST));
                    flags |= SW_OE;
                } else if (isfinite(x) && x != 0 && te < -16382 && !masked(cpu, SW_UE) &&
                           te + X87_BIAS_ADJUST >= -16382) {
                    r = ldexpl(x, (int)(sc + X87_BIAS_ADJUST));
                    flags |= SW_UE;
                } else if (isfinite(x) && x != 0 && te > 16383 && !masked(cpu, SW_OE)) {
                    /* Beyond even the adjusted range: infinity, rounded up
                     * whatever RC says (as the host does). */
                    r = copysignl(INFINITY, x);
                    flags |= SW_OE | SW_PE;
                    FPU->fsw |= SW_C1;
                } else if (isfinite(x) && x != 0 && te < -16382 && !masked(cpu, SW_UE)) {
                    r = copysignl(0.0L, x);
                    flags |= SW_UE | SW_PE;
                } else if (isfinite(x) && x != 0) {
                    if (isinf(r)) {
                        flags |= SW_OE | SW_PE;
                        FPU->fsw |= SW_C1;
                    } else if (fabsl(r) >= 1 && ldexpl(r, (int)-sc) != x) {
                        flags |= SW_OE | SW_PE;     /* overflow rounded to the largest finite */
                    } else if (fabsl(r) < 0x1p-16382L && ldexpl(r, (int)-sc) != x) {
                        flags |= SW_UE | SW_PE;
                        if (fabsl(ldexpl(r, (int)-sc)) > fabsl(x)) {
                            FPU->fsw |= SW_C1;
                        }
                    }
                }
            }
            break;
        }
        }
        uint32_t hf = fe_end(&fe);
        if (op != 0x3d) {
            flags |= hf;        /* FSCALE's flags are worked out above */
        }
        finish(cpu, op == 0x3d ? 0 : 1, r, flags, op != 0x3d);
        return;
    }
    case 0x34: {    /* FXTRACT: ST(0) = exponent, push significand */
        if (st_empty(cpu, 0)) {
            unary(cpu, op);
            return;
        }
        X86F80 a = st_get(cpu, 0);
        LD x = f2ld(a), e, m;
        FPU->fsw &= ~SW_C1;
        /* An unmasked IE (SNaN), ZE (zero) or DE (denormal) leaves the
         * stack as it was. */
        uint32_t pre = f80_is_snan(a) ? SW_IE : x == 0 ? SW_ZE : de_of(a);
        if (pre & ~FPU->fcw) {
            fpu_exc(cpu, pre);
            return;
        }
        if (f80_is_denormal(a)) {
            fpu_exc(cpu, SW_DE);
        }
        if (x == 0) {
            fpu_exc(cpu, SW_ZE);
            e = -INFINITY;
            m = x;
        } else if (isinf(x)) {
            e = INFINITY;
            m = x;
        } else if (isnan(x)) {
            X86F80 qn = a;
            qn.mant |= 1ULL << 62;
            if (f80_is_snan(a)) {
                fpu_exc(cpu, SW_IE);
            }
            e = m = f2ld(qn);
        } else {
            int ex;
            m = frexpl(x, &ex) * 2;
            e = ex - 1;
        }
        st_set(cpu, 0, ld2f(e));
        fpu_push(cpu, ld2f(m));
        return;
    }
    case 0x35:      /* FPREM1 */
    case 0x38: {    /* FPREM */
        if (st_empty(cpu, 0) || st_empty(cpu, 1)) {
            FPU->fsw &= ~SW_C2;
            if (stack_fault(cpu, false)) {
                return;
            }
            st_set(cpu, 0, F80_INDEFINITE);
            return;
        }
        X86F80 a = st_get(cpu, 0), b = st_get(cpu, 1);
        LD x = f2ld(a), y = f2ld(b), r;
        uint32_t flags = de_of(a) | de_of(b);
        int ea, eb;
        if (isnan(x) || isnan(y) || isinf(x) || y == 0) {
            /* NaN or invalid: C1 and C2 are cleared, C0 and C3 stay. */
            FPU->fsw &= ~(SW_C1 | SW_C2);
            if (isnan(x) || isnan(y)) {
                r = isnan(x) ? x + y : y + x;
                flags = (f80_is_snan(a) || f80_is_snan(b)) ? SW_IE : 0;
            } else {
                r = f2ld(F80_INDEFINITE);
                flags |= SW_IE;
            }
            finish(cpu, 0, r, flags, false);
            return;
        }
        if (flags & SW_DE & ~FPU->fcw) {
            /* Unmasked denormal operand: C1 and C2 cleared, nothing else. */
            FPU->fsw &= ~(SW_C1 | SW_C2);
            fpu_exc(cpu, SW_DE);
            return;
        }
        FPU->fsw &= ~(SW_C0 | SW_C1 | SW_C2 | SW_C3);
        frexpl(x, &ea);
        frexpl(y, &eb);
        if (x != 0 && isfinite(y) && ea - eb >= 64) {
            /* Partial remainder: reduce by y * 2^(D - N), N = 32 + D mod 32
             * (this is what the host's N works out to), C2 = 1. */
            int d = ea - eb, n = 32 + d % 32;
            r = fmodl(x, ldexpl(y, d - n));
            FPU->fsw |= SW_C2;
            r = rem_underflow(cpu, r, &flags);
            finish(cpu, 0, r, flags, false);
            return;
        }
        int qq = 0;
        LD rn = remquol(x, y, &qq);
        unsigned q = (unsigned)(qq < 0 ? -qq : qq) & 7;
        if (op == 0x35) {
            r = rn;
        } else {
            r = fmodl(x, y);
            /* The nearest quotient overshot when its remainder has the
             * other sign than x. */
            if (rn != 0 && (signbit(rn) != signbit(x))) {
                q = (q - 1) & 7;
            }
        }
        if (r == 0) {
            r = copysignl(0.0L, x);
        }
        FPU->fsw |= ((q & 1) ? SW_C1 : 0) | ((q & 2) ? SW_C3 : 0) | ((q & 4) ? SW_C0 : 0);
        r = rem_underflow(cpu, r, &flags);
        finish(cpu, 0, r, flags, false);
        return;
    }
    case 0x36:      /* FDECSTP */
        FPU->top = (FPU->top - 1) & 7;
        FPU->fsw &= ~SW_C1;
        return;
    case 0x37:      /* FINCSTP */
        FPU->top = (FPU->top + 1) & 7;
        FPU->fsw &= ~SW_C1;
        return;
    case 0x3b: {    /* FSINCOS */
        if (st_empty(cpu, 0)) {
            unary(cpu, op);
            return;
        }
        LD x = f2ld(st_get(cpu, 0));
        if (fabsl(x) >= 0x1p63L) {
            FPU->fsw |= SW_C2;
            return;
        }
        FPU->fsw &= ~(SW_C2 | SW_C1);
        fe_begin(cpu, &fe);
        LD s = sinl(x), c = cosl(x);
        fpu_exc(cpu, fe_end(&fe));
        st_set(cpu, 0, ld2f(s));
        fpu_push(cpu, ld2f(c));
        return;
    }
    default:
        unary(cpu, op);
        return;
    }
}

static bool fcmov_cond(X86CPU *cpu, int op, int reg)
{
    static const int cc[4] = { 2, 4, 6, 10 };      /* B, E, BE, P */
    bool c = x86_cond(cpu, cc[reg & 3]);
    return op == 0xda ? c : !c;
}

/* Instructions that do not check for pending unmasked exceptions. */
static bool no_wait(int op, int reg, bool mem, int rm)
{
    if (mem) {
        return (op == 0xd9 && (reg == 6 || reg == 7)) ||       /* FNSTENV, FNSTCW */
               (op == 0xdd && (reg == 6 || reg == 7));          /* FNSAVE, FNSTSW */
    }
    return (op == 0xdb && reg == 4 && (rm == 2 || rm == 3)) ||  /* FNCLEX, FNINIT */
           (op == 0xdf && reg == 4 && rm == 0);                 /* FNSTSW AX */
}

static void NORETURN fpu_ud(X86CPU *cpu)
{
    x86_raise0(cpu, EXC_UD);
}

HANDLER(x86_h_fpu)
{
    if (i->reg == 0xff && i->imm == 0) {        /* WAIT/FWAIT */
        if ((cpu->cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP)) {
            x86_raise0(cpu, EXC_NM);
        }
        if ((FPU->fsw & SW_ES) && (cpu->cr0 & CR0_NE)) {
            x86_raise0(cpu, EXC_MF);
        }
        return i + 1;
    }
    if (cpu->cr0 & (CR0_EM | CR0_TS)) {
        x86_raise0(cpu, EXC_NM);
    }
    int op = i->imm, reg = i->reg, rm = i->rm;
    bool mem = i->flags & IF_MEM;
    if ((FPU->fsw & SW_ES) && !no_wait(op, reg, mem, rm) && (cpu->cr0 & CR0_NE)) {
        x86_raise0(cpu, EXC_MF);
    }
    bool control = no_wait(op, reg, mem, rm) ||
                   (mem && op == 0xd9 && (reg == 4 || reg == 5)) ||  /* FLDENV, FLDCW */
                   (mem && op == 0xdd && reg == 4);                 /* FRSTOR */
    if (!control) {
        FPU->fip = i->eip;
        FPU->fcs = cpu->seg[R_CS].sel;
        FPU->fop = ((op & 7) << 8) | (mem ? 0 : 0xc0 | (reg << 3) | rm);
        if (mem) {
            FPU->fdp = x86_ea(cpu, i);
            FPU->fds = cpu->seg[i->seg].sel;
        }
    }

    if (mem) {
        uint32_t flags = 0;
        X86F80 v;
        switch (op) {
        case 0xd8:
        case 0xdc:
        case 0xda:
        case 0xde:
            if (op == 0xd8) {
                v = load_m32(cpu, i, &flags);
            } else if (op == 0xdc) {
                v = load_m64(cpu, i, &flags);
            } else {
                v = ld2f((LD)load_int(cpu, i, op == 0xda ? 4 : 2));
            }
            if (st_empty(cpu, 0)) {
                if (reg == OP_COM || reg == OP_COMP) {
                    compare_underflow(cpu, false, reg == OP_COMP);
                } else if (!stack_fault(cpu, false)) {
                    st_set(cpu, 0, F80_INDEFINITE);
                }
                break;
            }
            if (reg == OP_COM || reg == OP_COMP) {
                compare_x(cpu, st_get(cpu, 0), v, false, false, reg == OP_COMP,
                          flags & (SW_IE | SW_DE));
                break;
            }
            if (flags & SW_IE & ~FPU->fcw) {
                FPU->fsw &= ~SW_C1;
                fpu_exc(cpu, flags);
                break;
            }
            fpu_exc(cpu, flags & SW_IE);
            if ((flags & SW_IE) && f80_is_nan(st_get(cpu, 0))) {
                /* The m32/m64 operand was an SNaN (quieted by the load):
                 * with a QNaN in ST(0) that QNaN is the result, with an
                 * SNaN the one of larger significand (SDM vol. 1, 4.8.3.5). */
                X86F80 a = st_get(cpu, 0), q = a;
                q.mant |= 1ULL << 62;
                if (f80_is_snan(a) && v.mant > q.mant) {
                    q = v;
                }
                FPU->fsw &= ~SW_C1;
                st_set(cpu, 0, q);
                break;
            }
            arith_x(cpu, reg, 0, st_get(cpu, 0), v, false, flags & SW_DE);
            break;
        case 0xd9:
            switch (reg) {
            case 0:
                v = load_m32(cpu, i, &flags);
                fld_loaded(cpu, v, flags);
                break;
            case 2:
            case 3:
                if (store_real(cpu, i, false) && reg == 3) {
                    fpu_pop(cpu);
                }
                break;
            case 4:
                load_env(cpu, i, fpu_ea(cpu, i));
                break;
            case 5:
                FPU->fcw = (ld16(cpu, i->seg, fpu_ea(cpu, i)) & 0x1f7f) | 0x40;
                if (FPU->fsw & ~FPU->fcw & SW_EXC) {
                    FPU->fsw |= SW_ES | SW_B;
                } else {
                    FPU->fsw &= ~(SW_ES | SW_B);
                }
                break;
            case 6: {
                uint32_t ea = probe_store(cpu, i, env_size(i));
                store_env(cpu, i, ea);
                FPU->fcw |= SW_EXC;     /* FNSTENV masks all exceptions */
                break;
            }
            case 7:
                st16(cpu, i->seg, fpu_ea(cpu, i), FPU->fcw);
                break;
            default:
                fpu_ud(cpu);
            }
            break;
        case 0xdb:
            switch (reg) {
            case 0:
                v = ld2f((LD)load_int(cpu, i, 4));
                FPU->fsw &= ~SW_C1;
                fpu_push(cpu, v);
                break;
            case 2:
            case 3:
                if (store_int(cpu, i, 4) && reg == 3) {
                    fpu_pop(cpu);
                }
                break;
            case 5:
                v = load_m80(cpu, i);
                FPU->fsw &= ~SW_C1;
                fpu_push(cpu, v);
                break;
            case 7: {
                uint32_t ea = probe_store(cpu, i, 10);
                fpu_align(cpu, i, ea, 8);
                FPU->fsw &= ~SW_C1;
                if (st_empty(cpu, 0)) {
                    if (stack_fault(cpu, false)) {
                        break;
                    }
                    v = F80_INDEFINITE;
                } else {
                    v = st_get(cpu, 0);
                }
                st32(cpu, i->seg, ea, (uint32_t)v.mant);
                st32(cpu, i->seg, (ea + 4) & i->amask, (uint32_t)(v.mant >> 32));
                st16(cpu, i->seg, (ea + 8) & i->amask, v.se);
                fpu_pop(cpu);
                break;
            }
            default:
                fpu_ud(cpu);
            }
            break;
        case 0xdd:
            switch (reg) {
            case 0:
                v = load_m64(cpu, i, &flags);
                fld_loaded(cpu, v, flags);
                break;
            case 2:
            case 3:
                if (store_real(cpu, i, true) && reg == 3) {
                    fpu_pop(cpu);
                }
                break;
            case 4: {       /* FRSTOR */
                uint32_t ea = fpu_ea(cpu, i), n = env_size(i);
                X86F80 regs[8];
                /* The save area is aligned as its environment part; the
                 * register images inside it are not checked. */
                fpu_align(cpu, i, ea, env32(i) ? 4 : 2);
                x86_align_suspend(cpu);
                for (int k = 0; k < 8; k++) {
                    uint32_t a = (ea + n + 10 * k) & i->amask;
                    regs[k].mant = ld32(cpu, i->seg, a) |
                                   ((uint64_t)ld32(cpu, i->seg, (a + 4) & i->amask) << 32);
                    regs[k].se = ld16(cpu, i->seg, (a + 8) & i->amask);
                }
                x86_align_resume(cpu);
                load_env(cpu, i, ea);
                for (int k = 0; k < 8; k++) {
                    FPU->st[phys(cpu, k)] = regs[k];
                }
                break;
            }
            case 6: {       /* FNSAVE */
                uint32_t n = env_size(i), ea = probe_store(cpu, i, n + 80);
                store_env(cpu, i, ea);
                x86_align_suspend(cpu);
                for (int k = 0; k < 8; k++) {
                    uint32_t a = (ea + n + 10 * k) & i->amask;
                    X86F80 r = st_get(cpu, k);
                    st32(cpu, i->seg, a, (uint32_t)r.mant);
                    st32(cpu, i->seg, (a + 4) & i->amask, (uint32_t)(r.mant >> 32));
                    st16(cpu, i->seg, (a + 8) & i->amask, r.se);
                }
                x86_align_resume(cpu);
                x86_fpu_init(cpu);
                break;
            }
            case 7:
                st16(cpu, i->seg, fpu_ea(cpu, i), x86_fpu_fsw(cpu));
                break;
            default:
                fpu_ud(cpu);
            }
            break;
        case 0xdf:
            switch (reg) {
            case 0:
            case 5:
                v = ld2f((LD)load_int(cpu, i, reg == 0 ? 2 : 8));
                FPU->fsw &= ~SW_C1;
                fpu_push(cpu, v);
                break;
            case 2:
            case 3:
                if (store_int(cpu, i, 2) && reg == 3) {
                    fpu_pop(cpu);
                }
                break;
            case 4:
                v = load_bcd(cpu, i);
                FPU->fsw &= ~SW_C1;
                fpu_push(cpu, v);
                break;
            case 6:
                if (store_bcd(cpu, i)) {
                    fpu_pop(cpu);
                }
                break;
            case 7:
                if (store_int(cpu, i, 8)) {
                    fpu_pop(cpu);
                }
                break;
            default:
                fpu_ud(cpu);
            }
            break;
        }
        return i + 1;
    }

    /* Register forms. */
    switch (op) {
    case 0xd8:
    case 0xdc:
    case 0xde:
        if (st_empty(cpu, 0) || st_empty(cpu, rm)) {
            if (reg == OP_COM || reg == OP_COMP || (op == 0xde && reg == 3)) {
                compare_underflow(cpu, false, op == 0xde && reg == 3 ? 2 : reg == OP_COMP);
                break;
            }
            if (stack_fault(cpu, false)) {
                break;
            }
            {
                st_set(cpu, op == 0xd8 ? 0 : rm, F80_INDEFINITE);
                if (op == 0xde) {
                    fpu_pop(cpu);
                }
            }
            break;
        }
        if (op == 0xde && reg == 3) {
            if (rm != 1) {
                fpu_ud(cpu);
            }
            compare(cpu, st_get(cpu, 0), st_get(cpu, 1), false, false, 2);   /* FCOMPP */
        } else if (reg == OP_COM || reg == OP_COMP) {
            compare(cpu, st_get(cpu, 0), st_get(cpu, rm), false, false, reg == OP_COMP);
        } else if (op == 0xd8) {
            FPU->fsw &= ~SW_C1;
            arith(cpu, reg, 0, st_get(cpu, 0), st_get(cpu, rm), false);
        } else {
            /* DC/DE: ST(i) = ST(i) op ST(0); the encodings of SUB/SUBR and
             * DIV/DIVR are swapped relative to D8 (E0+i is FSUBR ST(i),ST). */
            FPU->fsw &= ~SW_C1;
            arith(cpu, reg >= 4 ? reg ^ 1 : reg, rm, st_get(cpu, rm), st_get(cpu, 0), op == 0xde);
        }
        break;
    case 0xd9:
        switch (reg) {
        case 0: {           /* FLD ST(i) */
            if (st_empty(cpu, rm)) {
                /* Underflow is reported; the indefinite is pushed whether
                 * or not ST(7) was free. */
                if (stack_fault(cpu, false)) {
                    break;
                }
                FPU->top = (FPU->top - 1) & 7;
                st_set(cpu, 0, F80_INDEFINITE);
                break;
            }
            X86F80 v = st_get(cpu, rm);
            FPU->fsw &= ~SW_C1;
            fpu_push(cpu, v);
            break;
        }
        case 1: {           /* FXCH */
            if (st_empty(cpu, 0) || st_empty(cpu, rm)) {
                if (stack_fault(cpu, false)) {
                    break;
                }
                if (st_empty(cpu, 0)) {
                    st_set(cpu, 0, F80_INDEFINITE);
                }
                if (st_empty(cpu, rm)) {
                    st_set(cpu, rm, F80_INDEFINITE);
                }
            }
            X86F80 a = st_get(cpu, 0), b = st_get(cpu, rm);
            st_set(cpu, 0, b);
            st_set(cpu, rm, a);
            FPU->fsw &= ~SW_C1;
            break;
        }
        case 2:
            if (rm != 0) {
                fpu_ud(cpu);
            }
            break;          /* FNOP */
        case 3:             /* FSTP1 (reserved alias of FSTP ST(i)) */
            goto fstp_reg;
        case 4:
            if (rm == 2 || rm == 3 || rm >= 6) {
                fpu_ud(cpu);
            }
            unary(cpu, 0x20 + rm);
            break;
        case 5:
            if (rm == 7) {
                fpu_ud(cpu);
            }
            FPU->fsw &= ~SW_C1;
            fpu_push(cpu, fpu_const(cpu, rm));
            break;
        case 6:
        case 7:
            d9_ops(cpu, 0x30 + (reg - 6) * 8 + rm);
            break;
        }
        break;
    case 0xda:
        if (reg < 4) {
            if (st_empty(cpu, 0) || st_empty(cpu, rm)) {
                /* Underflow: the indefinite lands in ST(0) whatever the
                 * condition. */
                if (!stack_fault(cpu, false)) {
                    st_set(cpu, 0, F80_INDEFINITE);
                }
                break;
            }
            if (fcmov_cond(cpu, op, reg)) {
                st_set(cpu, 0, st_get(cpu, rm));
            }
        } else if (reg == 5 && rm == 1) {   /* FUCOMPP */
            if (st_empty(cpu, 0) || st_empty(cpu, 1)) {
                compare_underflow(cpu, false, 2);
                break;
            }
            compare(cpu, st_get(cpu, 0), st_get(cpu, 1), true, false, 2);
        } else {
            fpu_ud(cpu);
        }
        break;
    case 0xdb:
        if (reg < 4) {
            if (st_empty(cpu, 0) || st_empty(cpu, rm)) {
                /* Underflow: the indefinite lands in ST(0) whatever the
                 * condition. */
                if (!stack_fault(cpu, false)) {
                    st_set(cpu, 0, F80_INDEFINITE);
                }
                break;
            }
            if (fcmov_cond(cpu, op, reg)) {
                st_set(cpu, 0, st_get(cpu, rm));
            }
        } else if (reg == 4) {
            switch (rm) {
            case 0: case 1: case 4:
                break;      /* FENI, FDISI, FSETPM: no-ops since the 387 */
            case 2:
                FPU->fsw &= ~(SW_EXC | SW_SF | SW_ES | SW_B);
                break;
            case 3:
                x86_fpu_init(cpu);
                break;
            default:
                fpu_ud(cpu);
            }
        } else if (reg == 5 || reg == 6) {  /* FUCOMI, FCOMI */
            if (st_empty(cpu, 0) || st_empty(cpu, rm)) {
                compare_underflow(cpu, true, 0);
                break;
            }
            compare(cpu, st_get(cpu, 0), st_get(cpu, rm), reg == 5, true, 0);
        } else {
            fpu_ud(cpu);
        }
        break;
    case 0xdd:
        switch (reg) {
        case 0:             /* FFREE */
            FPU->tag_empty |= 1u << phys(cpu, rm);
            break;
        case 1:             /* FXCH alias */
            {
                X86F80 a = st_get(cpu, 0), b = st_get(cpu, rm);
                if (st_empty(cpu, 0) || st_empty(cpu, rm)) {
                    if (stack_fault(cpu, false)) {
                        break;
                    }
                }
                st_set(cpu, 0, b);
                st_set(cpu, rm, a);
            }
            break;
        case 2:             /* FST ST(i) */
        case 3:             /* FSTP ST(i) */
        fstp_reg:
            if (st_empty(cpu, 0)) {
                if (stack_fault(cpu, false)) {
                    break;
                }
                st_set(cpu, rm, F80_INDEFINITE);
            } else {
                st_set(cpu, rm, st_get(cpu, 0));
            }
            FPU->fsw &= ~SW_C1;
            if (reg != 2) {
                fpu_pop(cpu);
            }
            break;
        case 4:             /* FUCOM */
        case 5:             /* FUCOMP */
            if (st_empty(cpu, 0) || st_empty(cpu, rm)) {
                compare_underflow(cpu, false, reg == 5);
                break;
            }
            compare(cpu, st_get(cpu, 0), st_get(cpu, rm), true, false, reg == 5);
            break;
        default:
            fpu_ud(cpu);
        }
        break;
    case 0xdf:
        switch (reg) {
        case 0:             /* FFREEP */
            FPU->tag_empty |= 1u << phys(cpu, rm);
            fpu_pop(cpu);
            break;
        case 1: {           /* FXCH alias */
            X86F80 a = st_get(cpu, 0), b = st_get(cpu, rm);
            st_set(cpu, 0, b);
            st_set(cpu, rm, a);
            break;
        }
        case 2:
        case 3:
            reg = 3;
            goto fstp_reg;
        case 4:
            if (rm != 0) {
                fpu_ud(cpu);
            }
            cpu->r[R_EAX].w = x86_fpu_fsw(cpu);
            break;
        case 5:             /* FUCOMIP */
        case 6:             /* FCOMIP */
            if (st_empty(cpu, 0) || st_empty(cpu, rm)) {
                compare_underflow(cpu, true, 1);
                break;
            }
            compare(cpu, st_get(cpu, 0), st_get(cpu, rm), reg == 5, true, 1);
            break;
        default:
            fpu_ud(cpu);
        }
        break;
    }
    return i + 1;
}
