/*
 * AMD Am79C970A PCnet-PCI II Ethernet controller (what ESX calls
 * `vlance`), as the Linux pcnet32 driver and its kin use it.
 * Reference: AMD Am79C970A data sheet, publication 19436 (register and
 * descriptor layouts); hw/pcnet.c says what is modelled.
 */
#ifndef VMKEMU_HW_PCNET_H
#define VMKEMU_HW_PCNET_H

#include <stdint.h>
#include <glib.h>
#include "net.h"

#define PCNET_VENDOR_ID     0x1022      /* AMD */
#define PCNET_DEVICE_ID     0x2000      /* PCnet-PCI family */
#define PCNET_REVISION      0x10        /* Am79C970A */
#define PCNET_IO_SIZE       32          /* BAR0, I/O */
#define PCNET_MMIO_SIZE     32          /* BAR1, memory */

/* I/O (and MMIO) offsets: APROM, then the 16-bit (WIO) or 32-bit (DWIO)
 * register ports. */
#define PCNET_APROM         0x00
#define PCNET_WIO_RDP       0x10
#define PCNET_WIO_RAP       0x12
#define PCNET_WIO_RESET     0x14
#define PCNET_WIO_BDP       0x16
#define PCNET_DWIO_RDP      0x10
#define PCNET_DWIO_RAP      0x14
#define PCNET_DWIO_RESET    0x18
#define PCNET_DWIO_BDP      0x1c

/* CSR0 */
#define PCNET_CSR0_INIT     0x0001
#define PCNET_CSR0_STRT     0x0002
#define PCNET_CSR0_STOP     0x0004
#define PCNET_CSR0_TDMD     0x0008
#define PCNET_CSR0_TXON     0x0010
#define PCNET_CSR0_RXON     0x0020
#define PCNET_CSR0_IENA     0x0040
#define PCNET_CSR0_INTR     0x0080
#define PCNET_CSR0_IDON     0x0100
#define PCNET_CSR0_TINT     0x0200
#define PCNET_CSR0_RINT     0x0400
#define PCNET_CSR0_MERR     0x0800
#define PCNET_CSR0_MISS     0x1000
#define PCNET_CSR0_CERR     0x2000
#define PCNET_CSR0_BABL     0x4000
#define PCNET_CSR0_ERR      0x8000

/* CSR15 (mode) */
#define PCNET_MODE_DRX      0x0001
#define PCNET_MODE_DTX      0x0002
#define PCNET_MODE_LOOP     0x0004
#define PCNET_MODE_DRCVPA   0x2000
#define PCNET_MODE_DRCVBC   0x4000
#define PCNET_MODE_PROM     0x8000

/* Descriptor bits in the 32-bit layout (RMD1 / TMD1, RMD2 / TMD2). */
#define PCNET_DESC_OWN      0x80000000u
#define PCNET_DESC_ERR      0x40000000u
#define PCNET_DESC_STP      0x02000000u
#define PCNET_DESC_ENP      0x01000000u
#define PCNET_RMD1_BUFF     0x04000000u
#define PCNET_RMD1_PAM      0x00400000u
#define PCNET_RMD1_LAFM     0x00200000u
#define PCNET_RMD1_BAM      0x00100000u
#define PCNET_TMD1_LTINT    0x10000000u
#define PCNET_TMD2_BUFF     0x80000000u
#define PCNET_TMD2_UFLO     0x40000000u

typedef struct PcnetState PcnetState;
typedef struct PciBus PciBus;

/* The chip at `devfn` on `bus` (-1: the first free slot from 3 up), its
 * factory address `mac` in the APROM.  NULL if the slot is taken. */
PcnetState *pcnet_new(PciBus *bus, int devfn, const uint8_t mac[NET_ETH_ALEN],
                      GError **errp);
void pcnet_free(PcnetState *s);
/* The NIC end of the link, to connect to a backend. */
NetClient *pcnet_net_client(PcnetState *s);
int pcnet_devfn(const PcnetState *s);
/* H_RESET: every register, the APROM, word I/O mode. */
void pcnet_reset(PcnetState *s);

/* Guest-visible state for suspend/resume (include/vmstate.h). */
extern const struct VMStateDescription pcnet_vmstate;

#endif
