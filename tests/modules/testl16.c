/* A codec module as a vendor would write one for RTP (ABI 1.2): L16, 16-bit
 * linear in network byte order (RFC 3551), at 8 kHz. It declares its RTP
 * encoding, so the SIP channel offers and accepts it in SDP under a dynamic
 * payload type without knowing about it (tests/integration/test_sip_media.py). */
#include <tandem/module.h>

#include <stddef.h>

static int l16_encode(void *user, void *state, const int16_t *pcm, size_t samples, uint8_t *out, size_t cap) {
    (void)user;
    (void)state;
    if (samples * 2 > cap) return -1;
    for (size_t i = 0; i < samples; ++i) {
        out[2 * i] = (uint8_t)((uint16_t)pcm[i] >> 8);
        out[2 * i + 1] = (uint8_t)pcm[i];
    }
    return (int)(samples * 2);
}

static int l16_decode(void *user, void *state, const uint8_t *in, size_t len, int16_t *pcm, size_t cap) {
    (void)user;
    (void)state;
    if (len / 2 > cap) return -1;
    for (size_t i = 0; i < len / 2; ++i) pcm[i] = (int16_t)(uint16_t)((in[2 * i] << 8) | in[2 * i + 1]);
    return (int)(len / 2);
}

static const tandem_codec l16 = {sizeof(tandem_codec), "L16", 8000, 1, NULL, NULL, NULL, l16_encode, l16_decode,
                                 "L16", 8000, 1, NULL, NULL, NULL};

static int load(tandem_module *self, const tandem_host *host) { return host->register_codec(self, &l16); }

static const tandem_module_desc desc = {TANDEM_MODULE_DESC_INIT, "testl16", "1.0", "L16 codec with RTP details",
                                        NULL, load, NULL, NULL};
TANDEM_MODULE(desc)
