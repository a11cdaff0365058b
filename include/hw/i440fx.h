/*
 * The Intel 82441FX PCI and Memory Controller (PMC) of the 440FX chipset:
 * the host bridge at 00:00.0.  Reference: Intel 82441FX PMC / 82442FX DBX
 * datasheet (order 290549), section 3.2 (configuration registers).
 */
#ifndef VMKEMU_HW_I440FX_H
#define VMKEMU_HW_I440FX_H

#include "hw/pci.h"

#define I440FX_DEVICE_ID    0x1237
#define I440FX_REVISION     0x02
#define I440FX_DEVFN        PCI_DEVFN(0, 0)

#define I440FX_PMCCFG       0x50    /* 16 */
#define I440FX_PAM0         0x59    /* PAM0-PAM6: 0x59-0x5f */
#define I440FX_PAM_COUNT    7
#define I440FX_DRB0         0x60    /* DRB0-DRB7: 0x60-0x67, 8 MiB units */
#define I440FX_DRB_COUNT    8
#define I440FX_SMRAM        0x72

/* SMRAM control (0x72). */
#define I440FX_SMRAM_D_OPEN     0x40
#define I440FX_SMRAM_D_CLS      0x20
#define I440FX_SMRAM_D_LCK      0x10
#define I440FX_SMRAM_G_SMRAME   0x08
#define I440FX_SMRAM_C_BASE_SEG 0x02    /* bits 2:0 = 010: 0xa0000, read-only */

typedef struct I440fx {
    PciDevice pci;
    uint64_t ram_below_4g;  /* for the DRB registers' reset values */
} I440fx;

/* The host bridge at 00:00.0 on `bus`; NULL if the slot is taken. */
I440fx *i440fx_new(PciBus *bus, uint64_t ram_below_4g);
void i440fx_free(I440fx *s);
void i440fx_reset(I440fx *s);

#endif
