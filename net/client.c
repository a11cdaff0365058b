/*
 * Net clients and their links: delivery of Ethernet frames between peers
 * with can-receive flow control, a bounded per-receiver queue, no
 * re-entrance into a receiver, and main-loop-only receivers fed from a
 * GLib source that any thread may wake (include/net.h says the rules).
 */
#include <string.h>
#include "net.h"

typedef struct NetFrame {
    size_t len;
    uint8_t data[];
} NetFrame;

/* Wakes the main loop to deliver a client's queue. */
typedef struct FlushSource {
    GSource base;
    NetClient *nc;
} FlushSource;

struct NetClient {
    const NetClientInfo *info;
    char *name;
    void *opaque;
    NetClient *peer;
    GMutex lock;                /* the queue and the counters */
    GQueue queue;               /* NetFrame * for this client, oldest first */
    bool delivering;            /* inside info->receive */
    GSource *flush;
    NetClientStats stats;
};

static gboolean flush_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    FlushSource *fs = (FlushSource *)src;
    g_source_set_ready_time(src, -1);
    net_client_flush(fs->nc);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs flush_funcs = {
    .dispatch = flush_dispatch,
};

NetClient *net_client_new(const NetClientInfo *info, const char *name, void *opaque)
{
    NetClient *nc = g_new0(NetClient, 1);
    nc->info = info;
    nc->name = g_strdup(name ? name : info->kind);
    nc->opaque = opaque;
    g_mutex_init(&nc->lock);
    g_queue_init(&nc->queue);
    GSource *src = g_source_new(&flush_funcs, sizeof(FlushSource));
    ((FlushSource *)src)->nc = nc;
    g_source_set_name(src, "net-flush");
    g_source_set_ready_time(src, -1);
    g_source_attach(src, NULL);
    nc->flush = src;
    return nc;
}

static void queue_clear(NetClient *nc)
{
    g_mutex_lock(&nc->lock);
    NetFrame *f;
    while ((f = g_queue_pop_head(&nc->queue))) {
        g_free(f);
    }
    g_mutex_unlock(&nc->lock);
}

void net_client_free(NetClient *nc)
{
    if (!nc) {
        return;
    }
    if (nc->peer) {
        nc->peer->peer = NULL;
        nc->peer = NULL;
    }
    if (nc->info->cleanup) {
        nc->info->cleanup(nc);
    }
    g_source_destroy(nc->flush);
    g_source_unref(nc->flush);
    queue_clear(nc);
    g_mutex_clear(&nc->lock);
    g_free(nc->name);
    g_free(nc);
}

const char *net_client_name(const NetClient *nc)
{
    return nc->name;
}

const NetClientInfo *net_client_info(const NetClient *nc)
{
    return nc->info;
}

void *net_client_opaque(const NetClient *nc)
{
    return nc->opaque;
}

void net_client_connect(NetClient *a, NetClient *b)
{
    g_assert(a != b && !a->peer && !b->peer);
    a->peer = b;
    b->peer = a;
}

NetClient *net_client_peer(const NetClient *nc)
{
    return nc->peer;
}

/* May `nc` be given a frame on this thread? */
static bool thread_ok(const NetClient *nc)
{
    return !nc->info->main_loop_only || g_main_context_is_owner(g_main_context_default());
}

static bool can_receive(NetClient *nc)
{
    return !nc->info->can_receive || nc->info->can_receive(nc);
}

static void deliver(NetClient *nc, const uint8_t *buf, size_t len)
{
    nc->delivering = true;
    nc->info->receive(nc, buf, len);
    nc->delivering = false;
    g_mutex_lock(&nc->lock);
    nc->stats.received++;
    g_mutex_unlock(&nc->lock);
}

static void schedule_flush(NetClient *nc)
{
    /* Thread-safe: wakes the main context when it sleeps in poll. */
    g_source_set_ready_time(nc->flush, 0);
}

void net_client_flush(NetClient *nc)
{
    bool took = false;
    if (nc->delivering) {
        return;         /* the delivery under way drains the queue */
    }
    for (;;) {
        if (!can_receive(nc)) {
            return;     /* the receiver calls net_client_receive_ready */
        }
        g_mutex_lock(&nc->lock);
        NetFrame *f = g_queue_pop_head(&nc->queue);
        g_mutex_unlock(&nc->lock);
        if (!f) {
            break;
        }
        deliver(nc, f->data, f->len);
        g_free(f);
        took = true;
    }
    if (took && nc->peer && nc->peer->info->peer_drained) {
        nc->peer->info->peer_drained(nc->peer);
    }
}

bool net_client_send(NetClient *sender, const uint8_t *buf, size_t len)
{
    NetClient *r = sender->peer;

    g_mutex_lock(&sender->lock);
    sender->stats.sent++;
    g_mutex_unlock(&sender->lock);
    if (!r || len == 0 || len > NET_FRAME_MAX) {
        if (r) {
            g_mutex_lock(&r->lock);
            r->stats.dropped++;
            g_mutex_unlock(&r->lock);
        }
        return false;
    }
    bool here = thread_ok(r) && !r->delivering;

    g_mutex_lock(&r->lock);
    bool empty = g_queue_is_empty(&r->queue);
    g_mutex_unlock(&r->lock);
    if (here && empty && can_receive(r)) {
        deliver(r, buf, len);
        net_client_flush(r);    /* what arrived while it was receiving */
        return true;
    }

    NetFrame *f = g_malloc(sizeof(*f) + len);
    f->len = len;
    memcpy(f->data, buf, len);
    NetFrame *oldest = NULL;
    g_mutex_lock(&r->lock);
    if (g_queue_get_length(&r->queue) >= NET_QUEUE_MAX) {
        oldest = g_queue_pop_head(&r->queue);
    }
    g_queue_push_tail(&r->queue, f);
    r->stats.queued++;
    g_mutex_unlock(&r->lock);
    if (oldest) {
        /* Full: the receiver sees the oldest frame now whether it has room
         * or not (a NIC counts it missed), else it is lost here. */
        if (here) {
            deliver(r, oldest->data, oldest->len);
        } else {
            g_mutex_lock(&r->lock);
            r->stats.dropped++;
            g_mutex_unlock(&r->lock);
        }
        g_free(oldest);
    }
    if (!thread_ok(r)) {
        schedule_flush(r);
    } else if (here) {
        net_client_flush(r);
    }
    return true;
}

void net_client_receive_ready(NetClient *nc)
{
    g_mutex_lock(&nc->lock);
    bool pending = !g_queue_is_empty(&nc->queue);
    g_mutex_unlock(&nc->lock);
    if (pending) {
        /* Never from inside the caller: it may be the receiver itself. */
        schedule_flush(nc);
    }
}

size_t net_client_queue_len(const NetClient *nc)
{
    NetClient *m = (NetClient *)nc;
    g_mutex_lock(&m->lock);
    size_t n = g_queue_get_length(&m->queue);
    g_mutex_unlock(&m->lock);
    return n;
}

void net_client_get_stats(const NetClient *nc, NetClientStats *st)
{
    NetClient *m = (NetClient *)nc;
    g_mutex_lock(&m->lock);
    *st = m->stats;
    g_mutex_unlock(&m->lock);
}
