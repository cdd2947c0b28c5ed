/* The codec_opus module: registers the "opus" codec with its RTP details
 * (opus/48000/2, RFC 7587), so the SIP channel offers and accepts it, and
 * the translator converts it to and from linear audio. Settings come from
 * module_config.codec_opus (docs/codecs.md). */
#include "opus_codec.h"

#include <tandem/module.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const tandem_host *host;
static tandem_module *self;

/* What one load or reload registered. Each is new and never changes: after a
 * reload, a worker or the SIP thread may still be reading the previous one
 * (a snapshot of the registry taken just before), so all of them live until
 * unload, when nothing uses the module any more. */
struct registration {
    tandem_codec codec;
    struct opus_settings settings;
    char fmtp[160];
    struct registration *next;
};
static struct registration *registrations;

static const tandem_codec opus_template = {
    sizeof(tandem_codec),
    "opus",
    48000, /* sample_rate, from the settings */
    /* libopus encode + decode of 20 ms costs about as much as a hundred
     * G.711 conversions; the translator never has a cheaper choice anyway */
    100,
    NULL, /* user: the registration's settings */
    opus_stream_new,
    opus_stream_free,
    opus_stream_encode,
    opus_stream_decode,
    /* RFC 7587: always opus/48000/2 in the rtpmap, whatever is sent */
    "opus",
    48000,
    2,
    NULL, /* rtp_fmtp: the registration's */
    opus_stream_new_params, /* ABI 1.3: the far end's a=fmtp */
    opus_stream_conceal,    /* ABI 1.3: lost frames, from FEC when it came */
};

/* An integer key in [min, max]; def when absent; -1 (after a log line) when bad. */
static int config_int(const char *key, int def, int min, int max) {
    const char *v = host->config_get(self, key);
    if (!v || !*v) return def;
    char *end;
    long n = strtol(v, &end, 10);
    if ((*end == '\0' || strcmp(end, ".0") == 0) && n >= min && n <= max) return (int)n;
    host->log(self, TANDEM_LOG_ERROR, NULL, "codec_opus: %s must be an integer in %d..%d (got \"%s\")", key, min,
              max, v);
    return -1;
}

/* A boolean key; def when absent; -1 (after a log line) when bad. */
static int config_bool(const char *key, bool def) {
    const char *v = host->config_get(self, key);
    if (!v || !*v) return def;
    if (strcmp(v, "true") == 0) return 1;
    if (strcmp(v, "false") == 0) return 0;
    host->log(self, TANDEM_LOG_ERROR, NULL, "codec_opus: %s must be true or false (got \"%s\")", key, v);
    return -1;
}

static int read_settings(struct opus_settings *settings) {
    int rate = config_int("sample_rate", 8000, 8000, 48000);
    int complexity = config_int("complexity", 5, 0, 10);
    int bitrate = config_int("bitrate", 0, 0, 510000);
    int loss = config_int("packet_loss_pct", 10, 0, 100);
    int fec = config_bool("fec", true);
    int dtx = config_bool("dtx", false);
    if (rate != 8000 && rate != 16000 && rate != 48000) {
        if (rate >= 0)
            host->log(self, TANDEM_LOG_ERROR, NULL, "codec_opus: sample_rate must be 8000, 16000 or 48000");
        return TANDEM_EINVAL;
    }
    if (complexity < 0 || bitrate < 0 || loss < 0 || fec < 0 || dtx < 0) return TANDEM_EINVAL;
    if (bitrate > 0 && bitrate < 6000) {
        host->log(self, TANDEM_LOG_ERROR, NULL, "codec_opus: bitrate must be 0 (automatic) or 6000..510000");
        return TANDEM_EINVAL;
    }
    *settings = (struct opus_settings){(uint32_t)rate, complexity, bitrate, fec == 1, loss, dtx == 1, 0, false};
    return TANDEM_OK;
}

/* Our a=fmtp (RFC 7587 section 6.1): what we want to receive. We play back
 * and capture at sample_rate, mono; useinbandfec and usedtx follow fec and
 * dtx. ptime is an SDP attribute (a=ptime:20), not an fmtp parameter. */
static void build_fmtp(struct registration *r) {
    const struct opus_settings *s = &r->settings;
    snprintf(r->fmtp, sizeof r->fmtp,
             "maxplaybackrate=%u;sprop-maxcapturerate=%u;stereo=0;sprop-stereo=0;useinbandfec=%d%s",
             s->sample_rate, s->sample_rate, s->fec ? 1 : 0, s->dtx ? ";usedtx=1" : "");
}

static int opus_register(void) {
    struct registration *r = calloc(1, sizeof *r);
    if (!r) return TANDEM_ERROR;
    int rc = read_settings(&r->settings);
    if (rc == TANDEM_OK) {
        build_fmtp(r);
        r->codec = opus_template;
        r->codec.sample_rate = r->settings.sample_rate;
        r->codec.user = &r->settings;
        r->codec.rtp_fmtp = r->fmtp;
        rc = host->register_codec(self, &r->codec);
    }
    if (rc != TANDEM_OK) {
        free(r);
        return rc;
    }
    r->next = registrations;
    registrations = r;
    host->log(self, TANDEM_LOG_INFO, NULL, "codec_opus: %u Hz, complexity %d, fmtp %s", r->settings.sample_rate,
              r->settings.complexity, r->fmtp);
    return TANDEM_OK;
}

static int opus_load(tandem_module *module, const tandem_host *h) {
    host = h;
    self = module;
    return opus_register();
}

static int opus_reload(tandem_module *module) {
    (void)module;
    return opus_register();
}

static void opus_unload(tandem_module *module) {
    (void)module;
    while (registrations) {
        struct registration *next = registrations->next;
        free(registrations);
        registrations = next;
    }
}

static const tandem_module_desc opus_desc = {
    TANDEM_MODULE_DESC_INIT,
    "codec_opus",
    "1.0",
    "Opus codec (libopus): 8/16/48 kHz mono, FEC, DTX, RFC 7587 SDP",
    NULL,
    opus_load,
    opus_unload,
    opus_reload,
};

TANDEM_MODULE(opus_desc)
