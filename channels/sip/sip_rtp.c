/*
 * RTP for one leg, entirely on the leg's worker: the SIP adapter around
 * Tandem's RTP stack (<tandem/rtp.h>). It owns the sockets (RTP on an even
 * port, RTCP on the next one until rtcp-mux is agreed), watches them with
 * host->fd_watch, turns packets into the leg's frames and frames into
 * packets, and runs two timers: the 20 ms playout clock of the jitter
 * buffer and the RTCP report interval. No lock: only the owning worker
 * touches a struct sip_rtp.
 */
#include "sip_internal.h"
#include "sip_rtp_pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RTP_MAX_PAYLOAD 1920 /* the engine's frame limit */
#define RTP_BATCH 16         /* datagrams per recvmmsg, and per wake-up: no leg hogs a worker */
#define RTP_BUF 2048
#define FRAME_MS 20
#define RTCP_MAX 256
#define SRTP_ROOM 160 /* >= libsrtp's SRTP_MAX_TRAILER_LEN (tag + MKI) + 4 for SRTCP */
#define RTCP_ROOM (RTCP_MAX + SRTP_ROOM)
#define PKT_ROOM(payload) (TANDEM_RTP_HEADER_SIZE + (payload) + SRTP_ROOM)

/* Rotates through the configured range across all legs; an atomic, not a lock. */
static atomic_uint next_port;

static void random_bytes(void *out, size_t n) {
    if (getrandom(out, n, GRND_NONBLOCK) != (ssize_t)n)
        for (size_t i = 0; i < n; ++i) ((uint8_t *)out)[i] = (uint8_t)rand();
}

uint64_t sip_mono_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static uint64_t ntp_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return tandem_ntp_from_unix_us((uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u);
}

/* How long after a pooled pair's call ended its old stream is told apart
 * from the new call's (sip_rtp_pool.h). */
#define STALE_WINDOW_MS 2000u

static int bound_socket(const union sip_addr *a) {
    int fd = socket(a->sa.sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1; /* an IPv6 port is not also an IPv4-mapped one: the families' ranges stay apart */
    if ((a->sa.sa_family != AF_INET6 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0) &&
        bind(fd, &a->sa, sip_addr_len(a)) == 0)
        return fd;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* A fresh pair: an even port for RTP and the odd one above it for RTCP
 * (RFC 3550 11), the next free one from a cursor that goes round the
 * range. 0, or -1 with errno (EADDRINUSE: every port is taken). */
static int bind_pair(union sip_addr *a, int lo, int slots, struct sip_rtp_pair *out) {
    for (int i = 0; i < slots; ++i) {
        int port = lo + 2 * (int)(atomic_fetch_add(&next_port, 1) % (unsigned)slots);
        sip_addr_set_port(a, (uint16_t)port);
        int fd = bound_socket(a);
        if (fd < 0) {
            if (errno != EADDRINUSE) return -1;
            continue;
        }
        sip_addr_set_port(a, (uint16_t)(port + 1));
        int rfd = bound_socket(a);
        if (rfd < 0) {
            int e = errno;
            close(fd);
            errno = e;
            if (errno != EADDRINUSE) return -1;
            continue;
        }
        *out = (struct sip_rtp_pair){.fd = fd, .rtcp_fd = rfd, .port = port};
        return 0;
    }
    errno = EADDRINUSE;
    return -1;
}

/* A pair from the pool; its RTCP socket, if rtcp-mux had closed it, is
 * bound again (the pair is dropped if that port went meanwhile). */
static bool pooled_pair(union sip_addr *a, const char *ip, int lo, int hi, bool any_age,
                        struct sip_rtp_pair *out) {
    while (sip_rtp_pool_take(ip, lo, hi, any_age, out)) {
        if (out->rtcp_fd >= 0) return true;
        sip_addr_set_port(a, (uint16_t)(out->port + 1));
        if ((out->rtcp_fd = bound_socket(a)) >= 0) return true;
        close(out->fd);
    }
    return false;
}

int sip_rtp_open(struct sip_rtp *rtp, const char *ip) {
    memset(rtp, 0, sizeof *rtp);
    rtp->fd = -1;
    rtp->rtcp_fd = -1;
    rtp->pt = -1;
    rtp->dtmf_pt = -1;
    int lo = (sip_cfg.rtp_port_min + 1) & ~1, hi = sip_cfg.rtp_port_max - 1;
    int slots = (hi - lo) / 2 + 1;
    union sip_addr a;
    if (slots <= 0 || sip_addr_parse(ip, 0, &a) != 0 || strlen(ip) >= sizeof rtp->local_ip) {
        errno = EINVAL;
        return -1;
    }
    /* both sockets exist until the offer and answer agree on rtcp-mux */
    struct sip_rtp_pair pair;
    if (!pooled_pair(&a, ip, lo, hi, false, &pair) && bind_pair(&a, lo, slots, &pair) != 0) {
        int e = errno; /* with every port taken, the longest-resting kept pair will do */
        if (e != EADDRINUSE || !pooled_pair(&a, ip, lo, hi, true, &pair)) {
            errno = e;
            return -1;
        }
    }
    rtp->fd = pair.fd;
    rtp->rtcp_fd = pair.rtcp_fd;
    rtp->port = pair.port;
    /* late packets of the old stream come within a moment of its end; a
     * far end that reuses its port and SSRC for a new call is heard again
     * after that at the latest */
    rtp->stale_active = pair.have_last && pair.rested_ms < STALE_WINDOW_MS;
    rtp->stale_from = pair.last;
    rtp->stale_ssrc = pair.last_ssrc;
    rtp->stale_until_us = sip_mono_us() + (STALE_WINDOW_MS - pair.rested_ms) * 1000u;
    snprintf(rtp->local_ip, sizeof rtp->local_ip, "%s", ip);
    uint8_t rnd[12];
    random_bytes(rnd, sizeof rnd);
    tandem_rtp_session_init(&rtp->session, rnd, 8000);
    rtp->marker = true;
    return 0;
}

static void rtcp_readable(int fd, uint32_t events, void *arg);

/* A struct sip_rtp only ever lives in its struct sip_call. */
static struct sip_call *call_of(struct sip_rtp *rtp) {
    return (struct sip_call *)(void *)((char *)rtp - offsetof(struct sip_call, rtp));
}

/* Both sides agreed on rtcp-mux (we offer it and accept it whenever
 * offered): the odd port's socket goes, so a call holds one descriptor.
 * A later SDP without rtcp-mux takes the odd port back; if another
 * program took it meanwhile, our reports leave from the RTP socket and
 * what the far end sends to port + 1 is lost (logged). */
static void rtcp_socket_follow(struct sip_rtp *rtp) {
    if (rtp->rtcp_mux && rtp->rtcp_fd >= 0) {
        if (rtp->rtcp_watched) sip_host->fd_unwatch(sip_self, rtp->rtcp_fd);
        rtp->rtcp_watched = false;
        close(rtp->rtcp_fd);
        rtp->rtcp_fd = -1;
    } else if (!rtp->rtcp_mux && rtp->rtcp_fd < 0 && rtp->fd >= 0) {
        union sip_addr a;
        if (sip_addr_parse(rtp->local_ip, (uint16_t)(rtp->port + 1), &a) == 0) rtp->rtcp_fd = bound_socket(&a);
        if (rtp->rtcp_fd < 0) {
            sip_host->log(sip_self, TANDEM_LOG_WARNING, NULL,
                          "sip: rtcp-mux dropped but port %d is taken (%s): RTCP leaves from port %d", rtp->port + 1,
                          strerror(errno), rtp->port);
        } else if (rtp->watched &&
                   sip_host->fd_watch(sip_self, rtp->rtcp_fd, EPOLLIN, rtcp_readable, call_of(rtp)) == TANDEM_OK) {
            rtp->rtcp_watched = true;
        }
    }
}

void sip_rtp_set_remote(struct sip_rtp *rtp, const struct sip_media *m) {
    if (!m->valid) return;
    sip_ptime_set_remote(call_of(rtp), m);
    /* the sockets keep the family they were opened in: an address of the
     * other one (a re-INVITE moving the far end) cannot be sent to */
    bool reachable = (m->remote.sa.sa_family == AF_INET6) == sip_ip_is_v6(rtp->local_ip);
    if (reachable && (!rtp->have_remote || !sip_addr_same(&rtp->sdp_remote, &m->remote))) {
        /* a new destination: send there until media comes back from it */
        rtp->sdp_remote = m->remote;
        if (rtp->stale_active && sip_addr_same(&m->remote, &rtp->stale_from))
            rtp->stale_active = false; /* the same far end again: its stream is this call's */
        rtp->remote = m->remote;
        rtp->rtcp_remote = m->rtcp_mux ? m->remote : m->rtcp;
        rtp->latched = false;
        rtp->marker = true;
    } else if (reachable && m->rtcp_mux != rtp->rtcp_mux && !rtp->latched) {
        rtp->rtcp_remote = m->rtcp_mux ? m->remote : m->rtcp;
    }
    rtp->have_remote = rtp->have_remote || reachable;
    rtp->rtcp_mux = m->rtcp_mux;
    rtcp_socket_follow(rtp);
    if (rtp->jb && rtp->format && strcmp(rtp->format, m->codec) != 0) {
        free(rtp->jb); /* a codec change: the buffered frames are useless */
        rtp->jb = NULL;
    }
    rtp->pt = m->pt;
    rtp->dtmf_pt = m->dtmf_pt;
    rtp->codec = *m;
    rtp->format = rtp->codec.codec;
    sip_srtp_start(rtp, m); /* plain RTP when m has no key */
}

/* Symmetric RTP: send to where the far end's media really comes from (it
 * may be behind NAT). The first valid packet latches its address and SSRC;
 * later the address may move (a NAT rebinding) only under the same SSRC, so
 * a stray or spoofed packet from elsewhere cannot steal the stream. RTCP
 * follows to the port above the latched one (or the same with rtcp-mux). */
static void latch(struct sip_rtp *rtp, const union sip_addr *from, uint32_t ssrc) {
    if (rtp->latched && ssrc != rtp->latched_ssrc) return;
    if (!rtp->latched || !sip_addr_same(from, &rtp->remote)) {
        rtp->remote = *from;
        rtp->have_remote = true;
        rtp->rtcp_remote = *from;
        if (!rtp->rtcp_mux) sip_addr_set_port(&rtp->rtcp_remote, (uint16_t)(sip_addr_port(from) + 1));
    }
    rtp->latched = true;
    rtp->latched_ssrc = ssrc;
}

void sip_rtp_push_audio(struct sip_call *call, const uint8_t *data, size_t len) {
    const struct sip_media *c = &call->rtp.codec;
    tandem_frame f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.kind = TANDEM_FRAME_AUDIO;
    f.format = call->rtp.format;
    /* G.711, G.722: one byte per timestamp unit; other codecs: one 20 ms frame a packet */
    f.samples = sip_ptime_splittable(c) && c->rtp_rate ? (uint32_t)((uint64_t)len * c->codec_rate / c->rtp_rate)
                                                       : c->codec_rate / 50;
    f.data = data;
    f.len = len;
    sip_host->leg_push_frame(call->leg, &f);
}

/* A frame the jitter buffer found missing (not G.711, which it conceals
 * itself): the codec conceals it, from the next packet's FEC when that one
 * is already here (ABI 1.3; an older engine never hears of the loss). */
static void push_lost(struct sip_call *call) {
    if (sip_host->abi_minor < 3) return;
    tandem_frame f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.kind = TANDEM_FRAME_AUDIO;
    f.format = call->rtp.format;
    f.samples = call->rtp.codec.codec_rate / 50;
    f.flags = TANDEM_FRAME_LOST;
    f.data = tandem_jb_peek(call->rtp.jb, &f.len);
    sip_host->leg_push_frame(call->leg, &f);
}

/* --- the playout clock: one jitter-buffer frame per call every 20 ms ---
 *
 * One timer per worker, not per call: each worker thread keeps the list of
 * its calls that have a jitter buffer and one 20 ms clock that follows the
 * monotonic time (a late timer plays every tick that is due, at most 5 at
 * once), so the buffers drain at the senders' rate. A timer per call cost
 * about three times the CPU of the whole relay (bench/media_bench.py). */

struct playout_clock {
    struct sip_call *head;     /* calls on this worker's list, each referenced */
    uint64_t timer;            /* 0 none */
    uint64_t start_us, ticks;  /* tick 0's monotonic time, ticks played since */
    struct sip_call **batch;   /* the list, copied for one tick; freed when */
    size_t batch_cap;          /* the list empties (threads end with none) */
    bool in_tick;
};
static _Thread_local struct playout_clock playout;

static void playout_tick(void *arg);

static void playout_arm(uint64_t now) {
    uint64_t due = playout.start_us + (playout.ticks + 1) * FRAME_MS * 1000u;
    uint32_t ms = due > now ? (uint32_t)((due - now + 999) / 1000) : 1;
    playout.timer = sip_host->timer_start(sip_self, ms, playout_tick, NULL);
}

static void playout_join(struct sip_call *call, uint64_t now) {
    struct sip_rtp *rtp = &call->rtp;
    if (rtp->in_playout) return;
    sip_call_ref(call);
    rtp->in_playout = true;
    rtp->playout_prev = NULL;
    rtp->playout_next = playout.head;
    if (playout.head) playout.head->rtp.playout_prev = call;
    playout.head = call;
    if (!playout.timer) {
        playout.start_us = now;
        playout.ticks = 0;
        playout_arm(now);
    }
}

static void playout_leave(struct sip_call *call) {
    struct sip_rtp *rtp = &call->rtp;
    if (!rtp->in_playout) return;
    if (rtp->playout_prev) rtp->playout_prev->rtp.playout_next = rtp->playout_next;
    else playout.head = rtp->playout_next;
    if (rtp->playout_next) rtp->playout_next->rtp.playout_prev = rtp->playout_prev;
    rtp->in_playout = false;
    rtp->playout_prev = rtp->playout_next = NULL;
    if (!playout.head && !playout.in_tick) {
        free(playout.batch);
        playout.batch = NULL;
        playout.batch_cap = 0;
    }
    sip_call_unref(call);
}

static void play_one(struct sip_call *call) {
    struct sip_rtp *rtp = &call->rtp;
    if (!rtp->in_playout || !rtp->jb || !call->leg) return;
    /* a buffer of 10 ms frames (packets of 10, 30, 50 ms) plays two a tick */
    uint32_t pops = rtp->jb->frame_ms < FRAME_MS ? FRAME_MS / rtp->jb->frame_ms : 1;
    uint8_t out[2 * TANDEM_JB_MAX_FRAME];
    size_t have = 0;
    for (uint32_t i = 0; i < pops && i < 2; ++i) {
        size_t len = 0;
        tandem_jb_result r = tandem_jb_pop(rtp->jb, out + have, TANDEM_JB_MAX_FRAME, &len);
        if (r == TANDEM_JB_LOST && have == 0) { /* codecs the buffer cannot conceal (G.722 here) */
            push_lost(call);
            return;
        }
        if (r == TANDEM_JB_FRAME || r == TANDEM_JB_CONCEALED) have += len;
    }
    /* the buffer gave up half way (its concealment had faded out): G.711
     * silence makes up the frame, so the engine always gets 20 ms */
    size_t frame = FRAME_MS * tandem_jb_frame_bytes(rtp->jb) / rtp->jb->frame_ms;
    if (have > 0 && have < frame && rtp->jb->codec != TANDEM_JB_OPAQUE) {
        memset(out + have, rtp->jb->codec == TANDEM_JB_PCMU ? 0xFF : 0xD5, frame - have);
        have = frame;
    }
    if (have > 0) sip_rtp_push_audio(call, out, have);
}

static void playout_tick(void *arg) {
    playout.timer = 0;
    /* Work on a referenced copy of the list: pushing a frame may end a call
     * (and take it off the list) anywhere in it. */
    size_t n = 0;
    for (struct sip_call *c = playout.head; c; c = c->rtp.playout_next) n++;
    if (n == 0) return; /* the clock stops until a call needs it again */
    if (n > playout.batch_cap) {
        struct sip_call **b = realloc(playout.batch, n * sizeof *b);
        if (!b) {
            playout_arm(sip_mono_us());
            return;
        }
        playout.batch = b;
        playout.batch_cap = n;
    }
    n = 0;
    for (struct sip_call *c = playout.head; c; c = c->rtp.playout_next) {
        sip_call_ref(c);
        playout.batch[n++] = c;
    }
    uint64_t now = sip_mono_us();
    uint64_t due = (now - playout.start_us) / (FRAME_MS * 1000u);
    if (due > playout.ticks + 5) playout.ticks = due - 5;
    playout.in_tick = true;
    for (; playout.ticks < due; playout.ticks++)
        for (size_t i = 0; i < n; ++i) play_one(playout.batch[i]);
    playout.in_tick = false;
    for (size_t i = 0; i < n; ++i) sip_call_unref(playout.batch[i]);
    if (playout.head) {
        playout_arm(now);
    } else {
        free(playout.batch);
        playout.batch = NULL;
        playout.batch_cap = 0;
    }
}

static void buffer_audio(struct sip_call *call, const tandem_rtp_packet *p, uint64_t now) {
    struct sip_rtp *rtp = &call->rtp;
    /* G.711/G.722 packets are cut into frames of 20 ms, or of 10 ms when
     * their duration is an odd multiple of 10 ms; a packet that is not
     * whole 10 ms plays as it comes */
    bool split = sip_ptime_splittable(&rtp->codec);
    uint32_t ten_ms = (rtp->codec.rtp_rate ? rtp->codec.rtp_rate : 8000) / 100;
    if (split && p->payload_len % ten_ms) {
        sip_rtp_push_audio(call, p->payload, p->payload_len);
        return;
    }
    uint32_t frame_ms = split && p->payload_len % (2 * ten_ms) ? FRAME_MS / 2 : FRAME_MS;
    if (rtp->jb && split && p->payload_len % tandem_jb_frame_bytes(rtp->jb)) {
        free(rtp->jb); /* the far end's ptime changed to one the frames do not divide */
        rtp->jb = NULL;
    }
    if (!rtp->jb) {
        rtp->jb = malloc(sizeof *rtp->jb);
        if (!rtp->jb) {
            sip_rtp_push_audio(call, p->payload, p->payload_len);
            return;
        }
        tandem_jb_codec kind = rtp->pt == 8 ? TANDEM_JB_PCMA : rtp->pt == 0 ? TANDEM_JB_PCMU : TANDEM_JB_OPAQUE;
        tandem_jb_init(rtp->jb, kind, rtp->codec.rtp_rate ? rtp->codec.rtp_rate : 8000, frame_ms,
                       (uint32_t)sip_cfg.jb_min_ms, (uint32_t)sip_cfg.jb_max_ms);
    }
    int rc = split ? tandem_jb_push_split(rtp->jb, p->ts, p->payload, p->payload_len, now)
                   : tandem_jb_push(rtp->jb, p->seq, p->ts, p->payload, p->payload_len, now);
    if (rc < 0) {
        sip_rtp_push_audio(call, p->payload, p->payload_len); /* too big to buffer: as it comes */
        return;
    }
    playout_join(call, now);
}

/* --- native relay: no jitter buffer while the engine only forwards ---
 *
 * While the leg's audio goes straight to a bridge peer (ABI 1.4), the far
 * end's own jitter buffer does the smoothing: each packet is pushed as it
 * comes, and the timing a buffer would have kept is passed on instead, so
 * the peer's RTP clock stays in step: missing sequence numbers become lost
 * frames, a timestamp that jumps (silence suppression) an empty frame of
 * that duration, and a late or repeated packet is dropped. */

static bool relays_directly(const struct sip_call *call) {
    return sip_host->abi_minor >= 4 &&
           sip_host->struct_size >= offsetof(tandem_host, leg_relays_directly) + sizeof sip_host->leg_relays_directly &&
           sip_host->leg_relays_directly(call->leg);
}

#define RELAY_MAX_LOST 25     /* frames (500 ms) marked as lost; a longer gap is a new talk spurt */
#define RELAY_MAX_MISORDER 100 /* RFC 3550 A.1: further back is a restarted sequence, not a late packet */

/* a packet's duration in RTP clock ticks (G.711, G.722: its bytes; other
 * codecs: one 20 ms frame), and RTP ticks in samples at the codec's rate */
static uint32_t packet_ticks(const struct sip_rtp *rtp, const tandem_rtp_packet *p) {
    const struct sip_media *c = &rtp->codec;
    return sip_ptime_splittable(c) ? (uint32_t)p->payload_len : (c->rtp_rate ? c->rtp_rate : 8000) / 50;
}

static uint32_t ticks_to_samples(const struct sip_rtp *rtp, uint32_t ticks) {
    const struct sip_media *c = &rtp->codec;
    return c->codec_rate && c->rtp_rate && c->rtp_rate != c->codec_rate
               ? (uint32_t)((uint64_t)ticks * c->codec_rate / c->rtp_rate)
               : ticks;
}

static void push_timing(struct sip_call *call, uint32_t samples, uint32_t flags) {
    tandem_frame f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.kind = TANDEM_FRAME_AUDIO;
    f.format = call->rtp.format;
    f.samples = samples;
    f.flags = flags;
    sip_host->leg_push_frame(call->leg, &f);
}

static void relay_audio(struct sip_call *call, const tandem_rtp_packet *p) {
    struct sip_rtp *rtp = &call->rtp;
    if (rtp->jb) { /* buffered while the engine needed the audio: its few frames are dropped */
        playout_leave(call);
        free(rtp->jb);
        rtp->jb = NULL;
    }
    uint32_t ticks = packet_ticks(rtp, p);
    if (rtp->direct_started && p->ssrc == rtp->direct_ssrc) {
        int16_t missing = (int16_t)(p->seq - rtp->direct_next_seq);
        if (missing < 0 && missing > -RELAY_MAX_MISORDER) return; /* late or repeated: the stream has moved on */
        if (missing > 0 && missing <= RELAY_MAX_LOST) {
            for (int i = 0; i < missing; ++i) push_timing(call, ticks_to_samples(rtp, ticks), TANDEM_FRAME_LOST);
        } else if (missing == 0) {
            int32_t silent = (int32_t)(p->ts - rtp->direct_next_ts); /* RTP ticks nobody sent */
            if (silent > 0 && (uint32_t)silent <= ticks * RELAY_MAX_LOST * 10)
                push_timing(call, ticks_to_samples(rtp, (uint32_t)silent), 0);
        }
    }
    rtp->direct_started = true;
    rtp->direct_ssrc = p->ssrc;
    rtp->direct_next_seq = (uint16_t)(p->seq + 1);
    rtp->direct_next_ts = p->ts + ticks;
    sip_rtp_push_audio(call, p->payload, p->payload_len); /* any ptime: the peer's channel re-cuts it */
}

static void rtp_dtmf(struct sip_call *call, const tandem_rtp_packet *p) {
    struct sip_rtp *rtp = &call->rtp;
    tandem_rtp_event ev;
    if (tandem_rtp_event_parse(p->payload, p->payload_len, &ev) != 0 || !ev.end) return;
    /* the end packet is sent three times with the same timestamp */
    if (rtp->rx_dtmf_seen && rtp->rx_dtmf_ts == p->ts) return;
    rtp->rx_dtmf_seen = true;
    rtp->rx_dtmf_ts = p->ts;
    char d = tandem_rtp_event_digit(ev.event);
    if (!d) return;
    tandem_frame f;
    memset(&f, 0, sizeof f);
    f.struct_size = sizeof f;
    f.kind = TANDEM_FRAME_DTMF;
    f.digit = d;
    f.duration_ms = ev.duration / 8;
    sip_host->leg_push_frame(call->leg, &f);
}

/* One RTP datagram from the far end (untrusted). */
static void rtp_packet(struct sip_call *call, const uint8_t *buf, size_t n,
                       const union sip_addr *from, uint64_t now) {
    struct sip_rtp *rtp = &call->rtp;
    tandem_rtp_packet p;
    if (tandem_rtp_parse(buf, n, &p) != 0) return;
    if (p.pt != rtp->pt && (int)p.pt != rtp->dtmf_pt) return; /* not negotiated: ignore, don't latch */
    if (rtp->stale_active && p.ssrc == rtp->stale_ssrc && sip_addr_same(from, &rtp->stale_from)) {
        if (now < rtp->stale_until_us) return; /* the previous call's stream on these pooled sockets, late */
        rtp->stale_active = false;
    }
    latch(rtp, from, p.ssrc);
    rtp->rx_packets++;
    tandem_rtp_session_received(&rtp->session, &p, now);
    if (p.pt == rtp->pt && p.payload_len > 0 && p.payload_len <= RTP_MAX_PAYLOAD) {
        if (relays_directly(call)) relay_audio(call, &p);
        else if (sip_cfg.jitter_buffer) buffer_audio(call, &p, now);
        else sip_ptime_receive(call, p.ts, p.payload, p.payload_len);
    } else if ((int)p.pt == rtp->dtmf_pt && rtp->dtmf_pt >= 0) {
        rtp_dtmf(call, &p);
    }
}

static void rtcp_packet(struct sip_call *call, const uint8_t *buf, size_t n, uint64_t now) {
    tandem_rtp_session *s = &call->rtp.session;
    if (tandem_rtcp_session_receive(s, buf, n, now, ntp_now()) != 0) return;
}

/* Drain up to RTP_BATCH datagrams with one recvmmsg (one system call per
 * readiness event instead of one per packet plus the EAGAIN). The buffers
 * and headers are the worker thread's, set up once: only the address
 * lengths recvmmsg overwrote are reset for the next call (the reactor runs
 * one handler at a time, so drain is never re-entered on a thread). */
struct rx_batch {
    bool ready;
    int used; /* entries the last recvmmsg filled */
    uint8_t bufs[RTP_BATCH][RTP_BUF];
    union sip_addr from[RTP_BATCH]; /* the socket's family: IPv4 or IPv6 */
    struct iovec iov[RTP_BATCH];
    struct mmsghdr msgs[RTP_BATCH];
};
static _Thread_local struct rx_batch rx;

static void drain(struct sip_call *call, int fd, bool rtcp_socket) {
    uint8_t (*bufs)[RTP_BUF] = rx.bufs;
    union sip_addr *from = rx.from;
    struct mmsghdr *msgs = rx.msgs;
    if (!rx.ready) {
        for (int i = 0; i < RTP_BATCH; ++i) {
            rx.iov[i].iov_base = rx.bufs[i];
            rx.iov[i].iov_len = RTP_BUF;
            msgs[i].msg_hdr.msg_iov = &rx.iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &rx.from[i];
        }
        rx.used = RTP_BATCH;
        rx.ready = true;
    }
    for (int i = 0; i < rx.used; ++i) {
        msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        msgs[i].msg_hdr.msg_flags = 0;
    }
    /* the call's hot lines come in while the kernel copies the datagrams */
    __builtin_prefetch(call);
    __builtin_prefetch(&call->rtp);
    __builtin_prefetch(&call->rtp.session);
    int got = recvmmsg(fd, msgs, RTP_BATCH, MSG_DONTWAIT, NULL);
    rx.used = got > 0 ? got : 0;
    if (got <= 0) return; /* EAGAIN, or an ICMP error surfaced: nothing to read */
    uint64_t now = sip_mono_us();
    for (int i = 0; i < got && call->leg; ++i) {
        if (msgs[i].msg_hdr.msg_namelen != sip_addr_len(&from[i])) continue;
        size_t n = msgs[i].msg_len;
        bool rtcp = rtcp_socket || tandem_rtp_is_rtcp(bufs[i], n);
        if (sip_srtp_unprotect(&call->rtp, bufs[i], &n, rtcp) != 0) continue; /* forged or plain */
        if (rtcp) rtcp_packet(call, bufs[i], n, now);
        else rtp_packet(call, bufs[i], n, &from[i], now);
    }
}

static void rtp_readable(int fd, uint32_t events, void *arg) { drain(arg, fd, false); }
static void rtcp_readable(int fd, uint32_t events, void *arg) { drain(arg, fd, true); }

/* --- RTCP reports --- */

/* pkt has RTCP_ROOM bytes for the SRTCP trailer */
static void rtcp_send(struct sip_rtp *rtp, uint8_t *pkt, size_t len) {
    int fd = rtp->rtcp_mux || rtp->rtcp_fd < 0 ? rtp->fd : rtp->rtcp_fd;
    if (sip_srtp_protect(rtp, pkt, &len, RTCP_ROOM, true) != 0) return;
    if (len && rtp->have_remote && fd >= 0)
        sendto(fd, pkt, len, MSG_DONTWAIT, &rtp->rtcp_remote.sa, sip_addr_len(&rtp->rtcp_remote));
}

static void rtcp_tick(void *arg);

static void rtcp_arm(struct sip_call *call, uint32_t base_ms) {
    uint32_t r;
    random_bytes(&r, sizeof r);
    sip_call_ref(call);
    call->rtp.rtcp_timer = sip_host->timer_start(sip_self, tandem_rtcp_interval_ms(base_ms, r), rtcp_tick, call);
    if (!call->rtp.rtcp_timer) sip_call_unref(call);
}

static void rtcp_tick(void *arg) {
    struct sip_call *call = arg;
    struct sip_rtp *rtp = &call->rtp;
    rtp->rtcp_timer = 0;
    if (rtp->fd >= 0 && call->leg) {
        /* report only once there is a stream to report on or from */
        if (rtp->have_remote && (rtp->session.tx_packets_total || rtp->session.rx.started)) {
            uint8_t pkt[RTCP_ROOM];
            rtcp_send(rtp, pkt, tandem_rtcp_session_report(&rtp->session, pkt, RTCP_MAX, sip_mono_us(),
                                                           ntp_now(), rtp->local_ip));
        }
        rtcp_arm(call, (uint32_t)sip_cfg.rtcp_interval_ms);
    }
    sip_call_unref(call);
}

int sip_rtp_watch(struct sip_call *call) {
    struct sip_rtp *rtp = &call->rtp;
    if (rtp->fd < 0 || sip_host->abi_minor < 1) return -1;
    if (sip_host->fd_watch(sip_self, rtp->fd, EPOLLIN, rtp_readable, call) != TANDEM_OK) return -1;
    rtp->watched = true;
    if (rtp->rtcp_fd >= 0 &&
        sip_host->fd_watch(sip_self, rtp->rtcp_fd, EPOLLIN, rtcp_readable, call) == TANDEM_OK)
        rtp->rtcp_watched = true;
    /* RFC 3550 6.2: the first report after half the interval */
    if (!rtp->rtcp_timer) rtcp_arm(call, (uint32_t)sip_cfg.rtcp_interval_ms / 2);
    return 0;
}

/* pkt has SRTP_ROOM bytes after len for the SRTP trailer */
static void send_packet(struct sip_rtp *rtp, uint8_t *pkt, size_t len) {
    size_t payload = len - TANDEM_RTP_HEADER_SIZE;
    if (sip_srtp_protect(rtp, pkt, &len, len + SRTP_ROOM, false) != 0) return;
    /* UDP: a full socket buffer or an ICMP error just loses this packet */
    if (sendto(rtp->fd, pkt, len, MSG_DONTWAIT, &rtp->remote.sa, sip_addr_len(&rtp->remote)) >= 0) {
        rtp->tx_packets++;
        tandem_rtp_session_sent(&rtp->session, payload);
    }
}

/* --- RFC 4733 sending: one event at a time, a packet every 20 ms --- */

static void dtmf_tick(void *arg);

static size_t dtmf_packet(struct sip_rtp *rtp, uint8_t *pkt, bool marker, bool end, uint32_t dur) {
    tandem_rtp_session_header(&rtp->session, pkt, (uint8_t)rtp->dtmf_pt, marker, rtp->dtmf.ts);
    tandem_rtp_event ev = {rtp->dtmf.event, end, 10 /* -10 dBm0 */, (uint16_t)(dur > 0xffff ? 0xffff : dur)};
    tandem_rtp_event_write(pkt + TANDEM_RTP_HEADER_SIZE, &ev);
    return TANDEM_RTP_HEADER_SIZE + TANDEM_RTP_EVENT_SIZE;
}

static void dtmf_send(struct sip_rtp *rtp, bool marker, uint32_t dur) {
    uint8_t pkt[PKT_ROOM(TANDEM_RTP_EVENT_SIZE)];
    send_packet(rtp, pkt, dtmf_packet(rtp, pkt, marker, false, dur));
}

/* The end packet three times, back to back for loss resilience (RFC 4733
 * 2.5.1.4): one sendmmsg. */
static void dtmf_send_end(struct sip_rtp *rtp, uint32_t dur) {
    uint8_t pkts[3][PKT_ROOM(TANDEM_RTP_EVENT_SIZE)];
    struct iovec iov[3];
    struct mmsghdr msgs[3];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < 3; ++i) {
        size_t len = dtmf_packet(rtp, pkts[i], false, true, dur);
        if (sip_srtp_protect(rtp, pkts[i], &len, sizeof pkts[i], false) != 0) return;
        iov[i].iov_base = pkts[i];
        iov[i].iov_len = len;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &rtp->remote;
        msgs[i].msg_hdr.msg_namelen = sip_addr_len(&rtp->remote);
    }
    int sent = sendmmsg(rtp->fd, msgs, 3, MSG_DONTWAIT);
    for (int i = 0; i < sent; ++i) {
        rtp->tx_packets++;
        tandem_rtp_session_sent(&rtp->session, TANDEM_RTP_EVENT_SIZE);
    }
}

/* Start the next queued digit, if any; the caller holds no timer. */
static void dtmf_next(struct sip_call *call) {
    struct sip_dtmf_tx *d = &call->rtp.dtmf;
    while (d->count > 0) {
        char digit = d->digits[d->head];
        uint32_t ms = d->durations[d->head];
        d->head = (d->head + 1) % SIP_DTMF_QUEUE;
        d->count--;
        int ev = tandem_rtp_digit_event(digit);
        if (ev < 0) continue;
        sip_ptime_flush(&call->rtp); /* the audio before the event, as a shorter packet */
        d->active = true;
        d->ts = call->rtp.session.ts;
        d->elapsed = 160;
        d->total = (ms < 40 ? 40 : ms > 5000 ? 5000 : ms) * 8;
        d->end_sent = 0;
        d->event = (uint8_t)ev;
        dtmf_send(&call->rtp, true, d->elapsed);
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
        call->rtp.session.ts += 160; /* the media clock runs on during the event */
        if (d->elapsed < d->total) {
            d->elapsed += 160;
            dtmf_send(&call->rtp, false, d->elapsed);
            sip_call_ref(call);
            d->timer = sip_host->timer_start(sip_self, 20, dtmf_tick, call);
            if (!d->timer) sip_call_unref(call);
        } else {
            dtmf_send_end(&call->rtp, d->elapsed);
            d->active = false;
            call->rtp.marker = true;
            dtmf_next(call);
        }
    }
    sip_call_unref(call);
}

static int queue_dtmf(struct sip_call *call, char digit, uint32_t ms) {
    struct sip_dtmf_tx *d = &call->rtp.dtmf;
    if (call->rtp.dtmf_pt < 0 || tandem_rtp_digit_event(digit) < 0) return TANDEM_EINVAL;
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
    if (frame->struct_size >= offsetof(tandem_frame, flags) + sizeof frame->flags &&
        (frame->flags & TANDEM_FRAME_LOST)) { /* relayed loss: the far end sees one too */
        sip_ptime_flush(rtp);
        sip_rtp_skip(call, frame);
        rtp->session.seq++;
        return TANDEM_OK;
    }
    if (frame->len == 0 && frame->samples > 0) { /* the encoder's DTX: send nothing, keep the clock */
        sip_ptime_flush(rtp);
        sip_rtp_skip(call, frame);
        rtp->marker = true; /* the next packet starts a talk spurt */
        return TANDEM_OK;
    }
    if (!frame->data || frame->len == 0 || frame->len > RTP_MAX_PAYLOAD) return TANDEM_EINVAL;
    if (rtp->dtmf.active) { /* the event replaces the audio; keep the clock */
        return TANDEM_OK;
    }
    if (!sip_ptime_write(rtp, frame->data, frame->len))
        sip_rtp_send_audio(rtp, rtp->session.ts, frame->data, frame->len);
    sip_rtp_skip(call, frame);
    return TANDEM_OK;
}

void sip_rtp_send_audio(struct sip_rtp *rtp, uint32_t ts, const uint8_t *data, size_t len) {
    uint8_t pkt[PKT_ROOM(RTP_MAX_PAYLOAD)];
    if (len > RTP_MAX_PAYLOAD) return;
    tandem_rtp_session_header(&rtp->session, pkt, (uint8_t)rtp->pt, rtp->marker, ts);
    rtp->marker = false;
    memcpy(pkt + TANDEM_RTP_HEADER_SIZE, data, len);
    send_packet(rtp, pkt, TANDEM_RTP_HEADER_SIZE + len);
}

void sip_rtp_skip(struct sip_call *call, const tandem_frame *frame) {
    struct sip_rtp *rtp = &call->rtp;
    /* the RTP clock may differ from the codec's linear rate (opus: 48 kHz) */
    uint32_t samples = frame->samples ? frame->samples : (uint32_t)frame->len;
    const struct sip_media *c = &rtp->codec;
    rtp->session.ts += c->codec_rate && c->rtp_rate != c->codec_rate
                           ? (uint32_t)((uint64_t)samples * c->rtp_rate / c->codec_rate)
                           : samples;
}

void sip_rtp_announce_codec(struct sip_call *call, tandem_leg *leg) {
    if (!call->rtp.format) return; /* a late offer: the ACK will say */
    sip_host->leg_set_format(leg, call->rtp.format);
    if (sip_host->abi_minor >= 3 && sip_host->struct_size >= offsetof(tandem_host, leg_set_format_params) +
                                                                 sizeof sip_host->leg_set_format_params)
        sip_host->leg_set_format_params(leg, call->rtp.codec.remote_fmtp);
}

static void set_var_u64(tandem_leg *leg, const char *name, uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    sip_host->leg_set_var(leg, name, buf);
}

static void set_var_ms(tandem_leg *leg, const char *name, double v) {
    if (v < 0) return; /* unknown: not set */
    char buf[32];
    snprintf(buf, sizeof buf, "%.1f", v);
    sip_host->leg_set_var(leg, name, buf);
}

void sip_rtp_set_vars(struct sip_call *call, tandem_leg *leg) {
    struct sip_rtp *rtp = &call->rtp;
    if (rtp->format && rtp->pt >= 0) sip_host->leg_set_var(leg, "rtp_codec", rtp->format);
    set_var_u64(leg, "rtp_rx_packets", rtp->rx_packets);
    set_var_u64(leg, "rtp_tx_packets", rtp->tx_packets);
    set_var_ms(leg, "rtcp_jitter_ms", tandem_rtp_session_jitter_ms(&rtp->session));
    set_var_ms(leg, "rtcp_loss_pct", tandem_rtp_session_loss_pct(&rtp->session));
    set_var_ms(leg, "rtcp_rtt_ms", tandem_rtp_session_rtt_ms(&rtp->session));
}

static void cancel_timer(struct sip_call *call, uint64_t *timer) {
    if (!*timer) return;
    sip_host->timer_cancel(sip_self, *timer);
    *timer = 0;
    sip_call_unref(call); /* the cancelled timer's reference */
}

void sip_rtp_close(struct sip_call *call) {
    struct sip_rtp *rtp = &call->rtp;
    cancel_timer(call, &rtp->dtmf.timer);
    playout_leave(call);
    cancel_timer(call, &rtp->rtcp_timer);
    rtp->dtmf.active = false;
    if (rtp->fd >= 0 && rtp->have_remote &&
        (rtp->session.tx_packets_total || rtp->session.rx.started)) {
        uint8_t pkt[RTCP_ROOM]; /* RFC 3550 6.6: a BYE, in a compound packet with our last report */
        rtcp_send(rtp, pkt, tandem_rtcp_session_bye(&rtp->session, pkt, RTCP_MAX, sip_mono_us(), ntp_now(),
                                                     rtp->local_ip));
    }
    if (rtp->watched) sip_host->fd_unwatch(sip_self, rtp->fd);
    if (rtp->rtcp_watched) sip_host->fd_unwatch(sip_self, rtp->rtcp_fd);
    rtp->watched = rtp->rtcp_watched = false;
    if (rtp->fd >= 0) {
        struct sip_rtp_pair kept = {.fd = rtp->fd, .rtcp_fd = rtp->rtcp_fd, .port = rtp->port,
                                    .have_last = rtp->latched, .last = rtp->remote,
                                    .last_ssrc = rtp->latched_ssrc};
        if (!sip_rtp_pool_put(rtp->local_ip, &kept)) {
            close(rtp->fd);
            if (rtp->rtcp_fd >= 0) close(rtp->rtcp_fd);
        }
    } else if (rtp->rtcp_fd >= 0) {
        close(rtp->rtcp_fd);
    }
    rtp->fd = rtp->rtcp_fd = -1;
    free(rtp->jb);
    rtp->jb = NULL;
    sip_ptime_close(rtp);
    sip_srtp_stop(rtp);
}
