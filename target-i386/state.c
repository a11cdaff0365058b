/*
 * The architectural state of the emulated CPU for suspend/resume, as a
 * vmstate table (include/vmstate.h; docs/std-format.md lists it).
 *
 * Saved: EAX-EDI, EIP, EFLAGS (the lazily computed arithmetic flags are
 * made concrete first), the eight segment registers with their hidden
 * descriptor caches (selector, base, limit, attributes), CPL, GDTR, IDTR,
 * CR0/2/3/4, EFER, DR0-DR7, the MSRs the CPU has (APIC base, TSC offset,
 * SYSENTER, PAT, MTRRs, MISC_ENABLE), the PAE PDPTE registers as loaded
 * from CR3 (SDM vol. 3, 4.4.1: they are not re-read until CR3 is written),
 * and the execution state between instructions: HLT and the STI/MOV SS
 * interrupt shadow.
 *
 * Not state: the decode cache and the soft TLB (both are emptied on load),
 * the segments' precomputed access ranges, the decode mode and the TLB
 * set, which follow from the saved registers.
 *
 * Version 2 added the x87 registers and environment (fpu.c: R0-R7, FCW,
 * FSW, TOP, the empty-tag bits, FOP, FCS:FIP, FDS:FDP; the MMX registers
 * are R0-R7's significands) and the SSE state (sse.c: XMM0-7, MXCSR).  A
 * version-1 stream leaves them at their reset values.
 */
#include "x86-internal.h"
#include "vmstate.h"

static const VMStateDescription x86_reg_vmstate = {
    .name = "x86-reg",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT64(X86Reg, q),
        VMSTATE_END
    },
};

static const VMStateDescription x86_seg_vmstate = {
    .name = "x86-seg",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT16(X86Seg, sel),
        VMSTATE_UINT32(X86Seg, base),
        VMSTATE_UINT32(X86Seg, limit),
        VMSTATE_UINT16(X86Seg, attr),
        VMSTATE_END
    },
};

static const VMStateDescription x86_f80_vmstate = {
    .name = "x86-f80",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT64(X86F80, mant),
        VMSTATE_UINT16(X86F80, se),
        VMSTATE_END
    },
};

static const VMStateDescription x86_fpu_vmstate = {
    .name = "x86-fpu",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_STRUCT_ARRAY(X86FPU, st, 8, x86_f80_vmstate, X86F80),
        VMSTATE_UINT16(X86FPU, fcw),
        VMSTATE_UINT16(X86FPU, fsw),
        VMSTATE_UINT8(X86FPU, top),
        VMSTATE_UINT8(X86FPU, tag_empty),
        VMSTATE_UINT16(X86FPU, fop),
        VMSTATE_UINT16(X86FPU, fcs),
        VMSTATE_UINT16(X86FPU, fds),
        VMSTATE_UINT32(X86FPU, fip),
        VMSTATE_UINT32(X86FPU, fdp),
        VMSTATE_END
    },
};

static const VMStateDescription x86_xmm_vmstate = {
    .name = "x86-xmm",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT64_ARRAY(X86Vec, q, 2),
        VMSTATE_END
    },
};

static const VMStateDescription x86_sse_vmstate = {
    .name = "x86-sse",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_STRUCT_ARRAY(X86SSEState, xmm, 8, x86_xmm_vmstate, X86Vec),
        VMSTATE_UINT32(X86SSEState, mxcsr),
        VMSTATE_END
    },
};

/* A struct member that joined the table in section version `v`. */
#define VMSTATE_STRUCT_V(st, f, sub, et, v) \
    { .name = #f, .offset = offsetof(st, f) + VMS_TYPE_IS(st, f, et), \
      .type = VMS_STRUCT, .size = sizeof(et), .vmsd = &(sub), .version_min = (v) }

static int x86_cpu_pre_save(void *opaque, GError **errp)
{
    X86CPU *cpu = opaque;
    x86_flags_materialize(cpu);
    return 0;
}

static int x86_cpu_post_load(void *opaque, uint32_t version, GError **errp)
{
    X86CPU *cpu = opaque;

    if (cpu->cpl > 3) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "CPL %u is not 0-3", cpu->cpl);
        return -1;
    }
    if (cpu->fpu.top > 7) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "x87 TOP %u is not 0-7",
                    cpu->fpu.top);
        return -1;
    }
    if (cpu->sse.mxcsr & ~MXCSR_WRITABLE) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "MXCSR %#x sets reserved bits", cpu->sse.mxcsr);
        return -1;
    }
    cpu->fpu.fsw &= ~0x3800u;                   /* TOP lives in fpu.top */
    for (int k = 0; k < R_ZERO; k++) {
        cpu->r[k].q = cpu->r[k].d;
    }
    cpu->r[R_ZERO].q = 0;
    cpu->eflags = (cpu->eflags & FL_ALL) | 0x2;
    cpu->cc_op = CC_EFLAGS;
    cpu->cr0 |= CR0_ET;
    cpu->efer &= X86_EFER_NXE;
    for (int s = 0; s < 8; s++) {
        cpu->seg[s].attr &= SA_TYPE | SA_S | SA_DPL | SA_P | SA_AVL | SA_L | SA_DB |
                            SA_G | SA_UNUSABLE;
    }
    /* Not between two halves of anything: no exception in delivery, no
     * shutdown pending (a shut-down CPU is never suspended). */
    cpu->delivering = -1;
    cpu->shutdown = false;
    cpu->a20_cached = cpu->bus.a20 ? *cpu->bus.a20 : true;
    cpu->a20_mask = cpu->a20_cached ? 0xffffffffu : ~(1u << 20);
    cpu->as_gen = as_generation(cpu->bus.as);
    /* Debug traps pending at the save are not in the stream: none. */
    cpu->dbg_trap = false;
    cpu->dbg_dr6 = 0;
    cpu->movss_shadow = false;
    cpu->rf_clear = (cpu->eflags & FL_RF) != 0;
    x86_update_mode(cpu);
    x86_dbg_update(cpu);
    x86_tlb_flush(cpu, true);
    x86_code_flush(cpu);
    x86_code_reap(cpu);
    return 0;
}

const VMStateDescription x86_cpu_vmstate = {
    .name = "x86-cpu",
    .version = 2,
    .pre_save = x86_cpu_pre_save,
    .post_load = x86_cpu_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_STRUCT_ARRAY(X86CPU, r, 9, x86_reg_vmstate, X86Reg),
        VMSTATE_UINT32(X86CPU, eip),
        VMSTATE_UINT32(X86CPU, eflags),
        VMSTATE_STRUCT_ARRAY(X86CPU, seg, 8, x86_seg_vmstate, X86Seg),
        VMSTATE_UINT8(X86CPU, cpl),
        VMSTATE_UINT32(X86CPU, gdt_base),
        VMSTATE_UINT16(X86CPU, gdt_limit),
        VMSTATE_UINT32(X86CPU, idt_base),
        VMSTATE_UINT16(X86CPU, idt_limit),
        VMSTATE_UINT32(X86CPU, cr0),
        VMSTATE_UINT32(X86CPU, cr2),
        VMSTATE_UINT32(X86CPU, cr3),
        VMSTATE_UINT32(X86CPU, cr4),
        VMSTATE_UINT64(X86CPU, efer),
        VMSTATE_UINT32_ARRAY(X86CPU, dr, 8),
        VMSTATE_UINT64(X86CPU, apic_base),
        VMSTATE_UINT64(X86CPU, tsc_offset),
        VMSTATE_UINT32(X86CPU, sysenter_cs),
        VMSTATE_UINT32(X86CPU, sysenter_esp),
        VMSTATE_UINT32(X86CPU, sysenter_eip),
        VMSTATE_UINT64(X86CPU, pat),
        VMSTATE_UINT64(X86CPU, mtrr_def_type),
        VMSTATE_UINT64_ARRAY(X86CPU, mtrr_fixed, 11),
        VMSTATE_UINT64_ARRAY(X86CPU, mtrr_var, 16),
        VMSTATE_UINT64(X86CPU, misc_enable),
        VMSTATE_UINT64_ARRAY(X86CPU, pdpte, 4),
        VMSTATE_BOOL(X86CPU, halted),
        VMSTATE_BOOL(X86CPU, irq_shadow),
        VMSTATE_STRUCT_V(X86CPU, fpu, x86_fpu_vmstate, X86FPU, 2),
        VMSTATE_STRUCT_V(X86CPU, sse, x86_sse_vmstate, X86SSEState, 2),
        VMSTATE_END
    },
};
