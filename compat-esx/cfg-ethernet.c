/*
 * A .cfg's virtual Ethernet adapters (ESX Server 1.0 manual, "Using
 * VMkernel Devices: Ethernet" and "Setting the MAC Address Manually for a
 * Virtual Machine") mapped onto the machine's network: ethernetN.present,
 * virtualDev, connectionType, devName, exclusive, address, addressType.
 *
 *  - virtualDev = vlance (the default) is the AMD PCnet-PCI II model
 *    (hw/pcnet.c); vmxnet is left to the caller, which refuses it as not
 *    available yet.
 *  - The backend: ESX connects the adapter to a VMkernel NIC (monitor_dev,
 *    devName = vmnicN), to the console OS's card (bridged) or to a virtual
 *    network; none of those exists outside ESX.  vmkemu takes the host tap
 *    device devName names when there is one (/sys/class/net/NAME is a tap:
 *    the user bridges it as ESX would), and user-mode networking otherwise
 *    (the guest reaches the host's network through NAT, with no privilege
 *    needed); hostonly is user-mode networking with restrict=on (the guest
 *    cannot reach out; the host reaches it through forwarded ports).
 *    vmkemu.ethernetN.hostfwd = "RULE [RULE...]" adds -netdev user's
 *    hostfwd rules.  exclusive is accepted and changes nothing.
 *  - The address: ethernetN.address (00:50:56:00:00:00-3F:FF:FF, checked
 *    by the caller) or, without one, the manual's generated address.
 *    addressType (of later VMware releases) may say which: static needs an
 *    address, generated ignores one.  Both are settled at launch, through
 *    the host's MAC registry (compat-esx/mac-address.c): esx_nics_assign_macs
 *    records them while the VM runs or stays suspended, esx_nics_release_macs
 *    forgets them when it powers off.
 */
#include <errno.h>
#include <string.h>
#include "esx-cfg.h"
#include "esx-mac.h"

static int bad_entry(GError **errp, EsxCfg *cfg, EsxCfgEntry *e, const char *why)
{
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%d: %s = %s: %s",
                cfg->path, e->line, e->key, e->value, why);
    return -EINVAL;
}

static EsxCfgEntry *prop(EsxCfg *cfg, int n, const char *name)
{
    gchar *key = g_strdup_printf("ethernet%d.%s", n, name);
    EsxCfgEntry *e = esx_cfg_lookup(cfg, key);
    g_free(key);
    return e;
}

/* One present adapter; 1 when it is left to the caller (vmxnet). */
static int map_one(EsxCfg *cfg, MachineConfig *mc, int n, EsxCfgEntry *present,
                   GError **errp)
{
    EsxCfgEntry *vdev = prop(cfg, n, "virtualDev");
    EsxCfgEntry *conn = prop(cfg, n, "connectionType");
    EsxCfgEntry *devname = prop(cfg, n, "devName");
    EsxCfgEntry *addr = prop(cfg, n, "address");
    EsxCfgEntry *atype = prop(cfg, n, "addressType");
    gchar *fwd_key = g_strdup_printf("vmkemu.ethernet%d.hostfwd", n);
    EsxCfgEntry *fwd = esx_cfg_lookup(cfg, fwd_key);
    g_free(fwd_key);

    prop(cfg, n, "exclusive");
    if (vdev && g_ascii_strcasecmp(vdev->value, "vlance")) {
        return 1;
    }
    if (mc->nnic >= MACHINE_MAX_NICS || mc->nnetdev >= MACHINE_MAX_NETDEVS) {
        return bad_entry(errp, cfg, present, "too many network adapters");
    }

    /* Address. */
    bool manual = addr != NULL;
    if (atype && !g_ascii_strcasecmp(atype->value, "static") && !addr) {
        gchar *why = g_strdup_printf("a static address needs ethernet%d.address", n);
        int r = bad_entry(errp, cfg, atype, why);
        g_free(why);
        return r;
    }
    if (atype && !g_ascii_strcasecmp(atype->value, "generated")) {
        manual = false;
    }
    uint8_t mac[NET_ETH_ALEN] = { 0 };
    if (manual && !net_mac_parse(addr->value, mac)) {
        return bad_entry(errp, cfg, addr, "not a MAC address");
    }

    /* Backend. */
    NetdevConfig nd = { .net_addr = 0x0a000200, .net_bits = 24 };
    if (devname && net_tap_exists(devname->value)) {
        nd.kind = NETDEV_TAP;
        nd.ifname = g_strdup(devname->value);
    } else {
        nd.kind = NETDEV_USER;
        nd.restrict_net = conn && !g_ascii_strcasecmp(conn->value, "hostonly");
        if (!net_user_available()) {
            gchar *why = g_strdup_printf(
                "this vmkemu has no user-mode networking (built without libslirp); "
                "name a host tap device in ethernet%d.devName", n);
            int r = bad_entry(errp, cfg, present, why);
            g_free(why);
            return r;
        }
    }
    if (fwd) {
        if (nd.kind != NETDEV_USER) {
            g_free(nd.ifname);
            return bad_entry(errp, cfg, fwd, "forwarded ports need user-mode networking, "
                             "not a tap device");
        }
        gchar **rules = g_strsplit_set(fwd->value, " \t", -1);
        GPtrArray *kept = g_ptr_array_new_with_free_func(g_free);
        int r = 0;
        for (gchar **p = rules; *p && r == 0; p++) {
            NetHostFwd h;
            GError *err = NULL;
            if (!**p) {
                continue;
            }
            if (net_hostfwd_parse(*p, &h, &err) < 0) {
                r = bad_entry(errp, cfg, fwd, err->message);
                g_error_free(err);
            } else {
                g_ptr_array_add(kept, g_strdup(*p));
            }
        }
        g_strfreev(rules);
        if (r < 0) {
            g_ptr_array_free(kept, TRUE);
            return r;
        }
        g_ptr_array_add(kept, NULL);
        nd.hostfwd = (char **)g_ptr_array_free(kept, FALSE);
    }
    nd.id = g_strdup_printf("ethernet%d", n);
    mc->netdev[mc->nnetdev++] = nd;

    NicConfig *nic = &mc->nic[mc->nnic++];
    *nic = (NicConfig){
        .model = g_strdup("pcnet"),
        .netdev = g_strdup(nd.id),
        .esx_index = n,
        .esx_manual_mac = manual,
    };
    if (manual) {
        memcpy(nic->mac, mac, sizeof(mac));
    }
    return 0;
}

int esx_cfg_map_ethernet(EsxCfg *cfg, MachineConfig *mc, GHashTable *present,
                         GError **errp)
{
    for (int n = 0; n < ESX_MAX_ETHERNET; n++) {
        gchar *dev = g_strdup_printf("ethernet%d", n);
        EsxCfgEntry *e = g_hash_table_lookup(present, dev);
        int r = e ? map_one(cfg, mc, n, e, errp) : 1;
        if (r == 0) {
            g_hash_table_remove(present, dev);
        }
        g_free(dev);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

/* --- the registry at launch and power-off -------------------------------------- */

static void release_quietly(const char *registry, const char *cfg_abs)
{
    GError *err = NULL;
    if (esx_mac_release(registry, cfg_abs, &err) < 0) {
        g_error_free(err);
    }
}

int esx_nics_assign_macs(const char *cfg_abs, MachineConfig *mc, bool resuming,
                         GError **errp)
{
    const char *registry = esx_mac_registry_path();
    bool any = false;

    for (int i = 0; i < mc->nnic; i++) {
        any |= mc->nic[i].esx_index >= 0;
    }
    if (!any) {
        return 0;
    }
    gchar *dir = g_path_get_dirname(registry);
    g_mkdir_with_parents(dir, 0755);
    g_free(dir);
    for (int i = 0; i < mc->nnic; i++) {
        NicConfig *nic = &mc->nic[i];
        EsxMac mac, manual;
        GError *err = NULL;
        int r;
        if (nic->esx_index < 0) {
            continue;
        }
        /* A suspended VM comes back with the address its adapter had. */
        if (resuming && esx_mac_lookup(registry, cfg_abs, nic->esx_index, &mac)) {
            memcpy(nic->mac, mac.b, sizeof(mac.b));
            nic->has_mac = true;
            continue;
        }
        memcpy(manual.b, nic->mac, sizeof(manual.b));
        r = esx_mac_assign(registry, cfg_abs, nic->esx_index,
                           nic->esx_manual_mac ? &manual : NULL, &mac, &err);
        if (r < 0) {
            g_set_error(errp, G_FILE_ERROR, err->code, "%s: %s%s", cfg_abs, err->message,
                        r == -EACCES || r == -EPERM || r == -ENOENT ?
                        " (set VMKEMU_MAC_REGISTRY to a file this user may write)" : "");
            g_error_free(err);
            release_quietly(registry, cfg_abs);
            return r;
        }
        memcpy(nic->mac, mac.b, sizeof(mac.b));
        nic->has_mac = true;
    }
    return 0;
}

void esx_nics_release_macs(const char *cfg_abs, const MachineConfig *mc)
{
    for (int i = 0; i < mc->nnic; i++) {
        if (mc->nic[i].esx_index >= 0) {
            release_quietly(esx_mac_registry_path(), cfg_abs);
            return;
        }
    }
}
