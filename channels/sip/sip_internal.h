/*
 * The SIP channel's internal contract, shared by its files.
 *
 * Threads: the SIP stack (one sofia-sip NUA on one su_root) runs in its own
 * thread (sip_stack.c). Each call is owned by one engine worker, chosen when
 * the call starts and never changed. The two sides talk only by message:
 *   SIP thread -> worker: host->post(self, call->worker, ...)   (FIFO per worker)
 *   worker -> SIP thread: sip_stack_send(), a mutex-protected queue plus an
 *                         eventfd registered with the su_root.
 * A struct sip_call is shared by both sides and reference-counted; each field
 * says which side owns it. Nothing on the media path takes a lock.
 */
#ifndef TANDEM_SIP_INTERNAL_H
#define TANDEM_SIP_INTERNAL_H

#include <tandem/module.h>
#include <tandem/rtp.h>

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

extern const tandem_host *sip_host;
extern tandem_module *sip_self;

/* Configuration, read once in load(); immutable afterwards. */
struct sip_config {
    char listen[256];
    char context[128];
    char rtp_ip[64];
    int rtp_port_min, rtp_port_max;
    char realm[128];        /* digest realm */
    int auth_fail_limit;    /* failed authentications per source per 60 s ... */
    int auth_ban_seconds;   /* ... before it gets 403 for this long */
    char endpoints_path[1024]; /* the endpoints/passwords file, "" none */
    /* media (sip_rtp.c) */
    bool jitter_buffer;     /* buffer and conceal received audio */
    int jb_min_ms, jb_max_ms;
    int rtcp_interval_ms;   /* the mean report interval (randomised +-50%) */
    enum sip_srtp_policy { SIP_SRTP_OFF, SIP_SRTP_OPTIONAL, SIP_SRTP_MANDATORY } srtp;
};
extern struct sip_config sip_cfg;
/* load(): an integer key within [min, max], `def` when unset, -1 invalid. */
int sip_cfg_int(const char *key, int def, int min, int max);
/* load(): the media keys of sip_config (sip_media_config.c); 0 or -1 (logged). */
int sip_media_config(void);

/* Endpoints (sip_auth.c). The table is read in load() and immutable
 * afterwards except `contacts`, which only the SIP thread touches. */
#define SIP_MAX_CONTACTS 4
struct sip_contact {
    char uri[256];          /* "" free */
    long expires;           /* CLOCK_MONOTONIC seconds */
    unsigned long updated;  /* registration order: the newest is dialled */
};
struct sip_endpoint {
    char id[64];
    char password[128];
    char context[128];
    struct sip_contact contacts[SIP_MAX_CONTACTS];
};
extern struct sip_endpoint *sip_endpoints;
extern int sip_endpoint_count;
extern unsigned long sip_contact_serial;
int sip_endpoints_load(void);  /* main thread, load(): 0 or -1 (logged) */
void sip_endpoints_free(void); /* main thread, unload() */
int sip_endpoints_register_command(void); /* load(): `tandem ctl endpoints` */
struct sip_endpoint *sip_endpoint_find(const char *id); /* any thread */
/* SIP thread: the newest unexpired contact URI of `ep`, or NULL. */
const char *sip_endpoint_contact(struct sip_endpoint *ep);

/* What an SDP body says about the far end's audio (sip_sdp.c). */
struct sip_media {
    bool valid;
    struct sockaddr_in remote; /* c= address, m= port */
    int pt;                    /* chosen codec's payload type; -1 none */
    /* the chosen codec: its engine format name, how the rtpmap named it,
     * the RTP clock and the linear rate (a frame of 20 ms is rate / 50) */
    char codec[32];
    char encoding[32];
    uint32_t rtp_rate, codec_rate, channels;
    char fmtp[128];            /* our a=fmtp for it ("" none) */
    int dtmf_pt;               /* telephone-event payload type, -1 none */
    bool rtcp_mux;             /* a=rtcp-mux (RFC 5761) */
    struct sockaddr_in rtcp;   /* where its RTCP goes: a=rtcp, else port + 1 */
    bool savp;                 /* m= ... RTP/SAVP */
    tandem_crypto_attr crypto; /* the first a=crypto we support; suite NONE: none */
};

/* RFC 4733 digits waiting to be sent (worker side). */
#define SIP_DTMF_QUEUE 32
struct sip_dtmf_tx {
    char digits[SIP_DTMF_QUEUE];
    uint32_t durations[SIP_DTMF_QUEUE];
    unsigned head, count;
    bool active;         /* an event is on the wire */
    uint8_t event;       /* its RFC 4733 event code */
    uint32_t ts;         /* RTP timestamp of the event in progress */
    uint32_t elapsed;    /* samples sent so far */
    uint32_t total;      /* samples to send */
    int end_sent;        /* end packets sent (3 in all) */
    uint64_t timer;      /* pending 20 ms timer, 0 none */
};

/* One RTP session (worker side; sip_rtp.c): the SIP adapter around the
 * packet-level stack in <tandem/rtp.h> (core/rtp). */
struct sip_rtp {
    int fd;                    /* -1 when closed */
    int rtcp_fd;               /* port + 1; -1 when closed or rtcp-mux */
    int port;                  /* local RTP port (even; RTCP is port + 1) */
    bool watched, rtcp_watched;
    struct sockaddr_in remote; /* where we send; latched to the real source */
    struct sockaddr_in rtcp_remote;
    struct sockaddr_in sdp_remote; /* what the far end's SDP said */
    bool have_remote;
    bool rtcp_mux;             /* RTCP shares the RTP socket (RFC 5761) */
    bool latched;              /* remote learnt from received media */
    uint32_t latched_ssrc;
    int pt, dtmf_pt;           /* negotiated payload types */
    const char *format;        /* the codec's format name (points at codec.codec), NULL none */
    struct sip_media codec;    /* the negotiated codec (codec..fmtp fields) */
    bool marker;               /* next audio packet starts a talk spurt */
    /* SSRC, sequence number, media clock (session.ts: the timestamp of the
     * next packet we send), receive statistics and RTCP state. Kept for
     * the life of the call, whatever the SDP changes (continuity). */
    tandem_rtp_session session;
    /* receive side: the timestamp of the last DTMF event delivered, so the
     * three end packets yield one digit */
    bool rx_dtmf_seen;
    uint32_t rx_dtmf_ts;
    uint64_t rx_packets, tx_packets;
    struct sip_dtmf_tx dtmf;
    /* the jitter buffer (sip_config.jitter_buffer), drained by its worker's
     * 20 ms playout clock while the call is on that worker's playout list */
    tandem_jb *jb;             /* NULL when disabled or not yet needed */
    bool in_playout;
    struct sip_call *playout_prev, *playout_next;
    uint64_t rtcp_timer;       /* 0 none */
    /* SRTP (sip_srtp.c): our master key + salt, drawn once per call, and the
     * libsrtp sessions, NULL while the stream is plain RTP */
    bool have_local_key;
    uint8_t local_key[TANDEM_SRTP_KEY_SALT];
    struct sip_srtp *srtp;
};

enum sip_dir { SIP_INBOUND, SIP_OUTBOUND };

struct sip_call {
    atomic_int refs;
    enum sip_dir dir;
    int worker; /* fixed at creation */

    /* SIP thread only */
    void *nh;             /* nua_handle_t * */
    bool sip_answered;    /* 200 sent or received */
    bool sip_final;       /* a final response sent/received or BYE/CANCEL seen */
    bool engine_hungup;   /* the engine asked to hang up: don't report back */
    int sip_cause;        /* Q.850 cause for the next remote hang-up */
    int sip_status;       /* the final SIP status behind it, 0 none */
    struct sip_call *sip_prev, *sip_next; /* live handles, for shutdown */

    /* worker only */
    tandem_leg *leg;      /* referenced; NULL once detached */
    struct sip_rtp rtp;
    bool up;              /* answered (either direction) */
    char call_id[64];     /* for log lines; outbound: set before sharing,
                             inbound: written on the worker, read only there */

    /* set before the call is shared, read-only afterwards */
    struct sip_media offer; /* inbound: what the caller offered */
    char exten[128];
    /* inbound: from the From header; outbound: the leg's caller id (read on
     * the worker with leg_caller), for the INVITE's From ("" none) */
    char caller_num[128], caller_name[128];
    char uri[512];          /* outbound: request URI ("" for an endpoint) */
    char endpoint[64];      /* outbound: dial this endpoint's contact */
    char context[128];      /* inbound: dialplan context */
};

struct sip_call *sip_call_new(enum sip_dir dir, int worker);
void sip_call_ref(struct sip_call *c);
void sip_call_unref(struct sip_call *c);

/* --- SIP thread (sip_stack.c) --- */
int sip_stack_start(void);  /* main thread, in load(); 0 or -1 */
void sip_stack_stop(void);  /* main thread, in unload(); joins */

enum sip_cmd_kind {
    SIP_CMD_INVITE,   /* outbound: INVITE call->uri with `sdp`, From from
                         call->caller_num/caller_name */
    SIP_CMD_RING,     /* 180 */
    SIP_CMD_PROGRESS, /* 183 with `sdp` */
    SIP_CMD_ANSWER,   /* 200 with `sdp` */
    SIP_CMD_HANGUP    /* BYE, CANCEL or final response `status` */
};
/* Any thread: queue a command for the SIP thread. Takes a reference to
 * `call` and copies `sdp` (may be NULL). Returns 0, or -1 when the stack is
 * gone (the command is dropped). */
int sip_stack_send(enum sip_cmd_kind kind, struct sip_call *call, int status, const char *sdp);

/* --- worker side (sip_module.c) --- */
/* Posted by the SIP thread: an inbound INVITE was accepted for `call`. */
void sip_worker_inbound(void *call);
enum sip_ev_kind { SIP_EV_RINGING, SIP_EV_EARLY, SIP_EV_UP, SIP_EV_HANGUP };
struct sip_event {
    struct sip_call *call; /* referenced */
    enum sip_ev_kind kind;
    int cause;             /* HANGUP */
    int status;            /* the SIP status behind it, 0 none */
    struct sip_media media;
};
void sip_worker_event(void *event);
/* Any thread: post to the call's worker; frees the event on failure. */
void sip_post_event(struct sip_call *call, enum sip_ev_kind kind, int cause, int status,
                    const struct sip_media *media);

/* --- SDP (sip_sdp.c); pure functions, any thread --- */
/* Codecs other modules registered with an RTP encoding (ABI 1.2), for
 * offers and answers. Set by load(); NULL: G.711 only (the fuzz target). */
struct sip_codec_info {
    char name[32], encoding[32], fmtp[128];
    uint32_t rtp_rate, codec_rate, channels;
};
extern size_t (*sip_sdp_codecs)(struct sip_codec_info *out, size_t cap);
/* Parse `body` (len bytes) into `out`. Returns 0 when it holds an audio
 * stream with a codec we have (PCMU, PCMA, or one from sip_sdp_codecs; the
 * offerer's first), -1 otherwise. */
int sip_sdp_parse(const char *body, size_t len, struct sip_media *out);
/* Write an offer (pt < 0: PCMU, PCMA, telephone-event) or an answer (pt =
 * chosen codec, dtmf_pt or -1) for ip:port into buf. Returns length or -1. */
int sip_sdp_build(char *buf, size_t cap, const char *ip, int port, int pt, int dtmf_pt,
                  uint32_t session_id);
/* The same with everything our side can say about its media. */
struct sip_sdp_local {
    const char *ip;
    int port;
    int pt, dtmf_pt;      /* as sip_sdp_build */
    uint32_t session_id;
    bool rtcp_mux;        /* offer or accept a=rtcp-mux */
    bool savp;            /* RTP/SAVP instead of RTP/AVP */
    const char *crypto;   /* a=crypto lines (with CRLF) or NULL */
    const struct sip_media *codec; /* an answer's codec beyond G.711 (rtpmap, fmtp), or NULL */
};
int sip_sdp_build_local(char *buf, size_t cap, const struct sip_sdp_local *local);

/* --- RTP (sip_rtp.c); worker only --- */
int sip_rtp_open(struct sip_rtp *rtp); /* 0 or -1 */
/* Start watching the sockets for `call` and the RTCP reports (worker-only). */
int sip_rtp_watch(struct sip_call *call);
/* Sends an RTCP BYE, stops the timers, closes the sockets. */
void sip_rtp_close(struct sip_call *call);
/* The far end's (new) media description. May be called again at any time
 * (re-INVITE, UPDATE, a transfer): the stream keeps its SSRC, sequence
 * numbers and timestamp clock, only the destination, payload types and
 * rtcp-mux change; a new address drops the symmetric-RTP latch so that the
 * new SDP address is used until media arrives from it. */
void sip_rtp_set_remote(struct sip_rtp *rtp, const struct sip_media *m);
int sip_rtp_write(struct sip_call *call, const tandem_frame *frame);
/* The leg's media statistics as variables (rtp_codec, rtp_rx_packets,
 * rtp_tx_packets, rtcp_jitter_ms, rtcp_loss_pct, rtcp_rtt_ms; unknown ones
 * are not set), for the CDR; called when the leg ends. */
void sip_rtp_set_vars(struct sip_call *call, tandem_leg *leg);

/* --- SRTP with SDES (sip_srtp.c) --- */
void sip_srtp_unload(void); /* unload(), after the last call: libsrtp's memory back */
/* Any thread: does `m` meet the `srtp` policy (a usable key when SAVP or
 * mandatory; no SAVP when off)? */
bool sip_srtp_acceptable(const struct sip_media *m);
/* Worker: draw our key (once per call). 0 or -1. */
int sip_srtp_local_key(struct sip_rtp *rtp);
/* Worker: protect with m's key when it has one, else plain RTP. A re-INVITE
 * with the same key keeps the sessions. 0 or -1. */
int sip_srtp_start(struct sip_rtp *rtp, const struct sip_media *m);
void sip_srtp_stop(struct sip_rtp *rtp);
bool sip_srtp_active(const struct sip_rtp *rtp);
/* Worker: in place; `cap` must leave room for the trailer. 0 (also when
 * plain) or -1 (drop the packet). */
int sip_srtp_protect(struct sip_rtp *rtp, uint8_t *pkt, size_t *len, size_t cap, bool rtcp);
int sip_srtp_unprotect(struct sip_rtp *rtp, uint8_t *pkt, size_t *len, bool rtcp);
/* Our a=crypto lines: both suites for an offer, the agreed one for an
 * answer. Length or -1. */
int sip_srtp_sdp_lines(const struct sip_rtp *rtp, bool offer, char *out, size_t cap);

/* --- causes (sip_cause.c) --- */
int sip_status_to_cause(int status);
int sip_cause_to_status(int cause);
const char *sip_phrase(int status);

#endif
