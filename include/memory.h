/*
 * The guest-physical address space and the port-I/O space of a machine.
 *
 * RAM and ROM regions are backed by host memory; MMIO regions and I/O ports
 * dispatch to a device model's read/write callbacks.  Both accelerators go
 * through the functions here, so a device model never knows which one runs it.
 * Regions may not overlap; a region added over another fails with -EEXIST.
 */
#ifndef VMKEMU_MEMORY_H
#define VMKEMU_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct AddressSpace AddressSpace;

/* Callbacks of an MMIO region or a port range.  `offset` is relative to the
 * start of the region; `size` is 1, 2, 4 (or 8 for MMIO).  Accesses wider
 * than `max_access` are split into several accesses of `max_access` bytes,
 * lowest address first (little-endian), so a byte-wide device needs only
 * byte handlers.  A max_access of 0 means 4 for ports and 8 for MMIO. */
typedef struct IoOps {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
    unsigned max_access;
} IoOps;

typedef enum RegionKind {
    REGION_RAM,     /* read/write host memory */
    REGION_ROM,     /* host memory, guest writes ignored */
    REGION_MMIO,    /* callbacks */
} RegionKind;

typedef struct MemRegion {
    const char *name;
    RegionKind kind;
    uint64_t base;
    uint64_t size;
    uint8_t *host;          /* RAM/ROM */
    const IoOps *ops;       /* MMIO */
    void *opaque;
} MemRegion;

/* Called when a RAM or ROM region is added (added=true) or removed; the KVM
 * backend uses it to keep its memory slots in step with the map. */
typedef void (*MemListener)(void *opaque, const MemRegion *region, bool added);

AddressSpace *as_new(void);
void as_free(AddressSpace *as);

int as_add_ram(AddressSpace *as, const char *name, uint64_t base, uint64_t size,
               void *host);
int as_add_rom(AddressSpace *as, const char *name, uint64_t base, uint64_t size,
               void *host);
int as_add_mmio(AddressSpace *as, const char *name, uint64_t base,
                uint64_t size, const IoOps *ops, void *opaque);
/* Remove the region that starts at `base`; -ENOENT if there is none. */
int as_remove(AddressSpace *as, uint64_t base);

/* Calls `fn` for every existing RAM/ROM region now, and on every change. */
void as_add_listener(AddressSpace *as, MemListener fn, void *opaque);
/* Stop calling `fn` with `opaque` (no call for the regions that exist). */
void as_remove_listener(AddressSpace *as, MemListener fn, void *opaque);

/* Called after as_write/as_write_rom stored into RAM or ROM (device DMA,
 * loaders), so that a CPU emulator can drop code it decoded from there.
 * One hook per address space; fn NULL removes it. */
typedef void (*RamWriteHook)(void *opaque, uint64_t addr, uint64_t len);
void as_set_ram_write_hook(AddressSpace *as, RamWriteHook fn, void *opaque);

/* The region holding `addr`, or NULL.  The pointer stays valid until the
 * region is removed (regions are only changed under the big lock). */
const MemRegion *as_find(AddressSpace *as, uint64_t addr);

/* Incremented on every map change: soft TLBs compare it to know when the
 * host pointers they cached may be stale. */
uint64_t as_generation(AddressSpace *as);

/* Host pointer for [addr, addr+len) if it lies wholly inside one RAM (or,
 * when !write, ROM) region; NULL otherwise. */
void *as_ram_ptr(AddressSpace *as, uint64_t addr, uint64_t len, bool write);

/* Guest-physical access of any length, crossing regions: RAM/ROM by copy,
 * MMIO by callbacks; unmapped reads give 0xff bytes and writes are dropped.
 * ROM is writable through as_write_rom (loaders), never through as_write. */
void as_read(AddressSpace *as, uint64_t addr, void *buf, uint64_t len);
void as_write(AddressSpace *as, uint64_t addr, const void *buf, uint64_t len);
int as_write_rom(AddressSpace *as, uint64_t addr, const void *buf, uint64_t len);

/* One MMIO-sized access (1, 2, 4 or 8 bytes) at `addr`, little-endian. */
uint64_t as_mmio_read(AddressSpace *as, uint64_t addr, unsigned size);
void as_mmio_write(AddressSpace *as, uint64_t addr, uint64_t value, unsigned size);

/* --- port I/O ------------------------------------------------------------ */
int as_add_ports(AddressSpace *as, const char *name, uint16_t base,
                 uint32_t count, const IoOps *ops, void *opaque);
int as_remove_ports(AddressSpace *as, uint16_t base);
/* Unclaimed ports read as all ones; writes to them are dropped. */
uint32_t as_port_read(AddressSpace *as, uint16_t port, unsigned size);
void as_port_write(AddressSpace *as, uint16_t port, uint32_t value, unsigned size);

#endif
