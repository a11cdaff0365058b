/*
 * The BusLogic BT-958 "MultiMaster" PCI SCSI host adapter (PCI 104b:1040),
 * the virtual SCSI adapter of the ESX Server manual ("scsi0.virtualDev =
 * vmxbuslogic"), with up to 15 SCSI targets (IDs 0-15 but its own, 7).
 *
 * Reference: BusLogic MultiMaster Ultra SCSI Host Adapters for PCI Systems,
 * Technical Reference Manual (register and command interface, mailboxes,
 * CCBs), and the structure and command definitions that drivers for it use
 * (Linux drivers/scsi/BusLogic.h, FreeBSD sys/dev/buslogic/btreg.h) as
 * facts.  docs/scsi.md describes what is modelled and what is not.
 */
#ifndef VMKEMU_HW_BUSLOGIC_H
#define VMKEMU_HW_BUSLOGIC_H

#include <stdbool.h>
#include <stdint.h>
#include "hw/pci.h"
#include "hw/scsi.h"
#include "timer.h"

#define BUSLOGIC_VENDOR_ID      0x104b
#define BUSLOGIC_DEVICE_ID      0x1040  /* MultiMaster */
#define BUSLOGIC_REVISION       0x08

#define BUSLOGIC_IO_SIZE        4       /* BAR 0: I/O ports */
#define BUSLOGIC_MMIO_SIZE      32      /* BAR 1: the same registers */
#define BUSLOGIC_SCSI_ID        7       /* the adapter's own SCSI ID */

/* Register offsets in the BARs. */
#define BUSLOGIC_REG_CONTROL    0       /* write */
#define BUSLOGIC_REG_STATUS     0       /* read */
#define BUSLOGIC_REG_COMMAND    1       /* write: command / parameter */
#define BUSLOGIC_REG_DATA_IN    1       /* read */
#define BUSLOGIC_REG_INTERRUPT  2       /* read */
#define BUSLOGIC_REG_GEOMETRY   3       /* read */

/* Control register. */
#define BUSLOGIC_CTRL_BUS_RESET     0x10
#define BUSLOGIC_CTRL_INT_RESET     0x20
#define BUSLOGIC_CTRL_SOFT_RESET    0x40
#define BUSLOGIC_CTRL_HARD_RESET    0x80

/* Status register. */
#define BUSLOGIC_STAT_CMD_INVALID   0x01
#define BUSLOGIC_STAT_DATA_IN_READY 0x04
#define BUSLOGIC_STAT_CMD_BUSY      0x08
#define BUSLOGIC_STAT_READY         0x10
#define BUSLOGIC_STAT_INIT_REQUIRED 0x20
#define BUSLOGIC_STAT_DIAG_FAILED   0x40
#define BUSLOGIC_STAT_DIAG_ACTIVE   0x80

/* Interrupt register. */
#define BUSLOGIC_INT_MBIN_LOADED    0x01    /* an incoming mailbox was filled */
#define BUSLOGIC_INT_MBOUT_AVAIL    0x02    /* an outgoing mailbox was freed */
#define BUSLOGIC_INT_CMD_COMPLETE   0x04
#define BUSLOGIC_INT_BUS_RESET      0x08    /* SCSI bus reset by another device */
#define BUSLOGIC_INT_VALID          0x80

/* Geometry register: extended translation on, disk 0/1 BIOS geometry. */
#define BUSLOGIC_GEOM_EXT_TRANSLATION 0x80

/* Adapter commands (opcodes written to the command register). */
enum {
    BUSLOGIC_CMD_TEST_CMDC_INT      = 0x00,
    BUSLOGIC_CMD_INIT_MAILBOX       = 0x01,  /* 24-bit mailboxes and CCBs */
    BUSLOGIC_CMD_START_MAILBOX      = 0x02,
    BUSLOGIC_CMD_EXECUTE_BIOS       = 0x03,
    BUSLOGIC_CMD_INQUIRE_BOARD_ID   = 0x04,
    BUSLOGIC_CMD_ENABLE_OMBR_INT    = 0x05,
    BUSLOGIC_CMD_SET_SEL_TIMEOUT    = 0x06,
    BUSLOGIC_CMD_SET_TIME_ON_BUS    = 0x07,
    BUSLOGIC_CMD_SET_TIME_OFF_BUS   = 0x08,
    BUSLOGIC_CMD_SET_TRANSFER_RATE  = 0x09,
    BUSLOGIC_CMD_INQUIRE_DEVICES_0_7 = 0x0a,
    BUSLOGIC_CMD_INQUIRE_CONFIG     = 0x0b,
    BUSLOGIC_CMD_ENABLE_TARGET_MODE = 0x0c,
    BUSLOGIC_CMD_INQUIRE_SETUP      = 0x0d,
    BUSLOGIC_CMD_ECHO               = 0x1f,
    BUSLOGIC_CMD_DIAGNOSTIC         = 0x20,
    BUSLOGIC_CMD_SET_OPTIONS        = 0x21,
    BUSLOGIC_CMD_INQUIRE_DEVICES_8_15 = 0x23,
    BUSLOGIC_CMD_INQUIRE_TARGETS    = 0x24,
    BUSLOGIC_CMD_DISABLE_INT        = 0x25,
    BUSLOGIC_CMD_INIT_EXT_MAILBOX   = 0x81,  /* 32-bit mailboxes and CCBs */
    BUSLOGIC_CMD_INQUIRE_FW_DIGIT3  = 0x84,
    BUSLOGIC_CMD_INQUIRE_FW_LETTER  = 0x85,
    BUSLOGIC_CMD_INQUIRE_PCI_INFO   = 0x86,
    BUSLOGIC_CMD_INQUIRE_MODEL      = 0x8b,
    BUSLOGIC_CMD_INQUIRE_SYNC_PERIOD = 0x8c,
    BUSLOGIC_CMD_INQUIRE_EXT_SETUP  = 0x8d,
    BUSLOGIC_CMD_STRICT_ROUND_ROBIN = 0x8f,
    BUSLOGIC_CMD_STORE_LOCAL_RAM    = 0x90,
    BUSLOGIC_CMD_FETCH_LOCAL_RAM    = 0x91,
    BUSLOGIC_CMD_MODIFY_IO_ADDRESS  = 0x95,
    BUSLOGIC_CMD_SET_CCB_FORMAT     = 0x96,
};

/* Outgoing mailbox action codes, incoming mailbox completion codes. */
#define BUSLOGIC_MBO_FREE           0x00
#define BUSLOGIC_MBO_START          0x01
#define BUSLOGIC_MBO_ABORT          0x02
#define BUSLOGIC_MBI_FREE           0x00
#define BUSLOGIC_MBI_OK             0x01
#define BUSLOGIC_MBI_ABORTED        0x02
#define BUSLOGIC_MBI_NOT_FOUND      0x03
#define BUSLOGIC_MBI_ERROR          0x04

/* CCB operation codes. */
#define BUSLOGIC_CCB_INITIATOR      0x00
#define BUSLOGIC_CCB_TARGET         0x01
#define BUSLOGIC_CCB_INITIATOR_SG   0x02
#define BUSLOGIC_CCB_INITIATOR_RESID 0x03
#define BUSLOGIC_CCB_INITIATOR_SG_RESID 0x04
#define BUSLOGIC_CCB_BUS_DEVICE_RESET 0x81

/* CCB data direction (32-bit CCB byte 1 bits 4-3). */
#define BUSLOGIC_DIR_UNCHECKED      0
#define BUSLOGIC_DIR_IN             1
#define BUSLOGIC_DIR_OUT            2
#define BUSLOGIC_DIR_NONE           3

/* Host adapter status (CCB byte 14, incoming mailbox byte 4). */
#define BUSLOGIC_HA_OK              0x00
#define BUSLOGIC_HA_SEL_TIMEOUT     0x11
#define BUSLOGIC_HA_DATA_OVERRUN    0x12    /* over- and underruns alike */
#define BUSLOGIC_HA_BAD_MBO_ACTION  0x15
#define BUSLOGIC_HA_BAD_CCB_OPCODE  0x16
#define BUSLOGIC_HA_BAD_PARAMETER   0x1a
#define BUSLOGIC_HA_BUS_DEVICE_RESET 0x25

#define BUSLOGIC_CCB32_SIZE         40      /* bytes the adapter reads */
#define BUSLOGIC_SG_LIMIT           8192    /* segments per CCB */
#define BUSLOGIC_LOCAL_RAM_SIZE     256
#define BUSLOGIC_AUTOSCSI_OFFSET    64      /* AutoSCSI data in local RAM */
#define BUSLOGIC_MAX_PARAMS         64
#define BUSLOGIC_MAX_REPLY          256

typedef struct BusLogic {
    PciDevice pci;

    /* --- guest-visible state (buslogic_vmstate) --- */
    uint8_t intr;               /* interrupt register */
    uint8_t diag_reads;         /* status reads that still show DIAG ACTIVE */
    bool cmd_invalid;           /* status COMMAND INVALID */
    bool mbox_ready;            /* mailboxes initialized (no INIT REQUIRED) */
    /* The command in progress: opcode, parameters gathered, reply bytes. */
    bool cmd_active;
    uint8_t cmd;
    uint8_t params[BUSLOGIC_MAX_PARAMS];
    uint16_t param_count;       /* parameter bytes received */
    uint16_t param_need;        /* parameter bytes the command takes */
    uint8_t reply[BUSLOGIC_MAX_REPLY];
    uint16_t reply_len;
    uint16_t reply_pos;
    /* Mailboxes. */
    bool mbox_24bit;            /* Initialize Mailbox (legacy) rather than extended */
    uint32_t mbox_base;         /* guest-physical address */
    uint16_t mbox_count;
    uint16_t mbo_next;          /* next outgoing mailbox to look at */
    uint16_t mbi_next;          /* next incoming mailbox to fill */
    bool strict_round_robin;
    bool ext_lun_ccb;           /* Set CCB Format: extended LUN format */
    bool ombr_int;              /* outgoing mailbox available interrupts */
    bool int_enabled;           /* host adapter interrupts (Disable Int 0x25) */
    uint8_t isa_port;           /* ISA-compatible I/O port code, 6 = disabled */
    uint8_t time_on_bus, time_off_bus, transfer_rate;
    uint8_t local_ram[BUSLOGIC_LOCAL_RAM_SIZE];
    uint16_t target_mask;       /* targets present when saved (a check) */
    VTimer *retry;              /* mailboxes to look at again (inbox was full) */

    /* --- configuration --- */
    ScsiDisk target[SCSI_MAX_TARGETS];   /* LUN 0 of each ID; present or not */
    int index;                  /* scsiN, for messages */
} BusLogic;

/* Create the adapter (not yet on a bus). */
BusLogic *buslogic_new(int index);
/* Attach a disk or CD-ROM at SCSI ID `id` (0-15 but 7), LUN 0; blk is not
 * owned.  -EINVAL for a bad ID, -EEXIST when taken. */
int buslogic_attach(BusLogic *s, int id, BlockBackend *blk, const ScsiDiskConfig *cfg);
/* Put it on `bus` at `devfn` (see pci_bus_add_device). */
int buslogic_plug(BusLogic *s, PciBus *bus, int devfn);
/* Remove from the bus (if plugged) and free; NULL is fine. */
void buslogic_free(BusLogic *s);
/* Power-on / RST# state: PCI config reset, adapter hard reset without the
 * diagnostic delay, targets get a power-on unit attention. */
void buslogic_reset(BusLogic *s);
/* The status register as the guest would read it, without side effects. */
uint8_t buslogic_status(const BusLogic *s);

/* The adapter's registers, firmware state and targets; its PCI function
 * (config bytes, INTx) is the PCI core's section (pci_device_vmstate). */
extern const struct VMStateDescription buslogic_vmstate;

#endif
