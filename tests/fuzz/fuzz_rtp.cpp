// RTP packets from the network: the parser, the receive statistics and the
// jitter buffer they feed. The input is a sequence of datagrams, each
// preceded by a length byte, so reordering and loss are explored too.
#include <tandem/rtp.h>

#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tandem_jb jb;
    tandem_jb_init(&jb, TANDEM_JB_PCMU, 8000, 20, 40, 200);
    tandem_rtp_session s;
    uint8_t rnd[12] = {};
    tandem_rtp_session_init(&s, rnd, 8000);
    uint64_t now = 1;
    uint8_t out[TANDEM_JB_MAX_FRAME];
    while (size > 0) {
        size_t n = data[0];
        data++, size--;
        if (n > size)
            n = size;
        tandem_rtp_packet p;
        if (tandem_rtp_parse(data, n, &p) == 0) {
            if (p.payload_len > 0 && p.payload + p.payload_len > data + n)
                __builtin_trap(); // the payload must stay inside the datagram
            tandem_rtp_session_received(&s, &p, now);
            tandem_jb_push(&jb, p.seq, p.ts, p.payload, p.payload_len, now);
        }
        size_t len = 0;
        tandem_jb_pop(&jb, out, sizeof out, &len);
        now += 20000;
        data += n, size -= n;
    }
    (void)tandem_rtp_session_jitter_ms(&s);
    (void)tandem_rtp_session_loss_pct(&s);
    return 0;
}
