/*
 * Tandem's RTP stack: packet-level RTP (RFC 3550), RTCP sender/receiver
 * reports, RFC 4733 telephone-events, an adaptive jitter buffer with G.711
 * packet-loss concealment, and the SDES crypto attribute (RFC 4568).
 *
 * A static C11 library (libtandem_rtp.a, built with -fPIC so it links into
 * modules) for every channel that carries RTP: the SIP channel today, E1
 * gateways or vendor channels later. It owns no socket, thread, timer or
 * clock: the caller passes the time in (`now_us`, any monotonic microsecond
 * clock) and does the I/O, so every function here is a pure computation on
 * the caller's structs. The parsers take untrusted bytes and are fuzzed
 * (tests/fuzz/fuzz_rtp*.cpp); none allocates.
 *
 * Not thread-safe by design: a session belongs to one thread (in Tandem, the
 * leg's worker).
 */
#ifndef TANDEM_RTP_H
#define TANDEM_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* RTP packets (RFC 3550 section 5.1).                                     */

#define TANDEM_RTP_HEADER_SIZE 12

typedef struct tandem_rtp_packet {
    uint8_t pt;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const uint8_t *payload; /* points into the parsed buffer */
    size_t payload_len;     /* without CSRCs, header extension and padding */
} tandem_rtp_packet;

/* Parse one RTP packet. Returns 0, or -1 when it is not a well-formed RTP
 * version 2 packet (lengths of CSRC list, extension and padding are all
 * checked against `len`). */
int tandem_rtp_parse(const uint8_t *buf, size_t len, tandem_rtp_packet *out);

/* Write a 12-byte header (no CSRC, no extension) into `out`. */
void tandem_rtp_write_header(uint8_t out[TANDEM_RTP_HEADER_SIZE], uint8_t pt, bool marker,
                             uint16_t seq, uint32_t ts, uint32_t ssrc);

/* RFC 5761 demultiplexing on one port: true when the second byte is an RTCP
 * packet type (192-223), i.e. not RTP with a payload type we could use. */
bool tandem_rtp_is_rtcp(const uint8_t *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* RFC 4733 telephone-events.                                              */

#define TANDEM_RTP_EVENT_SIZE 4

typedef struct tandem_rtp_event {
    uint8_t event;     /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D', others */
    bool end;          /* E bit */
    uint8_t volume;    /* 0-63, -dBm0 */
    uint16_t duration; /* in timestamp units */
} tandem_rtp_event;

/* Parse a telephone-event payload (the first 4 bytes; RFC 4733 allows
 * redundant blocks after it, which are ignored). 0 or -1. */
int tandem_rtp_event_parse(const uint8_t *payload, size_t len, tandem_rtp_event *out);
void tandem_rtp_event_write(uint8_t out[TANDEM_RTP_EVENT_SIZE], const tandem_rtp_event *ev);
/* DTMF digit of an event code ('0'-'9', '*', '#', 'A'-'D'), 0 for others. */
char tandem_rtp_event_digit(unsigned event);
/* Event code of a digit (either case for A-D), -1 for others. */
int tandem_rtp_digit_event(char digit);

/* ---------------------------------------------------------------------- */
/* Receive statistics (RFC 3550 appendix A.1, A.3 and A.8).                 */

typedef struct tandem_rtp_rx_stats {
    bool started;
    uint32_t ssrc;           /* the source being measured */
    uint16_t max_seq;        /* highest sequence number seen */
    uint32_t cycles;         /* wraps of the sequence number, << 16 */
    uint32_t base_seq;       /* first sequence number */
    uint32_t bad_seq;        /* for a source restart (A.1) */
    uint64_t received;       /* packets accepted, duplicates included */
    uint32_t expected_prior; /* at the last report, for the fraction lost */
    uint64_t received_prior;
    int64_t transit;         /* last relative transit time, timestamp units */
    uint32_t jitter_q4;      /* interarrival jitter, timestamp units << 4 */
    uint32_t clock_rate;     /* Hz, for converting arrival times */
} tandem_rtp_rx_stats;

/* A packet with sequence `seq` and timestamp `ts` from `ssrc` arrived at
 * `now_us`. A new SSRC restarts the statistics. */
void tandem_rtp_rx_update(tandem_rtp_rx_stats *s, uint32_t ssrc, uint16_t seq, uint32_t ts,
                          uint64_t now_us);
uint32_t tandem_rtp_rx_extended_max(const tandem_rtp_rx_stats *s);
uint32_t tandem_rtp_rx_expected(const tandem_rtp_rx_stats *s);
/* Packets lost so far (expected - received; negative with duplicates). */
int64_t tandem_rtp_rx_lost(const tandem_rtp_rx_stats *s);
/* Interarrival jitter in timestamp units (RFC 3550 6.4.1). */
uint32_t tandem_rtp_rx_jitter(const tandem_rtp_rx_stats *s);

/* ---------------------------------------------------------------------- */
/* RTCP (RFC 3550 section 6): SR, RR, SDES CNAME, BYE.                      */

typedef struct tandem_rtcp_report_block {
    uint32_t ssrc;           /* the source this block is about */
    uint8_t fraction_lost;   /* since the previous report, /256 */
    int32_t cumulative_lost; /* 24-bit signed on the wire */
    uint32_t ext_highest_seq;
    uint32_t jitter;         /* timestamp units */
    uint32_t lsr;            /* middle 32 bits of the last SR's NTP time */
    uint32_t dlsr;           /* delay since that SR, 1/65536 s */
} tandem_rtcp_report_block;

#define TANDEM_RTCP_MAX_BLOCKS 4 /* report blocks kept per parse (more are skipped) */

typedef struct tandem_rtcp_info {
    bool has_sr, has_rr, has_bye;
    uint32_t sender_ssrc;   /* of the SR or RR */
    uint64_t ntp;           /* SR: NTP timestamp */
    uint32_t rtp_ts;        /* SR */
    uint32_t packet_count;  /* SR */
    uint32_t octet_count;   /* SR */
    int block_count;
    tandem_rtcp_report_block blocks[TANDEM_RTCP_MAX_BLOCKS];
} tandem_rtcp_info;

/* Parse a compound RTCP packet. Returns 0 when it is valid (RFC 3550 A.2:
 * version 2, the first packet an SR or RR, lengths adding up exactly), -1
 * otherwise. Unknown packet types inside are skipped. */
int tandem_rtcp_parse(const uint8_t *buf, size_t len, tandem_rtcp_info *out);

/* NTP time (RFC 3550 4) of a Unix-epoch microsecond time. */
uint64_t tandem_ntp_from_unix_us(uint64_t unix_us);

/* ---------------------------------------------------------------------- */
/* A session: our sending side, the far end's receive statistics and what
 * RTCP has told us. One per media stream. */

typedef struct tandem_rtp_session {
    /* sending */
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    uint32_t tx_packets, tx_octets; /* wrap as RFC 3550 says */
    uint64_t tx_packets_total;
    bool sent_since_report;         /* SR (we are a sender) or RR */
    /* receiving */
    tandem_rtp_rx_stats rx;
    uint64_t rx_packets_total;      /* every valid packet of the stream */
    /* RTCP */
    uint32_t clock_rate;
    uint32_t last_sr_mid;           /* LSR to report: middle of their NTP */
    uint64_t last_sr_at_us;         /* when it arrived, 0 never */
    uint64_t rtcp_sent, rtcp_received;
    int32_t rtt_us;                 /* last round trip from a report block, -1 none */
    /* what the far end said about our stream in its latest report block */
    bool have_remote_report;
    tandem_rtcp_report_block remote_report;
    uint64_t next_report_us;        /* when the next report is due, 0 unset */
} tandem_rtp_session;

/* Start a session with a random SSRC, sequence and timestamp (the caller
 * supplies the randomness: `random` is 12 bytes, e.g. from getrandom). */
void tandem_rtp_session_init(tandem_rtp_session *s, const uint8_t random[12], uint32_t clock_rate);

/* Build the next outgoing packet header (seq is then incremented; the
 * timestamp is the caller's to advance with tandem_rtp_session_advance). */
void tandem_rtp_session_header(tandem_rtp_session *s, uint8_t out[TANDEM_RTP_HEADER_SIZE],
                               uint8_t pt, bool marker, uint32_t ts);
/* Count a packet as sent (for the SR's counts). */
void tandem_rtp_session_sent(tandem_rtp_session *s, size_t payload_len);
/* Account a valid received RTP packet. */
void tandem_rtp_session_received(tandem_rtp_session *s, const tandem_rtp_packet *p,
                                 uint64_t now_us);
/* Take in an RTCP packet: remember an SR's time (for our LSR/DLSR) and
 * compute the round trip from a report block about our SSRC. `ntp_now` is
 * the NTP time now (tandem_ntp_from_unix_us of the wall clock). Returns 0 or
 * -1 when it does not parse. */
int tandem_rtcp_session_receive(tandem_rtp_session *s, const uint8_t *buf, size_t len,
                                uint64_t now_us, uint64_t ntp_now);
/* Build our report: an SR when we sent media since the last report, else an
 * RR; with one report block when we receive a source; then SDES with
 * `cname`. Returns the length, or 0 when `cap` is too small. */
size_t tandem_rtcp_session_report(tandem_rtp_session *s, uint8_t *out, size_t cap,
                                  uint64_t now_us, uint64_t ntp_now, const char *cname);
/* Same plus a BYE for our SSRC (at the end of the session). */
size_t tandem_rtcp_session_bye(tandem_rtp_session *s, uint8_t *out, size_t cap,
                               uint64_t now_us, uint64_t ntp_now, const char *cname);
/* The randomised report interval (RFC 3550 6.3.1 for a two-party session:
 * the 5 s minimum times a factor in [0.5, 1.5)); `random` any 32 bits. */
uint32_t tandem_rtcp_interval_ms(uint32_t base_ms, uint32_t random);

/* Figures for records: -1 when unknown. */
double tandem_rtp_session_jitter_ms(const tandem_rtp_session *s); /* what we measured */
double tandem_rtp_session_loss_pct(const tandem_rtp_session *s);  /* of what we expected */
double tandem_rtp_session_rtt_ms(const tandem_rtp_session *s);

/* ---------------------------------------------------------------------- */
/* Adaptive jitter buffer (one per received stream).
 *
 * It holds whole packets ("frames") ordered by sequence number and releases
 * one per playout tick (or, with tandem_jb_push_split, the frames packets
 * are cut into, ordered by timestamp). Its depth follows the measured
 * jitter between `min_frames` and `max_frames`; a packet that arrives
 * after its turn is dropped (late); a missing frame whose turn comes while
 * later ones wait is concealed (G.711: the previous frame repeated, fading
 * out; other formats: the caller is told to let the decoder conceal). When
 * the buffer runs dry it conceals a few frames, then re-buffers to the
 * target depth; when it holds more than it should (a sender clocked faster
 * than us, or jitter that went down) it drops the oldest frame. */

#define TANDEM_JB_SLOTS 32        /* frames the buffer can hold (640 ms at 20 ms) */
#define TANDEM_JB_MAX_FRAME 320   /* bytes per frame: 20 ms of G.711 at 16 kHz */

typedef enum tandem_jb_codec { TANDEM_JB_OPAQUE = 0, TANDEM_JB_PCMU, TANDEM_JB_PCMA } tandem_jb_codec;

typedef enum tandem_jb_result {
    TANDEM_JB_NONE = 0,   /* nothing to play this tick (buffering, or idle) */
    TANDEM_JB_FRAME,      /* a received frame */
    TANDEM_JB_CONCEALED,  /* a frame made up for a lost one (G.711) */
    TANDEM_JB_LOST        /* a frame is missing and the codec must conceal it */
} tandem_jb_result;

typedef struct tandem_jb_slot {
    bool used;
    uint32_t ext_seq;
    uint16_t len;
    uint8_t data[TANDEM_JB_MAX_FRAME];
} tandem_jb_slot;

typedef struct tandem_jb_stats {
    uint64_t pushed, played, concealed, late, dropped, duplicates, resyncs;
} tandem_jb_stats;

typedef struct tandem_jb {
    tandem_jb_codec codec;
    uint32_t frame_ms;      /* playout tick, normally 20 */
    uint32_t clock_rate;
    uint32_t min_frames, max_frames, target_frames;
    uint32_t packet_frames; /* frames in the last packet (tandem_jb_push_split), else 1 */
    bool playing;           /* false: buffering up to target_frames */
    uint32_t next_seq;      /* extended sequence number of the next frame to play */
    bool have_seq;
    uint32_t highest_seq;   /* extended */
    int count;              /* frames held */
    /* jitter measurement (the RFC 3550 estimator, in microseconds) */
    bool have_arrival;
    uint64_t last_arrival_us;
    uint32_t last_ts;
    double jitter_us;
    /* tandem_jb_push_split: the frame number of timestamp split_ts */
    bool have_split_ref;
    uint32_t split_ts;
    uint16_t split_seq;
    uint32_t underrun_concealed; /* concealed in a row with an empty buffer */
    uint32_t concealed_run;      /* consecutive concealed frames (fade) */
    uint16_t last_len;
    uint8_t last[TANDEM_JB_MAX_FRAME]; /* the last frame played, for concealment */
    tandem_jb_stats stats;
    tandem_jb_slot slots[TANDEM_JB_SLOTS];
} tandem_jb;

/* min_ms/max_ms bound the depth (rounded up to whole frames; max at most
 * TANDEM_JB_SLOTS - 2 frames). */
void tandem_jb_init(tandem_jb *jb, tandem_jb_codec codec, uint32_t clock_rate, uint32_t frame_ms,
                    uint32_t min_ms, uint32_t max_ms);
/* A received frame. Frames over TANDEM_JB_MAX_FRAME bytes are refused (-1);
 * late frames and duplicates are counted and dropped (1); stored: 0. */
int tandem_jb_push(tandem_jb *jb, uint16_t seq, uint32_t ts, const uint8_t *data, size_t len,
                   uint64_t now_us);
/* A packet of a codec whose payload is one byte per RTP timestamp unit
 * (G.711, G.722) and may be cut anywhere, holding a whole number of the
 * buffer's frames (10, 20, 30 ... ms at a 10 ms frame): each frame is
 * buffered on its own, numbered by its timestamp, so packets of any such
 * duration play one frame per tick at the sender's rate. The depth target
 * then holds a whole packet plus the jitter allowance. Use either this or
 * tandem_jb_push for one buffer, not both. -1 when len is not a whole
 * number of frames (at most TANDEM_JB_SLOTS / 2); 1 all late or
 * duplicates; 0 stored. */
int tandem_jb_push_split(tandem_jb *jb, uint32_t ts, const uint8_t *data, size_t len, uint64_t now_us);
/* Bytes (= timestamp units) of one frame of the buffer, for push_split. */
uint32_t tandem_jb_frame_bytes(const tandem_jb *jb);
/* One playout tick: writes the frame to play into `out` (cap bytes, at
 * least TANDEM_JB_MAX_FRAME) and its length into *len. */
tandem_jb_result tandem_jb_pop(tandem_jb *jb, uint8_t *out, size_t cap, size_t *len);
/* The frame that plays next, when it has already arrived (after a
 * TANDEM_JB_LOST, the packet following the lost one: Opus rebuilds the lost
 * frame from its in-band FEC); NULL otherwise. Borrowed until the next push
 * or pop. */
const uint8_t *tandem_jb_peek(const tandem_jb *jb, size_t *len);
/* Current depth in frames and the jitter it measures, in ms. */
int tandem_jb_depth(const tandem_jb *jb);
double tandem_jb_jitter_ms(const tandem_jb *jb);

/* ---------------------------------------------------------------------- */
/* Re-cutting a payload of one byte per RTP timestamp unit (G.711, G.722)
 * into chunks of `size` bytes: engine frames into packets of the far end's
 * ptime, or received packets into 20 ms frames. Bytes are passed on in
 * order; what does not fill a chunk waits for the next push. A push whose
 * timestamp does not continue what waits (a loss, a pause) first hands
 * that on as a short chunk; so does flush (before a DTMF event, a codec
 * change). `out` gets each chunk with the timestamp of its first byte. */

#define TANDEM_RECHUNK_MAX 480 /* bytes: 60 ms at 8000 units a second */

typedef void (*tandem_rechunk_out)(void *arg, uint32_t ts, const uint8_t *data, size_t len);

typedef struct tandem_rechunk {
    size_t size; /* bytes per chunk, at most TANDEM_RECHUNK_MAX */
    size_t len;  /* bytes waiting in buf */
    uint32_t ts; /* timestamp of buf[0] */
    uint8_t buf[TANDEM_RECHUNK_MAX];
} tandem_rechunk;

void tandem_rechunk_init(tandem_rechunk *r, size_t size);
void tandem_rechunk_push(tandem_rechunk *r, uint32_t ts, const uint8_t *data, size_t len, tandem_rechunk_out out,
                         void *arg);
void tandem_rechunk_flush(tandem_rechunk *r, tandem_rechunk_out out, void *arg);

/* ---------------------------------------------------------------------- */
/* SDES crypto attribute (RFC 4568): "a=crypto:TAG SUITE inline:KEY[|...]". */

typedef enum tandem_srtp_suite {
    TANDEM_SRTP_NONE = 0,
    TANDEM_SRTP_AES_CM_128_HMAC_SHA1_80,
    TANDEM_SRTP_AES_CM_128_HMAC_SHA1_32
} tandem_srtp_suite;

#define TANDEM_SRTP_KEY_SALT 30 /* 16-byte master key + 14-byte salt */

typedef struct tandem_crypto_attr {
    unsigned tag;
    tandem_srtp_suite suite;
    uint8_t key_salt[TANDEM_SRTP_KEY_SALT];
} tandem_crypto_attr;

/* Parse the attribute's value (after "crypto:"). Only the suites above and
 * a single inline key without lifetime/MKI restrictions we cannot honour
 * are accepted: 0, or -1 (unsupported suite, bad base64, wrong key length,
 * session parameters). */
int tandem_crypto_attr_parse(const char *value, size_t len, tandem_crypto_attr *out);
/* Write "TAG SUITE inline:BASE64" (no "a=crypto:", no CRLF). Returns the
 * length or -1 when it does not fit. */
int tandem_crypto_attr_write(char *out, size_t cap, const tandem_crypto_attr *attr);
const char *tandem_srtp_suite_name(tandem_srtp_suite suite);

/* ---------------------------------------------------------------------- */
/* G.711 helpers the concealment uses, exposed for channels that need them. */
int16_t tandem_ulaw_decode(uint8_t v);
uint8_t tandem_ulaw_encode(int16_t pcm);
int16_t tandem_alaw_decode(uint8_t v);
uint8_t tandem_alaw_encode(int16_t pcm);

#ifdef __cplusplus
}
#endif

#endif
