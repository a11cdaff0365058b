/*
 * The `user` backend: user-mode networking on libslirp.  The guest sees a
 * private network (default 10.0.2.0/24) with a gateway at .2 that is also
 * the host (connections to it go to the host's loopback), a DNS relay at
 * .3 and a DHCP server handing out .15 onwards; its TCP and UDP traffic
 * leaves through ordinary host sockets, so no privilege is needed.
 * hostfwd rules listen on host ports and forward to the guest;
 * restrict=on stops the guest from opening connections of its own.
 * Reference: libslirp's API (libslirp.h, version 4.x).
 *
 * Slirp runs on the main loop only: its sockets are polled by a GSource
 * whose prepare asks slirp for the descriptors and its timeout, and whose
 * dispatch hands slirp the results; its timers are virtual-clock timers.
 * Frames from the guest reach slirp_input() on the main-loop thread (the
 * client is main_loop_only, see include/net.h).
 */
#include <errno.h>
#include <string.h>
#include "config.h"
#include "net.h"
#include "log.h"

#ifdef CONFIG_SLIRP

#include <libslirp.h>
#include "main-loop.h"
#include "timer.h"

typedef struct SlirpPollSource {
    GSource base;
    struct UserNet *u;
    GPtrArray *fds;         /* GPollFD *, stable; the first n_used are polled */
    guint n_used;
    gint64 deadline;        /* monotonic us when slirp's timeout ends, or -1 */
} SlirpPollSource;

typedef struct UserNet {
    NetClient *nc;
    Slirp *slirp;
    SlirpPollSource *src;
} UserNet;

static int to_gio(int ev)
{
    return (ev & SLIRP_POLL_IN ? G_IO_IN : 0) | (ev & SLIRP_POLL_OUT ? G_IO_OUT : 0) |
           (ev & SLIRP_POLL_PRI ? G_IO_PRI : 0) | (ev & SLIRP_POLL_ERR ? G_IO_ERR : 0) |
           (ev & SLIRP_POLL_HUP ? G_IO_HUP : 0);
}

static int from_gio(int ev)
{
    return (ev & G_IO_IN ? SLIRP_POLL_IN : 0) | (ev & G_IO_OUT ? SLIRP_POLL_OUT : 0) |
           (ev & G_IO_PRI ? SLIRP_POLL_PRI : 0) | (ev & G_IO_ERR ? SLIRP_POLL_ERR : 0) |
           (ev & G_IO_HUP ? SLIRP_POLL_HUP : 0);
}

static int add_poll(int fd, int events, void *opaque)
{
    SlirpPollSource *s = opaque;
    if (s->n_used == s->fds->len) {
        g_ptr_array_add(s->fds, g_new0(GPollFD, 1));
    }
    GPollFD *p = g_ptr_array_index(s->fds, s->n_used);
    p->fd = fd;
    p->events = to_gio(events);
    p->revents = 0;
    g_source_add_poll(&s->base, p);
    return s->n_used++;
}

static int get_revents(int idx, void *opaque)
{
    SlirpPollSource *s = opaque;
    if (idx < 0 || (guint)idx >= s->n_used) {
        return 0;
    }
    GPollFD *p = g_ptr_array_index(s->fds, idx);
    return from_gio(p->revents);
}

static gboolean poll_prepare(GSource *src, gint *timeout)
{
    SlirpPollSource *s = (SlirpPollSource *)src;
    for (guint i = 0; i < s->n_used; i++) {
        g_source_remove_poll(src, g_ptr_array_index(s->fds, i));
    }
    s->n_used = 0;
    uint32_t t = UINT32_MAX;
    slirp_pollfds_fill(s->u->slirp, &t, add_poll, s);
    if (t == UINT32_MAX) {
        *timeout = -1;
        s->deadline = -1;
    } else {
        *timeout = (gint)MIN(t, (uint32_t)G_MAXINT);
        s->deadline = g_source_get_time(src) + (gint64)t * 1000;
    }
    return t == 0;
}

/* Ready when a descriptor is, or when slirp's timeout (its TCP timers,
 * run from slirp_pollfds_poll) has passed. */
static gboolean poll_check(GSource *src)
{
    SlirpPollSource *s = (SlirpPollSource *)src;
    for (guint i = 0; i < s->n_used; i++) {
        GPollFD *p = g_ptr_array_index(s->fds, i);
        if (p->revents & p->events) {
            return TRUE;
        }
        if (p->revents & (G_IO_ERR | G_IO_HUP | G_IO_NVAL)) {
            return TRUE;
        }
    }
    return s->deadline >= 0 && g_get_monotonic_time() >= s->deadline;
}

static gboolean poll_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    SlirpPollSource *s = (SlirpPollSource *)src;
    bool error = false;
    for (guint i = 0; i < s->n_used; i++) {
        GPollFD *p = g_ptr_array_index(s->fds, i);
        error |= (p->revents & G_IO_NVAL) != 0;
    }
    slirp_pollfds_poll(s->u->slirp, error, get_revents, s);
    return G_SOURCE_CONTINUE;
}

static void poll_finalize(GSource *src)
{
    SlirpPollSource *s = (SlirpPollSource *)src;
    g_ptr_array_free(s->fds, TRUE);
}

static GSourceFuncs poll_funcs = {
    .prepare = poll_prepare,
    .check = poll_check,
    .dispatch = poll_dispatch,
    .finalize = poll_finalize,
};

/* --- callbacks from slirp --------------------------------------------------- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    UserNet *u = opaque;
    net_client_send(u->nc, buf, len);
    return len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    UserNet *u = opaque;
    vlog("netdev %s: the guest sent something user-mode networking refuses: %s",
         net_client_name(u->nc), msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    return vclock_ns();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    return vtimer_new(cb, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
    vtimer_free(timer);
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    vtimer_mod(timer, expire_ms * 1000000);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
}

static void cb_notify(void *opaque)
{
    main_loop_wakeup();
}

static const SlirpCb user_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
};

/* --- the client ------------------------------------------------------------- */

static void user_receive(NetClient *nc, const uint8_t *buf, size_t len)
{
    UserNet *u = net_client_opaque(nc);
    slirp_input(u->slirp, buf, (int)len);
}

static void user_cleanup(NetClient *nc)
{
    UserNet *u = net_client_opaque(nc);
    if (u->src) {
        g_source_destroy(&u->src->base);
        g_source_unref(&u->src->base);
    }
    if (u->slirp) {
        slirp_cleanup(u->slirp);
    }
    g_free(u);
}

static const NetClientInfo user_info = {
    .kind = "user",
    .main_loop_only = true,
    .receive = user_receive,
    .cleanup = user_cleanup,
};

static struct in_addr in4(uint32_t host_order)
{
    return (struct in_addr){ .s_addr = htonl(host_order) };
}

bool net_user_available(void)
{
    return true;
}

NetClient *net_user_new(const NetdevConfig *cfg, GError **errp)
{
    uint32_t mask = ~0u << (32 - cfg->net_bits);
    uint32_t net = cfg->net_addr & mask;
    SlirpConfig sc = {
        .version = 1,
        .restricted = cfg->restrict_net,
        .in_enabled = true,
        .vnetwork = in4(net),
        .vnetmask = in4(mask),
        .vhost = in4(net + 2),
        .vdhcp_start = in4(net + 15),
        .vnameserver = in4(net + 3),
    };
    UserNet *u = g_new0(UserNet, 1);
    u->nc = net_client_new(&user_info, cfg->id, u);
    u->slirp = slirp_new(&sc, &user_callbacks, u);
    if (!u->slirp) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                    "netdev %s: libslirp refused the network %s/%d", cfg->id,
                    inet_ntoa(in4(net)), cfg->net_bits);
        net_client_free(u->nc);
        return NULL;
    }
    for (int i = 0; cfg->hostfwd && cfg->hostfwd[i]; i++) {
        NetHostFwd h;
        if (net_hostfwd_parse(cfg->hostfwd[i], &h, errp) < 0) {
            net_client_free(u->nc);
            return NULL;
        }
        errno = 0;
        if (slirp_add_hostfwd(u->slirp, h.udp, in4(h.host_addr), h.host_port,
                              in4(h.guest_addr), h.guest_port) < 0) {
            int e = errno ? errno : EADDRINUSE;
            g_set_error(errp, G_FILE_ERROR, g_file_error_from_errno(e),
                        "netdev %s: hostfwd=%s: cannot listen on host port %d: %s",
                        cfg->id, cfg->hostfwd[i], h.host_port, g_strerror(e));
            net_client_free(u->nc);
            return NULL;
        }
    }
    GSource *src = g_source_new(&poll_funcs, sizeof(SlirpPollSource));
    u->src = (SlirpPollSource *)src;
    u->src->u = u;
    u->src->fds = g_ptr_array_new_with_free_func(g_free);
    g_source_set_name(src, "slirp");
    g_source_attach(src, NULL);
    return u->nc;
}

#else /* !CONFIG_SLIRP */

bool net_user_available(void)
{
    return false;
}

NetClient *net_user_new(const NetdevConfig *cfg, GError **errp)
{
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOSYS,
                "netdev %s: user-mode networking is not available: this vmkemu was "
                "built without libslirp", cfg->id);
    return NULL;
}

#endif
