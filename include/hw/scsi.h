/*
 * SCSI targets as a host bus adapter sees them: a request (CDB, LUN, the
 * initiator's data buffer behind a callback) goes in, status, sense data
 * and transfer counts come out.  hw/scsi-disk.c implements the
 * direct-access block device (a disk) and the CD/DVD device on a
 * BlockBackend.
 *
 * References: T10 SAM-3 (status codes, unit attention), SPC-3 (INQUIRY and
 * its VPD pages, REQUEST SENSE and fixed-format sense data, MODE
 * SENSE/SELECT, REPORT LUNS, TEST UNIT READY, sense keys and additional
 * sense codes, annex D), SBC-2 (READ/WRITE/VERIFY, READ CAPACITY, START
 * STOP UNIT, SYNCHRONIZE CACHE, the caching and geometry mode pages),
 * MMC-5 for the CD-ROM commands (READ TOC, GET CONFIGURATION, GET EVENT
 * STATUS NOTIFICATION).  docs/scsi.md describes what is modelled.
 *
 * Requests run synchronously: scsi_disk_execute() returns when the data
 * phase, the medium I/O and the status are done.  The caller holds the big
 * lock (device models are single-threaded).
 */
#ifndef VMKEMU_HW_SCSI_H
#define VMKEMU_HW_SCSI_H

#include <stdbool.h>
#include <stdint.h>
#include "block.h"

#define SCSI_MAX_CDB            16
#define SCSI_SENSE_FIXED_LEN    18      /* fixed format, additional length 10 */
#define SCSI_MAX_TARGETS        16      /* wide SCSI: IDs 0-15 */

/* SAM-3 status codes. */
#define SCSI_STATUS_GOOD                0x00
#define SCSI_STATUS_CHECK_CONDITION     0x02
#define SCSI_STATUS_BUSY                0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18

/* SPC-3 sense keys. */
#define SCSI_SENSE_NO_SENSE             0x0
#define SCSI_SENSE_RECOVERED_ERROR      0x1
#define SCSI_SENSE_NOT_READY            0x2
#define SCSI_SENSE_MEDIUM_ERROR         0x3
#define SCSI_SENSE_HARDWARE_ERROR       0x4
#define SCSI_SENSE_ILLEGAL_REQUEST      0x5
#define SCSI_SENSE_UNIT_ATTENTION       0x6
#define SCSI_SENSE_DATA_PROTECT         0x7
#define SCSI_SENSE_ABORTED_COMMAND      0xb
#define SCSI_SENSE_MISCOMPARE           0xe

/* Additional sense codes (ASC << 8 | ASCQ), SPC-3 annex D. */
#define SCSI_ASC_NO_ADDITIONAL_SENSE        0x0000
#define SCSI_ASC_NOT_READY_INIT_REQUIRED    0x0402  /* after STOP */
#define SCSI_ASC_WRITE_ERROR                0x0c00
#define SCSI_ASC_UNRECOVERED_READ_ERROR     0x1100
#define SCSI_ASC_PARAMETER_LIST_LENGTH      0x1a00
#define SCSI_ASC_MISCOMPARE_VERIFY          0x1d00
#define SCSI_ASC_INVALID_OPCODE             0x2000
#define SCSI_ASC_LBA_OUT_OF_RANGE           0x2100
#define SCSI_ASC_INVALID_FIELD_IN_CDB       0x2400
#define SCSI_ASC_LUN_NOT_SUPPORTED          0x2500
#define SCSI_ASC_INVALID_FIELD_IN_PARAM     0x2600
#define SCSI_ASC_WRITE_PROTECTED            0x2700
#define SCSI_ASC_MEDIUM_CHANGED             0x2800  /* not ready to ready */
#define SCSI_ASC_POWER_ON_RESET             0x2900  /* power on, reset or BDR */
#define SCSI_ASC_POWER_ON                   0x2901
#define SCSI_ASC_BUS_RESET                  0x2902
#define SCSI_ASC_BUS_DEVICE_RESET           0x2903
#define SCSI_ASC_MODE_PARAMETERS_CHANGED    0x2a01
#define SCSI_ASC_SAVING_NOT_SUPPORTED       0x3900
#define SCSI_ASC_MEDIUM_NOT_PRESENT         0x3a00
#define SCSI_ASC_INCOMPATIBLE_MEDIUM        0x3000
#define SCSI_ASC_INTERNAL_TARGET_FAILURE    0x4400
#define SCSI_ASC_MEDIUM_REMOVAL_PREVENTED   0x5302

/* Operation codes (SPC-3, SBC-2, MMC-5). */
#define SCSI_TEST_UNIT_READY            0x00
#define SCSI_REQUEST_SENSE              0x03
#define SCSI_READ_6                     0x08
#define SCSI_WRITE_6                    0x0a
#define SCSI_INQUIRY                    0x12
#define SCSI_MODE_SELECT_6              0x15
#define SCSI_RESERVE_6                  0x16
#define SCSI_RELEASE_6                  0x17
#define SCSI_MODE_SENSE_6               0x1a
#define SCSI_START_STOP_UNIT            0x1b
#define SCSI_SEND_DIAGNOSTIC            0x1d
#define SCSI_PREVENT_ALLOW_REMOVAL      0x1e
#define SCSI_READ_CAPACITY_10           0x25
#define SCSI_READ_10                    0x28
#define SCSI_WRITE_10                   0x2a
#define SCSI_SEEK_10                    0x2b
#define SCSI_WRITE_VERIFY_10            0x2e
#define SCSI_VERIFY_10                  0x2f
#define SCSI_SYNCHRONIZE_CACHE_10       0x35
#define SCSI_READ_TOC                   0x43
#define SCSI_GET_CONFIGURATION          0x46
#define SCSI_GET_EVENT_STATUS           0x4a
#define SCSI_READ_DISC_INFORMATION      0x51
#define SCSI_MODE_SELECT_10             0x55
#define SCSI_MODE_SENSE_10              0x5a
#define SCSI_READ_16                    0x88
#define SCSI_WRITE_16                   0x8a
#define SCSI_WRITE_VERIFY_16            0x8e
#define SCSI_VERIFY_16                  0x8f
#define SCSI_SYNCHRONIZE_CACHE_16       0x91
#define SCSI_SERVICE_ACTION_IN_16       0x9e    /* 0x10: READ CAPACITY(16) */
#define SCSI_REPORT_LUNS                0xa0
#define SCSI_READ_12                    0xa8
#define SCSI_WRITE_12                   0xaa
#define SCSI_WRITE_VERIFY_12            0xae
#define SCSI_VERIFY_12                  0xaf

#define SCSI_SAI_READ_CAPACITY_16       0x10

/* Peripheral device types (INQUIRY byte 0 bits 4-0). */
typedef enum ScsiDeviceType {
    SCSI_TYPE_DISK  = 0x00,     /* direct-access block device */
    SCSI_TYPE_CDROM = 0x05,     /* CD/DVD device */
} ScsiDeviceType;

/* Direction of the data phase, from the initiator's point of view. */
typedef enum ScsiDataDir {
    SCSI_DATA_NONE = 0,
    SCSI_DATA_IN   = 1,         /* target to initiator (READ) */
    SCSI_DATA_OUT  = 2,         /* initiator to target (WRITE) */
} ScsiDataDir;

/* Moves `len` bytes at byte `offset` of the data phase between `buf` and
 * the initiator's buffer: into it for SCSI_DATA_IN, out of it for
 * SCSI_DATA_OUT.  Returns the bytes moved; fewer than `len` when the
 * buffer ends there. */
typedef uint32_t ScsiDataFunc(void *opaque, ScsiDataDir dir, uint64_t offset,
                              void *buf, uint32_t len);

typedef struct ScsiRequest {
    /* --- from the initiator --- */
    uint8_t cdb[SCSI_MAX_CDB];
    unsigned cdb_len;
    uint32_t lun;
    /* Size of the initiator's buffer and the directions it lets the data
     * phase take (bits 1 << SCSI_DATA_IN / SCSI_DATA_OUT). */
    uint64_t buffer_len;
    unsigned allowed_dirs;
    ScsiDataFunc *data;
    void *opaque;
    /* The initiator takes the sense data with a CHECK CONDITION (the
     * HBA's automatic REQUEST SENSE); otherwise the target keeps it for
     * the next REQUEST SENSE. */
    bool autosense;

    /* --- results --- */
    uint8_t status;             /* SCSI_STATUS_* */
    ScsiDataDir dir;            /* the data phase the command wanted */
    uint64_t expected;          /* bytes the target meant to move */
    uint64_t transferred;       /* bytes moved */
    /* The initiator's buffer or direction did not allow the data phase the
     * target asked for: a data-in phase stopped where the buffer ended, a
     * data-out phase did not happen (nothing was written). */
    bool overrun;
    uint8_t sense[SCSI_SENSE_FIXED_LEN];   /* valid with CHECK CONDITION */
    unsigned sense_len;
} ScsiRequest;

/* Reset the result fields and fill the CDB; the caller sets the buffer. */
void scsi_request_init(ScsiRequest *req, uint32_t lun, const uint8_t *cdb,
                       unsigned cdb_len);
/* Sense key and ASC/ASCQ of fixed-format sense bytes (0 if too short). */
uint8_t scsi_sense_key(const uint8_t *sense, unsigned len);
uint16_t scsi_sense_asc(const uint8_t *sense, unsigned len);

/* ------------------------------------------------------------------------
 * A logical unit 0 of one target: disk or CD-ROM.  Plain fields: the part
 * from `sense` on is guest-visible state (scsi_disk_vmstate).
 * ------------------------------------------------------------------------ */

typedef struct ScsiDiskConfig {
    ScsiDeviceType type;        /* SCSI_TYPE_DISK or SCSI_TYPE_CDROM */
    const char *vendor;         /* INQUIRY, NULL: "VMware" */
    const char *product;        /* NULL: "Virtual disk" / "Virtual CD-ROM" */
    const char *revision;       /* NULL: "1.0" */
    const char *serial;         /* VPD 0x80, NULL: derived from the name */
    const char *name;           /* for messages and the default serial */
    bool read_only;             /* write-protected (also when blk is) */
} ScsiDiskConfig;

typedef struct ScsiDisk {
    /* Configuration (not state). */
    bool present;
    BlockBackend *blk;          /* not owned; NULL: no medium (CD-ROM) */
    ScsiDeviceType type;
    uint32_t block_size;        /* 512 (disk) or 2048 (CD-ROM) */
    bool read_only;
    char vendor[9], product[17], revision[5];
    char serial[21];
    uint64_t naa_id;            /* VPD 0x83 NAA locally assigned */

    /* Guest-visible state. */
    uint8_t sense[SCSI_SENSE_FIXED_LEN];   /* kept for REQUEST SENSE */
    uint8_t sense_len;          /* 0: none kept */
    uint16_t unit_attention;    /* ASC/ASCQ pending with UNIT ATTENTION, 0: none */
    bool write_cache;           /* caching page WCE */
    bool stopped;               /* START STOP UNIT with START=0 */
    bool prevent_removal;       /* PREVENT ALLOW MEDIUM REMOVAL */
} ScsiDisk;

/* Make `d` logical unit 0 on `blk` (which it does not own; NULL only for a
 * CD-ROM without a medium).  Starts with a power-on unit attention. */
void scsi_disk_init(ScsiDisk *d, BlockBackend *blk, const ScsiDiskConfig *cfg);
/* Forget the backend (the disk is absent afterwards). */
void scsi_disk_clear(ScsiDisk *d);
/* Run one command to completion. */
void scsi_disk_execute(ScsiDisk *d, ScsiRequest *req);
/* A reset reached the target: drop kept sense, stay started, and report
 * `asc` (SCSI_ASC_POWER_ON_RESET, _BUS_RESET, _BUS_DEVICE_RESET) as a unit
 * attention to the next command. */
void scsi_disk_reset(ScsiDisk *d, uint16_t asc);
/* Capacity in logical blocks. */
uint64_t scsi_disk_blocks(const ScsiDisk *d);

extern const struct VMStateDescription scsi_disk_vmstate;

#endif
