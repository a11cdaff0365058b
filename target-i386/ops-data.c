/*
 * Data movement: MOV forms, XCHG, MOVZX/MOVSX, LEA, SETcc, the stack
 * (PUSH, POP, PUSHA, POPA, PUSHF, POPF, ENTER, LEAVE), segment register
 * loads (MOV Sreg, LDS/LES/LSS/LFS/LGS), string instructions, and the small
 * ones (CBW, CWD, XLAT, BSWAP, CMPXCHG8B, BOUND).
 * Reference: Intel SDM vol. 2, each instruction's Operation section.
 */
#include "x86-internal.h"

/* Update an index/count register under the address-size mask. */
static inline void str_set(X86CPU *cpu, int r, uint32_t v, uint32_t am)
{
    if (am == 0xffff) {
        cpu->r[r].w = v;
    } else {
        cpu->r[r].d = v;
    }
}

#define BITS 8
#include "ops-data-tmpl.h"
#undef BITS
#define BITS 16
#include "ops-data-tmpl.h"
#undef BITS
#define BITS 32
#include "ops-data-tmpl.h"
#undef BITS

#define ROW3(n) { { n##_8_r, n##_8_m }, { n##_16_r, n##_16_m }, { n##_32_r, n##_32_m } }
#define LIST3(n) { n##_8, n##_16, n##_32 }

const HT3 x86_h_mov_eg = ROW3(mov_eg);
const HT3 x86_h_mov_ge = ROW3(mov_ge);
const HT3 x86_h_mov_ei = ROW3(mov_ei);
const HT3 x86_h_xchg = ROW3(xchg);
const X86Handler x86_h_mov_moffs_load[3] = LIST3(mov_moffs_load);
const X86Handler x86_h_mov_moffs_store[3] = LIST3(mov_moffs_store);
const X86Handler x86_h_movs[3] = LIST3(movs);
const X86Handler x86_h_cmps[3] = LIST3(cmps);
const X86Handler x86_h_stos[3] = LIST3(stos);
const X86Handler x86_h_lods[3] = LIST3(lods);
const X86Handler x86_h_scas[3] = LIST3(scas);
const X86Handler x86_h_ins[3] = LIST3(ins);
const X86Handler x86_h_outs[3] = LIST3(outs);

/* --- MOVZX, MOVSX, LEA, SETcc ---------------------------------------------- */

static HANDLER(movzx8_16_r) { cpu->r[i->reg].w = *reg8p(cpu, i->rm); return i + 1; }
static HANDLER(movzx8_16_m) { cpu->r[i->reg].w = ld8(cpu, i->seg, x86_ea(cpu, i)); return i + 1; }
static HANDLER(movzx8_32_r) { cpu->r[i->reg].d = *reg8p(cpu, i->rm); return i + 1; }
static NOINLINE HANDLER(movzx8_32_ms) { cpu->r[i->reg].d = ld8(cpu, i->seg, x86_ea(cpu, i)); return i + 1; }
static HANDLER(movzx8_32_m)
{
    uint32_t ea = x86_ea(cpu, i), lin;
    void *p;
    FAST_LIN(cpu, i->seg, ea, lin, r, slow);
    FAST_PTR(cpu, lin, 1, p, tag_r, slow);
    cpu->r[i->reg].d = *(uint8_t *)p;
    return i + 1;
slow:
    return movzx8_32_ms(cpu, i);
}
static HANDLER(movsx8_16_r) { cpu->r[i->reg].w = (int8_t)*reg8p(cpu, i->rm); return i + 1; }
static HANDLER(movsx8_16_m) { cpu->r[i->reg].w = (int8_t)ld8(cpu, i->seg, x86_ea(cpu, i)); return i + 1; }
static HANDLER(movsx8_32_r) { cpu->r[i->reg].d = (int8_t)*reg8p(cpu, i->rm); return i + 1; }
static HANDLER(movsx8_32_m) { cpu->r[i->reg].d = (int8_t)ld8(cpu, i->seg, x86_ea(cpu, i)); return i + 1; }
static HANDLER(movzx16_r) { cpu->r[i->reg].d = cpu->r[i->rm].w; return i + 1; }
static NOINLINE HANDLER(movzx16_ms) { cpu->r[i->reg].d = ld16(cpu, i->seg, x86_ea(cpu, i)); return i + 1; }
static HANDLER(movzx16_m)
{
    uint32_t ea = x86_ea(cpu, i), lin;
    void *p;
    FAST_LIN(cpu, i->seg, ea, lin, r, slow);
    FAST_PTR(cpu, lin, 2, p, tag_r, slow);
    cpu->r[i->reg].d = ld16u(p);
    return i + 1;
slow:
    return movzx16_ms(cpu, i);
}
static HANDLER(movsx16_r) { cpu->r[i->reg].d = (int16_t)cpu->r[i->rm].w; return i + 1; }
static HANDLER(movsx16_m) { cpu->r[i->reg].d = (int16_t)ld16(cpu, i->seg, x86_ea(cpu, i)); return i + 1; }

const HT2 x86_h_movzx8 = { { movzx8_16_r, movzx8_16_m }, { movzx8_32_r, movzx8_32_m } };
const HT2 x86_h_movsx8 = { { movsx8_16_r, movsx8_16_m }, { movsx8_32_r, movsx8_32_m } };
const X86Handler x86_h_movzx16[2] = { movzx16_r, movzx16_m };
const X86Handler x86_h_movsx16[2] = { movsx16_r, movsx16_m };

static HANDLER(lea16) { cpu->r[i->reg].w = x86_ea(cpu, i); return i + 1; }
static HANDLER(lea32) { cpu->r[i->reg].d = x86_ea(cpu, i); return i + 1; }
const X86Handler x86_h_lea[2] = { lea16, lea32 };

static HANDLER(setcc_r) { *reg8p(cpu, i->rm) = x86_cond(cpu, i->imm); return i + 1; }
static HANDLER(setcc_m) { st8(cpu, i->seg, x86_ea(cpu, i), x86_cond(cpu, i->imm)); return i + 1; }
const X86Handler x86_h_setcc[2] = { setcc_r, setcc_m };

HANDLER(x86_h_nop)
{
    return i + 1;
}

/* --- stack -------------------------------------------------------------------- */

void x86_push32(X86CPU *cpu, uint32_t v)
{
    uint32_t sp = (cpu->r[R_ESP].d - 4) & sp_mask(cpu);
    st32(cpu, R_SS, sp, v);
    set_sp(cpu, sp);
}

void x86_push16(X86CPU *cpu, uint32_t v)
{
    uint32_t sp = (cpu->r[R_ESP].d - 2) & sp_mask(cpu);
    st16(cpu, R_SS, sp, v);
    set_sp(cpu, sp);
}

uint32_t x86_pop32(X86CPU *cpu)
{
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint32_t v = ld32(cpu, R_SS, sp);
    set_sp(cpu, sp + 4);
    return v;
}

uint32_t x86_pop16(X86CPU *cpu)
{
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint32_t v = ld16(cpu, R_SS, sp);
    set_sp(cpu, sp + 2);
    return v;
}

static HANDLER(push_r16) { x86_push16(cpu, cpu->r[i->reg].w); return i + 1; }
static NOINLINE HANDLER(push_r32_slow) { x86_push32(cpu, cpu->r[i->reg].d); return i + 1; }
static HANDLER(push_r32)
{
    if (likely(cpu->mode & BM_STACK32)) {
        uint32_t sp = cpu->r[R_ESP].d - 4, lin;
        void *p;
        FAST_LIN(cpu, R_SS, sp, lin, w, slow);
        FAST_PTR(cpu, lin, 4, p, tag_w, slow);
        st32u(p, cpu->r[i->reg].d);
        cpu->r[R_ESP].d = sp;
        return i + 1;
    }
slow:
    return push_r32_slow(cpu, i);
}
static HANDLER(pop_r16)
{
    uint16_t v = x86_pop16(cpu);
    cpu->r[i->reg].w = v;
    return i + 1;
}
static NOINLINE HANDLER(pop_r32_slow)
{
    uint32_t v = x86_pop32(cpu);
    cpu->r[i->reg].d = v;
    return i + 1;
}
static HANDLER(pop_r32)
{
    if (likely(cpu->mode & BM_STACK32)) {
        uint32_t sp = cpu->r[R_ESP].d, lin;
        void *p;
        FAST_LIN(cpu, R_SS, sp, lin, r, slow);
        FAST_PTR(cpu, lin, 4, p, tag_r, slow);
        cpu->r[R_ESP].d = sp + 4;
        cpu->r[i->reg].d = ld32u(p);
        return i + 1;
    }
slow:
    return pop_r32_slow(cpu, i);
}
static HANDLER(push_i16) { x86_push16(cpu, i->imm); return i + 1; }
static HANDLER(push_i32) { x86_push32(cpu, i->imm); return i + 1; }
static HANDLER(push_e16) { x86_push16(cpu, ld16(cpu, i->seg, x86_ea(cpu, i))); return i + 1; }
static HANDLER(push_e32) { x86_push32(cpu, ld32(cpu, i->seg, x86_ea(cpu, i))); return i + 1; }

/* POP to memory: the address is computed with ESP already incremented,
 * and ESP changes only once the store succeeded. */
static HANDLER(pop_e16_m)
{
    uint32_t old = cpu->r[R_ESP].d, sp = old & sp_mask(cpu);
    uint32_t v = ld16(cpu, R_SS, sp);
    set_sp(cpu, sp + 2);
    uint32_t ea = x86_ea(cpu, i), nsp = cpu->r[R_ESP].d;
    cpu->r[R_ESP].d = old;
    st16(cpu, i->seg, ea, v);
    cpu->r[R_ESP].d = nsp;
    return i + 1;
}
static HANDLER(pop_e32_m)
{
    uint32_t old = cpu->r[R_ESP].d, sp = old & sp_mask(cpu);
    uint32_t v = ld32(cpu, R_SS, sp);
    set_sp(cpu, sp + 4);
    uint32_t ea = x86_ea(cpu, i), nsp = cpu->r[R_ESP].d;
    cpu->r[R_ESP].d = old;
    st32(cpu, i->seg, ea, v);
    cpu->r[R_ESP].d = nsp;
    return i + 1;
}
static HANDLER(pop_e16_r) { uint16_t v = x86_pop16(cpu); cpu->r[i->rm].w = v; return i + 1; }
static HANDLER(pop_e32_r) { uint32_t v = x86_pop32(cpu); cpu->r[i->rm].d = v; return i + 1; }

const X86Handler x86_h_push_r[2] = { push_r16, push_r32 };
const X86Handler x86_h_pop_r[2] = { pop_r16, pop_r32 };
const X86Handler x86_h_push_i[2] = { push_i16, push_i32 };
const X86Handler x86_h_push_e[2] = { push_e16, push_e32 };
const X86Handler x86_h_pop_e[2][2] = { { pop_e16_r, pop_e16_m }, { pop_e32_r, pop_e32_m } };

/* PUSH Sreg: a 32-bit push writes the selector in the low 16 bits. */
static HANDLER(push_seg16) { x86_push16(cpu, cpu->seg[i->reg].sel); return i + 1; }
static HANDLER(push_seg32)
{
    uint32_t sp = (cpu->r[R_ESP].d - 4) & sp_mask(cpu);
    st16(cpu, R_SS, sp, cpu->seg[i->reg].sel);
    set_sp(cpu, sp);
    return i + 1;
}

/* MOV SS and POP SS hold interrupts and debug traps until the next
 * instruction has run (SDM vol. 3, 6.8.3). */
static void load_sreg(X86CPU *cpu, int s, uint16_t sel)
{
    x86_seg_load(cpu, s, sel);
    if (s == R_SS) {
        cpu->irq_shadow = true;
        cpu->movss_shadow = true;
    }
}

static HANDLER(pop_seg16)
{
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint16_t sel = ld16(cpu, R_SS, sp);
    load_sreg(cpu, i->reg, sel);
    set_sp(cpu, sp + 2);
    return i + 1;
}
static HANDLER(pop_seg32)
{
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint16_t sel = ld32(cpu, R_SS, sp);
    load_sreg(cpu, i->reg, sel);
    set_sp(cpu, sp + 4);
    return i + 1;
}
const X86Handler x86_h_push_seg[2] = { push_seg16, push_seg32 };
const X86Handler x86_h_pop_seg[2] = { pop_seg16, pop_seg32 };

static HANDLER(mov_sreg_load_r) { load_sreg(cpu, i->reg, cpu->r[i->rm].w); return i + 1; }
static HANDLER(mov_sreg_load_m)
{
    load_sreg(cpu, i->reg, ld16(cpu, i->seg, x86_ea(cpu, i)));
    return i + 1;
}
const X86Handler x86_h_mov_sreg_load[2] = { mov_sreg_load_r, mov_sreg_load_m };

static HANDLER(mov_sreg_store16)
{
    if (i->flags & IF_MEM) {
        st16(cpu, i->seg, x86_ea(cpu, i), cpu->seg[i->reg].sel);
    } else {
        cpu->r[i->rm].w = cpu->seg[i->reg].sel;
    }
    return i + 1;
}
static HANDLER(mov_sreg_store32)
{
    cpu->r[i->rm].d = cpu->seg[i->reg].sel;
    return i + 1;
}
const X86Handler x86_h_mov_sreg_store[2] = { mov_sreg_store16, mov_sreg_store32 };

/* LDS, LES, LSS, LFS, LGS: offset then selector; imm2 names the segment. */
static HANDLER(lxs16)
{
    uint32_t ea = x86_ea(cpu, i);
    uint16_t off = ld16(cpu, i->seg, ea);
    uint16_t sel = ld16(cpu, i->seg, (ea + 2) & i->amask);
    x86_seg_load(cpu, i->imm2, sel);        /* LSS makes no shadow */
    cpu->r[i->reg].w = off;
    return i + 1;
}
static HANDLER(lxs32)
{
    uint32_t ea = x86_ea(cpu, i);
    uint32_t off = ld32(cpu, i->seg, ea);
    uint16_t sel = ld16(cpu, i->seg, (ea + 4) & i->amask);
    x86_seg_load(cpu, i->imm2, sel);
    cpu->r[i->reg].d = off;
    return i + 1;
}
const X86Handler x86_h_lxs[2] = { lxs16, lxs32 };

static HANDLER(pusha16)
{
    uint32_t m = sp_mask(cpu), sp = cpu->r[R_ESP].d;
    for (int r = R_EAX; r <= R_EDI; r++) {
        sp = (sp - 2) & m;
        st16(cpu, R_SS, sp, cpu->r[r].w);
    }
    set_sp(cpu, sp);
    return i + 1;
}
static HANDLER(pusha32)
{
    uint32_t m = sp_mask(cpu), sp = cpu->r[R_ESP].d;
    for (int r = R_EAX; r <= R_EDI; r++) {
        sp = (sp - 4) & m;
        st32(cpu, R_SS, sp, cpu->r[r].d);
    }
    set_sp(cpu, sp);
    return i + 1;
}
static HANDLER(popa16)
{
    uint32_t m = sp_mask(cpu), sp = cpu->r[R_ESP].d & m;
    uint16_t v[8];
    for (int r = R_EDI; r >= R_EAX; r--) {
        v[r] = ld16(cpu, R_SS, sp);
        sp = (sp + 2) & m;
    }
    for (int r = R_EAX; r <= R_EDI; r++) {
        if (r != R_ESP) {
            cpu->r[r].w = v[r];
        }
    }
    set_sp(cpu, sp);
    return i + 1;
}
static HANDLER(popa32)
{
    uint32_t m = sp_mask(cpu), sp = cpu->r[R_ESP].d & m;
    uint32_t v[8];
    for (int r = R_EDI; r >= R_EAX; r--) {
        v[r] = ld32(cpu, R_SS, sp);
        sp = (sp + 4) & m;
    }
    for (int r = R_EAX; r <= R_EDI; r++) {
        if (r != R_ESP) {
            cpu->r[r].d = v[r];
        }
    }
    set_sp(cpu, sp);
    return i + 1;
}
const X86Handler x86_h_pusha[2] = { pusha16, pusha32 };
const X86Handler x86_h_popa[2] = { popa16, popa32 };

/* PUSHF/POPF: Intel SDM vol. 2, PUSHF and POPF; V86 mode with IOPL < 3
 * faults (no VME). */
static void check_v86_iopl(X86CPU *cpu)
{
    if ((cpu->eflags & FL_VM) && ((cpu->eflags & FL_IOPL) >> 12) < 3) {
        x86_raise(cpu, EXC_GP, 0);
    }
}

static HANDLER(pushf16)
{
    check_v86_iopl(cpu);
    x86_push16(cpu, x86_get_eflags(cpu));
    return i + 1;
}
static HANDLER(pushf32)
{
    check_v86_iopl(cpu);
    x86_push32(cpu, x86_get_eflags(cpu) & ~(FL_VM | FL_RF));
    return i + 1;
}

static uint32_t popf_mask(X86CPU *cpu)
{
    uint32_t iopl = (cpu->eflags & FL_IOPL) >> 12;
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID;
    if (cpu->eflags & FL_VM) {
        return mask | FL_IF;            /* IOPL is 3 here (checked) */
    }
    if (cpu->cpl <= iopl) {
        mask |= FL_IF;
    }
    if (cpu->cpl == 0) {
        mask |= FL_IOPL;
    }
    return mask;
}

static HANDLER(popf16)
{
    check_v86_iopl(cpu);
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint32_t v = ld16(cpu, R_SS, sp);
    x86_set_eflags(cpu, v, popf_mask(cpu) & 0xffff);
    set_sp(cpu, sp + 2);
    cpu->eflags &= ~FL_RF;
    return x86_goto(cpu, next_eip(i));
}
static HANDLER(popf32)
{
    check_v86_iopl(cpu);
    uint32_t sp = cpu->r[R_ESP].d & sp_mask(cpu);
    uint32_t v = ld32(cpu, R_SS, sp);
    x86_set_eflags(cpu, v, popf_mask(cpu));
    set_sp(cpu, sp + 4);
    cpu->eflags &= ~FL_RF;
    return x86_goto(cpu, next_eip(i));
}
const X86Handler x86_h_pushf[2] = { pushf16, pushf32 };
const X86Handler x86_h_popf[2] = { popf16, popf32 };

/* ENTER: Intel SDM vol. 2, ENTER (nesting level mod 32, frame pointer
 * width by the stack-size attribute). */
static void do_enter(X86CPU *cpu, X86Insn *i, bool op32)
{
    uint32_t m = sp_mask(cpu), size = op32 ? 4 : 2;
    uint32_t level = i->imm2 & 31, sp = cpu->r[R_ESP].d, bp = cpu->r[R_EBP].d;

    sp = (sp - size) & m;
    if (op32) {
        st32(cpu, R_SS, sp, bp);
    } else {
        st16(cpu, R_SS, sp, bp);
    }
    uint32_t frame = sp;
    if (level > 0) {
        for (uint32_t k = 1; k < level; k++) {
            bp = (bp - size) & m;
            sp = (sp - size) & m;
            if (op32) {
                st32(cpu, R_SS, sp, ld32(cpu, R_SS, bp));
            } else {
                st16(cpu, R_SS, sp, ld16(cpu, R_SS, bp));
            }
        }
        sp = (sp - size) & m;
        if (op32) {
            st32(cpu, R_SS, sp, frame);
        } else {
            st16(cpu, R_SS, sp, frame);
        }
    }
    sp = (sp - i->imm) & m;
    /* The final stack pointer must be writable (SDM: #SS if it would
     * exceed the limit). */
    (void)seg_w(cpu, R_SS, sp, 1);
    if (op32) {
        cpu->r[R_EBP].d = frame;
    } else {
        cpu->r[R_EBP].w = frame;
    }
    set_sp(cpu, sp);
}
static HANDLER(enter16) { do_enter(cpu, i, false); return i + 1; }
static HANDLER(enter32) { do_enter(cpu, i, true); return i + 1; }
const X86Handler x86_h_enter[2] = { enter16, enter32 };

static HANDLER(leave16)
{
    uint32_t sp = cpu->r[R_EBP].d & sp_mask(cpu);
    uint16_t v = ld16(cpu, R_SS, sp);
    set_sp(cpu, sp + 2);
    cpu->r[R_EBP].w = v;
    return i + 1;
}
static HANDLER(leave32)
{
    uint32_t sp = cpu->r[R_EBP].d & sp_mask(cpu);
    uint32_t v = ld32(cpu, R_SS, sp);
    set_sp(cpu, sp + 4);
    cpu->r[R_EBP].d = v;
    return i + 1;
}
const X86Handler x86_h_leave[2] = { leave16, leave32 };

/* --- small ones ------------------------------------------------------------------ */

HANDLER(x86_h_cbw) { cpu->r[R_EAX].w = (int8_t)cpu->r[R_EAX].b[0]; return i + 1; }
HANDLER(x86_h_cwde) { cpu->r[R_EAX].d = (int16_t)cpu->r[R_EAX].w; return i + 1; }
HANDLER(x86_h_cwd) { cpu->r[R_EDX].w = (cpu->r[R_EAX].w & 0x8000) ? 0xffff : 0; return i + 1; }
HANDLER(x86_h_cdq) { cpu->r[R_EDX].d = (cpu->r[R_EAX].d & 0x80000000u) ? 0xffffffffu : 0; return i + 1; }

HANDLER(x86_h_xlat)
{
    uint32_t ea = (cpu->r[R_EBX].d + cpu->r[R_EAX].b[0]) & i->amask;
    cpu->r[R_EAX].b[0] = ld8(cpu, i->seg, ea);
    return i + 1;
}

HANDLER(x86_h_bswap)
{
    cpu->r[i->rm].d = __builtin_bswap32(cpu->r[i->rm].d);
    return i + 1;
}

HANDLER(x86_h_cmpxchg8b)
{
    uint32_t lin = seg_w(cpu, i->seg, x86_ea(cpu, i), 8);
    x86_align_check(cpu, lin, 8);
    x86_probe_write(cpu, lin, 8, cpu->mmu_idx);
    uint64_t m = x86_ld64_lin(cpu, lin, cpu->mmu_idx);
    uint64_t a = ((uint64_t)cpu->r[R_EDX].d << 32) | cpu->r[R_EAX].d;
    x86_flags_materialize(cpu);
    if (m == a) {
        uint64_t n = ((uint64_t)cpu->r[R_ECX].d << 32) | cpu->r[R_EBX].d;
        x86_st64_lin(cpu, lin, n, cpu->mmu_idx);
        cpu->eflags |= FL_ZF;
    } else {
        x86_st64_lin(cpu, lin, m, cpu->mmu_idx);
        cpu->r[R_EAX].d = (uint32_t)m;
        cpu->r[R_EDX].d = (uint32_t)(m >> 32);
        cpu->eflags &= ~FL_ZF;
    }
    return i + 1;
}

HANDLER(x86_h_bound16)
{
    uint32_t ea = x86_ea(cpu, i);
    int16_t lo = ld16(cpu, i->seg, ea), hi = ld16(cpu, i->seg, (ea + 2) & i->amask);
    int16_t v = cpu->r[i->reg].w;
    if (v < lo || v > hi) {
        x86_raise0(cpu, EXC_BR);
    }
    return i + 1;
}

HANDLER(x86_h_bound32)
{
    uint32_t ea = x86_ea(cpu, i);
    int32_t lo = ld32(cpu, i->seg, ea), hi = ld32(cpu, i->seg, (ea + 4) & i->amask);
    int32_t v = cpu->r[i->reg].d;
    if (v < lo || v > hi) {
        x86_raise0(cpu, EXC_BR);
    }
    return i + 1;
}
