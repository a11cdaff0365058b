/*
 * Standard x86 register states (Intel SDM vol. 3, 9.1.1 "Processor State
 * After Reset", table 9-1).
 */
#include <string.h>
#include "x86-regs.h"

static void seg_set(X86Segment *s, uint16_t sel, uint64_t base, uint32_t limit,
                    uint8_t type, uint8_t s_bit, uint8_t db, uint8_t g)
{
    *s = (X86Segment){ .selector = sel, .base = base, .limit = limit,
                       .type = type, .s = s_bit, .present = 1, .db = db,
                       .g = g };
}

void x86_regs_reset(X86Registers *r)
{
    memset(r, 0, sizeof(*r));
    r->rip = 0xfff0;
    r->rflags = 0x2;
    r->gpr[X86_RDX] = 0x600;        /* family 6 signature in EDX */
    r->cr0 = X86_CR0_ET | X86_CR0_CD | X86_CR0_NW;
    seg_set(&r->seg[X86_SEG_CS], 0xf000, 0xffff0000, 0xffff, 0xb, 1, 0, 0);
    for (int i = 0; i < X86_SEG_LDTR; i++) {
        if (i != X86_SEG_CS) {
            seg_set(&r->seg[i], 0, 0, 0xffff, 0x3, 1, 0, 0);
        }
    }
    seg_set(&r->seg[X86_SEG_LDTR], 0, 0, 0xffff, 0x2, 0, 0, 0);
    seg_set(&r->seg[X86_SEG_TR], 0, 0, 0xffff, 0xb, 0, 0, 0);
    r->gdt.limit = 0xffff;
    r->idt.limit = 0xffff;
    r->apic_base = 0xfee00000 | (1u << 11) | (1u << 8);    /* enabled, BSP */
}

void x86_regs_flat32(X86Registers *r, uint16_t cs, uint16_t ds)
{
    x86_regs_reset(r);
    r->gpr[X86_RDX] = 0;
    r->rip = 0;
    r->cr0 = X86_CR0_PE | X86_CR0_ET;
    seg_set(&r->seg[X86_SEG_CS], cs, 0, 0xffffffff, 0xb, 1, 1, 1);
    for (int i = 0; i < X86_SEG_LDTR; i++) {
        if (i != X86_SEG_CS) {
            seg_set(&r->seg[i], ds, 0, 0xffffffff, 0x3, 1, 1, 1);
        }
    }
}
