/*
 * The PC's physical memory map as firmware reports it (INT 15h, AX=E820h;
 * ACPI 6.x chapter 15 "System Address Map Interfaces").  One map serves the
 * Linux zero page, the Multiboot mmap and fw_cfg's "etc/e820".
 */
#ifndef VMKEMU_HW_E820_H
#define VMKEMU_HW_E820_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Address range types (ACPI 6.x table 15-374). */
enum {
    E820_RAM = 1,           /* AddressRangeMemory */
    E820_RESERVED = 2,      /* AddressRangeReserved */
    E820_ACPI = 3,          /* AddressRangeACPI (reclaimable) */
    E820_NVS = 4,           /* AddressRangeNVS */
    E820_UNUSABLE = 5,
};

#define E820_MAX_ENTRIES    32
#define E820_ENTRY_SIZE     20      /* packed: u64 addr, u64 size, u32 type */

typedef struct E820Entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} E820Entry;

/* Sorted by address, no overlaps, adjacent ranges of one type merged. */
typedef struct E820Map {
    int nr;
    E820Entry entry[E820_MAX_ENTRIES];
} E820Map;

/* Where the PC's ranges sit (see e820_build_pc). */
#define E820_PC_LOW_RAM_END     0x9fc00ULL  /* top 1 KiB of 640K: reserved */
#define E820_PC_LOW_END         0xa0000ULL
#define E820_PC_FW_AREA         0xe0000ULL  /* firmware tables (no -bios) */
#define E820_PC_FW_AREA_END     0x100000ULL

void e820_init(E820Map *map);
/* Add [addr, addr+size) of `type`; it replaces whatever the map said about
 * that range before.  -ENOSPC when the map is full, -EINVAL on size 0 or
 * a range that wraps. */
int e820_add(E820Map *map, uint64_t addr, uint64_t size, uint32_t type);

/* The PC's map for a guest booted without firmware (-kernel):
 *   [0, 0x9fc00)             RAM
 *   [0x9fc00, 0xa0000)       reserved (where a BIOS keeps its EBDA; kept
 *                            reserved so a kernel sees the same low memory
 *                            with or without firmware)
 *   [0xe0000, 0x100000)      reserved, when `fw_area` (the ACPI tables and
 *                            FACS vmkemu builds there)
 *   [1M, below_4g)           RAM
 *   [4G, 4G + above_4g)      RAM
 * The firmware variant (fw_cfg "etc/e820", for -bios) lists only RAM:
 * [0, below_4g) and [4G, 4G + above_4g); firmware carves its own holes. */
void e820_build_pc(E820Map *map, uint64_t below_4g, uint64_t above_4g,
                   bool fw_area);
void e820_build_pc_firmware(E820Map *map, uint64_t below_4g, uint64_t above_4g);

/* Is [addr, addr+len) wholly inside one entry of `type`? */
bool e820_contains(const E820Map *map, uint64_t addr, uint64_t len, uint32_t type);
/* The entry of `type` holding addr, or NULL. */
const E820Entry *e820_find(const E820Map *map, uint64_t addr, uint32_t type);

/* Serialize as packed little-endian 20-byte entries; returns bytes written
 * (at most `max`, whole entries only). */
size_t e820_to_bytes(const E820Map *map, uint8_t *out, size_t max);

#endif
