/* Receive statistics of one source, as RFC 3550 appendix A.1 (sequence
 * numbers and their wraps), A.3 (loss) and A.8 (interarrival jitter) define
 * them, so that our reports mean what every peer expects. */
#include <tandem/rtp.h>

#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define SEQ_MOD (1u << 16)

static void restart(tandem_rtp_rx_stats *s, uint32_t ssrc, uint16_t seq) {
    uint32_t rate = s->clock_rate;
    *s = (tandem_rtp_rx_stats){0};
    s->clock_rate = rate;
    s->started = true;
    s->ssrc = ssrc;
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = SEQ_MOD + 1; /* so seq == bad_seq is false */
}

/* Arrival time in timestamp units, for the transit time of A.8. The
 * truncation to 32 bits cancels out in the difference of two transits. */
static int64_t arrival_units(const tandem_rtp_rx_stats *s, uint64_t now_us) {
    uint32_t rate = s->clock_rate ? s->clock_rate : 8000;
    return (int64_t)(uint32_t)((now_us * rate) / 1000000u);
}

void tandem_rtp_rx_update(tandem_rtp_rx_stats *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
                          uint64_t now_us) {
    if (!s->started || ssrc != s->ssrc) {
        restart(s, ssrc, seq);
    } else {
        uint16_t udelta = (uint16_t)(seq - s->max_seq);
        if (udelta < MAX_DROPOUT) {
            if (seq < s->max_seq) s->cycles += SEQ_MOD; /* wrapped */
            s->max_seq = seq;
        } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
            /* a big jump: believe it only when the next packet follows it
             * (the source restarted), as A.1 does */
            if (seq == s->bad_seq) {
                restart(s, ssrc, seq);
            } else {
                s->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
                return;
            }
        }
        /* else: a duplicate or reordered packet; counted below */
    }
    s->received++;
    int64_t transit = arrival_units(s, now_us) - (int64_t)ts;
    transit = (int64_t)(int32_t)(uint32_t)transit; /* modulo 2^32, signed */
    if (s->received > 1) {
        int64_t d = transit - s->transit;
        if (d < 0) d = -d;
        if (d > 0x7fffffff) d = 0; /* a timestamp jump, not jitter */
        /* J += (|D| - J) / 16, kept scaled by 16 (A.8) */
        int64_t j = (int64_t)s->jitter_q4 + d - (((int64_t)s->jitter_q4 + 8) >> 4);
        s->jitter_q4 = j < 0 ? 0 : j > 0xffffffffLL ? 0xffffffffu : (uint32_t)j;
    }
    s->transit = transit;
}

uint32_t tandem_rtp_rx_extended_max(const tandem_rtp_rx_stats *s) { return s->cycles + s->max_seq; }

uint32_t tandem_rtp_rx_expected(const tandem_rtp_rx_stats *s) {
    return s->started ? tandem_rtp_rx_extended_max(s) - s->base_seq + 1 : 0;
}

int64_t tandem_rtp_rx_lost(const tandem_rtp_rx_stats *s) {
    return (int64_t)tandem_rtp_rx_expected(s) - (int64_t)s->received;
}

uint32_t tandem_rtp_rx_jitter(const tandem_rtp_rx_stats *s) { return s->jitter_q4 >> 4; }
