/*
 * Where a running VM keeps its runtime files: a directory derived from the
 * absolute path of its .cfg, so that vmware-control finds the VM's monitor
 * from the same path the user gives:
 *   $VMKEMU_RUNTIME_DIR, else /run/vmkemu for root, else
 *   $XDG_RUNTIME_DIR/vmkemu, else /tmp/vmkemu-UID;
 *   then "vm-" + the first 16 hex digits of SHA-256(absolute cfg path).
 * Inside: qmp.sock (the monitor), config (the cfg path), pid.
 */
#ifndef VMKEMU_ESX_RUNTIME_H
#define VMKEMU_ESX_RUNTIME_H

#include <glib.h>

/* The absolute, canonical form of a cfg path (symlinks resolved when the
 * file exists). */
char *esx_cfg_abspath(const char *cfg_path);
char *esx_runtime_dir(const char *cfg_path);
char *esx_runtime_qmp_socket(const char *cfg_path);
/* Create the directory (mode 0700) and write config and pid. */
int esx_runtime_prepare(const char *cfg_path, GError **errp);
void esx_runtime_cleanup(const char *cfg_path);

#endif
