/*
 * QEMU's firmware configuration device (fw_cfg), I/O-port flavour, as
 * SeaBIOS, OVMF and Linux's qemu_fw_cfg driver read it.  Reference: QEMU
 * docs/specs/fw_cfg.rst (selector 0x510, data 0x511, DMA address 0x514;
 * the FWCfgDmaAccess structure; the file directory) and the selector keys
 * of QEMU's fw_cfg_keys.h.
 */
#ifndef VMKEMU_HW_FW_CFG_H
#define VMKEMU_HW_FW_CFG_H

#include <stddef.h>
#include <stdint.h>
#include "memory.h"

#define FW_CFG_PORT_SEL         0x510   /* 16-bit selector, write-only */
#define FW_CFG_PORT_DATA        0x511   /* 8-bit data, auto-increment */
#define FW_CFG_PORT_DMA         0x514   /* 64-bit big-endian DMA address */
#define FW_CFG_PORT_DMA_LO      0x518   /* writing the low half starts DMA */

/* Selector keys. */
#define FW_CFG_SIGNATURE        0x00    /* "QEMU" */
#define FW_CFG_ID               0x01    /* u32 feature bits */
#define FW_CFG_UUID             0x02    /* 16 bytes */
#define FW_CFG_RAM_SIZE         0x03    /* u64 */
#define FW_CFG_NOGRAPHIC        0x04    /* u16 */
#define FW_CFG_NB_CPUS          0x05    /* u16 */
#define FW_CFG_MACHINE_ID       0x06
#define FW_CFG_KERNEL_ADDR      0x07    /* u32 */
#define FW_CFG_KERNEL_SIZE      0x08    /* u32 */
#define FW_CFG_KERNEL_CMDLINE   0x09    /* u32: command line address */
#define FW_CFG_INITRD_ADDR      0x0a    /* u32 */
#define FW_CFG_INITRD_SIZE      0x0b    /* u32 */
#define FW_CFG_BOOT_DEVICE      0x0c    /* u16: first -boot letter */
#define FW_CFG_NUMA             0x0d
#define FW_CFG_BOOT_MENU        0x0e    /* u16 */
#define FW_CFG_MAX_CPUS         0x0f    /* u16 */
#define FW_CFG_KERNEL_ENTRY     0x10
#define FW_CFG_KERNEL_DATA      0x11
#define FW_CFG_INITRD_DATA      0x12
#define FW_CFG_CMDLINE_ADDR     0x13    /* u32 */
#define FW_CFG_CMDLINE_SIZE     0x14    /* u32, NUL included */
#define FW_CFG_CMDLINE_DATA     0x15
#define FW_CFG_SETUP_ADDR       0x16    /* u32: real-mode kernel address */
#define FW_CFG_SETUP_SIZE       0x17    /* u32 */
#define FW_CFG_SETUP_DATA       0x18    /* real-mode kernel, header filled in */
#define FW_CFG_FILE_DIR         0x19
#define FW_CFG_FILE_FIRST       0x20
#define FW_CFG_FILE_SLOTS       64
#define FW_CFG_WRITE_CHANNEL    0x4000
#define FW_CFG_ARCH_LOCAL       0x8000
#define FW_CFG_ACPI_TABLES      (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES   (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE    (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE       (FW_CFG_ARCH_LOCAL + 3)
#define FW_CFG_HPET             (FW_CFG_ARCH_LOCAL + 4)
#define FW_CFG_INVALID          0xffff

#define FW_CFG_MAX_FILE_PATH    56
#define FW_CFG_DIR_ENTRY_SIZE   64      /* be32 size, be16 select, u16, name */

/* FW_CFG_ID bits. */
#define FW_CFG_VERSION          0x01
#define FW_CFG_VERSION_DMA      0x02

/* FWCfgDmaAccess: be32 control, be32 length, be64 address. */
#define FW_CFG_DMA_CTL_ERROR    0x01
#define FW_CFG_DMA_CTL_READ     0x02
#define FW_CFG_DMA_CTL_SKIP     0x04
#define FW_CFG_DMA_CTL_SELECT   0x08
#define FW_CFG_DMA_CTL_WRITE    0x10
#define FW_CFG_DMA_SIGNATURE    0x51454d5520434647ULL   /* "QEMU CFG" */

typedef struct FwCfg FwCfg;

/* A DMA write changed [offset, offset+len) of a writable item. */
typedef void (*FwCfgWriteFn)(void *opaque, uint32_t offset, uint32_t len);

/* Claims ports 0x510-0x511 and 0x514-0x51b of `as`; DMA goes to `as`'s
 * RAM.  FW_CFG_SIGNATURE, FW_CFG_ID and FW_CFG_FILE_DIR are built in. */
FwCfg *fw_cfg_new(AddressSpace *as);
void fw_cfg_free(FwCfg *f);
/* Selector, offset and DMA address back to their power-on values. */
void fw_cfg_reset(FwCfg *f);

/* Items (copied; adding a key again replaces it).  -EINVAL for a key out
 * of range or a file key, -EFBIG past 4 GiB. */
int fw_cfg_add_bytes(FwCfg *f, uint16_t key, const void *data, size_t len);
int fw_cfg_add_i16(FwCfg *f, uint16_t key, uint16_t v);     /* little-endian */
int fw_cfg_add_i32(FwCfg *f, uint16_t key, uint32_t v);
int fw_cfg_add_i64(FwCfg *f, uint16_t key, uint64_t v);
int fw_cfg_add_string(FwCfg *f, uint16_t key, const char *s); /* NUL included */

/* Named files (keys from FW_CFG_FILE_FIRST on, listed in FW_CFG_FILE_DIR).
 * Adding a name again replaces its data and keeps its key.  Returns the
 * key, -EINVAL for a bad name, -ENOSPC when all slots are used. */
int fw_cfg_add_file(FwCfg *f, const char *name, const void *data, size_t len);
/* A file the guest may change through DMA writes (not resize). */
int fw_cfg_add_file_writable(FwCfg *f, const char *name, const void *data,
                             size_t len, FwCfgWriteFn fn, void *opaque);
/* Key of a file, or -ENOENT. */
int fw_cfg_find_file(FwCfg *f, const char *name);
/* Current contents of an item (NULL when absent); for tests and readers of
 * writable items. */
const uint8_t *fw_cfg_item(FwCfg *f, uint16_t key, size_t *len);

/* The selector, offset and DMA address for suspend/resume (vmstate.h). */
extern const struct VMStateDescription fw_cfg_vmstate;

#endif
