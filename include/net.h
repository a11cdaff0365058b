/*
 * The network layer: Ethernet frames between a NIC model (frontend) and a
 * backend (user-mode networking on libslirp, a host tap device), and the
 * configuration both launch styles fill in (-netdev, -nic, -device, a
 * .cfg's ethernetN keys).  docs/net.md is the user's and the device
 * writer's guide.
 *
 * A NetClient is one end of a point-to-point link.  Two clients are peers;
 * net_client_send() hands a frame to the peer.  A receiver says whether it
 * can take a frame now (can_receive); frames it cannot take wait in its
 * queue, in order, until it calls net_client_receive_ready().  The queue is
 * bounded: when it is full the oldest frame is offered to the receiver
 * anyway, so a NIC without buffers counts it missed as the chip would.
 *
 * Threads: every call is made holding the big lock (device models, main
 * loop callbacks).  A client created with main_loop_only (the slirp
 * backend: its sockets and timers belong to the main loop) receives frames
 * only on the thread running the GLib main loop: a frame sent to it from a
 * vCPU thread is queued and delivered from a main-loop source, which the
 * sender wakes.  Receivers are never re-entered: a frame arriving while one
 * is being delivered to the same client waits in the queue.
 */
#ifndef VMKEMU_NET_H
#define VMKEMU_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>

#define NET_ETH_ALEN        6
#define NET_ETH_HLEN        14
#define NET_ETH_MIN_LEN     60      /* without the FCS */
#define NET_FRAME_MAX       65536   /* largest frame the layer carries */
#define NET_QUEUE_MAX       256     /* frames waiting for one receiver */

typedef struct NetClient NetClient;

typedef struct NetClientInfo {
    const char *kind;               /* "user", "tap", "pcnet", "test" ... */
    /* Only on the main-loop thread (see above). */
    bool main_loop_only;
    /* May a frame be delivered now?  NULL: always. */
    bool (*can_receive)(NetClient *nc);
    /* Take one frame (dropping it is taking it). */
    void (*receive)(NetClient *nc, const uint8_t *buf, size_t len);
    /* The peer took every frame that had queued up for it (a sender that
     * stopped producing because the peer's queue grew may go on). */
    void (*peer_drained)(NetClient *nc);
    /* The client is being freed: release what the backend holds. */
    void (*cleanup)(NetClient *nc);
} NetClientInfo;

typedef struct NetClientStats {
    uint64_t sent;          /* frames this client handed to its peer */
    uint64_t received;      /* frames delivered to this client */
    uint64_t queued;        /* frames that waited in this client's queue */
    uint64_t dropped;       /* frames to this client lost (no peer, overflow) */
} NetClientStats;

NetClient *net_client_new(const NetClientInfo *info, const char *name, void *opaque);
/* Unlinks it from its peer and drops its queue; NULL is fine. */
void net_client_free(NetClient *nc);
const char *net_client_name(const NetClient *nc);
const NetClientInfo *net_client_info(const NetClient *nc);
void *net_client_opaque(const NetClient *nc);

/* Link two clients (each must be unlinked). */
void net_client_connect(NetClient *a, NetClient *b);
NetClient *net_client_peer(const NetClient *nc);

/* Send one frame to the peer: delivered now, or queued.  Returns false when
 * it was dropped (no peer, empty or oversized frame). */
bool net_client_send(NetClient *sender, const uint8_t *buf, size_t len);
/* `nc` can take frames again: its queued frames are delivered (now when
 * possible, else from the main loop). */
void net_client_receive_ready(NetClient *nc);
/* Deliver what is queued for `nc` while it can receive, on this thread
 * (the main loop's source calls this; so can tests). */
void net_client_flush(NetClient *nc);
/* Frames waiting in `nc`'s queue. */
size_t net_client_queue_len(const NetClient *nc);
void net_client_get_stats(const NetClient *nc, NetClientStats *st);

/* --- configuration ------------------------------------------------------ */

typedef enum NetdevKind {
    NETDEV_NONE = 0,
    NETDEV_USER,            /* user-mode networking (libslirp) */
    NETDEV_TAP,             /* a host tap device (/dev/net/tun) */
} NetdevKind;

typedef struct NetdevConfig {
    char *id;
    NetdevKind kind;
    /* user */
    bool restrict_net;      /* restrict=on: the guest cannot reach out */
    uint32_t net_addr;      /* net=ADDR/BITS (host order), default 10.0.2.0/24 */
    int net_bits;
    char **hostfwd;         /* "[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT", NULL-ended */
    /* tap */
    char *ifname;           /* NULL: the kernel picks tapN */
} NetdevConfig;

typedef struct NicConfig {
    char *model;            /* "pcnet" */
    char *netdev;           /* the NetdevConfig id, NULL: not connected */
    bool has_mac;
    uint8_t mac[NET_ETH_ALEN];
    /* ethernetN of a .cfg (0-3), whose address comes from the ESX MAC
     * registry at launch (compat-esx); -1 otherwise. */
    int esx_index;
    bool esx_manual_mac;    /* the .cfg gave ethernetN.address */
} NicConfig;

/* Parse the argument of -netdev ("user,id=n0,hostfwd=tcp::2222-:22").  The
 * error is one line naming what is wrong (the caller adds the option). */
int net_netdev_parse(const char *spec, NetdevConfig *out, GError **errp);
/* Parse the argument of -device for a NIC ("pcnet,netdev=n0,mac=..."). */
int net_nic_device_parse(const char *spec, NicConfig *out, GError **errp);
/* -nic BACKEND[,model=M][,mac=A][,BACKEND OPTIONS]: both halves.  `index`
 * makes the backend's id ("nic0", ...).  Returns 1 for -nic none. */
int net_nic_parse(const char *spec, int index, NetdevConfig *nd, NicConfig *nic,
                  GError **errp);
/* A NIC model this build has ("pcnet"). */
bool net_nic_model_known(const char *model);
/* One hostfwd rule. */
typedef struct NetHostFwd {
    bool udp;
    uint32_t host_addr, guest_addr;     /* host order; 0 = any / the DHCP start */
    int host_port, guest_port;
} NetHostFwd;
int net_hostfwd_parse(const char *rule, NetHostFwd *out, GError **errp);

void net_netdev_config_clear(NetdevConfig *nd);
void net_nic_config_clear(NicConfig *nic);

/* "00:50:56:0e:51:95" (':' or '-' between the bytes). */
bool net_mac_parse(const char *s, uint8_t mac[NET_ETH_ALEN]);
void net_mac_format(const uint8_t mac[NET_ETH_ALEN], char out[18]);

/* --- backends ----------------------------------------------------------- */

/* The backend a NetdevConfig describes (net/slirp.c, net/tap.c). */
NetClient *net_backend_new(const NetdevConfig *cfg, GError **errp);
/* What the backend is, for the log ("user-mode networking 10.0.2.0/24"). */
char *net_backend_describe(const NetdevConfig *cfg);

/* Whether this build has user-mode networking (libslirp). */
bool net_user_available(void);
NetClient *net_user_new(const NetdevConfig *cfg, GError **errp);
NetClient *net_tap_new(const NetdevConfig *cfg, GError **errp);
/* The interface name a tap backend got. */
const char *net_tap_ifname(NetClient *nc);
/* Whether `name` is a host tap device (/sys/class/net/NAME/tun_flags). */
bool net_tap_exists(const char *name);

/* --- frame helpers -------------------------------------------------------- */

/* The Ethernet FCS (CRC-32, IEEE 802.3) of a frame, as it follows the frame
 * on the wire (the value's low byte first). */
uint32_t net_eth_fcs(const uint8_t *buf, size_t len);
/* The CRC register after the 6 destination address bytes, without the final
 * inversion: its 6 top bits index a 64-bit multicast hash filter. */
uint32_t net_eth_addr_crc(const uint8_t addr[NET_ETH_ALEN]);

#endif
