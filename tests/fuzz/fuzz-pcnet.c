/*
 * libFuzzer target: the AMD PCnet-PCI II model (hw/pcnet.c) as a guest
 * drives it: its registers, and the initialization block and descriptor
 * rings it reads from guest memory, with frames arriving from the wire.
 *
 * Input: a 16-bit length L, then L bytes of guest memory (placed at 0 in a
 * 64 KiB RAM; the rest is zero; addresses beyond it read all ones), then
 * operations until the input ends:
 *   0 reg val16     CSR write (word I/O)      5 len16 seed   a frame from the wire
 *   1 reg val16     BCR write (word I/O)      6              2 ms of virtual time
 *   2 reg           CSR read                  7 addr16 val   poke guest memory
 *   3               switch to DWIO            8              read RESET (S_RESET)
 *   4 reg val32     CSR write (dword I/O)     9 off val      APROM byte write
 * After the operations the state is saved and loaded back into the chip,
 * which must read the same CSRs afterwards.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "hw/pci.h"
#include "hw/pcnet.h"
#include "net.h"
#include "timer.h"
#include "vmstate.h"

#define RAM_SIZE    0x10000
#define IOBASE      0xc000
#define DEVFN       PCI_DEVFN(3, 0)

static AddressSpace *as;
static uint8_t *ram;
static PciBus *bus;
static PcnetState *nic;
static NetClient *wire;
static uint64_t frames_out;

static void wire_receive(NetClient *nc, const uint8_t *buf, size_t len)
{
    frames_out += len > 0;
}

static const NetClientInfo wire_info = { .kind = "fuzz-wire", .receive = wire_receive };

static void setup(void)
{
    static const uint8_t mac[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x01 };
    vclock_set_manual(0);
    as = as_new();
    ram = g_malloc0(RAM_SIZE);
    as_add_ram(as, "ram", 0, RAM_SIZE, ram);
    bus = pci_bus_new(as);
    nic = pcnet_new(bus, DEVFN, mac, NULL);
    wire = net_client_new(&wire_info, "wire", NULL);
    net_client_connect(pcnet_net_client(nic), wire);
}

static void io_setup(void)
{
    pci_bus_config_write(bus, DEVFN, PCI_BASE_ADDRESS_0, IOBASE, 4);
    pci_bus_config_write(bus, DEVFN, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
}

typedef struct Reader {
    const uint8_t *p;
    size_t left;
} Reader;

static bool take(Reader *r, void *out, size_t n)
{
    if (r->left < n) {
        return false;
    }
    memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}

static uint16_t csr_read(unsigned n, bool dwio)
{
    if (dwio) {
        as_port_write(as, IOBASE + PCNET_DWIO_RAP, n, 4);
        return as_port_read(as, IOBASE + PCNET_DWIO_RDP, 4);
    }
    as_port_write(as, IOBASE + PCNET_WIO_RAP, n, 2);
    return as_port_read(as, IOBASE + PCNET_WIO_RDP, 2);
}

static void drain(void)
{
    for (int i = 0; i < 64 && g_main_context_iteration(NULL, FALSE); i++) {
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    if (!as) {
        setup();
    }
    pcnet_reset(nic);
    pci_device_reset((PciDevice *)nic);
    io_setup();
    net_client_flush(pcnet_net_client(nic));      /* a stopped chip drops them */
    drain();
    memset(ram, 0, RAM_SIZE);

    Reader r = { data, len };
    uint16_t want = 0;
    take(&r, &want, 2);
    size_t image = MIN((size_t)want, r.left);
    memcpy(ram, r.p, image);
    r.p += image;
    r.left -= image;

    bool dwio = false;
    uint8_t op;
    while (take(&r, &op, 1)) {
        uint8_t reg = 0, b = 0;
        uint16_t v16 = 0;
        uint32_t v32 = 0;
        switch (op % 10) {
        case 0:
            if (take(&r, &reg, 1) && take(&r, &v16, 2)) {
                if (dwio) {
                    as_port_write(as, IOBASE + PCNET_DWIO_RAP, reg, 4);
                    as_port_write(as, IOBASE + PCNET_DWIO_RDP, v16, 4);
                } else {
                    as_port_write(as, IOBASE + PCNET_WIO_RAP, reg, 2);
                    as_port_write(as, IOBASE + PCNET_WIO_RDP, v16, 2);
                }
            }
            break;
        case 1:
            if (take(&r, &reg, 1) && take(&r, &v16, 2)) {
                unsigned size = dwio ? 4 : 2;
                as_port_write(as, IOBASE + (dwio ? PCNET_DWIO_RAP : PCNET_WIO_RAP), reg, size);
                as_port_write(as, IOBASE + (dwio ? PCNET_DWIO_BDP : PCNET_WIO_BDP), v16, size);
            }
            break;
        case 2:
            if (take(&r, &reg, 1)) {
                csr_read(reg, dwio);
            }
            break;
        case 3:
            as_port_write(as, IOBASE + PCNET_DWIO_RDP, 0, 4);
            dwio = true;
            break;
        case 4:
            if (take(&r, &reg, 1) && take(&r, &v32, 4) && dwio) {
                as_port_write(as, IOBASE + PCNET_DWIO_RAP, reg, 4);
                as_port_write(as, IOBASE + PCNET_DWIO_RDP, v32, 4);
            }
            break;
        case 5:
            if (take(&r, &v16, 2) && take(&r, &b, 1)) {
                uint8_t f[1600];
                size_t n = v16 % sizeof(f);
                for (size_t i = 0; i < n; i++) {
                    f[i] = b + i;
                }
                if (n >= 6 && (b & 1)) {
                    memcpy(f, (uint8_t[]){ 0x00, 0x50, 0x56, 0x00, 0x00, 0x01 }, 6);
                }
                net_client_send(wire, f, n);
                drain();
            }
            break;
        case 6:
            vclock_advance(2000000);
            drain();
            break;
        case 7:
            if (take(&r, &v16, 2) && take(&r, &b, 1)) {
                ram[v16] = b;
            }
            break;
        case 8:
            as_port_read(as, IOBASE + (dwio ? PCNET_DWIO_RESET : PCNET_WIO_RESET), dwio ? 4 : 2);
            break;
        case 9:
            if (take(&r, &reg, 1) && take(&r, &b, 1)) {
                as_port_write(as, IOBASE + (reg & 15), b, 1);
            }
            break;
        }
    }

    /* The state goes out and comes back unchanged. */
    uint16_t before[128], after[128];
    for (unsigned n = 0; n < 128; n++) {
        before[n] = csr_read(n, dwio);
    }
    GByteArray *blob = g_byte_array_new();
    if (vmstate_save_section(blob, "pcnet.0", &pcnet_vmstate, nic, NULL) == 0) {
        VMStateStream *st = vmstate_stream_parse(blob->data, blob->len, NULL);
        if (!st || vmstate_stream_load(st, "pcnet.0", &pcnet_vmstate, nic, NULL) < 0) {
            __builtin_trap();
        }
        vmstate_stream_free(st);
        for (unsigned n = 0; n < 128; n++) {
            after[n] = csr_read(n, dwio);
        }
        if (memcmp(before, after, sizeof(before))) {
            __builtin_trap();
        }
    }
    g_byte_array_unref(blob);
    return 0;
}
