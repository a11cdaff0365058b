/*
 * Direct boot of Multiboot v1 kernels (Multiboot Specification 0.6.96:
 * 3.1 OS image format, 3.2 machine state, 3.3 boot information format).
 */
#ifndef VMKEMU_HW_MULTIBOOT_H
#define VMKEMU_HW_MULTIBOOT_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "memory.h"
#include "x86-regs.h"
#include "hw/e820.h"

#define MULTIBOOT_HEADER_MAGIC      0x1badb002u
#define MULTIBOOT_BOOTLOADER_MAGIC  0x2badb002u
#define MULTIBOOT_SEARCH            8192        /* header within these bytes */

/* Header flags (3.1.2). */
#define MULTIBOOT_PAGE_ALIGN        (1u << 0)
#define MULTIBOOT_MEMORY_INFO       (1u << 1)
#define MULTIBOOT_VIDEO_MODE        (1u << 2)
#define MULTIBOOT_AOUT_KLUDGE       (1u << 16)

/* Information structure (3.3): flags and field offsets. */
#define MBI_FLAG_MEM                (1u << 0)
#define MBI_FLAG_CMDLINE            (1u << 2)
#define MBI_FLAG_MODS               (1u << 3)
#define MBI_FLAG_MMAP               (1u << 6)
#define MBI_FLAG_LOADER_NAME        (1u << 9)
#define MBI_FLAGS                   0
#define MBI_MEM_LOWER               4
#define MBI_MEM_UPPER               8
#define MBI_CMDLINE                 16
#define MBI_MODS_COUNT              20
#define MBI_MODS_ADDR               24
#define MBI_MMAP_LENGTH             44
#define MBI_MMAP_ADDR               48
#define MBI_LOADER_NAME             64
#define MBI_SIZE                    120     /* through the framebuffer fields */
#define MB_MOD_SIZE                 16      /* mod_start, mod_end, string, 0 */
#define MB_MMAP_ENTRY_SIZE          24      /* size(=20), base, length, type */
#define MB_BOOT_LOADER_NAME         "vmkemu"

/* Selectors of the flat GDT vmkemu leaves loaded (the spec allows any). */
#define MULTIBOOT_CS                0x10
#define MULTIBOOT_DS                0x18

typedef struct MultibootModule {
    const uint8_t *data;
    size_t size;
    const char *cmdline;        /* the module's string: "file args" */
} MultibootModule;

typedef struct MultibootArgs {
    const char *kernel_name;    /* for messages */
    const uint8_t *kernel;
    size_t kernel_size;
    const char *cmdline;        /* the whole kernel command line */
    const MultibootModule *mods;
    int nmods;
    const E820Map *e820;
} MultibootArgs;

typedef struct MultibootLayout {
    uint32_t header_offset;
    uint32_t load_start, load_end;  /* lowest and highest byte (bss included) + 1 */
    uint32_t entry;
    uint32_t info;                  /* the information structure (EBX) */
    uint32_t mods;                  /* the module array */
    uint32_t mmap;
    uint32_t gdt;
} MultibootLayout;

/* Offset of a valid header in the first 8 KiB; -1 when there is none,
 * -2 when the magic is there but the checksum is wrong. */
int multiboot_find_header(const uint8_t *img, size_t len);

/* Load the kernel and modules into `as`, build the information structure
 * and set `regs` to the machine state of 3.2.  `layout` may be NULL. */
int multiboot_load(AddressSpace *as, const MultibootArgs *a, X86Registers *regs,
                   MultibootLayout *layout, GError **errp);

/* Split -initrd's module list the way QEMU does: items separated by ',',
 * ",," standing for a literal comma.  Each item is "file [args]". */
gchar **multiboot_split_modules(const char *spec);

#endif
