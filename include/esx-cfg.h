/*
 * VMware .cfg files (ESX Server 1.0 manual): parsing, validation, and the
 * mapping onto a MachineConfig.
 *
 * Syntax: one `key = value` per line; the value bare or in double quotes;
 * `#` starts a comment outside quotes; keys are case-insensitive; a key
 * given twice keeps its last value.  Errors name the file and the line.
 */
#ifndef VMKEMU_ESX_CFG_H
#define VMKEMU_ESX_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "machine.h"

typedef struct EsxCfgEntry {
    char *key;          /* as written */
    char *value;
    int line;
    bool used;          /* looked at by the mapping: a known key */
} EsxCfgEntry;

typedef struct EsxCfg {
    char *path;
    GPtrArray *entries;         /* EsxCfgEntry *, in file order */
    GHashTable *by_key;         /* lower-cased key -> last EsxCfgEntry */
} EsxCfg;

EsxCfg *esx_cfg_parse(const char *path, const char *text, size_t len,
                      GError **errp);
EsxCfg *esx_cfg_load(const char *path, GError **errp);
void esx_cfg_free(EsxCfg *cfg);

/* The entry for `key` (any case), marking it used; NULL when absent. */
EsxCfgEntry *esx_cfg_lookup(EsxCfg *cfg, const char *key);
const char *esx_cfg_get(EsxCfg *cfg, const char *key);
/* Booleans as VMware writes them: TRUE/FALSE (also yes/no, 1/0), any case. */
bool esx_cfg_parse_bool(const char *s, bool *out);

/* Settings of the ESX layer that have no place in MachineConfig: resource
 * policy, suspend, identity.  Defaults per the manual. */
typedef struct EsxVmSettings {
    char *display_name;
    char *guest_os;
    uint32_t memsize_mb;
    uint32_t mem_min_mb;        /* default: memsize / 2 (MemMaxOvercommit 100) */
    uint32_t mem_shares;        /* default: 10 x memsize */
    uint32_t cpu_shares;        /* default: 1000 */
    char *cpu_affinity;         /* "all" or a comma-separated CPU list */
    char *suspend_dir;          /* default: the cfg's directory */
    bool resume_repeatable;
    char *machine_id;
    bool machine_id_get_disabled;
    bool sleep_when_idle;       /* default TRUE */
    bool time_sync_resume_disk; /* default TRUE */
    char *log_filename;         /* default: vmware.log beside the cfg */
    char *nvram;
    int remote_display_depth;   /* 8 (default), 15, 16 or 24 */
} EsxVmSettings;

void esx_vm_settings_clear(EsxVmSettings *s);

/* Validate every known key as the manual says and fill `mc` and `vm`.
 * Unknown keys are kept (esx_cfg_unknown_keys); a bad value, or a device
 * vmkemu does not model yet, is an error naming the file, line and key. */
int esx_cfg_to_machine(EsxCfg *cfg, MachineConfig *mc, EsxVmSettings *vm,
                       GError **errp);
/* The drive `ifaceBUS:UNIT` (e.g. ide1:0) of a .cfg whose `.present` is
 * TRUE: its fileName/name, deviceType, mode and startConnected keys onto
 * mc->drives (compat-esx/cfg-drive.c).  Errors name the file and line. */
int esx_cfg_map_drive(EsxCfg *cfg, MachineConfig *mc, DriveInterface iface,
                      int bus, int unit, GError **errp);
/* Entries no mapping looked at, in file order (borrowed pointers). */
GPtrArray *esx_cfg_unknown_keys(EsxCfg *cfg);

/* --- Ethernet adapters (compat-esx/cfg-ethernet.c) --- */
#define ESX_MAX_ETHERNET 4
/* Map the present ethernetN (`present`: lower-case device name -> its
 * present line) onto mc->netdev/nic, removing what it mapped; a vmxnet
 * adapter stays in `present`. */
int esx_cfg_map_ethernet(EsxCfg *cfg, MachineConfig *mc, GHashTable *present,
                         GError **errp);
/* At launch: the address of every adapter from the .cfg, recorded in the
 * host's MAC registry under `cfg_abs` (a resumed VM keeps what it had). */
int esx_nics_assign_macs(const char *cfg_abs, MachineConfig *mc, bool resuming,
                         GError **errp);
/* At power-off: the registry forgets the VM's addresses. */
void esx_nics_release_macs(const char *cfg_abs, const MachineConfig *mc);

#endif
