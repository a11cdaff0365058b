/*
 * X86Registers <-> KVM's register structures (api.rst 4.11-4.14,
 * KVM_GET/SET_REGS and KVM_GET/SET_SREGS).  Segment fields are the
 * descriptor fields of the Intel SDM vol. 3, 3.4.5 on both sides; KVM's
 * limit, like ours, is already scaled by the granularity bit.
 */
#include <string.h>
#include "kvm-internal.h"

static void seg_to_kvm(const X86Segment *in, struct kvm_segment *out)
{
    *out = (struct kvm_segment){
        .base = in->base,
        .limit = in->limit,
        .selector = in->selector,
        .type = in->type,
        .present = in->present,
        .dpl = in->dpl,
        .db = in->db,
        .s = in->s,
        .l = in->l,
        .g = in->g,
        .avl = in->avl,
        .unusable = in->unusable,
    };
}

static void seg_from_kvm(const struct kvm_segment *in, X86Segment *out)
{
    *out = (X86Segment){
        .selector = in->selector,
        .base = in->base,
        .limit = in->limit,
        .type = in->type,
        .s = in->s,
        .dpl = in->dpl,
        .present = in->present,
        .db = in->db,
        .l = in->l,
        .g = in->g,
        .avl = in->avl,
        .unusable = in->unusable,
    };
}

/* Our segment index -> the matching field of kvm_sregs. */
static struct kvm_segment *sregs_seg(struct kvm_sregs *sr, int i)
{
    switch (i) {
    case X86_SEG_ES: return &sr->es;
    case X86_SEG_CS: return &sr->cs;
    case X86_SEG_SS: return &sr->ss;
    case X86_SEG_DS: return &sr->ds;
    case X86_SEG_FS: return &sr->fs;
    case X86_SEG_GS: return &sr->gs;
    case X86_SEG_LDTR: return &sr->ldt;
    default: return &sr->tr;
    }
}

static void gprs_to_kvm(const X86Registers *r, struct kvm_regs *k)
{
    k->rax = r->gpr[X86_RAX];
    k->rcx = r->gpr[X86_RCX];
    k->rdx = r->gpr[X86_RDX];
    k->rbx = r->gpr[X86_RBX];
    k->rsp = r->gpr[X86_RSP];
    k->rbp = r->gpr[X86_RBP];
    k->rsi = r->gpr[X86_RSI];
    k->rdi = r->gpr[X86_RDI];
    k->r8 = r->gpr[X86_R8];
    k->r9 = r->gpr[X86_R9];
    k->r10 = r->gpr[X86_R10];
    k->r11 = r->gpr[X86_R11];
    k->r12 = r->gpr[X86_R12];
    k->r13 = r->gpr[X86_R13];
    k->r14 = r->gpr[X86_R14];
    k->r15 = r->gpr[X86_R15];
    k->rip = r->rip;
    k->rflags = r->rflags;
}

static void gprs_from_kvm(const struct kvm_regs *k, X86Registers *r)
{
    r->gpr[X86_RAX] = k->rax;
    r->gpr[X86_RCX] = k->rcx;
    r->gpr[X86_RDX] = k->rdx;
    r->gpr[X86_RBX] = k->rbx;
    r->gpr[X86_RSP] = k->rsp;
    r->gpr[X86_RBP] = k->rbp;
    r->gpr[X86_RSI] = k->rsi;
    r->gpr[X86_RDI] = k->rdi;
    r->gpr[X86_R8] = k->r8;
    r->gpr[X86_R9] = k->r9;
    r->gpr[X86_R10] = k->r10;
    r->gpr[X86_R11] = k->r11;
    r->gpr[X86_R12] = k->r12;
    r->gpr[X86_R13] = k->r13;
    r->gpr[X86_R14] = k->r14;
    r->gpr[X86_R15] = k->r15;
    r->rip = k->rip;
    r->rflags = k->rflags;
}

int kvm_vcpu_set_regs(KvmVcpu *v, const X86Registers *regs)
{
    struct kvm_regs kr = {0};
    struct kvm_sregs sr;
    int ret;

    /* Start from the current special registers so that what X86Registers
     * does not describe (the pending-interrupt bitmap) is kept. */
    ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &sr);
    if (ret < 0) {
        return ret;
    }
    for (int i = 0; i < X86_NR_SEGS; i++) {
        seg_to_kvm(&regs->seg[i], sregs_seg(&sr, i));
    }
    sr.gdt = (struct kvm_dtable){ .base = regs->gdt.base, .limit = regs->gdt.limit };
    sr.idt = (struct kvm_dtable){ .base = regs->idt.base, .limit = regs->idt.limit };
    sr.cr0 = regs->cr0;
    sr.cr2 = regs->cr2;
    sr.cr3 = regs->cr3;
    sr.cr4 = regs->cr4;
    sr.cr8 = regs->cr8;
    sr.efer = regs->efer;
    if (v->s->kernel_irqchip) {
        sr.apic_base = regs->apic_base;
    }
    ret = kvm_ioctl(v->fd, KVM_SET_SREGS, &sr);
    if (ret < 0) {
        return ret;
    }
    gprs_to_kvm(regs, &kr);
    return kvm_ioctl(v->fd, KVM_SET_REGS, &kr);
}

int kvm_vcpu_get_regs(KvmVcpu *v, X86Registers *regs)
{
    struct kvm_regs kr;
    struct kvm_sregs sr;
    int ret;

    ret = kvm_ioctl(v->fd, KVM_GET_REGS, &kr);
    if (ret < 0) {
        return ret;
    }
    ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &sr);
    if (ret < 0) {
        return ret;
    }
    memset(regs, 0, sizeof(*regs));
    gprs_from_kvm(&kr, regs);
    for (int i = 0; i < X86_NR_SEGS; i++) {
        seg_from_kvm(sregs_seg(&sr, i), &regs->seg[i]);
    }
    regs->gdt = (X86Table){ .base = sr.gdt.base, .limit = sr.gdt.limit };
    regs->idt = (X86Table){ .base = sr.idt.base, .limit = sr.idt.limit };
    regs->cr0 = sr.cr0;
    regs->cr2 = sr.cr2;
    regs->cr3 = sr.cr3;
    regs->cr4 = sr.cr4;
    regs->cr8 = sr.cr8;
    regs->efer = sr.efer;
    regs->apic_base = sr.apic_base;
    return 0;
}
