/*
 * Drives: the disks and CD-ROMs of a machine, between the configuration
 * (`-drive`, `-hda`..`-hdd`, `-cdrom`, a .cfg's ideN:M.* / scsiN:M.*) and
 * the disk controllers that show them to the guest.  Controller-neutral:
 * IDE and SCSI controllers find their drives the same way.
 *
 * Life of a drive
 *   1. Configuration: MachineDrive entries in MachineConfig.drives[], each
 *      at a slot (interface, bus, unit).  machine_drive_parse() reads a
 *      QEMU-style -drive string; machine_config_add_drive() checks a slot
 *      and fills the defaults (slot from index=, first free unit, id).
 *   2. machine_create() opens every drive as a BlockBackend with its disk
 *      mode (block.h) before the devices are built (machine_drives_open).
 *      A failure is one line naming the drive and its file, in the
 *      DRIVE_ERROR domain (vmkemu exits 2).  A REDO log left by a VM that
 *      did not power off is reported (stderr and the log); the block layer
 *      has already kept or finished it.
 *   3. While building its devices, a controller asks for the drive of each
 *      slot it models with machine_drive_find(); this claims the drive.
 *      A drive no controller claimed is an error (machine_drives_check).
 *   4. At power-off (system/main.c, machine_drives_power_off) the vCPUs
 *      are stopped, every request is drained, and each drive is closed;
 *      an undoable disk's REDO log is committed, discarded or kept as its
 *      power-off action says.  The action starts as the drive's
 *      on-poweroff= (default ask) and the monitor may change it at any time
 *      (QMP vmkemu-redo-action).  With `ask`, power-off sends the QMP event
 *      VMKEMU_REDO_ACTION_REQUIRED naming the drive and waits, serving the
 *      monitor, until every such drive has an answer; with no monitor
 *      client connected (or when the last one leaves, or on a signal) the
 *      REDO log is kept.  A suspend keeps it, without asking.
 *
 * Controller API (include this header, then):
 *
 *   Drive *d = machine_drive_find(m, DRIVE_IF_IDE, channel, unit);
 *   if (d) {
 *       d->media           DRIVE_MEDIA_DISK or DRIVE_MEDIA_CDROM
 *       d->blk             the BlockBackend; NULL: a CD-ROM drive with no
 *                          medium.  Use blk_aio_* (completions run in the
 *                          main loop, big lock held) or blk_p* for short
 *                          synchronous work.  Do not close it: the drive
 *                          layer owns it, and closes it after the vCPUs
 *                          stopped and before the devices are freed, so a
 *                          controller's free function must not touch it.
 *       d->read_only       writes must fail (write-protected medium)
 *       d->size            bytes (0 without a medium)
 *       d->id              "ide0-hd0", "scsi1-cd3": for messages and
 *                          serial numbers
 *   }
 *
 * Slots: if=ide bus 0-1 (primary, secondary channel) unit 0-1 (master,
 * slave), index N = bus N/2 unit N%2; if=scsi bus 0-3 (adapter) unit 0-15
 * except 7 (the adapter's own ID), index N = bus N/16 unit N%16.
 */
#ifndef VMKEMU_DRIVE_H
#define VMKEMU_DRIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "block.h"

typedef struct Machine Machine;
typedef struct MachineConfig MachineConfig;

#define MACHINE_MAX_DRIVES  64

typedef enum DriveInterface {
    DRIVE_IF_IDE,
    DRIVE_IF_SCSI,
} DriveInterface;

#define DRIVE_IDE_BUSES     2
#define DRIVE_IDE_UNITS     2
#define DRIVE_SCSI_BUSES    4
#define DRIVE_SCSI_UNITS    16
#define DRIVE_SCSI_HOST_ID  7       /* the adapter's own target ID */

typedef enum DriveMedia {
    DRIVE_MEDIA_DISK,
    DRIVE_MEDIA_CDROM,
} DriveMedia;

/* What happens to an undoable disk's REDO log at power-off. */
typedef enum DrivePoweroff {
    DRIVE_POWEROFF_ASK,         /* ask the monitor; keep without an answer */
    DRIVE_POWEROFF_COMMIT,
    DRIVE_POWEROFF_DISCARD,
    DRIVE_POWEROFF_KEEP,
} DrivePoweroff;

/* One drive of the configuration (plain data; strings are g_malloc'd). */
typedef struct MachineDrive {
    DriveInterface iface;
    int bus;                    /* -1: not given (defaults filled on add) */
    int unit;                   /* -1: not given */
    int index;                  /* -1: not given */
    char *file;                 /* block-layer address; NULL: empty CD-ROM */
    char *format;               /* NULL or "auto": probe; raw vmdk cowd plain */
    DriveMedia media;
    BlkDiskMode mode;
    bool read_only;
    DrivePoweroff on_poweroff;  /* undoable only */
    char *id;                   /* NULL: "ide0-hd0" style default */
} MachineDrive;

/* GError domain of drive configuration and opening errors (exit 2). */
#define DRIVE_ERROR drive_error_quark()
GQuark drive_error_quark(void);

const char *drive_interface_name(DriveInterface iface);    /* "ide" */
const char *drive_poweroff_name(DrivePoweroff p);         /* "commit" */
int drive_poweroff_parse(const char *s, DrivePoweroff *out);

/* --- configuration ------------------------------------------------------ */

/* Parse "file=F[,if=ide|scsi][,bus=N][,unit=N][,index=N][,media=disk|cdrom]
 * [,format=F][,mode=M][,readonly=on|off][,on-poweroff=commit|discard|keep|
 * ask][,id=NAME]" (",," is a literal comma inside a value) into *d, which
 * it initialises; a bare word without '=' is taken as file= (as with
 * -hda).  Errors name the key and value. */
int machine_drive_parse(const char *spec, MachineDrive *d, GError **errp);
/* Free the strings of d and zero it. */
void machine_drive_clear(MachineDrive *d);
/* Fill the slot from index=/bus=/unit= (first free unit when neither is
 * given), check it and the options against each other, and append a copy
 * of d (taking its strings: d is zeroed) to cfg->drives.  A slot already
 * taken by a drive at position >= `replace_below` is an error; one below
 * it is replaced (the command line overriding a .cfg: pass the count of
 * .cfg drives; 0 never replaces). */
int machine_config_add_drive(MachineConfig *cfg, MachineDrive *d,
                             int replace_below, GError **errp);

/* --- the machine's drives ------------------------------------------------ */

typedef struct Drive {
    char *id;                   /* "ide0-hd0" */
    DriveInterface iface;
    int bus, unit;
    DriveMedia media;
    char *file;                 /* as configured, NULL without a medium */
    char *format;               /* "raw", "vmdk", ...: what was opened */
    BlkDiskMode mode;
    bool read_only;
    BlockBackend *blk;          /* NULL without a medium */
    uint64_t size;              /* bytes */
    char *redo;                 /* undoable/append: <file>.REDO, else NULL */
    DrivePoweroff poweroff;     /* undoable: the action at power-off */
    bool claimed;               /* a controller took it */
    bool asking;                /* power-off waits for the monitor's answer */
} Drive;

/* Open every configured drive (machine_create does this).  On failure the
 * drives opened so far are closed again (REDO logs kept). */
int machine_drives_open(Machine *m, GError **errp);
/* The drive at a slot, or NULL; claims it for the caller's controller. */
Drive *machine_drive_find(Machine *m, DriveInterface iface, int bus, int unit);
/* Every drive was claimed by a controller; else an error naming the first
 * that was not (there is no controller for its interface or slot). */
int machine_drives_check(Machine *m, GError **errp);
/* All drives in configuration order (for query-block and the like). */
int machine_drive_count(Machine *m);
Drive *machine_drive_get(Machine *m, int i);
Drive *machine_drive_by_id(Machine *m, const char *id);
/* Set an undoable drive's power-off action (the monitor's answer). */
int machine_drive_set_poweroff(Drive *d, DrivePoweroff action, GError **errp);
/* Wait for every request of every drive (main thread, big lock held). */
void machine_drives_drain(Machine *m);
/* Power-off: stop the vCPUs, drain, settle each undoable drive's action
 * (asking the monitor where it says ask; `suspended` keeps every REDO
 * without asking) and close every drive.  Returns 0, or -1 when a REDO
 * commit or removal failed (reported on stderr; the REDO is kept). */
int machine_drives_power_off(Machine *m, bool suspended);
/* Close whatever is still open, keeping REDO logs (machine_destroy). */
void machine_drives_close(Machine *m);

#endif
