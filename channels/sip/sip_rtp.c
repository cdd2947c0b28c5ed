/*
 * RTP for one leg, entirely on the leg's worker: one non-blocking UDP socket
 * watched with host->fd_watch, G.711 in and out, RFC 4733 telephone-events
 * in and out. No lock: only the owning worker touches a struct sip_rtp.
 */
#include "sip_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define RTP_HDR 12
#define RTP_MAX_PAYLOAD 1920 /* the engine's frame limit */
#define RTP_BURST 16         /* packets read per wake-up, so one leg cannot hog a worker */

/* Rotates through the configured range across all legs; an atomic, not a lock. */
static atomic_uint next_port;

static uint32_t random32(void) {
    uint32_t v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = (uint32_t)rand();
    return v;
}

int sip_rtp_open(struct sip_rtp *rtp) {
    memset(rtp, 0, sizeof *rtp);
    rtp->fd = -1;
    rtp->pt = -1;
    rtp->dtmf_pt = -1;
    int lo = (sip_cfg.rtp_port_min + 1) & ~1, hi = sip_cfg.rtp_port_max;
    int slots = (hi - lo) / 2 + 1;
    if (slots <= 0) return -1;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    if (inet_pton(AF_INET, sip_cfg.rtp_ip, &a.sin_addr) != 1) {
        close(fd);
        return -1;
    }
    /* even ports only (RTCP would take the odd one); try each slot once */
    for (int i = 0; i < slots; ++i) {
        int port = lo + 2 * (int)(atomic_fetch_add(&next_port, 1) % (unsigned)slots);
        a.sin_port = htons((uint16_t)port);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0) {
            rtp->fd = fd;
            rtp->port = port;
            rtp->ssrc = random32();
            rtp->seq = (uint16_t)random32();
            rtp->ts = random32();
            rtp->marker = true;
            return 0;
        }
        if (errno != EADDRINUSE) break;
    }
    close(fd);
    return -1;
}

void sip_rtp_set_remote(struct sip_rtp *rtp, const struct sip_media *m) {
    if (!m->valid) return;
    rtp->remote = m->remote;
    rtp->have_remote = true;
    rtp->pt = m->pt;
    rtp->dtmf_pt = m->dtmf_pt;
    rtp->format = m->pt == 8 ? "PCMA" : "PCMU";
}

static char event_digit(unsigned ev) {
    static const char map[] = "0123456789*#ABCD";
    return ev < 16 ? map[ev] : 0;
}

static int digit_event(char d) {
    if (d >= '0' && d <= '9') return d - '0';
    switch (d) {
    case '*': return 10;
    case '#': return 11;
    case 'A': case 'a': return 12;
    case 'B': case 'b': return 13;
    case 'C': case 'c': return 14;
    case 'D': case 'd': return 15;
    default: return -1;
    }
}

/* Symmetric RTP: send to where the far end's media really comes from (it
 * may be behind NAT). The first valid packet latches its address and SSRC;
 * later the address may move (a NAT rebinding) only under the same SSRC, so
 * a stray or spoofed packet from elsewhere cannot steal the stream. */
static void latch(struct sip_rtp *rtp, const struct sockaddr_in *from, uint32_t ssrc) {
    if (rtp->latched && ssrc != rtp->latched_ssrc) return;
    if (!rtp->latched || from->sin_addr.s_addr != rtp->remote.sin_addr.s_addr ||
        from->sin_port != rtp->remote.sin_port) {
        rtp->remote = *from;
        rtp->have_remote = true;
    }
    rtp->latched = true;
    rtp->latched_ssrc = ssrc;
}

/* One datagram from the far end. Everything is bounds-checked: the sender
 * is untrusted. */
static void rtp_packet(struct sip_call *call, const uint8_t *p, size_t n, const struct sockaddr_in *from) {
    struct sip_rtp *rtp = &call->rtp;
    if (n < RTP_HDR || (p[0] >> 6) != 2) return;
    size_t off = RTP_HDR + 4u * (p[0] & 0x0f); /* CSRCs */
    if (off > n) return;
    if (p[0] & 0x10) { /* header extension */
        if (off + 4 > n) return;
        off += 4 + 4u * (((size_t)p[off + 2] << 8) | p[off + 3]);
        if (off > n) return;
    }
    size_t end = n;
    if (p[0] & 0x20) { /* padding: the last byte counts it */
        size_t pad = p[n - 1];
        if (pad == 0 || pad > end - off) return;
        end -= pad;
    }
    int pt = p[1] & 0x7f;
    uint32_t ts = ((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
    const uint8_t *pay = p + off;
    size_t len = end - off;
    if (pt != rtp->pt && pt != rtp->dtmf_pt) return; /* not negotiated: ignore, don't latch */
    latch(rtp, from, ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11]);
    rtp->rx_packets++;
    if (pt == rtp->pt && len > 0 && len <= RTP_MAX_PAYLOAD) {
        tandem_frame f;
        memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        f.kind = TANDEM_FRAME_AUDIO;
        f.format = rtp->format;
        f.samples = (uint32_t)len; /* G.711: one byte per sample */
        f.data = pay;
        f.len = len;
        sip_host->leg_push_frame(call->leg, &f);
    } else if (pt == rtp->dtmf_pt && rtp->dtmf_pt >= 0 && len >= 4) {
        bool end_bit = (pay[1] & 0x80) != 0;
        if (!end_bit) return;
        /* the end packet is sent three times with the same timestamp */
        if (rtp->rx_dtmf_seen && rtp->rx_dtmf_ts == ts) return;
        rtp->rx_dtmf_seen = true;
        rtp->rx_dtmf_ts = ts;
        char d = event_digit(pay[0]);
        if (!d) return;
        tandem_frame f;
        memset(&f, 0, sizeof f);
        f.struct_size = sizeof f;
        f.kind = TANDEM_FRAME_DTMF;
        f.digit = d;
        f.duration_ms = (((uint32_t)pay[2] << 8) | pay[3]) / 8;
        sip_host->leg_push_frame(call->leg, &f);
    }
}

static void rtp_readable(int fd, uint32_t events, void *arg) {
    struct sip_call *call = arg;
    uint8_t buf[2048];
    for (int i = 0; i < RTP_BURST; ++i) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) return; /* EAGAIN, or an ICMP error surfaced: nothing to read */
        if (!call->leg || fl != sizeof from || from.sin_family != AF_INET) continue;
        rtp_packet(call, buf, (size_t)n, &from);
    }
}

int sip_rtp_watch(struct sip_call *call) {
    if (call->rtp.fd < 0 || sip_host->abi_minor < 1) return -1;
    if (sip_host->fd_watch(sip_self, call->rtp.fd, EPOLLIN, rtp_readable, call) != TANDEM_OK) return -1;
    call->rtp.watched = true;
    return 0;
}

static void put_header(uint8_t *h, struct sip_rtp *rtp, int pt, bool marker, uint32_t ts) {
    h[0] = 0x80;
    h[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    h[2] = (uint8_t)(rtp->seq >> 8);
    h[3] = (uint8_t)rtp->seq;
    h[4] = (uint8_t)(ts >> 24);
    h[5] = (uint8_t)(ts >> 16);
    h[6] = (uint8_t)(ts >> 8);
    h[7] = (uint8_t)ts;
    h[8] = (uint8_t)(rtp->ssrc >> 24);
    h[9] = (uint8_t)(rtp->ssrc >> 16);
    h[10] = (uint8_t)(rtp->ssrc >> 8);
    h[11] = (uint8_t)rtp->ssrc;
    rtp->seq++;
}

static void send_packet(struct sip_rtp *rtp, const uint8_t *pkt, size_t len) {
    /* UDP: a full socket buffer or an ICMP error just loses this packet */
    if (sendto(rtp->fd, pkt, len, MSG_DONTWAIT, (const struct sockaddr *)&rtp->remote,
               sizeof rtp->remote) >= 0)
        rtp->tx_packets++;
}

/* --- RFC 4733 sending: one event at a time, a packet every 20 ms --- */

static void dtmf_tick(void *arg);

static void dtmf_send(struct sip_rtp *rtp, bool marker, bool end, uint8_t event, uint32_t dur) {
    uint8_t pkt[RTP_HDR + 4];
    put_header(pkt, rtp, rtp->dtmf_pt, marker, rtp->dtmf.ts);
    pkt[RTP_HDR] = event;
    pkt[RTP_HDR + 1] = (uint8_t)((end ? 0x80 : 0) | 10); /* volume -10 dBm0 */
    if (dur > 0xffff) dur = 0xffff;
    pkt[RTP_HDR + 2] = (uint8_t)(dur >> 8);
    pkt[RTP_HDR + 3] = (uint8_t)dur;
    send_packet(rtp, pkt, sizeof pkt);
}

/* Start the next queued digit, if any; the caller holds no timer. */
static void dtmf_next(struct sip_call *call) {
    struct sip_dtmf_tx *d = &call->rtp.dtmf;
    while (d->count > 0) {
        char digit = d->digits[d->head];
        uint32_t ms = d->durations[d->head];
        d->head = (d->head + 1) % SIP_DTMF_QUEUE;
        d->count--;
        int ev = digit_event(digit);
        if (ev < 0) continue;
        d->active = true;
        d->ts = call->rtp.ts;
        d->elapsed = 160;
        d->total = (ms < 40 ? 40 : ms > 5000 ? 5000 : ms) * 8;
        d->end_sent = 0;
        d->event = (uint8_t)ev;
        dtmf_send(&call->rtp, true, false, (uint8_t)ev, d->elapsed);
        sip_call_ref(call);
        d->timer = sip_host->timer_start(sip_self, 20, dtmf_tick, call);
        if (!d->timer) {
            sip_call_unref(call);
            d->active = false;
        }
        return;
    }
}

static void dtmf_tick(void *arg) {
    struct sip_call *call = arg;
    struct sip_dtmf_tx *d = &call->rtp.dtmf;
    d->timer = 0;
    if (call->rtp.fd >= 0 && d->active) {
        uint8_t ev = d->event;
        call->rtp.ts += 160; /* the media clock runs on during the event */
        if (d->elapsed < d->total) {
            d->elapsed += 160;
            dtmf_send(&call->rtp, false, false, ev, d->elapsed);
            sip_call_ref(call);
            d->timer = sip_host->timer_start(sip_self, 20, dtmf_tick, call);
            if (!d->timer) sip_call_unref(call);
        } else {
            /* the end packet three times, back to back, for loss resilience */
            for (int i = 0; i < 3; ++i) dtmf_send(&call->rtp, false, true, ev, d->elapsed);
            d->active = false;
            call->rtp.marker = true;
            dtmf_next(call);
        }
    }
    sip_call_unref(call);
}

static int queue_dtmf(struct sip_call *call, char digit, uint32_t ms) {
    struct sip_dtmf_tx *d = &call->rtp.dtmf;
    if (call->rtp.dtmf_pt < 0 || digit_event(digit) < 0) return TANDEM_EINVAL;
    if (d->count >= SIP_DTMF_QUEUE) return TANDEM_EBUSY;
    unsigned slot = (d->head + d->count) % SIP_DTMF_QUEUE;
    d->digits[slot] = digit;
    d->durations[slot] = ms ? ms : 100;
    d->count++;
    if (!d->active) dtmf_next(call);
    return TANDEM_OK;
}

int sip_rtp_write(struct sip_call *call, const tandem_frame *frame) {
    struct sip_rtp *rtp = &call->rtp;
    if (rtp->fd < 0) return TANDEM_EGONE;
    if (!rtp->have_remote || rtp->pt < 0) return TANDEM_OK; /* no media yet: drop */
    if (frame->kind == TANDEM_FRAME_DTMF) return queue_dtmf(call, frame->digit, frame->duration_ms);
    if (frame->kind != TANDEM_FRAME_AUDIO) return TANDEM_OK;
    if (frame->format && strcmp(frame->format, rtp->format) != 0) return TANDEM_EINVAL;
    if (!frame->data || frame->len == 0 || frame->len > RTP_MAX_PAYLOAD) return TANDEM_EINVAL;
    if (rtp->dtmf.active) { /* the event replaces the audio; keep the clock */
        return TANDEM_OK;
    }
    uint8_t pkt[RTP_HDR + RTP_MAX_PAYLOAD];
    put_header(pkt, rtp, rtp->pt, rtp->marker, rtp->ts);
    rtp->marker = false;
    memcpy(pkt + RTP_HDR, frame->data, frame->len);
    send_packet(rtp, pkt, RTP_HDR + frame->len);
    rtp->ts += frame->samples ? frame->samples : (uint32_t)frame->len;
    return TANDEM_OK;
}

void sip_rtp_close(struct sip_call *call) {
    struct sip_rtp *rtp = &call->rtp;
    if (rtp->dtmf.timer) {
        sip_host->timer_cancel(sip_self, rtp->dtmf.timer);
        rtp->dtmf.timer = 0;
        sip_call_unref(call); /* the cancelled timer's reference */
    }
    rtp->dtmf.active = false;
    if (rtp->fd >= 0) {
        if (rtp->watched) sip_host->fd_unwatch(sip_self, rtp->fd);
        rtp->watched = false;
        close(rtp->fd);
        rtp->fd = -1;
    }
}
