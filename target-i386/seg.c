/*
 * Segmentation: segment register loads with their protection checks,
 * descriptor tables, LDTR/TR loads, and the far transfers (JMP/CALL far,
 * call gates with stack switch, RET far, IRET).
 * Reference: Intel SDM vol. 3, chapter 3 (3.4 segment selectors and
 * descriptors, 3.5 system descriptor types), chapter 5 (5.5-5.8 privilege
 * checks, call gates, stack switching, returns), chapter 7 (7.2 TSS);
 * vol. 2 for MOV/POP Sreg, JMP, CALL, RET and IRET pseudo-code.
 * Task switches through task gates and TSS descriptors are not implemented
 * yet: they raise #GP with the selector (see README.md).
 */
#include "x86-internal.h"

uint32_t x86_desc_base(uint32_t lo, uint32_t hi)
{
    return (lo >> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000u);
}

uint32_t x86_desc_limit(uint32_t hi, uint32_t lo)
{
    uint32_t limit = (lo & 0xffff) | (hi & 0xf0000);
    if (hi & (1u << 23)) {
        limit = (limit << 12) | 0xfff;
    }
    return limit;
}

uint16_t x86_desc_attr(uint32_t hi)
{
    return ((hi >> 8) & 0xff) | ((hi >> 12) & 0xf00);
}

static inline bool real_like(X86CPU *cpu)
{
    return !(cpu->cr0 & CR0_PE) || (cpu->eflags & FL_VM);
}

static uint32_t span4(uint32_t lo, uint32_t hi)
{
    return (lo <= hi && hi - lo >= 3) ? hi - lo - 2 : 0;
}

static void seg_spans(X86Seg *sg)
{
    sg->rspan4 = span4(sg->rlo, sg->rhi);
    sg->wspan4 = span4(sg->wlo, sg->whi);
}

uint32_t x86_seg_check_slow(X86CPU *cpu, int s, uint32_t ea, unsigned size, bool write)
{
    X86Seg *sg = &cpu->seg[s];
    uint32_t lo = write ? sg->wlo : sg->rlo, hi = write ? sg->whi : sg->rhi;
    if (ea < lo || (uint64_t)ea + (size - 1) > hi || lo > hi) {
        x86_raise_seg(cpu, s);
    }
    return sg->base + ea;
}

void x86_seg_update_ranges(X86Seg *sg)
{
    x86_seg_update_ranges_only(sg);
    seg_spans(sg);
}

void x86_seg_update_ranges_only(X86Seg *sg)
{
    uint16_t a = sg->attr;
    sg->rlo = sg->wlo = 1;
    sg->rhi = sg->whi = 0;
    if ((a & SA_UNUSABLE) || !(a & SA_S) || !(a & SA_P)) {
        return;
    }
    if (a & ST_CODE) {
        if (a & ST_READ) {
            sg->rlo = 0;
            sg->rhi = sg->limit;
        }
        return;
    }
    uint32_t lo = 0, hi = sg->limit;
    if (a & ST_EXPDOWN) {
        if (sg->limit == 0xffffffffu) {
            return;
        }
        lo = sg->limit + 1;
        hi = (a & SA_DB) ? 0xffffffffu : 0xffffu;
        if (lo > hi) {
            return;
        }
    }
    sg->rlo = lo;
    sg->rhi = hi;
    if (a & ST_WRITE) {
        sg->wlo = lo;
        sg->whi = hi;
    }
}

/* Real and V86 mode: no protection, only the limit. */
static void seg_ranges_real(X86Seg *sg)
{
    sg->rlo = sg->wlo = 0;
    sg->rhi = sg->whi = sg->limit;
    seg_spans(sg);
}

static void seg_ranges(X86CPU *cpu, int s)
{
    X86Seg *sg = &cpu->seg[s];
    if (real_like(cpu) && s < R_LDTR) {
        seg_ranges_real(sg);
    } else {
        x86_seg_update_ranges(sg);
    }
    uint8_t bit = 1u << s;
    bool base0 = sg->base == 0 && s < R_LDTR;
    cpu->seg_flat_r = (cpu->seg_flat_r & ~bit) |
                      (base0 && sg->rlo == 0 && sg->rhi == 0xffffffffu ? bit : 0);
    cpu->seg_flat_w = (cpu->seg_flat_w & ~bit) |
                      (base0 && sg->wlo == 0 && sg->whi == 0xffffffffu ? bit : 0);
}

void x86_update_mode(X86CPU *cpu)
{
    uint32_t m = 0;
    if (!(cpu->cr0 & CR0_PE)) {
        cpu->cpl = 0;
    } else if (cpu->eflags & FL_VM) {
        cpu->cpl = 3;
        m |= BM_VM86;
    }
    if (cpu->cr0 & CR0_PE) {
        m |= BM_PROT;
    }
    if (cpu->seg[R_CS].attr & SA_DB) {
        m |= BM_CODE32;
    }
    if (cpu->seg[R_SS].attr & SA_DB) {
        m |= BM_STACK32;
    }
    if (cpu->single_step || (cpu->eflags & FL_TF)) {
        m |= BM_SINGLE;
    }
    cpu->mode = m;
    cpu->tf_step = (cpu->eflags & FL_TF) != 0;
    cpu->rep_limit = x86_rep_limit(cpu);
    cpu->mmu_idx = cpu->cpl == 3;
    x86_update_mem_checks(cpu);
    for (int s = 0; s < R_LDTR; s++) {
        seg_ranges(cpu, s);
    }
}

void x86_set_cpl(X86CPU *cpu, int cpl)
{
    cpu->cpl = cpl;
    cpu->mmu_idx = cpl == 3;
    x86_update_mem_checks(cpu);
}

void x86_seg_load_cache(X86CPU *cpu, int s, uint16_t sel, uint32_t base,
                        uint32_t limit, uint16_t attr)
{
    X86Seg *sg = &cpu->seg[s];
    sg->sel = sel;
    sg->base = base;
    sg->limit = limit;
    sg->attr = attr;
    seg_ranges(cpu, s);
    if (s == R_CS || s == R_SS) {
        x86_update_mode(cpu);
    }
}

void x86_seg_set_real(X86CPU *cpu, int s, uint16_t sel)
{
    X86Seg *sg = &cpu->seg[s];
    if (cpu->eflags & FL_VM) {
        x86_seg_load_cache(cpu, s, sel, (uint32_t)sel << 4, 0xffff,
                           SA_P | SA_S | (3 << SA_DPL_SHIFT) | 0x3 |
                           (s == R_CS ? ST_CODE | ST_READ : 0));
        return;
    }
    /* Real mode keeps the cached limit and attributes ("unreal" mode). */
    x86_seg_load_cache(cpu, s, sel, (uint32_t)sel << 4, sg->limit,
                       (sg->attr & ~SA_UNUSABLE) | SA_P | SA_S);
}

int x86_desc_fetch(X86CPU *cpu, uint16_t sel, uint32_t *lo, uint32_t *hi)
{
    uint32_t base, limit;
    if (sel & 4) {
        X86Seg *ldt = &cpu->seg[R_LDTR];
        if (ldt->attr & SA_UNUSABLE) {
            return -1;
        }
        base = ldt->base;
        limit = ldt->limit;
    } else {
        base = cpu->gdt_base;
        limit = cpu->gdt_limit;
    }
    uint32_t idx = sel & ~7u;
    if (idx + 7 > limit) {
        return -1;
    }
    *lo = x86_sys_ld32(cpu, base + idx);
    *hi = x86_sys_ld32(cpu, base + idx + 4);
    return 0;
}

void x86_desc_set_accessed(X86CPU *cpu, uint16_t sel, uint32_t hi)
{
    if (hi & (1u << 8)) {
        return;
    }
    uint32_t base = (sel & 4) ? cpu->seg[R_LDTR].base : cpu->gdt_base;
    x86_sys_st32(cpu, base + (sel & ~7u) + 4, hi | (1u << 8));
}

static void NORETURN gp(X86CPU *cpu, uint32_t err)
{
    x86_raise(cpu, EXC_GP, err & 0xfffc);
}

void x86_seg_load(X86CPU *cpu, int s, uint16_t sel)
{
    uint32_t lo, hi;

    if (real_like(cpu)) {
        x86_seg_set_real(cpu, s, sel);
        return;
    }
    int rpl = sel & 3, cpl = cpu->cpl;
    if ((sel & ~3u) == 0) {
        if (s == R_SS) {
            gp(cpu, 0);
        }
        x86_seg_load_cache(cpu, s, sel, 0, 0, SA_UNUSABLE);
        return;
    }
    if (x86_desc_fetch(cpu, sel, &lo, &hi) < 0) {
        gp(cpu, sel);
    }
    uint16_t attr = x86_desc_attr(hi);
    int dpl = (attr & SA_DPL) >> SA_DPL_SHIFT;
    if (!(attr & SA_S)) {
        gp(cpu, sel);
    }
    if (s == R_SS) {
        if (rpl != cpl || dpl != cpl || (attr & ST_CODE) || !(attr & ST_WRITE)) {
            gp(cpu, sel);
        }
        if (!(attr & SA_P)) {
            x86_raise(cpu, EXC_SS, sel & 0xfffc);
        }
    } else {
        if ((attr & ST_CODE) && !(attr & ST_READ)) {
            gp(cpu, sel);
        }
        if (!(attr & ST_CODE) || !(attr & ST_CONFORM)) {
            if (rpl > dpl || cpl > dpl) {
                gp(cpu, sel);
            }
        }
        if (!(attr & SA_P)) {
            x86_raise(cpu, EXC_NP, sel & 0xfffc);
        }
    }
    x86_desc_set_accessed(cpu, sel, hi);
    x86_seg_load_cache(cpu, s, sel, x86_desc_base(lo, hi), x86_desc_limit(hi, lo),
                       attr | SA_ACCESSED);
}

void x86_load_ldt(X86CPU *cpu, uint16_t sel)
{
    uint32_t lo, hi;
    if ((sel & ~3u) == 0) {
        x86_seg_load_cache(cpu, R_LDTR, sel, 0, 0, SA_UNUSABLE);
        return;
    }
    if ((sel & 4) || x86_desc_fetch(cpu, sel, &lo, &hi) < 0) {
        gp(cpu, sel);
    }
    uint16_t attr = x86_desc_attr(hi);
    if ((attr & SA_S) || (attr & SA_TYPE) != 2) {
        gp(cpu, sel);
    }
    if (!(attr & SA_P)) {
        x86_raise(cpu, EXC_NP, sel & 0xfffc);
    }
    x86_seg_load_cache(cpu, R_LDTR, sel, x86_desc_base(lo, hi), x86_desc_limit(hi, lo), attr);
}

void x86_load_tr(X86CPU *cpu, uint16_t sel)
{
    uint32_t lo, hi;
    if ((sel & ~3u) == 0) {
        gp(cpu, 0);
    }
    if ((sel & 4) || x86_desc_fetch(cpu, sel, &lo, &hi) < 0) {
        gp(cpu, sel);
    }
    uint16_t attr = x86_desc_attr(hi);
    int type = attr & SA_TYPE;
    if ((attr & SA_S) || (type != 1 && type != 9)) {
        gp(cpu, sel);
    }
    if (!(attr & SA_P)) {
        x86_raise(cpu, EXC_NP, sel & 0xfffc);
    }
    hi |= 2u << 8;          /* busy */
    x86_sys_st32(cpu, cpu->gdt_base + (sel & ~7u) + 4, hi);
    x86_seg_load_cache(cpu, R_TR, sel, x86_desc_base(lo, hi), x86_desc_limit(hi, lo),
                       x86_desc_attr(hi));
}

void x86_tss_stack(X86CPU *cpu, int dpl, uint16_t *ss, uint32_t *esp)
{
    X86Seg *tr = &cpu->seg[R_TR];
    int type = tr->attr & SA_TYPE;
    if (type & 8) {
        uint32_t off = 4 + 8 * dpl;
        if (off + 7 > tr->limit) {
            x86_raise(cpu, EXC_TS, tr->sel & 0xfffc);
        }
        *esp = x86_sys_ld32(cpu, tr->base + off);
        *ss = x86_sys_ld16(cpu, tr->base + off + 4);
    } else {
        uint32_t off = 2 + 4 * dpl;
        if (off + 3 > tr->limit) {
            x86_raise(cpu, EXC_TS, tr->sel & 0xfffc);
        }
        *esp = x86_sys_ld16(cpu, tr->base + off);
        *ss = x86_sys_ld16(cpu, tr->base + off + 2);
    }
}

/* --- helpers for far transfers ---------------------------------------------- */

/* A stack being written before the registers change. */
typedef struct XStack {
    X86Seg seg;
    uint32_t sp, mask;
    int idx;                /* TLB set (privilege) of the accesses */
    int fault;              /* EXC_SS */
    uint16_t fault_sel;
} XStack;

static void xs_init_current(X86CPU *cpu, XStack *xs)
{
    xs->seg = cpu->seg[R_SS];
    xs->mask = sp_mask(cpu);
    xs->sp = cpu->r[R_ESP].d;
    xs->idx = cpu->mmu_idx;
    xs->fault_sel = 0;
}

static void xs_push(X86CPU *cpu, XStack *xs, uint32_t v, bool op32)
{
    unsigned size = op32 ? 4 : 2;
    uint32_t sp = (xs->sp - size) & xs->mask;
    if (sp < xs->seg.wlo || (uint64_t)sp + size - 1 > xs->seg.whi) {
        x86_raise(cpu, EXC_SS, xs->fault_sel & 0xfffc);
    }
    x86_st_slow(cpu, xs->seg.base + sp, v, size, xs->idx);
    xs->sp = sp;
}

static uint32_t xs_pop(X86CPU *cpu, XStack *xs, bool op32)
{
    unsigned size = op32 ? 4 : 2;
    uint32_t sp = xs->sp & xs->mask;
    if (sp < xs->seg.rlo || (uint64_t)sp + size - 1 > xs->seg.rhi) {
        x86_raise(cpu, EXC_SS, xs->fault_sel & 0xfffc);
    }
    uint32_t v = x86_ld_slow(cpu, xs->seg.base + sp, size, xs->idx);
    xs->sp = sp + size;
    return v;
}

static void set_esp_masked(X86CPU *cpu, uint32_t mask, uint32_t sp)
{
    if (mask == 0xffff) {
        cpu->r[R_ESP].w = sp;
    } else {
        cpu->r[R_ESP].d = sp;
    }
}

/* Check a code-segment descriptor as the target of a transfer. */
typedef struct Desc {
    uint16_t sel;
    uint32_t lo, hi, base, limit;
    uint16_t attr;
    int dpl;
} Desc;

static void desc_read(X86CPU *cpu, uint16_t sel, Desc *d, int exc, uint32_t err)
{
    d->sel = sel;
    if (x86_desc_fetch(cpu, sel, &d->lo, &d->hi) < 0) {
        x86_raise(cpu, exc, err & 0xfffc);
    }
    d->attr = x86_desc_attr(d->hi);
    d->dpl = (d->attr & SA_DPL) >> SA_DPL_SHIFT;
    d->base = x86_desc_base(d->lo, d->hi);
    d->limit = x86_desc_limit(d->hi, d->lo);
}

static void load_cs(X86CPU *cpu, const Desc *d, int cpl)
{
    x86_desc_set_accessed(cpu, d->sel, d->hi);
    x86_set_cpl(cpu, cpl);
    x86_seg_load_cache(cpu, R_CS, (d->sel & ~3) | cpl, d->base, d->limit,
                       d->attr | SA_ACCESSED);
}

static void load_ss_desc(X86CPU *cpu, const Desc *d, int rpl)
{
    x86_desc_set_accessed(cpu, d->sel, d->hi);
    x86_seg_load_cache(cpu, R_SS, (d->sel & ~3) | rpl, d->base, d->limit,
                       d->attr | SA_ACCESSED);
}

/* The SS of a privilege change to `dpl`: SDM vol. 3, 5.8.5 / INT n. */
static void check_new_ss(X86CPU *cpu, uint16_t ss, int dpl, Desc *d, uint32_t ext)
{
    if ((ss & ~3u) == 0) {
        x86_raise(cpu, EXC_TS, ext);
    }
    desc_read(cpu, ss, d, EXC_TS, ss | ext);
    if ((ss & 3) != dpl || d->dpl != dpl || !(d->attr & SA_S) ||
        (d->attr & ST_CODE) || !(d->attr & ST_WRITE)) {
        x86_raise(cpu, EXC_TS, (ss & 0xfffc) | ext);
    }
    if (!(d->attr & SA_P)) {
        x86_raise(cpu, EXC_SS, (ss & 0xfffc) | ext);
    }
}

static void xs_init_desc(XStack *xs, const Desc *d, uint32_t sp, int idx)
{
    xs->seg.base = d->base;
    xs->seg.limit = d->limit;
    xs->seg.attr = d->attr;
    xs->seg.sel = d->sel;
    x86_seg_update_ranges(&xs->seg);
    xs->mask = (d->attr & SA_DB) ? 0xffffffffu : 0xffffu;
    xs->sp = sp;
    xs->idx = idx;
    xs->fault_sel = d->sel;
}

/* After a return to an outer level: data segments the new CPL may not use
 * become null (SDM vol. 2, RET, "RETURN-TO-OUTER-PRIVILEGE-LEVEL"). */
static void invalidate_data_segs(X86CPU *cpu)
{
    static const int segs[] = { R_ES, R_DS, R_FS, R_GS };
    for (int k = 0; k < 4; k++) {
        X86Seg *sg = &cpu->seg[segs[k]];
        int dpl = (sg->attr & SA_DPL) >> SA_DPL_SHIFT;
        bool conforming_code = (sg->attr & ST_CODE) && (sg->attr & ST_CONFORM);
        if ((sg->attr & SA_UNUSABLE) || !(sg->attr & SA_S)) {
            continue;
        }
        if (!conforming_code && dpl < cpu->cpl) {
            x86_seg_load_cache(cpu, segs[k], 0, 0, 0, SA_UNUSABLE);
        }
    }
}

/* JMP or CALL naming a TSS descriptor or a task gate. */
static void far_task(X86CPU *cpu, const void *dp, uint16_t sel, int source, uint32_t next);

/* The checks of a far JMP or CALL straight to a code segment (SDM vol. 2,
 * JMP/CALL "far jump/call to conforming or non-conforming code segment"). */
static void check_direct_code_target(X86CPU *cpu, const Desc *d, uint16_t sel,
                                     uint32_t off)
{
    int cpl = cpu->cpl, rpl = sel & 3;
    if (!(d->attr & ST_CODE)) {
        gp(cpu, sel);
    }
    if (d->attr & ST_CONFORM) {
        if (d->dpl > cpl) {
            gp(cpu, sel);
        }
    } else if (rpl > cpl || d->dpl != cpl) {
        gp(cpu, sel);
    }
    if (!(d->attr & SA_P)) {
        x86_raise(cpu, EXC_NP, sel & 0xfffc);
    }
    if (off > d->limit) {
        gp(cpu, 0);
    }
}

/* --- JMP far ------------------------------------------------------------------------ */

void x86_far_jmp(X86CPU *cpu, uint16_t sel, uint32_t off, uint32_t next, bool op32)
{
    Desc d;
    (void)next;
    if (!op32) {
        off &= 0xffff;
    }
    if (real_like(cpu)) {
        if (off > cpu->seg[R_CS].limit) {
            gp(cpu, 0);
        }
        x86_seg_set_real(cpu, R_CS, sel);
        cpu->eip = off;
        return;
    }
    if ((sel & ~3u) == 0) {
        gp(cpu, 0);
    }
    desc_read(cpu, sel, &d, EXC_GP, sel);
    int cpl = cpu->cpl, rpl = sel & 3;
    if (d.attr & SA_S) {
        check_direct_code_target(cpu, &d, sel, off);
        load_cs(cpu, &d, cpl);
        cpu->eip = off;
        return;
    }
    int type = d.attr & SA_TYPE;
    if (type == 4 || type == 12) {      /* call gate */
        if (d.dpl < cpl || d.dpl < rpl) {
            gp(cpu, sel);
        }
        if (!(d.attr & SA_P)) {
            x86_raise(cpu, EXC_NP, sel & 0xfffc);
        }
        uint16_t tsel = d.lo >> 16;
        uint32_t toff = (d.lo & 0xffff) | (type == 12 ? (d.hi & 0xffff0000u) : 0);
        Desc t;
        if ((tsel & ~3u) == 0) {
            gp(cpu, 0);
        }
        desc_read(cpu, tsel, &t, EXC_GP, tsel);
        if (!(t.attr & SA_S) || !(t.attr & ST_CODE) ||
            ((t.attr & ST_CONFORM) ? t.dpl > cpl : t.dpl != cpl)) {
            gp(cpu, tsel);
        }
        if (!(t.attr & SA_P)) {
            x86_raise(cpu, EXC_NP, tsel & 0xfffc);
        }
        if (toff > t.limit) {
            gp(cpu, 0);
        }
        load_cs(cpu, &t, cpl);
        cpu->eip = toff;
        return;
    }
    if (type == 5 || type == 1 || type == 9) {
        far_task(cpu, &d, sel, TASK_JMP, next);
        return;
    }
    gp(cpu, sel);
}

/* --- CALL far -------------------------------------------------------------------------- */

void x86_far_call(X86CPU *cpu, uint16_t sel, uint32_t off, uint32_t next, bool op32)
{
    XStack xs;
    Desc d;

    if (!op32) {
        off &= 0xffff;
    }
    xs_init_current(cpu, &xs);
    if (real_like(cpu)) {
        if (off > cpu->seg[R_CS].limit) {
            gp(cpu, 0);
        }
        xs_push(cpu, &xs, cpu->seg[R_CS].sel, op32);
        xs_push(cpu, &xs, next, op32);
        x86_seg_set_real(cpu, R_CS, sel);
        set_esp_masked(cpu, xs.mask, xs.sp);
        cpu->eip = off;
        return;
    }
    if ((sel & ~3u) == 0) {
        gp(cpu, 0);
    }
    desc_read(cpu, sel, &d, EXC_GP, sel);
    int cpl = cpu->cpl, rpl = sel & 3;
    if (d.attr & SA_S) {
        check_direct_code_target(cpu, &d, sel, off);
        xs_push(cpu, &xs, cpu->seg[R_CS].sel, op32);
        xs_push(cpu, &xs, next, op32);
        load_cs(cpu, &d, cpl);
        set_esp_masked(cpu, xs.mask, xs.sp);
        cpu->eip = off;
        return;
    }
    int type = d.attr & SA_TYPE;
    if (type == 5 || type == 1 || type == 9) {
        far_task(cpu, &d, sel, TASK_CALL, next);
        return;
    }
    if (type != 4 && type != 12) {
        gp(cpu, sel);
    }
    /* Call gate. */
    if (d.dpl < cpl || d.dpl < rpl) {
        gp(cpu, sel);
    }
    if (!(d.attr & SA_P)) {
        x86_raise(cpu, EXC_NP, sel & 0xfffc);
    }
    bool gate32 = type == 12;
    uint16_t tsel = d.lo >> 16;
    uint32_t toff = (d.lo & 0xffff) | (gate32 ? (d.hi & 0xffff0000u) : 0);
    int nparams = d.hi & 0x1f;
    Desc t;
    if ((tsel & ~3u) == 0) {
        gp(cpu, 0);
    }
    desc_read(cpu, tsel, &t, EXC_GP, tsel);
    if (!(t.attr & SA_S) || !(t.attr & ST_CODE) || t.dpl > cpl) {
        gp(cpu, tsel);
    }
    if (!(t.attr & SA_P)) {
        x86_raise(cpu, EXC_NP, tsel & 0xfffc);
    }
    if (!(t.attr & ST_CONFORM) && t.dpl < cpl) {
        /* More privileged: switch to the stack of t.dpl from the TSS. */
        uint16_t nss;
        uint32_t nesp;
        Desc sd;
        x86_tss_stack(cpu, t.dpl, &nss, &nesp);
        check_new_ss(cpu, nss, t.dpl, &sd, 0);
        XStack ns;
        xs_init_desc(&ns, &sd, nesp, t.dpl == 3);
        uint32_t old_ss = cpu->seg[R_SS].sel, old_esp = cpu->r[R_ESP].d;
        xs_push(cpu, &ns, old_ss, gate32);
        xs_push(cpu, &ns, old_esp, gate32);
        for (int k = nparams - 1; k >= 0; k--) {
            uint32_t a = (old_esp + k * (gate32 ? 4 : 2)) & xs.mask;
            uint32_t v = gate32 ? x86_ld_slow(cpu, seg_r(cpu, R_SS, a, 4), 4, cpu->mmu_idx)
                                : x86_ld_slow(cpu, seg_r(cpu, R_SS, a, 2), 2, cpu->mmu_idx);
            xs_push(cpu, &ns, v, gate32);
        }
        xs_push(cpu, &ns, cpu->seg[R_CS].sel, gate32);
        xs_push(cpu, &ns, next, gate32);
        if (toff > t.limit) {
            gp(cpu, 0);
        }
        load_ss_desc(cpu, &sd, t.dpl);
        set_esp_masked(cpu, ns.mask, ns.sp);
        load_cs(cpu, &t, t.dpl);
        cpu->eip = toff;
        return;
    }
    /* Same privilege through the gate. */
    xs_push(cpu, &xs, cpu->seg[R_CS].sel, gate32);
    xs_push(cpu, &xs, next, gate32);
    if (toff > t.limit) {
        gp(cpu, 0);
    }
    load_cs(cpu, &t, cpl);
    set_esp_masked(cpu, xs.mask, xs.sp);
    cpu->eip = toff;
}

/* --- RET far ------------------------------------------------------------------------------ */

void x86_far_ret(X86CPU *cpu, bool op32, uint16_t extra)
{
    XStack xs;
    xs_init_current(cpu, &xs);
    uint32_t off = xs_pop(cpu, &xs, op32);
    uint16_t sel = xs_pop(cpu, &xs, op32);

    if (real_like(cpu)) {
        if (off > cpu->seg[R_CS].limit) {
            gp(cpu, 0);
        }
        x86_seg_set_real(cpu, R_CS, sel);
        set_esp_masked(cpu, xs.mask, xs.sp + extra);
        cpu->eip = off;
        return;
    }
    int cpl = cpu->cpl, rpl = sel & 3;
    Desc d;
    if ((sel & ~3u) == 0) {
        gp(cpu, 0);
    }
    desc_read(cpu, sel, &d, EXC_GP, sel);
    if (rpl < cpl || !(d.attr & SA_S) || !(d.attr & ST_CODE) ||
        ((d.attr & ST_CONFORM) ? d.dpl > rpl : d.dpl != rpl)) {
        gp(cpu, sel);
    }
    if (!(d.attr & SA_P)) {
        x86_raise(cpu, EXC_NP, sel & 0xfffc);
    }
    if (rpl == cpl) {
        if (off > d.limit) {
            gp(cpu, 0);
        }
        load_cs(cpu, &d, cpl);
        set_esp_masked(cpu, xs.mask, xs.sp + extra);
        cpu->eip = off;
        return;
    }
    /* Return to an outer privilege level. */
    xs.sp += extra;
    uint32_t nesp = xs_pop(cpu, &xs, op32);
    uint16_t nss = xs_pop(cpu, &xs, op32);
    Desc sd;
    if ((nss & ~3u) == 0) {
        gp(cpu, 0);
    }
    desc_read(cpu, nss, &sd, EXC_GP, nss);
    if ((nss & 3) != rpl || sd.dpl != rpl || !(sd.attr & SA_S) ||
        (sd.attr & ST_CODE) || !(sd.attr & ST_WRITE)) {
        gp(cpu, nss);
    }
    if (!(sd.attr & SA_P)) {
        x86_raise(cpu, EXC_SS, nss & 0xfffc);
    }
    if (off > d.limit) {
        gp(cpu, 0);
    }
    load_cs(cpu, &d, rpl);
    load_ss_desc(cpu, &sd, rpl);
    set_esp_masked(cpu, (sd.attr & SA_DB) ? 0xffffffffu : 0xffffu, nesp + extra);
    cpu->eip = off;
    invalidate_data_segs(cpu);
}

/* --- IRET ------------------------------------------------------------------------------------ */

void x86_iret(X86CPU *cpu, bool op32)
{
    XStack xs;
    xs_init_current(cpu, &xs);

    if (!(cpu->cr0 & CR0_PE) || (cpu->eflags & FL_VM)) {
        uint32_t mask;
        /* IRETD loads RF here too (SDM vol. 2, IRET: the 257FD5H mask). */
        if (cpu->eflags & FL_VM) {
            if (((cpu->eflags & FL_IOPL) >> 12) < 3) {
                gp(cpu, 0);
            }
            mask = FL_ARITH | FL_TF | FL_IF | FL_DF | FL_NT | FL_RF | FL_AC | FL_ID;
        } else {
            mask = FL_ARITH | FL_TF | FL_IF | FL_DF | FL_NT | FL_IOPL | FL_RF | FL_AC | FL_ID;
        }
        uint32_t off = xs_pop(cpu, &xs, op32);
        uint16_t sel = xs_pop(cpu, &xs, op32);
        uint32_t fl = xs_pop(cpu, &xs, op32);
        if (!op32) {
            off &= 0xffff;
            mask &= 0xffff;
        }
        if (off > cpu->seg[R_CS].limit) {
            gp(cpu, 0);
        }
        x86_seg_set_real(cpu, R_CS, sel);
        set_esp_masked(cpu, xs.mask, xs.sp);
        x86_set_eflags(cpu, fl, mask);
        cpu->eip = off;
        return;
    }
    if (cpu->eflags & FL_NT) {
        uint16_t link = x86_sys_ld16(cpu, cpu->seg[R_TR].base);
        x86_task_switch(cpu, link, TASK_IRET,
                        cpu->cur_insn ? next_eip(cpu->cur_insn) : cpu->eip, -1);
        return;
    }
    uint32_t off = xs_pop(cpu, &xs, op32);
    uint16_t sel = xs_pop(cpu, &xs, op32);
    uint32_t fl = xs_pop(cpu, &xs, op32);
    int cpl = cpu->cpl;

    if (op32 && (fl & FL_VM) && cpl == 0) {
        /* Return to virtual-8086 mode (SDM vol. 2, IRET, RETURN-TO-VIRTUAL-8086-MODE). */
        uint32_t nesp = xs_pop(cpu, &xs, true);
        uint16_t nss = xs_pop(cpu, &xs, true);
        uint16_t es = xs_pop(cpu, &xs, true), ds = xs_pop(cpu, &xs, true);
        uint16_t fs = xs_pop(cpu, &xs, true), gs = xs_pop(cpu, &xs, true);
        x86_set_eflags(cpu, fl, FL_ALL);
        x86_set_cpl(cpu, 3);
        x86_seg_set_real(cpu, R_CS, sel);
        x86_seg_set_real(cpu, R_SS, nss);
        x86_seg_set_real(cpu, R_ES, es);
        x86_seg_set_real(cpu, R_DS, ds);
        x86_seg_set_real(cpu, R_FS, fs);
        x86_seg_set_real(cpu, R_GS, gs);
        cpu->r[R_ESP].d = nesp;
        cpu->eip = off & 0xffff;
        x86_update_mode(cpu);
        return;
    }
    if (!op32) {
        off &= 0xffff;
    }
    int rpl = sel & 3;
    Desc d;
    if ((sel & ~3u) == 0) {
        gp(cpu, 0);
    }
    desc_read(cpu, sel, &d, EXC_GP, sel);
    if (rpl < cpl || !(d.attr & SA_S) || !(d.attr & ST_CODE) ||
        ((d.attr & ST_CONFORM) ? d.dpl > rpl : d.dpl != rpl)) {
        gp(cpu, sel);
    }
    if (!(d.attr & SA_P)) {
        x86_raise(cpu, EXC_NP, sel & 0xfffc);
    }
    uint32_t iopl = (cpu->eflags & FL_IOPL) >> 12;
    uint32_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_RF | FL_AC | FL_ID;
    if (cpl <= (int)iopl) {
        mask |= FL_IF;
    }
    if (cpl == 0) {
        mask |= FL_IOPL | FL_VIF | FL_VIP;
    }
    if (!op32) {
        mask &= 0xffff;
    }
    if (rpl == cpl) {
        if (off > d.limit) {
            gp(cpu, 0);
        }
        load_cs(cpu, &d, cpl);
        set_esp_masked(cpu, xs.mask, xs.sp);
        x86_set_eflags(cpu, fl, mask);
        cpu->eip = off;
        return;
    }
    uint32_t nesp = xs_pop(cpu, &xs, op32);
    uint16_t nss = xs_pop(cpu, &xs, op32);
    Desc sd;
    if ((nss & ~3u) == 0) {
        gp(cpu, 0);
    }
    desc_read(cpu, nss, &sd, EXC_GP, nss);
    if ((nss & 3) != rpl || sd.dpl != rpl || !(sd.attr & SA_S) ||
        (sd.attr & ST_CODE) || !(sd.attr & ST_WRITE)) {
        gp(cpu, nss);
    }
    if (!(sd.attr & SA_P)) {
        x86_raise(cpu, EXC_SS, nss & 0xfffc);
    }
    if (off > d.limit) {
        gp(cpu, 0);
    }
    x86_set_eflags(cpu, fl, mask);
    load_cs(cpu, &d, rpl);
    load_ss_desc(cpu, &sd, rpl);
    set_esp_masked(cpu, (sd.attr & SA_DB) ? 0xffffffffu : 0xffffu, nesp);
    cpu->eip = off;
    invalidate_data_segs(cpu);
}

/* --- interrupt delivery in protected mode (called by excp.c) --------------------- */

void x86_deliver_protected(X86CPU *cpu, int vec, int err, bool soft, uint32_t ret_eip,
                           bool is_int_insn);

void x86_deliver_protected(X86CPU *cpu, int vec, int err, bool soft, uint32_t ret_eip,
                           bool is_int_insn)
{
    uint32_t ext = is_int_insn ? 0 : 1;
    uint32_t gerr = vec * 8 + 2 + ext;
    if (vec * 8 + 7 > cpu->idt_limit) {
        x86_raise(cpu, EXC_GP, gerr);
    }
    uint32_t lo = x86_sys_ld32(cpu, cpu->idt_base + vec * 8);
    uint32_t hi = x86_sys_ld32(cpu, cpu->idt_base + vec * 8 + 4);
    int type = (hi >> 8) & 0x1f;        /* with S */
    int gdpl = (hi >> 13) & 3;
    int cpl = cpu->cpl;

    if (type != 5 && type != 6 && type != 7 && type != 14 && type != 15) {
        x86_raise(cpu, EXC_GP, gerr);
    }
    if (soft && gdpl < cpl) {
        x86_raise(cpu, EXC_GP, gerr);
    }
    if (!(hi & (1u << 15))) {
        x86_raise(cpu, EXC_NP, gerr);
    }
    if (type == 5) {
        x86_task_switch(cpu, lo >> 16, TASK_INT, ret_eip, err);
        return;
    }
    bool gate32 = type >= 14;
    uint16_t tsel = lo >> 16;
    uint32_t toff = (lo & 0xffff) | (gate32 ? (hi & 0xffff0000u) : 0);
    Desc t;
    if ((tsel & ~3u) == 0) {
        x86_raise(cpu, EXC_GP, ext);
    }
    desc_read(cpu, tsel, &t, EXC_GP, tsel | ext);
    if (!(t.attr & SA_S) || !(t.attr & ST_CODE) || t.dpl > cpl) {
        x86_raise(cpu, EXC_GP, (tsel & 0xfffc) | ext);
    }
    if (!(t.attr & SA_P)) {
        x86_raise(cpu, EXC_NP, (tsel & 0xfffc) | ext);
    }
    uint32_t old_flags = x86_get_eflags(cpu);
    bool from_vm = old_flags & FL_VM;
    XStack xs;
    int new_cpl;
    bool priv = !(t.attr & ST_CONFORM) && t.dpl < cpl;

    if (priv) {
        uint16_t nss;
        uint32_t nesp;
        Desc sd;
        if (from_vm && t.dpl != 0) {
            x86_raise(cpu, EXC_GP, (tsel & 0xfffc) | ext);
        }
        x86_tss_stack(cpu, t.dpl, &nss, &nesp);
        check_new_ss(cpu, nss, t.dpl, &sd, ext);
        xs_init_desc(&xs, &sd, nesp, t.dpl == 3);
        if (from_vm) {
            xs_push(cpu, &xs, cpu->seg[R_GS].sel, gate32);
            xs_push(cpu, &xs, cpu->seg[R_FS].sel, gate32);
            xs_push(cpu, &xs, cpu->seg[R_DS].sel, gate32);
            xs_push(cpu, &xs, cpu->seg[R_ES].sel, gate32);
        }
        xs_push(cpu, &xs, cpu->seg[R_SS].sel, gate32);
        xs_push(cpu, &xs, cpu->r[R_ESP].d, gate32);
        new_cpl = t.dpl;
        xs_push(cpu, &xs, old_flags, gate32);
        xs_push(cpu, &xs, cpu->seg[R_CS].sel, gate32);
        xs_push(cpu, &xs, ret_eip, gate32);
        if (err >= 0) {
            xs_push(cpu, &xs, err, gate32);
        }
        if (toff > t.limit) {
            x86_raise(cpu, EXC_GP, ext);
        }
        /* Commit. */
        load_ss_desc(cpu, &sd, t.dpl);
        set_esp_masked(cpu, xs.mask, xs.sp);
        if (from_vm) {
            x86_seg_load_cache(cpu, R_GS, 0, 0, 0, SA_UNUSABLE);
            x86_seg_load_cache(cpu, R_FS, 0, 0, 0, SA_UNUSABLE);
            x86_seg_load_cache(cpu, R_DS, 0, 0, 0, SA_UNUSABLE);
            x86_seg_load_cache(cpu, R_ES, 0, 0, 0, SA_UNUSABLE);
        }
    } else {
        if (from_vm) {
            x86_raise(cpu, EXC_GP, (tsel & 0xfffc) | ext);
        }
        xs_init_current(cpu, &xs);
        new_cpl = cpl;
        xs_push(cpu, &xs, old_flags, gate32);
        xs_push(cpu, &xs, cpu->seg[R_CS].sel, gate32);
        xs_push(cpu, &xs, ret_eip, gate32);
        if (err >= 0) {
            xs_push(cpu, &xs, err, gate32);
        }
        if (toff > t.limit) {
            x86_raise(cpu, EXC_GP, ext);
        }
        set_esp_masked(cpu, xs.mask, xs.sp);
    }
    uint32_t clear = FL_TF | FL_VM | FL_RF | FL_NT;
    if (!(type & 1)) {
        clear |= FL_IF;             /* interrupt gate */
    }
    cpu->eflags = (old_flags & ~clear) | 0x2;
    cpu->cc_op = CC_EFLAGS;
    load_cs(cpu, &t, new_cpl);
    cpu->eip = toff;
    x86_update_mode(cpu);
}

static void far_task(X86CPU *cpu, const void *dp, uint16_t sel, int source, uint32_t next)
{
    const Desc *d = dp;
    int cpl = cpu->cpl, rpl = sel & 3;
    if (d->dpl < cpl || d->dpl < rpl) {
        gp(cpu, sel);
    }
    if (!(d->attr & SA_P)) {
        x86_raise(cpu, EXC_NP, sel & 0xfffc);
    }
    uint16_t tss = (d->attr & SA_TYPE) == 5 ? (uint16_t)(d->lo >> 16) : sel;
    x86_task_switch(cpu, tss, source, next, -1);
}
