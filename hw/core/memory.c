/*
 * Guest-physical address space and port-I/O space (see include/memory.h).
 *
 * Memory regions live in an array sorted by base address and are found by
 * binary search.  Ports are a flat table of 65536 entries pointing at the
 * range that claims them, so a port access is one index.
 */
#include <errno.h>
#include <string.h>
#include <glib.h>
#include "memory.h"

typedef struct PortRange {
    const char *name;
    uint16_t base;
    uint32_t count;
    const IoOps *ops;
    void *opaque;
} PortRange;

typedef struct Listener {
    MemListener fn;
    void *opaque;
} Listener;

struct AddressSpace {
    GPtrArray *regions;         /* MemRegion *, sorted by base */
    GArray *listeners;          /* Listener */
    PortRange *ports[65536];
    GPtrArray *port_ranges;     /* owns the PortRange structs */
    uint64_t generation;
    RamWriteHook ram_write_hook;
    void *ram_write_opaque;
};

AddressSpace *as_new(void)
{
    AddressSpace *as = g_new0(AddressSpace, 1);
    as->regions = g_ptr_array_new_with_free_func(g_free);
    as->listeners = g_array_new(FALSE, FALSE, sizeof(Listener));
    as->port_ranges = g_ptr_array_new_with_free_func(g_free);
    return as;
}

void as_free(AddressSpace *as)
{
    if (!as) {
        return;
    }
    g_ptr_array_free(as->regions, TRUE);
    g_array_free(as->listeners, TRUE);
    g_ptr_array_free(as->port_ranges, TRUE);
    g_free(as);
}

/* Index of the first region whose base is > addr. */
static guint upper_bound(AddressSpace *as, uint64_t addr)
{
    guint lo = 0, hi = as->regions->len;
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        MemRegion *r = g_ptr_array_index(as->regions, mid);
        if (r->base <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

const MemRegion *as_find(AddressSpace *as, uint64_t addr)
{
    guint i = upper_bound(as, addr);
    if (i == 0) {
        return NULL;
    }
    MemRegion *r = g_ptr_array_index(as->regions, i - 1);
    return addr - r->base < r->size ? r : NULL;
}

static void notify(AddressSpace *as, const MemRegion *r, bool added)
{
    if (r->kind == REGION_MMIO) {
        return;
    }
    for (guint i = 0; i < as->listeners->len; i++) {
        Listener *l = &g_array_index(as->listeners, Listener, i);
        l->fn(l->opaque, r, added);
    }
}

static int add_region(AddressSpace *as, MemRegion tmpl)
{
    if (tmpl.size == 0 || tmpl.base + tmpl.size - 1 < tmpl.base) {
        return -EINVAL;
    }
    guint i = upper_bound(as, tmpl.base);
    if (i > 0) {
        MemRegion *prev = g_ptr_array_index(as->regions, i - 1);
        if (tmpl.base - prev->base < prev->size) {
            return -EEXIST;
        }
    }
    if (i < as->regions->len) {
        MemRegion *next = g_ptr_array_index(as->regions, i);
        if (next->base - tmpl.base < tmpl.size) {
            return -EEXIST;
        }
    }
    MemRegion *r = g_new(MemRegion, 1);
    *r = tmpl;
    g_ptr_array_insert(as->regions, i, r);
    as->generation++;
    notify(as, r, true);
    return 0;
}

int as_add_ram(AddressSpace *as, const char *name, uint64_t base,
               uint64_t size, void *host)
{
    return add_region(as, (MemRegion){ .name = name, .kind = REGION_RAM,
                                       .base = base, .size = size,
                                       .host = host });
}

int as_add_rom(AddressSpace *as, const char *name, uint64_t base,
               uint64_t size, void *host)
{
    return add_region(as, (MemRegion){ .name = name, .kind = REGION_ROM,
                                       .base = base, .size = size,
                                       .host = host });
}

int as_add_mmio(AddressSpace *as, const char *name, uint64_t base,
                uint64_t size, const IoOps *ops, void *opaque)
{
    return add_region(as, (MemRegion){ .name = name, .kind = REGION_MMIO,
                                       .base = base, .size = size,
                                       .ops = ops, .opaque = opaque });
}

int as_remove(AddressSpace *as, uint64_t base)
{
    guint i = upper_bound(as, base);
    if (i == 0) {
        return -ENOENT;
    }
    MemRegion *r = g_ptr_array_index(as->regions, i - 1);
    if (r->base != base) {
        return -ENOENT;
    }
    as->generation++;
    notify(as, r, false);
    g_ptr_array_remove_index(as->regions, i - 1);
    return 0;
}

void as_add_listener(AddressSpace *as, MemListener fn, void *opaque)
{
    Listener l = { fn, opaque };
    g_array_append_val(as->listeners, l);
    for (guint i = 0; i < as->regions->len; i++) {
        MemRegion *r = g_ptr_array_index(as->regions, i);
        if (r->kind != REGION_MMIO) {
            fn(opaque, r, true);
        }
    }
}

void as_set_ram_write_hook(AddressSpace *as, RamWriteHook fn, void *opaque)
{
    as->ram_write_hook = fn;
    as->ram_write_opaque = opaque;
}

void as_remove_listener(AddressSpace *as, MemListener fn, void *opaque)
{
    for (guint i = 0; i < as->listeners->len; i++) {
        Listener *l = &g_array_index(as->listeners, Listener, i);
        if (l->fn == fn && l->opaque == opaque) {
            g_array_remove_index(as->listeners, i);
            return;
        }
    }
}

uint64_t as_generation(AddressSpace *as)
{
    return as->generation;
}

void *as_ram_ptr(AddressSpace *as, uint64_t addr, uint64_t len, bool write)
{
    const MemRegion *r = as_find(as, addr);
    if (!r || r->kind == REGION_MMIO || (write && r->kind == REGION_ROM)) {
        return NULL;
    }
    uint64_t off = addr - r->base;
    if (len > r->size - off) {
        return NULL;
    }
    return r->host + off;
}

/* Split an access wider than the device takes into little-endian pieces. */
static uint64_t ops_read(const IoOps *ops, void *opaque, uint64_t off,
                         unsigned size, unsigned dflt_max)
{
    unsigned max = ops->max_access ? ops->max_access : dflt_max;
    if (!ops->read) {
        return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
    }
    if (size <= max) {
        return ops->read(opaque, off, size);
    }
    uint64_t v = 0;
    for (unsigned done = 0; done < size; done += max) {
        uint64_t part = ops->read(opaque, off + done, max);
        v |= (part & ((1ULL << (max * 8)) - 1)) << (done * 8);
    }
    return v;
}

static void ops_write(const IoOps *ops, void *opaque, uint64_t off,
                      uint64_t v, unsigned size, unsigned dflt_max)
{
    unsigned max = ops->max_access ? ops->max_access : dflt_max;
    if (!ops->write) {
        return;
    }
    if (size <= max) {
        ops->write(opaque, off, v, size);
        return;
    }
    for (unsigned done = 0; done < size; done += max) {
        uint64_t part = (v >> (done * 8)) & ((1ULL << (max * 8)) - 1);
        ops->write(opaque, off + done, part, max);
    }
}

uint64_t as_mmio_read(AddressSpace *as, uint64_t addr, unsigned size)
{
    uint8_t buf[8];
    const MemRegion *r = as_find(as, addr);
    if (r && r->kind == REGION_MMIO && size - 1 < r->size - (addr - r->base)) {
        return ops_read(r->ops, r->opaque, addr - r->base, size, 8);
    }
    as_read(as, addr, buf, size);
    uint64_t v = 0;
    memcpy(&v, buf, size);
    return v;
}

void as_mmio_write(AddressSpace *as, uint64_t addr, uint64_t value,
                   unsigned size)
{
    const MemRegion *r = as_find(as, addr);
    if (r && r->kind == REGION_MMIO && size - 1 < r->size - (addr - r->base)) {
        ops_write(r->ops, r->opaque, addr - r->base, value, size, 8);
        return;
    }
    as_write(as, addr, &value, size);
}

/* Walk [addr, addr+len) region by region. */
static void as_access(AddressSpace *as, uint64_t addr, uint8_t *buf,
                      uint64_t len, bool write, bool rom_ok)
{
    while (len > 0) {
        guint i = upper_bound(as, addr);
        const MemRegion *r = NULL;
        uint64_t chunk;
        if (i > 0) {
            MemRegion *prev = g_ptr_array_index(as->regions, i - 1);
            if (addr - prev->base < prev->size) {
                r = prev;
            }
        }
        if (r) {
            chunk = MIN(len, r->size - (addr - r->base));
        } else {
            /* Unmapped up to the next region (or the end of the access). */
            chunk = len;
            if (i < as->regions->len) {
                MemRegion *next = g_ptr_array_index(as->regions, i);
                chunk = MIN(len, next->base - addr);
            }
        }
        if (!r) {
            if (!write) {
                memset(buf, 0xff, chunk);
            }
        } else if (r->kind == REGION_MMIO) {
            for (uint64_t k = 0; k < chunk; k++) {
                if (write) {
                    ops_write(r->ops, r->opaque, addr - r->base + k, buf[k], 1, 8);
                } else {
                    buf[k] = ops_read(r->ops, r->opaque, addr - r->base + k, 1, 8);
                }
            }
        } else if (write) {
            if (r->kind == REGION_RAM || rom_ok) {
                memcpy(r->host + (addr - r->base), buf, chunk);
                if (as->ram_write_hook) {
                    as->ram_write_hook(as->ram_write_opaque, addr, chunk);
                }
            }
        } else {
            memcpy(buf, r->host + (addr - r->base), chunk);
        }
        addr += chunk;
        buf += chunk;
        len -= chunk;
    }
}

void as_read(AddressSpace *as, uint64_t addr, void *buf, uint64_t len)
{
    as_access(as, addr, buf, len, false, false);
}

void as_write(AddressSpace *as, uint64_t addr, const void *buf, uint64_t len)
{
    as_access(as, addr, (uint8_t *)buf, len, true, false);
}

int as_write_rom(AddressSpace *as, uint64_t addr, const void *buf, uint64_t len)
{
    as_access(as, addr, (uint8_t *)buf, len, true, true);
    return 0;
}

/* --- ports --------------------------------------------------------------- */

int as_add_ports(AddressSpace *as, const char *name, uint16_t base,
                 uint32_t count, const IoOps *ops, void *opaque)
{
    if (count == 0 || base + count > 65536) {
        return -EINVAL;
    }
    for (uint32_t p = base; p < base + count; p++) {
        if (as->ports[p]) {
            return -EEXIST;
        }
    }
    PortRange *pr = g_new(PortRange, 1);
    *pr = (PortRange){ name, base, count, ops, opaque };
    g_ptr_array_add(as->port_ranges, pr);
    for (uint32_t p = base; p < base + count; p++) {
        as->ports[p] = pr;
    }
    return 0;
}

int as_remove_ports(AddressSpace *as, uint16_t base)
{
    PortRange *pr = as->ports[base];
    if (!pr || pr->base != base) {
        return -ENOENT;
    }
    for (uint32_t p = pr->base; p < pr->base + pr->count; p++) {
        as->ports[p] = NULL;
    }
    g_ptr_array_remove_fast(as->port_ranges, pr);
    return 0;
}

uint32_t as_port_read(AddressSpace *as, uint16_t port, unsigned size)
{
    uint32_t v = 0;
    /* Byte by byte when the access straddles ranges or unclaimed ports. */
    PortRange *pr = as->ports[port];
    if (pr && (uint32_t)port + size <= pr->base + pr->count) {
        return ops_read(pr->ops, pr->opaque, port - pr->base, size, 4);
    }
    for (unsigned k = 0; k < size; k++) {
        uint16_t p = port + k;
        pr = as->ports[p];
        uint32_t b = pr ? ops_read(pr->ops, pr->opaque, p - pr->base, 1, 4) : 0xff;
        v |= (b & 0xff) << (k * 8);
    }
    return v;
}

void as_port_write(AddressSpace *as, uint16_t port, uint32_t value,
                   unsigned size)
{
    PortRange *pr = as->ports[port];
    if (pr && (uint32_t)port + size <= pr->base + pr->count) {
        ops_write(pr->ops, pr->opaque, port - pr->base, value, size, 4);
        return;
    }
    for (unsigned k = 0; k < size; k++) {
        uint16_t p = port + k;
        pr = as->ports[p];
        if (pr) {
            ops_write(pr->ops, pr->opaque, p - pr->base, (value >> (k * 8)) & 0xff, 1, 4);
        }
    }
}
