/*
 * Exceptions and interrupts: raising a fault from inside an instruction,
 * the double-fault rules, and delivery through the real-mode IVT or the
 * protected-mode IDT (the gate logic lives in seg.c).
 * Reference: Intel SDM vol. 3, chapter 6 (6.3 sources, 6.5 exception
 * classification, 6.12 exception and interrupt handling, 6.15 table 6-5
 * "conditions for generating a double fault"), chapter 20 (real-address
 * mode interrupt handling).
 */
#include "x86-internal.h"

void x86_deliver_protected(X86CPU *cpu, int vec, int err, bool soft, uint32_t ret_eip,
                           bool is_int_insn);

void x86_raise(X86CPU *cpu, int vector, int error)
{
    if (cpu->cur_insn) {
        cpu->eip = cpu->cur_insn->eip;
    }
    cpu->last_vector = vector;
    cpu->last_error = error;
    cpu->jmp_reason = 1;
    cpu->stats.exceptions++;
    siglongjmp(cpu->jmp, 1);
}

void x86_raise_seg(X86CPU *cpu, int seg)
{
    x86_raise(cpu, seg == R_SS ? EXC_SS : EXC_GP, 0);
}

void x86_exit_to_loop(X86CPU *cpu)
{
    cpu->jmp_reason = 2;
    siglongjmp(cpu->jmp, 1);
}

static bool contributory(int v)
{
    return v == EXC_DE || (v >= EXC_TS && v <= EXC_GP);
}

static bool has_error_code(int v)
{
    return v == EXC_DF || (v >= EXC_TS && v <= EXC_PF) || v == EXC_AC;
}

static void deliver_real(X86CPU *cpu, int vec, uint32_t ret_eip)
{
    uint32_t ent = vec * 4;
    if (ent + 3 > cpu->idt_limit) {
        x86_raise(cpu, EXC_GP, -1);
    }
    uint32_t v = x86_ld_slow(cpu, cpu->idt_base + ent, 4, 0);
    uint32_t m = sp_mask(cpu), sp = cpu->r[R_ESP].d;
    uint32_t fl = x86_get_eflags(cpu);

    sp = (sp - 2) & m;
    st16(cpu, R_SS, sp, fl);
    sp = (sp - 2) & m;
    st16(cpu, R_SS, sp, cpu->seg[R_CS].sel);
    sp = (sp - 2) & m;
    st16(cpu, R_SS, sp, ret_eip);
    set_sp(cpu, sp);
    cpu->eflags = (fl & ~(FL_IF | FL_TF | FL_AC | FL_RF)) | 0x2;
    cpu->cc_op = CC_EFLAGS;
    x86_seg_set_real(cpu, R_CS, v >> 16);
    cpu->eip = v & 0xffff;
    x86_update_mode(cpu);
}

void x86_deliver(X86CPU *cpu, int vector, int error, bool soft, uint32_t ret_eip,
                 bool is_int_insn)
{
    cpu->halted = false;
    if (!(cpu->cr0 & CR0_PE)) {
        deliver_real(cpu, vector, ret_eip);
        return;
    }
    x86_deliver_protected(cpu, vector, error, soft, ret_eip, is_int_insn);
}

/* Deliver the exception recorded by x86_raise, applying the double-fault
 * rules against the exception that was being delivered, if any.  Returns
 * false on shutdown (triple fault). */
bool x86_exception_dispatch(X86CPU *cpu);

bool x86_exception_dispatch(X86CPU *cpu)
{
    int vec = cpu->last_vector, err = cpu->last_error;
    int prev = cpu->delivering;

    if (prev >= 0 && prev < 32) {
        if (prev == EXC_DF) {
            cpu->shutdown = true;
            return false;
        }
        if ((contributory(prev) && contributory(vec)) ||
            (prev == EXC_PF && (contributory(vec) || vec == EXC_PF))) {
            vec = EXC_DF;
            err = 0;
        }
    }
    if (!has_error_code(vec)) {
        err = -1;
    } else if (err < 0) {
        err = 0;
    }
    x86_dbg_fault(cpu);
    /* Faults push RF = 1, so that the handler returns into the instruction
     * without its instruction breakpoint firing again (SDM 17.3.1.1); not
     * the instruction-breakpoint #DB itself, nor the #DF abort. */
    if (!(vec == EXC_DB && cpu->dbg_ibp_fault) && vec != EXC_DF) {
        cpu->eflags |= FL_RF;
    }
    cpu->dbg_ibp_fault = false;
    cpu->delivering = vec;
    cpu->budget--;          /* a fault storm still ends the slice */
    x86_deliver(cpu, vec, err, false, cpu->eip, false);
    cpu->delivering = -1;
    return true;
}
