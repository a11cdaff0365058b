/*
 * The PCI bus 0 of the PC: configuration mechanism #1, type 0 headers with
 * write masks, BAR sizing and mapping, INTx to PIRQA-D, capability lists.
 * Reference: PCI Local Bus Specification 3.0: 3.2.2.3.2 (CONFIG_ADDRESS at
 * 0xcf8, CONFIG_DATA at 0xcfc), 6.1 (header), 6.2.2 (command), 6.2.3
 * (status), 6.2.4 (interrupt line/pin), 6.2.5.1 (BARs and their sizing),
 * 6.7 (capabilities list).
 *
 * CONFIG_ADDRESS is reached only by dword accesses at 0xcf8; byte and word
 * accesses to 0xcf8-0xcfb pass on to whatever else decodes them (0xcf9 is
 * the PIIX3 reset control register, hw/piix3.c), here through the hook
 * pci_bus_set_port_cf9 offers.  Only bus 0 exists: cycles to other buses and
 * absent functions read all ones, writes to them are dropped.
 */
#include <errno.h>
#include <string.h>
#include "hw/pci.h"
#include "vmstate.h"
#include "log.h"

struct PciBus {
    AddressSpace *as;
    uint32_t config_address;    /* CONFIG_ADDRESS, 0xcf8 */
    PciDevice *dev[PCI_MAX_DEVFN];
    PciPirqHandler pirq_fn;
    void *pirq_opaque;
    int pirq_count[PCI_NUM_PIRQS];  /* functions asserting each PIRQ */
    PciPortHook port_cf9;       /* byte at 0xcf9 (the PIIX3 reset control) */
};

/* --- masks and registers ------------------------------------------------ */

static void set_mask_word(uint8_t *mask, uint32_t addr, uint16_t v)
{
    pci_set_word(mask + addr, v);
}

void pci_device_init(PciDevice *d, const char *name, uint16_t vendor,
                     uint16_t device, uint32_t class_code, uint8_t revision)
{
    memset(d, 0, sizeof(*d));
    d->devfn = -1;
    d->name = name;
    pci_set_word(d->config + PCI_VENDOR_ID, vendor);
    pci_set_word(d->config + PCI_DEVICE_ID, device);
    d->config[PCI_REVISION_ID] = revision;
    d->config[PCI_CLASS_PROG] = class_code & 0xff;
    pci_set_word(d->config + PCI_CLASS_DEVICE, class_code >> 8);
    pci_set_word(d->config + PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
    set_mask_word(d->wmask, PCI_COMMAND,
                  PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                  PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
                  PCI_COMMAND_INTX_DISABLE);
    set_mask_word(d->w1cmask, PCI_STATUS, PCI_STATUS_W1C);
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->wmask[PCI_LATENCY_TIMER] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    d->cap_next = PCI_CONFIG_HEADER_SIZE;
}

void pci_config_set_subsystem(PciDevice *d, uint16_t vendor, uint16_t id)
{
    pci_set_word(d->config + PCI_SUBSYSTEM_VENDOR_ID, vendor);
    pci_set_word(d->config + PCI_SUBSYSTEM_ID, id);
}

void pci_config_set_interrupt_pin(PciDevice *d, int pin)
{
    g_assert(pin >= 0 && pin <= 4);
    d->config[PCI_INTERRUPT_PIN] = pin;
}

static uint32_t bar_flags(PciBarType type)
{
    switch (type) {
    case PCI_BAR_IO:
        return PCI_BAR_SPACE_IO;
    case PCI_BAR_MEM32_PREFETCH:
        return PCI_BAR_MEM_TYPE_32 | PCI_BAR_MEM_PREFETCH;
    default:
        return PCI_BAR_MEM_TYPE_32;
    }
}

void pci_register_bar(PciDevice *d, int n, PciBarType type, uint32_t size,
                      const IoOps *ops, void *opaque)
{
    g_assert(n >= 0 && n < PCI_NUM_BARS && d->devfn < 0);
    g_assert(size && !(size & (size - 1)));
    g_assert(type == PCI_BAR_IO ? size >= 4 && size <= 256 : size >= 16);
    PciBar *b = &d->bar[n];
    b->type = type;
    b->size = size;
    b->ops = ops;
    b->opaque = opaque;
    uint32_t addr = PCI_BASE_ADDRESS_0 + 4 * n;
    /* The address bits above the size are writable; the low bits (size
     * and type) read back fixed, which is how sizing works (6.2.5.1). */
    pci_set_long(d->wmask + addr, ~(size - 1));
    pci_set_long(d->config + addr, bar_flags(type));
}

int pci_add_capability(PciDevice *d, uint8_t cap_id, unsigned size)
{
    unsigned off = (d->cap_next + 3) & ~3u;
    if (size < 2 || off + size > PCI_CONFIG_SPACE_SIZE) {
        return -ENOSPC;
    }
    d->config[off] = cap_id;
    d->config[off + 1] = 0;
    /* Append to the end of the list (the pointer's low 2 bits are 0). */
    uint8_t *link = &d->config[PCI_CAPABILITY_LIST];
    while (*link) {
        link = &d->config[*link + 1];
    }
    *link = off;
    d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    d->cap_next = off + size;
    return off;
}

/* --- BAR mapping ---------------------------------------------------------- */

static uint32_t bar_address(const PciDevice *d, int n)
{
    uint32_t v = pci_get_long(d->config + PCI_BASE_ADDRESS_0 + 4 * n);
    return d->bar[n].type == PCI_BAR_IO ? v & ~3u : v & ~15u;
}

/* Where BAR n decodes now, or false when it does not. */
static bool bar_target(const PciDevice *d, int n, uint32_t *addr)
{
    const PciBar *b = &d->bar[n];
    uint16_t cmd = pci_get_word(d->config + PCI_COMMAND);
    uint32_t a = bar_address(d, n);

    if (b->type == PCI_BAR_NONE || a == 0) {
        return false;
    }
    if (b->type == PCI_BAR_IO) {
        /* The PC has 64 KiB of I/O space. */
        if (!(cmd & PCI_COMMAND_IO) || (uint64_t)a + b->size > 0x10000) {
            return false;
        }
    } else {
        /* An address the sizing left behind (all ones) wraps past 4 GiB. */
        if (!(cmd & PCI_COMMAND_MEMORY) || (uint64_t)a + b->size > 0x100000000ULL) {
            return false;
        }
    }
    *addr = a;
    return true;
}

static void bar_unmap(PciDevice *d, int n)
{
    PciBar *b = &d->bar[n];
    if (!b->mapped) {
        return;
    }
    if (b->type == PCI_BAR_IO) {
        as_remove_ports(d->bus->as, b->mapped_addr);
    } else {
        as_remove(d->bus->as, b->mapped_addr);
    }
    b->mapped = false;
    b->mapped_addr = 0;
}

static void bar_update(PciDevice *d, int n)
{
    PciBar *b = &d->bar[n];
    uint32_t addr;
    bool want = d->bus && bar_target(d, n, &addr);

    if (b->mapped && want && b->mapped_addr == addr) {
        return;
    }
    bar_unmap(d, n);
    if (!want) {
        return;
    }
    int r;
    if (b->type == PCI_BAR_IO) {
        r = as_add_ports(d->bus->as, d->name, addr, b->size, b->ops, b->opaque);
    } else {
        r = as_add_mmio(d->bus->as, d->name, addr, b->size, b->ops, b->opaque);
    }
    if (r < 0) {
        /* Overlapping another region: the PCI device loses the decode. */
        vlog("pci %02x.%x %s: BAR%d at 0x%x (%u bytes) overlaps a region "
             "already mapped; left unmapped", PCI_SLOT(d->devfn),
             PCI_FUNC(d->devfn), d->name, n, addr, b->size);
        return;
    }
    b->mapped = true;
    b->mapped_addr = addr;
}

void pci_device_remap(PciDevice *d)
{
    for (int n = 0; n < PCI_NUM_BARS; n++) {
        bar_update(d, n);
    }
}

/* --- INTx ----------------------------------------------------------------- */

/* The level the function puts on its pin: asserted and not disabled. */
static bool intx_effective(const PciDevice *d)
{
    return d->irq_level && d->config[PCI_INTERRUPT_PIN] &&
           !(pci_get_word(d->config + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);
}

int pci_slot_pin_to_pirq(int slot, int pin)
{
    return (slot + pin - 2) & 3;
}

static void pirq_change(PciBus *bus, int pirq, int delta)
{
    int before = bus->pirq_count[pirq] > 0;
    bus->pirq_count[pirq] += delta;
    g_assert(bus->pirq_count[pirq] >= 0);
    int after = bus->pirq_count[pirq] > 0;
    if (before != after && bus->pirq_fn) {
        bus->pirq_fn(bus->pirq_opaque, pirq, after);
    }
}

/* Apply a change of the effective INTx level from `was` to now. */
static void intx_update(PciDevice *d, bool was)
{
    bool now = intx_effective(d);
    if (!d->bus || was == now) {
        return;
    }
    int pirq = pci_slot_pin_to_pirq(PCI_SLOT(d->devfn), d->config[PCI_INTERRUPT_PIN]);
    pirq_change(d->bus, pirq, now ? 1 : -1);
}

void pci_set_irq(PciDevice *d, int level)
{
    bool was = intx_effective(d);
    d->irq_level = level != 0;
    /* Interrupt Status follows the function's request, even when the
     * Interrupt Disable bit keeps it off the pin (6.2.3). */
    if (d->irq_level) {
        d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    } else {
        d->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
    }
    intx_update(d, was);
}

/* --- configuration access --------------------------------------------------- */

static uint32_t device_config_read(PciDevice *d, uint32_t addr, unsigned len)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < len; i++) {
        v |= (uint32_t)d->config[addr + i] << (8 * i);
    }
    if (d->config_read) {
        v = d->config_read(d, addr, v, len);
    }
    return v;
}

static void device_config_write(PciDevice *d, uint32_t addr, uint32_t val,
                                unsigned len)
{
    uint8_t old[PCI_CONFIG_SPACE_SIZE];
    bool intx_was = intx_effective(d);

    memcpy(old, d->config, sizeof(old));
    for (unsigned i = 0; i < len; i++) {
        unsigned a = addr + i;
        uint8_t b = val >> (8 * i);
        d->config[a] = (d->config[a] & ~d->wmask[a]) | (b & d->wmask[a]);
        d->config[a] &= ~(b & d->w1cmask[a]);
    }
    /* Command or BARs changed: decode follows. */
    if (addr < PCI_COMMAND + 2 && addr + len > PCI_COMMAND) {
        pci_device_remap(d);
        intx_update(d, intx_was);
    } else if (addr < PCI_BASE_ADDRESS_0 + 4 * PCI_NUM_BARS &&
               addr + len > PCI_BASE_ADDRESS_0) {
        pci_device_remap(d);
    }
    if (d->config_write) {
        d->config_write(d, addr, val, len, old);
    }
}

PciDevice *pci_bus_device(PciBus *bus, int devfn)
{
    return devfn >= 0 && devfn < PCI_MAX_DEVFN ? bus->dev[devfn] : NULL;
}

static bool config_args_ok(uint32_t addr, unsigned len)
{
    return (len == 1 || len == 2 || len == 4) && addr < PCI_CONFIG_SPACE_SIZE &&
           (addr & 3) + len <= 4;
}

uint32_t pci_bus_config_read(PciBus *bus, int devfn, uint32_t addr, unsigned len)
{
    PciDevice *d = pci_bus_device(bus, devfn);
    uint32_t ones = len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1;
    if (!d || !config_args_ok(addr, len)) {
        return ones;
    }
    return device_config_read(d, addr, len);
}

void pci_bus_config_write(PciBus *bus, int devfn, uint32_t addr, uint32_t val,
                          unsigned len)
{
    PciDevice *d = pci_bus_device(bus, devfn);
    if (d && config_args_ok(addr, len)) {
        device_config_write(d, addr, val, len);
    }
}

/* --- mechanism #1 ports ---------------------------------------------------- */

/* CONFIG_ADDRESS bits 30:24 and 1:0 are reserved and read 0. */
#define CONFIG_ADDRESS_MASK 0x80fffffcu

static uint64_t cf8_read(void *opaque, uint64_t offset, unsigned size)
{
    PciBus *bus = opaque;
    if (offset == 0 && size == 4) {
        return bus->config_address;
    }
    if (offset == 1 && size == 1 && bus->port_cf9.read) {
        return bus->port_cf9.read(bus->port_cf9.opaque);
    }
    return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

static void cf8_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PciBus *bus = opaque;
    if (offset == 0 && size == 4) {
        bus->config_address = value & CONFIG_ADDRESS_MASK;
    } else if (offset == 1 && size == 1 && bus->port_cf9.write) {
        bus->port_cf9.write(bus->port_cf9.opaque, value);
    }
}

static const IoOps cf8_ops = {
    .read = cf8_read,
    .write = cf8_write,
    .max_access = 4,
};

/* The devfn and register CONFIG_ADDRESS selects on bus 0, or -1. */
static int config_target(PciBus *bus, uint32_t *reg)
{
    uint32_t a = bus->config_address;
    if (!(a & PCI_CONFIG_ENABLE) || ((a >> 16) & 0xff) != 0) {
        return -1;
    }
    *reg = a & 0xfc;
    return (a >> 8) & 0xff;
}

static uint64_t cfc_read(void *opaque, uint64_t offset, unsigned size)
{
    PciBus *bus = opaque;
    uint32_t reg;
    int devfn = config_target(bus, &reg);
    if (devfn < 0 || offset + size > 4) {
        return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
    return pci_bus_config_read(bus, devfn, reg + offset, size);
}

static void cfc_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    PciBus *bus = opaque;
    uint32_t reg;
    int devfn = config_target(bus, &reg);
    if (devfn >= 0 && offset + size <= 4) {
        pci_bus_config_write(bus, devfn, reg + offset, value, size);
    }
}

static const IoOps cfc_ops = {
    .read = cfc_read,
    .write = cfc_write,
    .max_access = 4,
};

/* --- bus ---------------------------------------------------------------- */

PciBus *pci_bus_new(AddressSpace *as)
{
    PciBus *bus = g_new0(PciBus, 1);
    bus->as = as;
    if (as_add_ports(as, "pci-config-address", PCI_CONFIG_ADDRESS, 4,
                     &cf8_ops, bus) < 0) {
        g_free(bus);
        return NULL;
    }
    if (as_add_ports(as, "pci-config-data", PCI_CONFIG_DATA, 4, &cfc_ops, bus) < 0) {
        as_remove_ports(as, PCI_CONFIG_ADDRESS);
        g_free(bus);
        return NULL;
    }
    return bus;
}

void pci_bus_free(PciBus *bus)
{
    if (!bus) {
        return;
    }
    for (int i = 0; i < PCI_MAX_DEVFN; i++) {
        g_assert(!bus->dev[i]);
    }
    as_remove_ports(bus->as, PCI_CONFIG_ADDRESS);
    as_remove_ports(bus->as, PCI_CONFIG_DATA);
    g_free(bus);
}

AddressSpace *pci_bus_as(PciBus *bus)
{
    return bus->as;
}

void pci_bus_set_pirq_handler(PciBus *bus, PciPirqHandler fn, void *opaque)
{
    bus->pirq_fn = fn;
    bus->pirq_opaque = opaque;
}

void pci_bus_set_port_cf9(PciBus *bus, const PciPortHook *hook)
{
    bus->port_cf9 = hook ? *hook : (PciPortHook){ 0 };
}

/* Function 0 says whether the slot has more functions (header type bit 7). */
static void update_multifunction(PciBus *bus, int slot)
{
    PciDevice *f0 = bus->dev[PCI_DEVFN(slot, 0)];
    if (!f0) {
        return;
    }
    bool multi = false;
    for (int fn = 1; fn < 8; fn++) {
        multi |= bus->dev[PCI_DEVFN(slot, fn)] != NULL;
    }
    if (multi) {
        f0->config[PCI_HEADER_TYPE] |= PCI_HEADER_MULTI_FUNCTION;
    } else {
        f0->config[PCI_HEADER_TYPE] &= ~PCI_HEADER_MULTI_FUNCTION;
    }
}

int pci_bus_add_device(PciBus *bus, PciDevice *d, int devfn)
{
    if (devfn < 0 || devfn >= PCI_MAX_DEVFN) {
        return -EINVAL;
    }
    if (bus->dev[devfn]) {
        return -EEXIST;
    }
    bus->dev[devfn] = d;
    d->bus = bus;
    d->devfn = devfn;
    update_multifunction(bus, PCI_SLOT(devfn));
    pci_device_remap(d);
    intx_update(d, false);
    return 0;
}

void pci_bus_remove_device(PciDevice *d)
{
    PciBus *bus = d->bus;
    if (!bus) {
        return;
    }
    for (int n = 0; n < PCI_NUM_BARS; n++) {
        bar_unmap(d, n);
    }
    if (intx_effective(d)) {
        pirq_change(bus, pci_slot_pin_to_pirq(PCI_SLOT(d->devfn),
                                              d->config[PCI_INTERRUPT_PIN]), -1);
    }
    bus->dev[d->devfn] = NULL;
    update_multifunction(bus, PCI_SLOT(d->devfn));
    d->bus = NULL;
    d->devfn = -1;
}

void pci_device_reset(PciDevice *d)
{
    bool was = intx_effective(d);
    pci_set_word(d->config + PCI_COMMAND, 0);
    uint16_t status = pci_get_word(d->config + PCI_STATUS);
    status &= ~PCI_STATUS_W1C;
    pci_set_word(d->config + PCI_STATUS, status);
    d->config[PCI_CACHE_LINE_SIZE] = 0;
    d->config[PCI_LATENCY_TIMER] = 0;
    d->config[PCI_INTERRUPT_LINE] = 0;
    for (int n = 0; n < PCI_NUM_BARS; n++) {
        if (d->bar[n].type != PCI_BAR_NONE) {
            pci_set_long(d->config + PCI_BASE_ADDRESS_0 + 4 * n,
                         bar_flags(d->bar[n].type));
        }
    }
    pci_device_remap(d);
    intx_update(d, was);
}

void pci_bus_reset(PciBus *bus)
{
    bus->config_address = 0;
    for (int i = 0; i < PCI_MAX_DEVFN; i++) {
        if (bus->dev[i]) {
            pci_device_reset(bus->dev[i]);
        }
    }
}

/* --- suspend ----------------------------------------------------------------- */

/* The configuration bytes are a function's PCI state; the BAR mappings and
 * the INTx contribution to its PIRQ follow from them and from irq_level. */
static void pci_device_pre_load(void *opaque)
{
    PciDevice *d = opaque;
    /* Take the function's INTx off its PIRQ while the fields change. */
    bool was = intx_effective(d);
    d->irq_level = 0;
    intx_update(d, was);
}

static int pci_device_post_load(void *opaque, uint32_t version, GError **errp)
{
    PciDevice *d = opaque;
    (void)version;
    (void)errp;
    pci_device_remap(d);
    intx_update(d, false);
    return 0;
}

const VMStateDescription pci_device_vmstate = {
    .name = "pci-device",
    .version = 1,
    .pre_load = pci_device_pre_load,
    .post_load = pci_device_post_load,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT8_ARRAY(PciDevice, config, PCI_CONFIG_SPACE_SIZE),
        VMSTATE_UINT8(PciDevice, irq_level),
        VMSTATE_END,
    },
};

const VMStateDescription pci_bus_vmstate = {
    .name = "pci-bus",
    .version = 1,
    .fields = (const VMStateField[]) {
        VMSTATE_UINT32(PciBus, config_address),
        VMSTATE_END,
    },
};
