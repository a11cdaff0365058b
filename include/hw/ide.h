/*
 * IDE: the PIIX3 IDE function (PCI 8086:7010, 00:01.1) with two legacy
 * channels, ATA hard disks and ATAPI CD-ROMs on them, and the SFF-8038i
 * bus master DMA engine.
 *
 * References: T13 ATA/ATAPI-6 (1410D) and ATA/ATAPI-7 volume 1 (1532D):
 * register block, protocols (PIO data-in/out, DMA, PACKET), command set,
 * IDENTIFY DEVICE / IDENTIFY PACKET DEVICE data, signatures after reset;
 * SFF-8038i rev 1.0 (Bus Master Programming Interface for IDE ATA
 * Controllers): BMIC/BMIS/BMIDTP and the PRD table; Intel 82371FB/SB
 * (PIIX/PIIX3) datasheet (290550), 2.4 IDE configuration registers (IDETIM
 * 40-43h, SIDETIM 44h) and 2.7 bus master IDE I/O registers; T10 MMC-2 and
 * SPC-2 for the packet commands of the CD-ROM.
 *
 * Files: hw/ide-core.c (channel registers, ATA device and commands, PIO),
 * hw/ide-atapi.c (PACKET commands of the CD-ROM), hw/ide-dma.c (bus master
 * engine), hw/ide-piix.c (the PCI function, legacy decode, state table),
 * hw/ide-pc.c (the PC's drives onto the channels).  docs/ide.md.
 *
 * Threading: every entry point runs under the big lock (a vCPU's port
 * access or a block completion in the main loop).  Block I/O is
 * asynchronous (blk_aio_*): the device is BSY (or DRQ waiting for the DMA
 * engine) until the completion arrives; data goes through a bounce buffer
 * owned by the request, so a reset never races with a transfer.
 */
#ifndef VMKEMU_HW_IDE_H
#define VMKEMU_HW_IDE_H

#include <stdbool.h>
#include <stdint.h>
#include "block.h"
#include "irq.h"
#include "hw/pci.h"

/* --- register block (ATA-6 7.x) ------------------------------------------ */

#define IDE_PRIMARY_BASE        0x1f0
#define IDE_PRIMARY_CTL         0x3f6
#define IDE_PRIMARY_IRQ         14
#define IDE_SECONDARY_BASE      0x170
#define IDE_SECONDARY_CTL       0x376
#define IDE_SECONDARY_IRQ       15

enum {
    IDE_REG_DATA = 0,
    IDE_REG_ERROR = 1,          /* read; write: features */
    IDE_REG_NSECTOR = 2,        /* sector count / interrupt reason */
    IDE_REG_LBAL = 3,           /* sector number */
    IDE_REG_LBAM = 4,           /* cylinder low / byte count low */
    IDE_REG_LBAH = 5,           /* cylinder high / byte count high */
    IDE_REG_DEVICE = 6,
    IDE_REG_STATUS = 7,         /* read; write: command */
};

/* Status */
#define IDE_STAT_ERR    0x01
#define IDE_STAT_DRQ    0x08
#define IDE_STAT_DSC    0x10    /* device seek complete / service */
#define IDE_STAT_DF     0x20
#define IDE_STAT_DRDY   0x40
#define IDE_STAT_BSY    0x80
/* Error */
#define IDE_ERR_ABRT    0x04
#define IDE_ERR_IDNF    0x10
#define IDE_ERR_UNC     0x40
/* Device register */
#define IDE_DEV_DEV     0x10
#define IDE_DEV_LBA     0x40
/* Device control */
#define IDE_CTL_NIEN    0x02
#define IDE_CTL_SRST    0x04
#define IDE_CTL_HOB     0x80
/* Interrupt reason (PACKET, in the sector count register) */
#define IDE_IREASON_COD 0x01
#define IDE_IREASON_IO  0x02

/* Commands (ATA-6 / ATA-7) */
enum {
    ATA_CMD_NOP                 = 0x00,
    ATA_CMD_DEVICE_RESET        = 0x08,
    ATA_CMD_RECALIBRATE         = 0x10,     /* 0x10-0x1f, obsolete */
    ATA_CMD_READ_SECTORS        = 0x20,
    ATA_CMD_READ_SECTORS_NORETRY = 0x21,
    ATA_CMD_READ_SECTORS_EXT    = 0x24,
    ATA_CMD_READ_DMA_EXT        = 0x25,
    ATA_CMD_READ_MULTIPLE_EXT   = 0x29,
    ATA_CMD_WRITE_SECTORS       = 0x30,
    ATA_CMD_WRITE_SECTORS_NORETRY = 0x31,
    ATA_CMD_WRITE_SECTORS_EXT   = 0x34,
    ATA_CMD_WRITE_DMA_EXT       = 0x35,
    ATA_CMD_WRITE_MULTIPLE_EXT  = 0x39,
    ATA_CMD_READ_VERIFY         = 0x40,
    ATA_CMD_READ_VERIFY_NORETRY = 0x41,
    ATA_CMD_READ_VERIFY_EXT     = 0x42,
    ATA_CMD_SEEK                = 0x70,
    ATA_CMD_EXEC_DIAGNOSTIC     = 0x90,
    ATA_CMD_INIT_DEV_PARAMS     = 0x91,
    ATA_CMD_PACKET              = 0xa0,
    ATA_CMD_IDENTIFY_PACKET     = 0xa1,
    ATA_CMD_READ_MULTIPLE       = 0xc4,
    ATA_CMD_WRITE_MULTIPLE      = 0xc5,
    ATA_CMD_SET_MULTIPLE        = 0xc6,
    ATA_CMD_READ_DMA            = 0xc8,
    ATA_CMD_READ_DMA_NORETRY    = 0xc9,
    ATA_CMD_WRITE_DMA           = 0xca,
    ATA_CMD_WRITE_DMA_NORETRY   = 0xcb,
    ATA_CMD_STANDBY_IMMEDIATE   = 0xe0,
    ATA_CMD_IDLE_IMMEDIATE      = 0xe1,
    ATA_CMD_STANDBY             = 0xe2,
    ATA_CMD_IDLE                = 0xe3,
    ATA_CMD_CHECK_POWER_MODE    = 0xe5,
    ATA_CMD_FLUSH_CACHE         = 0xe7,
    ATA_CMD_FLUSH_CACHE_EXT     = 0xea,
    ATA_CMD_IDENTIFY            = 0xec,
    ATA_CMD_SET_FEATURES        = 0xef,
};

/* SET FEATURES subcommands (features register) */
#define ATA_SF_ENABLE_WCACHE    0x02
#define ATA_SF_XFER_MODE        0x03
#define ATA_SF_DISABLE_RLA      0x55
#define ATA_SF_DISABLE_REVERT   0x66
#define ATA_SF_DISABLE_WCACHE   0x82
#define ATA_SF_ENABLE_RLA       0xaa
#define ATA_SF_ENABLE_REVERT    0xcc

/* --- bus master registers (SFF-8038i; PIIX3 2.7) ------------------------- */

#define IDE_BM_SIZE         16      /* BAR4: 8 bytes per channel */
#define IDE_BM_CMD          0       /* BMIC */
#define IDE_BM_STATUS       2       /* BMIS */
#define IDE_BM_PRDT         4       /* BMIDTP, dword */

#define IDE_BMIC_START      0x01
#define IDE_BMIC_WRITE      0x08    /* bus master writes memory (a read) */
#define IDE_BMIS_ACTIVE     0x01
#define IDE_BMIS_ERROR      0x02
#define IDE_BMIS_INTR       0x04
#define IDE_BMIS_DMA0_CAP   0x20
#define IDE_BMIS_DMA1_CAP   0x40
#define IDE_PRD_EOT         0x80000000u
#define IDE_PRD_MAX_ENTRIES 8192    /* a table lies within 64 KiB */

/* --- PIIX3 IDE function (290550, 2.4) ------------------------------------ */

#define PIIX3_IDE_DEVICE_ID 0x7010
#define PIIX3_IDE_DEVFN     PCI_DEVFN(1, 1)
#define PIIX3_IDE_PROG_IF   0x80    /* bus master; both channels legacy */
#define PIIX3_IDETIM        0x40    /* 16-bit, primary; 0x42 secondary */
#define PIIX3_IDETIM_IDE    0x8000  /* IDE decode enable of the channel */
#define PIIX3_SIDETIM       0x44

/* --- model --------------------------------------------------------------- */

#define IDE_SECTOR_SIZE     512
#define IDE_CD_SECTOR_SIZE  2048
#define IDE_BUF_SIZE        (64 * 1024)     /* data buffer of a device */
#define IDE_MAX_MULTIPLE    16              /* READ/WRITE MULTIPLE, sectors */

typedef enum IdeKind {
    IDE_KIND_NONE,
    IDE_KIND_ATA,           /* hard disk */
    IDE_KIND_ATAPI,         /* CD-ROM */
} IdeKind;

/* What the data register or the DMA engine moves now. */
typedef enum IdeXfer {
    IDE_XFER_NONE,
    IDE_XFER_PIO_IN,        /* device to host through the data register */
    IDE_XFER_PIO_OUT,       /* host to device */
    IDE_XFER_PACKET,        /* the 12-byte command packet, host to device */
    IDE_XFER_DMA_IN,        /* device to memory by the bus master */
    IDE_XFER_DMA_OUT,       /* memory to device */
} IdeXfer;

typedef struct IdeChannel IdeChannel;

typedef struct IdeDevice {
    /* Configuration (set by ide_attach; not guest state). */
    IdeKind kind;
    IdeChannel *ch;
    int unit;
    BlockBackend *blk;      /* NULL: no medium (CD-ROM) */
    bool read_only;
    uint64_t nb_sectors;    /* ATA: 512-byte sectors; ATAPI: 2048-byte */
    char serial[21], model[41], firmware[9];
    uint16_t cyls, heads, secs;     /* default CHS geometry (ATA) */
    uint32_t aio_gen;       /* completions of older generations are stale */
    bool aio_busy;          /* a block request is in flight */

    /* Task file (ATA-6 7.x); the hob_ copies are the previous contents
     * of the 48-bit register pairs. */
    uint8_t feature, error, nsector, lbal, lbam, lbah, device, status;
    uint8_t hob_feature, hob_nsector, hob_lbal, hob_lbam, hob_lbah;
    uint8_t command;        /* the command in progress */
    bool irq_pending;       /* the device requests INTRQ */

    /* Settings */
    uint8_t mult_count;     /* SET MULTIPLE; 0: disabled */
    uint16_t cur_heads, cur_secs;   /* INITIALIZE DEVICE PARAMETERS */
    uint8_t xfer_mode;      /* SET FEATURES 03h value; 0: PIO default */
    bool write_cache;
    bool standby;           /* power mode: standby, else active/idle */

    /* The transfer in progress */
    uint8_t xfer;           /* IdeXfer */
    bool lba48;
    uint64_t lba;           /* next sector of the medium */
    uint32_t remaining;     /* sectors still on the medium (read) or still
                             * to come from the host (write) */
    uint32_t sector_size;
    uint32_t drq_sectors;   /* ATA PIO: sectors per DRQ block */
    uint32_t buf_pos;       /* next byte of buf the host moves */
    uint32_t drq_end;       /* end of the current DRQ block in buf */
    uint32_t buf_end;       /* end of the valid data in buf (reads) */

    /* ATAPI */
    uint8_t sense_key, asc, ascq;
    uint8_t cdb[12];
    uint16_t byte_limit;    /* byte count limit of the PACKET command */
    bool packet_dma;        /* the PACKET command's DMA bit */
    bool locked;            /* PREVENT MEDIUM REMOVAL */
    bool media_changed;     /* report NOT READY TO READY once */

    uint8_t buf[IDE_BUF_SIZE];
} IdeDevice;

struct IdeChannel {
    /* Configuration */
    IdeDevice dev[2];
    IrqLine *irq;           /* ISA IRQ 14 or 15 */
    AddressSpace *dma_as;   /* where the bus master reads and writes */
    bool (*dma_allowed)(void *opaque);  /* bus mastering enabled */
    void *dma_opaque;
    int index;

    /* State */
    uint8_t unit;           /* selected device (device register DEV bit) */
    uint8_t devctl;         /* device control: nIEN, SRST, HOB */
    bool irq_level;         /* INTRQ as driven now */
    uint8_t bmic, bmis;
    uint32_t bmidtp;
    /* PRD cursor of the transfer the engine runs */
    uint32_t prd_index;     /* entries consumed */
    uint32_t prd_addr;      /* memory address of the current entry's rest */
    uint32_t prd_left;      /* bytes left in the current entry */
    bool prd_eot;           /* the current entry is the last */
    bool prd_done;          /* the table is exhausted */
};

typedef struct PiixIde {
    PciDevice pci;
    IdeChannel ch[2];
    AddressSpace *as;
    bool ports_mapped[2];   /* legacy ports claimed in the AddressSpace */
} PiixIde;

/* --- hw/ide-core.c ------------------------------------------------------- */

/* Set up a channel with no devices; `irq` is its interrupt line. */
void ide_channel_init(IdeChannel *ch, int index, IrqLine *irq, AddressSpace *dma_as,
                      bool (*dma_allowed)(void *opaque), void *dma_opaque);
/* Put a device on a channel: an ATA disk on `blk` (required), or an ATAPI
 * CD-ROM (blk NULL: no disc).  `id` seeds the serial number. */
int ide_attach(IdeChannel *ch, int unit, IdeKind kind, BlockBackend *blk,
               bool read_only, const char *id, GError **errp);
/* Hardware reset (power on, RESET-): both devices and the bus master. */
void ide_channel_reset(IdeChannel *ch);
/* The command block (offset 0-7) and control block (device control /
 * alternate status) registers of a channel. */
uint32_t ide_cmd_read(IdeChannel *ch, unsigned reg, unsigned size);
void ide_cmd_write(IdeChannel *ch, unsigned reg, uint32_t val, unsigned size);
uint8_t ide_ctl_read(IdeChannel *ch);
void ide_ctl_write(IdeChannel *ch, uint8_t val);
/* Wait for every block request of the channel's devices. */
void ide_channel_drain(IdeChannel *ch);
/* After a state restore: drive INTRQ as the state says. */
void ide_channel_post_load(IdeChannel *ch);

/* Used by hw/ide-atapi.c and hw/ide-dma.c */
/* An ATA string: two characters a word, the first in the high byte. */
void ide_id_string(uint16_t *id, int word, int nwords, const char *s);
void ide_set_irq(IdeDevice *d);
void ide_update_irq(IdeChannel *ch);
void ide_abort(IdeDevice *d);
/* Data of a read is in buf: start the PIO or DMA transfer of it (ATA and
 * ATAPI), with `remaining` more sectors to fetch from the medium. */
void ide_start_data_in(IdeDevice *d, bool dma);
/* Fetch the next chunk of `remaining` into buf (BSY meanwhile). */
void ide_read_chunk(IdeDevice *d);
/* A read or write ended (status, interrupt); err < 0: failed. */
void ide_transfer_done(IdeDevice *d, int err);
/* Write buf[0, len) at the device's lba, then call back (DMA path). */
void ide_write_chunk(IdeDevice *d, uint32_t len);

/* --- hw/ide-atapi.c ------------------------------------------------------ */

void ide_atapi_identify(IdeDevice *d, uint16_t *id);
/* PACKET command received in d->cdb: run it. */
void ide_atapi_exec(IdeDevice *d);
/* Data-in PIO of a PACKET command: the next DRQ window, or the end. */
void ide_atapi_next_window(IdeDevice *d);
/* The command ended with status GOOD, or CHECK CONDITION (sense set). */
void ide_atapi_done(IdeDevice *d);
void ide_atapi_error(IdeDevice *d, uint8_t key, uint8_t asc, uint8_t ascq);
/* The ATAPI device signature in the task file. */
void ide_atapi_signature(IdeDevice *d);

/* --- hw/ide-dma.c -------------------------------------------------------- */

uint32_t ide_bm_read(IdeChannel *ch, unsigned offset, unsigned size);
void ide_bm_write(IdeChannel *ch, unsigned offset, uint32_t val, unsigned size);
/* Run the engine if it is started and the selected device waits for DMA. */
void ide_dma_kick(IdeChannel *ch);
/* The device's DMA transfer ended: settle the engine's status. */
void ide_dma_end(IdeChannel *ch);
void ide_bm_reset(IdeChannel *ch);

/* --- hw/ide-piix.c ------------------------------------------------------- */

/* Function 1 of the PIIX3 at `devfn` on `bus`; channel interrupts on
 * irq14 / irq15.  NULL if the slot is taken. */
PiixIde *piix3_ide_new(PciBus *bus, IrqLine *irq14, IrqLine *irq15, int devfn);
void piix3_ide_free(PiixIde *s);
void piix3_ide_reset(PiixIde *s);
/* The state of the function, both channels and their devices. */
extern const struct VMStateDescription piix3_ide_vmstate;

/* --- hw/ide-pc.c --------------------------------------------------------- */

typedef struct Machine Machine;
/* The PC's IDE: the PIIX3 function with the machine's if=ide drives. */
PiixIde *pc_ide_init(Machine *m, GError **errp);

#endif
