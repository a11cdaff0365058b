/*
 * Control transfer: Jcc, JMP, CALL, RET (near and far), LOOP/LOOPcc/JCXZ,
 * INT n/INT3/INTO/INT1, IRET, and the end-of-block continuation.
 * Reference: Intel SDM vol. 2, JMP, Jcc, CALL, RET, LOOP, JCXZ, INT n, IRET;
 * the far and privileged forms are carried out by seg.c and excp.c.
 */
#include "x86-internal.h"

/* A near transfer: the target must lie within CS (#GP(0) at the branch). */
static inline void check_target(X86CPU *cpu, uint32_t eip)
{
    if (unlikely(eip > cpu->seg[R_CS].limit)) {
        x86_raise(cpu, EXC_GP, 0);
    }
}

#define DEF_JCC(cc)                                                         \
static HANDLER(jcc_##cc)                                                    \
{                                                                           \
    if (x86_cond(cpu, cc)) {                                                \
        check_target(cpu, i->imm);                                          \
        return x86_goto_chain(cpu, i, i->imm);                              \
    }                                                                       \
    return i + 1;                                                           \
}
DEF_JCC(0) DEF_JCC(1) DEF_JCC(2) DEF_JCC(3) DEF_JCC(4) DEF_JCC(5) DEF_JCC(6) DEF_JCC(7)
DEF_JCC(8) DEF_JCC(9) DEF_JCC(10) DEF_JCC(11) DEF_JCC(12) DEF_JCC(13) DEF_JCC(14) DEF_JCC(15)
const X86Handler x86_h_jcc[16] = {
    jcc_0, jcc_1, jcc_2, jcc_3, jcc_4, jcc_5, jcc_6, jcc_7,
    jcc_8, jcc_9, jcc_10, jcc_11, jcc_12, jcc_13, jcc_14, jcc_15,
};

HANDLER(x86_h_jmp)
{
    check_target(cpu, i->imm);
    return x86_goto_chain(cpu, i, i->imm);
}

HANDLER(x86_h_block_end)
{
    return x86_goto_chain(cpu, i, i->eip);
}

static HANDLER(call_rel16)
{
    check_target(cpu, i->imm);
    x86_push16(cpu, next_eip(i));
    return x86_goto_chain(cpu, i, i->imm);
}
static HANDLER(call_rel32)
{
    check_target(cpu, i->imm);
    x86_push32(cpu, next_eip(i));
    return x86_goto_chain(cpu, i, i->imm);
}
const X86Handler x86_h_call_rel[2] = { call_rel16, call_rel32 };

static HANDLER(ret16)
{
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint32_t t = ld16(cpu, R_SS, sp);
    check_target(cpu, t);
    set_sp(cpu, sp + 2);
    return x86_goto(cpu, t);
}
static HANDLER(ret32)
{
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint32_t t = ld32(cpu, R_SS, sp);
    check_target(cpu, t);
    set_sp(cpu, sp + 4);
    return x86_goto(cpu, t);
}
static HANDLER(ret16_imm)
{
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint32_t t = ld16(cpu, R_SS, sp);
    check_target(cpu, t);
    set_sp(cpu, sp + 2 + i->imm);
    return x86_goto(cpu, t);
}
static HANDLER(ret32_imm)
{
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint32_t t = ld32(cpu, R_SS, sp);
    check_target(cpu, t);
    set_sp(cpu, sp + 4 + i->imm);
    return x86_goto(cpu, t);
}
const X86Handler x86_h_ret[2] = { ret16, ret32 };
const X86Handler x86_h_ret_imm[2] = { ret16_imm, ret32_imm };

static HANDLER(jmp_e16_r) { uint32_t t = cpu->r[i->rm].w; check_target(cpu, t); return x86_goto(cpu, t); }
static HANDLER(jmp_e32_r) { uint32_t t = cpu->r[i->rm].d; check_target(cpu, t); return x86_goto(cpu, t); }
static HANDLER(jmp_e16_m) { uint32_t t = ld16(cpu, i->seg, x86_ea(cpu, i)); check_target(cpu, t); return x86_goto(cpu, t); }
static HANDLER(jmp_e32_m) { uint32_t t = ld32(cpu, i->seg, x86_ea(cpu, i)); check_target(cpu, t); return x86_goto(cpu, t); }
const HT2 x86_h_jmp_e = { { jmp_e16_r, jmp_e16_m }, { jmp_e32_r, jmp_e32_m } };

static HANDLER(call_e16_r)
{
    uint32_t t = cpu->r[i->rm].w;
    check_target(cpu, t);
    x86_push16(cpu, next_eip(i));
    return x86_goto(cpu, t);
}
static HANDLER(call_e32_r)
{
    uint32_t t = cpu->r[i->rm].d;
    check_target(cpu, t);
    x86_push32(cpu, next_eip(i));
    return x86_goto(cpu, t);
}
static HANDLER(call_e16_m)
{
    uint32_t t = ld16(cpu, i->seg, x86_ea(cpu, i));
    check_target(cpu, t);
    x86_push16(cpu, next_eip(i));
    return x86_goto(cpu, t);
}
static HANDLER(call_e32_m)
{
    uint32_t t = ld32(cpu, i->seg, x86_ea(cpu, i));
    check_target(cpu, t);
    x86_push32(cpu, next_eip(i));
    return x86_goto(cpu, t);
}
const HT2 x86_h_call_e = { { call_e16_r, call_e16_m }, { call_e32_r, call_e32_m } };

/* LOOPNE, LOOPE, LOOP, JCXZ: the count register follows the address size. */
static inline uint32_t dec_count(X86CPU *cpu, const X86Insn *i)
{
    if (i->amask == 0xffff) {
        return --cpu->r[R_ECX].w;
    }
    return --cpu->r[R_ECX].d;
}

static HANDLER(loopne)
{
    uint32_t c = dec_count(cpu, i);
    if (c != 0 && !x86_cond(cpu, 4)) {
        check_target(cpu, i->imm);
        return x86_goto_chain(cpu, i, i->imm);
    }
    return i + 1;
}
static HANDLER(loope)
{
    uint32_t c = dec_count(cpu, i);
    if (c != 0 && x86_cond(cpu, 4)) {
        check_target(cpu, i->imm);
        return x86_goto_chain(cpu, i, i->imm);
    }
    return i + 1;
}
static HANDLER(loop)
{
    if (dec_count(cpu, i) != 0) {
        check_target(cpu, i->imm);
        return x86_goto_chain(cpu, i, i->imm);
    }
    return i + 1;
}
static HANDLER(jcxz)
{
    if ((cpu->r[R_ECX].d & i->amask) == 0) {
        check_target(cpu, i->imm);
        return x86_goto_chain(cpu, i, i->imm);
    }
    return i + 1;
}
const X86Handler x86_h_loop[4] = { loopne, loope, loop, jcxz };

/* --- far transfers -------------------------------------------------------------- */

HANDLER(x86_h_jmpf_ptr)
{
    x86_far_jmp(cpu, i->imm2, i->imm, next_eip(i), !(i->flags & IF_OP16));
    return NULL;
}

HANDLER(x86_h_callf_ptr)
{
    x86_far_call(cpu, i->imm2, i->imm, next_eip(i), !(i->flags & IF_OP16));
    return NULL;
}

static HANDLER(jmpf_e16)
{
    uint32_t ea = x86_ea(cpu, i);
    uint32_t off = ld16(cpu, i->seg, ea);
    uint16_t sel = ld16(cpu, i->seg, (ea + 2) & i->amask);
    x86_far_jmp(cpu, sel, off, next_eip(i), false);
    return NULL;
}
static HANDLER(jmpf_e32)
{
    uint32_t ea = x86_ea(cpu, i);
    uint32_t off = ld32(cpu, i->seg, ea);
    uint16_t sel = ld16(cpu, i->seg, (ea + 4) & i->amask);
    x86_far_jmp(cpu, sel, off, next_eip(i), true);
    return NULL;
}
static HANDLER(callf_e16)
{
    uint32_t ea = x86_ea(cpu, i);
    uint32_t off = ld16(cpu, i->seg, ea);
    uint16_t sel = ld16(cpu, i->seg, (ea + 2) & i->amask);
    x86_far_call(cpu, sel, off, next_eip(i), false);
    return NULL;
}
static HANDLER(callf_e32)
{
    uint32_t ea = x86_ea(cpu, i);
    uint32_t off = ld32(cpu, i->seg, ea);
    uint16_t sel = ld16(cpu, i->seg, (ea + 4) & i->amask);
    x86_far_call(cpu, sel, off, next_eip(i), true);
    return NULL;
}
const X86Handler x86_h_jmpf_e[2] = { jmpf_e16, jmpf_e32 };
const X86Handler x86_h_callf_e[2] = { callf_e16, callf_e32 };

static HANDLER(retf16) { x86_far_ret(cpu, false, i->imm); return NULL; }
static HANDLER(retf32) { x86_far_ret(cpu, true, i->imm); return NULL; }
const X86Handler x86_h_retf[2] = { retf16, retf32 };

/* IRET ends the blocking of NMIs (SDM vol. 3, 6.7.1); a pending one is
 * then taken (cpu.c). */
static void iret_unblock_nmi(X86CPU *cpu)
{
    if (unlikely(cpu->nmi_blocked)) {
        cpu->nmi_blocked = false;
        if (cpu->nmi_pending) {
            x86_cpu_kick(cpu);
        }
    }
}
static HANDLER(iret16) { x86_iret(cpu, false); iret_unblock_nmi(cpu); return NULL; }
static HANDLER(iret32) { x86_iret(cpu, true); iret_unblock_nmi(cpu); return NULL; }
const X86Handler x86_h_iret[2] = { iret16, iret32 };

/* --- software interrupts ------------------------------------------------------------ */

HANDLER(x86_h_int)
{
    /* V86 mode: INT n is IOPL-sensitive (no VME). */
    if ((cpu->eflags & FL_VM) && ((cpu->eflags & FL_IOPL) >> 12) < 3) {
        x86_raise(cpu, EXC_GP, 0);
    }
    x86_deliver(cpu, i->imm & 0xff, -1, true, next_eip(i), true);
    return NULL;
}

HANDLER(x86_h_int3)
{
    x86_deliver(cpu, EXC_BP, -1, true, next_eip(i), true);
    return NULL;
}

HANDLER(x86_h_into)
{
    if (x86_cond(cpu, 0)) {
        x86_deliver(cpu, EXC_OF, -1, true, next_eip(i), true);
        return NULL;
    }
    return x86_goto(cpu, next_eip(i));
}

HANDLER(x86_h_icebp)
{
    /* INT1 is delivered like a hardware #DB trap (no DPL check, DR6 as it
     * is); entering the #DB handler clears DR7.GD. */
    cpu->dr[7] &= ~DR7_GD;
    x86_deliver(cpu, EXC_DB, -1, false, next_eip(i), false);
    return NULL;
}
