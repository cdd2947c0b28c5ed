/* One direction of one leg's Opus stream: an encoder or a decoder. */
#include "opus_codec.h"

#include <opus/opus.h>

#include <stdlib.h>

struct opus_stream {
    struct opus_settings settings; /* copied: a reload does not change a live stream */
    OpusEncoder *enc;
    OpusDecoder *dec;
};

void *opus_stream_new(void *user) {
    struct opus_stream *s = calloc(1, sizeof *s);
    if (s) s->settings = *(const struct opus_settings *)user;
    return s;
}

void *opus_stream_new_params(void *user, const char *fmtp) {
    struct opus_stream *s = calloc(1, sizeof *s);
    if (s) s->settings = opus_settings_for(user, fmtp);
    return s;
}

/* libopus 1.3 adds no FEC to narrowband SILK below about 17 kbit/s, and its
 * automatic bitrate there is about 10: with FEC on, 8 kHz gets 24 kbit/s
 * unless a bitrate was configured (bench/BENCHMARKS.md). */
static int bitrate_for(const struct opus_settings *c) {
    if (c->bitrate > 0) return c->bitrate;
    return c->fec && c->sample_rate == 8000 ? 24000 : OPUS_AUTO;
}

/* maxplaybackrate as the widest band worth encoding */
static int bandwidth_for(uint32_t max_playback) {
    if (max_playback == 0 || max_playback > 24000) return OPUS_BANDWIDTH_FULLBAND;
    if (max_playback > 16000) return OPUS_BANDWIDTH_SUPERWIDEBAND;
    if (max_playback > 12000) return OPUS_BANDWIDTH_WIDEBAND;
    if (max_playback > 8000) return OPUS_BANDWIDTH_MEDIUMBAND;
    return OPUS_BANDWIDTH_NARROWBAND;
}

void opus_stream_free(void *user, void *state) {
    (void)user;
    struct opus_stream *s = state;
    if (!s) return;
    if (s->enc) opus_encoder_destroy(s->enc);
    if (s->dec) opus_decoder_destroy(s->dec);
    free(s);
}

static OpusEncoder *encoder(struct opus_stream *s) {
    if (s->enc) return s->enc;
    const struct opus_settings *c = &s->settings;
    int err = 0;
    OpusEncoder *e = opus_encoder_create((opus_int32)c->sample_rate, 1, OPUS_APPLICATION_VOIP, &err);
    if (!e || err != OPUS_OK) return NULL;
    opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(c->complexity));
    opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    opus_encoder_ctl(e, OPUS_SET_BITRATE(bitrate_for(c)));
    opus_encoder_ctl(e, OPUS_SET_MAX_BANDWIDTH(bandwidth_for(c->max_playback)));
    opus_encoder_ctl(e, OPUS_SET_VBR(c->cbr ? 0 : 1));
    opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(c->fec ? 1 : 0));
    /* FEC is only spent when the encoder expects loss */
    opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(c->fec ? c->packet_loss_pct : 0));
    opus_encoder_ctl(e, OPUS_SET_DTX(c->dtx ? 1 : 0));
    return s->enc = e;
}

static OpusDecoder *decoder(struct opus_stream *s) {
    if (s->dec) return s->dec;
    int err = 0;
    OpusDecoder *d = opus_decoder_create((opus_int32)s->settings.sample_rate, 1, &err);
    if (!d || err != OPUS_OK) return NULL;
    return s->dec = d;
}

int opus_stream_encode(void *user, void *state, const int16_t *pcm, size_t samples, uint8_t *out, size_t out_cap) {
    (void)user;
    struct opus_stream *s = state;
    OpusEncoder *e = s ? encoder(s) : NULL;
    if (!e || samples > 5760 || out_cap == 0) return -1;
    opus_int32 cap = out_cap > 1275 ? 1275 : (opus_int32)out_cap; /* RFC 6716's largest frame */
    opus_int32 n = opus_encode(e, pcm, (int)samples, out, cap);
    if (n < 0) return -1;
    return s->settings.dtx && n <= 2 ? 0 : (int)n;
}

int opus_stream_decode(void *user, void *state, const uint8_t *in, size_t len, int16_t *pcm, size_t pcm_cap) {
    (void)user;
    struct opus_stream *s = state;
    OpusDecoder *d = s ? decoder(s) : NULL;
    if (!d || !in || len == 0 || len > 1275 * 3) return -1;
    /* stereo=0 is what we ask for, but a stereo packet still decodes: the
     * mono decoder down-mixes it */
    int n = opus_decode(d, in, (opus_int32)len, pcm, pcm_cap > 5760 ? 5760 : (int)pcm_cap, 0);
    return n < 0 ? -1 : n;
}

int opus_stream_conceal(void *user, void *state, size_t samples, const uint8_t *next, size_t next_len,
                        int16_t *pcm, size_t pcm_cap) {
    (void)user;
    struct opus_stream *s = state;
    OpusDecoder *d = s ? decoder(s) : NULL;
    /* libopus conceals in multiples of 2.5 ms: a frame of the RTP stream's */
    if (!d || samples == 0 || samples > pcm_cap || samples > 5760 || samples % (s->settings.sample_rate / 400))
        return -1;
    /* with decode_fec = 1, libopus takes the lost frame from next's LBRR
     * data, or conceals when next carries none */
    bool fec = next && next_len > 0 && next_len <= 1275 * 3;
    int n = opus_decode(d, fec ? next : NULL, fec ? (opus_int32)next_len : 0, pcm, (int)samples, fec ? 1 : 0);
    return n < 0 ? -1 : n;
}
