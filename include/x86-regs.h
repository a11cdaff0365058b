/*
 * The architectural register state of one x86 CPU, as exchanged between the
 * machine (boot loaders, suspend/resume, the monitor) and an accelerator.
 * Segment fields follow the descriptor layout of the Intel SDM vol. 3, 3.4.5;
 * both the KVM backend and the emulator translate to and from this struct.
 */
#ifndef VMKEMU_X86_REGS_H
#define VMKEMU_X86_REGS_H

#include <stdint.h>

enum { X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
       X86_R8, X86_R9, X86_R10, X86_R11, X86_R12, X86_R13, X86_R14, X86_R15,
       X86_NR_GPRS };

enum { X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS,
       X86_SEG_LDTR, X86_SEG_TR, X86_NR_SEGS };

typedef struct X86Segment {
    uint16_t selector;
    uint64_t base;
    uint32_t limit;         /* byte granular, already scaled by G */
    uint8_t type;           /* 4-bit descriptor type */
    uint8_t s, dpl, present, db, l, g, avl;
    uint8_t unusable;       /* a null selector loaded in protected mode */
} X86Segment;

typedef struct X86Table {
    uint64_t base;
    uint16_t limit;
} X86Table;

typedef struct X86Registers {
    uint64_t gpr[X86_NR_GPRS];
    uint64_t rip;
    uint64_t rflags;
    X86Segment seg[X86_NR_SEGS];
    X86Table gdt, idt;
    uint64_t cr0, cr2, cr3, cr4, cr8;
    uint64_t efer;
    uint64_t apic_base;
} X86Registers;

/* Register state at power-on / INIT (SDM vol. 3, table 9-1): real mode,
 * CS.base = 0xffff0000, IP = 0xfff0. */
void x86_regs_reset(X86Registers *r);
/* Flat 32-bit protected mode: CS/DS/ES/SS/FS/GS 4 GiB flat, paging off,
 * interrupts off.  cs/ds are the selector values reported to the guest. */
void x86_regs_flat32(X86Registers *r, uint16_t cs, uint16_t ds);

#define X86_CR0_PE  (1u << 0)
#define X86_CR0_MP  (1u << 1)
#define X86_CR0_EM  (1u << 2)
#define X86_CR0_TS  (1u << 3)
#define X86_CR0_ET  (1u << 4)
#define X86_CR0_NE  (1u << 5)
#define X86_CR0_WP  (1u << 16)
#define X86_CR0_AM  (1u << 18)
#define X86_CR0_NW  (1u << 29)
#define X86_CR0_CD  (1u << 30)
#define X86_CR0_PG  (1u << 31)

#define X86_CR4_PSE (1u << 4)
#define X86_CR4_PAE (1u << 5)
#define X86_CR4_PGE (1u << 7)

#define X86_EFER_SCE (1u << 0)
#define X86_EFER_LME (1u << 8)
#define X86_EFER_LMA (1u << 10)
#define X86_EFER_NXE (1u << 11)

#define X86_FLAGS_IF (1u << 9)

#endif
