/*
 * The ACPI fixed-hardware power-management block (ACPI Specification 6.x,
 * 4.8 "ACPI Hardware Model", 4.8.3.1 PM1 event registers, 4.8.3.2 PM1
 * control registers, 4.8.3.3 power management timer):
 *
 *   base+0  PM1a_STS  16 bits, write 1 to clear
 *   base+2  PM1a_EN   16 bits
 *   base+4  PM1a_CNT  16 bits: SCI_EN always 1 (there is no SMI_CMD port,
 *                     ACPI mode is permanent), SLP_TYP and SLP_EN
 *   base+8  PM_TMR    32 bits (FADT TMR_VAL_EXT), 3.579545 MHz from the
 *                     virtual clock, read-only
 *
 * Writing SLP_EN with SLP_TYP = ACPI_SLP_TYP_S5 (the value the DSDT's \_S5
 * names) powers the machine off.  The SCI (GSI 9, level, active high) is up
 * while an enabled status bit is set: the timer's bit 31 toggling (TMR_STS)
 * or the fixed-feature power button (PWRBTN_STS).
 */
#include <string.h>
#include "hw/acpi.h"
#include "hw/pc.h"
#include "log.h"
#include "timer.h"
#include "vmstate.h"

#define PM1_SCI_EVENTS (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
                        ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
#define PM1_EN_IMPLEMENTED  (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | \
                             ACPI_PM1_SLPBTN | ACPI_PM1_RTC)
/* Control bits that hold a value (SLP_EN and GBL_RLS are write-only). */
#define PM1_CNT_STORED      (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | \
                             ACPI_PM1_SLP_TYP_MASK)

struct AcpiPm {
    Machine *m;
    uint16_t base;
    IrqLine *sci;
    VTimer *timer;          /* fires when bit 31 of the PM timer toggles */
    /* Guest-visible state. */
    uint16_t pm1_sts;
    uint16_t pm1_en;
    uint16_t pm1_cnt;
};

/* Timer ticks since the virtual clock started. */
static uint64_t pm_ticks(int64_t ns)
{
    if (ns < 0) {
        ns = 0;
    }
    return (uint64_t)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / NS_PER_SEC);
}

/* The first virtual time at which the tick count reaches `ticks`. */
static int64_t pm_ticks_to_ns(uint64_t ticks)
{
    unsigned __int128 ns = ((unsigned __int128)ticks * NS_PER_SEC +
                            ACPI_PM_TIMER_HZ - 1) / ACPI_PM_TIMER_HZ;
    return ns > INT64_MAX ? INT64_MAX : (int64_t)ns;
}

uint32_t acpi_pm_timer_value(AcpiPm *pm)
{
    return (uint32_t)pm_ticks(vclock_ns());
}

static void pm_update_sci(AcpiPm *pm)
{
    bool level = (pm->pm1_cnt & ACPI_PM1_SCI_EN) &&
                 (pm->pm1_sts & pm->pm1_en & PM1_SCI_EVENTS);
    irq_set(pm->sci, level);
}

static void pm_arm_timer(AcpiPm *pm)
{
    uint64_t now = pm_ticks(vclock_ns());
    uint64_t next = (now | 0x7fffffffULL) + 1;  /* next change of bit 31 */
    vtimer_mod(pm->timer, pm_ticks_to_ns(next));
}

static void pm_timer_fire(void *opaque)
{
    AcpiPm *pm = opaque;
    pm->pm1_sts |= ACPI_PM1_TMR;
    pm_update_sci(pm);
    pm_arm_timer(pm);
}

static void pm_sleep(AcpiPm *pm, unsigned slp_typ)
{
    if (slp_typ == ACPI_SLP_TYP_S5) {
        vlog("ACPI: guest entered S5 (soft off)");
        machine_request_shutdown(pm->m, SHUTDOWN_GUEST_POWEROFF, 0);
        return;
    }
    vlog("ACPI: sleep type %u is not supported; ignored", slp_typ);
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    AcpiPm *pm = opaque;
    uint8_t regs[ACPI_PM_LEN] = {0};
    uint32_t tmr = acpi_pm_timer_value(pm);
    uint64_t v = 0;

    regs[0] = pm->pm1_sts;
    regs[1] = pm->pm1_sts >> 8;
    regs[2] = pm->pm1_en;
    regs[3] = pm->pm1_en >> 8;
    regs[4] = pm->pm1_cnt;
    regs[5] = pm->pm1_cnt >> 8;
    for (int i = 0; i < 4; i++) {
        regs[ACPI_PM_TMR_OFF + i] = tmr >> (8 * i);
    }
    for (unsigned i = 0; i < size && off + i < ACPI_PM_LEN; i++) {
        v |= (uint64_t)regs[off + i] << (8 * i);
    }
    return v;
}

static void pm_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    AcpiPm *pm = opaque;
    bool sleep = false;

    for (unsigned i = 0; i < size && off + i < ACPI_PM_LEN; i++) {
        uint16_t byte = (v >> (8 * i)) & 0xff;
        unsigned reg = off + i;
        unsigned shift = (reg & 1) * 8;
        uint16_t mask = 0xff << shift;
        switch (reg) {
        case 0: case 1:         /* PM1_STS: write 1 to clear */
            pm->pm1_sts &= ~(byte << shift);
            break;
        case 2: case 3:         /* PM1_EN */
            pm->pm1_en = ((pm->pm1_en & ~mask) | (byte << shift)) &
                         PM1_EN_IMPLEMENTED;
            break;
        case 4: case 5:         /* PM1_CNT */
            pm->pm1_cnt = ((pm->pm1_cnt & ~mask) | (byte << shift)) &
                          PM1_CNT_STORED;
            pm->pm1_cnt |= ACPI_PM1_SCI_EN;
            if ((byte << shift) & ACPI_PM1_SLP_EN) {
                sleep = true;
            }
            break;
        default:                /* reserved bytes and the read-only timer */
            break;
        }
    }
    pm_update_sci(pm);
    if (sleep) {
        pm_sleep(pm, (pm->pm1_cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT);
    }
}

static const IoOps pm_ops = { pm_read, pm_write, 4 };

void acpi_pm_reset(AcpiPm *pm)
{
    pm->pm1_sts = 0;
    pm->pm1_en = 0;
    pm->pm1_cnt = ACPI_PM1_SCI_EN;
    pm_update_sci(pm);
    pm_arm_timer(pm);
}

static void pm_reset_hook(void *opaque)
{
    acpi_pm_reset(opaque);
}

void acpi_pm_press_power_button(AcpiPm *pm)
{
    pm->pm1_sts |= ACPI_PM1_PWRBTN;
    pm_update_sci(pm);
}

static int pm_post_load(void *opaque, uint32_t version, GError **errp)
{
    AcpiPm *pm = opaque;
    pm->pm1_en &= PM1_EN_IMPLEMENTED;
    pm->pm1_cnt = (pm->pm1_cnt & PM1_CNT_STORED) | ACPI_PM1_SCI_EN;
    pm_update_sci(pm);
    return 0;
}

const VMStateDescription acpi_pm_vmstate = {
    .name = "acpi-pm",
    .version = 1,
    .post_load = pm_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT16(AcpiPm, pm1_sts),
        VMSTATE_UINT16(AcpiPm, pm1_en),
        VMSTATE_UINT16(AcpiPm, pm1_cnt),
        VMSTATE_VTIMER(AcpiPm, timer),
        VMSTATE_END
    },
};

AcpiPm *acpi_pm_new(Machine *m)
{
    AcpiPm *pm = g_new0(AcpiPm, 1);
    pm->m = m;
    pm->base = ACPI_PM_BASE;
    pm->sci = m->gsi[ACPI_SCI_GSI];
    pm->timer = vtimer_new(pm_timer_fire, pm);
    as_add_ports(m->as, "acpi-pm", pm->base, ACPI_PM_LEN, &pm_ops, pm);
    machine_add_reset_hook(m, pm_reset_hook, pm);
    acpi_pm_reset(pm);
    return pm;
}

void acpi_pm_free(AcpiPm *pm)
{
    if (!pm) {
        return;
    }
    as_remove_ports(pm->m->as, pm->base);
    vtimer_free(pm->timer);
    g_free(pm);
}
