/* The media keys of the SIP module's configuration (see README.md). */
#include "sip_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The registered codecs that say how they travel in RTP (ABI 1.2), for SDP. */
static size_t registered_codecs(struct sip_codec_info *out, size_t cap) {
    const tandem_codec *list[32];
    size_t n = sip_host->codec_list(list, 32), found = 0;
    for (size_t i = 0; i < n && i < 32 && found < cap; ++i) {
        const tandem_codec *c = list[i];
        if (c->struct_size < offsetof(tandem_codec, rtp_fmtp) + sizeof c->rtp_fmtp || !c->rtp_encoding ||
            !c->name || strlen(c->name) >= sizeof out->name || strlen(c->rtp_encoding) >= sizeof out->encoding)
            continue;
        struct sip_codec_info *o = &out[found++];
        snprintf(o->name, sizeof o->name, "%s", c->name);
        snprintf(o->encoding, sizeof o->encoding, "%s", c->rtp_encoding);
        snprintf(o->fmtp, sizeof o->fmtp, "%s", c->rtp_fmtp ? c->rtp_fmtp : "");
        o->codec_rate = c->sample_rate;
        o->rtp_rate = c->rtp_clock_rate ? c->rtp_clock_rate : c->sample_rate;
        o->channels = c->rtp_channels;
    }
    return found;
}

int sip_media_ips_check(const char *profile, const char *ip4, const char *ip6) {
    union sip_addr a4, a6;
    bool ok4 = sip_addr_parse(ip4, 0, &a4) == 0 && a4.sa.sa_family == AF_INET;
    bool ok6 = !*ip6 || (sip_addr_parse(ip6, 0, &a6) == 0 && a6.sa.sa_family == AF_INET6);
    if (ok4 && ok6) return 0;
    sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                  "sip: %s%s%srtp_ip must be a numeric IPv4 address (\"%s\") and rtp_ip6 a numeric IPv6 one "
                  "or \"\" (\"%s\")",
                  *profile ? "profile " : "", profile, *profile ? ": " : "", ip4, ip6);
    return -1;
}

int sip_media_config(void) {
    sip_sdp_codecs = sip_host->abi_minor >= 2 &&
                             sip_host->struct_size >= offsetof(tandem_host, codec_list) + sizeof sip_host->codec_list
                         ? registered_codecs
                         : NULL;
    int jb = sip_cfg_bool("jitter_buffer", true);
    if (jb < 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: jitter_buffer must be true or false");
        return -1;
    }
    sip_cfg.jitter_buffer = jb == 1;
    sip_cfg.jb_min_ms = sip_cfg_int("jitter_buffer_min_ms", 40, 20, 400);
    sip_cfg.jb_max_ms = sip_cfg_int("jitter_buffer_max_ms", 200, 20, 600);
    sip_cfg.rtcp_interval_ms = sip_cfg_int("rtcp_interval_ms", 5000, 500, 60000);
    if (sip_cfg.jb_min_ms < 0 || sip_cfg.jb_max_ms < 0 || sip_cfg.jb_max_ms < sip_cfg.jb_min_ms ||
        sip_cfg.rtcp_interval_ms < 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                      "sip: jitter_buffer_min_ms (20-400) <= jitter_buffer_max_ms (20-600) and "
                      "rtcp_interval_ms (500-60000) are required");
        return -1;
    }
    sip_cfg.ptime = sip_cfg_int("ptime", 20, 10, 60);
    if (sip_cfg.ptime < 0 || sip_cfg.ptime % 10) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: ptime must be 10, 20, 30, 40, 50 or 60");
        return -1;
    }
    sip_cfg.rtp_socket_reuse_ms = sip_cfg_int("rtp_socket_reuse_ms", 500, 0, 60000);
    sip_cfg.rtp_socket_pool = sip_cfg_int("rtp_socket_pool", 2048, 0, 65536);
    if (sip_cfg.rtp_socket_reuse_ms < 0 || sip_cfg.rtp_socket_pool < 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                      "sip: rtp_socket_reuse_ms (0-60000) and rtp_socket_pool (0-65536) are required");
        return -1;
    }
    const char *srtp = sip_host->config_get(sip_self, "srtp");
    if (!srtp || !*srtp || strcmp(srtp, "optional") == 0) sip_cfg.srtp = SIP_SRTP_OPTIONAL;
    else if (strcmp(srtp, "mandatory") == 0) sip_cfg.srtp = SIP_SRTP_MANDATORY;
    else if (strcmp(srtp, "off") == 0) sip_cfg.srtp = SIP_SRTP_OFF;
    else {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: srtp must be \"off\", \"optional\" or \"mandatory\"");
        return -1;
    }
    return 0;
}
