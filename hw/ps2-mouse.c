/*
 * The PS/2 mouse behind the i8042's auxiliary port.
 * References: IBM PS/2 Hardware Interface Technical Reference, "Pointing
 * Device": commands 0xe6/0xe7 scaling 1:1 / 2:1, 0xe8 set resolution, 0xe9
 * status request (3 bytes), 0xea stream mode, 0xeb read data, 0xec/0xee
 * reset / set wrap mode, 0xf0 remote mode, 0xf2 read device type, 0xf3 set
 * sampling rate, 0xf4/0xf5 enable / disable, 0xf6 set default, 0xfe resend,
 * 0xff reset (0xfa, 0xaa, 0x00); the 3-byte data packet and the 2:1 scaling
 * table.  Microsoft IntelliMouse: sample rates 200, 100, 80 make the device
 * ID 3 with a 4th packet byte for the wheel; then 200, 200, 80 make it ID 4
 * with buttons 4 and 5.
 */
#include <stdlib.h>
#include <glib.h>
#include "hw/ps2.h"
#include "vmstate.h"

struct PS2Mouse {
    PS2NotifyFn notify;
    void *opaque;
    PS2Queue queue;
    uint8_t pending_cmd;    /* 0xe8 or 0xf3 awaiting its parameter */
    uint8_t last_sent;
    bool reporting;
    bool remote;
    bool wrap;
    bool scaling_2to1;
    uint8_t resolution;     /* 0-3: 1, 2, 4, 8 counts/mm */
    uint8_t sample_rate;
    uint8_t id;
    uint8_t rate_history[3];
    /* Motion not yet sent, in PS/2 sense (y up). */
    int dx, dy, dz;
    unsigned buttons;
    bool buttons_sent;      /* the host has seen `buttons` */
};

static void mouse_reply(PS2Mouse *m, uint8_t b)
{
    ps2_queue_push(&m->queue, b);
}

static void mouse_notify(PS2Mouse *m)
{
    if (m->queue.count && m->notify) {
        m->notify(m->opaque);
    }
}

static void mouse_defaults(PS2Mouse *m)
{
    m->sample_rate = 100;
    m->resolution = 2;
    m->scaling_2to1 = false;
    m->remote = false;
    m->reporting = false;
    m->dx = m->dy = m->dz = 0;
}

static int mouse_scale(const PS2Mouse *m, int v)
{
    static const int table[6] = { 0, 1, 1, 3, 6, 9 };
    if (!m->scaling_2to1 || m->remote) {
        return v;
    }
    int a = abs(v);
    int r = a < 6 ? table[a] : 2 * a;
    return v < 0 ? -r : r;
}

static int mouse_packet_size(const PS2Mouse *m)
{
    return m->id == 0 ? 3 : 4;
}

/* Queue one movement packet carrying as much of the pending motion as fits. */
static void mouse_send_packet(PS2Mouse *m)
{
    int x = CLAMP(m->dx, -256, 255), y = CLAMP(m->dy, -256, 255);
    int z = CLAMP(m->dz, -8, 7);
    int sx = mouse_scale(m, x), sy = mouse_scale(m, y);
    uint8_t b0 = 0x08;

    m->dx -= x;
    m->dy -= y;
    m->dz -= z;
    b0 |= m->buttons & (PS2_MOUSE_LEFT | PS2_MOUSE_RIGHT | PS2_MOUSE_MIDDLE);
    if (sx < -256 || sx > 255) {
        b0 |= 0x40;
        sx = CLAMP(sx, -256, 255);
    }
    if (sy < -256 || sy > 255) {
        b0 |= 0x80;
        sy = CLAMP(sy, -256, 255);
    }
    b0 |= sx < 0 ? 0x10 : 0;
    b0 |= sy < 0 ? 0x20 : 0;
    mouse_reply(m, b0);
    mouse_reply(m, sx & 0xff);
    mouse_reply(m, sy & 0xff);
    if (m->id == 3) {
        mouse_reply(m, z & 0xff);
    } else if (m->id == 4) {
        uint8_t b3 = z & 0x0f;
        b3 |= m->buttons & PS2_MOUSE_BUTTON4 ? 0x10 : 0;
        b3 |= m->buttons & PS2_MOUSE_BUTTON5 ? 0x20 : 0;
        mouse_reply(m, b3);
    }
    m->buttons_sent = true;
}

/* Stream mode: send pending motion while the queue has room. */
static void mouse_flush(PS2Mouse *m)
{
    if (m->remote || !m->reporting) {
        return;
    }
    while ((m->dx || m->dy || m->dz || !m->buttons_sent) &&
           ps2_queue_room(&m->queue) >= (unsigned)mouse_packet_size(m)) {
        mouse_send_packet(m);
    }
}

void ps2_mouse_event(PS2Mouse *m, int dx, int dy, int dz, unsigned buttons)
{
    unsigned held = buttons & 0x1f;

    if (!m->remote && !m->reporting) {
        m->buttons = held;
        return;
    }
    m->dx = CLAMP(m->dx + dx, -65536, 65535);
    m->dy = CLAMP(m->dy - dy, -65536, 65535);
    m->dz = CLAMP(m->dz + dz, -1024, 1023);
    if (held != m->buttons) {
        m->buttons = held;
        m->buttons_sent = false;
    }
    mouse_flush(m);
    mouse_notify(m);
}

static void mouse_note_rate(PS2Mouse *m, uint8_t rate)
{
    m->rate_history[0] = m->rate_history[1];
    m->rate_history[1] = m->rate_history[2];
    m->rate_history[2] = rate;
    if (m->rate_history[0] == 200 && m->rate_history[1] == 100 &&
        m->rate_history[2] == 80 && m->id == 0) {
        m->id = 3;
    } else if (m->rate_history[0] == 200 && m->rate_history[1] == 200 &&
               m->rate_history[2] == 80 && m->id == 3) {
        m->id = 4;
    }
}

static bool mouse_rate_valid(uint8_t rate)
{
    switch (rate) {
    case 10: case 20: case 40: case 60: case 80: case 100: case 200:
        return true;
    default:
        return false;
    }
}

static void mouse_parameter(PS2Mouse *m, uint8_t cmd, uint8_t v)
{
    if (cmd == 0xe8 && v <= 3) {
        m->resolution = v;
        mouse_reply(m, PS2_ACK);
    } else if (cmd == 0xf3 && mouse_rate_valid(v)) {
        m->sample_rate = v;
        mouse_note_rate(m, v);
        mouse_reply(m, PS2_ACK);
    } else {
        mouse_reply(m, PS2_RESEND);
    }
}

static void mouse_command(PS2Mouse *m, uint8_t cmd)
{
    switch (cmd) {
    case 0xe6:                      /* set scaling 1:1 */
    case 0xe7:                      /* set scaling 2:1 */
        m->scaling_2to1 = cmd == 0xe7;
        mouse_reply(m, PS2_ACK);
        break;
    case 0xe8:                      /* set resolution */
    case 0xf3:                      /* set sample rate */
        m->pending_cmd = cmd;
        mouse_reply(m, PS2_ACK);
        break;
    case 0xe9: {                    /* status request */
        uint8_t st = 0;
        st |= m->remote ? 0x40 : 0;
        st |= m->reporting ? 0x20 : 0;
        st |= m->scaling_2to1 ? 0x10 : 0;
        st |= m->buttons & PS2_MOUSE_LEFT ? 0x04 : 0;
        st |= m->buttons & PS2_MOUSE_MIDDLE ? 0x02 : 0;
        st |= m->buttons & PS2_MOUSE_RIGHT ? 0x01 : 0;
        mouse_reply(m, PS2_ACK);
        mouse_reply(m, st);
        mouse_reply(m, m->resolution);
        mouse_reply(m, m->sample_rate);
        break;
    }
    case 0xea:                      /* set stream mode */
        m->remote = false;
        m->dx = m->dy = m->dz = 0;
        mouse_reply(m, PS2_ACK);
        break;
    case 0xeb:                      /* read data: one packet, even if idle */
        mouse_reply(m, PS2_ACK);
        mouse_send_packet(m);
        break;
    case 0xec:                      /* reset wrap mode */
        m->wrap = false;
        mouse_reply(m, PS2_ACK);
        break;
    case 0xee:                      /* set wrap mode */
        m->wrap = true;
        mouse_reply(m, PS2_ACK);
        break;
    case 0xf0:                      /* set remote mode */
        m->remote = true;
        m->dx = m->dy = m->dz = 0;
        mouse_reply(m, PS2_ACK);
        break;
    case 0xf2:                      /* read device type */
        mouse_reply(m, PS2_ACK);
        mouse_reply(m, m->id);
        break;
    case 0xf4:                      /* enable */
        m->reporting = true;
        m->dx = m->dy = m->dz = 0;
        mouse_reply(m, PS2_ACK);
        break;
    case 0xf5:                      /* disable */
        m->reporting = false;
        m->dx = m->dy = m->dz = 0;
        mouse_reply(m, PS2_ACK);
        break;
    case 0xf6:                      /* set default */
        mouse_defaults(m);
        mouse_reply(m, PS2_ACK);
        break;
    case 0xfe:                      /* resend */
        mouse_reply(m, m->last_sent);
        break;
    case 0xff:                      /* reset */
        ps2_mouse_reset(m);
        mouse_reply(m, PS2_ACK);
        mouse_reply(m, PS2_BAT_OK);
        mouse_reply(m, m->id);
        break;
    default:
        mouse_reply(m, PS2_RESEND);
        break;
    }
}

void ps2_mouse_write(PS2Mouse *m, uint8_t b)
{
    uint8_t pending = m->pending_cmd;

    m->pending_cmd = 0;
    if (pending) {
        mouse_parameter(m, pending, b);
    } else if (m->wrap && b != 0xec && b != 0xff) {
        mouse_reply(m, b);          /* wrap mode echoes */
    } else {
        mouse_command(m, b);
    }
    mouse_notify(m);
}

bool ps2_mouse_has_data(const PS2Mouse *m)
{
    return m->queue.count > 0;
}

uint8_t ps2_mouse_read(PS2Mouse *m)
{
    if (m->queue.count) {
        m->last_sent = ps2_queue_pop(&m->queue);
        if (!m->queue.count) {
            mouse_flush(m);
        }
    }
    return m->last_sent;
}

uint8_t ps2_mouse_id(const PS2Mouse *m)
{
    return m->id;
}

void ps2_mouse_reset(PS2Mouse *m)
{
    ps2_queue_clear(&m->queue);
    m->pending_cmd = 0;
    m->wrap = false;
    m->id = 0;
    m->rate_history[0] = m->rate_history[1] = m->rate_history[2] = 0;
    m->buttons_sent = true;
    mouse_defaults(m);
}

static int mouse_post_load(void *opaque, uint32_t version, GError **errp)
{
    PS2Mouse *m = opaque;
    if (m->queue.rptr >= PS2_QUEUE_SIZE || m->queue.count > PS2_QUEUE_SIZE ||
        m->resolution > 3 || (m->id != 0 && m->id != 3 && m->id != 4)) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                    "queue position, resolution or device ID out of range");
        return -1;
    }
    return 0;
}

const VMStateDescription ps2_mouse_vmstate = {
    .name = "ps2-mouse",
    .version = 1,
    .post_load = mouse_post_load,
    .fields = (const VMStateField[]){
        VMSTATE_UINT8_ARRAY(PS2Mouse, queue.data, PS2_QUEUE_SIZE),
        VMSTATE_UINT16(PS2Mouse, queue.rptr),
        VMSTATE_UINT16(PS2Mouse, queue.count),
        VMSTATE_UINT8(PS2Mouse, pending_cmd),
        VMSTATE_UINT8(PS2Mouse, last_sent),
        VMSTATE_BOOL(PS2Mouse, reporting),
        VMSTATE_BOOL(PS2Mouse, remote),
        VMSTATE_BOOL(PS2Mouse, wrap),
        VMSTATE_BOOL(PS2Mouse, scaling_2to1),
        VMSTATE_UINT8(PS2Mouse, resolution),
        VMSTATE_UINT8(PS2Mouse, sample_rate),
        VMSTATE_UINT8(PS2Mouse, id),
        VMSTATE_UINT8_ARRAY(PS2Mouse, rate_history, 3),
        VMSTATE_INT32(PS2Mouse, dx),
        VMSTATE_INT32(PS2Mouse, dy),
        VMSTATE_INT32(PS2Mouse, dz),
        VMSTATE_UINT32(PS2Mouse, buttons),
        VMSTATE_BOOL(PS2Mouse, buttons_sent),
        VMSTATE_END
    },
};

PS2Mouse *ps2_mouse_new(PS2NotifyFn notify, void *opaque)
{
    PS2Mouse *m = g_new0(PS2Mouse, 1);
    m->notify = notify;
    m->opaque = opaque;
    ps2_mouse_reset(m);
    return m;
}

void ps2_mouse_free(PS2Mouse *m)
{
    g_free(m);
}
