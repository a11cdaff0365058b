/*
 * Integer arithmetic and logic instructions: the size-specialized handlers
 * of ops-alu-tmpl.h, their dispatch tables, and the byte-only BCD
 * instructions (DAA, DAS, AAA, AAS, AAM, AAD) and flag instructions.
 * Reference: Intel SDM vol. 2, each instruction's Operation and Flags
 * Affected sections.
 */
#include "x86-internal.h"

/* Slow-path load of a read-modify-write operand: the write is probed first
 * so that a fault leaves everything untouched. */
static uint32_t x86_rmw_load(X86CPU *cpu, uint32_t lin, unsigned size)
{
    x86_probe_write(cpu, lin, size, cpu->mmu_idx);
    return x86_ld_slow(cpu, lin, size, cpu->mmu_idx);
}

#define BITS 8
#include "ops-alu-tmpl.h"
#undef BITS
#define BITS 16
#include "ops-alu-tmpl.h"
#undef BITS
#define BITS 32
#include "ops-alu-tmpl.h"
#undef BITS

#define ROW3(n) { { n##_8_r, n##_8_m }, { n##_16_r, n##_16_m }, { n##_32_r, n##_32_m } }
#define ROW2(n) { { n##_16_r, n##_16_m }, { n##_32_r, n##_32_m } }

const X86Handler x86_h_alu_eg[8][3][2] = {
    ROW3(alu_eg_add), ROW3(alu_eg_or), ROW3(alu_eg_adc), ROW3(alu_eg_sbb),
    ROW3(alu_eg_and), ROW3(alu_eg_sub), ROW3(alu_eg_xor), ROW3(alu_eg_cmp),
};
const X86Handler x86_h_alu_ge[8][3][2] = {
    ROW3(alu_ge_add), ROW3(alu_ge_or), ROW3(alu_ge_adc), ROW3(alu_ge_sbb),
    ROW3(alu_ge_and), ROW3(alu_ge_sub), ROW3(alu_ge_xor), ROW3(alu_ge_cmp),
};
const X86Handler x86_h_alu_ei[8][3][2] = {
    ROW3(alu_ei_add), ROW3(alu_ei_or), ROW3(alu_ei_adc), ROW3(alu_ei_sbb),
    ROW3(alu_ei_and), ROW3(alu_ei_sub), ROW3(alu_ei_xor), ROW3(alu_ei_cmp),
};
const HT3 x86_h_test_eg = ROW3(test_eg);
const HT3 x86_h_test_ei = ROW3(test_ei);
const X86Handler x86_h_grp2[8][3][2] = {
    ROW3(rol), ROW3(ror), ROW3(rcl), ROW3(rcr),
    ROW3(shl), ROW3(shr), ROW3(sal), ROW3(sar),
};
const HT3 x86_h_not = ROW3(not);
const HT3 x86_h_neg = ROW3(neg);
const HT3 x86_h_mul = ROW3(mul);
const HT3 x86_h_imul1 = ROW3(imul1);
const HT3 x86_h_div = ROW3(div);
const HT3 x86_h_idiv = ROW3(idiv);
const HT3 x86_h_inc = ROW3(inc);
const HT3 x86_h_dec = ROW3(dec);
const HT3 x86_h_xadd = ROW3(xadd);
const HT3 x86_h_cmpxchg = ROW3(cmpxchg);
const HT2 x86_h_imul_ge = ROW2(imul_ge);
const HT2 x86_h_imul_gei = ROW2(imul_gei);
const HT2 x86_h_shld = ROW2(shld);
const HT2 x86_h_shrd = ROW2(shrd);
const X86Handler x86_h_bt_eg[4][2][2] = {
    ROW2(bt_eg_bt), ROW2(bt_eg_bts), ROW2(bt_eg_btr), ROW2(bt_eg_btc),
};
const X86Handler x86_h_bt_ei[4][2][2] = {
    ROW2(bt_ei_bt), ROW2(bt_ei_bts), ROW2(bt_ei_btr), ROW2(bt_ei_btc),
};
const HT2 x86_h_bsf = ROW2(bsf);
const HT2 x86_h_bsr = ROW2(bsr);
const HT2 x86_h_cmov = ROW2(cmov);

/* --- BCD ------------------------------------------------------------------ */

/* Set the arithmetic flags to `f` (CF PF AF ZF SF OF bits). */
static void set_arith(X86CPU *cpu, uint32_t f)
{
    cpu->eflags = (cpu->eflags & ~FL_ARITH) | (f & FL_ARITH);
    cpu->cc_op = CC_EFLAGS;
}

static uint32_t szp8(uint8_t v)
{
    uint32_t f = __builtin_parity(v) ? 0 : FL_PF;
    if (v == 0) {
        f |= FL_ZF;
    }
    if (v & 0x80) {
        f |= FL_SF;
    }
    return f;
}

HANDLER(x86_h_daa)
{
    uint32_t f = x86_flags_compute(cpu);
    uint8_t al = cpu->r[R_EAX].b[0], old_al = al;
    bool old_cf = f & FL_CF, cf = false, af = false;

    if ((al & 0x0f) > 9 || (f & FL_AF)) {
        cf = old_cf || al > 0xf9;
        al += 6;
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al += 0x60;
        cf = true;
    }
    cpu->r[R_EAX].b[0] = al;
    set_arith(cpu, szp8(al) | (cf ? FL_CF : 0) | (af ? FL_AF : 0) | (f & FL_OF));
    return i + 1;
}

HANDLER(x86_h_das)
{
    uint32_t f = x86_flags_compute(cpu);
    uint8_t al = cpu->r[R_EAX].b[0], old_al = al;
    bool old_cf = f & FL_CF, cf = false, af = false;

    if ((al & 0x0f) > 9 || (f & FL_AF)) {
        cf = old_cf || al < 6;
        al -= 6;
        af = true;
    }
    if (old_al > 0x99 || old_cf) {
        al -= 0x60;
        cf = true;
    }
    cpu->r[R_EAX].b[0] = al;
    set_arith(cpu, szp8(al) | (cf ? FL_CF : 0) | (af ? FL_AF : 0) | (f & FL_OF));
    return i + 1;
}

HANDLER(x86_h_aaa)
{
    uint32_t f = x86_flags_compute(cpu);
    if ((cpu->r[R_EAX].b[0] & 0x0f) > 9 || (f & FL_AF)) {
        cpu->r[R_EAX].w += 0x106;
        f |= FL_AF | FL_CF;
    } else {
        f &= ~(FL_AF | FL_CF);
    }
    cpu->r[R_EAX].b[0] &= 0x0f;
    set_arith(cpu, f);
    return i + 1;
}

HANDLER(x86_h_aas)
{
    uint32_t f = x86_flags_compute(cpu);
    if ((cpu->r[R_EAX].b[0] & 0x0f) > 9 || (f & FL_AF)) {
        cpu->r[R_EAX].w -= 6;
        cpu->r[R_EAX].b[1] -= 1;
        f |= FL_AF | FL_CF;
    } else {
        f &= ~(FL_AF | FL_CF);
    }
    cpu->r[R_EAX].b[0] &= 0x0f;
    set_arith(cpu, f);
    return i + 1;
}

HANDLER(x86_h_aam)
{
    uint8_t base = i->imm, al = cpu->r[R_EAX].b[0];
    if (base == 0) {
        x86_raise0(cpu, EXC_DE);
    }
    cpu->r[R_EAX].b[1] = al / base;
    cpu->r[R_EAX].b[0] = al % base;
    set_arith(cpu, szp8(cpu->r[R_EAX].b[0]));
    return i + 1;
}

HANDLER(x86_h_aad)
{
    uint8_t al = cpu->r[R_EAX].b[0] + cpu->r[R_EAX].b[1] * (uint8_t)i->imm;
    cpu->r[R_EAX].w = al;
    set_arith(cpu, szp8(al));
    return i + 1;
}

HANDLER(x86_h_salc)
{
    cpu->r[R_EAX].b[0] = x86_cf(cpu) ? 0xff : 0;
    return i + 1;
}

/* --- flag instructions ------------------------------------------------------ */

HANDLER(x86_h_clc)
{
    x86_flags_materialize(cpu);
    cpu->eflags &= ~FL_CF;
    return i + 1;
}

HANDLER(x86_h_stc)
{
    x86_flags_materialize(cpu);
    cpu->eflags |= FL_CF;
    return i + 1;
}

HANDLER(x86_h_cmc)
{
    x86_flags_materialize(cpu);
    cpu->eflags ^= FL_CF;
    return i + 1;
}

HANDLER(x86_h_cld)
{
    cpu->eflags &= ~FL_DF;
    return i + 1;
}

HANDLER(x86_h_std)
{
    cpu->eflags |= FL_DF;
    return i + 1;
}

HANDLER(x86_h_sahf)
{
    uint32_t f = x86_flags_compute(cpu) & FL_OF;
    set_arith(cpu, f | (cpu->r[R_EAX].b[1] & (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)));
    return i + 1;
}

HANDLER(x86_h_lahf)
{
    cpu->r[R_EAX].b[1] = (x86_get_eflags(cpu) & 0xd5) | 0x02;
    return i + 1;
}
