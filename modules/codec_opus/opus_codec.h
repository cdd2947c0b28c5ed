/* Opus (RFC 6716, RTP per RFC 7587) on libopus: the settings the module reads
 * from module_config.codec_opus and the per-stream codec callbacks. */
#ifndef TANDEM_OPUS_CODEC_H
#define TANDEM_OPUS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What every new stream is built with; fixed between loads/reloads. */
struct opus_settings {
    uint32_t sample_rate;    /* linear side: 8000, 16000 or 48000 */
    int complexity;          /* 0..10 */
    int bitrate;             /* bits/s, or 0: libopus chooses (OPUS_AUTO) */
    bool fec;                /* send in-band FEC, and ask for it (useinbandfec=1) */
    int packet_loss_pct;     /* the loss FEC is planned for (0..100) */
    bool dtx;                /* discontinuous transmission in silence */
};

/* The state the translator keeps per direction per leg. Its encoder or
 * decoder is made on first use: a direction only ever needs one of them. */
void *opus_stream_new(void *user);
void opus_stream_free(void *user, void *state);
/* 20 ms (any Opus frame size) of PCM -> one packet. With DTX, a frame the
 * encoder marks as not worth sending (2 bytes or less) returns 0 bytes:
 * RTP channels send nothing for it and keep the clock running. */
int opus_stream_encode(void *user, void *state, const int16_t *pcm, size_t samples, uint8_t *out, size_t out_cap);
/* One packet (mono or stereo, any bandwidth) -> mono PCM at sample_rate. */
int opus_stream_decode(void *user, void *state, const uint8_t *in, size_t len, int16_t *pcm, size_t pcm_cap);

#endif
