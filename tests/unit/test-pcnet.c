/*
 * The AMD PCnet-PCI II model (hw/pcnet.c) from the host side, as a driver
 * reaches it: PCI identity and BARs, the address PROM, CSR/BCR access in
 * word and double-word I/O modes, S_RESET and H_RESET, the 16- and 32-bit
 * initialization blocks, transmit rings (single and chained buffers,
 * padding, broken chains, software style 3) reaching a test backend,
 * receive rings (address filter, runt padding and FCS, chaining, flow
 * control with the poll, MISS), loopback, suspend, the INTA line, and the
 * state table.
 */
#include <string.h>
#include <glib.h>
#include "hw/pci.h"
#include "hw/pcnet.h"
#include "net.h"
#include "timer.h"
#include "vmstate.h"

#define RAM_SIZE    (1u << 20)
#define HIGH_RAM    0x05000000u     /* a second megabyte, for 24-bit addressing */
#define IOBASE      0xc000
#define MMIOBASE    0xfebf0000u
#define DEVFN       PCI_DEVFN(3, 0)         /* INTA -> PIRQ (3 + 1 - 2) & 3 = 2 */

static const uint8_t MAC[6] = { 0x00, 0x50, 0x56, 0x01, 0x02, 0x03 };

/* Guest memory layout for the tests. */
#define INIT_ADDR   0x1000
#define RX_RING     0x2000
#define TX_RING     0x3000
#define RX_BUF      0x10000     /* + 0x800 * i */
#define TX_BUF      0x40000     /* + 0x800 * i */

typedef struct Rig {
    AddressSpace *as;
    uint8_t *ram, *high;
    PciBus *bus;
    PcnetState *nic;
    NetClient *wire;            /* the test backend */
    GPtrArray *sent;            /* frames the NIC transmitted (GBytes) */
    int pirq_level[4];
    int irq_edges;
} Rig;

static void wire_receive(NetClient *nc, const uint8_t *buf, size_t len)
{
    Rig *r = net_client_opaque(nc);
    g_ptr_array_add(r->sent, g_bytes_new(buf, len));
}

static const NetClientInfo wire_info = { .kind = "test", .receive = wire_receive };

static void pirq(void *opaque, int n, int level)
{
    Rig *r = opaque;
    if (level && !r->pirq_level[n]) {
        r->irq_edges++;
    }
    r->pirq_level[n] = level;
}

static void cfg_w(Rig *r, unsigned reg, uint32_t v, unsigned len)
{
    pci_bus_config_write(r->bus, DEVFN, reg, v, len);
}

static uint32_t cfg_r(Rig *r, unsigned reg, unsigned len)
{
    return pci_bus_config_read(r->bus, DEVFN, reg, len);
}

static Rig *rig_new(void)
{
    Rig *r = g_new0(Rig, 1);
    vclock_set_manual(0);
    r->as = as_new();
    r->ram = g_malloc0(RAM_SIZE);
    g_assert_cmpint(as_add_ram(r->as, "ram", 0, RAM_SIZE, r->ram), ==, 0);
    r->high = g_malloc0(RAM_SIZE);
    g_assert_cmpint(as_add_ram(r->as, "high", HIGH_RAM, RAM_SIZE, r->high), ==, 0);
    r->bus = pci_bus_new(r->as);
    pci_bus_set_pirq_handler(r->bus, pirq, r);
    GError *err = NULL;
    r->nic = pcnet_new(r->bus, DEVFN, MAC, &err);
    g_assert_no_error(err);
    r->sent = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    r->wire = net_client_new(&wire_info, "wire", r);
    net_client_connect(pcnet_net_client(r->nic), r->wire);
    cfg_w(r, PCI_BASE_ADDRESS_0, IOBASE, 4);
    cfg_w(r, PCI_BASE_ADDRESS_0 + 4, MMIOBASE, 4);
    cfg_w(r, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    return r;
}

static void rig_free(Rig *r)
{
    net_client_free(r->wire);
    pcnet_free(r->nic);
    pci_bus_free(r->bus);
    as_free(r->as);
    g_free(r->ram);
    g_free(r->high);
    g_ptr_array_free(r->sent, TRUE);
    g_free(r);
}

static bool inta(Rig *r)
{
    return r->pirq_level[pci_slot_pin_to_pirq(PCI_SLOT(DEVFN), PCI_INTA)];
}

/* Word I/O. */
static void wio_csr_w(Rig *r, unsigned n, uint16_t v)
{
    as_port_write(r->as, IOBASE + PCNET_WIO_RAP, n, 2);
    as_port_write(r->as, IOBASE + PCNET_WIO_RDP, v, 2);
}

static uint16_t wio_csr_r(Rig *r, unsigned n)
{
    as_port_write(r->as, IOBASE + PCNET_WIO_RAP, n, 2);
    return as_port_read(r->as, IOBASE + PCNET_WIO_RDP, 2);
}

static void wio_bcr_w(Rig *r, unsigned n, uint16_t v)
{
    as_port_write(r->as, IOBASE + PCNET_WIO_RAP, n, 2);
    as_port_write(r->as, IOBASE + PCNET_WIO_BDP, v, 2);
}

static uint16_t wio_bcr_r(Rig *r, unsigned n)
{
    as_port_write(r->as, IOBASE + PCNET_WIO_RAP, n, 2);
    return as_port_read(r->as, IOBASE + PCNET_WIO_BDP, 2);
}

/* Double-word I/O. */
static void dwio_csr_w(Rig *r, unsigned n, uint32_t v)
{
    as_port_write(r->as, IOBASE + PCNET_DWIO_RAP, n, 4);
    as_port_write(r->as, IOBASE + PCNET_DWIO_RDP, v, 4);
}

static uint32_t dwio_csr_r(Rig *r, unsigned n)
{
    as_port_write(r->as, IOBASE + PCNET_DWIO_RAP, n, 4);
    return as_port_read(r->as, IOBASE + PCNET_DWIO_RDP, 4);
}

static uint32_t dwio_bcr_r(Rig *r, unsigned n)
{
    as_port_write(r->as, IOBASE + PCNET_DWIO_RAP, n, 4);
    return as_port_read(r->as, IOBASE + PCNET_DWIO_BDP, 4);
}

/* Guest memory at `a` (either megabyte). */
static uint8_t *mem(Rig *r, uint32_t a)
{
    return a >= HIGH_RAM ? r->high + (a - HIGH_RAM) : r->ram + a;
}

static void put16(Rig *r, uint32_t a, uint16_t v)
{
    mem(r, a)[0] = v;
    mem(r, a)[1] = v >> 8;
}

static void put32(Rig *r, uint32_t a, uint32_t v)
{
    put16(r, a, v);
    put16(r, a + 2, v >> 16);
}

static uint16_t get16(Rig *r, uint32_t a)
{
    return mem(r, a)[0] | mem(r, a)[1] << 8;
}

static uint32_t get32(Rig *r, uint32_t a)
{
    return get16(r, a) | (uint32_t)get16(r, a + 2) << 16;
}

/* A 32-bit (SSIZE32) initialization block: rings of 2^rlen / 2^tlen. */
static void init_block32(Rig *r, uint16_t mode, unsigned rlen, unsigned tlen,
                         const uint8_t ladrf[8])
{
    memset(r->ram + INIT_ADDR, 0, 28);
    put16(r, INIT_ADDR, mode);
    r->ram[INIT_ADDR + 2] = rlen << 4;
    r->ram[INIT_ADDR + 3] = tlen << 4;
    memcpy(r->ram + INIT_ADDR + 4, MAC, 6);
    if (ladrf) {
        memcpy(r->ram + INIT_ADDR + 12, ladrf, 8);
    }
    put32(r, INIT_ADDR + 20, RX_RING);
    put32(r, INIT_ADDR + 24, TX_RING);
}

/* Software style `style`, init block loaded, and started with IENA. */
static void start32(Rig *r, unsigned style, uint16_t mode, const uint8_t ladrf[8])
{
    wio_bcr_w(r, 20, style);
    init_block32(r, mode, 2, 2, ladrf);
    wio_csr_w(r, 1, INIT_ADDR & 0xffff);
    wio_csr_w(r, 2, INIT_ADDR >> 16);
    wio_csr_w(r, 0, PCNET_CSR0_INIT);
    g_assert_true(wio_csr_r(r, 0) & PCNET_CSR0_IDON);
    wio_csr_w(r, 0, PCNET_CSR0_IDON | PCNET_CSR0_STRT | PCNET_CSR0_IENA);
}

/* Style-2 descriptors: (addr, flags|bcnt, misc). */
static void tmd32(Rig *r, int i, uint32_t buf, uint32_t flags, unsigned len)
{
    uint32_t at = TX_RING + 16 * i;
    put32(r, at, buf);
    put32(r, at + 8, 0);
    put32(r, at + 4, flags | 0xf000 | ((0x1000 - len) & 0xfff));
}

static void rmd32(Rig *r, int i, unsigned len)
{
    uint32_t at = RX_RING + 16 * i;
    put32(r, at, RX_BUF + 0x800 * i);
    put32(r, at + 8, 0);
    put32(r, at + 4, PCNET_DESC_OWN | 0xf000 | ((0x1000 - len) & 0xfff));
}

static void fill(Rig *r, uint32_t a, unsigned len, uint8_t seed)
{
    for (unsigned i = 0; i < len; i++) {
        r->ram[a + i] = seed + i;
    }
}

static const uint8_t *sent_frame(Rig *r, guint i, size_t *len)
{
    g_assert_cmpuint(i, <, r->sent->len);
    return g_bytes_get_data(g_ptr_array_index(r->sent, i), len);
}

/* A frame from the wire to the NIC. */
static void from_wire(Rig *r, const uint8_t *dst, unsigned len, uint8_t seed)
{
    uint8_t f[2048];
    g_assert_cmpuint(len, <=, sizeof(f));
    for (unsigned i = 0; i < len; i++) {
        f[i] = seed + i;
    }
    memcpy(f, dst, 6);
    memcpy(f + 6, (uint8_t[]){ 0x02, 0, 0, 0, 0, 9 }, 6);
    net_client_send(r->wire, f, len);
}

static void run_main_context(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/* --- identity, APROM, register access --------------------------------------------- */

static void test_pci_identity(void)
{
    Rig *r = rig_new();
    g_assert_cmphex(cfg_r(r, PCI_VENDOR_ID, 2), ==, 0x1022);
    g_assert_cmphex(cfg_r(r, PCI_DEVICE_ID, 2), ==, 0x2000);
    g_assert_cmphex(cfg_r(r, PCI_REVISION_ID, 1), ==, 0x10);
    g_assert_cmphex(cfg_r(r, PCI_REVISION_ID, 4) >> 8, ==, 0x020000);
    g_assert_cmphex(cfg_r(r, PCI_INTERRUPT_PIN, 1), ==, PCI_INTA);
    g_assert_cmphex(cfg_r(r, PCI_MIN_GNT, 1), ==, 0x06);
    g_assert_cmphex(cfg_r(r, PCI_MAX_LAT, 1), ==, 0xff);
    /* BAR sizing: 32 bytes of I/O, 32 bytes of memory. */
    cfg_w(r, PCI_BASE_ADDRESS_0, 0xffffffff, 4);
    g_assert_cmphex(cfg_r(r, PCI_BASE_ADDRESS_0, 4), ==, 0xffffffe1);
    cfg_w(r, PCI_BASE_ADDRESS_0 + 4, 0xffffffff, 4);
    g_assert_cmphex(cfg_r(r, PCI_BASE_ADDRESS_0 + 4, 4), ==, 0xffffffe0);
    cfg_w(r, PCI_BASE_ADDRESS_0, IOBASE, 4);
    cfg_w(r, PCI_BASE_ADDRESS_0 + 4, MMIOBASE, 4);
    /* The memory BAR reaches the same registers. */
    g_assert_cmphex(as_mmio_read(r->as, MMIOBASE, 4), ==,
                    MAC[0] | MAC[1] << 8 | MAC[2] << 16 | (uint32_t)MAC[3] << 24);
    as_mmio_write(r->as, MMIOBASE + PCNET_WIO_RAP, 88, 2);
    g_assert_cmphex(as_mmio_read(r->as, MMIOBASE + PCNET_WIO_RDP, 2), ==, 0x1003);
    rig_free(r);
}

static void test_aprom(void)
{
    Rig *r = rig_new();
    for (int i = 0; i < 6; i++) {
        g_assert_cmphex(as_port_read(r->as, IOBASE + i, 1), ==, MAC[i]);
    }
    g_assert_cmphex(as_port_read(r->as, IOBASE + 14, 1), ==, 'W');
    g_assert_cmphex(as_port_read(r->as, IOBASE + 15, 1), ==, 'W');
    unsigned sum = 0;
    for (int i = 0; i < 16; i++) {
        if (i != 12 && i != 13) {
            sum += as_port_read(r->as, IOBASE + i, 1);
        }
    }
    g_assert_cmphex(as_port_read(r->as, IOBASE + 12, 2), ==, sum & 0xffff);
    g_assert_cmphex(as_port_read(r->as, IOBASE + 4, 2), ==, MAC[4] | MAC[5] << 8);
    /* Read-only unless BCR2.APROMWE. */
    as_port_write(r->as, IOBASE + 0, 0xaa, 1);
    g_assert_cmphex(as_port_read(r->as, IOBASE, 1), ==, MAC[0]);
    wio_bcr_w(r, 2, wio_bcr_r(r, 2) | 0x0100);
    as_port_write(r->as, IOBASE + 0, 0xaa, 1);
    g_assert_cmphex(as_port_read(r->as, IOBASE, 1), ==, 0xaa);
    /* H_RESET reloads it from the EEPROM. */
    pcnet_reset(r->nic);
    g_assert_cmphex(as_port_read(r->as, IOBASE, 1), ==, MAC[0]);
    rig_free(r);
}

static void test_wio_registers(void)
{
    Rig *r = rig_new();
    g_assert_cmphex(wio_csr_r(r, 0), ==, PCNET_CSR0_STOP);
    as_port_write(r->as, IOBASE + PCNET_WIO_RAP, 88, 2);
    g_assert_cmphex(as_port_read(r->as, IOBASE + PCNET_WIO_RAP, 2), ==, 88);
    /* Chip ID 0x?2621003: the Am79C970A, AMD. */
    g_assert_cmphex(wio_csr_r(r, 88) | (uint32_t)wio_csr_r(r, 89) << 16, ==, 0x02621003);
    g_assert_cmphex(wio_csr_r(r, 4), ==, 0x0115);
    /* The physical address comes from the EEPROM. */
    g_assert_cmphex(wio_csr_r(r, 12), ==, MAC[0] | MAC[1] << 8);
    g_assert_cmphex(wio_csr_r(r, 14), ==, MAC[4] | MAC[5] << 8);
    /* BCRs as pcnet32 reads them. */
    g_assert_cmphex(wio_bcr_r(r, 2), ==, 0x0002);
    g_assert_cmphex(wio_bcr_r(r, 4), ==, 0x80c0);     /* LEDOUT: link up */
    g_assert_cmphex(wio_bcr_r(r, 18), ==, 0x9001);
    g_assert_cmphex(wio_bcr_r(r, 20), ==, 0x0200);    /* style 0, CSRPCNET */
    g_assert_cmphex(wio_bcr_r(r, 22), ==, 0xff06);
    g_assert_cmphex(wio_bcr_r(r, 34), ==, 0xffff);    /* no MII PHY */
    wio_bcr_w(r, 9, 0x0001);
    g_assert_cmphex(wio_bcr_r(r, 9), ==, 0x0001);
    wio_bcr_w(r, 32, 0x0080);
    g_assert_cmphex(wio_bcr_r(r, 32), ==, 0x0080);
    /* SWSTYLE through BCR20 or CSR58, SSIZE32 following it. */
    wio_bcr_w(r, 20, 2);
    g_assert_cmphex(wio_bcr_r(r, 20), ==, 0x0302);
    g_assert_cmphex(wio_csr_r(r, 58), ==, 0x0302);
    wio_csr_w(r, 58, 1);
    g_assert_cmphex(wio_bcr_r(r, 20), ==, 0x0101);    /* ILACC: CSRPCNET clear */
    /* CSR3 masks and CSR4 bits; W1C and UINTCMD. */
    wio_csr_w(r, 3, 0x5f00);
    g_assert_cmphex(wio_csr_r(r, 3), ==, 0x5f00);
    wio_csr_w(r, 4, 0x0915 | 0x0080);                 /* pcnet32's value, UINTCMD */
    g_assert_cmphex(wio_csr_r(r, 4), ==, 0x0915 | 0x0040);
    wio_csr_w(r, 4, 0x0915 | 0x0040);                 /* UINT is write-1-to-clear */
    g_assert_cmphex(wio_csr_r(r, 4), ==, 0x0915);
    /* A link drops with the backend. */
    net_client_free(r->wire);
    r->wire = net_client_new(&wire_info, "wire", r);
    g_assert_cmphex(wio_bcr_r(r, 4), ==, 0x00c0);
    /* Reading RESET is S_RESET: CSRs back, BCRs kept. */
    as_port_read(r->as, IOBASE + PCNET_WIO_RESET, 2);
    g_assert_cmphex(wio_csr_r(r, 3), ==, 0);
    g_assert_cmphex(wio_csr_r(r, 4), ==, 0x0115);
    g_assert_cmphex(wio_csr_r(r, 0), ==, PCNET_CSR0_STOP);
    g_assert_cmphex(wio_bcr_r(r, 9), ==, 0x0001);
    g_assert_cmphex(wio_bcr_r(r, 20), ==, 0x0101);
    /* Dword accesses are ignored in word mode (except the switch). */
    g_assert_cmphex(as_port_read(r->as, IOBASE + PCNET_DWIO_RAP, 4), ==, 0xffffffff);
    rig_free(r);
}

static void test_dwio(void)
{
    Rig *r = rig_new();
    /* A dword write to RDP switches to DWIO; word accesses are ignored. */
    as_port_write(r->as, IOBASE + PCNET_DWIO_RDP, 0, 4);
    g_assert_cmphex(as_port_read(r->as, IOBASE + PCNET_WIO_RAP, 2), ==, 0xffff);
    g_assert_cmphex(dwio_bcr_r(r, 18), ==, 0x9081);    /* DWIO set */
    g_assert_cmphex(dwio_csr_r(r, 88), ==, 0x1003);
    g_assert_cmphex(as_port_read(r->as, IOBASE + PCNET_DWIO_RAP, 4), ==, 88);
    /* Upper halves are ignored. */
    dwio_csr_w(r, 3, 0xabcd5f00);
    g_assert_cmphex(dwio_csr_r(r, 3), ==, 0x5f00);
    /* The APROM still reads as bytes and dwords. */
    g_assert_cmphex(as_port_read(r->as, IOBASE + 1, 1), ==, MAC[1]);
    /* S_RESET keeps DWIO; H_RESET leaves it. */
    as_port_read(r->as, IOBASE + PCNET_DWIO_RESET, 4);
    g_assert_cmphex(dwio_bcr_r(r, 18) & 0x80, ==, 0x80);
    pcnet_reset(r->nic);
    g_assert_cmphex(wio_bcr_r(r, 18), ==, 0x9001);
    rig_free(r);
}

/* --- initialization ------------------------------------------------------------------ */

static void test_init_block32(void)
{
    Rig *r = rig_new();
    const uint8_t ladrf[8] = { 1, 2, 3, 4, 5, 6, 7, 0x80 };
    wio_bcr_w(r, 20, 2);
    init_block32(r, 0x8000, 3, 9, ladrf);
    wio_csr_w(r, 1, INIT_ADDR);
    wio_csr_w(r, 2, 0);
    wio_csr_w(r, 0, PCNET_CSR0_INIT);
    uint16_t c0 = wio_csr_r(r, 0);
    g_assert_cmphex(c0 & (PCNET_CSR0_IDON | PCNET_CSR0_INIT | PCNET_CSR0_STOP), ==,
                    PCNET_CSR0_IDON | PCNET_CSR0_INIT);
    g_assert_true(c0 & PCNET_CSR0_INTR);        /* IDON, not masked ... */
    g_assert_false(inta(r));                    /* ... but IENA is clear */
    g_assert_cmphex(wio_csr_r(r, 15), ==, 0x8000);
    g_assert_cmphex(wio_csr_r(r, 8), ==, 0x0201);
    g_assert_cmphex(wio_csr_r(r, 11), ==, 0x8007);
    g_assert_cmphex(wio_csr_r(r, 24), ==, RX_RING);
    g_assert_cmphex(wio_csr_r(r, 30), ==, TX_RING);
    g_assert_cmphex(wio_csr_r(r, 76), ==, (uint16_t)-8);
    g_assert_cmphex(wio_csr_r(r, 78), ==, (uint16_t)-512);
    g_assert_cmphex(wio_csr_r(r, 6), ==, 0x9300);
    g_assert_cmphex(wio_csr_r(r, 28), ==, RX_RING);   /* current descriptors */
    g_assert_cmphex(wio_csr_r(r, 34), ==, TX_RING);
    /* IENA raises INTA for the pending IDON; clearing IDON lowers it. */
    wio_csr_w(r, 0, PCNET_CSR0_IENA);
    g_assert_true(inta(r));
    wio_csr_w(r, 3, 0x0100);                          /* IDONM */
    g_assert_false(inta(r));
    wio_csr_w(r, 3, 0);
    g_assert_true(inta(r));
    wio_csr_w(r, 0, PCNET_CSR0_IENA | PCNET_CSR0_IDON);
    g_assert_false(inta(r));
    g_assert_false(wio_csr_r(r, 0) & PCNET_CSR0_IDON);
    /* STOP clears everything else, IENA included (IENA is plain read/write). */
    wio_csr_w(r, 0, PCNET_CSR0_STRT);
    g_assert_false(wio_csr_r(r, 0) & PCNET_CSR0_IENA);
    wio_csr_w(r, 0, PCNET_CSR0_STRT | PCNET_CSR0_IENA);
    g_assert_cmphex(wio_csr_r(r, 0) & 0x00ff, ==, PCNET_CSR0_TXON | PCNET_CSR0_RXON |
                    PCNET_CSR0_IENA | PCNET_CSR0_INIT | PCNET_CSR0_STRT);
    wio_csr_w(r, 0, PCNET_CSR0_STOP | PCNET_CSR0_STRT);
    g_assert_cmphex(wio_csr_r(r, 0), ==, PCNET_CSR0_STOP);
    rig_free(r);
}

/* Style 0: 16-bit block and descriptors, 24-bit addresses whose top byte
 * is CSR2[15:8] (here 0x05: everything in the high megabyte). */
static void test_style0_ring(void)
{
    Rig *r = rig_new();
    const uint32_t ib = HIGH_RAM + INIT_ADDR, rx = HIGH_RAM + RX_RING,
                   tx = HIGH_RAM + TX_RING, rxb = HIGH_RAM + RX_BUF, txb = HIGH_RAM + TX_BUF;
    put16(r, ib, 0);
    memcpy(mem(r, ib + 2), MAC, 6);
    put16(r, ib + 16, rx & 0xffff);
    put16(r, ib + 18, ((rx >> 16) & 0xff) | 1 << 13);      /* RLEN 1: 2 entries */
    put16(r, ib + 20, tx & 0xffff);
    put16(r, ib + 22, ((tx >> 16) & 0xff) | 1 << 13);
    wio_csr_w(r, 1, ib & 0xffff);
    wio_csr_w(r, 2, ib >> 16);                              /* 0x0500 */
    wio_csr_w(r, 0, PCNET_CSR0_INIT | PCNET_CSR0_STRT | PCNET_CSR0_IENA);
    g_assert_true(wio_csr_r(r, 0) & PCNET_CSR0_IDON);
    g_assert_cmphex(wio_csr_r(r, 76), ==, (uint16_t)-2);
    g_assert_cmphex(wio_csr_r(r, 28) | (uint32_t)wio_csr_r(r, 29) << 16, ==, rx);
    wio_csr_w(r, 0, PCNET_CSR0_IDON | PCNET_CSR0_IENA);

    /* Transmit: TMD0 LADR, TMD1 HADR|flags, TMD2 BCNT, TMD3 status. */
    for (int i = 0; i < 64; i++) {
        mem(r, txb)[i] = 0x40 + i;
    }
    memset(mem(r, txb), 0xff, 6);
    put16(r, tx, txb & 0xffff);
    put16(r, tx + 4, 0xf000 | ((0x1000 - 64) & 0xfff));
    put16(r, tx + 6, 0);
    put16(r, tx + 2, ((txb >> 16) & 0xff) | 0x8300);        /* OWN STP ENP */
    wio_csr_w(r, 0, PCNET_CSR0_TDMD | PCNET_CSR0_IENA);
    g_assert_cmpuint(r->sent->len, ==, 1);
    size_t len;
    const uint8_t *f = sent_frame(r, 0, &len);
    g_assert_cmpuint(len, ==, 64);
    g_assert_cmpmem(f, 64, mem(r, txb), 64);
    g_assert_cmphex(get16(r, tx + 2), ==, ((txb >> 16) & 0xff) | 0x0300);  /* OWN clear */
    g_assert_true(wio_csr_r(r, 0) & PCNET_CSR0_TINT);
    g_assert_true(inta(r));
    wio_csr_w(r, 0, PCNET_CSR0_TINT | PCNET_CSR0_IENA);
    g_assert_false(inta(r));

    /* Receive: a broadcast frame into RMD0's buffer; MCNT in RMD3. */
    put16(r, rx, rxb & 0xffff);
    put16(r, rx + 4, 0xf000 | ((0x1000 - 1536) & 0xfff));
    put16(r, rx + 6, 0);
    put16(r, rx + 2, ((rxb >> 16) & 0xff) | 0x8000);
    from_wire(r, (uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 100, 7);
    g_assert_cmphex(get16(r, rx + 2), ==, ((rxb >> 16) & 0xff) | 0x0300);  /* STP ENP */
    g_assert_cmpuint(get16(r, rx + 6), ==, 104);
    g_assert_cmpint(mem(r, rxb)[50], ==, (uint8_t)(7 + 50));
    g_assert_true(wio_csr_r(r, 0) & PCNET_CSR0_RINT);
    g_assert_true(inta(r));
    rig_free(r);
}

/* --- transmit ---------------------------------------------------------------------------- */

static void test_transmit32(void)
{
    Rig *r = rig_new();
    start32(r, 2, 0, NULL);
    g_assert_cmphex(wio_csr_r(r, 0) & (PCNET_CSR0_TXON | PCNET_CSR0_RXON), ==,
                    PCNET_CSR0_TXON | PCNET_CSR0_RXON);

    /* One buffer. */
    fill(r, TX_BUF, 100, 1);
    tmd32(r, 0, TX_BUF, PCNET_DESC_OWN | PCNET_DESC_STP | PCNET_DESC_ENP, 100);
    wio_csr_w(r, 0, PCNET_CSR0_TDMD | PCNET_CSR0_IENA);
    g_assert_cmpuint(r->sent->len, ==, 1);
    size_t len;
    const uint8_t *f = sent_frame(r, 0, &len);
    g_assert_cmpuint(len, ==, 100);
    g_assert_cmpmem(f, 100, r->ram + TX_BUF, 100);
    g_assert_cmphex(get32(r, TX_RING + 4) >> 24, ==, 0x03);       /* STP ENP, no OWN/ERR */
    g_assert_true(wio_csr_r(r, 0) & PCNET_CSR0_TINT);
    g_assert_true(inta(r));
    wio_csr_w(r, 0, PCNET_CSR0_TINT | PCNET_CSR0_IENA);
    g_assert_false(inta(r));

    /* Three chained buffers make one frame. */
    fill(r, TX_BUF + 0x800, 20, 0x10);
    fill(r, TX_BUF + 0x1000, 30, 0x30);
    fill(r, TX_BUF + 0x1800, 14, 0x60);
    tmd32(r, 1, TX_BUF + 0x800, PCNET_DESC_OWN | PCNET_DESC_STP, 20);
    tmd32(r, 2, TX_BUF + 0x1000, PCNET_DESC_OWN, 30);
    tmd32(r, 3, TX_BUF + 0x1800, PCNET_DESC_OWN | PCNET_DESC_ENP, 14);
    wio_csr_w(r, 0, PCNET_CSR0_TDMD | PCNET_CSR0_IENA);
    g_assert_cmpuint(r->sent->len, ==, 2);
    f = sent_frame(r, 1, &len);
    g_assert_cmpuint(len, ==, 64);
    g_assert_cmpmem(f, 20, r->ram + TX_BUF + 0x800, 20);
    g_assert_cmpmem(f + 20, 30, r->ram + TX_BUF + 0x1000, 30);
    g_assert_cmpmem(f + 50, 14, r->ram + TX_BUF + 0x1800, 14);
    for (int i = 1; i <= 3; i++) {
        g_assert_false(get32(r, TX_RING + 16 * i + 4) & PCNET_DESC_OWN);
    }
    g_assert_cmphex(wio_csr_r(r, 34), ==, TX_RING);     /* wrapped to entry 0 */

    /* Short frames: padded to 60 with APAD_XMT, sent as they are without. */
    fill(r, TX_BUF, 30, 0x77);
    tmd32(r, 0, TX_BUF, PCNET_DESC_OWN | PCNET_DESC_STP | PCNET_DESC_ENP, 30);
    wio_csr_w(r, 0, PCNET_CSR0_TDMD | PCNET_CSR0_IENA);
    g_assert_cmpuint(sent_frame(r, 2, &len)[0], ==, 0x77);
    g_assert_cmpuint(len, ==, 30);
    wio_csr_w(r, 4, 0x0915);                            /* APAD_XMT */
    tmd32(r, 1, TX_BUF, PCNET_DESC_OWN | PCNET_DESC_STP | PCNET_DESC_ENP, 30);
    wio_csr_w(r, 0, PCNET_CSR0_TDMD | PCNET_CSR0_IENA);
    f = sent_frame(r, 3, &len);
    g_assert_cmpuint(len, ==, 60);
    g_assert_cmpmem(f, 30, r->ram + TX_BUF, 30);
    for (int i = 30; i < 60; i++) {
        g_assert_cmpint(f[i], ==, 0);
    }

    /* A chain that breaks before ENP: underflow, nothing sent, TXON off. */
    tmd32(r, 2, TX_BUF, PCNET_DESC_OWN | PCNET_DESC_STP, 40);
    tmd32(r, 3, TX_BUF, 0, 40);
    wio_csr_w(r, 0, PCNET_CSR0_TDMD | PCNET_CSR0_IENA);
    g_assert_cmpuint(r->sent->len, ==, 4);
    uint32_t d1 = get32(r, TX_RING + 32 + 4), d2 = get32(r, TX_RING + 32 + 8);
    g_assert_false(d1 & PCNET_DESC_OWN);
    g_assert_true(d1 & PCNET_DESC_ERR);
    g_assert_cmphex(d2 & (PCNET_TMD2_BUFF | PCNET_TMD2_UFLO), ==,
                    PCNET_TMD2_BUFF | PCNET_TMD2_UFLO);
    g_assert_false(wio_csr_r(r, 0) & PCNET_CSR0_TXON);
    rig_free(r);
}

/* Style 3 swaps the first and third dwords; the poll timer finds a
 * descriptor nobody demanded. */
static void test_transmit_style3_poll(void)
{
    Rig *r = rig_new();
    start32(r, 3, 0, NULL);
    g_assert_cmphex(wio_bcr_r(r, 20), ==, 0x0303);
    fill(r, TX_BUF, 80, 9);
    uint32_t at = TX_RING;
    put32(r, at + 0, 0);                       /* TMD2 */
    put32(r, at + 8, TX_BUF);                  /* TBADR */
    put32(r, at + 4, PCNET_DESC_OWN | PCNET_DESC_STP | PCNET_DESC_ENP | 0xf000 |
                     ((0x1000 - 80) & 0xfff));
    g_assert_cmpuint(r->sent->len, ==, 0);
    vclock_advance(3000000);                   /* > 65536 clocks at 33 MHz */
    g_assert_cmpuint(r->sent->len, ==, 1);
    size_t len;
    g_assert_cmpmem(sent_frame(r, 0, &len), 80, r->ram + TX_BUF, 80);
    g_assert_false(get32(r, at + 4) & PCNET_DESC_OWN);
    /* TXDPOLL stops the poll. */
    wio_csr_w(r, 4, 0x1115);
    tmd32(r, 1, 0, 0, 0);
    put32(r, at + 16 + 8, TX_BUF);
    put32(r, at + 16 + 4, PCNET_DESC_OWN | PCNET_DESC_STP | PCNET_DESC_ENP | 0xf000 |
                          ((0x1000 - 80) & 0xfff));
    vclock_advance(10000000);
    g_assert_cmpuint(r->sent->len, ==, 1);
    wio_csr_w(r, 0, PCNET_CSR0_TDMD | PCNET_CSR0_IENA);
    g_assert_cmpuint(r->sent->len, ==, 2);
    rig_free(r);
}

/* --- receive ------------------------------------------------------------------------------ */

static void test_receive32(void)
{
    Rig *r = rig_new();
    uint8_t ladrf[8] = { 0 };
    const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
    unsigned bit = net_eth_addr_crc(mcast) >> 26;
    ladrf[bit / 8] |= 1 << (bit % 8);
    start32(r, 2, 0, ladrf);
    for (int i = 0; i < 4; i++) {
        rmd32(r, i, 1544);
    }

    /* To our address: a 42-byte ARP-sized frame arrives padded to 60 with
     * the FCS after it: MCNT 64, PAM. */
    from_wire(r, MAC, 42, 0x20);
    uint32_t d1 = get32(r, RX_RING + 4), d2 = get32(r, RX_RING + 8);
    g_assert_false(d1 & PCNET_DESC_OWN);
    g_assert_cmphex(d1 & 0xfff00000u, ==, PCNET_DESC_STP | PCNET_DESC_ENP | PCNET_RMD1_PAM);
    g_assert_cmpuint(d2 & 0xfff, ==, 64);
    const uint8_t *b = r->ram + RX_BUF;
    g_assert_cmpmem(b, 6, MAC, 6);
    for (int i = 42; i < 60; i++) {
        g_assert_cmpint(b[i], ==, 0);
    }
    uint32_t fcs = net_eth_fcs(b, 60);
    g_assert_cmphex(b[60] | b[61] << 8 | b[62] << 16 | (uint32_t)b[63] << 24, ==, fcs);
    g_assert_true(wio_csr_r(r, 0) & PCNET_CSR0_RINT);
    g_assert_true(inta(r));
    wio_csr_w(r, 0, PCNET_CSR0_RINT | PCNET_CSR0_IENA);
    g_assert_false(inta(r));

    /* Broadcast: BAM.  Multicast in the filter: LAFM.  Others: dropped. */
    from_wire(r, (uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 200, 1);
    g_assert_cmphex(get32(r, RX_RING + 16 + 4) & 0xfff00000u, ==,
                    PCNET_DESC_STP | PCNET_DESC_ENP | PCNET_RMD1_BAM);
    g_assert_cmpuint(get32(r, RX_RING + 16 + 8) & 0xfff, ==, 204);
    from_wire(r, mcast, 80, 2);
    g_assert_cmphex(get32(r, RX_RING + 32 + 4) & 0xfff00000u, ==,
                    PCNET_DESC_STP | PCNET_DESC_ENP | PCNET_RMD1_LAFM);
    from_wire(r, (uint8_t[]){ 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 }, 80, 3);
    from_wire(r, (uint8_t[]){ 0x00, 0x50, 0x56, 0x09, 0x09, 0x09 }, 80, 3);
    g_assert_true(get32(r, RX_RING + 48 + 4) & PCNET_DESC_OWN);    /* still the guest's */
    g_assert_cmphex(wio_csr_r(r, 72), ==, (uint16_t)(3 - 4));      /* at entry 3 */

    /* Promiscuous (set while suspended, as pcnet32 does): everything.  A
     * frame arriving during the suspension waits for its end. */
    wio_csr_w(r, 5, 0x0001);
    g_assert_cmphex(wio_csr_r(r, 5) & 1, ==, 1);
    wio_csr_w(r, 15, 0x8000);
    from_wire(r, (uint8_t[]){ 0x00, 0x50, 0x56, 0x09, 0x09, 0x09 }, 80, 3);
    g_assert_cmpuint(net_client_queue_len(pcnet_net_client(r->nic)), ==, 1);
    g_assert_true(get32(r, RX_RING + 48 + 4) & PCNET_DESC_OWN);
    wio_csr_w(r, 5, 0x0000);
    run_main_context();
    g_assert_cmpuint(net_client_queue_len(pcnet_net_client(r->nic)), ==, 0);
    g_assert_cmphex(get32(r, RX_RING + 48 + 4) & 0xff000000u, ==,
                    PCNET_DESC_STP | PCNET_DESC_ENP);
    rig_free(r);
}

static void test_receive_chained(void)
{
    Rig *r = rig_new();
    start32(r, 2, 0, NULL);
    for (int i = 0; i < 4; i++) {
        rmd32(r, i, 64);
    }
    /* 150 bytes + FCS over three 64-byte buffers. */
    from_wire(r, MAC, 150, 0x31);
    g_assert_cmphex(get32(r, RX_RING + 4) >> 24, ==, PCNET_DESC_STP >> 24);
    g_assert_cmphex(get32(r, RX_RING + 16 + 4) >> 24, ==, 0);
    g_assert_cmphex(get32(r, RX_RING + 32 + 4) >> 24, ==, (PCNET_DESC_ENP | 0x00400000u) >> 24);
    g_assert_cmpuint(get32(r, RX_RING + 32 + 8) & 0xfff, ==, 154);
    g_assert_cmpint(r->ram[RX_BUF + 0x800] , ==, (uint8_t)(0x31 + 64));
    g_assert_cmpint(r->ram[RX_BUF + 0x1000], ==, (uint8_t)(0x31 + 128));
    /* One buffer left: a frame that needs two runs out: BUFF + ERR. */
    from_wire(r, MAC, 100, 0);
    uint32_t d1 = get32(r, RX_RING + 48 + 4);
    g_assert_cmphex(d1 & (PCNET_DESC_OWN | PCNET_DESC_ERR | PCNET_RMD1_BUFF | PCNET_DESC_STP |
                          PCNET_DESC_ENP), ==,
                    PCNET_DESC_ERR | PCNET_RMD1_BUFF | PCNET_DESC_STP);
    rig_free(r);
}

/* No buffer: frames wait in the net layer until the driver gives one and
 * the chip's poll finds it; a full queue makes the chip miss frames. */
static void test_receive_flow_control(void)
{
    Rig *r = rig_new();
    start32(r, 2, 0, NULL);
    NetClient *nic = pcnet_net_client(r->nic);
    from_wire(r, MAC, 60, 1);
    from_wire(r, MAC, 61, 2);
    g_assert_cmpuint(net_client_queue_len(nic), ==, 2);
    g_assert_false(wio_csr_r(r, 0) & PCNET_CSR0_RINT);
    rmd32(r, 0, 1544);
    rmd32(r, 1, 1544);
    vclock_advance(3000000);                 /* the chip polls the ring */
    run_main_context();                      /* the net layer delivers */
    g_assert_cmpuint(net_client_queue_len(nic), ==, 0);
    g_assert_cmpuint(get32(r, RX_RING + 8) & 0xfff, ==, 64);
    g_assert_cmpuint(get32(r, RX_RING + 16 + 8) & 0xfff, ==, 65);
    g_assert_true(wio_csr_r(r, 0) & PCNET_CSR0_RINT);

    /* The queue overflows: the oldest frame is offered, no buffer: MISS. */
    wio_csr_w(r, 0, PCNET_CSR0_RINT | PCNET_CSR0_IENA);
    for (int i = 0; i < NET_QUEUE_MAX + 1; i++) {
        from_wire(r, MAC, 60, i);
    }
    uint16_t c0 = wio_csr_r(r, 0);
    g_assert_true(c0 & PCNET_CSR0_MISS);
    g_assert_true(c0 & PCNET_CSR0_ERR);
    g_assert_cmpuint(wio_csr_r(r, 112), ==, 1);
    g_assert_true(inta(r));
    wio_csr_w(r, 3, 0x1000);                 /* MISSM */
    g_assert_false(inta(r));
    wio_csr_w(r, 0, PCNET_CSR0_MISS | PCNET_CSR0_IENA);
    g_assert_false(wio_csr_r(r, 0) & PCNET_CSR0_ERR);
    /* Stopping the chip lets the queue drain (and drops it). */
    wio_csr_w(r, 0, PCNET_CSR0_STOP);
    run_main_context();
    g_assert_cmpuint(net_client_queue_len(nic), ==, 0);
    rig_free(r);
}

static void test_loopback(void)
{
    Rig *r = rig_new();
    start32(r, 2, 0x0004, NULL);             /* LOOP */
    rmd32(r, 0, 1544);
    fill(r, TX_BUF, 70, 5);
    memcpy(r->ram + TX_BUF, MAC, 6);
    tmd32(r, 0, TX_BUF, PCNET_DESC_OWN | PCNET_DESC_STP | PCNET_DESC_ENP, 70);
    wio_csr_w(r, 0, PCNET_CSR0_TDMD | PCNET_CSR0_IENA);
    g_assert_cmpuint(r->sent->len, ==, 0);   /* not on the wire */
    g_assert_cmpuint(get32(r, RX_RING + 8) & 0xfff, ==, 74);
    g_assert_cmpmem(r->ram + RX_BUF, 70, r->ram + TX_BUF, 70);
    g_assert_cmphex(wio_csr_r(r, 0) & (PCNET_CSR0_RINT | PCNET_CSR0_TINT), ==,
                    PCNET_CSR0_RINT | PCNET_CSR0_TINT);
    /* The wire is not heard meanwhile. */
    rmd32(r, 1, 1544);
    from_wire(r, MAC, 60, 0);
    g_assert_true(get32(r, RX_RING + 16 + 4) & PCNET_DESC_OWN);
    rig_free(r);
}

static void test_bus_master_off(void)
{
    Rig *r = rig_new();
    start32(r, 2, 0, NULL);
    rmd32(r, 0, 1544);
    cfg_w(r, PCI_COMMAND, PCI_COMMAND_IO, 2);
    from_wire(r, MAC, 60, 0);
    g_assert_true(get32(r, RX_RING + 4) & PCNET_DESC_OWN);
    g_assert_cmpuint(net_client_queue_len(pcnet_net_client(r->nic)), ==, 0);
    rig_free(r);
}

/* --- state --------------------------------------------------------------------------------- */

static void test_vmstate(void)
{
    Rig *a = rig_new();
    start32(a, 2, 0, NULL);
    wio_csr_w(a, 3, 0x0400);
    for (int i = 0; i < 4; i++) {
        rmd32(a, i, 1544);
    }
    from_wire(a, MAC, 60, 0);
    wio_csr_w(a, 0, PCNET_CSR0_IENA);
    GByteArray *blob = g_byte_array_new();
    GError *err = NULL;
    g_assert_cmpint(vmstate_save_section(blob, "pcnet.0", &pcnet_vmstate, a->nic, &err), ==, 0);

    Rig *b = rig_new();
    VMStateStream *st = vmstate_stream_parse(blob->data, blob->len, &err);
    g_assert_nonnull(st);
    g_assert_cmpint(vmstate_stream_load(st, "pcnet.0", &pcnet_vmstate, b->nic, &err), ==, 0);
    vmstate_stream_free(st);
    memcpy(b->ram, a->ram, RAM_SIZE);
    static const unsigned csrs[] = { 0, 3, 4, 15, 24, 30, 72, 74, 76, 78 };
    for (size_t i = 0; i < G_N_ELEMENTS(csrs); i++) {
        g_assert_cmphex(wio_csr_r(b, csrs[i]), ==, wio_csr_r(a, csrs[i]));
    }
    g_assert_cmphex(wio_bcr_r(b, 20), ==, 0x0302);
    /* It goes on where the first left off: the next frame takes entry 1. */
    from_wire(b, MAC, 61, 0);
    g_assert_cmpuint(get32(b, RX_RING + 16 + 8) & 0xfff, ==, 65);
    g_byte_array_unref(blob);
    rig_free(a);
    rig_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pcnet/pci-identity", test_pci_identity);
    g_test_add_func("/pcnet/aprom", test_aprom);
    g_test_add_func("/pcnet/wio-registers", test_wio_registers);
    g_test_add_func("/pcnet/dwio", test_dwio);
    g_test_add_func("/pcnet/init-block32", test_init_block32);
    g_test_add_func("/pcnet/style0-ring", test_style0_ring);
    g_test_add_func("/pcnet/transmit32", test_transmit32);
    g_test_add_func("/pcnet/transmit-style3-poll", test_transmit_style3_poll);
    g_test_add_func("/pcnet/receive32", test_receive32);
    g_test_add_func("/pcnet/receive-chained", test_receive_chained);
    g_test_add_func("/pcnet/receive-flow-control", test_receive_flow_control);
    g_test_add_func("/pcnet/loopback", test_loopback);
    g_test_add_func("/pcnet/bus-master-off", test_bus_master_off);
    g_test_add_func("/pcnet/vmstate", test_vmstate);
    return g_test_run();
}
