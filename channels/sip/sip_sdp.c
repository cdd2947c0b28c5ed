/* SDP: parse the far end's offer/answer with sofia-sip's parser (it does the
 * bounds checking), keep only what a G.711 call needs; build ours with
 * snprintf. Any thread: no shared state. */
#include "sip_internal.h"

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include <arpa/inet.h>
#include <stdio.h>
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

int sip_sdp_parse(const char *body, size_t len, struct sip_media *out) {
    memset(out, 0, sizeof *out);
    out->pt = -1;
    out->dtmf_pt = -1;
    if (!body || len == 0 || len > 65536) return -1;
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
            if (r->rm_pt == 0 && (!enc || strcasecmp(enc, "PCMU") == 0)) out->pt = 0;
            else if (r->rm_pt == 8 && (!enc || strcasecmp(enc, "PCMA") == 0)) out->pt = 8;
        }
        /* a bare m= line without rtpmaps: fall back to the format list */
        for (sdp_list_t *f = m->m_format; f && out->pt < 0 && !m->m_rtpmaps; f = f->l_next) {
            int pt = format_pt(f->l_text);
            if (pt == 0 || pt == 8) out->pt = pt;
        }
        for (sdp_rtpmap_t *r = m->m_rtpmaps; r; r = r->rm_next)
            if (r->rm_encoding && strcasecmp(r->rm_encoding, "telephone-event") == 0 &&
                r->rm_rate == 8000 && r->rm_pt >= 96 && r->rm_pt <= 127) {
                out->dtmf_pt = (int)r->rm_pt;
                break;
            }
        sdp_connection_t *c = m->m_connections ? m->m_connections : s->sdp_connection;
        if (c && c->c_addrtype == sdp_addr_ip4 && c->c_address &&
            inet_pton(AF_INET, c->c_address, &out->remote.sin_addr) == 1 && m->m_port <= 65535) {
            out->remote.sin_family = AF_INET;
            out->remote.sin_port = htons((uint16_t)m->m_port);
        } else {
            out->pt = -1; /* no IPv4 address we can send to */
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
    char fmts[32], maps[256];
    if (pt < 0) {
        snprintf(fmts, sizeof fmts, "0 8 101");
        snprintf(maps, sizeof maps,
                 "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
                 "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n");
    } else if (dtmf_pt >= 0) {
        snprintf(fmts, sizeof fmts, "%d %d", pt, dtmf_pt);
        snprintf(maps, sizeof maps,
                 "a=rtpmap:%d %s/8000\r\na=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n",
                 pt, pt == 0 ? "PCMU" : "PCMA", dtmf_pt, dtmf_pt);
    } else {
        snprintf(fmts, sizeof fmts, "%d", pt);
        snprintf(maps, sizeof maps, "a=rtpmap:%d %s/8000\r\n", pt, pt == 0 ? "PCMU" : "PCMA");
    }
    int n = snprintf(buf, cap,
                     "v=0\r\no=tandem %u %u IN IP4 %s\r\ns=tandem\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                     "m=audio %d RTP/AVP %s\r\n%sa=ptime:20\r\na=sendrecv\r\n",
                     session_id, session_id, ip, ip, port, fmts, maps);
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}
