/*
 * Ethernet frame helpers: the frame check sequence and the CRC that
 * multicast hash filters index by.
 * Reference: IEEE 802.3, 3.2.9 (FCS: CRC-32, generator 0x04C11DB7, sent
 * least significant bit first, register preset to all ones, result
 * complemented).  zlib's crc32() computes exactly that reflected CRC.
 */
#include <zlib.h>
#include "net.h"

uint32_t net_eth_fcs(const uint8_t *buf, size_t len)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (len > 0) {
        uInt chunk = len > 0x40000000u ? 0x40000000u : (uInt)len;
        crc = crc32(crc, buf, chunk);
        buf += chunk;
        len -= chunk;
    }
    return (uint32_t)crc;
}

uint32_t net_eth_addr_crc(const uint8_t addr[NET_ETH_ALEN])
{
    /* zlib complements its result; the filter wants the raw register. */
    return ~(uint32_t)crc32(0L, addr, NET_ETH_ALEN);
}
