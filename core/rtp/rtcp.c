/* RTCP (RFC 3550 section 6): parsing compound packets, building SR/RR with
 * SDES CNAME (and BYE), and the session bookkeeping behind them: what to
 * report about the source we receive, and the round trip from what the far
 * end reports about us (LSR/DLSR, 6.4.1). */
#include <tandem/rtp.h>

#include <string.h>

enum { RTCP_SR = 200, RTCP_RR = 201, RTCP_SDES = 202, RTCP_BYE = 203 };

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void read_blocks(const uint8_t *p, int count, tandem_rtcp_info *out) {
    for (int i = 0; i < count && out->block_count < TANDEM_RTCP_MAX_BLOCKS; ++i, p += 24) {
        tandem_rtcp_report_block *b = &out->blocks[out->block_count++];
        b->ssrc = be32(p);
        b->fraction_lost = p[4];
        uint32_t lost = ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7];
        b->cumulative_lost = (lost & 0x800000) ? (int32_t)(lost | 0xff000000u) : (int32_t)lost;
        b->ext_highest_seq = be32(p + 8);
        b->jitter = be32(p + 12);
        b->lsr = be32(p + 16);
        b->dlsr = be32(p + 20);
    }
}

int tandem_rtcp_parse(const uint8_t *buf, size_t len, tandem_rtcp_info *out) {
    memset(out, 0, sizeof *out);
    if (!buf || len < 8 || (len & 3)) return -1;
    /* A.2: the first packet is an SR or RR without padding */
    if ((buf[0] & 0xe0) != 0x80 || (buf[1] != RTCP_SR && buf[1] != RTCP_RR)) return -1;
    size_t off = 0;
    while (off < len) {
        const uint8_t *p = buf + off;
        if (len - off < 4 || (p[0] >> 6) != 2) return -1;
        size_t plen = 4u * ((size_t)be16(p + 2) + 1);
        if (plen > len - off) return -1;
        int count = p[0] & 0x1f;
        size_t body = plen; /* the bytes of this packet, less its padding */
        if (p[0] & 0x20) {
            size_t pad = p[plen - 1];
            if (pad == 0 || pad > plen - 4) return -1;
            body -= pad;
        }
        if (p[1] == RTCP_SR) {
            if (body < 28 + 24u * (size_t)count) return -1;
            out->has_sr = true;
            out->sender_ssrc = be32(p + 4);
            out->ntp = ((uint64_t)be32(p + 8) << 32) | be32(p + 12);
            out->rtp_ts = be32(p + 16);
            out->packet_count = be32(p + 20);
            out->octet_count = be32(p + 24);
            read_blocks(p + 28, count, out);
        } else if (p[1] == RTCP_RR) {
            if (body < 8 + 24u * (size_t)count) return -1;
            out->has_rr = true;
            out->sender_ssrc = be32(p + 4);
            read_blocks(p + 8, count, out);
        } else if (p[1] == RTCP_BYE) {
            if (body < 4 + 4u * (size_t)count) return -1;
            out->has_bye = true;
        }
        off += plen;
    }
    return 0;
}

uint64_t tandem_ntp_from_unix_us(uint64_t unix_us) {
    const uint64_t epoch_offset = 2208988800u; /* 1900 -> 1970 */
    uint64_t sec = unix_us / 1000000u + epoch_offset;
    uint64_t frac = ((unix_us % 1000000u) << 32) / 1000000u;
    return (sec << 32) | frac;
}

/* --- the session --- */

void tandem_rtp_session_init(tandem_rtp_session *s, const uint8_t random[12], uint32_t clock_rate) {
    memset(s, 0, sizeof *s);
    s->ssrc = be32(random);
    s->seq = be16(random + 4);
    s->ts = be32(random + 8);
    s->clock_rate = clock_rate ? clock_rate : 8000;
    s->rx.clock_rate = s->clock_rate;
    s->rtt_us = -1;
}

void tandem_rtp_session_header(tandem_rtp_session *s, uint8_t out[TANDEM_RTP_HEADER_SIZE],
                               uint8_t pt, bool marker, uint32_t ts) {
    tandem_rtp_write_header(out, pt, marker, s->seq++, ts, s->ssrc);
}

void tandem_rtp_session_sent(tandem_rtp_session *s, size_t payload_len) {
    s->tx_packets++;
    s->tx_octets += (uint32_t)payload_len;
    s->tx_packets_total++;
    s->sent_since_report = true;
}

void tandem_rtp_session_received(tandem_rtp_session *s, const tandem_rtp_packet *p, uint64_t now_us) {
    s->rx.clock_rate = s->clock_rate;
    tandem_rtp_rx_update(&s->rx, p->ssrc, p->seq, p->ts, now_us);
    s->rx_packets_total++;
}

int tandem_rtcp_session_receive(tandem_rtp_session *s, const uint8_t *buf, size_t len,
                                uint64_t now_us, uint64_t ntp_now) {
    tandem_rtcp_info info;
    if (tandem_rtcp_parse(buf, len, &info) != 0) return -1;
    s->rtcp_received++;
    if (info.has_sr) {
        s->last_sr_mid = (uint32_t)(info.ntp >> 16);
        s->last_sr_at_us = now_us ? now_us : 1;
    }
    for (int i = 0; i < info.block_count; ++i) {
        const tandem_rtcp_report_block *b = &info.blocks[i];
        if (b->ssrc != s->ssrc) continue;
        s->have_remote_report = true;
        s->remote_report = *b;
        if (b->lsr == 0) continue; /* they have not heard an SR from us yet */
        /* RTT = now - LSR - DLSR, all in 1/65536 s (middle 32 bits of NTP) */
        uint32_t now_mid = (uint32_t)(ntp_now >> 16);
        uint32_t rtt = now_mid - b->lsr - b->dlsr;
        if (rtt < (10u << 16)) /* more than 10 s is a clock or packet error */
            s->rtt_us = (int32_t)(((uint64_t)rtt * 1000000u) >> 16);
    }
    return 0;
}

static uint8_t *put_block(uint8_t *p, tandem_rtp_session *s, uint64_t now_us) {
    tandem_rtp_rx_stats *rx = &s->rx;
    uint32_t expected = tandem_rtp_rx_expected(rx);
    uint32_t expected_interval = expected - rx->expected_prior;
    uint64_t received_interval = rx->received - rx->received_prior;
    rx->expected_prior = expected;
    rx->received_prior = rx->received;
    int64_t lost_interval = (int64_t)expected_interval - (int64_t)received_interval;
    uint8_t fraction = (expected_interval == 0 || lost_interval <= 0)
                           ? 0
                           : (uint8_t)(((uint64_t)lost_interval << 8) / expected_interval);
    int64_t lost = tandem_rtp_rx_lost(rx);
    if (lost > 0x7fffff) lost = 0x7fffff;
    if (lost < -0x800000) lost = -0x800000;
    put32(p, rx->ssrc);
    p[4] = fraction;
    uint32_t l24 = (uint32_t)lost & 0xffffff;
    p[5] = (uint8_t)(l24 >> 16);
    p[6] = (uint8_t)(l24 >> 8);
    p[7] = (uint8_t)l24;
    put32(p + 8, tandem_rtp_rx_extended_max(rx));
    put32(p + 12, tandem_rtp_rx_jitter(rx));
    put32(p + 16, s->last_sr_at_us ? s->last_sr_mid : 0);
    uint32_t dlsr = 0;
    if (s->last_sr_at_us && now_us >= s->last_sr_at_us)
        dlsr = (uint32_t)(((now_us - s->last_sr_at_us) << 16) / 1000000u);
    put32(p + 20, dlsr);
    return p + 24;
}

/* SR or RR, then SDES CNAME; returns the end, or NULL when it won't fit */
static uint8_t *put_report(tandem_rtp_session *s, uint8_t *p, uint8_t *end, uint64_t now_us,
                           uint64_t ntp_now, const char *cname) {
    bool sr = s->sent_since_report;
    bool block = s->rx.started;
    size_t cname_len = cname ? strlen(cname) : 0;
    if (cname_len > 255) cname_len = 255;
    size_t sdes = (4 + 4 + 2 + cname_len + 1 + 3) & ~(size_t)3; /* chunk ends with a null item */
    size_t need = (sr ? 28 : 8) + (block ? 24 : 0) + sdes;
    if ((size_t)(end - p) < need) return NULL;
    uint8_t *start = p;
    p[0] = (uint8_t)(0x80 | (block ? 1 : 0));
    p[1] = sr ? RTCP_SR : RTCP_RR;
    put32(p + 4, s->ssrc);
    p += 8;
    if (sr) {
        put32(p, (uint32_t)(ntp_now >> 32));
        put32(p + 4, (uint32_t)ntp_now);
        /* the RTP time that corresponds to now: our last timestamp */
        put32(p + 8, s->ts);
        put32(p + 12, s->tx_packets);
        put32(p + 16, s->tx_octets);
        p += 20;
    }
    if (block) p = put_block(p, s, now_us);
    put16(start + 2, (uint16_t)((p - start) / 4 - 1));
    /* SDES: one chunk, our SSRC, CNAME, then zero bytes to a word boundary */
    uint8_t *sd = p;
    memset(sd, 0, sdes);
    sd[0] = 0x81;
    sd[1] = RTCP_SDES;
    put16(sd + 2, (uint16_t)(sdes / 4 - 1));
    put32(sd + 4, s->ssrc);
    sd[8] = 1; /* CNAME */
    sd[9] = (uint8_t)cname_len;
    if (cname_len) memcpy(sd + 10, cname, cname_len);
    s->sent_since_report = false;
    s->rtcp_sent++;
    return sd + sdes;
}

size_t tandem_rtcp_session_report(tandem_rtp_session *s, uint8_t *out, size_t cap,
                                  uint64_t now_us, uint64_t ntp_now, const char *cname) {
    uint8_t *end = put_report(s, out, out + cap, now_us, ntp_now, cname);
    return end ? (size_t)(end - out) : 0;
}

size_t tandem_rtcp_session_bye(tandem_rtp_session *s, uint8_t *out, size_t cap, uint64_t now_us,
                               uint64_t ntp_now, const char *cname) {
    uint8_t *end = put_report(s, out, out + cap, now_us, ntp_now, cname);
    if (!end || (size_t)(out + cap - end) < 8) return 0;
    end[0] = 0x81;
    end[1] = RTCP_BYE;
    put16(end + 2, 1);
    put32(end + 4, s->ssrc);
    return (size_t)(end + 8 - out);
}

uint32_t tandem_rtcp_interval_ms(uint32_t base_ms, uint32_t random) {
    /* 6.3.1: the deterministic interval times a uniform factor in
     * [0.5, 1.5), against synchronised reports; the e-3/2 compensation for
     * timer reconsideration applies to large groups, not two parties */
    return (uint32_t)((uint64_t)base_ms * (32768u + (random & 0xffff)) >> 16);
}

double tandem_rtp_session_jitter_ms(const tandem_rtp_session *s) {
    if (!s->rx.started || s->rx.received < 2) return -1;
    return tandem_rtp_rx_jitter(&s->rx) * 1000.0 / s->clock_rate;
}

double tandem_rtp_session_loss_pct(const tandem_rtp_session *s) {
    uint32_t expected = tandem_rtp_rx_expected(&s->rx);
    if (!s->rx.started || expected == 0) return -1;
    int64_t lost = tandem_rtp_rx_lost(&s->rx);
    return lost <= 0 ? 0.0 : 100.0 * (double)lost / expected;
}

double tandem_rtp_session_rtt_ms(const tandem_rtp_session *s) {
    return s->rtt_us < 0 ? -1 : s->rtt_us / 1000.0;
}
