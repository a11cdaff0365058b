/*
 * libFuzzer target: the BusLogic BT-958 (hw/buslogic.c) and the SCSI
 * logical units behind it (hw/scsi-disk.c), driven by a guest that writes
 * whatever it likes: the command/parameter register (the adapter's command
 * parser), the control register, guest RAM (mailboxes, CCBs, S/G lists,
 * CDBs), the doorbell, the PCI configuration space, and time.
 *
 * The input is a list of operations, each an opcode byte (taken mod 8) and
 * its operands:
 *   0 v          write v to the control register
 *   1 v          write v to the command/parameter register
 *   2 r          read register r & 3 (the I/O BAR)
 *   3 a a a n .. copy n bytes into guest RAM at (a a a) & 0xfffff
 *   4            the doorbell (Start Mailbox Command)
 *   5 t          advance the virtual clock by t * 10 us (retries)
 *   6 r          read register r & 31 through the memory BAR
 *   7 r v        write v to PCI configuration byte r
 * After each operation the registers must read sane values; at the end the
 * adapter's state is saved and must load into a fresh adapter.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <glib.h>
#include "hw/buslogic.h"
#include "hw/pci.h"
#include "memory.h"
#include "timer.h"
#include "vmstate.h"

#define RAM_SIZE    (1u << 20)
#define IO_BASE     0xc000
#define MMIO_BASE   0xfebf0000u
#define DEVFN       PCI_DEVFN(16, 0)
#define DISK_BYTES  (64 * 1024)

static uint8_t *ram;
static uint8_t *disk_image;

static void configure(PciBus *bus)
{
    pci_bus_config_write(bus, DEVFN, PCI_BASE_ADDRESS_0, IO_BASE, 4);
    pci_bus_config_write(bus, DEVFN, PCI_BASE_ADDRESS_0 + 4, MMIO_BASE, 4);
    pci_bus_config_write(bus, DEVFN, PCI_INTERRUPT_LINE, 11, 1);
    pci_bus_config_write(bus, DEVFN, PCI_COMMAND,
                         PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
}

static BusLogic *adapter_new(PciBus *bus, BlockBackend *disk)
{
    BusLogic *s = buslogic_new(0);
    ScsiDiskConfig d = { .type = SCSI_TYPE_DISK, .name = "fuzz-disk" };
    ScsiDiskConfig cd = { .type = SCSI_TYPE_CDROM, .name = "fuzz-cd" };
    buslogic_attach(s, 0, disk, &d);
    buslogic_attach(s, 2, disk, &cd);
    buslogic_attach(s, 9, NULL, &cd);
    if (buslogic_plug(s, bus, DEVFN) < 0) {
        abort();
    }
    return s;
}

/* Reserved bits of the interrupt register read 0, the status register's
 * bit 1 too (drivers test both to find the board); the command state is
 * within its buffers.  (From the model: the guest may have unmapped the
 * BARs.) */
static void check_registers(const BusLogic *s)
{
    if ((s->intr & 0x70) || (buslogic_status(s) & 0x02) ||
        s->reply_pos > s->reply_len || s->reply_len > BUSLOGIC_MAX_REPLY ||
        s->param_count > s->param_need + 1u) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (!ram) {
        ram = g_malloc0(RAM_SIZE);
        disk_image = g_malloc(DISK_BYTES);
        for (size_t i = 0; i < DISK_BYTES; i++) {
            disk_image[i] = (uint8_t)(i * 7 + 3);
        }
    }
    vclock_set_manual(0);
    memset(ram, 0, RAM_SIZE);
    AddressSpace *as = as_new();
    as_add_ram(as, "ram", 0, RAM_SIZE, ram);
    PciBus *bus = pci_bus_new(as);
    BlockBackend *disk = blk_backend_new(blk_mem_open(disk_image, DISK_BYTES, BLK_O_RDWR));
    BusLogic *s = adapter_new(bus, disk);
    configure(bus);

    size_t i = 0;
    while (i < len) {
        uint8_t op = data[i++] % 8;
        uint8_t a = i < len ? data[i] : 0;
        switch (op) {
        case 0:
            as_port_write(as, IO_BASE + BUSLOGIC_REG_CONTROL, a, 1);
            i++;
            break;
        case 1:
            as_port_write(as, IO_BASE + BUSLOGIC_REG_COMMAND, a, 1);
            i++;
            break;
        case 2:
            as_port_read(as, IO_BASE + (a & 3), 1);
            i++;
            break;
        case 3: {
            if (i + 4 > len) {
                i = len;
                break;
            }
            uint32_t addr = ((uint32_t)data[i] << 16 | data[i + 1] << 8 | data[i + 2]) &
                            (RAM_SIZE - 1);
            size_t n = data[i + 3];
            i += 4;
            if (n > len - i) {
                n = len - i;
            }
            if (n > RAM_SIZE - addr) {
                n = RAM_SIZE - addr;
            }
            memcpy(ram + addr, data + i, n);
            i += n;
            break;
        }
        case 4:
            as_port_write(as, IO_BASE + BUSLOGIC_REG_COMMAND, BUSLOGIC_CMD_START_MAILBOX, 1);
            break;
        case 5:
            vclock_advance((int64_t)a * 10000);
            i++;
            break;
        case 6:
            as_mmio_read(as, MMIO_BASE + (a & 31), 1);
            i++;
            break;
        case 7: {
            uint8_t v = i + 1 < len ? data[i + 1] : 0;
            pci_bus_config_write(bus, DEVFN, a, v, 1);
            i += 2;
            break;
        }
        }
        check_registers(s);
    }

    /* Whatever state the guest reached must survive suspend and resume. */
    GByteArray *out = g_byte_array_new(), *pci = g_byte_array_new();
    GError *err = NULL;
    if (vmstate_save_fields(out, &buslogic_vmstate, s, &err) < 0 ||
        vmstate_save_fields(pci, &pci_device_vmstate, &s->pci, &err) < 0) {
        abort();
    }
    buslogic_free(s);
    s = adapter_new(bus, disk);
    if (vmstate_load_fields(out->data, out->len, 1, &buslogic_vmstate, s, "buslogic",
                            &err) < 0 ||
        vmstate_load_fields(pci->data, pci->len, 1, &pci_device_vmstate, &s->pci,
                            "pci", &err) < 0) {
        g_printerr("%s\n", err->message);
        abort();
    }
    g_byte_array_unref(out);
    g_byte_array_unref(pci);
    buslogic_free(s);
    blk_backend_close(disk, BLK_REDO_KEEP, NULL);
    pci_bus_free(bus);
    as_free(as);
    return 0;
}
