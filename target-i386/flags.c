/*
 * Lazy arithmetic flags.  Instructions record their operands, result and
 * kind (cc_op); CF, PF, AF, ZF, SF and OF are computed only when something
 * reads them.  Flag definitions per instruction: Intel SDM vol. 1, 3.4.3
 * and appendix A (EFLAGS cross-reference), vol. 2 for each instruction.
 */
#include "x86-internal.h"

static const uint32_t size_mask[3] = { 0xffu, 0xffffu, 0xffffffffu };
static const uint32_t size_sign[3] = { 0x80u, 0x8000u, 0x80000000u };

static inline uint32_t parity(uint32_t v)
{
    return __builtin_parity(v & 0xff) ? 0 : FL_PF;
}

/* ZF, SF and PF of a result. */
static inline uint32_t szp(uint32_t res, int sz)
{
    uint32_t f = parity(res);
    if ((res & size_mask[sz]) == 0) {
        f |= FL_ZF;
    }
    if (res & size_sign[sz]) {
        f |= FL_SF;
    }
    return f;
}

uint32_t x86_flags_compute(X86CPU *cpu)
{
    uint32_t op = cpu->cc_op;
    int kind = op >> 2, sz = op & 3;
    uint32_t m = size_mask[sz], sign = size_sign[sz];
    uint32_t a = cpu->cc_a, b = cpu->cc_b, res = cpu->cc_res;
    uint32_t f, rm = res & m, am = a & m, bm = b & m, cin;

    switch (kind) {
    case CCK_EFLAGS:
        return cpu->eflags & FL_ARITH;
    case CCK_ADD:
        f = szp(res, sz) | ((a ^ b ^ res) & FL_AF);
        if (rm < am) {
            f |= FL_CF;
        }
        if ((a ^ res) & (b ^ res) & sign) {
            f |= FL_OF;
        }
        return f;
    case CCK_ADC:
        cin = (res - a - b) & m;
        f = szp(res, sz) | ((a ^ b ^ res) & FL_AF);
        if (cin ? rm <= am : rm < am) {
            f |= FL_CF;
        }
        if ((a ^ res) & (b ^ res) & sign) {
            f |= FL_OF;
        }
        return f;
    case CCK_SUB:
        f = szp(res, sz) | ((a ^ b ^ res) & FL_AF);
        if (am < bm) {
            f |= FL_CF;
        }
        if ((a ^ b) & (a ^ res) & sign) {
            f |= FL_OF;
        }
        return f;
    case CCK_SBB:
        cin = (a - b - res) & m;
        f = szp(res, sz) | ((a ^ b ^ res) & FL_AF);
        if (cin ? am <= bm : am < bm) {
            f |= FL_CF;
        }
        if ((a ^ b) & (a ^ res) & sign) {
            f |= FL_OF;
        }
        return f;
    case CCK_LOGIC:
        return szp(res, sz);
    case CCK_INC:
        f = szp(res, sz) | x86_flags_cf(cpu);
        if ((res & 0xf) == 0) {
            f |= FL_AF;
        }
        if (rm == sign) {
            f |= FL_OF;
        }
        return f;
    case CCK_DEC:
        f = szp(res, sz) | x86_flags_cf(cpu);
        if ((res & 0xf) == 0xf) {
            f |= FL_AF;
        }
        if (rm == sign - 1) {
            f |= FL_OF;
        }
        return f;
    case CCK_SHIFT:
    case CCK_MUL:
        return szp(res, sz) | (b ? FL_CF : 0) | (a ? FL_OF : 0);
    }
    return 0;
}

static uint32_t cf_of(X86CPU *cpu, uint32_t op, uint32_t a0, uint32_t b0, uint32_t res0)
{
    int kind = op >> 2, sz = op & 3;
    uint32_t m = size_mask[sz], a = a0 & m, b = b0 & m, res = res0 & m, cin;

    switch (kind) {
    case CCK_ADD:
        return res < a;
    case CCK_SUB:
        return a < b;
    case CCK_LOGIC:
        return 0;
    case CCK_SHIFT:
    case CCK_MUL:
        return b0 != 0;
    case CCK_ADC:
        cin = (res0 - a0 - b0) & m;
        return cin ? res <= a : res < a;
    case CCK_SBB:
        cin = (a0 - b0 - res0) & m;
        return cin ? a <= b : a < b;
    default:
        return cpu->eflags & FL_CF;
    }
}

uint32_t x86_flags_cf(X86CPU *cpu)
{
    uint32_t op = cpu->cc_op;
    if ((op >> 3) == (CCK_INC >> 1)) {
        return cf_of(cpu, cpu->cc_prev_op, cpu->cc_a, cpu->cc_b, cpu->cc_prev_res);
    }
    return cf_of(cpu, op, cpu->cc_a, cpu->cc_b, cpu->cc_res);
}

bool x86_cond_slow(X86CPU *cpu, int cc)
{
    uint32_t f = x86_flags_compute(cpu);
    bool r;

    switch (cc >> 1) {
    case 0: r = f & FL_OF; break;
    case 1: r = f & FL_CF; break;
    case 2: r = f & FL_ZF; break;
    case 3: r = f & (FL_CF | FL_ZF); break;
    case 4: r = f & FL_SF; break;
    case 5: r = f & FL_PF; break;
    case 6: r = !!(f & FL_SF) != !!(f & FL_OF); break;
    default: r = (f & FL_ZF) || (!!(f & FL_SF) != !!(f & FL_OF)); break;
    }
    return (cc & 1) ? !r : r;
}

void x86_set_eflags(X86CPU *cpu, uint32_t val, uint32_t mask)
{
    uint32_t old = x86_get_eflags(cpu);
    uint32_t nf = (old & ~mask) | (val & mask);

    cpu->eflags = (nf & FL_ALL) | 0x2;
    cpu->cc_op = CC_EFLAGS;
    if ((old ^ nf) & (FL_VM | FL_TF)) {
        x86_update_mode(cpu);
    } else if ((old ^ nf) & FL_AC) {
        x86_update_mem_checks(cpu);
    }
    if (nf & FL_RF) {
        cpu->rf_clear = true;       /* IRET: RF holds for the next instruction */
    }
}
