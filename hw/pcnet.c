/*
 * AMD Am79C970A PCnet-PCI II single-chip Ethernet controller, PCI
 * 1022:2000 revision 0x10: ESX's `vlance`.
 * Reference: AMD Am79C970A data sheet (publication 19436): I/O resources
 * (APROM, RDP/RAP/RESET/BDP in word and double-word I/O modes), CSR0-CSR124,
 * BCR0-BCR34, the initialization block and the descriptor formats of
 * software styles 0, 2 and 3.
 *
 * What is modelled, as the Linux pcnet32 driver (and other drivers written
 * to the data sheet) use the chip:
 *  - BAR0: 32 bytes of I/O; BAR1: the same 32 bytes in memory space.
 *    0x00-0x0f is the address PROM (the MAC, then AMD's EEPROM convention:
 *    a checksum at 12-13 and "WW" at 14-15), readable by byte, word or
 *    dword, writable when BCR2.APROMWE is set.  Word I/O (WIO) mode after
 *    H_RESET: RDP 0x10, RAP 0x12, RESET 0x14, BDP 0x16, 16-bit accesses
 *    only; a dword write to 0x10 switches to DWIO (RDP 0x10, RAP 0x14,
 *    RESET 0x18, BDP 0x1c, 32-bit accesses only, upper 16 bits ignored),
 *    which only H_RESET leaves.  Other accesses are ignored (reads all
 *    ones).  A read of RESET is S_RESET.
 *  - CSR0: INIT reads the initialization block (CSR1/2) and sets IDON;
 *    STRT turns the receiver and transmitter on (unless CSR15 DRX/DTX);
 *    STOP stops everything and clears the rest of CSR0; TDMD polls the
 *    transmit ring now; IENA enables INTA; BABL/CERR/MISS/MERR/RINT/TINT/
 *    IDON are write-1-to-clear; ERR and INTR are computed.  Masks in CSR3,
 *    CSR4 (MFCO, UINT/UINTCMD, RCVCCO, TXSTRT, JAB; APAD_XMT pads short
 *    transmissions to 60 bytes, TXDPOLL stops the poll), CSR5 (SPND
 *    suspends both DMA engines, TOKINTD/LTINTEN gate TINT).
 *  - Software style (BCR20, alias CSR58): 0 (16-bit structures, 24-bit
 *    addresses whose top byte is CSR2[15:8]), 2 and 3 (32-bit; style 3
 *    swaps the first and third descriptor dwords); 1 (ILACC) uses style
 *    2's layout.  SSIZE32 and CSRPCNET follow SWSTYLE.
 *  - Receive: address filter (CSR15 PROM, DRCVBC, DRCVPA; physical match on
 *    CSR12-14, logical address filter CSR8-11 indexed by the top 6 bits of
 *    the destination's CRC), frames shorter than 60 bytes padded with zeros
 *    as the sender's MAC would, the FCS appended (MCNT counts it), STP/ENP
 *    over as many descriptors as the frame needs, BUFF+ERR when the chain
 *    runs out, MISS (and CSR112) when no descriptor is ready, PAM/LAFM/BAM
 *    in 32-bit styles; RINT.
 *  - Transmit: chained buffers STP..ENP gathered into one frame, OWN
 *    cleared per descriptor, BUFF+UFLO+ERR when the chain breaks (the
 *    transmitter turns off unless CSR3.DXSUFLO); TINT.  CSR15 LOOP sends
 *    the frame back to the receiver instead of the network.
 *  - Demand polling: while the transmitter runs the chip looks at the
 *    current transmit descriptor every CSR47 interval (default 65536 clocks
 *    of 33 MHz, ~2 ms; never below 0.1 ms here), and at the receive
 *    descriptor while frames wait for a buffer.
 *  - BCR2 (ASEL, APROMWE), BCR4-7 (LED registers: LEDOUT reads 1 for the
 *    link when LNKSE is set; the link is up while a backend is connected),
 *    BCR9 (full duplex), BCR18 (DWIO reads the mode), BCR19 (PVALID),
 *    BCR20, BCR22 (0xff06: MAX_LAT and MIN_GNT, which config space also
 *    shows), BCR32-34 (no MII PHY: BCR34 reads all ones).  CSR88/89: chip
 *    ID 0x02621003.
 * Not modelled: the EEPROM interface, the expansion ROM, the SRAM and MII
 * of later family members, collisions and the timings behind them, the
 * magic packet, bus parity.  Byte swapping (BSWP) is for big-endian hosts
 * on the bus and is ignored on the PC.
 *
 * DMA is through the PCI bus's address space and only while bus mastering
 * is enabled in the command register.  Resets: H_RESET (machine reset,
 * creation) resets everything including BCRs, DWIO and the APROM; S_RESET
 * (reading RESET) resets CSRs and RAP, not the BCRs nor the address
 * registers CSR8-15.
 */
#include <errno.h>
#include <string.h>
#include "hw/pcnet.h"
#include "hw/pci.h"
#include "log.h"
#include "timer.h"
#include "vmstate.h"

#define CSR_COUNT       128
#define BCR_COUNT       50
#define RAP_MASK        0x7f

/* CSR3 */
#define CSR3_MASK_BITS  0x5f00      /* BABLM MISSM MERRM RINTM TINTM IDONM */
#define CSR3_DXSUFLO    0x0040
#define CSR3_WRITABLE   0x5f7c
/* CSR4 */
#define CSR4_RW         0x7d15      /* DMAPLUS TIMER TXDPOLL APAD_XMT ASTRP_RCV MFCOM RCVCCOM TXSTRTM JABM */
#define CSR4_W1C        0x026a      /* MFCO UINT RCVCCO TXSTRT JAB */
#define CSR4_JABM       0x0001
#define CSR4_JAB        0x0002
#define CSR4_TXSTRTM    0x0004
#define CSR4_TXSTRT     0x0008
#define CSR4_RCVCCOM    0x0010
#define CSR4_RCVCCO     0x0020
#define CSR4_UINT       0x0040
#define CSR4_UINTCMD    0x0080
#define CSR4_MFCOM      0x0100
#define CSR4_MFCO       0x0200
#define CSR4_APAD_XMT   0x0800
#define CSR4_TXDPOLL    0x1000
#define CSR4_RESET      0x0115
/* CSR5 */
#define CSR5_SPND       0x0001
#define CSR5_MPINTE     0x0008
#define CSR5_MPINT      0x0010
#define CSR5_EXDINTE    0x0040
#define CSR5_EXDINT     0x0080
#define CSR5_SINTE      0x0400
#define CSR5_SINT       0x0800
#define CSR5_LTINTEN    0x4000
#define CSR5_TOKINTD    0x8000
#define CSR5_RW         0xc46f
#define CSR5_W1C        0x0890
/* Chip ID: part 0x2621 (Am79C970A), AMD's manufacturer ID 0x001, bit 0 set. */
#define CSR88_CHIP_ID_LO 0x1003
#define CSR89_CHIP_ID_HI 0x0262
/* BCRs */
#define BCR2_APROMWE    0x0100
#define BCR2_WRITABLE   0x31bf
#define BCR4_LEDOUT     0x8000
#define BCR4_FDLSE      0x0100
#define BCR4_LNKSE      0x0040
#define BCR9_FDEN       0x0001
#define BCR18_DWIO      0x0080
#define BCR19_PVALID    0x8000
#define BCR20_SSIZE32   0x0100
#define BCR20_CSRPCNET  0x0200
#define BCR20_APERREN   0x0400

/* Descriptor bits besides those in the header (32-bit layout). */
#define RMD1_STATUS     0xfff00000u     /* OWN ... BAM */
#define TMD1_MORE_LTINT 0x10000000u
#define TMD1_ONE        0x08000000u
#define TMD1_DEF        0x04000000u

/* One clock of the 33 MHz PCI bus, for the poll interval. */
#define PCI_CLOCK_NS    30

struct PcnetState {
    PciDevice pci;                  /* config[] and irq_level are state */
    uint16_t csr[CSR_COUNT];
    uint16_t bcr[BCR_COUNT];
    uint16_t rap;
    uint8_t aprom[16];
    bool dwio;
    uint32_t rx_idx, tx_idx;        /* current descriptors */
    bool rx_waiting;                /* a frame waits for a receive buffer */
    VTimer *poll_timer;

    /* Not state. */
    uint8_t mac[NET_ETH_ALEN];      /* the EEPROM's address */
    NetClient *nc;
    bool transmitting;
    uint8_t txbuf[NET_FRAME_MAX];
    uint8_t rxbuf[NET_FRAME_MAX + 4];
};

/* A descriptor, converted to the 32-bit layout. */
typedef struct Desc {
    uint32_t at;        /* where it is */
    uint32_t addr;      /* buffer */
    uint32_t d1;        /* RMD1 / TMD1 */
    uint32_t d2;        /* RMD2 / TMD2 */
    uint8_t hadr;       /* 16-bit style: the buffer address's byte 2 as stored */
} Desc;

static void pcnet_update_irq(PcnetState *s);
static void pcnet_transmit(PcnetState *s);
static void pcnet_poll_arm(PcnetState *s);

/* --- helpers -------------------------------------------------------------- */

static bool ssize32(const PcnetState *s)
{
    return s->bcr[20] & BCR20_SSIZE32;
}

static unsigned swstyle(const PcnetState *s)
{
    return s->bcr[20] & 0xff;
}

/* A bus address from a descriptor or the init block: 24-bit ones take
 * their top byte from CSR2[15:8] (IADR[31:24]). */
static uint32_t phys(const PcnetState *s, uint32_t a)
{
    return ssize32(s) ? a : (a & 0xffffff) | (uint32_t)(s->csr[2] & 0xff00) << 16;
}

static bool dma_ok(const PcnetState *s)
{
    return s->pci.bus &&
           (pci_get_word(s->pci.config + PCI_COMMAND) & PCI_COMMAND_MASTER);
}

static void dma_read(PcnetState *s, uint32_t addr, void *buf, size_t len)
{
    as_read(pci_bus_as(s->pci.bus), addr, buf, len);
}

static void dma_write(PcnetState *s, uint32_t addr, const void *buf, size_t len)
{
    as_write(pci_bus_as(s->pci.bus), addr, buf, len);
}

static uint16_t le16(const uint8_t *p)
{
    return p[0] | p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, v);
    put_le16(p + 2, v >> 16);
}

static uint32_t ring_len(uint16_t twos)
{
    uint16_t n = (uint16_t)-twos;
    return n ? n : 65536;
}

static uint32_t rx_ring_len(const PcnetState *s)
{
    return ring_len(s->csr[76]);
}

static uint32_t tx_ring_len(const PcnetState *s)
{
    return ring_len(s->csr[78]);
}

static uint32_t rx_base(const PcnetState *s)
{
    return phys(s, s->csr[24] | (uint32_t)s->csr[25] << 16);
}

static uint32_t tx_base(const PcnetState *s)
{
    return phys(s, s->csr[30] | (uint32_t)s->csr[31] << 16);
}

static uint32_t desc_size(const PcnetState *s)
{
    return ssize32(s) ? 16 : 8;
}

/* Buffer length from a BCNT field (12-bit two's complement; 0 is 4096). */
static uint32_t bcnt_len(uint32_t d1)
{
    uint32_t n = (0x1000 - (d1 & 0xfff)) & 0xfff;
    return n ? n : 0x1000;
}

/* --- descriptors ---------------------------------------------------------------- */

static void desc_read(PcnetState *s, uint32_t base, uint32_t idx, bool tx, Desc *d)
{
    d->at = base + idx * desc_size(s);
    if (!ssize32(s)) {
        uint8_t b[8];
        dma_read(s, d->at, b, sizeof(b));
        uint16_t w1 = le16(b + 2), w3 = le16(b + 6);
        d->hadr = w1 & 0xff;
        d->addr = phys(s, le16(b) | (uint32_t)d->hadr << 16);
        d->d1 = (uint32_t)(w1 & 0xff00) << 16 | le16(b + 4);
        d->d2 = tx ? (uint32_t)(w3 & 0xfc00) << 16 : (w3 & 0x0fff);
        return;
    }
    uint8_t b[12];
    dma_read(s, d->at, b, sizeof(b));
    d->hadr = 0;
    d->d1 = le32(b + 4);
    if (swstyle(s) == 3) {
        d->d2 = le32(b);
        d->addr = le32(b + 8);
    } else {
        d->addr = le32(b);
        d->d2 = le32(b + 8);
    }
}

/* Write the status back, the word holding OWN last. */
static void desc_write(PcnetState *s, const Desc *d, bool tx)
{
    uint8_t b[4];
    if (!ssize32(s)) {
        put_le16(b, tx ? (d->d2 >> 16) & 0xfc00 : d->d2 & 0x0fff);
        dma_write(s, d->at + 6, b, 2);
        put_le16(b, (d->d1 >> 16 & 0xff00) | d->hadr);
        dma_write(s, d->at + 2, b, 2);
        return;
    }
    put_le32(b, d->d2);
    dma_write(s, d->at + (swstyle(s) == 3 ? 0 : 8), b, 4);
    put_le32(b, d->d1);
    dma_write(s, d->at + 4, b, 4);
}

/* --- interrupts ------------------------------------------------------------------- */

static void pcnet_update_irq(PcnetState *s)
{
    uint16_t c0 = s->csr[0], c4 = s->csr[4], c5 = s->csr[5];
    bool intr = (c0 & ~s->csr[3] & CSR3_MASK_BITS) ||
                ((c4 & CSR4_MFCO) && !(c4 & CSR4_MFCOM)) ||
                (c4 & CSR4_UINT) ||
                ((c4 & CSR4_RCVCCO) && !(c4 & CSR4_RCVCCOM)) ||
                ((c4 & CSR4_TXSTRT) && !(c4 & CSR4_TXSTRTM)) ||
                ((c4 & CSR4_JAB) && !(c4 & CSR4_JABM)) ||
                ((c5 & CSR5_SINT) && (c5 & CSR5_SINTE)) ||
                ((c5 & CSR5_EXDINT) && (c5 & CSR5_EXDINTE)) ||
                ((c5 & CSR5_MPINT) && (c5 & CSR5_MPINTE));
    c0 &= ~(PCNET_CSR0_INTR | PCNET_CSR0_ERR);
    if (intr) {
        c0 |= PCNET_CSR0_INTR;
    }
    if (c0 & (PCNET_CSR0_BABL | PCNET_CSR0_CERR | PCNET_CSR0_MISS | PCNET_CSR0_MERR)) {
        c0 |= PCNET_CSR0_ERR;
    }
    s->csr[0] = c0;
    pci_set_irq(&s->pci, intr && (c0 & PCNET_CSR0_IENA));
}

/* --- receive ---------------------------------------------------------------------- */

static bool rx_running(const PcnetState *s)
{
    return (s->csr[0] & PCNET_CSR0_RXON) && dma_ok(s);
}

static bool suspended(const PcnetState *s)
{
    return s->csr[5] & CSR5_SPND;
}

static bool rx_buffer_ready(PcnetState *s)
{
    Desc d;
    desc_read(s, rx_base(s), s->rx_idx, false, &d);
    return d.d1 & PCNET_DESC_OWN;
}

/* Whether the filter accepts `dst`, and the match bits for RMD1. */
static bool rx_filter(const PcnetState *s, const uint8_t *dst, uint32_t *match)
{
    static const uint8_t bcast[NET_ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint16_t mode = s->csr[15];
    *match = 0;
    if (!memcmp(dst, bcast, NET_ETH_ALEN)) {
        if (!(mode & PCNET_MODE_DRCVBC)) {
            *match = PCNET_RMD1_BAM;
        }
    } else if (dst[0] & 1) {
        unsigned bit = net_eth_addr_crc(dst) >> 26;
        if ((s->csr[8 + bit / 16] >> (bit % 16)) & 1) {
            *match = PCNET_RMD1_LAFM;
        }
    } else if (!(mode & PCNET_MODE_DRCVPA)) {
        uint8_t padr[NET_ETH_ALEN];
        for (int i = 0; i < 3; i++) {
            put_le16(padr + 2 * i, s->csr[12 + i]);
        }
        if (!memcmp(dst, padr, NET_ETH_ALEN)) {
            *match = PCNET_RMD1_PAM;
        }
    }
    return *match || (mode & PCNET_MODE_PROM);
}

/* A frame from the wire (or the loopback) into the receive ring. */
static void pcnet_rx_frame(PcnetState *s, const uint8_t *buf, size_t len)
{
    uint32_t match;

    if (!rx_running(s) || len < NET_ETH_ALEN || len > NET_FRAME_MAX) {
        return;
    }
    if (!rx_filter(s, buf, &match)) {
        return;
    }
    /* What the wire carries: at least 60 bytes, then the FCS. */
    size_t n = MAX(len, (size_t)NET_ETH_MIN_LEN);
    memcpy(s->rxbuf, buf, len);
    memset(s->rxbuf + len, 0, n - len);
    put_le32(s->rxbuf + n, net_eth_fcs(s->rxbuf, n));
    size_t total = n + 4;

    uint32_t base = rx_base(s), ring = rx_ring_len(s);
    Desc d;
    desc_read(s, base, s->rx_idx, false, &d);
    if (!(d.d1 & PCNET_DESC_OWN)) {
        s->csr[0] |= PCNET_CSR0_MISS;
        s->csr[112]++;
        pcnet_update_irq(s);
        return;
    }
    size_t off = 0;
    uint32_t idx = s->rx_idx;
    bool first = true;
    for (;;) {
        size_t chunk = MIN((size_t)bcnt_len(d.d1), total - off);
        dma_write(s, d.addr, s->rxbuf + off, chunk);
        off += chunk;
        d.d1 &= ~RMD1_STATUS;
        if (first) {
            d.d1 |= PCNET_DESC_STP;
        }
        uint32_t next = (idx + 1) % ring;
        if (off == total) {
            d.d1 |= PCNET_DESC_ENP;
            if (ssize32(s)) {
                d.d1 |= match;
            }
            d.d2 = total & 0xfff;       /* MCNT; RPC and RCC 0 */
            desc_write(s, &d, false);
            idx = next;
            break;
        }
        Desc nd;
        desc_read(s, base, next, false, &nd);
        if (!(nd.d1 & PCNET_DESC_OWN) || next == s->rx_idx) {
            /* Out of buffers in mid-frame: the rest is lost. */
            d.d1 |= PCNET_DESC_ERR | PCNET_RMD1_BUFF;
            desc_write(s, &d, false);
            idx = next;
            break;
        }
        desc_write(s, &d, false);
        d = nd;
        idx = next;
        first = false;
    }
    s->rx_idx = idx;
    s->csr[0] |= PCNET_CSR0_RINT;
    pcnet_update_irq(s);
}

static bool pcnet_can_receive(NetClient *nc)
{
    PcnetState *s = net_client_opaque(nc);
    if (!rx_running(s) || (s->csr[15] & PCNET_MODE_LOOP)) {
        return true;        /* the frame is dropped, as by a receiver that is off */
    }
    if (s->transmitting || suspended(s)) {
        return false;
    }
    if (!rx_buffer_ready(s)) {
        if (!s->rx_waiting) {
            s->rx_waiting = true;
            pcnet_poll_arm(s);
        }
        return false;
    }
    return true;
}

static void pcnet_receive(NetClient *nc, const uint8_t *buf, size_t len)
{
    PcnetState *s = net_client_opaque(nc);
    if (s->csr[15] & PCNET_MODE_LOOP) {
        return;             /* loopback: the receiver hears only the transmitter */
    }
    pcnet_rx_frame(s, buf, len);
}

/* Frames wait for a buffer: give them one now if the driver has. */
static void rx_recheck(PcnetState *s)
{
    if (s->rx_waiting &&
        (!rx_running(s) || (!suspended(s) && rx_buffer_ready(s)))) {
        s->rx_waiting = false;
        net_client_receive_ready(s->nc);
    }
}

/* --- transmit ------------------------------------------------------------------------ */

static bool tx_running(const PcnetState *s)
{
    return (s->csr[0] & PCNET_CSR0_TXON) && !suspended(s) && dma_ok(s);
}

static void tx_deliver(PcnetState *s, size_t len)
{
    if ((s->csr[4] & CSR4_APAD_XMT) && len < NET_ETH_MIN_LEN) {
        memset(s->txbuf + len, 0, NET_ETH_MIN_LEN - len);
        len = NET_ETH_MIN_LEN;
    }
    if (s->csr[15] & PCNET_MODE_LOOP) {
        pcnet_rx_frame(s, s->txbuf, len);
    } else if (len) {
        net_client_send(s->nc, s->txbuf, len);
    }
}

/* Transmit what the ring holds, one pass around it at most. */
static void pcnet_transmit(PcnetState *s)
{
    if (!tx_running(s) || s->transmitting) {
        return;
    }
    s->transmitting = true;
    uint32_t base = tx_base(s), ring = tx_ring_len(s);
    uint32_t seen = 0;

    while (seen < ring && tx_running(s)) {
        Desc d;
        desc_read(s, base, s->tx_idx, true, &d);
        if (!(d.d1 & PCNET_DESC_OWN)) {
            break;
        }
        uint32_t idx = s->tx_idx;
        seen++;
        if (!(d.d1 & PCNET_DESC_STP)) {
            /* Not the start of a frame: hand it back unsent. */
            d.d1 &= ~PCNET_DESC_OWN;
            desc_write(s, &d, true);
            s->tx_idx = (idx + 1) % ring;
            continue;
        }
        s->csr[4] |= CSR4_TXSTRT;
        size_t len = 0;
        bool error = false;
        for (;;) {
            uint32_t blen = bcnt_len(d.d1);
            uint32_t take = MIN(blen, (uint32_t)(sizeof(s->txbuf) - len));
            dma_read(s, d.addr, s->txbuf + len, take);
            len += take;
            uint32_t next = (idx + 1) % ring;
            if (d.d1 & PCNET_DESC_ENP) {
                bool ltint = (s->csr[5] & CSR5_LTINTEN) && (d.d1 & TMD1_MORE_LTINT);
                d.d1 &= ~(PCNET_DESC_OWN | PCNET_DESC_ERR | TMD1_ONE | TMD1_DEF);
                if (!(s->csr[5] & CSR5_LTINTEN)) {
                    d.d1 &= ~TMD1_MORE_LTINT;
                }
                d.d2 = 0;
                desc_write(s, &d, true);
                idx = next;
                if (!(s->csr[5] & CSR5_TOKINTD) || ltint) {
                    s->csr[0] |= PCNET_CSR0_TINT;
                }
                break;
            }
            Desc nd;
            desc_read(s, base, next, true, &nd);
            if (!(nd.d1 & PCNET_DESC_OWN) || (nd.d1 & PCNET_DESC_STP) || seen >= ring) {
                /* The chain broke before ENP: underflow. */
                d.d1 = (d.d1 & ~PCNET_DESC_OWN) | PCNET_DESC_ERR;
                d.d2 |= PCNET_TMD2_BUFF | PCNET_TMD2_UFLO;
                desc_write(s, &d, true);
                idx = next;
                error = true;
                s->csr[0] |= PCNET_CSR0_TINT;
                if (!(s->csr[3] & CSR3_DXSUFLO)) {
                    s->csr[0] &= ~PCNET_CSR0_TXON;
                }
                break;
            }
            d.d1 &= ~PCNET_DESC_OWN;
            desc_write(s, &d, true);
            d = nd;
            idx = next;
            seen++;
        }
        s->tx_idx = idx;
        if (!error) {
            tx_deliver(s, len);
        }
    }
    s->transmitting = false;
    pcnet_update_irq(s);
    /* Frames that arrived while the ring was being sent. */
    net_client_receive_ready(s->nc);
}

/* --- the poll timer ------------------------------------------------------------------- */

/* CSR47 in PCI clocks (two's complement, 0 = 65536), but not below
 * POLL_MIN_NS: a guest asking for a poll every few clocks would otherwise
 * keep the host's main loop spinning. */
#define POLL_MIN_NS     100000

static int64_t poll_interval_ns(const PcnetState *s)
{
    return MAX((int64_t)ring_len(s->csr[47]) * PCI_CLOCK_NS, POLL_MIN_NS);
}

static void pcnet_poll_arm(PcnetState *s)
{
    bool tx_poll = tx_running(s) && !(s->csr[4] & CSR4_TXDPOLL);
    if (tx_poll || s->rx_waiting) {
        if (!vtimer_pending(s->poll_timer)) {
            vtimer_mod(s->poll_timer, vclock_ns() + poll_interval_ns(s));
        }
    } else {
        vtimer_del(s->poll_timer);
    }
}

static void pcnet_poll(void *opaque)
{
    PcnetState *s = opaque;
    if (!(s->csr[4] & CSR4_TXDPOLL)) {
        pcnet_transmit(s);
    }
    rx_recheck(s);
    pcnet_poll_arm(s);
}

/* --- initialisation and the run state ---------------------------------------------------- */

static void pcnet_init_block(PcnetState *s)
{
    uint32_t iadr = s->csr[1] | (uint32_t)s->csr[2] << 16;
    uint8_t b[28];
    uint16_t mode;
    uint32_t rdra, tdra, rlen_code, tlen_code, rlen, tlen;
    const uint8_t *padr, *ladrf;

    if (!dma_ok(s)) {
        return;             /* no bus master: the chip waits, IDON stays clear */
    }
    if (!ssize32(s)) {
        dma_read(s, phys(s, iadr), b, 24);
        mode = le16(b);
        padr = b + 2;
        ladrf = b + 8;
        rdra = le16(b + 16) | (uint32_t)(b[18]) << 16;
        rlen_code = b[19] >> 5;
        tdra = le16(b + 20) | (uint32_t)(b[22]) << 16;
        tlen_code = b[23] >> 5;
        rlen = 1u << rlen_code;
        tlen = 1u << tlen_code;
    } else {
        dma_read(s, iadr, b, 28);
        mode = le16(b);
        rlen_code = b[2] >> 4;
        tlen_code = b[3] >> 4;
        padr = b + 4;
        ladrf = b + 12;
        rdra = le32(b + 20);
        tdra = le32(b + 24);
        rlen = rlen_code > 9 ? 512 : 1u << rlen_code;
        tlen = tlen_code > 9 ? 512 : 1u << tlen_code;
    }
    s->csr[15] = mode;
    for (int i = 0; i < 3; i++) {
        s->csr[12 + i] = le16(padr + 2 * i);
    }
    for (int i = 0; i < 4; i++) {
        s->csr[8 + i] = le16(ladrf + 2 * i);
    }
    s->csr[24] = rdra;
    s->csr[25] = rdra >> 16;
    s->csr[30] = tdra;
    s->csr[31] = tdra >> 16;
    s->csr[76] = (uint16_t)-rlen;
    s->csr[78] = (uint16_t)-tlen;
    s->csr[6] = (rlen_code & 0xf) << 8 | (tlen_code & 0xf) << 12;
    s->rx_idx = 0;
    s->tx_idx = 0;
    s->csr[0] |= PCNET_CSR0_IDON;
}

static void pcnet_start(PcnetState *s)
{
    s->csr[0] &= ~PCNET_CSR0_STOP;
    s->csr[0] |= PCNET_CSR0_STRT;
    if (!(s->csr[15] & PCNET_MODE_DTX)) {
        s->csr[0] |= PCNET_CSR0_TXON;
    }
    if (!(s->csr[15] & PCNET_MODE_DRX)) {
        s->csr[0] |= PCNET_CSR0_RXON;
    }
}

static void pcnet_stop(PcnetState *s)
{
    s->csr[0] = PCNET_CSR0_STOP;
    vtimer_del(s->poll_timer);
    /* Frames held for a receiver that is now off are dropped by it. */
    if (s->rx_waiting) {
        s->rx_waiting = false;
        net_client_receive_ready(s->nc);
    }
}

static void csr0_write(PcnetState *s, uint16_t v)
{
    if (v & PCNET_CSR0_STOP) {
        pcnet_stop(s);
        pcnet_update_irq(s);
        return;
    }
    s->csr[0] &= ~(v & 0x7f00);     /* BABL CERR MISS MERR RINT TINT IDON */
    s->csr[0] = (s->csr[0] & ~PCNET_CSR0_IENA) | (v & PCNET_CSR0_IENA);
    if (v & PCNET_CSR0_INIT) {
        s->csr[0] = (s->csr[0] & ~PCNET_CSR0_STOP) | PCNET_CSR0_INIT;
        pcnet_init_block(s);
    }
    if (v & PCNET_CSR0_STRT) {
        pcnet_start(s);
    }
    pcnet_update_irq(s);
    if (v & PCNET_CSR0_TDMD) {
        pcnet_transmit(s);
    }
    rx_recheck(s);
    pcnet_poll_arm(s);
}

static void swstyle_write(PcnetState *s, uint16_t v)
{
    unsigned style = v & 0xff;
    uint16_t r = style | (v & BCR20_APERREN);
    if (style >= 1 && style <= 3) {
        r |= BCR20_SSIZE32;
    }
    if (style != 1) {
        r |= BCR20_CSRPCNET;
    }
    s->bcr[20] = r;
}

/* --- CSR and BCR access -------------------------------------------------------------------- */

static uint16_t csr_read(PcnetState *s, unsigned n)
{
    switch (n) {
    case 28: case 29: {         /* CRDA: current receive descriptor */
        uint32_t a = rx_base(s) + s->rx_idx * desc_size(s);
        return n == 28 ? a : a >> 16;
    }
    case 34: case 35: {         /* CXDA: current transmit descriptor */
        uint32_t a = tx_base(s) + s->tx_idx * desc_size(s);
        return n == 34 ? a : a >> 16;
    }
    case 58:
        return s->bcr[20];
    case 72:                    /* ring counters: two's complement positions */
        return (uint16_t)(s->rx_idx - rx_ring_len(s));
    case 74:
        return (uint16_t)(s->tx_idx - tx_ring_len(s));
    case 88:
        return CSR88_CHIP_ID_LO;
    case 89:
        return CSR89_CHIP_ID_HI;
    default:
        return s->csr[n];
    }
}

static void csr_write(PcnetState *s, unsigned n, uint16_t v)
{
    bool stopped = s->csr[0] & PCNET_CSR0_STOP;
    bool quiet = stopped || suspended(s);

    switch (n) {
    case 0:
        csr0_write(s, v);
        return;
    case 1: case 2:
        if (stopped) {
            s->csr[n] = v;
        }
        return;
    case 16: case 17:           /* aliases of IADR */
        if (stopped) {
            s->csr[n - 15] = v;
        }
        return;
    case 3:
        s->csr[3] = v & CSR3_WRITABLE;
        break;
    case 4:
        s->csr[4] = (s->csr[4] & ~CSR4_RW) | (v & CSR4_RW);
        s->csr[4] &= ~(v & CSR4_W1C);
        if (v & CSR4_UINTCMD) {
            s->csr[4] |= CSR4_UINT;
        }
        pcnet_poll_arm(s);
        break;
    case 5: {
        bool was = suspended(s);
        s->csr[5] = (s->csr[5] & ~CSR5_RW) | (v & CSR5_RW);
        s->csr[5] &= ~(v & CSR5_W1C);
        if (was && !suspended(s)) {
            pcnet_transmit(s);
            net_client_receive_ready(s->nc);    /* frames held while suspended */
        }
        pcnet_poll_arm(s);
        break;
    }
    case 8: case 9: case 10: case 11:   /* LADRF */
    case 12: case 13: case 14:          /* PADR */
    case 15:                            /* MODE */
        if (quiet) {
            s->csr[n] = v;
        }
        return;
    case 24: case 25: case 30: case 31:
        if (stopped) {
            s->csr[n] = v;
        }
        return;
    case 72: case 74:
        if (stopped) {
            uint32_t len = n == 72 ? rx_ring_len(s) : tx_ring_len(s);
            uint32_t idx = (uint16_t)(v + len) % len;
            if (n == 72) {
                s->rx_idx = idx;
            } else {
                s->tx_idx = idx;
            }
        }
        return;
    case 76: case 78:
        if (stopped) {
            s->csr[n] = v;
            s->rx_idx %= rx_ring_len(s);
            s->tx_idx %= tx_ring_len(s);
        }
        return;
    case 58:
        swstyle_write(s, v);
        return;
    case 47: case 49:           /* poll intervals */
    case 80: case 82: case 100: /* FIFO thresholds, bus timers */
    case 112: case 114:         /* missed frame and collision counters */
    case 122: case 124:
        s->csr[n] = v;
        return;
    default:
        return;                 /* read-only or not on this chip */
    }
    pcnet_update_irq(s);
    rx_recheck(s);
}

static bool link_up(const PcnetState *s)
{
    return net_client_peer(s->nc) != NULL;
}

static uint16_t bcr_read(PcnetState *s, unsigned n)
{
    switch (n) {
    case 4: case 5: case 6: case 7: {
        uint16_t v = s->bcr[n] & ~BCR4_LEDOUT;
        bool on = ((v & BCR4_LNKSE) && link_up(s)) ||
                  ((v & BCR4_FDLSE) && link_up(s) && (s->bcr[9] & BCR9_FDEN));
        return v | (on ? BCR4_LEDOUT : 0);
    }
    case 18:
        return (s->bcr[18] & ~BCR18_DWIO) | (s->dwio ? BCR18_DWIO : 0);
    case 34:
        return 0xffff;          /* MII data: no PHY answers */
    default:
        return n < BCR_COUNT ? s->bcr[n] : 0;
    }
}

static void bcr_write(PcnetState *s, unsigned n, uint16_t v)
{
    switch (n) {
    case 2:
        s->bcr[2] = v & BCR2_WRITABLE;
        break;
    case 4: case 5: case 6: case 7:
        s->bcr[n] = v & ~BCR4_LEDOUT;
        break;
    case 9:
        s->bcr[9] = v & 0x0007;
        break;
    case 18:
        s->bcr[18] = v & ~BCR18_DWIO;
        break;
    case 19:
        s->bcr[19] = (s->bcr[19] & BCR19_PVALID) | (v & 0x001f);
        break;
    case 20:
        swstyle_write(s, v);
        break;
    case 22:
        s->bcr[22] = v;
        break;
    case 32: case 33:
        s->bcr[n] = v;
        break;
    default:
        break;                  /* reserved, read-only, or not on this chip */
    }
}

/* --- resets ------------------------------------------------------------------------------ */

static void pcnet_s_reset(PcnetState *s)
{
    s->csr[0] = PCNET_CSR0_STOP;
    s->csr[3] = 0;
    s->csr[4] = CSR4_RESET;
    s->csr[5] = 0;
    s->csr[6] = 0;
    s->csr[47] = 0;
    s->csr[49] = 0;
    s->csr[80] = 0x1410;
    s->csr[82] = 0;
    s->csr[100] = 0x0200;
    s->csr[112] = 0;
    s->csr[114] = 0;
    s->csr[122] = 0;
    s->csr[124] = 0;
    s->rap = 0;
    s->rx_idx = s->tx_idx = 0;
    vtimer_del(s->poll_timer);
    if (s->rx_waiting) {
        s->rx_waiting = false;
        net_client_receive_ready(s->nc);
    }
    pcnet_update_irq(s);
}

static void aprom_load(PcnetState *s)
{
    memset(s->aprom, 0, sizeof(s->aprom));
    memcpy(s->aprom, s->mac, NET_ETH_ALEN);
    s->aprom[14] = 'W';
    s->aprom[15] = 'W';
    uint16_t sum = 0;
    for (int i = 0; i < 16; i++) {
        if (i != 12 && i != 13) {
            sum += s->aprom[i];
        }
    }
    put_le16(s->aprom + 12, sum);
}

void pcnet_reset(PcnetState *s)
{
    memset(s->csr, 0, sizeof(s->csr));
    memset(s->bcr, 0, sizeof(s->bcr));
    s->dwio = false;
    aprom_load(s);
    /* The EEPROM also loads the physical address. */
    for (int i = 0; i < 3; i++) {
        s->csr[12 + i] = le16(s->mac + 2 * i);
    }
    s->bcr[0] = 0x0005;
    s->bcr[1] = 0x0005;
    s->bcr[2] = 0x0002;         /* ASEL */
    s->bcr[4] = 0x00c0;         /* LNKSE | PSE */
    s->bcr[5] = 0x0084;
    s->bcr[6] = 0x0088;
    s->bcr[7] = 0x0090;
    s->bcr[18] = 0x9001;
    s->bcr[19] = BCR19_PVALID;
    swstyle_write(s, 0);
    s->bcr[22] = 0xff06;        /* MAX_LAT, MIN_GNT */
    pcnet_s_reset(s);
}

/* --- register ports ------------------------------------------------------------------------ */

static uint64_t pcnet_io_read(void *opaque, uint64_t off, unsigned size)
{
    PcnetState *s = opaque;
    uint64_t ones = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

    if (off < 16) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size && off + i < 16; i++) {
            v |= (uint64_t)s->aprom[off + i] << (8 * i);
        }
        return v;
    }
    if (!s->dwio) {
        if (size != 2) {
            return ones;
        }
        switch (off) {
        case PCNET_WIO_RDP: return csr_read(s, s->rap);
        case PCNET_WIO_RAP: return s->rap;
        case PCNET_WIO_RESET: pcnet_s_reset(s); return 0;
        case PCNET_WIO_BDP: return bcr_read(s, s->rap);
        default: return ones;
        }
    }
    if (size != 4) {
        return ones;
    }
    switch (off) {
    case PCNET_DWIO_RDP: return csr_read(s, s->rap);
    case PCNET_DWIO_RAP: return s->rap;
    case PCNET_DWIO_RESET: pcnet_s_reset(s); return 0;
    case PCNET_DWIO_BDP: return bcr_read(s, s->rap);
    default: return ones;
    }
}

static void pcnet_io_write(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
    PcnetState *s = opaque;

    if (off < 16) {
        if (s->bcr[2] & BCR2_APROMWE) {
            for (unsigned i = 0; i < size && off + i < 16; i++) {
                s->aprom[off + i] = v >> (8 * i);
            }
        }
        return;
    }
    if (!s->dwio) {
        if (size == 4 && off == PCNET_DWIO_RDP) {
            s->dwio = true;     /* a dword write to RDP: DWIO from now on */
        } else if (size != 2) {
            return;
        } else {
            switch (off) {
            case PCNET_WIO_RDP: csr_write(s, s->rap, v); break;
            case PCNET_WIO_RAP: s->rap = v & RAP_MASK; break;
            case PCNET_WIO_BDP: bcr_write(s, s->rap, v); break;
            default: break;     /* RESET: writes have no effect */
            }
            return;
        }
    }
    if (size != 4) {
        return;
    }
    switch (off) {
    case PCNET_DWIO_RDP: csr_write(s, s->rap, v & 0xffff); break;
    case PCNET_DWIO_RAP: s->rap = v & RAP_MASK; break;
    case PCNET_DWIO_BDP: bcr_write(s, s->rap, v & 0xffff); break;
    default: break;
    }
}

static const IoOps pcnet_io_ops = {
    .read = pcnet_io_read,
    .write = pcnet_io_write,
    .max_access = 4,
};

/* --- PCI, creation ------------------------------------------------------------------------- */

static const NetClientInfo pcnet_net_info = {
    .kind = "pcnet",
    .can_receive = pcnet_can_receive,
    .receive = pcnet_receive,
};

PcnetState *pcnet_new(PciBus *bus, int devfn, const uint8_t mac[NET_ETH_ALEN],
                      GError **errp)
{
    if (devfn < 0) {
        for (int slot = 3; slot < 32 && devfn < 0; slot++) {
            if (!pci_bus_device(bus, PCI_DEVFN(slot, 0))) {
                devfn = PCI_DEVFN(slot, 0);
            }
        }
        if (devfn < 0) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSPC,
                        "pcnet: no free PCI slot");
            return NULL;
        }
    }
    PcnetState *s = g_new0(PcnetState, 1);
    memcpy(s->mac, mac, NET_ETH_ALEN);
    pci_device_init(&s->pci, "pcnet", PCNET_VENDOR_ID, PCNET_DEVICE_ID,
                    PCI_CLASS_NETWORK_ETHERNET, PCNET_REVISION);
    pci_set_word(s->pci.config + PCI_STATUS,
                 PCI_STATUS_DEVSEL_MEDIUM | PCI_STATUS_FAST_BACK);
    s->pci.config[PCI_MIN_GNT] = 0x06;
    s->pci.config[PCI_MAX_LAT] = 0xff;
    pci_config_set_interrupt_pin(&s->pci, PCI_INTA);
    pci_register_bar(&s->pci, 0, PCI_BAR_IO, PCNET_IO_SIZE, &pcnet_io_ops, s);
    pci_register_bar(&s->pci, 1, PCI_BAR_MEM32, PCNET_MMIO_SIZE, &pcnet_io_ops, s);
    s->pci.opaque = s;
    s->poll_timer = vtimer_new(pcnet_poll, s);
    s->nc = net_client_new(&pcnet_net_info, "pcnet", s);
    int r = pci_bus_add_device(bus, &s->pci, devfn);
    if (r < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_EXIST,
                    "pcnet: PCI slot %02x.%x is taken", PCI_SLOT(devfn), PCI_FUNC(devfn));
        net_client_free(s->nc);
        vtimer_free(s->poll_timer);
        g_free(s);
        return NULL;
    }
    pcnet_reset(s);
    return s;
}

void pcnet_free(PcnetState *s)
{
    if (!s) {
        return;
    }
    pci_bus_remove_device(&s->pci);
    net_client_free(s->nc);
    vtimer_free(s->poll_timer);
    g_free(s);
}

NetClient *pcnet_net_client(PcnetState *s)
{
    return s->nc;
}

int pcnet_devfn(const PcnetState *s)
{
    return s->pci.devfn;
}

/* --- suspend ---------------------------------------------------------------------------------- */

/* The configuration bytes and the INTx level are the PCI core's section
 * (pci.SS.F, loaded after this one); these are the chip's registers. */
static int pcnet_post_load(void *opaque, uint32_t version, GError **errp)
{
    PcnetState *s = opaque;
    s->rx_idx %= rx_ring_len(s);
    s->tx_idx %= tx_ring_len(s);
    s->rap &= RAP_MASK;
    s->rx_waiting = false;
    return 0;
}

static const VMStateField pcnet_fields[] = {
    VMSTATE_UINT16_ARRAY(PcnetState, csr, CSR_COUNT),
    VMSTATE_UINT16_ARRAY(PcnetState, bcr, BCR_COUNT),
    VMSTATE_UINT16(PcnetState, rap),
    VMSTATE_UINT8_ARRAY(PcnetState, aprom, 16),
    VMSTATE_BOOL(PcnetState, dwio),
    VMSTATE_UINT32(PcnetState, rx_idx),
    VMSTATE_UINT32(PcnetState, tx_idx),
    VMSTATE_VTIMER(PcnetState, poll_timer),
    VMSTATE_END,
};

const VMStateDescription pcnet_vmstate = {
    .name = "pcnet",
    .version = 1,
    .post_load = pcnet_post_load,
    .fields = pcnet_fields,
};
