/* SDP: parse the far end's offer/answer with sofia-sip's parser (it does the
 * bounds checking), keep only what a call needs (IPv4 or IPv6); build ours with
 * snprintf. Any thread: no shared state. */
#include "sip_internal.h"

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Payload type named by an m= format entry, or -1. */
static int format_pt(const char *text) {
    if (!text || !*text) return -1;
    int v = 0;
    for (const char *p = text; *p; ++p) {
        if (*p < '0' || *p > '9' || v > 127) return -1;
        v = v * 10 + (*p - '0');
    }
    return v <= 127 ? v : -1;
}

/* sofia rejects a whole SDP for one malformed attribute (e.g. an rtpmap
 * without a clock rate, which RFC 4475's messages carry for a video stream).
 * RFC 4566 tells receivers to ignore attributes they do not understand, so
 * each malformed a= line is dropped from a copy and the copy parsed again;
 * a malformed line of any other type still rejects the SDP. */
#define SDP_MAX_DROPPED 16
static sdp_parser_t *parse_lenient(su_home_t *home, const char *body, size_t len) {
    sdp_parser_t *parser = sdp_parse(home, body, (issize_t)len, 0);
    char *copy = NULL;
    for (int dropped = 0; parser && !sdp_session(parser) && dropped < SDP_MAX_DROPPED; ++dropped) {
        /* the error text starts with the offending line */
        const char *err = sdp_parsing_error(parser);
        const char *colon = err ? strstr(err, ": ") : NULL;
        if (!err || strncmp(err, "a=", 2) != 0 || !colon) break;
        if (!copy && !(copy = su_strndup(home, body, (isize_t)len))) break;
        size_t bad_len = (size_t)(colon - err);
        char *line = NULL;
        for (char *p = copy; (p = strstr(p, "a=")) != NULL; p += 2)
            if ((p == copy || p[-1] == '\n') && strncmp(p, err, bad_len) == 0 &&
                (p[bad_len] == '\r' || p[bad_len] == '\n' || p[bad_len] == '\0')) {
                line = p;
                break;
            }
        if (!line) break;
        char *next = line + bad_len;
        while (*next == '\r' || *next == '\n') ++next;
        memmove(line, next, strlen(next) + 1);
        sdp_parser_free(parser);
        parser = sdp_parse(home, copy, (issize_t)strlen(copy), 0);
    }
    return parser;
}

/* sofia-sip 1.12.11's sdp_parse never returns on some malformed m= lines
 * (a transport with a character outside a token before a '/', "RT\t/AVP",
 * or starting with '/', "m=audio 4000PRT /SAVP"; found by
 * tests/fuzz/fuzz_sdp): one INVITE would hang the SIP thread. So every m=
 * line must have RFC 4566's shape before sofia sees the body:
 * "m=" token SP port["/"count] SP token *("/" token) *(SP token); every
 * line is "x=..."; and the body has no control characters but CRLF (or
 * bare LF) line ends, so that we and sofia see the same lines. */
static bool token_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("-.!%*_+`'~", c));
}

static bool media_line_ok(const char *p, const char *end) {
    const char *q = p;
    while (q < end && token_char((unsigned char)*q)) q++;
    if (q == p || q == end || *q != ' ') return false;
    while (q < end && *q == ' ') q++;
    p = q;
    while (q < end && *q >= '0' && *q <= '9') q++;
    if (q == p) return false;
    if (q < end && *q == '/') {
        p = ++q;
        while (q < end && *q >= '0' && *q <= '9') q++;
        if (q == p) return false;
    }
    if (q == end || *q != ' ') return false;
    while (q < end && *q == ' ') q++;
    for (;;) { /* token *("/" token) */
        p = q;
        while (q < end && token_char((unsigned char)*q)) q++;
        if (q == p) return false;
        if (q < end && *q == '/') {
            q++;
            continue;
        }
        break;
    }
    for (;;) { /* *(SP fmt) */
        if (q == end) return true;
        if (*q != ' ') return false;
        while (q < end && *q == ' ') q++;
        while (q < end && token_char((unsigned char)*q)) q++;
    }
}

static bool media_lines_ok(const char *body, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        unsigned char c = (unsigned char)body[i];
        if ((c < 0x20 && c != '\n' && c != '\r') || c == 0x7f) return false;
        if (c == '\r' && (i + 1 == len || body[i + 1] != '\n')) return false;
    }
    const char *end = body + len;
    for (const char *line = body; line < end;) {
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) eol = end;
        const char *stop = eol > line && eol[-1] == '\r' ? eol - 1 : eol;
        if (stop > line && (stop - line < 2 || line[0] < 'a' || line[0] > 'z' || line[1] != '='))
            return false; /* every line is TYPE=VALUE (a line starting with a
                             space after an m= line made sofia allocate without end) */
        if (stop - line >= 2 && line[0] == 'm' && line[1] == '=' && !media_line_ok(line + 2, stop))
            return false;
        line = eol + (eol < end);
    }
    return true;
}

size_t (*sip_sdp_codecs)(struct sip_codec_info *out, size_t cap);

#define SIP_SDP_MAX_CODECS 16
#define SIP_SDP_FIRST_DYNAMIC 96
#define SIP_SDP_DTMF_PT 101

static void set_g711(struct sip_media *out, int pt) {
    const char *name = pt == 8 ? "PCMA" : "PCMU";
    out->pt = pt;
    snprintf(out->codec, sizeof out->codec, "%s", name);
    snprintf(out->encoding, sizeof out->encoding, "%s", name);
    out->rtp_rate = out->codec_rate = 8000;
    out->channels = 1;
    out->fmtp[0] = 0;
}

/* RFC 3551's static payload types for codecs a module may register (PCMU
 * and PCMA are the channel's own): such a codec is offered and accepted
 * under its static type, as every phone expects, not a dynamic one. */
static const struct {
    int pt;
    const char *encoding;
    uint32_t rate;
} static_types[] = {{9, "G722", 8000}};

static int static_pt(const char *encoding, uint32_t rate, uint32_t channels) {
    for (size_t i = 0; i < sizeof static_types / sizeof static_types[0]; ++i)
        if (strcasecmp(encoding, static_types[i].encoding) == 0 && rate == static_types[i].rate && channels <= 1)
            return static_types[i].pt;
    return -1;
}

/* A static type of the table above (encoding from the table when the offer
 * has no rtpmap for it) or a dynamic one, whose rtpmap names one of the
 * registered codecs (same encoding, clock rate and channel count). */
static void pick_registered(struct sip_media *out, const sdp_rtpmap_t *r, const struct sip_codec_info *codecs,
                            size_t n) {
    const char *encoding = r->rm_encoding;
    uint32_t rate = r->rm_rate;
    for (size_t i = 0; i < sizeof static_types / sizeof static_types[0]; ++i)
        if ((int)r->rm_pt == static_types[i].pt && (!encoding || !*encoding)) {
            encoding = static_types[i].encoding;
            rate = static_types[i].rate;
        }
    if (!encoding || (r->rm_pt < 96 && static_pt(encoding, rate, 1) != (int)r->rm_pt)) return;
    uint32_t channels = r->rm_params && *r->rm_params ? (uint32_t)strtoul(r->rm_params, NULL, 10) : 1;
    for (size_t i = 0; i < n; ++i) {
        const struct sip_codec_info *c = &codecs[i];
        if (strcasecmp(encoding, c->encoding) != 0 || rate != c->rtp_rate ||
            channels != (c->channels ? c->channels : 1))
            continue;
        out->pt = (int)r->rm_pt;
        snprintf(out->codec, sizeof out->codec, "%s", c->name);
        snprintf(out->encoding, sizeof out->encoding, "%s", c->encoding);
        out->rtp_rate = c->rtp_rate;
        out->codec_rate = c->codec_rate;
        out->channels = c->channels;
        snprintf(out->fmtp, sizeof out->fmtp, "%s", c->fmtp);
        snprintf(out->remote_fmtp, sizeof out->remote_fmtp, "%s", r->rm_fmtp ? r->rm_fmtp : "");
        return;
    }
}

/* RFC 3605 "a=rtcp:PORT [IN IP4|IP6 ADDR]": where RTCP goes when not port + 1. */
static void rtcp_attribute(const sdp_attribute_t *a, union sip_addr *rtcp) {
    if (!a || !a->a_value) return;
    unsigned port = 0;
    char type[4] = "", addr[64] = "";
    int n = sscanf(a->a_value, "%5u IN %3s %63s", &port, type, addr);
    if (n < 1 || port == 0 || port > 65535) return;
    union sip_addr given;
    /* an address of the other family than the RTP one is ignored: our
     * socket could not send there */
    if (n == 3 && strcmp(type, sip_sdp_addrtype(addr)) == 0 && sip_addr_parse(addr, 0, &given) == 0 &&
        given.sa.sa_family == rtcp->sa.sa_family)
        *rtcp = given;
    sip_addr_set_port(rtcp, (uint16_t)port);
}

/* a=ptime / a=maxptime: whole milliseconds (RFC 4566 allows a fraction,
 * which we round down); 0 when absent or out of 1..1000. */
static int attribute_ms(const sdp_attribute_t *a) {
    if (!a || !a->a_value) return 0;
    char *end;
    unsigned long v = strtoul(a->a_value, &end, 10);
    return end != a->a_value && v >= 1 && v <= 1000 ? (int)v : 0;
}

/* The c= of a stream as a transport address: IN IP4 or IN IP6. */
static int connection_addr(const sdp_connection_t *c, unsigned long port, union sip_addr *out) {
    if (!c || !c->c_address || port > 65535) return -1;
    if (c->c_addrtype != sdp_addr_ip4 && c->c_addrtype != sdp_addr_ip6) return -1;
    if (sip_addr_parse(c->c_address, (uint16_t)port, out) != 0) return -1;
    return (out->sa.sa_family == AF_INET6) == (c->c_addrtype == sdp_addr_ip6) ? 0 : -1;
}

int sip_sdp_parse(const char *body, size_t len, struct sip_media *out) {
    memset(out, 0, sizeof *out);
    out->pt = -1;
    out->dtmf_pt = -1;
    if (!body || len == 0 || len > 65536 || !media_lines_ok(body, len)) return -1;
    struct sip_codec_info codecs[SIP_SDP_MAX_CODECS];
    size_t ncodecs = sip_sdp_codecs ? sip_sdp_codecs(codecs, SIP_SDP_MAX_CODECS) : 0;
    if (ncodecs > SIP_SDP_MAX_CODECS) ncodecs = SIP_SDP_MAX_CODECS;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sdp_parser_t *parser = parse_lenient(home, body, len);
    sdp_session_t *s = parser ? sdp_session(parser) : NULL;
    int rc = -1;
    for (sdp_media_t *m = s ? s->sdp_media : NULL; m; m = m->m_next) {
        if (m->m_type != sdp_media_audio || m->m_port == 0 || m->m_rejected) continue;
        /* For RTP media sofia lists the m= payload types as rtpmaps, in the
         * m= order (static types get a predefined entry): the offerer's
         * preference, so the first PCMU/PCMA wins. */
        for (sdp_rtpmap_t *r = m->m_rtpmaps; r && out->pt < 0; r = r->rm_next) {
            const char *enc = r->rm_encoding;
            if (r->rm_pt == 0 && (!enc || strcasecmp(enc, "PCMU") == 0)) set_g711(out, 0);
            else if (r->rm_pt == 8 && (!enc || strcasecmp(enc, "PCMA") == 0)) set_g711(out, 8);
            else if (r->rm_pt <= 127) pick_registered(out, r, codecs, ncodecs);
        }
        /* a bare m= line without rtpmaps: fall back to the format list */
        for (sdp_list_t *f = m->m_format; f && out->pt < 0 && !m->m_rtpmaps; f = f->l_next) {
            int pt = format_pt(f->l_text);
            if (pt == 0 || pt == 8) set_g711(out, pt);
        }
        for (sdp_rtpmap_t *r = m->m_rtpmaps; r; r = r->rm_next)
            if (r->rm_encoding && strcasecmp(r->rm_encoding, "telephone-event") == 0 &&
                r->rm_rate == 8000 && r->rm_pt >= 96 && r->rm_pt <= 127) {
                out->dtmf_pt = (int)r->rm_pt;
                break;
            }
        sdp_connection_t *c = m->m_connections ? m->m_connections : s->sdp_connection;
        if (connection_addr(c, m->m_port, &out->remote) == 0) {
            out->rtcp_mux = sdp_attribute_find(m->m_attributes, "rtcp-mux") != NULL;
            out->ptime = attribute_ms(sdp_attribute_find(m->m_attributes, "ptime"));
            out->maxptime = attribute_ms(sdp_attribute_find(m->m_attributes, "maxptime"));
            out->rtcp = out->remote;
            sip_addr_set_port(&out->rtcp, (uint16_t)(m->m_port + 1));
            rtcp_attribute(sdp_attribute_find(m->m_attributes, "rtcp"), &out->rtcp);
            out->savp = m->m_proto == sdp_proto_srtp;
            for (sdp_attribute_t *a = m->m_attributes; a && out->crypto.suite == TANDEM_SRTP_NONE; a = a->a_next)
                if (a->a_name && strcasecmp(a->a_name, "crypto") == 0 && a->a_value)
                    tandem_crypto_attr_parse(a->a_value, strlen(a->a_value), &out->crypto);
        } else {
            out->pt = -1; /* no IPv4 or IPv6 address we can send to */
        }
        if (out->pt >= 0) {
            out->valid = true;
            rc = 0;
        }
        break; /* only the first audio stream */
    }
    if (parser) sdp_parser_free(parser);
    su_home_deinit(home);
    return rc;
}

int sip_sdp_build(char *buf, size_t cap, const char *ip, int port, int pt, int dtmf_pt,
                  uint32_t session_id) {
    struct sip_sdp_local l = {ip, port, pt, dtmf_pt, session_id, false, 0, false, NULL, NULL};
    return sip_sdp_build_local(buf, cap, &l);
}

const char *sip_sdp_addrtype(const char *ip) { return sip_ip_is_v6(ip) ? "IP6" : "IP4"; }

static bool is_g711(const char *name) { return strcmp(name, "PCMU") == 0 || strcmp(name, "PCMA") == 0; }

/* "a=rtpmap:PT ENC/RATE[/CH]" and "a=fmtp:PT ..." for a codec */
static int put_rtpmap(char *out, size_t cap, int pt, const char *enc, uint32_t rate, uint32_t channels,
                      const char *fmtp) {
    char ch[16] = "";
    if (channels > 1) snprintf(ch, sizeof ch, "/%u", channels);
    int n = snprintf(out, cap, "a=rtpmap:%d %s/%u%s\r\n", pt, enc, rate, ch);
    if (n >= 0 && (size_t)n < cap && fmtp && *fmtp)
        n += snprintf(out + n, cap - (size_t)n, "a=fmtp:%d %s\r\n", pt, fmtp);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

int sip_sdp_build_local(char *buf, size_t cap, const struct sip_sdp_local *l) {
    char fmts[128], maps[1024];
    size_t f = 0, m = 0;
    int pt = l->pt, dtmf_pt = l->dtmf_pt;
    if (pt < 0) { /* an offer: G.711, every codec with an RTP encoding, telephone-event */
        f = (size_t)snprintf(fmts, sizeof fmts, "0 8");
        m = (size_t)snprintf(maps, sizeof maps, "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n");
        struct sip_codec_info codecs[SIP_SDP_MAX_CODECS];
        size_t n = sip_sdp_codecs ? sip_sdp_codecs(codecs, SIP_SDP_MAX_CODECS) : 0;
        int next = SIP_SDP_FIRST_DYNAMIC;
        for (size_t i = 0; i < n && i < SIP_SDP_MAX_CODECS && next <= 127; ++i) {
            if (is_g711(codecs[i].name)) continue;
            if (next == SIP_SDP_DTMF_PT) next++;
            int fixed = static_pt(codecs[i].encoding, codecs[i].rtp_rate, codecs[i].channels);
            int type = fixed >= 0 ? fixed : next;
            int w = put_rtpmap(maps + m, sizeof maps - m, type, codecs[i].encoding, codecs[i].rtp_rate,
                               codecs[i].channels, codecs[i].fmtp);
            int v = snprintf(fmts + f, sizeof fmts - f, " %d", type);
            if (w < 0 || v < 0 || (size_t)v >= sizeof fmts - f) return -1;
            m += (size_t)w;
            f += (size_t)v;
            if (fixed < 0) next++;
        }
        int v = snprintf(fmts + f, sizeof fmts - f, " %d", SIP_SDP_DTMF_PT);
        int w = snprintf(maps + m, sizeof maps - m, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n",
                         SIP_SDP_DTMF_PT, SIP_SDP_DTMF_PT);
        if (v < 0 || (size_t)v >= sizeof fmts - f || w < 0 || (size_t)w >= sizeof maps - m) return -1;
    } else { /* an answer: the chosen codec, telephone-event if offered */
        const struct sip_media *c = l->codec;
        int w = (pt == 0 || pt == 8 || !c)
                    ? put_rtpmap(maps, sizeof maps, pt, pt == 8 ? "PCMA" : "PCMU", 8000, 1, NULL)
                    : put_rtpmap(maps, sizeof maps, pt, c->encoding, c->rtp_rate, c->channels, c->fmtp);
        if (w < 0) return -1;
        m = (size_t)w;
        if (dtmf_pt >= 0) {
            snprintf(fmts, sizeof fmts, "%d %d", pt, dtmf_pt);
            w = snprintf(maps + m, sizeof maps - m, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n",
                         dtmf_pt, dtmf_pt);
            if (w < 0 || (size_t)w >= sizeof maps - m) return -1;
        } else {
            snprintf(fmts, sizeof fmts, "%d", pt);
        }
    }
    const char *type = sip_sdp_addrtype(l->ip);
    int n = snprintf(buf, cap,
                     "v=0\r\no=tandem %u %u IN %s %s\r\ns=tandem\r\nc=IN %s %s\r\nt=0 0\r\n"
                     "m=audio %d RTP/%s %s\r\n%sa=ptime:%d\r\n%s%sa=sendrecv\r\n",
                     l->session_id, l->session_id, type, l->ip, type, l->ip, l->port, l->savp ? "SAVP" : "AVP", fmts,
                     maps, l->ptime > 0 ? l->ptime : 20, l->rtcp_mux ? "a=rtcp-mux\r\n" : "", l->crypto ? l->crypto : "");
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}
