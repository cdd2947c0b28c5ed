/* The far end's Opus a=fmtp (modules/codec_opus/opus_fmtp.c): text from the
 * network applied to a stream's encoder settings, which must stay in the
 * ranges libopus accepts whatever the text says. */
#include "opus_codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *fmtp = malloc(size + 1);
    if (!fmtp) return 0;
    memcpy(fmtp, data, size);
    fmtp[size] = '\0';
    const struct opus_settings ours[2] = {{8000, 5, 0, true, 10, false, 0, false},
                                          {48000, 10, 32000, false, 0, true, 0, false}};
    for (int i = 0; i < 2; ++i) {
        struct opus_settings s = opus_settings_for(&ours[i], fmtp);
        if ((s.max_playback != 0 && (s.max_playback < 8000 || s.max_playback > 48000)) ||
            (s.bitrate != 0 && (s.bitrate < 6000 || s.bitrate > 510000)) ||
            (ours[i].bitrate && s.bitrate > ours[i].bitrate) || (s.fec && !ours[i].fec) ||
            (ours[i].dtx && !s.dtx) || s.sample_rate != ours[i].sample_rate || s.complexity != ours[i].complexity)
            __builtin_trap();
    }
    free(fmtp);
    return 0;
}
