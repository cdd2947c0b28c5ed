/* The far end's Opus a=fmtp (RFC 7587) applied to a stream's settings. */
#include "opus_codec.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The value of `key` in "k1=v1;k2=v2" (spaces allowed around ';'), or -1. */
static long param(const char *fmtp, const char *key) {
    size_t key_len = strlen(key);
    for (const char *p = fmtp; p && *p;) {
        while (*p == ' ' || *p == ';') p++;
        if (strncasecmp(p, key, key_len) == 0 && p[key_len] == '=') {
            char *end;
            long v = strtol(p + key_len + 1, &end, 10);
            return end != p + key_len + 1 && v >= 0 ? v : -1;
        }
        p = strchr(p, ';');
    }
    return -1;
}

struct opus_settings opus_settings_for(const struct opus_settings *ours, const char *fmtp) {
    struct opus_settings s = *ours;
    if (!fmtp) return s;
    long rate = param(fmtp, "maxplaybackrate");
    long bitrate = param(fmtp, "maxaveragebitrate");
    s.fec = ours->fec && param(fmtp, "useinbandfec") == 1;
    s.dtx = ours->dtx || param(fmtp, "usedtx") == 1;
    s.cbr = param(fmtp, "cbr") == 1;
    if (rate >= 8000) s.max_playback = (uint32_t)(rate > 48000 ? 48000 : rate);
    /* RFC 7587: 6000..510000; anything else is ignored */
    if (bitrate >= 6000 && bitrate <= 510000 && (s.bitrate == 0 || bitrate < s.bitrate)) s.bitrate = (int)bitrate;
    return s;
}
