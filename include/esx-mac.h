/*
 * MAC addresses of virtual network adapters, by the ESX Server 1.0 manual's
 * algorithm ("How VMware ESX Server Generates MAC Addresses"):
 *   00:50:56 : the last 16 bits of the host's primary IPv4 address :
 *   an 8-bit hash of the configuration file's path,
 * kept unique among the running and suspended VMs of this host through a
 * lock-protected registry file (/var/lib/vmkemu/mac-registry, or the
 * environment variable VMKEMU_MAC_REGISTRY).  Manual addresses must lie in
 * 00:50:56:00:00:00-00:50:56:3F:FF:FF.
 */
#ifndef VMKEMU_ESX_MAC_H
#define VMKEMU_ESX_MAC_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct EsxMac {
    uint8_t b[6];
} EsxMac;

const char *esx_mac_registry_path(void);
/* The host's primary IPv4 address (host byte order): the address of the
 * interface that holds the default route, else the first non-loopback
 * one; VMKEMU_HOST_IP overrides (for tests). */
int esx_mac_host_ipv4(uint32_t *ip, GError **errp);
/* The 8-bit hash of a configuration path (FNV-1a, folded to 8 bits). */
uint8_t esx_mac_cfg_hash(const char *cfg_path);

bool esx_mac_parse(const char *s, EsxMac *mac);
void esx_mac_format(const EsxMac *mac, char out[18]);
bool esx_mac_is_manual_range(const EsxMac *mac);

/* The address of adapter `nic` of the VM `cfg_path`: `manual` when the .cfg
 * gives one (it must be free), else the generated one, probing upwards
 * from the hash when another VM holds it.  Recorded in the registry. */
int esx_mac_assign(const char *registry, const char *cfg_path, int nic,
                   const EsxMac *manual, EsxMac *out, GError **errp);
/* The address the registry holds for adapter `nic` of `cfg_path`. */
bool esx_mac_lookup(const char *registry, const char *cfg_path, int nic, EsxMac *out);
/* Forget every address of `cfg_path` (the VM powered off). */
int esx_mac_release(const char *registry, const char *cfg_path, GError **errp);

#endif
