/*
 * The network layer (net/): delivery between peers, can-receive flow
 * control and the bounded queue, no re-entrance, main-loop-only receivers
 * fed across threads, the option parsers, the Ethernet CRCs, and the
 * backends: user-mode networking answering ARP and DHCP and forwarding a
 * host port, a tap device when this host lets us make one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <glib.h>
#include "config.h"
#include "net.h"
#include "main-loop.h"

/* --- a test client ------------------------------------------------------------ */

typedef struct Port {
    NetClient *nc;
    bool can;                   /* can_receive answer */
    GPtrArray *frames;          /* GBytes *, in arrival order */
    int depth, max_depth;       /* nesting of receive calls */
    int echo;                   /* frames to send back from inside receive */
    GThread *thread;            /* thread of the last receive */
    int drained;                /* peer_drained calls */
} Port;

static bool port_can_receive(NetClient *nc)
{
    return ((Port *)net_client_opaque(nc))->can;
}

static void port_receive(NetClient *nc, const uint8_t *buf, size_t len)
{
    Port *p = net_client_opaque(nc);
    p->depth++;
    p->max_depth = MAX(p->max_depth, p->depth);
    p->thread = g_thread_self();
    g_ptr_array_add(p->frames, g_bytes_new(buf, len));
    if (p->echo > 0) {
        p->echo--;
        net_client_send(nc, buf, len);
    }
    p->depth--;
}

static void port_drained(NetClient *nc)
{
    ((Port *)net_client_opaque(nc))->drained++;
}

static const NetClientInfo port_info = {
    .kind = "test",
    .can_receive = port_can_receive,
    .receive = port_receive,
    .peer_drained = port_drained,
};

static const NetClientInfo port_main_info = {
    .kind = "test-main",
    .main_loop_only = true,
    .can_receive = port_can_receive,
    .receive = port_receive,
};

static Port *port_new(const NetClientInfo *info, const char *name)
{
    Port *p = g_new0(Port, 1);
    p->can = true;
    p->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    p->nc = net_client_new(info, name, p);
    return p;
}

static void port_free(Port *p)
{
    net_client_free(p->nc);
    g_ptr_array_free(p->frames, TRUE);
    g_free(p);
}

static const uint8_t *frame_at(Port *p, guint i, size_t *len)
{
    g_assert_cmpuint(i, <, p->frames->len);
    return g_bytes_get_data(g_ptr_array_index(p->frames, i), len);
}

/* Frame number n: 64 bytes whose first byte is n. */
static void make_frame(uint8_t *f, int n)
{
    for (int i = 0; i < 64; i++) {
        f[i] = (uint8_t)(n + i);
    }
}

static void run_main_context(void)
{
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

/* --- delivery and flow control ------------------------------------------------------- */

static void test_direct_delivery(void)
{
    Port *a = port_new(&port_info, "a"), *b = port_new(&port_info, "b");
    uint8_t f[64];
    make_frame(f, 1);
    g_assert_false(net_client_send(a->nc, f, sizeof(f)));     /* no peer yet */
    net_client_connect(a->nc, b->nc);
    g_assert_true(net_client_peer(a->nc) == b->nc);
    g_assert_true(net_client_send(a->nc, f, sizeof(f)));
    g_assert_cmpuint(b->frames->len, ==, 1);
    size_t len;
    g_assert_cmpmem(frame_at(b, 0, &len), 64, f, 64);
    g_assert_false(net_client_send(a->nc, f, 0));              /* empty frame */
    NetClientStats st;
    net_client_get_stats(b->nc, &st);
    g_assert_cmpuint(st.received, ==, 1);
    g_assert_cmpuint(st.dropped, ==, 1);
    net_client_get_stats(a->nc, &st);
    g_assert_cmpuint(st.sent, ==, 3);
    port_free(a);
    port_free(b);
}

static void test_flow_control(void)
{
    Port *a = port_new(&port_info, "a"), *b = port_new(&port_info, "b");
    net_client_connect(a->nc, b->nc);
    b->can = false;
    for (int n = 0; n < 3; n++) {
        uint8_t f[64];
        make_frame(f, n);
        g_assert_true(net_client_send(a->nc, f, sizeof(f)));
    }
    g_assert_cmpuint(b->frames->len, ==, 0);
    g_assert_cmpuint(net_client_queue_len(b->nc), ==, 3);
    /* Ready again: the queue goes out from the main loop, in order. */
    b->can = true;
    net_client_receive_ready(b->nc);
    g_assert_cmpuint(b->frames->len, ==, 0);        /* not from inside the call */
    run_main_context();
    g_assert_cmpuint(b->frames->len, ==, 3);
    for (int n = 0; n < 3; n++) {
        size_t len;
        g_assert_cmpint(frame_at(b, n, &len)[0], ==, n);
    }
    g_assert_cmpuint(net_client_queue_len(b->nc), ==, 0);
    g_assert_cmpint(a->drained, ==, 1);             /* the sender hears of it */
    /* A frame sent while older ones wait goes behind them. */
    b->can = false;
    uint8_t f[64];
    make_frame(f, 10);
    net_client_send(a->nc, f, 64);
    b->can = true;
    make_frame(f, 11);
    net_client_send(a->nc, f, 64);
    size_t len;
    g_assert_cmpuint(b->frames->len, ==, 5);
    g_assert_cmpint(frame_at(b, 3, &len)[0], ==, 10);
    g_assert_cmpint(frame_at(b, 4, &len)[0], ==, 11);
    port_free(a);
    port_free(b);
}

static void test_queue_overflow(void)
{
    Port *a = port_new(&port_info, "a"), *b = port_new(&port_info, "b");
    net_client_connect(a->nc, b->nc);
    b->can = false;
    for (int n = 0; n < NET_QUEUE_MAX + 5; n++) {
        uint8_t f[64];
        make_frame(f, n);
        net_client_send(a->nc, f, sizeof(f));
    }
    /* The 5 oldest were offered anyway (a NIC counts them missed). */
    g_assert_cmpuint(b->frames->len, ==, 5);
    size_t len;
    for (int n = 0; n < 5; n++) {
        g_assert_cmpint(frame_at(b, n, &len)[0], ==, n);
    }
    g_assert_cmpuint(net_client_queue_len(b->nc), ==, NET_QUEUE_MAX);
    b->can = true;
    net_client_flush(b->nc);
    g_assert_cmpuint(b->frames->len, ==, NET_QUEUE_MAX + 5);
    g_assert_cmpint(frame_at(b, 5, &len)[0], ==, 5);
    port_free(a);
    port_free(b);
}

/* A receiver that answers from inside receive does not get re-entered. */
static void test_no_reentrance(void)
{
    Port *a = port_new(&port_info, "a"), *b = port_new(&port_info, "b");
    net_client_connect(a->nc, b->nc);
    a->echo = 10;
    b->echo = 10;
    uint8_t f[64];
    make_frame(f, 7);
    net_client_send(a->nc, f, sizeof(f));
    g_assert_cmpuint(b->frames->len, ==, 11);
    g_assert_cmpuint(a->frames->len, ==, 10);
    g_assert_cmpint(a->max_depth, ==, 1);
    g_assert_cmpint(b->max_depth, ==, 1);
    port_free(a);
    port_free(b);
}

/* A main-loop-only receiver fed by another thread: frames are queued and
 * delivered on the main loop's thread, the sender holding the big lock as
 * vCPU threads do. */
typedef struct Sender {
    NetClient *nc;
    int count;
} Sender;

static gpointer sender_thread(gpointer opaque)
{
    Sender *s = opaque;
    for (int n = 0; n < s->count; n++) {
        uint8_t f[64];
        make_frame(f, n);
        big_lock();
        net_client_send(s->nc, f, sizeof(f));
        big_unlock();
        g_usleep(100);
    }
    return NULL;
}

static void test_cross_thread(void)
{
    main_loop_init();           /* the big lock, dropped while polling */
    Port *a = port_new(&port_info, "vcpu-side");
    Port *m = port_new(&port_main_info, "main-side");
    net_client_connect(a->nc, m->nc);
    Sender s = { a->nc, 200 };
    GThread *t = g_thread_new("sender", sender_thread, &s);
    gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    while (m->frames->len < (guint)s.count && g_get_monotonic_time() < end) {
        g_main_context_iteration(NULL, TRUE);
    }
    g_thread_join(t);
    run_main_context();
    g_assert_cmpuint(m->frames->len, ==, s.count);
    g_assert_true(m->thread == g_thread_self());
    for (int n = 0; n < s.count; n++) {
        size_t len;
        g_assert_cmpint(frame_at(m, n, &len)[0], ==, (uint8_t)n);
    }
    /* From the main thread outside the loop: still through the loop. */
    uint8_t f[64];
    make_frame(f, 99);
    net_client_send(a->nc, f, sizeof(f));
    g_assert_cmpuint(m->frames->len, ==, s.count);
    run_main_context();
    g_assert_cmpuint(m->frames->len, ==, s.count + 1);
    port_free(a);
    port_free(m);
}

/* --- options ---------------------------------------------------------------------------- */

static void expect_netdev_error(const char *spec, const char *msg)
{
    NetdevConfig nd;
    GError *err = NULL;
    g_assert_cmpint(net_netdev_parse(spec, &nd, &err), <, 0);
    g_assert_nonnull(err);
    if (!strstr(err->message, msg)) {
        g_error("'%s': got '%s', expected it to contain '%s'", spec, err->message, msg);
    }
    g_error_free(err);
}

static void test_options(void)
{
    NetdevConfig nd;
    NicConfig nic;
    GError *err = NULL;

#ifdef CONFIG_SLIRP
    g_assert_cmpint(net_netdev_parse("user,id=n0,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:"
                                     "5353-10.0.2.15:53,restrict=on,net=192.168.7.0/24",
                                     &nd, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(nd.kind, ==, NETDEV_USER);
    g_assert_cmpstr(nd.id, ==, "n0");
    g_assert_true(nd.restrict_net);
    g_assert_cmphex(nd.net_addr, ==, 0xc0a80700);
    g_assert_cmpint(nd.net_bits, ==, 24);
    g_assert_cmpint(g_strv_length(nd.hostfwd), ==, 2);
    g_assert_cmpstr(nd.hostfwd[1], ==, "udp:127.0.0.1:5353-10.0.2.15:53");
    char *d = net_backend_describe(&nd);
    g_assert_cmpstr(d, ==, "user-mode networking 192.168.7.0/24, restricted, "
                    "hostfwd tcp::2222-:22, hostfwd udp:127.0.0.1:5353-10.0.2.15:53");
    g_free(d);
    net_netdev_config_clear(&nd);
    expect_netdev_error("user", "id= is missing");
    expect_netdev_error("user,id=n0,restrict=maybe", "restrict=maybe: expected on or off");
    expect_netdev_error("user,id=n0,ifname=tap0", "'ifname' is not a parameter");
    expect_netdev_error("user,id=n0,net=10.0.2.1/24", "net=10.0.2.1/24");
    expect_netdev_error("user,id=n0,hostfwd=tcp::0-:22", "bad host address or port");
    expect_netdev_error("user,id=n0,hostfwd=sctp::1-:22", "'sctp' is not tcp or udp");
#else
    expect_netdev_error("user,id=n0", "built without libslirp");
#endif
    g_assert_cmpint(net_netdev_parse("tap,id=t0,ifname=tap7,script=no,downscript=no", &nd,
                                     &err), ==, 0);
    g_assert_cmpint(nd.kind, ==, NETDEV_TAP);
    g_assert_cmpstr(nd.ifname, ==, "tap7");
    net_netdev_config_clear(&nd);
    expect_netdev_error("tap,id=t0,script=/etc/ifup", "only script=no");
    expect_netdev_error("tap,id=t0,ifname=a-name-far-too-long", "not an interface name");
    expect_netdev_error("socket,id=s", "'socket': unknown network backend");
    expect_netdev_error("tap,id=9x", "id=9x");
    expect_netdev_error("tap,,id=x", "empty element");
    expect_netdev_error("tap,id", "expected key=value");

    g_assert_cmpint(net_nic_device_parse("pcnet,netdev=n0,mac=00:50:56:3F:FF:01", &nic, &err), ==, 0);
    g_assert_cmpstr(nic.model, ==, "pcnet");
    g_assert_cmpstr(nic.netdev, ==, "n0");
    g_assert_true(nic.has_mac);
    g_assert_cmphex(nic.mac[3], ==, 0x3f);
    g_assert_cmpint(nic.esx_index, ==, -1);
    net_nic_config_clear(&nic);
    g_assert_cmpint(net_nic_device_parse("e1000,netdev=n0", &nic, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "'e1000': unknown device"));
    g_clear_error(&err);
    g_assert_cmpint(net_nic_device_parse("pcnet,mac=01:00:5e:00:00:01", &nic, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "multicast"));
    g_clear_error(&err);
    g_assert_cmpint(net_nic_device_parse("pcnet,mac=00:50:56", &nic, &err), <, 0);
    g_clear_error(&err);

    /* -nic: both halves. */
    g_assert_cmpint(net_nic_parse("tap,ifname=tap3,mac=02:00:00:00:00:09", 2, &nd, &nic, &err),
                    ==, 0);
    g_assert_cmpstr(nd.id, ==, "nic2");
    g_assert_cmpstr(nd.ifname, ==, "tap3");
    g_assert_cmpstr(nic.netdev, ==, "nic2");
    g_assert_cmpstr(nic.model, ==, "pcnet");
    g_assert_cmphex(nic.mac[5], ==, 9);
    net_netdev_config_clear(&nd);
    net_nic_config_clear(&nic);
    g_assert_cmpint(net_nic_parse("none", 0, &nd, &nic, &err), ==, 1);
    g_assert_cmpint(net_nic_parse("tap,model=virtio", 0, &nd, &nic, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "model=virtio"));
    g_clear_error(&err);

    NetHostFwd h;
    g_assert_cmpint(net_hostfwd_parse(":127.0.0.1:8080-10.0.2.20:80", &h, &err), ==, 0);
    g_assert_false(h.udp);
    g_assert_cmphex(h.host_addr, ==, 0x7f000001);
    g_assert_cmpint(h.host_port, ==, 8080);
    g_assert_cmphex(h.guest_addr, ==, 0x0a000214);
    g_assert_cmpint(h.guest_port, ==, 80);
    g_assert_cmpint(net_hostfwd_parse("tcp::1-:65536", &h, &err), <, 0);
    g_clear_error(&err);

    uint8_t mac[6];
    char text[18];
    g_assert_true(net_mac_parse("00-50-56-AB-cd-01", mac));
    net_mac_format(mac, text);
    g_assert_cmpstr(text, ==, "00:50:56:ab:cd:01");
    g_assert_false(net_mac_parse("00:50-56:ab:cd:01", mac));
    g_assert_false(net_mac_parse("00:50:56:ab:cd:0g", mac));
    g_assert_true(net_nic_model_known("pcnet"));
    g_assert_false(net_nic_model_known("vmxnet"));
}

/* --- CRCs ---------------------------------------------------------------------------------- */

/* The reflected CRC-32 bit by bit, as 802.3 defines it. */
static uint32_t crc_bits(const uint8_t *p, size_t n, uint32_t crc)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++) {
            crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
        }
    }
    return crc;
}

static void test_crc(void)
{
    const uint8_t check[] = "123456789";
    g_assert_cmphex(net_eth_fcs(check, 9), ==, 0xcbf43926);     /* the CRC-32 check value */
    uint8_t frame[60];
    for (int i = 0; i < 60; i++) {
        frame[i] = i * 7;
    }
    g_assert_cmphex(net_eth_fcs(frame, 60), ==, ~crc_bits(frame, 60, ~0u));
    const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    g_assert_cmphex(net_eth_addr_crc(mcast), ==, crc_bits(mcast, 6, ~0u));
}

/* --- user-mode networking ------------------------------------------------------------------------ */

#ifdef CONFIG_SLIRP
static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static uint16_t get16(const uint8_t *p)
{
    return p[0] << 8 | p[1];
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        sum += get16(p + i);
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return ~sum;
}

/* Wait on the main loop for a frame matching `want` at the test port. */
static const uint8_t *wait_frame(Port *p, bool (*want)(const uint8_t *, size_t), size_t *len)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    guint seen = 0;
    while (g_get_monotonic_time() < end) {
        for (; seen < p->frames->len; seen++) {
            const uint8_t *f = frame_at(p, seen, len);
            if (want(f, *len)) {
                return f;
            }
        }
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    return NULL;
}

static bool is_arp_reply_gw(const uint8_t *f, size_t len)
{
    return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 &&
           !memcmp(f + 28, (uint8_t[]){ 10, 0, 2, 2 }, 4) && !memcmp(f, guest_mac, 6);
}

static bool is_dhcp_offer(const uint8_t *f, size_t len)
{
    /* IPv4, UDP from port 67 to 68, BOOTREPLY, DHCP message type 2. */
    if (len < 14 + 20 + 8 + 240 || get16(f + 12) != 0x0800 || f[23] != 17) {
        return false;
    }
    const uint8_t *udp = f + 14 + (f[14] & 0xf) * 4;
    const uint8_t *bootp = udp + 8;
    if (get16(udp) != 67 || get16(udp + 2) != 68 || bootp[0] != 2) {
        return false;
    }
    for (const uint8_t *o = bootp + 240; o + 2 < f + len && *o != 255; o += 2 + o[1]) {
        if (o[0] == 53 && o[1] == 1 && o[2] == 2) {
            return true;
        }
    }
    return false;
}

static bool is_toward_guest_7777(const uint8_t *f, size_t len)
{
    bool arp_for_guest = len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 1 &&
                         !memcmp(f + 38, (uint8_t[]){ 10, 0, 2, 15 }, 4);
    bool syn = len >= 54 && get16(f + 12) == 0x0800 && f[23] == 6 &&
               get16(f + 14 + (f[14] & 0xf) * 4 + 2) == 7777;
    return arp_for_guest || syn;
}

static int free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(a);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof(a)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&a, &l), ==, 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_user_backend(void)
{
    GError *err = NULL;
    NetdevConfig nd;
    int port = free_tcp_port();
    gchar *spec = g_strdup_printf("user,id=u0,hostfwd=tcp:127.0.0.1:%d-:7777", port);
    g_assert_cmpint(net_netdev_parse(spec, &nd, &err), ==, 0);
    NetClient *u = net_backend_new(&nd, &err);
    g_assert_no_error(err);
    g_assert_nonnull(u);
    g_assert_true(net_client_info(u)->main_loop_only);
    Port *g = port_new(&port_info, "guest");
    net_client_connect(g->nc, u);

    /* ARP: who has 10.0.2.2?  The gateway answers. */
    uint8_t arp[42] = { 0 };
    memset(arp, 0xff, 6);
    memcpy(arp + 6, guest_mac, 6);
    put16(arp + 12, 0x0806);
    put16(arp + 14, 1);
    put16(arp + 16, 0x0800);
    arp[18] = 6;
    arp[19] = 4;
    put16(arp + 20, 1);
    memcpy(arp + 22, guest_mac, 6);
    memcpy(arp + 28, (uint8_t[]){ 10, 0, 2, 15 }, 4);
    memcpy(arp + 38, (uint8_t[]){ 10, 0, 2, 2 }, 4);
    net_client_send(g->nc, arp, sizeof(arp));
    size_t len;
    const uint8_t *r = wait_frame(g, is_arp_reply_gw, &len);
    g_assert_nonnull(r);

    /* DHCPDISCOVER: an offer of 10.0.2.15 comes back. */
    uint8_t d[14 + 20 + 8 + 244] = { 0 };
    memset(d, 0xff, 6);
    memcpy(d + 6, guest_mac, 6);
    put16(d + 12, 0x0800);
    uint8_t *ip = d + 14, *udp = ip + 20, *bootp = udp + 8;
    ip[0] = 0x45;
    put16(ip + 2, 20 + 8 + 244);
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xff, 4);
    put16(ip + 10, ip_checksum(ip, 20));
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, 8 + 244);
    bootp[0] = 1;
    bootp[1] = 1;
    bootp[2] = 6;
    memcpy(bootp + 4, (uint8_t[]){ 0x12, 0x34, 0x56, 0x78 }, 4);
    memcpy(bootp + 28, guest_mac, 6);
    memcpy(bootp + 236, (uint8_t[]){ 99, 130, 83, 99 }, 4);
    memcpy(bootp + 240, (uint8_t[]){ 53, 1, 1, 255 }, 4);
    net_client_send(g->nc, d, sizeof(d));
    r = wait_frame(g, is_dhcp_offer, &len);
    g_assert_nonnull(r);
    const uint8_t *offer = r + 14 + (r[14] & 0xf) * 4 + 8;
    g_assert_cmpmem(offer + 16, 4, ((uint8_t[]){ 10, 0, 2, 15 }), 4);   /* yiaddr */

    /* hostfwd: a connection to the host port heads for the guest's 7777. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int c = connect(fd, (struct sockaddr *)&a, sizeof(a));
    g_assert_true(c == 0 || errno == EINPROGRESS);
    r = wait_frame(g, is_toward_guest_7777, &len);
    g_assert_nonnull(r);
    close(fd);

    /* The port is taken now: a second backend cannot forward it. */
    NetClient *u2 = net_backend_new(&nd, &err);
    g_assert_null(u2);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "cannot listen on host port"));
    g_clear_error(&err);

    port_free(g);
    net_client_free(u);
    net_netdev_config_clear(&nd);
    g_free(spec);
}
#endif

/* --- tap ------------------------------------------------------------------------------------------ */

static void test_tap_backend(void)
{
    int fd = open("/dev/net/tun", O_RDWR);
    if (fd < 0 || geteuid() != 0) {
        if (fd >= 0) {
            close(fd);
        }
        g_test_skip("no /dev/net/tun or not root: cannot create a tap device here");
        return;
    }
    close(fd);
    GError *err = NULL;
    NetdevConfig nd = { .id = g_strdup("t0"), .kind = NETDEV_TAP };
    NetClient *t = net_backend_new(&nd, &err);
    if (!t) {
        g_test_skip(err->message);
        g_error_free(err);
        net_netdev_config_clear(&nd);
        return;
    }
    gchar *name = g_strdup(net_tap_ifname(t));
    g_assert_true(g_str_has_prefix(name, "tap"));
    g_assert_true(net_tap_exists(name));        /* transient: it lives with us */
    g_assert_false(net_tap_exists("lo"));
    /* Frames to the host are written; nothing breaks without a reader. */
    Port *g = port_new(&port_info, "guest");
    net_client_connect(g->nc, t);
    uint8_t f[64];
    make_frame(f, 0);
    memset(f, 0xff, 6);
    net_client_send(g->nc, f, sizeof(f));
    port_free(g);
    net_client_free(t);
    g_assert_false(net_tap_exists(name));
    /* A device that is not a tap is refused with its name. */
    g_free(nd.ifname);
    nd.ifname = g_strdup("lo");
    g_assert_null(net_backend_new(&nd, &err));
    g_assert_nonnull(strstr(err->message, "tap device lo"));
    g_clear_error(&err);
    net_netdev_config_clear(&nd);
    g_free(name);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/net/direct-delivery", test_direct_delivery);
    g_test_add_func("/net/flow-control", test_flow_control);
    g_test_add_func("/net/queue-overflow", test_queue_overflow);
    g_test_add_func("/net/no-reentrance", test_no_reentrance);
    g_test_add_func("/net/options", test_options);
    g_test_add_func("/net/crc", test_crc);
#ifdef CONFIG_SLIRP
    g_test_add_func("/net/user-backend", test_user_backend);
#endif
    g_test_add_func("/net/tap-backend", test_tap_backend);
    /* Last: it starts the main loop's big lock for the rest of the run. */
    g_test_add_func("/net/cross-thread", test_cross_thread);
    return g_test_run();
}
