/*
 * Drives: from the configuration's MachineDrive list to opened
 * BlockBackends that disk controllers claim by slot, and the power-off of
 * undoable disks (commit, discard or keep the REDO log, asking the monitor
 * when told to).  include/drive.h describes the life of a drive and the
 * API; the disk modes are the ESX Server 1.0 manual's ("Access modes":
 * "Each time the virtual machine is powered down, a dialog will ask
 * whether changes made to the disk during the current session should be
 * discarded, committed to the base disk image, or appended").  Here the
 * dialog is the QMP event VMKEMU_REDO_ACTION_REQUIRED and the answer the
 * command vmkemu-redo-action (docs/qmp.md).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <glib-unix.h>
#include "machine.h"
#include "log.h"
#include "monitor.h"

G_DEFINE_QUARK(vmkemu-drive-error-quark, drive_error)

static const char *const poweroff_names[] = {
    [DRIVE_POWEROFF_ASK] = "ask",
    [DRIVE_POWEROFF_COMMIT] = "commit",
    [DRIVE_POWEROFF_DISCARD] = "discard",
    [DRIVE_POWEROFF_KEEP] = "keep",
};

const char *drive_interface_name(DriveInterface iface)
{
    return iface == DRIVE_IF_SCSI ? "scsi" : "ide";
}

const char *drive_poweroff_name(DrivePoweroff p)
{
    return (unsigned)p < G_N_ELEMENTS(poweroff_names) ? poweroff_names[p] : "?";
}

int drive_poweroff_parse(const char *s, DrivePoweroff *out)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(poweroff_names); i++) {
        if (!g_ascii_strcasecmp(s, poweroff_names[i])) {
            *out = (DrivePoweroff)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* ------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------ */

static int bus_count(DriveInterface iface)
{
    return iface == DRIVE_IF_SCSI ? DRIVE_SCSI_BUSES : DRIVE_IDE_BUSES;
}

static int unit_count(DriveInterface iface)
{
    return iface == DRIVE_IF_SCSI ? DRIVE_SCSI_UNITS : DRIVE_IDE_UNITS;
}

static bool unit_usable(DriveInterface iface, int unit)
{
    return unit >= 0 && unit < unit_count(iface) &&
           !(iface == DRIVE_IF_SCSI && unit == DRIVE_SCSI_HOST_ID);
}

void machine_drive_clear(MachineDrive *d)
{
    g_free(d->file);
    g_free(d->format);
    g_free(d->id);
    *d = (MachineDrive){0};
}

static void drive_defaults(MachineDrive *d)
{
    *d = (MachineDrive){
        .iface = DRIVE_IF_IDE,
        .bus = -1,
        .unit = -1,
        .index = -1,
        .media = DRIVE_MEDIA_DISK,
        .mode = BLK_MODE_PERSISTENT,
        .on_poweroff = DRIVE_POWEROFF_ASK,
    };
}

static int bad_opt(GError **errp, const char *key, const char *val, const char *why)
{
    g_set_error(errp, DRIVE_ERROR, EINVAL, "%s=%s: %s", key, val, why);
    return -EINVAL;
}

static bool parse_num(const char *s, int lo, int hi, int *out)
{
    char *end;
    if (!g_ascii_isdigit(*s)) {
        return false;
    }
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > hi) {
        return false;
    }
    *out = (int)v;
    return true;
}

/* Split at single commas; ",," stands for a comma. */
static GPtrArray *split_spec(const char *spec)
{
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);
    for (const char *p = spec; *p; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',') {
            g_ptr_array_add(parts, g_string_free(cur, FALSE));
            cur = g_string_new(NULL);
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_ptr_array_add(parts, g_string_free(cur, FALSE));
    return parts;
}

static const char *const known_formats[] = { "auto", "raw", "vmdk", "cowd", "plain", NULL };

int machine_drive_parse(const char *spec, MachineDrive *d, GError **errp)
{
    GPtrArray *parts = split_spec(spec);
    int r = 0;

    drive_defaults(d);
    for (guint i = 0; i < parts->len && r == 0; i++) {
        char *kv = g_ptr_array_index(parts, i);
        char *eq = strchr(kv, '=');
        if (!*kv) {
            continue;       /* "" or a trailing comma */
        }
        if (!eq) {
            if (i == 0 && *kv) {
                d->file = g_strdup(kv);
                continue;
            }
            g_set_error(errp, DRIVE_ERROR, EINVAL, "'%s': not KEY=VALUE", kv);
            r = -EINVAL;
            break;
        }
        *eq = '\0';
        const char *k = kv, *v = eq + 1;
        if (!strcmp(k, "file")) {
            if (!*v) {
                r = bad_opt(errp, k, v, "empty file name");
            } else {
                g_free(d->file);
                d->file = g_strdup(v);
            }
        } else if (!strcmp(k, "if")) {
            if (!strcmp(v, "ide")) {
                d->iface = DRIVE_IF_IDE;
            } else if (!strcmp(v, "scsi")) {
                d->iface = DRIVE_IF_SCSI;
            } else {
                r = bad_opt(errp, k, v, "unknown interface (ide or scsi)");
            }
        } else if (!strcmp(k, "bus")) {
            if (!parse_num(v, 0, 255, &d->bus)) {
                r = bad_opt(errp, k, v, "not a bus number");
            }
        } else if (!strcmp(k, "unit")) {
            if (!parse_num(v, 0, 255, &d->unit)) {
                r = bad_opt(errp, k, v, "not a unit number");
            }
        } else if (!strcmp(k, "index")) {
            if (!parse_num(v, 0, 4095, &d->index)) {
                r = bad_opt(errp, k, v, "not an index");
            }
        } else if (!strcmp(k, "media")) {
            if (!strcmp(v, "disk")) {
                d->media = DRIVE_MEDIA_DISK;
            } else if (!strcmp(v, "cdrom")) {
                d->media = DRIVE_MEDIA_CDROM;
            } else {
                r = bad_opt(errp, k, v, "unknown media (disk or cdrom)");
            }
        } else if (!strcmp(k, "format")) {
            bool ok = false;
            for (int f = 0; known_formats[f]; f++) {
                ok |= !strcmp(v, known_formats[f]);
            }
            if (!ok) {
                r = bad_opt(errp, k, v, "unknown format (raw, vmdk, cowd, plain or auto)");
            } else {
                g_free(d->format);
                d->format = g_strdup(v);
            }
        } else if (!strcmp(k, "mode")) {
            if (blk_disk_mode_parse(v, &d->mode) < 0) {
                r = bad_opt(errp, k, v, "unknown disk mode (persistent, nonpersistent, "
                            "undoable or append)");
            }
        } else if (!strcmp(k, "readonly")) {
            if (!strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "true")) {
                d->read_only = true;
            } else if (!strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "false")) {
                d->read_only = false;
            } else {
                r = bad_opt(errp, k, v, "not on or off");
            }
        } else if (!strcmp(k, "on-poweroff")) {
            if (drive_poweroff_parse(v, &d->on_poweroff) < 0) {
                r = bad_opt(errp, k, v, "not commit, discard, keep or ask");
            }
        } else if (!strcmp(k, "id")) {
            bool ok = *v && g_ascii_isalpha(*v);
            for (const char *c = v; *c; c++) {
                ok &= g_ascii_isalnum(*c) || *c == '-' || *c == '_' || *c == '.';
            }
            if (!ok) {
                r = bad_opt(errp, k, v, "an id is a letter, then letters, digits, - _ .");
            } else {
                g_free(d->id);
                d->id = g_strdup(v);
            }
        } else {
            g_set_error(errp, DRIVE_ERROR, EINVAL, "%s: unknown drive option", k);
            r = -EINVAL;
        }
    }
    g_ptr_array_free(parts, TRUE);
    if (r < 0) {
        machine_drive_clear(d);
    }
    return r;
}

static MachineDrive *slot_taken(MachineConfig *cfg, DriveInterface iface, int bus,
                                int unit, int *pos)
{
    for (int i = 0; i < cfg->ndrives; i++) {
        MachineDrive *o = &cfg->drives[i];
        if (o->iface == iface && o->bus == bus && o->unit == unit) {
            *pos = i;
            return o;
        }
    }
    return NULL;
}

static char *default_id(const MachineDrive *d)
{
    return g_strdup_printf("%s%d-%s%d", drive_interface_name(d->iface), d->bus,
                           d->media == DRIVE_MEDIA_CDROM ? "cd" : "hd", d->unit);
}

int machine_config_add_drive(MachineConfig *cfg, MachineDrive *d,
                             int replace_below, GError **errp)
{
    const char *ifn = drive_interface_name(d->iface);
    int nb = bus_count(d->iface), nu = unit_count(d->iface);
    int pos;

    if (d->index >= 0) {
        if (d->bus >= 0 || d->unit >= 0) {
            g_set_error(errp, DRIVE_ERROR, EINVAL,
                        "index=%d: give either index= or bus=/unit=, not both", d->index);
            return -EINVAL;
        }
        if (d->index >= nb * nu) {
            g_set_error(errp, DRIVE_ERROR, EINVAL,
                        "index=%d: if=%s has indexes 0 to %d", d->index, ifn, nb * nu - 1);
            return -EINVAL;
        }
        d->bus = d->index / nu;
        d->unit = d->index % nu;
    }
    if (d->bus >= nb) {
        g_set_error(errp, DRIVE_ERROR, EINVAL, "bus=%d: if=%s has buses 0 to %d",
                    d->bus, ifn, nb - 1);
        return -EINVAL;
    }
    if (d->unit >= 0 && !unit_usable(d->iface, d->unit)) {
        g_set_error(errp, DRIVE_ERROR, EINVAL, "unit=%d: if=%s has units 0 to %d%s",
                    d->unit, ifn, nu - 1,
                    d->iface == DRIVE_IF_SCSI ? " except 7 (the adapter)" : "");
        return -EINVAL;
    }
    if (d->unit < 0) {
        /* The first free unit, from the given bus (or 0) on. */
        int b = d->bus < 0 ? 0 : d->bus, u = 0;
        for (;;) {
            if (unit_usable(d->iface, u) && !slot_taken(cfg, d->iface, b, u, &pos)) {
                break;
            }
            if (++u >= nu) {
                u = 0;
                if (d->bus >= 0 || ++b >= nb) {
                    g_set_error(errp, DRIVE_ERROR, ENOSPC,
                                "%s: no free if=%s unit left%s", d->file ? d->file : "drive",
                                ifn, d->bus >= 0 ? " on that bus" : "");
                    return -ENOSPC;
                }
            }
        }
        d->bus = b;
        d->unit = u;
    }
    if (d->bus < 0) {
        d->bus = 0;
    }
    const char *what = d->file ? d->file : "drive";
    if (d->media == DRIVE_MEDIA_CDROM) {
        if (d->mode != BLK_MODE_PERSISTENT) {
            g_set_error(errp, DRIVE_ERROR, EINVAL,
                        "%s: mode=%s: a CD-ROM is read-only, it has no disk mode",
                        what, blk_disk_mode_name(d->mode));
            return -EINVAL;
        }
        d->read_only = true;
    } else if (!d->file) {
        g_set_error(errp, DRIVE_ERROR, EINVAL,
                    "if=%s,bus=%d,unit=%d: a disk needs file= (only a CD-ROM may be empty)",
                    ifn, d->bus, d->unit);
        return -EINVAL;
    }
    if (d->read_only && (d->mode == BLK_MODE_UNDOABLE || d->mode == BLK_MODE_APPEND)) {
        g_set_error(errp, DRIVE_ERROR, EINVAL,
                    "%s: readonly=on with mode=%s: that mode writes a REDO log",
                    what, blk_disk_mode_name(d->mode));
        return -EINVAL;
    }
    if (d->on_poweroff != DRIVE_POWEROFF_ASK && d->mode != BLK_MODE_UNDOABLE) {
        g_set_error(errp, DRIVE_ERROR, EINVAL,
                    "%s: on-poweroff=%s applies to mode=undoable only",
                    what, drive_poweroff_name(d->on_poweroff));
        return -EINVAL;
    }
    if (!d->id) {
        d->id = default_id(d);
    }
    for (int i = 0; i < cfg->ndrives; i++) {
        MachineDrive *o = &cfg->drives[i];
        bool same_slot = o->iface == d->iface && o->bus == d->bus && o->unit == d->unit;
        if (!same_slot && !strcmp(o->id, d->id) && i >= replace_below) {
            g_set_error(errp, DRIVE_ERROR, EEXIST, "id=%s: two drives have this id", d->id);
            return -EEXIST;
        }
    }
    MachineDrive *o = slot_taken(cfg, d->iface, d->bus, d->unit, &pos);
    if (o && pos >= replace_below) {
        g_set_error(errp, DRIVE_ERROR, EEXIST,
                    "%s: if=%s bus %d unit %d already holds %s", what, ifn, d->bus,
                    d->unit, o->file ? o->file : "an empty CD-ROM drive");
        return -EEXIST;
    }
    if (o) {
        machine_drive_clear(o);
        *o = *d;
    } else if (cfg->ndrives >= MACHINE_MAX_DRIVES) {
        g_set_error(errp, DRIVE_ERROR, ENOSPC, "%s: at most %d drives", what,
                    MACHINE_MAX_DRIVES);
        return -ENOSPC;
    } else {
        cfg->drives[cfg->ndrives++] = *d;
    }
    *d = (MachineDrive){0};
    return 0;
}

/* ------------------------------------------------------------------------
 * Opening
 * ------------------------------------------------------------------------ */

static void drive_free(Drive *d)
{
    g_free(d->id);
    g_free(d->file);
    g_free(d->format);
    g_free(d->redo);
    g_free(d);
}

/* The format a host image file holds, by the block layer's probe. */
static const char *probed_format(const char *file)
{
    if (!g_file_test(file, G_FILE_TEST_IS_REGULAR)) {
        return "raw";       /* a device, a VMFS file: the disk itself */
    }
    BlockNode *bs = blk_file_open(file, 0, NULL);
    if (!bs) {
        return "raw";       /* opening the drive will say why */
    }
    BlkFormat f = blk_probe_format(bs);
    blk_node_close(bs);
    switch (f) {
    case BLK_FORMAT_VMDK:
    case BLK_FORMAT_DESCRIPTOR:
        return "vmdk";
    case BLK_FORMAT_COWD:
        return "cowd";
    case BLK_FORMAT_REDO:
        return "redo";
    default:
        return "raw";
    }
}

static bool format_matches(const char *want, const char *found)
{
    if (!want || !strcmp(want, "auto")) {
        return true;
    }
    if (!strcmp(want, "plain")) {
        return !strcmp(found, "vmdk");    /* a descriptor with raw extents */
    }
    return !strcmp(want, found);
}

/* "drive ID: MSG", naming the file when the message does not. */
static void drive_fail(GError **errp, const Drive *d, const char *msg)
{
    if (d->file && !strstr(msg, d->file)) {
        g_set_error(errp, DRIVE_ERROR, EIO, "drive %s: %s: %s", d->id, d->file, msg);
    } else {
        g_set_error(errp, DRIVE_ERROR, EIO, "drive %s: %s", d->id, msg);
    }
}

static int drive_open(Drive *d, const MachineDrive *c, GError **errp)
{
    if (!d->file) {
        return 0;           /* a CD-ROM drive without a disc */
    }
    const char *fmt = probed_format(d->file);
    if (!format_matches(c->format, fmt)) {
        gchar *msg = g_strdup_printf("format=%s, but the file holds a %s image",
                                     c->format, fmt);
        drive_fail(errp, d, msg);
        g_free(msg);
        return -EINVAL;
    }
    d->format = g_strdup(fmt);

    BlockBackendOptions o = { .mode = d->mode, .read_only = d->read_only };
    GError *err = NULL;
    d->blk = blk_backend_open(d->file, &o, &err);
    if (!d->blk) {
        drive_fail(errp, d, err->message);
        g_error_free(err);
        return -EIO;
    }
    int64_t size = blk_size(d->blk);
    if (size < 0) {
        gchar *msg = g_strdup_printf("cannot get its size: %s", g_strerror((int)-size));
        drive_fail(errp, d, msg);
        g_free(msg);
        return -EIO;
    }
    d->size = (uint64_t)size;
    if (d->mode == BLK_MODE_UNDOABLE || d->mode == BLK_MODE_APPEND) {
        d->redo = blk_redo_name(d->file);
    }
    const char *recovered = blk_recovered_redo(d->blk);
    if (recovered) {
        vwarn("drive %s: %s", d->id, recovered);
    }
    vlog("drive %s: %s (%s, %s%s, %" G_GUINT64_FORMAT " bytes)", d->id, d->file,
         d->format, blk_disk_mode_name(d->mode), d->read_only ? ", read-only" : "",
         d->size);
    return 0;
}

int machine_drives_open(Machine *m, GError **errp)
{
    MachineConfig *cfg = m->cfg;

    if (!m->drives) {
        m->drives = g_ptr_array_new();
    }
    for (int i = 0; i < cfg->ndrives; i++) {
        const MachineDrive *c = &cfg->drives[i];
        Drive *d = g_new0(Drive, 1);
        d->id = g_strdup(c->id);
        d->iface = c->iface;
        d->bus = c->bus;
        d->unit = c->unit;
        d->media = c->media;
        d->file = g_strdup(c->file);
        d->mode = c->media == DRIVE_MEDIA_CDROM ? BLK_MODE_PERSISTENT : c->mode;
        d->read_only = c->read_only || c->media == DRIVE_MEDIA_CDROM;
        d->poweroff = c->on_poweroff;
        g_ptr_array_add(m->drives, d);
        if (drive_open(d, c, errp) < 0) {
            machine_drives_close(m);
            return -1;
        }
    }
    return 0;
}

int machine_drive_count(Machine *m)
{
    return m->drives ? (int)m->drives->len : 0;
}

Drive *machine_drive_get(Machine *m, int i)
{
    return i >= 0 && i < machine_drive_count(m) ? g_ptr_array_index(m->drives, i) : NULL;
}

Drive *machine_drive_find(Machine *m, DriveInterface iface, int bus, int unit)
{
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        if (d->iface == iface && d->bus == bus && d->unit == unit) {
            d->claimed = true;
            return d;
        }
    }
    return NULL;
}

Drive *machine_drive_by_id(Machine *m, const char *id)
{
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        if (!strcmp(d->id, id)) {
            return d;
        }
    }
    return NULL;
}

int machine_drives_check(Machine *m, GError **errp)
{
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        if (!d->claimed) {
            g_set_error(errp, DRIVE_ERROR, ENODEV,
                        "drive %s%s%s: no if=%s controller with bus %d unit %d in this "
                        "machine (not available yet)", d->id, d->file ? ": " : "",
                        d->file ? d->file : "", drive_interface_name(d->iface), d->bus,
                        d->unit);
            return -ENODEV;
        }
    }
    return 0;
}

int machine_drive_set_poweroff(Drive *d, DrivePoweroff action, GError **errp)
{
    if (d->mode != BLK_MODE_UNDOABLE) {
        g_set_error(errp, DRIVE_ERROR, EINVAL,
                    "drive %s is %s, not undoable: it has no power-off choice",
                    d->id, blk_disk_mode_name(d->mode));
        return -EINVAL;
    }
    d->poweroff = action;
    if (action != DRIVE_POWEROFF_ASK) {
        d->asking = false;
    }
    vlog("drive %s: at power-off, %s %s", d->id,
         action == DRIVE_POWEROFF_ASK ? "ask about" : drive_poweroff_name(action),
         d->redo);
    return 0;
}

void machine_drives_drain(Machine *m)
{
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        if (d->blk) {
            blk_drain(d->blk);
        }
    }
}

/* ------------------------------------------------------------------------
 * Power-off
 * ------------------------------------------------------------------------ */

static BlkRedoAction redo_action(DrivePoweroff p)
{
    switch (p) {
    case DRIVE_POWEROFF_COMMIT: return BLK_REDO_COMMIT;
    case DRIVE_POWEROFF_DISCARD: return BLK_REDO_DISCARD;
    default: return BLK_REDO_KEEP;
    }
}

static int drive_close(Drive *d, DrivePoweroff action)
{
    GError *err = NULL;
    int r = 0;
    if (!d->blk) {
        return 0;
    }
    if (blk_backend_close(d->blk, redo_action(action), &err) < 0) {
        verror("drive %s: %s", d->id, err->message);
        g_error_free(err);
        r = -1;
    } else if (d->mode == BLK_MODE_UNDOABLE) {
        const char *done = action == DRIVE_POWEROFF_COMMIT ? "committed into the disk" :
                           action == DRIVE_POWEROFF_DISCARD ? "discarded" : "kept";
        vlog("drive %s: %s %s", d->id, d->redo, done);
    }
    d->blk = NULL;
    return r;
}

static bool asking_any(Machine *m)
{
    for (int i = 0; i < machine_drive_count(m); i++) {
        if (machine_drive_get(m, i)->asking) {
            return true;
        }
    }
    return false;
}

static gboolean on_signal_while_asking(gpointer data)
{
    bool *stop = data;
    *stop = true;
    return G_SOURCE_CONTINUE;
}

/* Ask the monitor about every undoable drive set to ask; wait for the
 * answers while a client is there to give them. */
static void ask_monitor(Machine *m)
{
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        if (!d->blk || d->mode != BLK_MODE_UNDOABLE || d->poweroff != DRIVE_POWEROFF_ASK) {
            continue;
        }
        if (monitor_client_count() == 0) {
            vlog("drive %s: on-poweroff=ask, but no monitor client to ask: %s kept",
                 d->id, d->redo);
            continue;
        }
        d->asking = true;
        JsonObject *data = json_object_new();
        json_object_set_string_member(data, "device", d->id);
        json_object_set_string_member(data, "file", d->file);
        json_object_set_string_member(data, "redo", d->redo);
        JsonArray *choices = json_array_new();
        json_array_add_string_element(choices, "commit");
        json_array_add_string_element(choices, "discard");
        json_array_add_string_element(choices, "keep");
        json_object_set_array_member(data, "choices", choices);
        monitor_event("VMKEMU_REDO_ACTION_REQUIRED", data);
    }
    if (!asking_any(m)) {
        return;
    }
    bool stop = false;
    guint sig[3] = {
        g_unix_signal_add(SIGINT, on_signal_while_asking, &stop),
        g_unix_signal_add(SIGTERM, on_signal_while_asking, &stop),
        g_unix_signal_add(SIGHUP, on_signal_while_asking, &stop),
    };
    while (asking_any(m) && !stop && monitor_client_count() > 0) {
        g_main_context_iteration(NULL, TRUE);
    }
    for (int i = 0; i < 3; i++) {
        g_source_remove(sig[i]);
    }
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        if (d->asking) {
            vlog("drive %s: no answer from the monitor (%s): %s kept", d->id,
                 stop ? "signal" : "no client left", d->redo);
            d->asking = false;
        }
    }
}

int machine_drives_power_off(Machine *m, bool suspended)
{
    int r = 0;

    if (machine_drive_count(m) == 0) {
        return 0;
    }
    /* Nothing may write to the disks while they are settled. */
    if (m->accel && m->accel->pause) {
        m->accel->pause(m);
    }
    machine_drives_drain(m);
    if (!suspended) {
        ask_monitor(m);
    }
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        DrivePoweroff action = suspended ? DRIVE_POWEROFF_KEEP : d->poweroff;
        if (drive_close(d, action) < 0) {
            r = -1;
        }
    }
    return r;
}

void machine_drives_close(Machine *m)
{
    if (!m->drives) {
        return;
    }
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        drive_close(d, DRIVE_POWEROFF_KEEP);
        drive_free(d);
    }
    g_ptr_array_free(m->drives, TRUE);
    m->drives = NULL;
}
