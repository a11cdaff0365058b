/*
 * The I/O APIC, modelled on the Intel 82093AA (version 0x11, 24 redirection
 * entries).  Reference: 82093AA datasheet (order 290566), 3.1 (IOREGSEL,
 * IOWIN), 3.2 (IOAPICID, IOAPICVER, IOAPICARB, IOREDTBL0-23).
 *
 * Each input pin has an electrical level; an entry's polarity bit says
 * which level asserts it.  Edge-triggered entries send a message on each
 * change to asserted while unmasked (an edge on a masked pin is lost).
 * Level-triggered fixed and lowest-priority entries send while the pin is
 * asserted, unmasked and Remote IRR is 0; Remote IRR is set when a local
 * APIC accepts the message and cleared by an EOI with the entry's vector,
 * after which a still-asserted pin is sent again.  NMI, INIT and ExtINT
 * entries work on edges (the datasheet requires them edge-triggered).
 *
 * Choices:
 *   - Messages are delivered at once: Delivery Status always reads 0.
 *   - Physical destinations use the whole byte 63:56 (xAPIC IDs up to
 *     254); the 82093AA itself compares bits 59:56 only.
 *   - Writing an entry with the trigger mode set to edge clears Remote IRR
 *     (the datasheet leaves Remote IRR undefined for edge entries; OSes use
 *     an edge/level toggle to clear a stuck Remote IRR on this version,
 *     which has no EOI register).
 *   - Unmasking, or rewriting, a level entry whose pin is asserted sends it.
 *     A polarity change does not make an edge.
 *   - Registers are 32 bits at IOWIN (0x10); 1- and 2-byte accesses there
 *     read or update those bytes of the selected register.  Other offsets
 *     of the page read 0 and ignore writes.
 */
#include <glib.h>
#include "hw/ioapic.h"
#include "vmstate.h"

#define RTE_LOW_WRITABLE  (0xffu | 0x700u | (1u << 11) | IOAPIC_RTE_POLARITY_LOW | \
                           IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED)
#define RTE_DEST_MASK     0xff00000000000000ULL

static bool ioapic_asserted(const IOApic *s, int pin)
{
    bool level = (s->pin_level >> pin) & 1;
    return level != !!(s->redir[pin] & IOAPIC_RTE_POLARITY_LOW);
}

static unsigned rte_mode(uint64_t e)
{
    return (e >> APIC_DM_SHIFT) & 7;
}

/* Level semantics apply to fixed and lowest-priority entries only. */
static bool rte_level(uint64_t e)
{
    return (e & IOAPIC_RTE_LEVEL) && rte_mode(e) <= APIC_DM_LOWEST;
}

static int ioapic_send(IOApic *s, int pin)
{
    uint64_t e = s->redir[pin];
    ApicMessage msg = {
        .vector = e & APIC_VECTOR_MASK,
        .delivery = rte_mode(e),
        .logical = e & APIC_ICR_LOGICAL,
        .level_trigger = rte_level(e),
        .assert = true,
        .shorthand = APIC_SH_NONE,
        .dest = e >> 56,
        .source = -1,
    };
    return s->bus ? apic_bus_deliver(s->bus, &msg) : 0;
}

/* Send a level-triggered entry if it is due. */
static void ioapic_service_level(IOApic *s, int pin)
{
    uint64_t e = s->redir[pin];
    if (!rte_level(e) || (e & (IOAPIC_RTE_MASKED | IOAPIC_RTE_REMOTE_IRR)) ||
        !ioapic_asserted(s, pin)) {
        return;
    }
    if (ioapic_send(s, pin) > 0) {
        s->redir[pin] |= IOAPIC_RTE_REMOTE_IRR;
    }
}

void ioapic_set_pin(IOApic *s, int pin, int level)
{
    if (pin < 0 || pin >= IOAPIC_NUM_PINS) {
        return;
    }
    bool was = ioapic_asserted(s, pin);
    if (level) {
        s->pin_level |= 1u << pin;
    } else {
        s->pin_level &= ~(1u << pin);
    }
    bool now = ioapic_asserted(s, pin);
    uint64_t e = s->redir[pin];

    if (e & IOAPIC_RTE_MASKED) {
        return;
    }
    if (rte_level(e)) {
        ioapic_service_level(s, pin);
    } else if (now && !was) {
        ioapic_send(s, pin);
    }
}

void ioapic_eoi(IOApic *s, uint8_t vector)
{
    for (int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
        uint64_t e = s->redir[pin];
        if ((e & IOAPIC_RTE_REMOTE_IRR) && (e & APIC_VECTOR_MASK) == vector) {
            s->redir[pin] &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
            ioapic_service_level(s, pin);
        }
    }
}

static void ioapic_eoi_handler(void *opaque, uint8_t vector)
{
    ioapic_eoi(opaque, vector);
}

uint32_t ioapic_reg_read(IOApic *s, uint8_t reg)
{
    switch (reg) {
    case IOAPIC_REG_ID:
        return (uint32_t)s->id << 24;
    case IOAPIC_REG_VERSION:
        return ((IOAPIC_NUM_PINS - 1) << 16) | IOAPIC_VERSION;
    case IOAPIC_REG_ARB:
        return (uint32_t)s->arb_id << 24;
    }
    if (reg >= IOAPIC_REG_REDTBL && reg < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
        uint64_t e = s->redir[(reg - IOAPIC_REG_REDTBL) / 2];
        return (reg & 1) ? e >> 32 : (uint32_t)e;
    }
    return 0;
}

void ioapic_reg_write(IOApic *s, uint8_t reg, uint32_t value)
{
    if (reg == IOAPIC_REG_ID) {
        s->id = (value >> 24) & 0xf;
        s->arb_id = s->id;
        return;
    }
    if (reg < IOAPIC_REG_REDTBL || reg >= IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
        return;                 /* version, arbitration: read-only */
    }
    int pin = (reg - IOAPIC_REG_REDTBL) / 2;
    uint64_t e = s->redir[pin];
    if (reg & 1) {
        e = (e & ~RTE_DEST_MASK) | (((uint64_t)value << 32) & RTE_DEST_MASK);
        s->redir[pin] = e;
        return;
    }
    e = (e & ~(uint64_t)RTE_LOW_WRITABLE) | (value & RTE_LOW_WRITABLE);
    if (!(e & IOAPIC_RTE_LEVEL)) {
        e &= ~(uint64_t)IOAPIC_RTE_REMOTE_IRR;
    }
    s->redir[pin] = e;
    ioapic_service_level(s, pin);
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
    IOApic *s = opaque;
    uint64_t mask = size >= 4 ? 0xffffffffULL : (1ULL << (8 * size)) - 1;

    if (offset < 4) {
        return (offset == 0 ? s->regsel : 0) & mask;
    }
    if (offset >= IOAPIC_IOWIN && offset < IOAPIC_IOWIN + 4) {
        unsigned shift = 8 * (offset - IOAPIC_IOWIN);
        return (ioapic_reg_read(s, s->regsel) >> shift) & mask;
    }
    return 0;
}

static void ioapic_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    IOApic *s = opaque;

    if (offset == IOAPIC_IOREGSEL) {
        s->regsel = value & 0xff;
        return;
    }
    if (offset >= IOAPIC_IOWIN && offset < IOAPIC_IOWIN + 4) {
        unsigned shift = 8 * (offset - IOAPIC_IOWIN);
        uint32_t mask = size >= 4 ? 0xffffffffu : ((1u << (8 * size)) - 1) << shift;
        uint32_t old = ioapic_reg_read(s, s->regsel);
        ioapic_reg_write(s, s->regsel, (old & ~mask) | (((uint32_t)value << shift) & mask));
    }
}

static const IoOps ioapic_mmio_ops = {
    .read = ioapic_mmio_read,
    .write = ioapic_mmio_write,
    .max_access = 4,
};

void ioapic_reset(IOApic *s)
{
    s->regsel = 0;
    s->id = 0;
    s->arb_id = 0;
    for (int i = 0; i < IOAPIC_NUM_PINS; i++) {
        s->redir[i] = IOAPIC_RTE_MASKED;
    }
}

/* Interrupts already went out when the pins changed; the remote IRR bits
 * in the entries say which await their EOI. */
const VMStateDescription ioapic_vmstate = {
    .name = "ioapic",
    .version = 1,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8(IOApic, regsel),
        VMSTATE_UINT8(IOApic, id),
        VMSTATE_UINT8(IOApic, arb_id),
        VMSTATE_UINT32(IOApic, pin_level),
        VMSTATE_UINT64_ARRAY(IOApic, redir, IOAPIC_NUM_PINS),
        VMSTATE_END
    },
};

IOApic *ioapic_new(AddressSpace *as, uint64_t base, ApicBus *bus)
{
    IOApic *s = g_new0(IOApic, 1);
    s->as = as;
    s->base = base;
    s->bus = bus;
    if (as_add_mmio(as, "ioapic", base, IOAPIC_MMIO_SIZE, &ioapic_mmio_ops, s) < 0) {
        g_free(s);
        return NULL;
    }
    if (bus) {
        apic_bus_set_eoi_handler(bus, ioapic_eoi_handler, s);
    }
    ioapic_reset(s);
    return s;
}

void ioapic_free(IOApic *s)
{
    if (!s) {
        return;
    }
    as_remove(s->as, s->base);
    if (s->bus) {
        apic_bus_set_eoi_handler(s->bus, NULL, NULL);
    }
    g_free(s);
}
