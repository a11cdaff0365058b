/*
 * IEEE 754 binary32 and binary64 arithmetic with the behaviour of the x86
 * SSE/SSE2 unit, on integers (the host's floating point is not used, so
 * rounding modes, DAZ/FTZ and the exception flags are exact on any host).
 *
 * Reference: Intel SDM vol. 1: 4.2.2 and 4.8 (formats, denormals, QNaN
 * and SNaN, the real indefinite), 4.8.4 (rounding control), 4.9.1
 * (exception conditions; tininess is detected after rounding with an
 * unbounded exponent; masked underflow needs tiny and inexact), 4.9.2
 * (priority: SNaN invalid, QNaN operand, other invalid and divide-by-zero,
 * denormal operand, then overflow/underflow and inexact), table 4-7 (NaN
 * results of SSE: the first source operand's NaN, quieted), table 4-10
 * (masked overflow results by rounding mode), 10.2.3.3-4 (flush-to-zero,
 * denormals-are-zeros), 11.5.2 (SIMD exceptions), and the vol. 2 pages of
 * MINPS/MAXPS, CMPPS, COMISS/UCOMISS, RCPPS/RSQRTPS and the CVT* family.
 *
 * Internally a finite nonzero value is (sign, exp, sig) with sig holding
 * the significand normalized so that bit 63 is the integer bit:
 * value = sig / 2^63 * 2^exp.  Products and quotients use 128-bit
 * intermediates; anything below the 64 kept bits is folded into bit 0
 * ("sticky"), which is enough for correct rounding of 24- and 53-bit
 * results.
 */
#include "sse-float.h"
#include "sse-state.h"

typedef unsigned __int128 u128;

typedef struct Fmt {
    int mbits;          /* stored fraction bits */
    int ebits;          /* exponent bits */
} Fmt;

static const Fmt F32 = { 23, 8 };
static const Fmt F64 = { 52, 11 };

#define INLINE static inline __attribute__((always_inline))

enum { C_ZERO, C_NORM, C_INF, C_QNAN, C_SNAN };

typedef struct Unp {
    int cls;
    bool sign;
    bool denormal;      /* a denormal operand (DAZ off) */
    int32_t exp;
    uint64_t sig;
} Unp;

enum { RC_NEAREST, RC_DOWN, RC_UP, RC_ZERO };

INLINE int bias_of(Fmt f) { return (1 << (f.ebits - 1)) - 1; }
INLINE int efield_max(Fmt f) { return (1 << f.ebits) - 1; }
INLINE uint64_t frac_mask(Fmt f) { return (1ULL << f.mbits) - 1; }
INLINE uint64_t sign_bit(Fmt f, bool s) { return (uint64_t)s << (f.mbits + f.ebits); }
INLINE uint64_t pack_inf(Fmt f, bool s)
{
    return sign_bit(f, s) | ((uint64_t)efield_max(f) << f.mbits);
}
INLINE uint64_t pack_max(Fmt f, bool s)
{
    return sign_bit(f, s) | ((uint64_t)(efield_max(f) - 1) << f.mbits) | frac_mask(f);
}
/* The real indefinite: negative QNaN with only the top fraction bit set. */
INLINE uint64_t default_nan(Fmt f) { return pack_inf(f, true) | (1ULL << (f.mbits - 1)); }
INLINE uint64_t quieten(Fmt f, uint64_t raw) { return raw | (1ULL << (f.mbits - 1)); }
INLINE bool is_nan(const Unp *u) { return u->cls >= C_QNAN; }
INLINE int rc_of(const X86FpEnv *e) { return (e->mxcsr >> MXCSR_RC_SHIFT) & 3; }
INLINE bool masked(const X86FpEnv *e, uint32_t flag)
{
    return e->mxcsr & (flag << MXCSR_MASK_SHIFT);
}

INLINE Unp unpack(Fmt f, uint64_t raw, const X86FpEnv *e)
{
    Unp u = { 0 };
    int emax = efield_max(f);
    int ef = (raw >> f.mbits) & emax;
    uint64_t m = raw & frac_mask(f);

    u.sign = (raw >> (f.mbits + f.ebits)) & 1;
    if (ef == emax) {
        u.cls = m == 0 ? C_INF : ((m >> (f.mbits - 1)) & 1) ? C_QNAN : C_SNAN;
    } else if (ef == 0) {
        if (m == 0 || (e->mxcsr & MXCSR_DAZ)) {
            u.cls = C_ZERO;
        } else {
            int lz = __builtin_clzll(m);
            u.cls = C_NORM;
            u.denormal = true;
            u.sig = m << lz;
            u.exp = 63 - lz + 1 - bias_of(f) - f.mbits;
        }
    } else {
        u.cls = C_NORM;
        u.sig = (m | (1ULL << f.mbits)) << (63 - f.mbits);
        u.exp = ef - bias_of(f);
    }
    return u;
}

/* sig >> sh rounded to an integer in mode rc; *inexact says bits were lost. */
INLINE uint64_t round_shift(uint64_t sig, int sh, bool sign, int rc, bool *inexact)
{
    uint64_t kept;
    bool rbit, sticky;

    if (sh > 64) {
        kept = 0;
        rbit = false;
        sticky = sig != 0;
    } else if (sh == 64) {
        kept = 0;
        rbit = sig >> 63;
        sticky = (sig << 1) != 0;
    } else if (sh <= 0) {
        *inexact = false;
        return sig;
    } else {
        kept = sig >> sh;
        rbit = (sig >> (sh - 1)) & 1;
        sticky = (sig & ((1ULL << (sh - 1)) - 1)) != 0;
    }
    *inexact = rbit || sticky;
    switch (rc) {
    case RC_NEAREST:
        kept += rbit && (sticky || (kept & 1));
        break;
    case RC_DOWN:
        kept += sign && *inexact;
        break;
    case RC_UP:
        kept += !sign && *inexact;
        break;
    default:
        break;
    }
    return kept;
}

/*
 * Round a finite nonzero value (sig with bit 63 set) to the format, with
 * the post-computation exception rules.  When an unmasked overflow or
 * underflow is found the value returned is meaningless: the instruction
 * does not write its destination.
 */
static uint64_t round_pack(Fmt f, X86FpEnv *e, bool sign, int32_t exp, uint64_t sig)
{
    const int p = f.mbits + 1, sh = 64 - p;
    const int bias = bias_of(f), emin = 1 - bias, emax = bias;
    const int rc = rc_of(e);
    bool inexact;
    uint64_t k = round_shift(sig, sh, sign, rc, &inexact);
    int32_t ex = exp;

    if (k >> p) {
        k >>= 1;
        ex++;
    }
    if (ex > emax) {
        e->post |= MXCSR_OE;
        if (!masked(e, MXCSR_OE)) {
            /* #XM: PE too when the result rounded with an unbounded
             * exponent is inexact. */
            e->post |= inexact ? MXCSR_PE : 0;
            return 0;
        }
        e->post |= MXCSR_PE;
        bool to_inf = rc == RC_NEAREST || (rc == RC_DOWN && sign) || (rc == RC_UP && !sign);
        return to_inf ? pack_inf(f, sign) : pack_max(f, sign);
    }
    if (ex < emin) {
        /* Tiny after rounding with an unbounded exponent. */
        if (!masked(e, MXCSR_UE)) {
            e->post |= MXCSR_UE | (inexact ? MXCSR_PE : 0);     /* #XM, as for OE */
            return 0;
        }
        if (e->mxcsr & MXCSR_FZ) {
            e->post |= MXCSR_UE | MXCSR_PE;
            return sign_bit(f, sign);
        }
        bool inexact_d;
        uint64_t kd = round_shift(sig, sh + (emin - exp), sign, rc, &inexact_d);
        if (inexact_d) {
            e->post |= MXCSR_UE | MXCSR_PE;
        }
        /* kd == 2^(p-1) carries into the exponent field: the smallest normal. */
        return sign_bit(f, sign) | kd;
    }
    if (inexact) {
        e->post |= MXCSR_PE;
    }
    return sign_bit(f, sign) | ((uint64_t)(ex + bias) << f.mbits) | (k & frac_mask(f));
}

/* NaN operands of a two-operand operation: IE for an SNaN; the result is
 * the first NaN operand, quieted. */
INLINE uint64_t nan_result(Fmt f, X86FpEnv *e, const Unp *ua, uint64_t a, const Unp *ub,
                           uint64_t b)
{
    if (ua->cls == C_SNAN || ub->cls == C_SNAN) {
        e->pre |= MXCSR_IE;
    }
    return quieten(f, is_nan(ua) ? a : b);
}

INLINE uint64_t invalid(Fmt f, X86FpEnv *e)
{
    e->pre |= MXCSR_IE;
    return default_nan(f);
}

INLINE void note_denormals(X86FpEnv *e, const Unp *ua, const Unp *ub)
{
    if (ua->denormal || ub->denormal) {
        e->pre |= MXCSR_DE;
    }
}

/* --- addition and subtraction ------------------------------------------- */

INLINE uint64_t add_generic(Fmt f, X86FpEnv *e, uint64_t a, uint64_t b, bool subtract)
{
    Unp ua = unpack(f, a, e), ub = unpack(f, b, e);

    if (is_nan(&ua) || is_nan(&ub)) {
        return nan_result(f, e, &ua, a, &ub, b);
    }
    bool sb = ub.sign ^ subtract;
    if (ua.cls == C_INF || ub.cls == C_INF) {
        if (ua.cls == C_INF && ub.cls == C_INF && ua.sign != sb) {
            return invalid(f, e);
        }
        note_denormals(e, &ua, &ub);
        return pack_inf(f, ua.cls == C_INF ? ua.sign : sb);
    }
    note_denormals(e, &ua, &ub);
    if (ua.cls == C_ZERO && ub.cls == C_ZERO) {
        bool s = ua.sign == sb ? ua.sign : rc_of(e) == RC_DOWN;
        return sign_bit(f, s);
    }
    if (ua.cls == C_ZERO) {
        return round_pack(f, e, sb, ub.exp, ub.sig);
    }
    if (ub.cls == C_ZERO) {
        return round_pack(f, e, ua.sign, ua.exp, ua.sig);
    }

    /* Larger exponent first; significands with the integer bit at 62. */
    bool s1 = ua.sign, s2 = sb;
    int32_t e1 = ua.exp, e2 = ub.exp;
    uint64_t m1 = ua.sig >> 1, m2 = ub.sig >> 1;
    if (e1 < e2 || (e1 == e2 && m1 < m2)) {
        bool ts = s1; s1 = s2; s2 = ts;
        int32_t te = e1; e1 = e2; e2 = te;
        uint64_t tm = m1; m1 = m2; m2 = tm;
    }
    int32_t d = e1 - e2;
    if (d >= 63) {
        m2 = 1;                 /* only sticky left */
    } else if (d > 0) {
        m2 = (m2 >> d) | ((m2 & ((1ULL << d) - 1)) != 0);
    }
    if (s1 == s2) {
        uint64_t s = m1 + m2;
        if (s >> 63) {
            return round_pack(f, e, s1, e1 + 1, s);
        }
        return round_pack(f, e, s1, e1, s << 1);
    }
    uint64_t diff = m1 - m2;
    if (diff == 0) {
        return sign_bit(f, rc_of(e) == RC_DOWN);
    }
    int lz = __builtin_clzll(diff);
    return round_pack(f, e, s1, e1 + 1 - lz, diff << lz);
}

/* --- multiplication, division, square root ------------------------------ */

INLINE uint64_t mul_generic(Fmt f, X86FpEnv *e, uint64_t a, uint64_t b)
{
    Unp ua = unpack(f, a, e), ub = unpack(f, b, e);
    bool s = ua.sign ^ ub.sign;

    if (is_nan(&ua) || is_nan(&ub)) {
        return nan_result(f, e, &ua, a, &ub, b);
    }
    if ((ua.cls == C_INF && ub.cls == C_ZERO) || (ua.cls == C_ZERO && ub.cls == C_INF)) {
        return invalid(f, e);
    }
    note_denormals(e, &ua, &ub);
    if (ua.cls == C_INF || ub.cls == C_INF) {
        return pack_inf(f, s);
    }
    if (ua.cls == C_ZERO || ub.cls == C_ZERO) {
        return sign_bit(f, s);
    }
    u128 p = (u128)ua.sig * ub.sig;
    uint64_t hi = p >> 64, lo = (uint64_t)p;
    int32_t ex = ua.exp + ub.exp;
    if (hi >> 63) {
        return round_pack(f, e, s, ex + 1, hi | (lo != 0));
    }
    uint64_t sig = (hi << 1) | (lo >> 63);
    return round_pack(f, e, s, ex, sig | ((lo << 1) != 0));
}

INLINE uint64_t div_generic(Fmt f, X86FpEnv *e, uint64_t a, uint64_t b)
{
    Unp ua = unpack(f, a, e), ub = unpack(f, b, e);
    bool s = ua.sign ^ ub.sign;

    if (is_nan(&ua) || is_nan(&ub)) {
        return nan_result(f, e, &ua, a, &ub, b);
    }
    if ((ua.cls == C_INF && ub.cls == C_INF) || (ua.cls == C_ZERO && ub.cls == C_ZERO)) {
        return invalid(f, e);
    }
    if (ub.cls == C_ZERO && ua.cls == C_NORM) {
        e->pre |= MXCSR_ZE;
        return pack_inf(f, s);
    }
    note_denormals(e, &ua, &ub);
    if (ua.cls == C_INF || ub.cls == C_ZERO) {
        return pack_inf(f, s);
    }
    if (ua.cls == C_ZERO || ub.cls == C_INF) {
        return sign_bit(f, s);
    }
    uint64_t n = ua.sig;
    int32_t ex = ua.exp - ub.exp;
    if (n >= ub.sig) {
        n >>= 1;                /* the low bits of a significand are zero */
    } else {
        ex--;
    }
    u128 num = (u128)n << 64;
    uint64_t q = num / ub.sig;
    bool rem = (num % ub.sig) != 0;
    return round_pack(f, e, s, ex, q | rem);
}

/* floor(sqrt(n)) for n < 2^128 (the root fits 64 bits); *exact when the
 * remainder is zero. */
static uint64_t isqrt128(u128 n, bool *exact)
{
    u128 res = 0, bit = (u128)1 << 126;
    while (bit > n) {
        bit >>= 2;
    }
    while (bit) {
        if (n >= res + bit) {
            n -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    *exact = n == 0;
    return (uint64_t)res;
}

INLINE uint64_t sqrt_generic(Fmt f, X86FpEnv *e, uint64_t a)
{
    Unp ua = unpack(f, a, e);

    if (is_nan(&ua)) {
        if (ua.cls == C_SNAN) {
            e->pre |= MXCSR_IE;
        }
        return quieten(f, a);
    }
    if (ua.cls == C_ZERO) {
        return sign_bit(f, ua.sign);
    }
    if (ua.sign) {
        return invalid(f, e);
    }
    if (ua.cls == C_INF) {
        return a;
    }
    if (ua.denormal) {
        e->pre |= MXCSR_DE;
    }
    /* value = sig/2^63 * 2^exp; make the exponent even. */
    u128 n;
    int32_t ex;
    if (ua.exp & 1) {
        n = (u128)ua.sig << 64;
        ex = (ua.exp - 1) / 2;
    } else {
        n = (u128)ua.sig << 63;
        ex = ua.exp / 2;
    }
    bool exact;
    uint64_t r = isqrt128(n, &exact);
    return round_pack(f, e, false, ex, r | !exact);
}

/* --- comparisons -------------------------------------------------------- */

/* Order of two non-NaN values (zeros of either sign are equal). */
INLINE int order(const Unp *ua, const Unp *ub)
{
    if (ua->cls == C_ZERO && ub->cls == C_ZERO) {
        return X86_FCMP_EQ;
    }
    if (ua->sign != ub->sign) {
        return ua->sign ? X86_FCMP_LT : X86_FCMP_GT;
    }
    int mag;        /* -1, 0, 1: |a| versus |b| */
    if (ua->cls != ub->cls) {
        /* ZERO < NORM < INF by class number. */
        mag = ua->cls < ub->cls ? -1 : 1;
    } else if (ua->cls != C_NORM) {
        mag = 0;
    } else if (ua->exp != ub->exp) {
        mag = ua->exp < ub->exp ? -1 : 1;
    } else {
        mag = ua->sig < ub->sig ? -1 : ua->sig > ub->sig;
    }
    if (ua->sign) {
        mag = -mag;
    }
    return mag < 0 ? X86_FCMP_LT : mag > 0 ? X86_FCMP_GT : X86_FCMP_EQ;
}

INLINE int compare_generic(Fmt f, X86FpEnv *e, uint64_t a, uint64_t b, bool signaling)
{
    Unp ua = unpack(f, a, e), ub = unpack(f, b, e);
    if (is_nan(&ua) || is_nan(&ub)) {
        if (signaling || ua.cls == C_SNAN || ub.cls == C_SNAN) {
            e->pre |= MXCSR_IE;
        }
        return X86_FCMP_UN;
    }
    note_denormals(e, &ua, &ub);
    return order(&ua, &ub);
}

INLINE bool cmp_generic(Fmt f, X86FpEnv *e, uint64_t a, uint64_t b, int pred)
{
    /* LT, LE, NLT and NLE signal on QNaN operands too. */
    bool signaling = (pred & 3) == 1 || (pred & 3) == 2;
    int r = compare_generic(f, e, a, b, signaling);
    bool res;
    switch (pred & 3) {
    case 0: res = r == X86_FCMP_EQ; break;
    case 1: res = r == X86_FCMP_LT; break;
    case 2: res = r == X86_FCMP_LT || r == X86_FCMP_EQ; break;
    default: res = r == X86_FCMP_UN; break;
    }
    return (pred & 4) ? !res : res;
}

/* MINSS/MAXSS: the second operand unless the first is strictly smaller
 * (larger); any NaN is invalid and gives the second operand. */
INLINE uint64_t minmax_generic(Fmt f, X86FpEnv *e, uint64_t a, uint64_t b, bool max)
{
    Unp ua = unpack(f, a, e), ub = unpack(f, b, e);
    /* Under DAZ a denormal operand is returned as the zero it counted as. */
    uint64_t second = ub.cls == C_ZERO ? sign_bit(f, ub.sign) : b;
    if (is_nan(&ua) || is_nan(&ub)) {
        e->pre |= MXCSR_IE;
        return second;
    }
    note_denormals(e, &ua, &ub);
    if (order(&ua, &ub) == (max ? X86_FCMP_GT : X86_FCMP_LT)) {
        return ua.cls == C_ZERO ? sign_bit(f, ua.sign) : a;
    }
    return second;
}

/* --- conversions -------------------------------------------------------- */

INLINE uint32_t to_i32_generic(Fmt f, X86FpEnv *e, uint64_t a, bool truncate)
{
    Unp ua = unpack(f, a, e);
    if (ua.cls >= C_INF) {
        e->pre |= MXCSR_IE;
        return 0x80000000u;
    }
    if (ua.cls == C_ZERO) {
        return 0;
    }
    if (ua.exp > 31) {
        e->pre |= MXCSR_IE;
        return 0x80000000u;
    }
    bool inexact;
    uint64_t m = round_shift(ua.sig, 63 - ua.exp, ua.sign, truncate ? RC_ZERO : rc_of(e),
                             &inexact);
    if (m > (ua.sign ? 0x80000000ULL : 0x7fffffffULL)) {
        e->pre |= MXCSR_IE;
        return 0x80000000u;
    }
    if (inexact) {
        e->post |= MXCSR_PE;
    }
    return ua.sign ? (uint32_t)-m : (uint32_t)m;
}

INLINE uint64_t from_i32_generic(Fmt f, X86FpEnv *e, int32_t v)
{
    if (v == 0) {
        return 0;
    }
    bool s = v < 0;
    uint64_t m = s ? (uint64_t)-(int64_t)v : (uint64_t)v;
    int lz = __builtin_clzll(m);
    return round_pack(f, e, s, 63 - lz, m << lz);
}

/* Between formats: NaNs keep their sign and the top of their payload. */
INLINE uint64_t convert_generic(Fmt from, Fmt to, X86FpEnv *e, uint64_t a)
{
    Unp ua = unpack(from, a, e);
    switch (ua.cls) {
    case C_ZERO:
        return sign_bit(to, ua.sign);
    case C_INF:
        return pack_inf(to, ua.sign);
    case C_QNAN:
    case C_SNAN: {
        if (ua.cls == C_SNAN) {
            e->pre |= MXCSR_IE;
        }
        uint64_t frac = a & frac_mask(from);
        frac = to.mbits >= from.mbits ? frac << (to.mbits - from.mbits)
                                      : frac >> (from.mbits - to.mbits);
        return quieten(to, pack_inf(to, ua.sign) | frac);
    }
    default:
        if (ua.denormal) {
            e->pre |= MXCSR_DE;
        }
        return round_pack(to, e, ua.sign, ua.exp, ua.sig);
    }
}

/* --- approximations ----------------------------------------------------- */

/* 1 / (sig/2^63 * 2^exp), normalized the same way; the remainder becomes
 * the sticky bit. */
INLINE void reciprocal(int32_t *exp, uint64_t *sig)
{
    if (*sig == 1ULL << 63) {
        *exp = -*exp;
        return;
    }
    u128 num = (u128)1 << 127;
    uint64_t q = num / *sig;        /* 2^63 < q < 2^64 */
    bool rem = (num % *sig) != 0;
    *exp = -*exp - 1;
    *sig = q | rem;
}

/* RCPSS and RSQRTSS promise a relative error of at most 1.5 * 2^-12; these
 * return the correctly rounded value (round to nearest), which is within
 * it.  Denormal inputs count as zeros and tiny results are flushed to
 * zero; the flags are not touched (SDM vol. 2, RCPSS, RSQRTSS). */
static const X86FpEnv approx_env = { .mxcsr = MXCSR_DAZ | MXCSR_FZ | MXCSR_MASKS };

uint32_t x86_f32_rcp(uint32_t a)
{
    X86FpEnv e = approx_env;
    Unp u = unpack(F32, a, &e);
    switch (u.cls) {
    case C_ZERO: return (uint32_t)pack_inf(F32, u.sign);
    case C_INF: return (uint32_t)sign_bit(F32, u.sign);
    case C_QNAN: case C_SNAN: return (uint32_t)quieten(F32, a);
    default: break;
    }
    reciprocal(&u.exp, &u.sig);
    return (uint32_t)round_pack(F32, &e, u.sign, u.exp, u.sig);
}

uint32_t x86_f32_rsqrt(uint32_t a)
{
    X86FpEnv e = approx_env;
    Unp u = unpack(F32, a, &e);
    switch (u.cls) {
    case C_ZERO: return (uint32_t)pack_inf(F32, u.sign);
    case C_QNAN: case C_SNAN: return (uint32_t)quieten(F32, a);
    default: break;
    }
    if (u.sign) {
        return (uint32_t)default_nan(F32);
    }
    if (u.cls == C_INF) {
        return 0;
    }
    u128 n = (u128)u.sig << ((u.exp & 1) ? 64 : 63);
    int32_t ex = (u.exp & 1) ? (u.exp - 1) / 2 : u.exp / 2;
    bool exact;
    uint64_t r = isqrt128(n, &exact);
    r |= !exact;
    reciprocal(&ex, &r);
    return (uint32_t)round_pack(F32, &e, false, ex, r);
}

/* --- the instances ------------------------------------------------------ */

uint32_t x86_f32_add(X86FpEnv *e, uint32_t a, uint32_t b) { return add_generic(F32, e, a, b, false); }
uint32_t x86_f32_sub(X86FpEnv *e, uint32_t a, uint32_t b) { return add_generic(F32, e, a, b, true); }
uint32_t x86_f32_mul(X86FpEnv *e, uint32_t a, uint32_t b) { return mul_generic(F32, e, a, b); }
uint32_t x86_f32_div(X86FpEnv *e, uint32_t a, uint32_t b) { return div_generic(F32, e, a, b); }
uint32_t x86_f32_sqrt(X86FpEnv *e, uint32_t a) { return sqrt_generic(F32, e, a); }
uint32_t x86_f32_min(X86FpEnv *e, uint32_t a, uint32_t b) { return minmax_generic(F32, e, a, b, false); }
uint32_t x86_f32_max(X86FpEnv *e, uint32_t a, uint32_t b) { return minmax_generic(F32, e, a, b, true); }
bool x86_f32_cmp(X86FpEnv *e, uint32_t a, uint32_t b, int pred) { return cmp_generic(F32, e, a, b, pred); }
int x86_f32_compare(X86FpEnv *e, uint32_t a, uint32_t b, bool signaling)
{
    return compare_generic(F32, e, a, b, signaling);
}
uint32_t x86_f32_to_i32(X86FpEnv *e, uint32_t a, bool truncate) { return to_i32_generic(F32, e, a, truncate); }
uint32_t x86_i32_to_f32(X86FpEnv *e, int32_t v) { return from_i32_generic(F32, e, v); }
uint64_t x86_f32_to_f64(X86FpEnv *e, uint32_t a) { return convert_generic(F32, F64, e, a); }

uint64_t x86_f64_add(X86FpEnv *e, uint64_t a, uint64_t b) { return add_generic(F64, e, a, b, false); }
uint64_t x86_f64_sub(X86FpEnv *e, uint64_t a, uint64_t b) { return add_generic(F64, e, a, b, true); }
uint64_t x86_f64_mul(X86FpEnv *e, uint64_t a, uint64_t b) { return mul_generic(F64, e, a, b); }
uint64_t x86_f64_div(X86FpEnv *e, uint64_t a, uint64_t b) { return div_generic(F64, e, a, b); }
uint64_t x86_f64_sqrt(X86FpEnv *e, uint64_t a) { return sqrt_generic(F64, e, a); }
uint64_t x86_f64_min(X86FpEnv *e, uint64_t a, uint64_t b) { return minmax_generic(F64, e, a, b, false); }
uint64_t x86_f64_max(X86FpEnv *e, uint64_t a, uint64_t b) { return minmax_generic(F64, e, a, b, true); }
bool x86_f64_cmp(X86FpEnv *e, uint64_t a, uint64_t b, int pred) { return cmp_generic(F64, e, a, b, pred); }
int x86_f64_compare(X86FpEnv *e, uint64_t a, uint64_t b, bool signaling)
{
    return compare_generic(F64, e, a, b, signaling);
}
uint32_t x86_f64_to_i32(X86FpEnv *e, uint64_t a, bool truncate) { return to_i32_generic(F64, e, a, truncate); }
uint64_t x86_i32_to_f64(int32_t v)
{
    X86FpEnv e = { .mxcsr = MXCSR_MASKS };
    return from_i32_generic(F64, &e, v);    /* always exact */
}
uint32_t x86_f64_to_f32(X86FpEnv *e, uint64_t a) { return convert_generic(F64, F32, e, a); }
