/*
 * The `tap` backend: a host tap device (Linux TUN/TAP driver, IFF_TAP
 * without packet information), so the guest's frames appear on a host
 * interface that the host bridges or routes as it likes.  The device is
 * opened, not configured: scripts are not run (script=no), so the user
 * creates it beforehand (ip tuntap add dev tap0 mode tap) or lets vmkemu
 * create a transient one, which needs CAP_NET_ADMIN.
 * Reference: Linux Documentation/networking/tuntap.rst (TUNSETIFF).
 *
 * Frames from the host are read on the main loop while the peer keeps up:
 * when TAP_BACKLOG frames wait for the peer, reading stops until the peer
 * has taken them (peer_drained).  Frames to the host are written at once
 * from whichever thread sends them; a full device queue drops the frame,
 * as a wire would.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <glib-unix.h>
#include "net.h"
#include "log.h"

#define TAP_BACKLOG 64

typedef struct TapNet {
    NetClient *nc;
    int fd;
    guint watch;                /* 0 while reading is paused */
    char ifname[IFNAMSIZ];
    bool write_error_logged;
    uint8_t buf[NET_FRAME_MAX];
} TapNet;

static gboolean tap_readable(gint fd, GIOCondition cond, gpointer opaque);

static void tap_resume(TapNet *t)
{
    if (!t->watch) {
        t->watch = g_unix_fd_add(t->fd, G_IO_IN, tap_readable, t);
    }
}

static gboolean tap_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    TapNet *t = opaque;
    NetClient *peer = net_client_peer(t->nc);
    /* A burst at most, so the rest of the main loop runs too. */
    for (int n = 0; n < TAP_BACKLOG; n++) {
        if (peer && net_client_queue_len(peer) >= TAP_BACKLOG) {
            t->watch = 0;
            return G_SOURCE_REMOVE;     /* tap_peer_drained resumes */
        }
        ssize_t len = read(fd, t->buf, sizeof(t->buf));
        if (len < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN) {
                vlog("netdev %s: reading tap device %s failed: %s; it is closed",
                     net_client_name(t->nc), t->ifname, g_strerror(errno));
                t->watch = 0;
                return G_SOURCE_REMOVE;
            }
            break;
        }
        if (len > 0) {
            net_client_send(t->nc, t->buf, len);
        }
    }
    return G_SOURCE_CONTINUE;
}

static void tap_receive(NetClient *nc, const uint8_t *buf, size_t len)
{
    TapNet *t = net_client_opaque(nc);
    ssize_t n;
    do {
        n = write(t->fd, buf, len);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN && !t->write_error_logged) {
        vlog("netdev %s: writing to tap device %s failed: %s (frames are dropped)",
             net_client_name(nc), t->ifname, g_strerror(errno));
        t->write_error_logged = true;
    }
}

static void tap_peer_drained(NetClient *nc)
{
    tap_resume(net_client_opaque(nc));
}

static void tap_cleanup(NetClient *nc)
{
    TapNet *t = net_client_opaque(nc);
    if (t->watch) {
        g_source_remove(t->watch);
    }
    if (t->fd >= 0) {
        close(t->fd);
    }
    g_free(t);
}

static const NetClientInfo tap_info = {
    .kind = "tap",
    .receive = tap_receive,
    .peer_drained = tap_peer_drained,
    .cleanup = tap_cleanup,
};

NetClient *net_tap_new(const NetdevConfig *cfg, GError **errp)
{
    const char *want = cfg->ifname ? cfg->ifname : "";
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "netdev %s: /dev/net/tun: %s", cfg->id, g_strerror(e));
        return NULL;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    g_strlcpy(ifr.ifr_name, want, sizeof(ifr.ifr_name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        const char *hint = e == EPERM ? " (creating a tap device needs CAP_NET_ADMIN; "
                                        "create it beforehand for this user)" :
                           e == EBUSY ? " (another process has it open)" :
                           e == EINVAL ? " (is it a tun device rather than a tap?)" : "";
        g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                    "netdev %s: tap device %s: %s%s", cfg->id, *want ? want : "(new)",
                    g_strerror(e), hint);
        close(fd);
        return NULL;
    }
    TapNet *t = g_new0(TapNet, 1);
    t->fd = fd;
    g_strlcpy(t->ifname, ifr.ifr_name, sizeof(t->ifname));
    t->nc = net_client_new(&tap_info, cfg->id, t);
    tap_resume(t);
    return t->nc;
}

const char *net_tap_ifname(NetClient *nc)
{
    TapNet *t = net_client_opaque(nc);
    return t->ifname;
}

bool net_tap_exists(const char *name)
{
    if (!*name || strchr(name, '/') || strlen(name) >= IFNAMSIZ) {
        return false;
    }
    gchar *p = g_strdup_printf("/sys/class/net/%s/tun_flags", name);
    gchar *text = NULL;
    bool tap = false;
    if (g_file_get_contents(p, &text, NULL, NULL)) {
        /* IFF_TAP (0x0002) rather than IFF_TUN (0x0001). */
        tap = (g_ascii_strtoull(text, NULL, 16) & IFF_TAP) != 0;
    }
    g_free(text);
    g_free(p);
    return tap;
}
