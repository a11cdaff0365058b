/*
 * The PCI bus: configuration mechanism #1 (ports 0xcf8 / 0xcfc-0xcff), bus 0
 * with 32 devices x 8 functions, type 0 configuration headers, BARs mapped
 * into the machine's AddressSpace, INTx lines routed through PIRQA-D, and
 * capability lists.
 * Reference: PCI Local Bus Specification 3.0, chapter 3.2.2.3.2
 * (configuration mechanism #1) and chapter 6 (configuration space).
 * docs/pci.md says how a device model joins the bus.
 */
#ifndef VMKEMU_HW_PCI_H
#define VMKEMU_HW_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "memory.h"

/* Configuration mechanism #1 ports. */
#define PCI_CONFIG_ADDRESS      0xcf8
#define PCI_CONFIG_DATA         0xcfc
#define PCI_CONFIG_ENABLE       0x80000000u

#define PCI_DEVFN(slot, fn)     ((((slot) & 0x1f) << 3) | ((fn) & 7))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 7)
#define PCI_MAX_DEVFN           256

/* Type 0 header (PCI 3.0, 6.1). */
#define PCI_VENDOR_ID           0x00    /* 16 */
#define PCI_DEVICE_ID           0x02    /* 16 */
#define PCI_COMMAND             0x04    /* 16 */
#define PCI_STATUS              0x06    /* 16 */
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_CLASS_DEVICE        0x0a    /* 16: base class << 8 | subclass */
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_LATENCY_TIMER       0x0d
#define PCI_HEADER_TYPE         0x0e
#define PCI_BIST                0x0f
#define PCI_BASE_ADDRESS_0      0x10    /* 6 dwords */
#define PCI_CARDBUS_CIS         0x28
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d
#define PCI_MIN_GNT             0x3e
#define PCI_MAX_LAT             0x3f
#define PCI_CONFIG_HEADER_SIZE  0x40
#define PCI_CONFIG_SPACE_SIZE   0x100

#define PCI_HEADER_MULTI_FUNCTION 0x80

/* Command register bits. */
#define PCI_COMMAND_IO          0x0001
#define PCI_COMMAND_MEMORY      0x0002
#define PCI_COMMAND_MASTER      0x0004
#define PCI_COMMAND_PARITY      0x0040
#define PCI_COMMAND_SERR        0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

/* Status register bits. */
#define PCI_STATUS_INTERRUPT    0x0008  /* RO: INTx asserted by the function */
#define PCI_STATUS_CAP_LIST     0x0010
#define PCI_STATUS_66MHZ        0x0020
#define PCI_STATUS_FAST_BACK    0x0080
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
#define PCI_STATUS_W1C          0xf900  /* parity, SERR, master/target aborts, data parity */

/* BAR low bits. */
#define PCI_BAR_SPACE_IO        0x01
#define PCI_BAR_MEM_TYPE_32     0x00
#define PCI_BAR_MEM_PREFETCH    0x08

/* Class codes (24 bits: base << 16 | sub << 8 | prog-if). */
#define PCI_CLASS_BRIDGE_HOST   0x060000
#define PCI_CLASS_BRIDGE_ISA    0x060100
#define PCI_CLASS_STORAGE_SCSI  0x010000
#define PCI_CLASS_STORAGE_IDE   0x010180
#define PCI_CLASS_NETWORK_ETHERNET 0x020000

#define PCI_VENDOR_INTEL        0x8086

/* INTx pins as the Interrupt Pin register names them. */
#define PCI_INTA                1
#define PCI_INTB                2
#define PCI_INTC                3
#define PCI_INTD                4
#define PCI_NUM_PIRQS           4

#define PCI_NUM_BARS            6

typedef struct PciBus PciBus;
typedef struct PciDevice PciDevice;

typedef enum PciBarType {
    PCI_BAR_NONE = 0,       /* not implemented: reads 0, not writable */
    PCI_BAR_IO,             /* I/O space, size 4..256 bytes */
    PCI_BAR_MEM32,          /* 32-bit memory space, size >= 16 bytes */
    PCI_BAR_MEM32_PREFETCH, /* the same, prefetchable */
} PciBarType;

/* One base address register and the region behind it. */
typedef struct PciBar {
    PciBarType type;
    uint32_t size;          /* power of two */
    const IoOps *ops;       /* callbacks, offsets relative to the BAR */
    void *opaque;
    bool mapped;            /* the region is in the AddressSpace ... */
    uint32_t mapped_addr;   /* ... at this address */
} PciBar;

/*
 * A function on the bus.  Device models embed it (or allocate it) and fill
 * it with pci_device_init, the pci_config_* setters and pci_register_bar
 * before pci_bus_add_device.  Plain fields: the configuration bytes are the
 * state (suspend saves `config` and `irq_level`; the mappings follow from
 * them, see pci_device_remap).
 */
struct PciDevice {
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t wmask[PCI_CONFIG_SPACE_SIZE];   /* bits the guest may write */
    uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE]; /* bits a 1 clears */
    PciBar bar[PCI_NUM_BARS];
    uint8_t irq_level;      /* INTx as the function drives it (0/1) */
    uint8_t cap_next;       /* next free capability offset */
    int devfn;              /* -1 until added to a bus */
    const char *name;
    PciBus *bus;

    /* Optional hooks.  config_read may change the value the guest reads
     * (registers computed on access); config_write runs after the bytes
     * were stored through the masks and the BARs remapped, with the
     * configuration bytes as they were before the write in `old`. */
    uint32_t (*config_read)(PciDevice *d, uint32_t addr, uint32_t val,
                            unsigned len);
    void (*config_write)(PciDevice *d, uint32_t addr, uint32_t val,
                         unsigned len, const uint8_t *old);
    void *opaque;           /* the device model's state */
};

/* The bus sends the level of PIRQ n (0-3: PIRQA-D), the wired OR of the
 * INTx lines on it, to whatever routes them (hw/piix3.c). */
typedef void (*PciPirqHandler)(void *opaque, int pirq, int level);

/* --- the bus ---------------------------------------------------------- */

/* Bus 0 with configuration mechanism #1 on the ports of `as`; NULL if
 * 0xcf8-0xcff are taken. */
PciBus *pci_bus_new(AddressSpace *as);
/* Removes the ports; the devices must have been removed first. */
void pci_bus_free(PciBus *bus);
AddressSpace *pci_bus_as(PciBus *bus);
void pci_bus_set_pirq_handler(PciBus *bus, PciPirqHandler fn, void *opaque);
/* Byte accesses to 0xcf9 share the dword port of CONFIG_ADDRESS; the
 * device decoding that byte (the PIIX3's reset control) hooks them here. */
typedef struct PciPortHook {
    uint8_t (*read)(void *opaque);
    void (*write)(void *opaque, uint8_t value);
    void *opaque;
} PciPortHook;
void pci_bus_set_port_cf9(PciBus *bus, const PciPortHook *hook);
/* Reset of every device (pci_device_reset) and of CONFIG_ADDRESS. */
void pci_bus_reset(PciBus *bus);
/* The device at `devfn`, or NULL. */
PciDevice *pci_bus_device(PciBus *bus, int devfn);

/* Configuration cycles as mechanism #1 issues them, for firmware-like
 * code and tests: `addr` 0-255, len 1, 2 or 4 within one dword.  Absent
 * functions read all ones. */
uint32_t pci_bus_config_read(PciBus *bus, int devfn, uint32_t addr, unsigned len);
void pci_bus_config_write(PciBus *bus, int devfn, uint32_t addr, uint32_t val,
                          unsigned len);

/* PIRQ (0-3) that INTx `pin` (1-4) of `slot` drives on this board:
 * (slot + pin - 2) mod 4, so slot 1 INTA is PIRQA, slot 2 INTA PIRQB ... */
int pci_slot_pin_to_pirq(int slot, int pin);

/* --- a device --------------------------------------------------------- */

/* Clear `d` and give it IDs: header type 0, the status register's
 * DEVSEL medium timing, write masks for the standard header. */
void pci_device_init(PciDevice *d, const char *name, uint16_t vendor,
                     uint16_t device, uint32_t class_code, uint8_t revision);
void pci_config_set_subsystem(PciDevice *d, uint16_t vendor, uint16_t id);
/* Interrupt pin 1-4 (INTA-D), 0 for none. */
void pci_config_set_interrupt_pin(PciDevice *d, int pin);
/* BAR n (0-5) of `size` bytes (a power of two; I/O 4-256, memory >= 16).
 * The region is mapped while its decode is enabled in the command register
 * and its address is valid. */
void pci_register_bar(PciDevice *d, int n, PciBarType type, uint32_t size,
                      const IoOps *ops, void *opaque);
/* A capability of `size` bytes with ID `cap_id` linked into the list;
 * returns its offset (the ID and next pointer are its first two bytes),
 * or -ENOSPC.  The model sets wmask for the fields it lets the guest
 * write. */
int pci_add_capability(PciDevice *d, uint8_t cap_id, unsigned size);
/* Put `d` at `devfn` (-EEXIST if taken, -EINVAL if out of range). */
int pci_bus_add_device(PciBus *bus, PciDevice *d, int devfn);
/* Unmap its BARs, drop its INTx, and take it off the bus. */
void pci_bus_remove_device(PciDevice *d);
/* PCI reset (RST#): command 0 (BARs unmapped), status and BARs cleared,
 * INTx deasserted by the function's model itself (not here). */
void pci_device_reset(PciDevice *d);

/* INTx of the function: level 1 asserts its Interrupt Pin. */
void pci_set_irq(PciDevice *d, int level);
/* Bring the BAR mappings in line with the config bytes (after a reset or
 * a state restore). */
void pci_device_remap(PciDevice *d);

/* Suspend: a function's section ("pci.SS.F") saves its configuration bytes
 * and INTx level, and on load remaps its BARs and re-drives its PIRQ; the
 * bus's section ("pci-bus") saves CONFIG_ADDRESS.  Register them after the
 * bridges (whose PIRQ routing lives in their config bytes) and before
 * anything that depends on the mappings. */
typedef struct VMStateDescription VMStateDescription;
extern const VMStateDescription pci_device_vmstate;
extern const VMStateDescription pci_bus_vmstate;

/* Little-endian helpers on config bytes. */
static inline uint16_t pci_get_word(const uint8_t *p)
{
    return p[0] | (uint16_t)p[1] << 8;
}
static inline uint32_t pci_get_long(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void pci_set_word(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}
static inline void pci_set_long(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

#endif
