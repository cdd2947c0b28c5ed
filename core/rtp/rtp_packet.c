/* RTP packets and RFC 4733 telephone-events: parsing and writing. Every
 * length read from the packet is checked against the buffer: the sender is
 * untrusted. */
#include <tandem/rtp.h>

#include <string.h>

static uint16_t be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static uint32_t be32(const uint8_t *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int tandem_rtp_parse(const uint8_t *buf, size_t len, tandem_rtp_packet *out) {
    if (!buf || len < TANDEM_RTP_HEADER_SIZE || (buf[0] >> 6) != 2) return -1;
    size_t off = TANDEM_RTP_HEADER_SIZE + 4u * (buf[0] & 0x0f); /* CSRCs */
    if (off > len) return -1;
    if (buf[0] & 0x10) { /* header extension: 4 bytes, then its length in words */
        if (off + 4 > len) return -1;
        off += 4 + 4u * be16(buf + off + 2);
        if (off > len) return -1;
    }
    size_t end = len;
    if (buf[0] & 0x20) { /* padding: the last byte counts it, itself included */
        size_t pad = buf[len - 1];
        if (pad == 0 || pad > end - off) return -1;
        end -= pad;
    }
    out->marker = (buf[1] & 0x80) != 0;
    out->pt = buf[1] & 0x7f;
    out->seq = be16(buf + 2);
    out->ts = be32(buf + 4);
    out->ssrc = be32(buf + 8);
    out->payload = buf + off;
    out->payload_len = end - off;
    return 0;
}

void tandem_rtp_write_header(uint8_t out[TANDEM_RTP_HEADER_SIZE], uint8_t pt, bool marker,
                             uint16_t seq, uint32_t ts, uint32_t ssrc) {
    out[0] = 0x80;
    out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    out[2] = (uint8_t)(seq >> 8);
    out[3] = (uint8_t)seq;
    put32(out + 4, ts);
    put32(out + 8, ssrc);
}

bool tandem_rtp_is_rtcp(const uint8_t *buf, size_t len) {
    /* RFC 5761 4: RTCP packet types 192-223 would be RTP payload types 64-95
     * with the marker bit, which no dynamic mapping uses */
    return len >= 8 && (buf[0] >> 6) == 2 && buf[1] >= 192 && buf[1] <= 223;
}

int tandem_rtp_event_parse(const uint8_t *payload, size_t len, tandem_rtp_event *out) {
    if (!payload || len < TANDEM_RTP_EVENT_SIZE) return -1;
    out->event = payload[0];
    out->end = (payload[1] & 0x80) != 0;
    out->volume = payload[1] & 0x3f;
    out->duration = be16(payload + 2);
    return 0;
}

void tandem_rtp_event_write(uint8_t out[TANDEM_RTP_EVENT_SIZE], const tandem_rtp_event *ev) {
    out[0] = ev->event;
    out[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->volume & 0x3f));
    out[2] = (uint8_t)(ev->duration >> 8);
    out[3] = (uint8_t)ev->duration;
}

char tandem_rtp_event_digit(unsigned event) {
    static const char map[] = "0123456789*#ABCD";
    return event < 16 ? map[event] : 0;
}

int tandem_rtp_digit_event(char digit) {
    if (digit >= '0' && digit <= '9') return digit - '0';
    static const char rest[] = "*#ABCD";
    const char *p = digit ? strchr(rest, digit >= 'a' && digit <= 'd' ? digit - 32 : digit) : NULL;
    return p ? 10 + (int)(p - rest) : -1;
}
