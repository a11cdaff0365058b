/*
 * MMX, SSE and SSE2: the 0F-map instructions on MMX and XMM registers, the
 * MXCSR, FXSAVE/FXRSTOR, and the exception rules that go with them.
 *
 * Reference: Intel SDM vol. 2 (each instruction's page; opcode map tables
 * with the mandatory prefixes 66/F3/F2, group 12-15 encodings
 * in table A-6; FXSAVE's table 3-53 "legacy FXSAVE area layout"), vol. 1
 * chapters 9-11 (MMX aliasing on the x87 registers, the x87-to-MMX
 * transition, SSE/SSE2 state and SIMD floating-point exceptions), vol. 3
 * 13.1 and table 13-1 (CR4.OSFXSR and OSXMMEXCPT, CR0.EM/TS: #UD, #NM, #XM)
 * and 2.5 (CR0.EM/TS/MP).
 *
 * Exception classes, checked in this order before any memory access:
 *  - SSE/SSE2 on XMM registers: #UD if CR0.EM=1 or CR4.OSFXSR=0, #NM if
 *    CR0.TS=1.  An unmasked SIMD floating-point exception is #XM when
 *    CR4.OSXMMEXCPT=1 and #UD otherwise; MXCSR flags are set either way
 *    and the destination is not written.
 *  - MMX, including the MMX-register forms that SSE/SSE2 added (PAVGB mm,
 *    PMULUDQ mm, PSHUFW, MOVNTQ, ...): #UD if CR0.EM=1, #NM if CR0.TS=1,
 *    #MF if an unmasked x87 exception is pending and CR0.NE=1; once the
 *    memory operand has been accessed without a fault, the x87-to-MMX
 *    transition (TOP = 0, all registers tagged valid; EMMS: all empty),
 *    even when a SIMD exception follows.  The vol. 3 list of
 *    instructions exempt from CR4.OSFXSR names only PSHUFW and MOVNTQ among
 *    these; this CPU follows the instruction pages' MMX exception class for
 *    all of them, like the processors that introduced them as MMX
 *    extensions.
 *  - SSE conversions between MMX and XMM registers (CVTPI2PS, CVTPS2PI,
 *    MOVQ2DQ, ...): the SSE checks, then the MMX ones when an MMX register
 *    is an operand.
 *  - FXSAVE/FXRSTOR: #UD if CR0.EM=1, #NM if CR0.TS=1 (CR4.OSFXSR only
 *    decides whether software may rely on the XMM part; this CPU always
 *    saves and restores it).  The memory operand must be 16-byte aligned
 *    (#GP(0)).
 *  - MOVNTI, the fences, CLFLUSH, PREFETCHh and PAUSE: no checks.
 * 128-bit memory operands of everything but MOVUPS/MOVUPD/MOVDQU must be
 * 16-byte aligned (#GP(0)); 64-bit and smaller ones need no alignment.
 */
#include "x86-internal.h"
#include "sse-float.h"
#include "sse-ops.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "X86Vec lanes assume a little-endian host");

/* Mandatory-prefix classes (x86_sse_decode's pfx). */
enum { P_NONE, P_66, P_F3, P_F2 };

/* ------------------------------------------------------------------------
 * The x87 side of MMX (SDM vol. 1, 9.5 and table 9-2): MMX register n is
 * the significand of x87 physical register Rn (whatever TOP is).
 */
#define FSW_ES  0x0080u

static inline uint64_t *mmreg(X86CPU *cpu, int n)
{
    return &cpu->fpu.st[n & 7].mant;
}

/* An MMX instruction wrote MMn: bits 79-64 of Rn become all ones. */
static inline void mmx_written(X86CPU *cpu, int n)
{
    cpu->fpu.st[n & 7].se = 0xffff;
}

/* ------------------------------------------------------------------------
 * Exception classes.
 */
static void NORETURN sse_unavailable(X86CPU *cpu)
{
    if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR)) {
        x86_raise0(cpu, EXC_UD);
    }
    x86_raise0(cpu, EXC_NM);
}

static inline void sse_check(X86CPU *cpu)
{
    if (unlikely((cpu->cr0 & (CR0_EM | CR0_TS)) || !(cpu->cr4 & CR4_OSFXSR))) {
        sse_unavailable(cpu);
    }
}

/* The MMX checks: #UD for CR0.EM, #NM for CR0.TS, #MF for a pending
 * unmasked x87 exception when CR0.NE=1 (with NE=0 the x87 reports it
 * through FERR#, see fpu.c). */
static inline void mmx_check(X86CPU *cpu)
{
    if (unlikely(cpu->cr0 & (CR0_EM | CR0_TS))) {
        x86_raise0(cpu, (cpu->cr0 & CR0_EM) ? EXC_UD : EXC_NM);
    }
    if (unlikely((cpu->fpu.fsw & FSW_ES) && (cpu->cr0 & CR0_NE))) {
        x86_raise0(cpu, EXC_MF);
    }
}

/* The x87-to-MMX transition, once the memory operand has been accessed
 * without a fault: TOP = 0 and every register tagged valid. */
static inline void mmx_transition(X86CPU *cpu)
{
    cpu->fpu.top = 0;
    cpu->fpu.tag_empty = 0;
}

/* An unmasked SIMD floating-point exception (flags already set). */
static void NORETURN simd_fault(X86CPU *cpu)
{
    x86_raise0(cpu, (cpu->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD);
}

/* Merge an operation's exception flags into MXCSR.  Pre-computation
 * conditions (IE, DE, ZE) come first: if one of them is unmasked, the
 * post-computation ones are not reported and nothing is written. */
static void fp_commit(X86CPU *cpu, const X86FpEnv *e)
{
    uint32_t unmasked = ~(cpu->sse.mxcsr >> MXCSR_MASK_SHIFT) & MXCSR_FLAGS;
    uint32_t flags = e->pre;
    if (!(flags & unmasked)) {
        flags |= e->post;
    }
    cpu->sse.mxcsr |= flags;
    if (unlikely(flags & unmasked)) {
        simd_fault(cpu);
    }
}

static inline X86FpEnv fp_env(X86CPU *cpu)
{
    return (X86FpEnv){ .mxcsr = cpu->sse.mxcsr };
}

/* ------------------------------------------------------------------------
 * Memory operands.
 */
static uint32_t vaddr(X86CPU *cpu, X86Insn *i, unsigned size, bool write, bool align16)
{
    uint32_t ea = x86_ea(cpu, i);
    uint32_t lin = write ? seg_w(cpu, i->seg, ea, size) : seg_r(cpu, i->seg, ea, size);
    if (align16 && (lin & 15)) {
        x86_raise(cpu, EXC_GP, 0);
    }
    return lin;
}

/* Alignment checking (its fast-path switch sends all accesses here):
 * 64-bit operands must be 8-aligned (#AC); 16-byte ones are not checked
 * (the aligned forms #GP in vaddr), so their dword pieces are not either. */
static inline void valign_begin(X86CPU *cpu, uint32_t lin, unsigned size)
{
    if (unlikely(cpu->mem_checks & MEMCHK_ALIGN)) {
        if (size == 16) {
            x86_align_suspend(cpu);
        } else if (size == 8) {
            x86_align_check(cpu, lin, 8);
        }
    }
}

static void vload_lin(X86CPU *cpu, uint32_t lin, X86Vec *v, unsigned size)
{
    void *p = tlb_ptr_r(cpu, lin, size);
    if (p) {
        memcpy(v, p, size);
        return;
    }
    if (size == 2) {
        v->w[0] = x86_ld_slow(cpu, lin, 2, cpu->mmu_idx);
        return;
    }
    valign_begin(cpu, lin, size);
    for (unsigned k = 0; k < size / 4; k++) {
        v->d[k] = x86_ld_slow(cpu, lin + 4 * k, 4, cpu->mmu_idx);
    }
    if (cpu->ac_suspended) {
        x86_align_resume(cpu);
    }
}

static void vstore_lin(X86CPU *cpu, uint32_t lin, const X86Vec *v, unsigned size)
{
    void *p = tlb_ptr_w(cpu, lin, size);
    if (p) {
        memcpy(p, v, size);
        return;
    }
    valign_begin(cpu, lin, size);
    x86_probe_write(cpu, lin, size, cpu->mmu_idx);
    for (unsigned k = 0; k < size / 4; k++) {
        x86_st_slow(cpu, lin + 4 * k, v->d[k], 4, cpu->mmu_idx);
    }
    if (cpu->ac_suspended) {
        x86_align_resume(cpu);
    }
}

/* Load `size` bytes of the memory operand into v (the rest of v is left
 * alone). */
static void vload(X86CPU *cpu, X86Insn *i, X86Vec *v, unsigned size, bool align16)
{
    vload_lin(cpu, vaddr(cpu, i, size, false, align16), v, size);
}

static void vstore(X86CPU *cpu, X86Insn *i, const X86Vec *v, unsigned size, bool align16)
{
    vstore_lin(cpu, vaddr(cpu, i, size, true, align16), v, size);
}

/* The source operand of an XMM instruction: XMM register rm or `size`
 * bytes of memory (zero-extended). */
static void xmm_src(X86CPU *cpu, X86Insn *i, X86Vec *s, unsigned size, bool align16)
{
    if (i->flags & IF_MEM) {
        s->q[0] = s->q[1] = 0;
        vload(cpu, i, s, size, align16);
    } else {
        *s = cpu->sse.xmm[i->rm];
    }
}

/* The source operand of an MMX instruction: MMX register rm or memory. */
static void mm_src(X86CPU *cpu, X86Insn *i, X86Vec *s, unsigned size)
{
    s->q[0] = s->q[1] = 0;
    if (i->flags & IF_MEM) {
        vload(cpu, i, s, size, false);
    } else {
        s->q[0] = *mmreg(cpu, i->rm);
    }
}

/* Write MMn (after every fault of the instruction), with the transition. */
static inline void set_mm(X86CPU *cpu, int n, uint64_t v)
{
    mmx_transition(cpu);
    *mmreg(cpu, n) = v;
    mmx_written(cpu, n);
}

static inline uint32_t gpr_or_mem32(X86CPU *cpu, X86Insn *i)
{
    if (i->flags & IF_MEM) {
        X86Vec v;
        vload(cpu, i, &v, 4, false);
        return v.d[0];
    }
    return cpu->r[i->rm].d;
}

/* ------------------------------------------------------------------------
 * Packed integer, logic and shuffle operations (sse-int.c does the lanes).
 * i->imm2 is the X86VecOpId; i->imm the immediate, if any.
 */

/* MMX form: mm(reg) = op(mm(reg), mm/m64); m32 for PUNPCKL* (imm2 bit 8). */
#define VO_M32 0x100

static HANDLER(h_mmx_op)
{
    X86Vec d, s;
    mmx_check(cpu);
    mm_src(cpu, i, &s, (i->imm2 & VO_M32) ? 4 : 8);
    d.q[0] = *mmreg(cpu, i->reg);
    d.q[1] = 0;
    x86_vec_ops[i->imm2 & 0xff](&d, &s, 8, i->imm);
    set_mm(cpu, i->reg, d.q[0]);
    return i + 1;
}

/* XMM form: xmm(reg) = op(xmm(reg), xmm/m128), memory aligned. */
static HANDLER(h_xmm_op)
{
    X86Vec s;
    sse_check(cpu);
    xmm_src(cpu, i, &s, 16, true);
    x86_vec_ops[i->imm2](&cpu->sse.xmm[i->reg], &s, 16, i->imm);
    return i + 1;
}

/* Shift by immediate (groups 12-14): the register is ModRM.rm. */
static HANDLER(h_mmx_shift_imm)
{
    X86Vec d, s = { .q = { i->imm & 0xff, 0 } };
    mmx_check(cpu);
    d.q[0] = *mmreg(cpu, i->rm);
    d.q[1] = 0;
    x86_vec_ops[i->imm2](&d, &s, 8, 0);
    set_mm(cpu, i->rm, d.q[0]);
    return i + 1;
}

static HANDLER(h_xmm_shift_imm)
{
    X86Vec s = { .q = { i->imm & 0xff, 0 } };
    sse_check(cpu);
    x86_vec_ops[i->imm2](&cpu->sse.xmm[i->rm], &s, 16, 0);
    return i + 1;
}

/* ------------------------------------------------------------------------
 * Floating-point arithmetic: packed/scalar single/double.
 * i->imm2 selects the operation, i->imm is CMPxx's predicate.
 */
enum { FO_ADD, FO_SUB, FO_MUL, FO_DIV, FO_MIN, FO_MAX, FO_SQRT, FO_CMP, FO_RCP, FO_RSQRT,
       FO_COUNT };

typedef uint32_t (*Fp32Op)(X86FpEnv *e, uint32_t a, uint32_t b, uint8_t imm);
typedef uint64_t (*Fp64Op)(X86FpEnv *e, uint64_t a, uint64_t b, uint8_t imm);

#define FP2(name, call32, call64)                                                   \
    static uint32_t name##_32(X86FpEnv *e, uint32_t a, uint32_t b, uint8_t imm)     \
    {                                                                               \
        (void)e; (void)a; (void)b; (void)imm;                                       \
        return call32;                                                              \
    }                                                                               \
    static uint64_t name##_64(X86FpEnv *e, uint64_t a, uint64_t b, uint8_t imm)     \
    {                                                                               \
        (void)e; (void)a; (void)b; (void)imm;                                       \
        return call64;                                                              \
    }

FP2(fo_add, x86_f32_add(e, a, b), x86_f64_add(e, a, b))
FP2(fo_sub, x86_f32_sub(e, a, b), x86_f64_sub(e, a, b))
FP2(fo_mul, x86_f32_mul(e, a, b), x86_f64_mul(e, a, b))
FP2(fo_div, x86_f32_div(e, a, b), x86_f64_div(e, a, b))
FP2(fo_min, x86_f32_min(e, a, b), x86_f64_min(e, a, b))
FP2(fo_max, x86_f32_max(e, a, b), x86_f64_max(e, a, b))
FP2(fo_sqrt, x86_f32_sqrt(e, b), x86_f64_sqrt(e, b))
FP2(fo_cmp, x86_f32_cmp(e, a, b, imm & 7) ? 0xffffffffu : 0,
    x86_f64_cmp(e, a, b, imm & 7) ? ~0ULL : 0)
FP2(fo_rcp, x86_f32_rcp(b), 0)
FP2(fo_rsqrt, x86_f32_rsqrt(b), 0)

static const Fp32Op fp32_ops[FO_COUNT] = {
    fo_add_32, fo_sub_32, fo_mul_32, fo_div_32, fo_min_32, fo_max_32, fo_sqrt_32, fo_cmp_32,
    fo_rcp_32, fo_rsqrt_32,
};
static const Fp64Op fp64_ops[FO_COUNT] = {
    fo_add_64, fo_sub_64, fo_mul_64, fo_div_64, fo_min_64, fo_max_64, fo_sqrt_64, fo_cmp_64,
    fo_rcp_64, fo_rsqrt_64,
};

static HANDLER(h_fp_ps)
{
    X86Vec s, r, *d = &cpu->sse.xmm[i->reg];
    sse_check(cpu);
    xmm_src(cpu, i, &s, 16, true);
    X86FpEnv e = fp_env(cpu);
    Fp32Op fn = fp32_ops[i->imm2];
    for (int k = 0; k < 4; k++) {
        r.d[k] = fn(&e, d->d[k], s.d[k], i->imm);
    }
    fp_commit(cpu, &e);
    *d = r;
    return i + 1;
}

static HANDLER(h_fp_pd)
{
    X86Vec s, r, *d = &cpu->sse.xmm[i->reg];
    sse_check(cpu);
    xmm_src(cpu, i, &s, 16, true);
    X86FpEnv e = fp_env(cpu);
    Fp64Op fn = fp64_ops[i->imm2];
    for (int k = 0; k < 2; k++) {
        r.q[k] = fn(&e, d->q[k], s.q[k], i->imm);
    }
    fp_commit(cpu, &e);
    *d = r;
    return i + 1;
}

static HANDLER(h_fp_ss)
{
    X86Vec s, *d = &cpu->sse.xmm[i->reg];
    sse_check(cpu);
    xmm_src(cpu, i, &s, 4, false);
    X86FpEnv e = fp_env(cpu);
    uint32_t r = fp32_ops[i->imm2](&e, d->d[0], s.d[0], i->imm);
    fp_commit(cpu, &e);
    d->d[0] = r;
    return i + 1;
}

static HANDLER(h_fp_sd)
{
    X86Vec s, *d = &cpu->sse.xmm[i->reg];
    sse_check(cpu);
    xmm_src(cpu, i, &s, 8, false);
    X86FpEnv e = fp_env(cpu);
    uint64_t r = fp64_ops[i->imm2](&e, d->q[0], s.q[0], i->imm);
    fp_commit(cpu, &e);
    d->q[0] = r;
    return i + 1;
}

/* COMISS/UCOMISS/COMISD/UCOMISD: imm2 bit 0 double, bit 1 signaling
 * (COMI*).  ZF,PF,CF = 111 unordered, 000 greater, 001 less, 100 equal;
 * OF, SF and AF are cleared. */
static HANDLER(h_comis)
{
    X86Vec s;
    bool dbl = i->imm2 & 1, sig = i->imm2 & 2;
    sse_check(cpu);
    xmm_src(cpu, i, &s, dbl ? 8 : 4, false);
    X86FpEnv e = fp_env(cpu);
    X86Vec *d = &cpu->sse.xmm[i->reg];
    int r = dbl ? x86_f64_compare(&e, d->q[0], s.q[0], sig)
                : x86_f32_compare(&e, d->d[0], s.d[0], sig);
    fp_commit(cpu, &e);
    static const uint32_t fl[4] = {
        [X86_FCMP_LT] = FL_CF, [X86_FCMP_EQ] = FL_ZF, [X86_FCMP_GT] = 0,
        [X86_FCMP_UN] = FL_ZF | FL_PF | FL_CF,
    };
    x86_flags_materialize(cpu);
    cpu->eflags = (cpu->eflags & ~FL_ARITH) | fl[r];
    return i + 1;
}

/* ------------------------------------------------------------------------
 * Conversions.
 */

/* CVTSI2SS / CVTSI2SD xmm, r/m32 (imm2: 1 = double). */
static HANDLER(h_cvtsi2s)
{
    sse_check(cpu);
    int32_t v = (int32_t)gpr_or_mem32(cpu, i);
    X86Vec *d = &cpu->sse.xmm[i->reg];
    if (i->imm2) {
        d->q[0] = x86_i32_to_f64(v);
    } else {
        X86FpEnv e = fp_env(cpu);
        uint32_t r = x86_i32_to_f32(&e, v);
        fp_commit(cpu, &e);
        d->d[0] = r;
    }
    return i + 1;
}

/* CVT(T)SS2SI / CVT(T)SD2SI r32, xmm/m (imm2 bit 0 double, bit 1 truncate). */
static HANDLER(h_cvts2si)
{
    X86Vec s;
    bool dbl = i->imm2 & 1, trunc = i->imm2 & 2;
    sse_check(cpu);
    xmm_src(cpu, i, &s, dbl ? 8 : 4, false);
    X86FpEnv e = fp_env(cpu);
    uint32_t r = dbl ? x86_f64_to_i32(&e, s.q[0], trunc) : x86_f32_to_i32(&e, s.d[0], trunc);
    fp_commit(cpu, &e);
    cpu->r[i->reg].d = r;
    return i + 1;
}

/* CVTPI2PS xmm, mm/m64: two int32 to the low two singles. */
static HANDLER(h_cvtpi2ps)
{
    X86Vec s;
    sse_check(cpu);
    if (!(i->flags & IF_MEM)) {
        mmx_check(cpu);
        mmx_transition(cpu);
    }
    mm_src(cpu, i, &s, 8);
    X86FpEnv e = fp_env(cpu);
    uint32_t r0 = x86_i32_to_f32(&e, (int32_t)s.d[0]);
    uint32_t r1 = x86_i32_to_f32(&e, (int32_t)s.d[1]);
    fp_commit(cpu, &e);
    cpu->sse.xmm[i->reg].d[0] = r0;
    cpu->sse.xmm[i->reg].d[1] = r1;
    return i + 1;
}

/* CVTPI2PD xmm, mm/m64: exact. */
static HANDLER(h_cvtpi2pd)
{
    X86Vec s;
    sse_check(cpu);
    if (!(i->flags & IF_MEM)) {
        mmx_check(cpu);
        mmx_transition(cpu);
    }
    mm_src(cpu, i, &s, 8);
    X86Vec *d = &cpu->sse.xmm[i->reg];
    d->q[0] = x86_i32_to_f64((int32_t)s.d[0]);
    d->q[1] = x86_i32_to_f64((int32_t)s.d[1]);
    return i + 1;
}

/* CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128 (imm2 bit 0
 * double, bit 1 truncate). */
static HANDLER(h_cvtp2pi)
{
    X86Vec s;
    bool dbl = i->imm2 & 1, trunc = i->imm2 & 2;
    sse_check(cpu);
    mmx_check(cpu);
    xmm_src(cpu, i, &s, dbl ? 16 : 8, dbl);
    mmx_transition(cpu);
    X86FpEnv e = fp_env(cpu);
    uint32_t r0, r1;
    if (dbl) {
        r0 = x86_f64_to_i32(&e, s.q[0], trunc);
        r1 = x86_f64_to_i32(&e, s.q[1], trunc);
    } else {
        r0 = x86_f32_to_i32(&e, s.d[0], trunc);
        r1 = x86_f32_to_i32(&e, s.d[1], trunc);
    }
    fp_commit(cpu, &e);
    set_mm(cpu, i->reg, r0 | ((uint64_t)r1 << 32));
    return i + 1;
}

/* CVTDQ2PS xmm, xmm/m128. */
static HANDLER(h_cvtdq2ps)
{
    X86Vec s, r;
    sse_check(cpu);
    xmm_src(cpu, i, &s, 16, true);
    X86FpEnv e = fp_env(cpu);
    for (int k = 0; k < 4; k++) {
        r.d[k] = x86_i32_to_f32(&e, s.sd[k]);
    }
    fp_commit(cpu, &e);
    cpu->sse.xmm[i->reg] = r;
    return i + 1;
}

/* CVTDQ2PD xmm, xmm/m64: exact. */
static HANDLER(h_cvtdq2pd)
{
    X86Vec s, r;
    sse_check(cpu);
    xmm_src(cpu, i, &s, 8, false);
    r.q[0] = x86_i32_to_f64(s.sd[0]);
    r.q[1] = x86_i32_to_f64(s.sd[1]);
    cpu->sse.xmm[i->reg] = r;
    return i + 1;
}

/* CVT(T)PS2DQ xmm, xmm/m128 (imm2: truncate). */
static HANDLER(h_cvtps2dq)
{
    X86Vec s, r;
    sse_check(cpu);
    xmm_src(cpu, i, &s, 16, true);
    X86FpEnv e = fp_env(cpu);
    for (int k = 0; k < 4; k++) {
        r.d[k] = x86_f32_to_i32(&e, s.d[k], i->imm2);
    }
    fp_commit(cpu, &e);
    cpu->sse.xmm[i->reg] = r;
    return i + 1;
}

/* CVT(T)PD2DQ xmm, xmm/m128: two int32 in the low quadword, the high
 * quadword cleared (imm2: truncate). */
static HANDLER(h_cvtpd2dq)
{
    X86Vec s, r;
    sse_check(cpu);
    xmm_src(cpu, i, &s, 16, true);
    X86FpEnv e = fp_env(cpu);
    r.d[0] = x86_f64_to_i32(&e, s.q[0], i->imm2);
    r.d[1] = x86_f64_to_i32(&e, s.q[1], i->imm2);
    r.q[1] = 0;
    fp_commit(cpu, &e);
    cpu->sse.xmm[i->reg] = r;
    return i + 1;
}

/* CVTPS2PD xmm, xmm/m64. */
static HANDLER(h_cvtps2pd)
{
    X86Vec s, r;
    sse_check(cpu);
    xmm_src(cpu, i, &s, 8, false);
    X86FpEnv e = fp_env(cpu);
    r.q[0] = x86_f32_to_f64(&e, s.d[0]);
    r.q[1] = x86_f32_to_f64(&e, s.d[1]);
    fp_commit(cpu, &e);
    cpu->sse.xmm[i->reg] = r;
    return i + 1;
}

/* CVTPD2PS xmm, xmm/m128: the high quadword is cleared. */
static HANDLER(h_cvtpd2ps)
{
    X86Vec s, r;
    sse_check(cpu);
    xmm_src(cpu, i, &s, 16, true);
    X86FpEnv e = fp_env(cpu);
    r.d[0] = x86_f64_to_f32(&e, s.q[0]);
    r.d[1] = x86_f64_to_f32(&e, s.q[1]);
    r.q[1] = 0;
    fp_commit(cpu, &e);
    cpu->sse.xmm[i->reg] = r;
    return i + 1;
}

/* CVTSS2SD xmm, xmm/m32 and CVTSD2SS xmm, xmm/m64 (imm2: 1 = SD2SS). */
static HANDLER(h_cvts2s)
{
    X86Vec s;
    sse_check(cpu);
    xmm_src(cpu, i, &s, i->imm2 ? 8 : 4, false);
    X86FpEnv e = fp_env(cpu);
    X86Vec *d = &cpu->sse.xmm[i->reg];
    if (i->imm2) {
        uint32_t r = x86_f64_to_f32(&e, s.q[0]);
        fp_commit(cpu, &e);
        d->d[0] = r;
    } else {
        uint64_t r = x86_f32_to_f64(&e, s.d[0]);
        fp_commit(cpu, &e);
        d->q[0] = r;
    }
    return i + 1;
}

/* ------------------------------------------------------------------------
 * Moves.
 */

/* MOVUPS/MOVUPD/MOVDQU/MOVAPS/MOVAPD/MOVDQA xmm, xmm/m128 (imm2: aligned). */
static HANDLER(h_mov128_load)
{
    sse_check(cpu);
    if (i->flags & IF_MEM) {
        X86Vec v;
        vload(cpu, i, &v, 16, i->imm2);
        cpu->sse.xmm[i->reg] = v;
    } else {
        cpu->sse.xmm[i->reg] = cpu->sse.xmm[i->rm];
    }
    return i + 1;
}

/* ... and the stores xmm/m128, xmm (MOVNTPS/MOVNTPD/MOVNTDQ too). */
static HANDLER(h_mov128_store)
{
    sse_check(cpu);
    if (i->flags & IF_MEM) {
        vstore(cpu, i, &cpu->sse.xmm[i->reg], 16, i->imm2);
    } else {
        cpu->sse.xmm[i->rm] = cpu->sse.xmm[i->reg];
    }
    return i + 1;
}

/* MOVSS/MOVSD xmm, xmm/m (imm2: 4 or 8): from memory the rest of the
 * register is cleared, between registers only the low element moves. */
static HANDLER(h_movs_load)
{
    sse_check(cpu);
    X86Vec *d = &cpu->sse.xmm[i->reg];
    if (i->flags & IF_MEM) {
        X86Vec v = { .q = { 0, 0 } };
        vload(cpu, i, &v, i->imm2, false);
        *d = v;
    } else if (i->imm2 == 4) {
        d->d[0] = cpu->sse.xmm[i->rm].d[0];
    } else {
        d->q[0] = cpu->sse.xmm[i->rm].q[0];
    }
    return i + 1;
}

static HANDLER(h_movs_store)
{
    sse_check(cpu);
    const X86Vec *s = &cpu->sse.xmm[i->reg];
    if (i->flags & IF_MEM) {
        vstore(cpu, i, s, i->imm2, false);
    } else if (i->imm2 == 4) {
        cpu->sse.xmm[i->rm].d[0] = s->d[0];
    } else {
        cpu->sse.xmm[i->rm].q[0] = s->q[0];
    }
    return i + 1;
}

/* MOVLPS/MOVLPD/MOVHPS/MOVHPD xmm, m64 (imm2: quadword 0 or 1). */
static HANDLER(h_movhl_load)
{
    X86Vec v;
    sse_check(cpu);
    vload(cpu, i, &v, 8, false);
    cpu->sse.xmm[i->reg].q[i->imm2] = v.q[0];
    return i + 1;
}

static HANDLER(h_movhl_store)
{
    X86Vec v;
    sse_check(cpu);
    v.q[0] = cpu->sse.xmm[i->reg].q[i->imm2];
    vstore(cpu, i, &v, 8, false);
    return i + 1;
}

/* MOVHLPS (imm2 = 0): low quadword from the source's high one; MOVLHPS
 * (imm2 = 1): high quadword from the source's low one. */
static HANDLER(h_movhlps)
{
    sse_check(cpu);
    X86Vec *d = &cpu->sse.xmm[i->reg], *s = &cpu->sse.xmm[i->rm];
    if (i->imm2) {
        d->q[1] = s->q[0];
    } else {
        d->q[0] = s->q[1];
    }
    return i + 1;
}

/* MOVMSKPS (imm2 = 4) / MOVMSKPD (imm2 = 8) r32, xmm: sign bits. */
static HANDLER(h_movmskp)
{
    sse_check(cpu);
    const X86Vec *s = &cpu->sse.xmm[i->rm];
    uint32_t m = 0;
    if (i->imm2 == 4) {
        for (int k = 0; k < 4; k++) {
            m |= (s->d[k] >> 31) << k;
        }
    } else {
        m = (uint32_t)(s->q[0] >> 63) | (uint32_t)(s->q[1] >> 63) << 1;
    }
    cpu->r[i->reg].d = m;
    return i + 1;
}

/* PMOVMSKB r32, mm / xmm: byte sign bits. */
static uint32_t byte_signs(const X86Vec *v, int n)
{
    uint32_t m = 0;
    for (int k = 0; k < n; k++) {
        m |= (uint32_t)(v->b[k] >> 7) << k;
    }
    return m;
}

static HANDLER(h_pmovmskb_mm)
{
    X86Vec v;
    mmx_check(cpu);
    mmx_transition(cpu);
    v.q[0] = *mmreg(cpu, i->rm);
    cpu->r[i->reg].d = byte_signs(&v, 8);
    return i + 1;
}

static HANDLER(h_pmovmskb_xmm)
{
    sse_check(cpu);
    cpu->r[i->reg].d = byte_signs(&cpu->sse.xmm[i->rm], 16);
    return i + 1;
}

/* MOVD mm, r/m32 and MOVD r/m32, mm. */
static HANDLER(h_movd_mm_load)
{
    mmx_check(cpu);
    set_mm(cpu, i->reg, gpr_or_mem32(cpu, i));
    return i + 1;
}

static HANDLER(h_movd_mm_store)
{
    mmx_check(cpu);
    uint32_t v = (uint32_t)*mmreg(cpu, i->reg);
    if (i->flags & IF_MEM) {
        X86Vec t = { .d = { v } };
        vstore(cpu, i, &t, 4, false);
    } else {
        cpu->r[i->rm].d = v;
    }
    mmx_transition(cpu);
    return i + 1;
}

/* MOVD xmm, r/m32 (zero-extended) and MOVD r/m32, xmm. */
static HANDLER(h_movd_xmm_load)
{
    sse_check(cpu);
    uint32_t v = gpr_or_mem32(cpu, i);
    cpu->sse.xmm[i->reg] = (X86Vec){ .d = { v } };
    return i + 1;
}

static HANDLER(h_movd_xmm_store)
{
    sse_check(cpu);
    uint32_t v = cpu->sse.xmm[i->reg].d[0];
    if (i->flags & IF_MEM) {
        X86Vec t = { .d = { v } };
        vstore(cpu, i, &t, 4, false);
    } else {
        cpu->r[i->rm].d = v;
    }
    return i + 1;
}

/* MOVQ mm, mm/m64 and MOVQ mm/m64, mm (MOVNTQ m64, mm too). */
static HANDLER(h_movq_mm_load)
{
    X86Vec s;
    mmx_check(cpu);
    mm_src(cpu, i, &s, 8);
    set_mm(cpu, i->reg, s.q[0]);
    return i + 1;
}

static HANDLER(h_movq_mm_store)
{
    mmx_check(cpu);
    uint64_t v = *mmreg(cpu, i->reg);
    if (i->flags & IF_MEM) {
        X86Vec t = { .q = { v, 0 } };
        vstore(cpu, i, &t, 8, false);
    } else {
        set_mm(cpu, i->rm, v);
    }
    mmx_transition(cpu);
    return i + 1;
}

/* MOVQ xmm, xmm/m64 (F3 0F 7E): the high quadword is cleared. */
static HANDLER(h_movq_xmm_load)
{
    X86Vec s;
    sse_check(cpu);
    xmm_src(cpu, i, &s, 8, false);
    cpu->sse.xmm[i->reg] = (X86Vec){ .q = { s.q[0], 0 } };
    return i + 1;
}

/* MOVQ xmm/m64, xmm (66 0F D6): to a register the high quadword is
 * cleared. */
static HANDLER(h_movq_xmm_store)
{
    sse_check(cpu);
    X86Vec v = { .q = { cpu->sse.xmm[i->reg].q[0], 0 } };
    if (i->flags & IF_MEM) {
        vstore(cpu, i, &v, 8, false);
    } else {
        cpu->sse.xmm[i->rm] = v;
    }
    return i + 1;
}

/* MOVQ2DQ xmm, mm and MOVDQ2Q mm, xmm. */
static HANDLER(h_movq2dq)
{
    sse_check(cpu);
    mmx_check(cpu);
    mmx_transition(cpu);
    cpu->sse.xmm[i->reg] = (X86Vec){ .q = { *mmreg(cpu, i->rm), 0 } };
    return i + 1;
}

static HANDLER(h_movdq2q)
{
    sse_check(cpu);
    mmx_check(cpu);
    set_mm(cpu, i->reg, cpu->sse.xmm[i->rm].q[0]);
    return i + 1;
}

/* MOVNTI m32, r32: no FPU/SSE checks. */
static HANDLER(h_movnti)
{
    X86Vec t = { .d = { cpu->r[i->reg].d } };
    vstore(cpu, i, &t, 4, false);
    return i + 1;
}

/* MASKMOVQ mm1, mm2 and MASKMOVDQU xmm1, xmm2: the bytes of the first
 * operand whose mask byte has its top bit set go to DS:[E]DI (segment
 * overridable).  Every selected byte is checked before any is written. */
static void maskmov(X86CPU *cpu, X86Insn *i, const X86Vec *v, const X86Vec *m, int n)
{
    uint32_t base = cpu->r[R_EDI].d & i->amask;
    uint32_t lin[16];
    for (int k = 0; k < n; k++) {
        if (m->b[k] & 0x80) {
            lin[k] = seg_w(cpu, i->seg, (base + k) & i->amask, 1);
            x86_probe_write(cpu, lin[k], 1, cpu->mmu_idx);
        }
    }
    for (int k = 0; k < n; k++) {
        if (m->b[k] & 0x80) {
            lin_st8(cpu, lin[k], v->b[k]);
        }
    }
}

static HANDLER(h_maskmovq)
{
    X86Vec v, m;
    mmx_check(cpu);
    v.q[0] = *mmreg(cpu, i->reg);
    m.q[0] = *mmreg(cpu, i->rm);
    maskmov(cpu, i, &v, &m, 8);
    mmx_transition(cpu);
    return i + 1;
}

static HANDLER(h_maskmovdqu)
{
    sse_check(cpu);
    maskmov(cpu, i, &cpu->sse.xmm[i->reg], &cpu->sse.xmm[i->rm], 16);
    return i + 1;
}

/* PEXTRW r32, mm/xmm, imm8 and PINSRW mm/xmm, r32/m16, imm8. */
static HANDLER(h_pextrw_mm)
{
    mmx_check(cpu);
    mmx_transition(cpu);
    cpu->r[i->reg].d = (uint16_t)(*mmreg(cpu, i->rm) >> (16 * (i->imm & 3)));
    return i + 1;
}

static HANDLER(h_pextrw_xmm)
{
    sse_check(cpu);
    cpu->r[i->reg].d = cpu->sse.xmm[i->rm].w[i->imm & 7];
    return i + 1;
}

static uint16_t gpr_or_mem16(X86CPU *cpu, X86Insn *i)
{
    if (i->flags & IF_MEM) {
        X86Vec v;
        vload(cpu, i, &v, 2, false);
        return v.w[0];
    }
    return cpu->r[i->rm].w;
}

static HANDLER(h_pinsrw_mm)
{
    mmx_check(cpu);
    uint16_t v = gpr_or_mem16(cpu, i);
    int sh = 16 * (i->imm & 3);
    uint64_t q = *mmreg(cpu, i->reg);
    q = (q & ~(0xffffULL << sh)) | ((uint64_t)v << sh);
    set_mm(cpu, i->reg, q);
    return i + 1;
}

static HANDLER(h_pinsrw_xmm)
{
    sse_check(cpu);
    uint16_t v = gpr_or_mem16(cpu, i);
    cpu->sse.xmm[i->reg].w[i->imm & 7] = v;
    return i + 1;
}

/* EMMS: the MMX checks, then TOP = 0 and every x87 register tagged empty
 * (SDM vol. 1, table 9-3). */
static HANDLER(h_emms)
{
    mmx_check(cpu);
    cpu->fpu.top = 0;
    cpu->fpu.tag_empty = 0xff;
    return i + 1;
}

/* ------------------------------------------------------------------------
 * MXCSR, FXSAVE/FXRSTOR, cache control.
 */
static HANDLER(h_ldmxcsr)
{
    X86Vec v;
    sse_check(cpu);
    vload(cpu, i, &v, 4, false);
    if (v.d[0] & ~MXCSR_WRITABLE) {
        x86_raise(cpu, EXC_GP, 0);
    }
    cpu->sse.mxcsr = v.d[0];
    return i + 1;
}

static HANDLER(h_stmxcsr)
{
    sse_check(cpu);
    X86Vec v = { .d = { cpu->sse.mxcsr } };
    vstore(cpu, i, &v, 4, false);
    return i + 1;
}

static inline void fx_check(X86CPU *cpu)
{
    if (unlikely(cpu->cr0 & (CR0_EM | CR0_TS))) {
        x86_raise0(cpu, (cpu->cr0 & CR0_EM) ? EXC_UD : EXC_NM);
    }
}

/* The legacy FXSAVE area (SDM vol. 2, FXSAVE, table 3-53 and the
 * abridged tag word of 3.2.4): bytes 0-23 the x87 environment (FCW, FSW,
 * abridged FTW, FOP, FIP, FCS, FDP, FDS), 24-31 MXCSR and MXCSR_MASK,
 * 32-159 ST0-ST7 (MM0-MM7) in stack order, 160-287 XMM0-XMM7; bytes
 * 288-511 are not written. */
#define FX_FCW          0
#define FX_FSW          2
#define FX_FTW          4
#define FX_FOP          6
#define FX_FIP          8
#define FX_FCS          12
#define FX_FDP          16
#define FX_FDS          20
#define FX_MXCSR        24
#define FX_MXCSR_MASK   28
#define FX_ST           32
#define FX_XMM          160
#define FX_USED         288

static void fxsave_image(X86CPU *cpu, uint8_t *img)
{
    const X86FPU *f = &cpu->fpu;
    memset(img, 0, FX_USED);
    st16u(img + FX_FCW, f->fcw);
    st16u(img + FX_FSW, x86_fpu_fsw(cpu));
    img[FX_FTW] = ~f->tag_empty;
    st16u(img + FX_FOP, f->fop & 0x7ff);
    st32u(img + FX_FIP, f->fip);
    st16u(img + FX_FCS, f->fcs);
    st32u(img + FX_FDP, f->fdp);
    st16u(img + FX_FDS, f->fds);
    st32u(img + FX_MXCSR, cpu->sse.mxcsr);
    st32u(img + FX_MXCSR_MASK, MXCSR_WRITABLE);
    for (int k = 0; k < 8; k++) {
        const X86F80 *r = &f->st[(f->top + k) & 7];
        memcpy(img + FX_ST + 16 * k, &r->mant, 8);
        st16u(img + FX_ST + 16 * k + 8, r->se);
    }
    memcpy(img + FX_XMM, cpu->sse.xmm, sizeof(cpu->sse.xmm));
}

static void fxrstor_image(X86CPU *cpu, const uint8_t *img)
{
    X86FPU *f = &cpu->fpu;
    uint16_t fsw = ld16u(img + FX_FSW);
    f->fcw = (ld16u(img + FX_FCW) & 0x1f3f) | 0x0040;      /* bit 6 reads as 1 */
    f->fsw = fsw & ~0x3800u;
    f->top = (fsw >> 11) & 7;
    f->tag_empty = (uint8_t)~img[FX_FTW];
    f->fop = ld16u(img + FX_FOP) & 0x7ff;
    f->fip = ld32u(img + FX_FIP);
    f->fcs = ld16u(img + FX_FCS);
    f->fdp = ld32u(img + FX_FDP);
    f->fds = ld16u(img + FX_FDS);
    for (int k = 0; k < 8; k++) {
        X86F80 *r = &f->st[(f->top + k) & 7];
        memcpy(&r->mant, img + FX_ST + 16 * k, 8);
        r->se = ld16u(img + FX_ST + 16 * k + 8);
    }
    cpu->sse.mxcsr = ld32u(img + FX_MXCSR);
    memcpy(cpu->sse.xmm, img + FX_XMM, sizeof(cpu->sse.xmm));
}

static HANDLER(h_fxsave)
{
    uint8_t img[FX_USED];
    fx_check(cpu);
    uint32_t lin = vaddr(cpu, i, 512, true, true);
    fxsave_image(cpu, img);
    x86_probe_write(cpu, lin, FX_USED, cpu->mmu_idx);
    for (int k = 0; k < FX_USED; k += 16) {
        X86Vec v;
        memcpy(&v, img + k, 16);
        vstore_lin(cpu, lin + k, &v, 16);
    }
    return i + 1;
}

/* A reserved MXCSR bit in the image is #GP(0) before anything changes. */
static HANDLER(h_fxrstor)
{
    uint8_t img[FX_USED];
    fx_check(cpu);
    uint32_t lin = vaddr(cpu, i, 512, false, true);
    for (int k = 0; k < FX_USED; k += 16) {
        X86Vec v;
        vload_lin(cpu, lin + k, &v, 16);
        memcpy(img + k, &v, 16);
    }
    if (ld32u(img + FX_MXCSR) & ~MXCSR_WRITABLE) {
        x86_raise(cpu, EXC_GP, 0);
    }
    fxrstor_image(cpu, img);
    return i + 1;
}

/* CLFLUSH m8: the address is checked like a byte read (segment, paging);
 * there is no cache to flush. */
static HANDLER(h_clflush)
{
    uint32_t lin = vaddr(cpu, i, 1, false, false);
    x86_tlb_fill(cpu, lin, ACC_R, cpu->mmu_idx);
    return i + 1;
}

/* LFENCE, MFENCE, SFENCE: memory is sequentially consistent here. */
static HANDLER(h_fence)
{
    return i + 1;
}

/* ------------------------------------------------------------------------
 * State.
 */
void x86_sse_reset(X86CPU *cpu)
{
    memset(&cpu->sse, 0, sizeof(cpu->sse));
    cpu->sse.mxcsr = MXCSR_RESET;
}

/* ------------------------------------------------------------------------
 * The decoder hook.
 */

/* 0F 60-7F and D0-FF: packed integer operations with an MMX form (no
 * prefix) and an SSE2 XMM form (66). */
typedef struct IntEnc {
    int16_t id;         /* X86VecOpId + 1 (0: none) */
    uint8_t mmx;        /* has an MMX form */
    uint8_t xmm;        /* has a 66 XMM form */
    uint8_t m32;        /* MMX memory form reads 32 bits */
} IntEnc;

#define IE(vo, m, x) { VO_##vo + 1, m, x, 0 }
#define IE32(vo) { VO_##vo + 1, 1, 1, 1 }

static const IntEnc int_enc[256] = {
    [0x60] = IE32(PUNPCKLBW), [0x61] = IE32(PUNPCKLWD), [0x62] = IE32(PUNPCKLDQ),
    [0x63] = IE(PACKSSWB, 1, 1), [0x64] = IE(PCMPGTB, 1, 1), [0x65] = IE(PCMPGTW, 1, 1),
    [0x66] = IE(PCMPGTD, 1, 1), [0x67] = IE(PACKUSWB, 1, 1), [0x68] = IE(PUNPCKHBW, 1, 1),
    [0x69] = IE(PUNPCKHWD, 1, 1), [0x6a] = IE(PUNPCKHDQ, 1, 1), [0x6b] = IE(PACKSSDW, 1, 1),
    [0x6c] = IE(PUNPCKLQDQ, 0, 1), [0x6d] = IE(PUNPCKHQDQ, 0, 1),
    [0x74] = IE(PCMPEQB, 1, 1), [0x75] = IE(PCMPEQW, 1, 1), [0x76] = IE(PCMPEQD, 1, 1),
    [0xd1] = IE(PSRLW, 1, 1), [0xd2] = IE(PSRLD, 1, 1), [0xd3] = IE(PSRLQ, 1, 1),
    [0xd4] = IE(PADDQ, 1, 1), [0xd5] = IE(PMULLW, 1, 1),
    [0xd8] = IE(PSUBUSB, 1, 1), [0xd9] = IE(PSUBUSW, 1, 1), [0xda] = IE(PMINUB, 1, 1),
    [0xdb] = IE(PAND, 1, 1), [0xdc] = IE(PADDUSB, 1, 1), [0xdd] = IE(PADDUSW, 1, 1),
    [0xde] = IE(PMAXUB, 1, 1), [0xdf] = IE(PANDN, 1, 1),
    [0xe0] = IE(PAVGB, 1, 1), [0xe1] = IE(PSRAW, 1, 1), [0xe2] = IE(PSRAD, 1, 1),
    [0xe3] = IE(PAVGW, 1, 1), [0xe4] = IE(PMULHUW, 1, 1), [0xe5] = IE(PMULHW, 1, 1),
    [0xe8] = IE(PSUBSB, 1, 1), [0xe9] = IE(PSUBSW, 1, 1), [0xea] = IE(PMINSW, 1, 1),
    [0xeb] = IE(POR, 1, 1), [0xec] = IE(PADDSB, 1, 1), [0xed] = IE(PADDSW, 1, 1),
    [0xee] = IE(PMAXSW, 1, 1), [0xef] = IE(PXOR, 1, 1),
    [0xf1] = IE(PSLLW, 1, 1), [0xf2] = IE(PSLLD, 1, 1), [0xf3] = IE(PSLLQ, 1, 1),
    [0xf4] = IE(PMULUDQ, 1, 1), [0xf5] = IE(PMADDWD, 1, 1), [0xf6] = IE(PSADBW, 1, 1),
    [0xf8] = IE(PSUBB, 1, 1), [0xf9] = IE(PSUBW, 1, 1), [0xfa] = IE(PSUBD, 1, 1),
    [0xfb] = IE(PSUBQ, 1, 1), [0xfc] = IE(PADDB, 1, 1), [0xfd] = IE(PADDW, 1, 1),
    [0xfe] = IE(PADDD, 1, 1),
};

/* 0F 51-5F (FP arithmetic with all four prefix forms) except 54-57, 5A,
 * 5B: the FO_* operation, -1 none. */
static const int8_t fp_enc[16] = {
    [0x0] = -1, [0x1] = FO_SQRT, [0x2] = FO_RSQRT, [0x3] = FO_RCP,
    [0x4] = -1, [0x5] = -1, [0x6] = -1, [0x7] = -1,
    [0x8] = FO_ADD, [0x9] = FO_MUL, [0xa] = -1, [0xb] = -1,
    [0xc] = FO_SUB, [0xd] = FO_MIN, [0xe] = FO_DIV, [0xf] = FO_MAX,
};

#define UD ((X86SSEHandler)x86_h_ud)

X86SSEHandler x86_sse_decode(X86Insn *i, unsigned op, unsigned pfx, bool mem, bool *imm8)
{
    static const X86Handler fp_by_pfx[4] = { h_fp_ps, h_fp_pd, h_fp_ss, h_fp_sd };
    *imm8 = false;
    i->imm2 = 0;

    const IntEnc *ie = &int_enc[op & 0xff];
    if (ie->id) {
        i->imm2 = ie->id - 1;
        if (pfx == P_NONE && ie->mmx) {
            if (ie->m32) {
                i->imm2 |= VO_M32;
            }
            return h_mmx_op;
        }
        if (pfx == P_66 && ie->xmm) {
            return h_xmm_op;
        }
        return UD;
    }

    switch (op) {
    case 0x10: case 0x11:
        if (pfx <= P_66) {
            i->imm2 = 0;                            /* MOVUPS, MOVUPD */
            return op == 0x10 ? h_mov128_load : h_mov128_store;
        }
        i->imm2 = pfx == P_F3 ? 4 : 8;              /* MOVSS, MOVSD */
        return op == 0x10 ? h_movs_load : h_movs_store;
    case 0x12: case 0x16:
        if (pfx == P_NONE && !mem) {
            i->imm2 = op == 0x16;                   /* MOVHLPS, MOVLHPS */
            return h_movhlps;
        }
        if (pfx <= P_66 && mem) {
            i->imm2 = op == 0x16;                   /* MOVLPS/PD, MOVHPS/PD */
            return h_movhl_load;
        }
        return UD;
    case 0x13: case 0x17:
        if (pfx <= P_66 && mem) {
            i->imm2 = op == 0x17;
            return h_movhl_store;
        }
        return UD;
    case 0x14: case 0x15:
        if (pfx > P_66) {
            return UD;
        }
        i->imm2 = op == 0x14 ? (pfx ? VO_PUNPCKLQDQ : VO_PUNPCKLDQ)
                             : (pfx ? VO_PUNPCKHQDQ : VO_PUNPCKHDQ);
        return h_xmm_op;
    case 0x28: case 0x29:
        if (pfx > P_66) {
            return UD;
        }
        i->imm2 = 1;                                /* MOVAPS, MOVAPD */
        return op == 0x28 ? h_mov128_load : h_mov128_store;
    case 0x2a:
        switch (pfx) {
        case P_NONE: return h_cvtpi2ps;
        case P_66: return h_cvtpi2pd;
        case P_F3: i->imm2 = 0; return h_cvtsi2s;
        default: i->imm2 = 1; return h_cvtsi2s;
        }
    case 0x2b:
        if (pfx > P_66 || !mem) {
            return UD;
        }
        i->imm2 = 1;                                /* MOVNTPS, MOVNTPD */
        return h_mov128_store;
    case 0x2c: case 0x2d:
        i->imm2 = (pfx == P_66 || pfx == P_F2) | (op == 0x2c ? 2 : 0);
        return pfx <= P_66 ? h_cvtp2pi : h_cvts2si;
    case 0x2e: case 0x2f:
        if (pfx > P_66) {
            return UD;
        }
        i->imm2 = pfx | (op == 0x2f ? 2 : 0);
        return h_comis;
    case 0x50:
        if (pfx > P_66 || mem) {
            return UD;
        }
        i->imm2 = pfx ? 8 : 4;
        return h_movmskp;
    case 0x51: case 0x52: case 0x53: case 0x58: case 0x59:
    case 0x5c: case 0x5d: case 0x5e: case 0x5f:
        i->imm2 = fp_enc[op & 0xf];
        if ((op == 0x52 || op == 0x53) && (pfx == P_66 || pfx == P_F2)) {
            return UD;
        }
        return fp_by_pfx[pfx];
    case 0x54: case 0x55: case 0x56: case 0x57:
        if (pfx > P_66) {
            return UD;
        }
        i->imm2 = op == 0x54 ? VO_PAND : op == 0x55 ? VO_PANDN : op == 0x56 ? VO_POR : VO_PXOR;
        return h_xmm_op;
    case 0x5a:
        switch (pfx) {
        case P_NONE: return h_cvtps2pd;
        case P_66: return h_cvtpd2ps;
        case P_F3: i->imm2 = 0; return h_cvts2s;
        default: i->imm2 = 1; return h_cvts2s;
        }
    case 0x5b:
        switch (pfx) {
        case P_NONE: return h_cvtdq2ps;
        case P_66: i->imm2 = 0; return h_cvtps2dq;
        case P_F3: i->imm2 = 1; return h_cvtps2dq;
        default: return UD;
        }
    case 0x6e:
        return pfx == P_NONE ? h_movd_mm_load : pfx == P_66 ? h_movd_xmm_load : UD;
    case 0x7e:
        return pfx == P_NONE ? h_movd_mm_store : pfx == P_66 ? h_movd_xmm_store
             : pfx == P_F3 ? h_movq_xmm_load : UD;
    case 0x6f: case 0x7f:
        switch (pfx) {
        case P_NONE: return op == 0x6f ? h_movq_mm_load : h_movq_mm_store;
        case P_66: i->imm2 = 1; return op == 0x6f ? h_mov128_load : h_mov128_store;
        case P_F3: i->imm2 = 0; return op == 0x6f ? h_mov128_load : h_mov128_store;
        default: return UD;
        }
    case 0x70:
        *imm8 = true;
        switch (pfx) {
        case P_NONE: i->imm2 = VO_PSHUFW; return h_mmx_op;
        case P_66: i->imm2 = VO_PSHUFD; return h_xmm_op;
        case P_F3: i->imm2 = VO_PSHUFHW; return h_xmm_op;
        default: i->imm2 = VO_PSHUFLW; return h_xmm_op;
        }
    case 0x71: case 0x72: case 0x73: {
        /* Groups 12-14: shift by immediate, register operand only. */
        static const int8_t grp[3][8] = {
            { -1, -1, VO_PSRLW, -1, VO_PSRAW, -1, VO_PSLLW, -1 },
            { -1, -1, VO_PSRLD, -1, VO_PSRAD, -1, VO_PSLLD, -1 },
            { -1, -1, VO_PSRLQ, VO_PSRLDQ, -1, -1, VO_PSLLQ, VO_PSLLDQ },
        };
        *imm8 = true;
        int vo = grp[op - 0x71][i->reg];
        if (mem || vo < 0 || pfx > P_66 ||
            ((vo == VO_PSRLDQ || vo == VO_PSLLDQ) && pfx != P_66)) {
            return UD;
        }
        i->imm2 = vo;
        return pfx == P_66 ? h_xmm_shift_imm : h_mmx_shift_imm;
    }
    case 0x77:
        return pfx == P_NONE ? h_emms : UD;
    case 0xae:
        if (mem) {
            switch (i->reg) {
            case 0: return pfx == P_NONE ? h_fxsave : UD;
            case 1: return pfx == P_NONE ? h_fxrstor : UD;
            case 2: return pfx == P_NONE ? h_ldmxcsr : UD;
            case 3: return pfx == P_NONE ? h_stmxcsr : UD;
            case 7: return pfx == P_NONE ? h_clflush : UD;
            default: return UD;
            }
        }
        return (i->reg >= 5 && pfx == P_NONE) ? h_fence : UD;
    case 0xc2:
        *imm8 = true;
        i->imm2 = FO_CMP;
        return fp_by_pfx[pfx];
    case 0xc3:
        return (pfx == P_NONE && mem) ? h_movnti : UD;
    case 0xc4:
        *imm8 = true;
        return pfx == P_NONE ? h_pinsrw_mm : pfx == P_66 ? h_pinsrw_xmm : UD;
    case 0xc5:
        *imm8 = true;
        if (mem) {
            return UD;
        }
        return pfx == P_NONE ? h_pextrw_mm : pfx == P_66 ? h_pextrw_xmm : UD;
    case 0xc6:
        *imm8 = true;
        if (pfx > P_66) {
            return UD;
        }
        i->imm2 = pfx ? VO_SHUFPD : VO_SHUFPS;
        return h_xmm_op;
    case 0xd6:
        switch (pfx) {
        case P_66: return h_movq_xmm_store;
        case P_F3: return mem ? UD : h_movq2dq;
        case P_F2: return mem ? UD : h_movdq2q;
        default: return UD;
        }
    case 0xd7:
        if (mem) {
            return UD;
        }
        return pfx == P_NONE ? h_pmovmskb_mm : pfx == P_66 ? h_pmovmskb_xmm : UD;
    case 0xe6:
        switch (pfx) {
        case P_66: i->imm2 = 1; return h_cvtpd2dq;     /* CVTTPD2DQ */
        case P_F3: return h_cvtdq2pd;
        case P_F2: i->imm2 = 0; return h_cvtpd2dq;
        default: return UD;
        }
    case 0xe7:
        if (!mem) {
            return UD;
        }
        if (pfx == P_NONE) {
            return h_movq_mm_store;                     /* MOVNTQ */
        }
        if (pfx == P_66) {
            i->imm2 = 1;                                /* MOVNTDQ */
            return h_mov128_store;
        }
        return UD;
    case 0xf7:
        if (mem) {
            return UD;
        }
        return pfx == P_NONE ? h_maskmovq : pfx == P_66 ? h_maskmovdqu : UD;
    }
    return UD;
}
