/*
 * Direct boot of a Linux bzImage (Linux Documentation/arch/x86/boot.rst,
 * "The Linux/x86 Boot Protocol", and zero-page.rst): the 32-bit and 64-bit
 * boot protocols for booting without firmware, and the 16-bit protocol's
 * pieces handed to firmware through fw_cfg when -bios is given.
 */
#ifndef VMKEMU_HW_LINUX_BOOT_H
#define VMKEMU_HW_LINUX_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "memory.h"
#include "x86-regs.h"
#include "hw/e820.h"

/* Setup header fields, at these offsets in the image and in boot_params. */
#define LINUX_HDR_SETUP_SECTS       0x1f1   /* u8 */
#define LINUX_HDR_SYSSIZE           0x1f4   /* u32, 16-byte units */
#define LINUX_HDR_VID_MODE          0x1fa   /* u16 */
#define LINUX_HDR_BOOT_FLAG         0x1fe   /* u16 0xaa55 */
#define LINUX_HDR_JUMP              0x200   /* 0xeb, offset of header end - 0x202 */
#define LINUX_HDR_MAGIC             0x202   /* "HdrS" */
#define LINUX_HDR_VERSION           0x206   /* u16 */
#define LINUX_HDR_TYPE_OF_LOADER    0x210   /* u8 */
#define LINUX_HDR_LOADFLAGS         0x211   /* u8 */
#define LINUX_HDR_CODE32_START      0x214   /* u32 */
#define LINUX_HDR_RAMDISK_IMAGE     0x218   /* u32 */
#define LINUX_HDR_RAMDISK_SIZE      0x21c   /* u32 */
#define LINUX_HDR_HEAP_END_PTR      0x224   /* u16 */
#define LINUX_HDR_CMD_LINE_PTR      0x228   /* u32 */
#define LINUX_HDR_INITRD_ADDR_MAX   0x22c   /* u32 */
#define LINUX_HDR_KERNEL_ALIGNMENT  0x230   /* u32 */
#define LINUX_HDR_RELOCATABLE       0x234   /* u8 */
#define LINUX_HDR_MIN_ALIGNMENT     0x235   /* u8 */
#define LINUX_HDR_XLOADFLAGS        0x236   /* u16 */
#define LINUX_HDR_CMDLINE_SIZE      0x238   /* u32 */
#define LINUX_HDR_SETUP_DATA        0x250   /* u64 */
#define LINUX_HDR_PREF_ADDRESS      0x258   /* u64 */
#define LINUX_HDR_INIT_SIZE         0x260   /* u32 */
#define LINUX_HDR_MAGIC_VALUE       0x53726448u     /* "HdrS" */

/* boot_params ("zero page") fields outside the setup header. */
#define LINUX_BP_SIZE               4096
#define LINUX_BP_SCREEN_INFO        0x000   /* 64 bytes */
#define LINUX_BP_ACPI_RSDP_ADDR     0x070   /* u64 */
#define LINUX_BP_EXT_RAMDISK_IMAGE  0x0c0   /* u32 */
#define LINUX_BP_EXT_RAMDISK_SIZE   0x0c4   /* u32 */
#define LINUX_BP_EXT_CMD_LINE_PTR   0x0c8   /* u32 */
#define LINUX_BP_ALT_MEM_K          0x1e0   /* u32 */
#define LINUX_BP_E820_ENTRIES       0x1e8   /* u8 */
#define LINUX_BP_SENTINEL           0x1ef   /* u8 */
#define LINUX_BP_HDR_END_MAX        0x290   /* setup header copy ends here */
#define LINUX_BP_E820_TABLE         0x2d0   /* 128 x 20 bytes */
#define LINUX_BP_E820_MAX           128

/* loadflags and xloadflags. */
#define LINUX_LOADED_HIGH           0x01
#define LINUX_KEEP_SEGMENTS         0x40
#define LINUX_CAN_USE_HEAP          0x80
#define LINUX_XLF_KERNEL_64         0x0001
#define LINUX_XLF_CAN_BE_LOADED_ABOVE_4G 0x0002

#define LINUX_BOOT_CS               0x10    /* __BOOT_CS */
#define LINUX_BOOT_DS               0x18    /* __BOOT_DS */
#define LINUX_MIN_PROTOCOL          0x0206

/* Where the direct boot puts things in low memory. */
#define LINUX_GDT_ADDR              0x0500  /* 4 descriptors */
#define LINUX_PAGE_TABLES_ADDR      0x1000  /* PML4, PDPT, 4 PDs (64-bit) */
#define LINUX_BOOT_PARAMS_ADDR      0x7000
#define LINUX_STACK_TOP             0x1fff0
#define LINUX_CMDLINE_ADDR          0x20000
#define LINUX_KERNEL_ADDR           0x100000    /* bzImage default */
/* The 16-bit protocol layout handed to firmware. */
#define LINUX_REALMODE_ADDR         0x10000
#define LINUX_FW_HEAP_END_PTR       0xfe00      /* whole 64 KiB segment */
#define LINUX_FW_RESERVE            ((uint64_t)1 << 20) /* top of RAM left to firmware */

/* What the setup header says. */
typedef struct LinuxKernelInfo {
    uint16_t version;           /* 0x020f = 2.15 */
    unsigned setup_sects;       /* 0 in the image means 4 */
    size_t setup_size;          /* real-mode part: (setup_sects + 1) * 512 */
    size_t header_end;          /* 0x202 + jump offset, at most 0x290 */
    size_t pm_offset, pm_size;  /* the protected-mode kernel in the image */
    uint8_t loadflags;
    uint16_t xloadflags;
    bool relocatable;
    uint32_t kernel_alignment;
    uint8_t min_alignment;
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;
    uint64_t pref_address;
    uint32_t init_size;         /* estimated as 4 x pm_size before 2.10 */
} LinuxKernelInfo;

/* Does the image carry the "HdrS" setup header? */
bool linux_is_bzimage(const uint8_t *img, size_t len);
/* Check and parse; errors name `name` and say what is wrong. */
int linux_parse(const char *name, const uint8_t *img, size_t len,
                LinuxKernelInfo *info, GError **errp);

typedef struct LinuxBootArgs {
    const char *kernel_name;        /* for messages */
    const uint8_t *kernel;
    size_t kernel_size;
    const uint8_t *initrd;          /* NULL: none */
    size_t initrd_size;
    const char *cmdline;            /* NULL: empty */
    int entry_bits;                 /* 32 (default) or 64 */
    const E820Map *e820;            /* the guest's memory map */
    uint64_t rsdp_addr;             /* 0: no ACPI */
} LinuxBootArgs;

/* Where the direct boot put everything (tests, logging). */
typedef struct LinuxBootLayout {
    uint64_t kernel_addr, kernel_size;
    uint64_t runtime_start, init_size;
    uint64_t initrd_addr, initrd_size;
    uint64_t cmdline_addr, cmdline_len;
    uint64_t boot_params, gdt, page_tables;     /* page_tables: 64-bit only */
    uint64_t entry;
} LinuxBootLayout;

/* Load for the 32-bit or 64-bit boot protocol into `as` and set `regs` to
 * the entry state.  `layout` may be NULL. */
int linux_boot_load(AddressSpace *as, const LinuxBootArgs *a, X86Registers *regs,
                    LinuxBootLayout *layout, GError **errp);

/* The 16-bit protocol's pieces for firmware (fw_cfg SETUP/KERNEL/CMDLINE/
 * INITRD keys): the real-mode part with its header filled in, and the
 * addresses firmware copies each piece to before jumping to the setup. */
typedef struct LinuxFirmwareBoot {
    uint8_t *setup;                 /* owned */
    size_t setup_size;
    uint32_t setup_addr;
    const uint8_t *kernel;          /* points into LinuxBootArgs.kernel */
    size_t kernel_size;
    uint32_t kernel_addr;
    char *cmdline;                  /* owned, NUL-terminated */
    size_t cmdline_size;            /* NUL included */
    uint32_t cmdline_addr;
    uint32_t initrd_addr;
    size_t initrd_size;
} LinuxFirmwareBoot;

int linux_boot_for_firmware(const LinuxBootArgs *a, LinuxFirmwareBoot *fb,
                            GError **errp);
void linux_firmware_boot_clear(LinuxFirmwareBoot *fb);

#endif
