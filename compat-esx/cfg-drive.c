/*
 * A .cfg's disk and CD-ROM keys onto the machine's drive list
 * (include/drive.h), for any controller family: ideN:M.* today, scsiN:M.*
 * with the same keys.  Reference: ESX Server 1.0 manual, "Access modes"
 * (scsi0:2.name, scsi0:2.mode) and "Virtual SCSI disks on the console
 * operating system" (scsi0:1.fileName relative to the VM's directory); the
 * IDE keys and deviceType values are those VMware's products of the time
 * write in their configuration files:
 *
 *   ideN:M.present        TRUE: the device exists
 *   ideN:M.fileName       the disk image, ISO image or host device; a
 *   ideN:M.name           relative path is beside the .cfg; an ESX address
 *                         (vmhbaA:T:L:P:file, fsname:file) as the manual says
 *   ideN:M.deviceType     ata-hardDisk or disk: a hard disk (default);
 *                         atapi-cdrom, cdrom-image (an ISO file) or
 *                         cdrom-raw (a host CD-ROM device): a CD-ROM;
 *                         for scsiN:M, scsi-hardDisk or disk, cdrom-image
 *                         or cdrom-raw
 *   ideN:M.mode           persistent (default), nonpersistent, undoable,
 *                         append (disks only)
 *   ideN:M.startConnected FALSE: a CD-ROM drive without a disc
 */
#include <errno.h>
#include <string.h>
#include "esx-cfg.h"

static int drive_bad(GError **errp, EsxCfg *cfg, EsxCfgEntry *e, const char *why)
{
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s = %s: %s",
                cfg->path, e->line, e->key, e->value, why);
    return -EINVAL;
}

/* A relative host path is relative to the .cfg's directory; ESX addresses
 * stay as they are. */
static char *drive_file(EsxCfg *cfg, const char *v)
{
    BlkAddress a;
    gchar *dir = g_path_get_dirname(cfg->path);
    gchar *beside = g_path_is_absolute(v) ? g_strdup(v) : g_build_filename(dir, v, NULL);
    char *out;

    g_free(dir);
    if (blk_address_parse(v, &a, NULL) < 0) {
        return beside;      /* let the block layer say what is wrong */
    }
    bool host = a.kind == BLK_ADDR_HOST ||
                (a.kind == BLK_ADDR_VMFS_FILE && a.fsname &&
                 g_file_test(beside, G_FILE_TEST_EXISTS));
    blk_address_clear(&a);
    if (host) {
        return beside;
    }
    out = g_strdup(v);
    g_free(beside);
    return out;
}

int esx_cfg_map_drive(EsxCfg *cfg, MachineConfig *mc, DriveInterface iface,
                      int bus, int unit, GError **errp)
{
    const char *fam = drive_interface_name(iface);
    gchar *prefix = g_strdup_printf("%s%d:%d.", fam, bus, unit);
    gchar *key;
    EsxCfgEntry *e, *file_e, *type_e, *mode_e;
    MachineDrive d;
    int r = -EINVAL;

#define LOOKUP(prop) (key = g_strconcat(prefix, prop, NULL), \
                      e = esx_cfg_lookup(cfg, key), g_free(key), e)
    machine_drive_parse("", &d, NULL);
    d.iface = iface;
    d.bus = bus;
    d.unit = unit;

    file_e = LOOKUP("fileName");
    if (!file_e) {
        file_e = LOOKUP("name");
    }
    type_e = LOOKUP("deviceType");
    if (type_e) {
        static const char *const ide_disks[] = { "ata-hardDisk", "disk", NULL };
        static const char *const ide_cds[] = { "atapi-cdrom", "cdrom-image", "cdrom-raw", NULL };
        static const char *const scsi_disks[] = { "scsi-hardDisk", "disk", NULL };
        static const char *const scsi_cds[] = { "cdrom-image", "cdrom-raw", NULL };
        const char *const *disks = iface == DRIVE_IF_SCSI ? scsi_disks : ide_disks;
        const char *const *cds = iface == DRIVE_IF_SCSI ? scsi_cds : ide_cds;
        bool found = false;
        for (int i = 0; disks[i]; i++) {
            found |= !g_ascii_strcasecmp(type_e->value, disks[i]);
        }
        for (int i = 0; cds[i]; i++) {
            if (!g_ascii_strcasecmp(type_e->value, cds[i])) {
                d.media = DRIVE_MEDIA_CDROM;
                found = true;
            }
        }
        if (!found) {
            drive_bad(errp, cfg, type_e, iface == DRIVE_IF_SCSI ?
                      "not a device type (scsi-hardDisk, disk, cdrom-image or cdrom-raw)" :
                      "not a device type (ata-hardDisk, disk, atapi-cdrom, cdrom-image "
                      "or cdrom-raw)");
            goto out;
        }
    }
    mode_e = LOOKUP("mode");
    if (mode_e && blk_disk_mode_parse(mode_e->value, &d.mode) < 0) {
        drive_bad(errp, cfg, mode_e, "not a disk mode (persistent, nonpersistent, "
                  "undoable or append)");
        goto out;
    }
    if (mode_e && d.media == DRIVE_MEDIA_CDROM && d.mode != BLK_MODE_PERSISTENT) {
        drive_bad(errp, cfg, mode_e, "a CD-ROM is read-only, it has no disk mode");
        goto out;
    }
    bool connected = true;
    e = LOOKUP("startConnected");
    if (e && !esx_cfg_parse_bool(e->value, &connected)) {
        drive_bad(errp, cfg, e, "not a boolean (TRUE or FALSE)");
        goto out;
    }
    if (!file_e || !*file_e->value) {
        if (d.media == DRIVE_MEDIA_DISK) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s: %s%d:%d is a present disk without %sfileName", cfg->path,
                        fam, bus, unit, prefix);
            goto out;
        }
    } else if (connected || d.media == DRIVE_MEDIA_DISK) {
        d.file = drive_file(cfg, file_e->value);
    }
    GError *err = NULL;
    if (machine_config_add_drive(mc, &d, 0, &err) < 0) {
        EsxCfgEntry *at = file_e ? file_e : type_e ? type_e : mode_e;
        if (at) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s: %s",
                        cfg->path, at->line, at->key, err->message);
        } else {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: %s%d:%d: %s",
                        cfg->path, fam, bus, unit, err->message);
        }
        g_error_free(err);
        goto out;
    }
    r = 0;
out:
#undef LOOKUP
    machine_drive_clear(&d);
    g_free(prefix);
    return r;
}
