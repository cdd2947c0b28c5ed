/* ptime: how much audio each RTP packet carries (RFC 4566 a=ptime,
 * a=maxptime). The engine works in 20 ms frames; the far end may send and
 * want packets of 10 to 60 ms. For codecs whose payload is one byte per
 * timestamp unit (G.711, G.722) we send packets of the far end's ptime by
 * re-cutting our frames (tandem_rechunk), and cut what it sends into 20 ms
 * frames: with the jitter buffer, by tandem_jb_push_split (sip_rtp.c);
 * without it, here. Other codecs (Opus) cannot be joined byte-wise: they
 * stay one 20 ms frame a packet. Worker only. */
#include "sip_internal.h"
#include "sip_trunk.h"

#include <stdlib.h>
#include <strings.h>

bool sip_ptime_splittable(const struct sip_media *c) {
    if (c->pt == 0 || c->pt == 8) return true;
    /* G.722's RTP clock is 8000 although it samples at 16 kHz (RFC 3551):
     * 64 kbit/s is again one byte per timestamp unit */
    return strcasecmp(c->encoding, "G722") == 0 && c->rtp_rate == 8000 && c->channels <= 1;
}

int sip_ptime_own(const struct sip_call *call) {
    return call->trunk && call->trunk->ptime ? call->trunk->ptime : sip_cfg.ptime;
}

int sip_ptime_choose(const struct sip_media *m, int own) {
    if (!sip_ptime_splittable(m)) return 20;
    int ms = m->ptime ? m->ptime : own;
    if (m->maxptime && ms > m->maxptime) ms = m->maxptime;
    ms -= ms % 10;
    return ms < 10 ? 10 : ms > 60 ? 60 : ms;
}

static void send_chunk(void *arg, uint32_t ts, const uint8_t *data, size_t len) {
    sip_rtp_send_audio(arg, ts, data, len);
}

void sip_ptime_flush(struct sip_rtp *rtp) {
    if (rtp->tx_chunk) tandem_rechunk_flush(rtp->tx_chunk, send_chunk, rtp);
}

void sip_ptime_set_remote(struct sip_call *call, const struct sip_media *m) {
    struct sip_rtp *rtp = &call->rtp;
    sip_ptime_flush(rtp); /* under the payload type it was cut for */
    if (rtp->rx_chunk && m->pt != rtp->pt) rtp->rx_chunk->len = 0; /* a codec change: the rest is useless */
    rtp->tx_ptime = sip_ptime_choose(m, sip_ptime_own(call));
    if (rtp->tx_ptime == 20) {
        free(rtp->tx_chunk);
        rtp->tx_chunk = NULL;
        return;
    }
    if (!rtp->tx_chunk && !(rtp->tx_chunk = malloc(sizeof *rtp->tx_chunk))) {
        rtp->tx_ptime = 20; /* out of memory: one frame a packet still works */
        return;
    }
    tandem_rechunk_init(rtp->tx_chunk, (size_t)rtp->tx_ptime * m->rtp_rate / 1000);
}

bool sip_ptime_write(struct sip_rtp *rtp, const uint8_t *data, size_t len) {
    size_t packet = (size_t)rtp->tx_ptime * rtp->codec.rtp_rate / 1000;
    if (!rtp->tx_chunk) {
        /* 20 ms packets, and the frame is one (the usual case): as it is.
         * A frame of another length (relayed from a leg with another ptime)
         * is re-cut into packets of ours. */
        if (len == packet || !packet || !sip_ptime_splittable(&rtp->codec)) return false;
        if (!(rtp->tx_chunk = malloc(sizeof *rtp->tx_chunk))) return false;
        tandem_rechunk_init(rtp->tx_chunk, packet);
    }
    /* session.ts is this frame's timestamp: the waiting bytes end there */
    tandem_rechunk_push(rtp->tx_chunk, rtp->session.ts, data, len, send_chunk, rtp);
    return true;
}

static void push_frame(void *arg, uint32_t ts, const uint8_t *data, size_t len) {
    (void)ts;
    sip_rtp_push_audio(arg, data, len);
}

void sip_ptime_receive(struct sip_call *call, uint32_t ts, const uint8_t *data, size_t len) {
    struct sip_rtp *rtp = &call->rtp;
    size_t frame = rtp->codec.rtp_rate / 50;
    if (!sip_ptime_splittable(&rtp->codec)) {
        sip_rtp_push_audio(call, data, len);
        return;
    }
    if (!rtp->rx_chunk) {
        if (len == frame || !(rtp->rx_chunk = malloc(sizeof *rtp->rx_chunk))) {
            sip_rtp_push_audio(call, data, len); /* 20 ms packets need no state */
            return;
        }
        tandem_rechunk_init(rtp->rx_chunk, frame);
    }
    tandem_rechunk_push(rtp->rx_chunk, ts, data, len, push_frame, call);
}

void sip_ptime_close(struct sip_rtp *rtp) {
    free(rtp->tx_chunk);
    free(rtp->rx_chunk);
    rtp->tx_chunk = rtp->rx_chunk = NULL;
}
