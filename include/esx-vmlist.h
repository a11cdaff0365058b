/*
 * The vm-list: the registry of virtual machines, one `config "/path/vm.cfg"`
 * line each (ESX Server 1.0 manual, FAQ "How do I add a virtual machine that
 * I defined manually").  Its path is /etc/vmware/vm-list unless the
 * environment variable VMKEMU_VMLIST names another.
 *
 * Writers are serialised by an exclusive lock on "<vm-list>.lock" and
 * replace the file by writing a temporary file, syncing it and renaming it
 * over the old one, so readers never see a half-written list.  Lines that
 * are not config lines (comments, other directives) are kept as they are.
 */
#ifndef VMKEMU_ESX_VMLIST_H
#define VMKEMU_ESX_VMLIST_H

#include <glib.h>

const char *esx_vmlist_path(void);

/* The configuration paths of a vm-list's text, in order (NULL-terminated). */
gchar **esx_vmlist_parse(const char *text);
/* The registered configuration paths, in file order (NULL-terminated). */
gchar **esx_vmlist_read(const char *list_path, GError **errp);
/* Register / unregister `cfg_path` (made absolute).  Registering a path
 * already there and unregistering one that is not are errors. */
int esx_vmlist_register(const char *list_path, const char *cfg_path, GError **errp);
int esx_vmlist_unregister(const char *list_path, const char *cfg_path, GError **errp);

#endif
