/*
 * Where a VM's suspended state lives (ESX Server 1.0 manual, "Suspend
 * Directory"): a file named after the configuration file with the .std
 * extension, in the directory suspend.directory names, by default the
 * configuration file's own.
 */
#ifndef VMKEMU_ESX_SUSPEND_H
#define VMKEMU_ESX_SUSPEND_H

#include "esx-cfg.h"

/* <suspend.directory>/<name>.std, <name> being the .cfg's file name
 * without its .cfg extension (g_free it). */
char *esx_suspend_file(const char *cfg_path, const EsxVmSettings *vm);

/* The same from the .cfg file alone (vmware-control); NULL with *errp set
 * when the .cfg cannot be read or has a bad value. */
char *esx_suspend_file_of_cfg(const char *cfg_path, GError **errp);

#endif
