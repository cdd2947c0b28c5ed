/* The codec_g722 module: G.722 at 64 kbit/s (SpanDSP) as the "G722" codec.
 * 16 kHz audio, but RTP carries it with an 8000 Hz clock and static payload
 * type 9 (RFC 3551 section 4.5.2, an error kept for compatibility): the
 * rtp_clock_rate below is that quirk, and the SIP channel knows the static
 * type. */
#include <tandem/module.h>

#include <spandsp.h>

#include <stdlib.h>

/* One direction of one leg: an encoder or a decoder, made on first use. */
struct g722_stream {
    g722_encode_state_t *enc;
    g722_decode_state_t *dec;
};

static void *g722_stream_new(void *user) {
    (void)user;
    return calloc(1, sizeof(struct g722_stream));
}

static void g722_stream_free(void *user, void *state) {
    (void)user;
    struct g722_stream *s = state;
    if (!s) return;
    if (s->enc) g722_encode_free(s->enc);
    if (s->dec) g722_decode_free(s->dec);
    free(s);
}

/* 64 kbit/s at 16 kHz: one byte carries two samples */
static int g722_stream_encode(void *user, void *state, const int16_t *pcm, size_t samples, uint8_t *out,
                              size_t out_cap) {
    (void)user;
    struct g722_stream *s = state;
    if (!s || samples / 2 > out_cap || samples > 32000) return -1;
    if (!s->enc && !(s->enc = g722_encode_init(NULL, 64000, 0))) return -1;
    return g722_encode(s->enc, out, pcm, (int)samples);
}

static int g722_stream_decode(void *user, void *state, const uint8_t *in, size_t len, int16_t *pcm,
                              size_t pcm_cap) {
    (void)user;
    struct g722_stream *s = state;
    if (!s || !in || len * 2 > pcm_cap || len > 16000) return -1;
    if (!s->dec && !(s->dec = g722_decode_init(NULL, 64000, 0))) return -1;
    return g722_decode(s->dec, pcm, in, (int)len);
}

static const tandem_codec g722_codec = {
    sizeof(tandem_codec),
    "G722",
    16000,
    3, /* a sub-band ADPCM: a few times G.711's cost, far below Opus */
    NULL,
    g722_stream_new,
    g722_stream_free,
    g722_stream_encode,
    g722_stream_decode,
    "G722",
    8000, /* the RTP clock of G.722, not its sample rate */
    1,
    NULL,
    NULL, /* no parameters to negotiate */
    NULL, /* lost frames: SpanDSP's G.722 has no concealment */
};

static int g722_load(tandem_module *self, const tandem_host *host) { return host->register_codec(self, &g722_codec); }

static const tandem_module_desc g722_desc = {
    TANDEM_MODULE_DESC_INIT, "codec_g722", "1.0", "G.722 codec (SpanDSP), 16 kHz wideband, RTP payload type 9",
    NULL, g722_load, NULL, NULL,
};

TANDEM_MODULE(g722_desc)
