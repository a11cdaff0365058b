/*
 * The PC's physical memory map (the INT 15h E820h map; ACPI 6.x chapter 15,
 * "System Address Map Interfaces").  Built once per machine from its RAM
 * layout (hw/pc-ram.c) and handed to the Linux loader (zero page
 * e820_table), the Multiboot loader (mmap) and fw_cfg ("etc/e820").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hw/e820.h"
#include "hw/pc.h"

void e820_init(E820Map *map)
{
    memset(map, 0, sizeof(*map));
}

static int entry_cmp(const void *a, const void *b)
{
    const E820Entry *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

int e820_add(E820Map *map, uint64_t addr, uint64_t size, uint32_t type)
{
    uint64_t end = addr + size;
    if (size == 0 || end < addr) {
        return -EINVAL;
    }
    /* Cut the new range out of every entry (each splits into at most two
     * pieces), add it, sort, merge neighbours of one type. */
    E820Entry tmp[2 * E820_MAX_ENTRIES + 1];
    int n = 0;
    for (int i = 0; i < map->nr; i++) {
        const E820Entry *e = &map->entry[i];
        uint64_t e_end = e->addr + e->size;
        if (e_end <= addr || e->addr >= end) {
            tmp[n++] = *e;
            continue;
        }
        if (e->addr < addr) {
            tmp[n++] = (E820Entry){ e->addr, addr - e->addr, e->type };
        }
        if (e_end > end) {
            tmp[n++] = (E820Entry){ end, e_end - end, e->type };
        }
    }
    tmp[n++] = (E820Entry){ addr, size, type };
    qsort(tmp, n, sizeof(tmp[0]), entry_cmp);

    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m && tmp[m - 1].type == tmp[i].type &&
            tmp[m - 1].addr + tmp[m - 1].size == tmp[i].addr) {
            tmp[m - 1].size += tmp[i].size;
        } else {
            tmp[m++] = tmp[i];
        }
    }
    if (m > E820_MAX_ENTRIES) {
        return -ENOSPC;
    }
    memcpy(map->entry, tmp, m * sizeof(tmp[0]));
    map->nr = m;
    return 0;
}

static void add_high_ram(E820Map *map, uint64_t below_4g, uint64_t above_4g)
{
    if (below_4g > PC_HIGH_RAM_START) {
        e820_add(map, PC_HIGH_RAM_START, below_4g - PC_HIGH_RAM_START, E820_RAM);
    }
    if (above_4g) {
        e820_add(map, PC_4G, above_4g, E820_RAM);
    }
}

void e820_build_pc(E820Map *map, uint64_t below_4g, uint64_t above_4g,
                   bool fw_area)
{
    e820_init(map);
    e820_add(map, 0, E820_PC_LOW_RAM_END, E820_RAM);
    e820_add(map, E820_PC_LOW_RAM_END, E820_PC_LOW_END - E820_PC_LOW_RAM_END,
             E820_RESERVED);
    if (fw_area) {
        e820_add(map, E820_PC_FW_AREA, E820_PC_FW_AREA_END - E820_PC_FW_AREA,
                 E820_RESERVED);
    }
    add_high_ram(map, below_4g, above_4g);
}

void e820_build_pc_firmware(E820Map *map, uint64_t below_4g, uint64_t above_4g)
{
    e820_init(map);
    e820_add(map, 0, below_4g, E820_RAM);
    if (above_4g) {
        e820_add(map, PC_4G, above_4g, E820_RAM);
    }
}

const E820Entry *e820_find(const E820Map *map, uint64_t addr, uint32_t type)
{
    for (int i = 0; i < map->nr; i++) {
        const E820Entry *e = &map->entry[i];
        if (e->type == type && addr >= e->addr && addr - e->addr < e->size) {
            return e;
        }
    }
    return NULL;
}

bool e820_contains(const E820Map *map, uint64_t addr, uint64_t len, uint32_t type)
{
    const E820Entry *e = e820_find(map, addr, type);
    return e && len <= e->size - (addr - e->addr);
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) {
        p[i] = v >> (8 * i);
    }
}

size_t e820_to_bytes(const E820Map *map, uint8_t *out, size_t max)
{
    size_t len = 0;
    for (int i = 0; i < map->nr && len + E820_ENTRY_SIZE <= max; i++) {
        put_le(out + len, map->entry[i].addr, 8);
        put_le(out + len + 8, map->entry[i].size, 8);
        put_le(out + len + 16, map->entry[i].type, 4);
        len += E820_ENTRY_SIZE;
    }
    return len;
}
