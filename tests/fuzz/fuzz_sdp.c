/* SDP bodies from the network, as the SIP channel reads them
 * (channels/sip/sip_sdp.c on sofia-sip's sdp_parse). C, because the
 * channel's internal header is C11 (stdatomic). */
#include "sip_internal.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Two codecs as codec modules register them: Opus (dynamic payload type)
 * and G.722 (static type 9, 8000 Hz RTP clock for 16 kHz audio). */
static size_t registered(struct sip_codec_info *out, size_t cap) {
    static const struct sip_codec_info codecs[] = {
        {"opus", "opus", "useinbandfec=1", 48000, 8000, 2},
        {"G722", "G722", "", 8000, 16000, 1},
    };
    size_t n = cap < 2 ? cap : 2;
    for (size_t i = 0; i < n; ++i) out[i] = codecs[i];
    return 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct sip_media m;
    sip_sdp_codecs = registered;
    if (sip_sdp_parse((const char *)data, size, &m) == 0 &&
        (!m.valid || m.dtmf_pt > 127 || sip_addr_len(&m.remote) == 0 ||
         m.rtcp.sa.sa_family != m.remote.sa.sa_family || /* RTCP goes where our socket can send */
         !((m.pt == 0 && strcmp(m.codec, "PCMU") == 0) || (m.pt == 8 && strcmp(m.codec, "PCMA") == 0) ||
           /* G.722: its static type, or a dynamic one an rtpmap gives it */
           ((m.pt == 9 || (m.pt >= 96 && m.pt <= 127)) && strcmp(m.codec, "G722") == 0 && m.rtp_rate == 8000 &&
            m.codec_rate == 16000) ||
           (m.pt >= 96 && m.pt <= 127 && strcmp(m.codec, "opus") == 0 && m.rtp_rate == 48000)) ||
         memchr(m.remote_fmtp, '\0', sizeof m.remote_fmtp) == NULL))
        __builtin_trap();
    return 0;
}
