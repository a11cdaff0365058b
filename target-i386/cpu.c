/*
 * The x86 CPU object: creation, reset, the register-state exchange with the
 * machine (X86Registers), and the execution loop.
 *
 * The loop looks up the decoded block for CS:EIP, runs its pre-decoded
 * instructions through their handlers (each returns the next instruction,
 * or NULL to leave the block; direct branches may chain straight into the
 * next block of the same page), and between blocks takes external
 * interrupts, honours the STI/MOV SS interrupt shadow and the trap flag, and
 * checks kicks and the instruction budget.  Faults unwind to the loop with
 * siglongjmp and are delivered there (excp.c).
 * Reset state: Intel SDM vol. 3, 9.1.1 and table 9-1.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include "x86-internal.h"

bool x86_exception_dispatch(X86CPU *cpu);

X86CPU *x86_cpu_new(const X86CPUBus *bus)
{
    X86CPU *cpu = g_new0(X86CPU, 1);
    cpu->bus = *bus;
    cpu->code = x86_code_new();
    cpu->delivering = -1;
    cpu->trace = getenv("VMKEMU_X86_TRACE") != NULL;
    /* Tracing logs every block entry: translated code would skip that. */
    cpu->jit_threshold = cpu->trace ? UINT32_MAX : x86_jit_threshold(x86_code_jit(cpu));
    for (unsigned k = 0; k < X86_TLB_SIZE; k++) {
        cpu->tlb_none[k].tag_r = cpu->tlb_none[k].tag_w = TLB_INVALID;
    }
    x86_cpu_reset(cpu);
    return cpu;
}

void x86_cpu_free(X86CPU *cpu)
{
    if (!cpu) {
        return;
    }
    x86_code_release(cpu);
    g_free(cpu);
}

void x86_cpu_reset(X86CPU *cpu)
{
    X86Registers r;
    x86_regs_reset(&r);
    cpu->efer = 0;
    cpu->tsc_offset = 0;
    cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
    cpu->pat = 0x0007040600070406ULL;
    cpu->misc_enable = 1;       /* fast strings */
    memset(cpu->dr, 0, sizeof(cpu->dr));
    cpu->dr[6] = 0xffff0ff0u;
    cpu->dr[7] = 0x400;
    x86_cpu_set_regs(cpu, &r);
    x86_dbg_update(cpu);
    x86_fpu_reset(cpu);
    x86_sse_reset(cpu);
    x86_code_flush(cpu);
    x86_code_reap(cpu);
}

static uint16_t seg_attr_from(const X86Segment *s)
{
    if (s->unusable) {
        return SA_UNUSABLE;
    }
    return (s->type & 0xf) | (s->s ? SA_S : 0) | ((s->dpl & 3) << SA_DPL_SHIFT) |
           (s->present ? SA_P : 0) | (s->avl ? SA_AVL : 0) | (s->l ? SA_L : 0) |
           (s->db ? SA_DB : 0) | (s->g ? SA_G : 0);
}

static void seg_to(const X86Seg *sg, X86Segment *s)
{
    uint16_t a = sg->attr;
    *s = (X86Segment){
        .selector = sg->sel, .base = sg->base, .limit = sg->limit,
        .type = a & SA_TYPE, .s = !!(a & SA_S), .dpl = (a & SA_DPL) >> SA_DPL_SHIFT,
        .present = !!(a & SA_P), .db = !!(a & SA_DB), .l = !!(a & SA_L),
        .g = !!(a & SA_G), .avl = !!(a & SA_AVL), .unusable = !!(a & SA_UNUSABLE),
    };
}

void x86_cpu_set_regs(X86CPU *cpu, const X86Registers *r)
{
    for (int k = 0; k < 8; k++) {
        cpu->r[k].q = (uint32_t)r->gpr[k];
    }
    cpu->r[R_ZERO].q = 0;
    cpu->eip = (uint32_t)r->rip;
    cpu->eflags = ((uint32_t)r->rflags & FL_ALL) | 0x2;
    cpu->cc_op = CC_EFLAGS;
    cpu->cr0 = (uint32_t)r->cr0 | CR0_ET;
    cpu->cr2 = (uint32_t)r->cr2;
    cpu->cr3 = (uint32_t)r->cr3;
    cpu->cr4 = (uint32_t)r->cr4;
    cpu->efer = r->efer & X86_EFER_NXE;
    cpu->apic_base = r->apic_base;
    cpu->gdt_base = (uint32_t)r->gdt.base;
    cpu->gdt_limit = r->gdt.limit;
    cpu->idt_base = (uint32_t)r->idt.base;
    cpu->idt_limit = r->idt.limit;
    for (int s = 0; s < 8; s++) {
        X86Seg *sg = &cpu->seg[s];
        sg->sel = r->seg[s].selector;
        sg->base = (uint32_t)r->seg[s].base;
        sg->limit = r->seg[s].limit;
        sg->attr = seg_attr_from(&r->seg[s]);
    }
    if (!(cpu->cr0 & CR0_PE)) {
        cpu->cpl = 0;
    } else if (cpu->eflags & FL_VM) {
        cpu->cpl = 3;
    } else {
        cpu->cpl = (cpu->seg[R_SS].attr & SA_DPL) >> SA_DPL_SHIFT;
    }
    cpu->halted = false;
    cpu->irq_shadow = false;
    cpu->movss_shadow = false;
    cpu->dbg_trap = false;
    cpu->dbg_dr6 = 0;
    cpu->rf_clear = (cpu->eflags & FL_RF) != 0;
    cpu->shutdown = false;
    cpu->nmi_pending = cpu->nmi_blocked = false;
    cpu->delivering = -1;
    cpu->a20_cached = cpu->bus.a20 ? *cpu->bus.a20 : true;
    cpu->a20_mask = cpu->a20_cached ? 0xffffffffu : ~(1u << 20);
    cpu->as_gen = as_generation(cpu->bus.as);
    if ((cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE)) {
        for (int k = 0; k < 4; k++) {
            cpu->pdpte[k] = x86_phys_ld64(cpu, (cpu->cr3 & 0xffffffe0u) + 8 * k);
        }
    }
    x86_update_mode(cpu);
    x86_tlb_flush(cpu, true);
}

void x86_cpu_get_regs(X86CPU *cpu, X86Registers *r)
{
    memset(r, 0, sizeof(*r));
    for (int k = 0; k < 8; k++) {
        r->gpr[k] = cpu->r[k].d;
    }
    r->rip = cpu->eip;
    r->rflags = x86_get_eflags(cpu);
    for (int s = 0; s < 8; s++) {
        seg_to(&cpu->seg[s], &r->seg[s]);
    }
    r->gdt.base = cpu->gdt_base;
    r->gdt.limit = cpu->gdt_limit;
    r->idt.base = cpu->idt_base;
    r->idt.limit = cpu->idt_limit;
    r->cr0 = cpu->cr0;
    r->cr2 = cpu->cr2;
    r->cr3 = cpu->cr3;
    r->cr4 = cpu->cr4;
    r->efer = cpu->efer;
    r->apic_base = cpu->apic_base;
}

void x86_cpu_kick(X86CPU *cpu)
{
    __atomic_store_n(&cpu->exit_request, 1, __ATOMIC_RELEASE);
}

bool x86_cpu_halted(X86CPU *cpu)
{
    return cpu->halted;
}

bool x86_cpu_interrupts_enabled(X86CPU *cpu)
{
    return cpu->eflags & FL_IF;
}

void x86_cpu_nmi(X86CPU *cpu)
{
    cpu->nmi_pending = true;
    x86_cpu_kick(cpu);          /* the loop looks at NMIs on its exit path */
}

void x86_cpu_get_nmi_state(X86CPU *cpu, bool *pending, bool *blocked)
{
    *pending = cpu->nmi_pending;
    *blocked = cpu->nmi_blocked;
}

void x86_cpu_set_nmi_state(X86CPU *cpu, bool pending, bool blocked)
{
    cpu->nmi_pending = pending;
    cpu->nmi_blocked = blocked;
    if (pending) {
        x86_cpu_kick(cpu);
    }
}

void x86_cpu_set_pause_exit(X86CPU *cpu, bool on)
{
    cpu->pause_exit = on;
}

void x86_cpu_set_single_step(X86CPU *cpu, bool on)
{
    cpu->single_step = on;
    x86_update_mode(cpu);
}

void x86_cpu_set_exception_exit(X86CPU *cpu, bool on)
{
    cpu->exception_exit = on;
}

void x86_cpu_last_exception(X86CPU *cpu, int *vector, int *error_code)
{
    *vector = cpu->last_vector;
    *error_code = cpu->last_error;
}

bool x86_cpu_jit_enabled(X86CPU *cpu)
{
    return cpu->jit_threshold != UINT32_MAX;
}

void x86_cpu_get_stats(X86CPU *cpu, X86CPUStats *st)
{
    *st = cpu->stats;
}

/* An external interrupt: the controller's vector, delivered between
 * instructions. */
static bool take_interrupt(X86CPU *cpu)
{
    int vec = cpu->bus.intack ? cpu->bus.intack(cpu->bus.opaque) : -1;
    x86_check_as_generation(cpu);
    if (vec < 0) {
        return false;
    }
    cpu->halted = false;
    cpu->delivering = 0x100;        /* benign: faults are handled serially */
    x86_deliver(cpu, vec & 0xff, -1, false, cpu->eip, false);
    cpu->delivering = -1;
    return true;
}

/* A pending NMI, when nothing blocks it.  NMIs stay blocked until the
 * next IRET (ops-ctrl.c), which makes the loop look again. */
static bool take_nmi(X86CPU *cpu)
{
    if (!cpu->nmi_pending || cpu->nmi_blocked || cpu->irq_shadow) {
        return false;
    }
    cpu->nmi_pending = false;
    cpu->nmi_blocked = true;
    cpu->halted = false;
    cpu->delivering = 0x100;
    x86_deliver(cpu, EXC_NMI, -1, false, cpu->eip, false);
    cpu->delivering = -1;
    return true;
}

static X86Exit exec_loop(X86CPU *cpu)
{
    cpu->cur_insn = NULL;
    x86_check_as_generation(cpu);

    if (sigsetjmp(cpu->jmp, 0) != 0) {
        cpu->cur_insn = NULL;
        cpu->jit_link_site = NULL;
        cpu->ibp_skip_fetch = false;    /* a fault in x86_dbg_enter's lookup */
        x86_code_reap(cpu);
        if (cpu->jmp_reason == 1) {
            if (cpu->exception_exit) {
                cpu->delivering = -1;
                return X86_EXIT_EXCEPTION;
            }
            if (unlikely(cpu->trace)) {
                fprintf(stderr, "x86: exception %d error %d at %04x:%08x\n", cpu->last_vector,
                        cpu->last_error, cpu->seg[R_CS].sel, cpu->eip);
            }
            if (!x86_exception_dispatch(cpu)) {
                return X86_EXIT_SHUTDOWN;
            }
        }
    }
    for (;;) {
        if (unlikely(cpu->exit_request)) {
            if (unlikely(cpu->nmi_pending) && take_nmi(cpu)) {
                continue;
            }
            __atomic_store_n(&cpu->exit_request, 0, __ATOMIC_RELAXED);
            return X86_EXIT_REQUEST;
        }
        if (unlikely(cpu->shutdown)) {
            return X86_EXIT_SHUTDOWN;
        }
        if (cpu->bus.intr_line && *cpu->bus.intr_line && (cpu->eflags & FL_IF) &&
            !cpu->irq_shadow) {
            if (take_interrupt(cpu)) {
                continue;
            }
        }
        if (cpu->halted) {
            return X86_EXIT_HLT;
        }
        if (cpu->budget <= 0) {
            return X86_EXIT_BUDGET;
        }

        /* Interrupt shadow, TF, RF, a pending #DB trap (debug.c). */
        uint32_t slow = cpu->loop_slow;
        X86Block *b;
        if (unlikely(slow)) {
            bool shadow = cpu->irq_shadow;
            b = x86_dbg_enter(cpu);
            if (!b) {
                continue;       /* a debug trap was delivered instead */
            }
            if (shadow && cpu->nmi_pending) {
                x86_cpu_kick(cpu);      /* look at the NMI after this insn */
            }
        } else {
            b = x86_block_lookup(cpu);
        }
        cpu->budget -= b->ninsns;
        cpu->cur_block = b;
        if (unlikely(cpu->trace)) {
            fprintf(stderr, "x86: %04x:%08x %s cpl %d fl %08x eax %08x esp %08x (%u insns)\n",
                    cpu->seg[R_CS].sel, cpu->eip, (cpu->mode & BM_VM86) ? "v86" :
                    (cpu->mode & BM_PROT) ? "prot" : "real", cpu->cpl, x86_get_eflags(cpu),
                    cpu->r[R_EAX].d, cpu->r[R_ESP].d, b->ninsns);
        }
        X86Insn *i;
        if (b->jit_body) {
            i = x86_jit_run(cpu, b);
        } else if (unlikely(++b->hits >= cpu->jit_threshold) && x86_jit_translate(cpu, b)) {
            i = x86_jit_run(cpu, b);
        } else {
            i = b->insns;
        }
        while (i) {
            /* Host code returns here with the instruction the interpreter
             * goes on with: often the first of a block it chained to
             * through a handler, which may have host code itself. */
            X86Block *cb = cpu->cur_block;
            if (i == cb->insns && cb->jit_body) {
                i = x86_jit_run(cpu, cb);
                continue;
            }
            do {
                cpu->cur_insn = i;
                i = i->fn(cpu, i);
            } while (i);
        }
        if (cpu->jit_link_site) {
            x86_jit_link(cpu);
        }
        cpu->cur_insn = NULL;
        x86_code_reap(cpu);

        if (unlikely(slow)) {
            x86_dbg_leave(cpu, slow);   /* single-step and other #DB traps */
        }
    }
}

X86Exit x86_cpu_exec(X86CPU *cpu, int64_t budget)
{
    cpu->budget = budget;
    X86Exit r = exec_loop(cpu);
    cpu->stats.insns += budget - cpu->budget;
    return r;
}
