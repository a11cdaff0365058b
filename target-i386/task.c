/*
 * Hardware task switches: JMP/CALL to a TSS descriptor or through a task
 * gate, interrupts and exceptions through an IDT task gate, and IRET with
 * EFLAGS.NT back to the previous task.
 * Reference: Intel SDM vol. 3, chapter 7 (7.2 TSS layout of figures 7-2 and
 * 7-11, 7.3 task switching steps 1-13, table 7-2 busy/NT/link/TS effects,
 * 7.4 task linking) and chapter 6, "Interrupt 10 - Invalid TSS Exception".
 *
 * All checks and the reads of the new TSS happen before anything changes;
 * the old task's state is then saved and the switch committed; faults
 * while loading the new segments (#TS/#NP/#SS with the selector) are raised
 * in the context of the new task, as the SDM's step 13 says.  The T bit of
 * a 32-bit TSS makes a #DB trap after the switch into it (debug.c).
 */
#include "x86-internal.h"

typedef struct TaskState {
    uint32_t cr3, eip, eflags, gpr[8];
    uint16_t seg[6], ldt;
    bool trap;                  /* T: debug trap on switching to the task */
} TaskState;

static void NORETURN ts_fault(X86CPU *cpu, int vec, uint16_t sel)
{
    x86_raise(cpu, vec, sel & 0xfffc);
}

static void read_tss(X86CPU *cpu, uint32_t base, bool is32, TaskState *t)
{
    if (is32) {
        t->cr3 = x86_sys_ld32(cpu, base + 0x1c);
        t->eip = x86_sys_ld32(cpu, base + 0x20);
        t->eflags = x86_sys_ld32(cpu, base + 0x24);
        for (int r = 0; r < 8; r++) {
            t->gpr[r] = x86_sys_ld32(cpu, base + 0x28 + 4 * r);
        }
        for (int s = 0; s < 6; s++) {
            t->seg[s] = x86_sys_ld16(cpu, base + 0x48 + 4 * s);
        }
        t->ldt = x86_sys_ld16(cpu, base + 0x60);
        t->trap = x86_sys_ld16(cpu, base + 0x64) & 1;
    } else {
        t->cr3 = 0;
        t->eip = x86_sys_ld16(cpu, base + 0x0e);
        t->eflags = x86_sys_ld16(cpu, base + 0x10);
        for (int r = 0; r < 8; r++) {
            t->gpr[r] = x86_sys_ld16(cpu, base + 0x12 + 2 * r);
        }
        for (int s = 0; s < 4; s++) {
            t->seg[s] = x86_sys_ld16(cpu, base + 0x22 + 2 * s);
        }
        t->seg[R_FS] = t->seg[R_GS] = 0;
        t->ldt = x86_sys_ld16(cpu, base + 0x2a);
        t->trap = false;
    }
}

static void save_tss(X86CPU *cpu, uint32_t base, bool is32, uint32_t eip, uint32_t eflags)
{
    if (is32) {
        x86_sys_st32(cpu, base + 0x20, eip);
        x86_sys_st32(cpu, base + 0x24, eflags);
        for (int r = 0; r < 8; r++) {
            x86_sys_st32(cpu, base + 0x28 + 4 * r, cpu->r[r].d);
        }
        for (int s = 0; s < 6; s++) {
            x86_st_slow(cpu, base + 0x48 + 4 * s, cpu->seg[s].sel, 2, 0);
        }
    } else {
        x86_st_slow(cpu, base + 0x0e, eip, 2, 0);
        x86_st_slow(cpu, base + 0x10, eflags, 2, 0);
        for (int r = 0; r < 8; r++) {
            x86_st_slow(cpu, base + 0x12 + 2 * r, cpu->r[r].w, 2, 0);
        }
        for (int s = 0; s < 4; s++) {
            x86_st_slow(cpu, base + 0x22 + 2 * s, cpu->seg[s].sel, 2, 0);
        }
    }
}

static void set_busy(X86CPU *cpu, uint16_t sel, bool busy)
{
    uint32_t a = cpu->gdt_base + (sel & ~7u) + 4;
    uint32_t hi = x86_sys_ld32(cpu, a);
    hi = busy ? (hi | (2u << 8)) : (hi & ~(2u << 8));
    x86_sys_st32(cpu, a, hi);
}

/* Segment loads of the new task: the checks of MOV Sreg with #TS (or #NP,
 * #SS) carrying the selector. */
static void load_task_seg(X86CPU *cpu, int s, uint16_t sel)
{
    uint32_t lo, hi;
    int cpl = cpu->cpl, rpl = sel & 3;

    if ((sel & ~3u) == 0) {
        if (s == R_CS || s == R_SS) {
            ts_fault(cpu, EXC_TS, sel);
        }
        x86_seg_load_cache(cpu, s, sel, 0, 0, SA_UNUSABLE);
        return;
    }
    if (x86_desc_fetch(cpu, sel, &lo, &hi) < 0) {
        ts_fault(cpu, EXC_TS, sel);
    }
    uint16_t attr = x86_desc_attr(hi);
    int dpl = (attr & SA_DPL) >> SA_DPL_SHIFT;
    if (!(attr & SA_S)) {
        ts_fault(cpu, EXC_TS, sel);
    }
    if (s == R_CS) {
        if (!(attr & ST_CODE) || ((attr & ST_CONFORM) ? dpl > rpl : dpl != rpl)) {
            ts_fault(cpu, EXC_TS, sel);
        }
    } else if (s == R_SS) {
        if ((attr & ST_CODE) || !(attr & ST_WRITE) || rpl != cpl || dpl != cpl) {
            ts_fault(cpu, EXC_TS, sel);
        }
    } else {
        if ((attr & ST_CODE) && !(attr & ST_READ)) {
            ts_fault(cpu, EXC_TS, sel);
        }
        if ((!(attr & ST_CODE) || !(attr & ST_CONFORM)) && (rpl > dpl || cpl > dpl)) {
            ts_fault(cpu, EXC_TS, sel);
        }
    }
    if (!(attr & SA_P)) {
        ts_fault(cpu, s == R_SS ? EXC_SS : EXC_NP, sel);
    }
    x86_desc_set_accessed(cpu, sel, hi);
    x86_seg_load_cache(cpu, s, sel, x86_desc_base(lo, hi), x86_desc_limit(hi, lo),
                       attr | SA_ACCESSED);
}

void x86_task_switch(X86CPU *cpu, uint16_t sel, int source, uint32_t next_eip, int error)
{
    uint32_t lo, hi;
    int gp = source == TASK_IRET ? EXC_TS : EXC_GP;

    /* Steps 1-5: the new TSS descriptor. */
    if ((sel & 4) || (sel & ~3u) == 0 || x86_desc_fetch(cpu, sel, &lo, &hi) < 0) {
        ts_fault(cpu, gp, sel);
    }
    uint16_t attr = x86_desc_attr(hi);
    int type = attr & SA_TYPE;
    bool want_busy = source == TASK_IRET;
    if ((attr & SA_S) || (type != 1 && type != 3 && type != 9 && type != 11) ||
        ((type & 2) != 0) != want_busy) {
        ts_fault(cpu, gp, sel);
    }
    if (!(attr & SA_P)) {
        ts_fault(cpu, EXC_NP, sel);
    }
    bool new32 = type & 8;
    uint32_t nbase = x86_desc_base(lo, hi), nlimit = x86_desc_limit(hi, lo);
    if (nlimit < (new32 ? 0x67u : 0x2bu)) {
        ts_fault(cpu, EXC_TS, sel);
    }
    X86Seg *tr = &cpu->seg[R_TR];
    bool old32 = (tr->attr & SA_TYPE) & 8;
    if (tr->limit < (old32 ? 0x5fu : 0x29u)) {
        ts_fault(cpu, EXC_TS, tr->sel);
    }
    TaskState t;
    read_tss(cpu, nbase, new32, &t);

    /* Steps 6-9: save the old task; busy bits, link and NT. */
    uint32_t eflags = x86_get_eflags(cpu);
    if (source == TASK_IRET) {
        eflags &= ~FL_NT;
    }
    save_tss(cpu, tr->base, old32, next_eip, eflags);
    uint16_t old_sel = tr->sel;
    if (source == TASK_JMP || source == TASK_IRET) {
        set_busy(cpu, old_sel, false);
    }
    if (source == TASK_CALL || source == TASK_INT) {
        x86_st_slow(cpu, nbase, old_sel, 2, 0);
        t.eflags |= FL_NT;
    }
    if (source != TASK_IRET) {
        set_busy(cpu, sel, true);
    }

    /* Steps 10-12: commit.  From here on a fault belongs to the new task:
     * x86_raise must not rewind EIP to the old task's instruction. */
    cpu->cur_insn = NULL;
    x86_seg_load_cache(cpu, R_TR, sel, nbase, nlimit, attr | (2u));
    cpu->cr0 |= CR0_TS;
    if (new32 && (cpu->cr0 & CR0_PG)) {
        x86_set_cr3(cpu, t.cr3);
    }
    for (int r = 0; r < 8; r++) {
        cpu->r[r].d = new32 ? t.gpr[r] : ((cpu->r[r].d & 0xffff0000u) | (t.gpr[r] & 0xffff));
    }
    cpu->eflags = ((new32 ? t.eflags : ((eflags & 0xffff0000u) | (t.eflags & 0xffff))) & FL_ALL) | 2;
    cpu->cc_op = CC_EFLAGS;
    cpu->rf_clear = (cpu->eflags & FL_RF) != 0;
    cpu->eip = t.eip;
    /* The new selectors are in place before any descriptor is checked, so
     * that a fault below shows the new task's selectors to its handler. */
    for (int s = 0; s < 6; s++) {
        cpu->seg[s].sel = t.seg[s];
    }
    if (cpu->eflags & FL_VM) {
        x86_set_cpl(cpu, 3);
        x86_update_mode(cpu);
        for (int s = 0; s < 6; s++) {
            x86_seg_set_real(cpu, s, t.seg[s]);
        }
    } else {
        x86_set_cpl(cpu, t.seg[R_CS] & 3);
        x86_update_mode(cpu);
        /* Step 13: the LDT and the segments, faulting in the new task. */
        if ((t.ldt & ~3u) == 0) {
            x86_seg_load_cache(cpu, R_LDTR, t.ldt, 0, 0, SA_UNUSABLE);
        } else {
            uint32_t llo, lhi;
            if ((t.ldt & 4) || x86_desc_fetch(cpu, t.ldt, &llo, &lhi) < 0) {
                ts_fault(cpu, EXC_TS, t.ldt);
            }
            uint16_t la = x86_desc_attr(lhi);
            if ((la & SA_S) || (la & SA_TYPE) != 2) {
                ts_fault(cpu, EXC_TS, t.ldt);
            }
            if (!(la & SA_P)) {
                ts_fault(cpu, EXC_NP, t.ldt);
            }
            x86_seg_load_cache(cpu, R_LDTR, t.ldt, x86_desc_base(llo, lhi),
                               x86_desc_limit(lhi, llo), la);
        }
        load_task_seg(cpu, R_CS, t.seg[R_CS]);
        load_task_seg(cpu, R_SS, t.seg[R_SS]);
        static const int data[4] = { R_ES, R_DS, R_FS, R_GS };
        for (int k = 0; k < 4; k++) {
            load_task_seg(cpu, data[k], t.seg[data[k]]);
        }
    }
    if (cpu->eip > cpu->seg[R_CS].limit) {
        x86_raise(cpu, EXC_GP, 0);
    }
    if (error >= 0) {
        if (new32) {
            x86_push32(cpu, error);
        } else {
            x86_push16(cpu, error);
        }
    }
    if (t.trap) {
        /* #DB with BT once the switch is complete, before the new task's
         * first instruction (SDM 17.3.1.5). */
        x86_dbg_task_trap(cpu);
    }
}
