/* Opus (RFC 6716, RTP per RFC 7587) on libopus: the settings the module reads
 * from module_config.codec_opus and the per-stream codec callbacks. */
#ifndef TANDEM_OPUS_CODEC_H
#define TANDEM_OPUS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a stream is built with: module_config.codec_opus (fixed between
 * loads/reloads), narrowed by the far end's a=fmtp when it is known. */
struct opus_settings {
    uint32_t sample_rate;    /* linear side: 8000, 16000 or 48000 */
    int complexity;          /* 0..10 */
    int bitrate;             /* bits/s, or 0: automatic */
    bool fec;                /* send in-band FEC, and ask for it (useinbandfec=1) */
    int packet_loss_pct;     /* the loss FEC is planned for (0..100) */
    bool dtx;                /* discontinuous transmission in silence */
    uint32_t max_playback;   /* the far end's maxplaybackrate; 0: no limit */
    bool cbr;                /* the far end asked for constant bitrate (cbr=1) */
};

/* RFC 7587 section 6.1: the far end's a=fmtp parameters (what it wants to
 * receive) applied to our settings for the stream we send it:
 *   maxplaybackrate    caps the encoded bandwidth
 *   useinbandfec=1     FEC is sent only then (and only if `fec` is on)
 *   usedtx=1           DTX even when `dtx` is off
 *   maxaveragebitrate  caps the bitrate
 *   cbr=1              constant bitrate
 * stereo/sprop-stereo need nothing: we always send mono, which a stereo
 * decoder plays. Unknown parameters are ignored. */
struct opus_settings opus_settings_for(const struct opus_settings *ours, const char *fmtp);

/* The state the translator keeps per direction per leg. Its encoder or
 * decoder is made on first use: a direction only ever needs one of them. */
void *opus_stream_new(void *user);
/* The same for a far end that sent these a=fmtp parameters ("" none). */
void *opus_stream_new_params(void *user, const char *fmtp);
void opus_stream_free(void *user, void *state);
/* 20 ms (any Opus frame size) of PCM -> one packet. With DTX, a frame the
 * encoder marks as not worth sending (2 bytes or less) returns 0 bytes:
 * RTP channels send nothing for it and keep the clock running. */
int opus_stream_encode(void *user, void *state, const int16_t *pcm, size_t samples, uint8_t *out, size_t out_cap);
/* One packet (mono or stereo, any bandwidth) -> mono PCM at sample_rate. */
int opus_stream_decode(void *user, void *state, const uint8_t *in, size_t len, int16_t *pcm, size_t pcm_cap);
/* A lost frame of `samples`: rebuilt from `next`'s in-band FEC when the
 * packet after it is here, else the decoder's packet loss concealment. */
int opus_stream_conceal(void *user, void *state, size_t samples, const uint8_t *next, size_t next_len,
                        int16_t *pcm, size_t pcm_cap);

#endif
