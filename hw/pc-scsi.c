/*
 * The PC's SCSI adapters: a BusLogic BT-958 (hw/buslogic.c) for each SCSI
 * bus N (0-3) that has drives (`-drive if=scsi,bus=N`, a .cfg's
 * scsiN:M.present) or is configured present (a .cfg's scsiN.present), at
 * PCI slot 16 + N (00:10.0 for scsi0, where ESX Server's virtual machines
 * have their SCSI adapter), with each drive of the bus at its SCSI ID
 * (unit), LUN 0.  docs/scsi.md.
 */
#include "hw/pc.h"
#include "hw/buslogic.h"
#include "drive.h"
#include "vmstate.h"

#define PC_SCSI_FIRST_SLOT  16

static void pc_scsi_reset(void *opaque)
{
    buslogic_reset(opaque);
}

static bool bus_wanted(Machine *m, int bus)
{
    if (m->cfg->scsi_present & (1u << bus)) {
        return true;
    }
    for (int i = 0; i < machine_drive_count(m); i++) {
        Drive *d = machine_drive_get(m, i);
        if (d->iface == DRIVE_IF_SCSI && d->bus == bus) {
            return true;
        }
    }
    return false;
}

int pc_scsi_init(Machine *m, GError **errp)
{
    PCDevices *pc = m->pc;

    for (int bus = 0; bus < DRIVE_SCSI_BUSES; bus++) {
        if (!bus_wanted(m, bus)) {
            continue;
        }
        BusLogic *s = buslogic_new(bus);
        for (int unit = 0; unit < DRIVE_SCSI_UNITS; unit++) {
            if (unit == DRIVE_SCSI_HOST_ID) {
                continue;
            }
            Drive *d = machine_drive_find(m, DRIVE_IF_SCSI, bus, unit);
            if (!d) {
                continue;
            }
            ScsiDiskConfig cfg = {
                .type = d->media == DRIVE_MEDIA_CDROM ? SCSI_TYPE_CDROM : SCSI_TYPE_DISK,
                .name = d->id,
                .read_only = d->read_only,
            };
            buslogic_attach(s, unit, d->blk, &cfg);
        }
        int devfn = PCI_DEVFN(PC_SCSI_FIRST_SLOT + bus, 0);
        if (buslogic_plug(s, pc->pci_bus, devfn) < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                        "scsi%d: PCI slot %d is taken", bus, PC_SCSI_FIRST_SLOT + bus);
            buslogic_free(s);
            return -1;
        }
        pc->scsi[bus] = s;
        machine_add_reset_hook(m, pc_scsi_reset, s);
        gchar *id = g_strdup_printf("buslogic.%d", bus);
        machine_add_vmstate(m, id, &buslogic_vmstate, s);
        g_free(id);
    }
    return 0;
}

void pc_scsi_free(Machine *m)
{
    PCDevices *pc = m->pc;

    for (int bus = 0; bus < DRIVE_SCSI_BUSES; bus++) {
        buslogic_free(pc->scsi[bus]);
        pc->scsi[bus] = NULL;
    }
}
