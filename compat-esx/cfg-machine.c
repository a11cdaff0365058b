/*
 * From a parsed .cfg to a machine description: every key the ESX Server 1.0
 * manual uses is validated as the manual says and mapped onto MachineConfig
 * (what the machine is) or EsxVmSettings (resource policy, suspend, identity).
 * Keys of our own live under `vmkemu.`.  A device vmkemu does not model yet
 * is refused by name rather than silently dropped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "esx-cfg.h"
#include "esx-mac.h"

/* MemMaxOvercommit's default (manual, "Allocating Memory"): the minimum
 * size may be as low as max / (1 + 100%). */
#define ESX_MEM_MAX_OVERCOMMIT_PCT 100

void esx_vm_settings_clear(EsxVmSettings *s)
{
    g_free(s->display_name);
    g_free(s->guest_os);
    g_free(s->cpu_affinity);
    g_free(s->suspend_dir);
    g_free(s->machine_id);
    g_free(s->log_filename);
    g_free(s->nvram);
    *s = (EsxVmSettings){0};
}

static int bad_value(GError **errp, EsxCfg *cfg, EsxCfgEntry *e, const char *why)
{
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s = %s: %s",
                cfg->path, e->line, e->key, e->value, why);
    return -EINVAL;
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    char *end;
    if (!g_ascii_isdigit(*s)) {
        return false;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v < lo || v > hi) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* A path in a .cfg is relative to the .cfg's directory. */
static char *cfg_path(EsxCfg *cfg, const char *p)
{
    if (g_path_is_absolute(p)) {
        return g_strdup(p);
    }
    gchar *dir = g_path_get_dirname(cfg->path);
    gchar *full = g_build_filename(dir, p, NULL);
    g_free(dir);
    return full;
}

static int get_bool(EsxCfg *cfg, const char *key, bool dflt, bool *out,
                    GError **errp)
{
    EsxCfgEntry *e = esx_cfg_lookup(cfg, key);
    *out = dflt;
    if (e && !esx_cfg_parse_bool(e->value, out)) {
        return bad_value(errp, cfg, e, "not a boolean (TRUE or FALSE)");
    }
    return 0;
}

static int get_u32(EsxCfg *cfg, const char *key, uint32_t lo, uint32_t hi,
                   uint32_t dflt, uint32_t *out, GError **errp)
{
    EsxCfgEntry *e = esx_cfg_lookup(cfg, key);
    *out = dflt;
    if (e && !parse_u32(e->value, lo, hi, out)) {
        char why[80];
        snprintf(why, sizeof(why), "not a whole number from %u to %u", lo, hi);
        return bad_value(errp, cfg, e, why);
    }
    return 0;
}

static void get_str(EsxCfg *cfg, const char *key, char **out)
{
    const char *v = esx_cfg_get(cfg, key);
    if (v) {
        g_free(*out);
        *out = g_strdup(v);
    }
}

/* --- devices ------------------------------------------------------------- */

/* Properties a device key may have, per family (lower case). */
static const char *const scsi_adapter_props[] = { "present", "virtualdev", "shared", NULL };
static const char *const disk_props[] = { "present", "name", "filename", "mode",
                                          "devicetype", "redo", "startconnected", NULL };
static const char *const floppy_props[] = { "present", "filename", "filetype",
                                            "startconnected", NULL };
static const char *const ethernet_props[] = { "present", "connectiontype", "virtualdev",
                                              "devname", "exclusive", "address",
                                              "addresstype", NULL };

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++) {
        if (!strcmp(*list, s)) {
            return true;
        }
    }
    return false;
}

static bool value_in(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++) {
        if (!g_ascii_strcasecmp(v, *allowed)) {
            return true;
        }
    }
    return false;
}

/* The device part of a key such as "scsi0:1.mode" -> family, and whether it
 * names a valid unit. */
typedef enum DevFamily { DEV_NONE, DEV_SCSI_ADAPTER, DEV_SCSI_DISK, DEV_IDE,
                         DEV_FLOPPY, DEV_ETHERNET } DevFamily;

static DevFamily device_of(const char *dev)
{
    int a, b;
    char tail;
    if (sscanf(dev, "scsi%d:%d%c", &a, &b, &tail) == 2) {
        return a >= 0 && a < 4 && b >= 0 && b < 16 && b != 7 ? DEV_SCSI_DISK : DEV_NONE;
    }
    if (sscanf(dev, "scsi%d%c", &a, &tail) == 1) {
        return a >= 0 && a < 4 ? DEV_SCSI_ADAPTER : DEV_NONE;
    }
    if (sscanf(dev, "ide%d:%d%c", &a, &b, &tail) == 2) {
        return a >= 0 && a < 2 && b >= 0 && b < 2 ? DEV_IDE : DEV_NONE;
    }
    if (sscanf(dev, "floppy%d%c", &a, &tail) == 1) {
        return a >= 0 && a < 2 ? DEV_FLOPPY : DEV_NONE;
    }
    if (sscanf(dev, "ethernet%d%c", &a, &tail) == 1) {
        return a >= 0 && a < ESX_MAX_ETHERNET ? DEV_ETHERNET : DEV_NONE;
    }
    return DEV_NONE;
}

/* A manual MAC must lie in 00:50:56:00:00:00-00:50:56:3F:FF:FF (manual,
 * "Setting MAC Addresses Manually"). */
static bool manual_mac_ok(const char *v)
{
    EsxMac mac;
    return esx_mac_parse(v, &mac) && esx_mac_is_manual_range(&mac);
}

static int check_device_prop(EsxCfg *cfg, EsxCfgEntry *e, DevFamily fam,
                             const char *prop, GError **errp)
{
    static const char *const modes[] = { "persistent", "nonpersistent", "undoable",
                                         "append", NULL };
    static const char *const scsi_devs[] = { "vmxbuslogic", "buslogic", "lsilogic", NULL };
    static const char *const eth_devs[] = { "vmxnet", "vlance", NULL };
    static const char *const conn_types[] = { "monitor_dev", "bridged", "hostonly",
                                              "nat", "custom", NULL };
    bool b;

    if (!strcmp(prop, "present") || !strcmp(prop, "exclusive") ||
        !strcmp(prop, "startconnected") || !strcmp(prop, "shared")) {
        if (!esx_cfg_parse_bool(e->value, &b)) {
            return bad_value(errp, cfg, e, "not a boolean (TRUE or FALSE)");
        }
    } else if (!strcmp(prop, "mode") && !value_in(e->value, modes)) {
        return bad_value(errp, cfg, e, "not a disk mode (persistent, nonpersistent, undoable or append)");
    } else if (!strcmp(prop, "virtualdev") && fam == DEV_SCSI_ADAPTER &&
               !value_in(e->value, scsi_devs)) {
        return bad_value(errp, cfg, e, "not a SCSI adapter (vmxbuslogic or buslogic)");
    } else if (!strcmp(prop, "virtualdev") && fam == DEV_ETHERNET &&
               !value_in(e->value, eth_devs)) {
        return bad_value(errp, cfg, e, "not a network adapter (vmxnet or vlance)");
    } else if (!strcmp(prop, "connectiontype") && !value_in(e->value, conn_types)) {
        return bad_value(errp, cfg, e, "not a connection type (monitor_dev, bridged, ...)");
    } else if (!strcmp(prop, "addresstype") &&
               g_ascii_strcasecmp(e->value, "generated") &&
               g_ascii_strcasecmp(e->value, "static")) {
        return bad_value(errp, cfg, e, "not an address type (generated or static)");
    } else if (!strcmp(prop, "address") && !manual_mac_ok(e->value)) {
        return bad_value(errp, cfg, e, "a manual MAC address must lie in 00:50:56:00:00:00-00:50:56:3F:FF:FF");
    } else if ((!strcmp(prop, "name") || !strcmp(prop, "filename")) && !*e->value) {
        return bad_value(errp, cfg, e, "empty file name");
    }
    return 0;
}

static gint by_line(gconstpointer a, gconstpointer b)
{
    const EsxCfgEntry *x = *(EsxCfgEntry *const *)a, *y = *(EsxCfgEntry *const *)b;
    return x->line - y->line;
}

/* Present IDE devices onto the drive list, in file order. */
static int map_ide(EsxCfg *cfg, GHashTable *present, MachineConfig *mc, GError **errp)
{
    GPtrArray *ide = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    int r = 0;
    g_hash_table_iter_init(&it, present);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (device_of(k) == DEV_IDE) {
            g_ptr_array_add(ide, v);
        }
    }
    g_ptr_array_sort(ide, by_line);
    for (guint i = 0; i < ide->len && r == 0; i++) {
        EsxCfgEntry *e = g_ptr_array_index(ide, i);
        int bus, unit;
        sscanf(e->key + 3, "%d:%d", &bus, &unit);
        r = esx_cfg_map_drive(cfg, mc, DRIVE_IF_IDE, bus, unit, errp);
    }
    g_ptr_array_free(ide, TRUE);
    return r;
}

/* SCSI adapters and their disks: a BusLogic adapter for scsiN.virtualDev =
 * vmxbuslogic or buslogic (the default when the key is absent), for every
 * present scsiN and every N with a present scsiN:M; the disks onto the
 * drive list (bus N, unit M) in file order.  Other adapter models are
 * refused by name. */
static int map_scsi(EsxCfg *cfg, GHashTable *present, MachineConfig *mc, GError **errp)
{
    static const char *const buslogic[] = { "vmxbuslogic", "buslogic", NULL };
    GPtrArray *disks = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    int r = 0;

    g_hash_table_iter_init(&it, present);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        if (device_of(k) == DEV_SCSI_DISK) {
            g_ptr_array_add(disks, v);
        } else if (device_of(k) == DEV_SCSI_ADAPTER) {
            mc->scsi_present |= 1u << (((const char *)k)[4] - '0');
        }
    }
    /* The adapter model, for every adapter in use. */
    for (int n = 0; n < 4 && r == 0; n++) {
        bool used = mc->scsi_present & (1u << n);
        for (guint i = 0; i < disks->len; i++) {
            EsxCfgEntry *e = g_ptr_array_index(disks, i);
            used |= e->key[4] - '0' == n;
        }
        gchar *key = g_strdup_printf("scsi%d.virtualDev", n);
        EsxCfgEntry *dev = esx_cfg_lookup(cfg, key);
        g_free(key);
        if (used && dev && !value_in(dev->value, buslogic)) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
                        "%s:%d: %s = %s: not available yet", cfg->path, dev->line,
                        dev->key, dev->value);
            r = -ENOSYS;
        }
        key = g_strdup_printf("scsi%d.present", n);
        EsxCfgEntry *pres = esx_cfg_lookup(cfg, key);
        g_free(key);
        bool on;
        if (r == 0 && used && pres && esx_cfg_parse_bool(pres->value, &on) && !on) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "%s:%d: %s = %s: the adapter of present scsi%d:N disks", cfg->path,
                        pres->line, pres->key, pres->value, n);
            r = -EINVAL;
        }
    }
    g_ptr_array_sort(disks, by_line);
    for (guint i = 0; i < disks->len && r == 0; i++) {
        EsxCfgEntry *e = g_ptr_array_index(disks, i);
        int bus, unit;
        sscanf(e->key + 4, "%d:%d", &bus, &unit);
        r = esx_cfg_map_drive(cfg, mc, DRIVE_IF_SCSI, bus, unit, errp);
    }
    g_ptr_array_free(disks, TRUE);
    return r;
}

/* Validate device keys; map IDE drives; refuse present devices vmkemu does
 * not model yet. */
static int map_devices(EsxCfg *cfg, MachineConfig *mc, GError **errp)
{
    GHashTable *present = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    int r = 0;

    for (guint i = 0; i < cfg->entries->len && r == 0; i++) {
        EsxCfgEntry *e = g_ptr_array_index(cfg->entries, i);
        gchar *lower = g_ascii_strdown(e->key, -1);
        char *dot = strrchr(lower, '.');
        if (dot) {
            *dot = '\0';
            DevFamily fam = device_of(lower);
            const char *prop = dot + 1;
            const char *const *props =
                fam == DEV_SCSI_ADAPTER ? scsi_adapter_props :
                fam == DEV_SCSI_DISK || fam == DEV_IDE ? disk_props :
                fam == DEV_FLOPPY ? floppy_props :
                fam == DEV_ETHERNET ? ethernet_props : NULL;
            if (props && in_list(props, prop)) {
                e->used = true;
                r = check_device_prop(cfg, e, fam, prop, errp);
                bool on;
                if (r == 0 && !strcmp(prop, "present") &&
                    esx_cfg_parse_bool(e->value, &on)) {
                    /* The last present line for a device decides. */
                    if (on) {
                        g_hash_table_replace(present, g_strdup(lower), e);
                    } else {
                        g_hash_table_remove(present, lower);
                    }
                }
            }
        }
        g_free(lower);
    }
    if (r == 0) {
        r = map_ide(cfg, present, mc, errp);
    }
    if (r == 0) {
        r = map_scsi(cfg, present, mc, errp);
    }
    /* Ethernet adapters (compat-esx/cfg-ethernet.c) take theirs out. */
    if (r == 0) {
        r = esx_cfg_map_ethernet(cfg, mc, present, errp);
    }
    if (r < 0) {
        g_hash_table_destroy(present);
        return r;
    }

    /* No floppy or vmxnet model exists yet: refuse the first
     * present device in file order, naming what it asked for. */
    EsxCfgEntry *first = NULL;
    const char *first_dev = NULL;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, present);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        EsxCfgEntry *e = v;
        DevFamily fam = device_of(k);
        if (fam == DEV_IDE || fam == DEV_SCSI_ADAPTER || fam == DEV_SCSI_DISK) {
            continue;       /* mapped above */
        }
        if (!first || e->line < first->line) {
            first = e;
            first_dev = k;
        }
    }
    if (first) {
        const char *what_key;
        DevFamily fam = device_of(first_dev);
        what_key = fam == DEV_SCSI_ADAPTER || fam == DEV_ETHERNET ? "virtualDev" :
                   fam == DEV_FLOPPY ? "fileName" : "mode";
        gchar *full = g_strdup_printf("%s.%s", first_dev, what_key);
        EsxCfgEntry *detail = esx_cfg_lookup(cfg, full);
        if (detail) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
                        "%s:%d: %s = %s: not available yet", cfg->path,
                        detail->line, detail->key, detail->value);
        } else {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
                        "%s:%d: %s: not available yet", cfg->path,
                        first->line, first->key);
        }
        g_free(full);
        r = -ENOSYS;
    }
    g_hash_table_destroy(present);
    return r;
}

/* --- the whole mapping --------------------------------------------------- */

static int check_affinity(EsxCfg *cfg, EsxCfgEntry *e, GError **errp)
{
    if (!g_ascii_strcasecmp(e->value, "all") || !g_ascii_strcasecmp(e->value, "default")) {
        return 0;
    }
    gchar **cpus = g_strsplit(e->value, ",", -1);
    int r = 0;
    uint32_t ncpu = g_get_num_processors(), n;
    for (gchar **c = cpus; *c && r == 0; c++) {
        g_strstrip(*c);
        if (!parse_u32(*c, 0, ncpu - 1, &n)) {
            char why[96];
            snprintf(why, sizeof(why), "'%s' is not a CPU of this host (0-%u, or all)",
                     *c, ncpu - 1);
            r = bad_value(errp, cfg, e, why);
        }
    }
    if (!cpus[0] && r == 0) {
        r = bad_value(errp, cfg, e, "empty CPU list");
    }
    g_strfreev(cpus);
    return r;
}

int esx_cfg_to_machine(EsxCfg *cfg, MachineConfig *mc, EsxVmSettings *vm,
                       GError **errp)
{
    EsxCfgEntry *e;
    uint32_t v;

    esx_vm_settings_clear(vm);
    get_str(cfg, "displayName", &vm->display_name);
    get_str(cfg, "displayName", &mc->name);
    get_str(cfg, "guestOS", &vm->guest_os);

    /* Memory: memsize is the maximum (and the guest's RAM) in MB. */
    e = esx_cfg_lookup(cfg, "memsize");
    vm->memsize_mb = mc->ram_size >> 20;
    if (e) {
        if (!parse_u32(e->value, 1, 65536, &vm->memsize_mb)) {
            return bad_value(errp, cfg, e, "not a size in MB from 1 to 65536");
        }
        mc->ram_size = (uint64_t)vm->memsize_mb << 20;
    }
    uint32_t min_floor = vm->memsize_mb * 100 / (100 + ESX_MEM_MAX_OVERCOMMIT_PCT);
    vm->mem_min_mb = min_floor;
    e = esx_cfg_lookup(cfg, "sched.mem.minsize");
    if (e && !parse_u32(e->value, min_floor, vm->memsize_mb, &vm->mem_min_mb)) {
        char why[120];
        snprintf(why, sizeof(why),
                 "the minimum size must be %u to %u MB (50%% to 100%% of memsize)",
                 min_floor, vm->memsize_mb);
        return bad_value(errp, cfg, e, why);
    }
    if (get_u32(cfg, "sched.mem.shares", 0, 100000, 10 * vm->memsize_mb,
                &vm->mem_shares, errp) < 0 ||
        get_u32(cfg, "sched.cpu.shares", 1, 100000, 1000, &vm->cpu_shares, errp) < 0) {
        return -EINVAL;
    }
    vm->cpu_affinity = g_strdup("all");
    e = esx_cfg_lookup(cfg, "sched.cpu.affinity");
    if (e) {
        if (check_affinity(cfg, e, errp) < 0) {
            return -EINVAL;
        }
        g_free(vm->cpu_affinity);
        vm->cpu_affinity = g_strdup(e->value);
    }

    /* Suspend, identity, behaviour. */
    e = esx_cfg_lookup(cfg, "suspend.directory");
    vm->suspend_dir = g_path_get_dirname(cfg->path);
    if (e) {
        if (!*e->value) {
            return bad_value(errp, cfg, e, "empty directory");
        }
        g_free(vm->suspend_dir);
        vm->suspend_dir = cfg_path(cfg, e->value);
    }
    if (get_bool(cfg, "resume.repeatable", false, &vm->resume_repeatable, errp) < 0 ||
        get_bool(cfg, "isolation.tools.machine.id.get.disable", false,
                 &vm->machine_id_get_disabled, errp) < 0 ||
        get_bool(cfg, "monitor.SleepWhenIdle", true, &vm->sleep_when_idle, errp) < 0 ||
        get_bool(cfg, "time.synchronize.resume.disk", true,
                 &vm->time_sync_resume_disk, errp) < 0) {
        return -EINVAL;
    }
    get_str(cfg, "machine.id", &vm->machine_id);
    e = esx_cfg_lookup(cfg, "log.filename");
    vm->log_filename = e && *e->value ? cfg_path(cfg, e->value) : cfg_path(cfg, "vmware.log");
    e = esx_cfg_lookup(cfg, "nvram");
    if (e) {
        vm->nvram = cfg_path(cfg, e->value);
    }
    e = esx_cfg_lookup(cfg, "RemoteDisplay.depth");
    vm->remote_display_depth = 8;
    if (e) {
        if (!parse_u32(e->value, 8, 24, &v) || (v != 8 && v != 15 && v != 16 && v != 24)) {
            return bad_value(errp, cfg, e, "the colour depth must be 8, 15, 16 or 24");
        }
        vm->remote_display_depth = v;
    }

    /* vmkemu's own keys. */
    static const struct { const char *key; size_t off; } paths[] = {
        { "vmkemu.bios", offsetof(MachineConfig, bios) },
        { "vmkemu.kernel", offsetof(MachineConfig, kernel) },
        { "vmkemu.initrd", offsetof(MachineConfig, initrd) },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
        e = esx_cfg_lookup(cfg, paths[i].key);
        if (e) {
            char **dst = (char **)((char *)mc + paths[i].off);
            if (!*e->value) {
                return bad_value(errp, cfg, e, "empty file name");
            }
            g_free(*dst);
            *dst = cfg_path(cfg, e->value);
        }
    }
    get_str(cfg, "vmkemu.cmdline", &mc->append);
    e = esx_cfg_lookup(cfg, "vmkemu.accel");
    if (e) {
        static const char *const accels[] = { "kvm", "emu", "tcg", "auto", NULL };
        if (!value_in(e->value, accels)) {
            return bad_value(errp, cfg, e, "not an accelerator (kvm, emu, tcg or auto)");
        }
        g_free(mc->accel);
        mc->accel = g_ascii_strdown(e->value, -1);
    }
    return map_devices(cfg, mc, errp);
}
