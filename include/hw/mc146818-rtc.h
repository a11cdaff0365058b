/*
 * Motorola MC146818A real-time clock plus RAM, as the PC/AT's RTC/CMOS at
 * ports 0x70 (index, bit 7 = NMI disable) and 0x71 (data), IRQ 8.
 * Reference: Motorola MC146818A datasheet (registers A-D, update cycle,
 * interrupts); IBM PC/AT Technical Reference (CMOS RAM map 0x0e-0x3f).
 */
#ifndef VMKEMU_HW_MC146818_RTC_H
#define VMKEMU_HW_MC146818_RTC_H

#include <stdbool.h>
#include <stdint.h>
#include "machine.h"

/* Register indexes. */
#define RTC_SECONDS         0x00
#define RTC_SECONDS_ALARM   0x01
#define RTC_MINUTES         0x02
#define RTC_MINUTES_ALARM   0x03
#define RTC_HOURS           0x04
#define RTC_HOURS_ALARM     0x05
#define RTC_DAY_OF_WEEK     0x06    /* 1-7, Sunday = 1 */
#define RTC_DAY_OF_MONTH    0x07
#define RTC_MONTH           0x08
#define RTC_YEAR            0x09
#define RTC_REG_A           0x0a
#define RTC_REG_B           0x0b
#define RTC_REG_C           0x0c
#define RTC_REG_D           0x0d
#define RTC_CENTURY         0x32    /* PC convention (ACPI FADT CENTURY) */

/* Register A */
#define RTC_A_UIP           0x80
#define RTC_A_DV_MASK       0x70
#define RTC_A_DV_32K        0x20    /* 010: 32.768 kHz time base, running */
#define RTC_A_RS_MASK       0x0f
/* Register B */
#define RTC_B_SET           0x80
#define RTC_B_PIE           0x40
#define RTC_B_AIE           0x20
#define RTC_B_UIE           0x10
#define RTC_B_SQWE          0x08
#define RTC_B_DM_BINARY     0x04
#define RTC_B_24H           0x02
#define RTC_B_DSE           0x01
/* Register C */
#define RTC_C_IRQF          0x80
#define RTC_C_PF            0x40
#define RTC_C_AF            0x20
#define RTC_C_UF            0x10
/* Register D */
#define RTC_D_VRT           0x80

/* Update-cycle timing with the 32.768 kHz time base (datasheet table 6):
 * UIP rises 244 us before the update cycle, which lasts 1984 us; the new
 * time, UF and AF appear when the cycle ends. */
#define MC146818_UIP_LEAD_NS        244000LL
#define MC146818_UPDATE_CYCLE_NS    1984000LL

/* PC CMOS RAM bytes written at machine creation. */
#define CMOS_SHUTDOWN_STATUS    0x0f
#define CMOS_FLOPPY_TYPES       0x10
#define CMOS_DISK_TYPES         0x12
#define CMOS_EQUIPMENT          0x14
#define CMOS_BASE_MEM_LO        0x15
#define CMOS_BASE_MEM_HI        0x16
#define CMOS_EXT_MEM_LO         0x17
#define CMOS_EXT_MEM_HI         0x18
#define CMOS_CHECKSUM_HI        0x2e
#define CMOS_CHECKSUM_LO        0x2f
#define CMOS_EXT_MEM2_LO        0x30    /* POST copy of 0x17/0x18 */
#define CMOS_EXT_MEM2_HI        0x31
#define CMOS_MEM_ABOVE_16M_LO   0x34    /* 64 KiB units, below 4 GiB */
#define CMOS_MEM_ABOVE_16M_HI   0x35
#define CMOS_BOOT_FLAG1         0x38    /* bits 7-4: third boot device */
#define CMOS_BOOT_FLAG2         0x3d    /* bits 3-0 first, 7-4 second */
#define CMOS_MEM_ABOVE_4G_LO    0x5b    /* 64 KiB units, 3 bytes */
#define CMOS_MEM_ABOVE_4G_MID   0x5c
#define CMOS_MEM_ABOVE_4G_HI    0x5d
#define CMOS_CPU_COUNT_MINUS_1  0x5f

typedef struct Mc146818Rtc Mc146818Rtc;

/* The chip alone: index/data ports at `port_base` and `port_base + 1`,
 * interrupt output on `irq` (active high, the PC's inverted IRQ 8), the
 * clock set to `utc_ns` (ns since 1970, UTC) at the current virtual time.
 * Registers start as a PC BIOS leaves them: A = 0x26, B = 0x02 (24 h, BCD).
 * NULL if the ports are taken. */
Mc146818Rtc *mc146818_rtc_new(AddressSpace *as, uint16_t port_base,
                              IrqLine *irq, int64_t utc_ns);
void mc146818_rtc_free(Mc146818Rtc *s);
/* The RESET pin: clears PIE, AIE, UIE, SQWE and the flags of register C,
 * lowers the IRQ; the time, register A and the RAM are kept. */
void mc146818_rtc_reset(Mc146818Rtc *s);

/* The machine's RTC: ports 0x70/0x71, m->gsi[8], host UTC now, the PC
 * CMOS bytes from the machine's RAM, CPU count and boot order, and a reset
 * hook.  NULL (with *errp set) if the ports are taken. */
Mc146818Rtc *mc146818_rtc_pc_new(Machine *m, GError **errp);

/* Fill the PC CMOS RAM bytes listed above and their checksum.
 * below_4g counts all RAM below 4 GiB (the 640K-1M hole included);
 * boot_order is a string of a (floppy), c (disk), d (CD-ROM), n (network).
 * Returns -EINVAL (and writes nothing) for another boot letter. */
int mc146818_rtc_fill_pc_cmos(Mc146818Rtc *s, uint64_t below_4g,
                              uint64_t above_4g, int ncpus,
                              const char *boot_order);

/* Raw CMOS RAM access for firmware loaders and tests (index 0x0e-0x7f;
 * the clock registers go through the same decoding as port 0x71). */
uint8_t mc146818_rtc_cmos_read(Mc146818Rtc *s, uint8_t index);
void mc146818_rtc_cmos_write(Mc146818Rtc *s, uint8_t index, uint8_t value);

/* Bit 7 of the last index written to port 0x70. */
bool mc146818_rtc_nmi_masked(const Mc146818Rtc *s);

/* The chip's state for suspend/resume (include/vmstate.h): registers, RAM,
 * the calendar and its time base on the virtual clock. */
extern const struct VMStateDescription mc146818_rtc_vmstate;

#endif
