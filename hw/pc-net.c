/*
 * The PC's network: one backend per cfg->netdev (net/), one adapter per
 * cfg->nic, each adapter linked to the backend its netdev id names.  The
 * Nth adapter sits in PCI slot 0x14 + N when that slot is free (else the
 * highest free slot; docs/pci.md keeps 0x14-0x1b for them); its MAC is
 * the configured one, else
 * 52:54:00:12:34:56 + N (the address QEMU gives, so guests set up for
 * QEMU see the same).  The log names each adapter, its address and what
 * it is connected to.
 */
#include <string.h>
#include "hw/pc.h"
#include "hw/pci.h"
#include "hw/pcnet.h"
#include "log.h"
#include "vmstate.h"

#define PC_NIC_FIRST_SLOT 0x14

struct PCNet {
    NetClient *backend[MACHINE_MAX_NETDEVS];
    PcnetState *nic[MACHINE_MAX_NICS];
};

static void pc_nic_reset(void *opaque)
{
    pcnet_reset(opaque);
}

static int find_netdev(const MachineConfig *cfg, const char *id)
{
    for (int i = 0; i < cfg->nnetdev; i++) {
        if (!strcmp(cfg->netdev[i].id, id)) {
            return i;
        }
    }
    return -1;
}

static int fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static int fail(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gchar *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, msg);
    g_free(msg);
    return -1;
}

int pc_net_init(Machine *m, GError **errp)
{
    MachineConfig *cfg = m->cfg;
    PCNet *net = g_new0(PCNet, 1);
    bool used[MACHINE_MAX_NETDEVS] = { false };

    m->pc->net = net;
    for (int i = 0; i < cfg->nnetdev; i++) {
        if (find_netdev(cfg, cfg->netdev[i].id) != i) {
            return fail(errp, "-netdev id=%s: the id is used twice", cfg->netdev[i].id);
        }
    }
    /* Check the links before opening anything. */
    for (int i = 0; i < cfg->nnic; i++) {
        const NicConfig *nc = &cfg->nic[i];
        if (!nc->netdev) {
            continue;
        }
        int b = find_netdev(cfg, nc->netdev);
        if (b < 0) {
            return fail(errp, "-device %s,netdev=%s: there is no -netdev with id=%s",
                        nc->model, nc->netdev, nc->netdev);
        }
        if (used[b]) {
            return fail(errp, "-netdev id=%s: connected to two network adapters (one each)",
                        nc->netdev);
        }
        used[b] = true;
    }
    for (int i = 0; i < cfg->nnetdev; i++) {
        if (!used[i]) {
            vlog("netdev %s: no network adapter uses it", cfg->netdev[i].id);
        }
        net->backend[i] = net_backend_new(&cfg->netdev[i], errp);
        if (!net->backend[i]) {
            return -1;
        }
    }
    for (int i = 0; i < cfg->nnic; i++) {
        const NicConfig *nc = &cfg->nic[i];
        uint8_t mac[NET_ETH_ALEN] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + i };
        if (nc->has_mac) {
            memcpy(mac, nc->mac, sizeof(mac));
        }
        int devfn = PCI_DEVFN(PC_NIC_FIRST_SLOT + i, 0);
        for (int slot = 31; pci_bus_device(m->pc->pci_bus, devfn) && slot >= 2; slot--) {
            devfn = PCI_DEVFN(slot, 0);
        }
        net->nic[i] = pcnet_new(m->pc->pci_bus, devfn, mac, errp);
        if (!net->nic[i]) {
            return -1;
        }
        int b = nc->netdev ? find_netdev(cfg, nc->netdev) : -1;
        if (b >= 0) {
            net_client_connect(pcnet_net_client(net->nic[i]), net->backend[b]);
        }
        gchar *name = nc->esx_index >= 0 ? g_strdup_printf("ethernet%d", nc->esx_index)
                                         : g_strdup_printf("nic%d", i);
        char mac_text[18];
        net_mac_format(mac, mac_text);
        char *what = b >= 0 ? net_backend_describe(&cfg->netdev[b]) : g_strdup("not connected");
        devfn = pcnet_devfn(net->nic[i]);
        vlog("%s: %s (AMD PCnet-PCI II) at PCI 00:%02x.%x, MAC %s%s, %s", name,
             nc->esx_index >= 0 ? "vlance" : nc->model, PCI_SLOT(devfn), PCI_FUNC(devfn),
             mac_text, nc->esx_index < 0 ? "" : nc->esx_manual_mac ? " (set in the .cfg)" :
             " (generated)", what);
        g_free(what);
        gchar *id = g_strdup_printf("pcnet.%d", i);
        machine_add_reset_hook(m, pc_nic_reset, net->nic[i]);
        machine_add_vmstate(m, id, &pcnet_vmstate, net->nic[i]);
        g_free(id);
        g_free(name);
    }
    return 0;
}

void pc_net_free(Machine *m)
{
    PCNet *net = m->pc ? m->pc->net : NULL;
    if (!net) {
        return;
    }
    for (int i = 0; i < MACHINE_MAX_NICS; i++) {
        pcnet_free(net->nic[i]);
    }
    for (int i = 0; i < MACHINE_MAX_NETDEVS; i++) {
        net_client_free(net->backend[i]);
    }
    g_free(net);
    m->pc->net = NULL;
}
