/*
 * The SIP channel's internal contract, shared by its files.
 *
 * Threads: the SIP stack (a sofia-sip NUA per profile, all on one su_root) runs in its own
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

#include "sip_limits.h"

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct sip_profile; /* sip_profile.h */

extern const tandem_host *sip_host;
extern tandem_module *sip_self;

/* Configuration, read once in load(); immutable afterwards. */
struct sip_config {
    char listen[256];
    char context[128];
    char rtp_ip[64];        /* IPv4 media address (a profile may have its own) */
    char rtp_ip6[64];       /* IPv6 media address, "" no IPv6 media */
    int rtp_port_min, rtp_port_max;
    char realm[128];        /* digest realm */
    int auth_fail_limit;    /* failed authentications per source per 60 s ... */
    int auth_ban_seconds;   /* ... before it gets 403 for this long */
    bool auth_uri_check;    /* a digest answer must be signed for the request's own URI */
    char endpoints_path[1024]; /* the endpoints/passwords file, "" none */
    /* media (sip_rtp.c) */
    bool jitter_buffer;     /* buffer and conceal received audio */
    int jb_min_ms, jb_max_ms;
    int rtcp_interval_ms;   /* the mean report interval (randomised +-50%) */
    int ptime;              /* ms of audio per packet we offer and send by default (10-60) */
    int rtp_socket_reuse_ms;  /* a call's sockets rest this long before another takes them, 0 never */
    int rtp_socket_pool;      /* at most this many pairs kept */
    enum sip_srtp_policy { SIP_SRTP_OFF, SIP_SRTP_OPTIONAL, SIP_SRTP_MANDATORY } srtp;
};
extern struct sip_config sip_cfg;
/* load(): an integer key within [min, max], `def` when unset, -1 invalid. */
int sip_cfg_int(const char *key, int def, int min, int max);
/* A true/false setting: 1 or 0, `def` when absent, -1 for anything else. */
int sip_cfg_bool(const char *key, bool def);
/* load(): the media keys of sip_config (sip_media_config.c); 0 or -1 (logged). */
int sip_media_config(void);
/* load(): rtp_ip is numeric IPv4 and rtp_ip6 numeric IPv6 or "" (for
 * `profile`, "" the module); 0 or -1 (logged). */
int sip_media_ips_check(const char *profile, const char *ip4, const char *ip6);

/* Endpoints (sip_auth.c). The table is read in load() and immutable
 * afterwards except `contacts`, which only the SIP thread touches. */
#define SIP_MAX_CONTACTS 4
/* OPTIONS qualify state of a contact or trunk (sip_qualify.c, SIP thread). */
struct sip_reach {
    int status;          /* -1 unknown, 0 unreachable, 1 reachable */
    int rtt_ms;          /* of the last answer */
    long next_ping;      /* CLOCK_MONOTONIC seconds, 0 now */
    void *ping;          /* nua_handle_t * of the OPTIONS in flight, or NULL */
    int64_t sent_ms;
};
struct sip_contact {
    char uri[256];          /* "" free */
    char target[300];       /* where requests go when behind NAT (sip_nat.c), "" uri */
    long expires;           /* CLOCK_MONOTONIC seconds */
    unsigned long updated;  /* registration order: the newest is dialled */
    struct sip_reach reach;
};
struct sip_endpoint {
    char id[64];
    char password[128];
    char context[128];
    struct sip_acl acl;     /* acl= in the file: sources it may use */
    struct sip_limit limit; /* max_calls=, cps= in the file */
    struct sip_contact contacts[SIP_MAX_CONTACTS];
    /* The kind of its newest contact (set on the SIP thread, read by a
     * worker writing an offer to it before the contact is looked up). */
    atomic_bool newest_tls, newest_ipv6;
};
extern struct sip_endpoint *sip_endpoints;
extern int sip_endpoint_count;
extern unsigned long sip_contact_serial;
int sip_endpoints_load(void);  /* main thread, load(): 0 or -1 (logged) */
void sip_endpoints_free(void); /* main thread, unload() */
int sip_endpoints_register_command(void); /* load(): `tandem ctl endpoints` */
struct sip_endpoint *sip_endpoint_find(const char *id); /* any thread */
/* SIP thread: where to send to every unexpired contact of `ep` (NAT
 * target, else URI), newest first, into out; returns how many. */
int sip_endpoint_contacts(struct sip_endpoint *ep, const char *out[SIP_MAX_CONTACTS]);
/* SIP thread: where to send to the newest unexpired contact of `ep` (its
 * NAT target, else its URI), or NULL. */
const char *sip_endpoint_contact(struct sip_endpoint *ep);
long sip_monotonic_s(void); /* CLOCK_MONOTONIC seconds: contact expiry */
/* SIP thread, or load() before it starts: after the contacts changed. */
void sip_endpoint_note_newest(struct sip_endpoint *ep);

/* Registrations kept across restarts (sip_registrations.c): restore in
 * load() after the endpoints, then SIP thread: start, changed after every
 * REGISTER, stop at shutdown (saves what changed). */
void sip_registrations_restore(void);

/* A media transport address of either family (sip_addr.c). The media path
 * never looks at the family itself: it goes through these. */
union sip_addr {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
};
socklen_t sip_addr_len(const union sip_addr *a); /* 0: no address */
uint16_t sip_addr_port(const union sip_addr *a);
void sip_addr_set_port(union sip_addr *a, uint16_t port);
bool sip_addr_same(const union sip_addr *a, const union sip_addr *b); /* address and port */
/* A numeric IPv4 or IPv6 address and a port; 0, or -1 when `ip` is neither. */
int sip_addr_parse(const char *ip, uint16_t port, union sip_addr *out);
bool sip_ip_is_v6(const char *ip); /* a textual address: IPv6? */

/* What an SDP body says about the far end's audio (sip_sdp.c). */
struct sip_media {
    bool valid;
    union sip_addr remote;     /* c= address (IP4 or IP6), m= port */
    int pt;                    /* chosen codec's payload type; -1 none */
    /* the chosen codec: its engine format name, how the rtpmap named it,
     * the RTP clock and the linear rate (a frame of 20 ms is rate / 50) */
    char codec[32];
    char encoding[32];
    uint32_t rtp_rate, codec_rate, channels;
    char fmtp[128];            /* our a=fmtp for it ("" none) */
    char remote_fmtp[256];     /* the far end's a=fmtp for it ("" none) */
    int dtmf_pt;               /* telephone-event payload type, -1 none */
    bool rtcp_mux;             /* a=rtcp-mux (RFC 5761) */
    int ptime, maxptime;       /* a=ptime, a=maxptime in ms (0 none) */
    union sip_addr rtcp;       /* where its RTCP goes: a=rtcp, else port + 1 */
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
    char local_ip[64];         /* the address the sockets are bound to, our c= */
    bool watched, rtcp_watched;
    union sip_addr remote;     /* where we send; latched to the real source */
    union sip_addr rtcp_remote;
    union sip_addr sdp_remote; /* what the far end's SDP said */
    bool have_remote;
    bool tx_held;              /* the far end's SDP holds us (sendonly, inactive, c=0.0.0.0): send no audio */
    bool rtcp_mux;             /* RTCP shares the RTP socket (RFC 5761) */
    bool latched;              /* remote learnt from received media */
    uint32_t latched_ssrc;
    /* sockets taken from the pool (sip_rtp_pool.h): the previous call's
     * stream, whose late packets are dropped, not latched to, until
     * stale_until_us (or for good once the new SDP names that address) */
    bool stale_active;
    uint32_t stale_ssrc;
    union sip_addr stale_from;
    uint64_t stale_until_us;
    int pt, dtmf_pt;           /* negotiated payload types */
    const char *format;        /* the codec's format name (points at codec.codec), NULL none */
    struct sip_media codec;    /* the negotiated codec (codec..fmtp fields) */
    bool marker;               /* next audio packet starts a talk spurt */
    /* ptime (sip_ptime.c): the ms of audio in each packet we send, and
     * the engine frames waiting to fill one (NULL when each frame is a
     * packet); without a jitter buffer, received packets cut into 20 ms
     * frames (NULL until a packet of another duration comes) */
    int tx_ptime;
    struct tandem_rechunk *tx_chunk, *rx_chunk;
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
    /* relaying without the buffer (sip_relay.c): the next sequence number
     * and timestamp expected from the far end, to pass gaps on as timing */
    bool direct_started;
    uint32_t direct_ssrc;
    uint16_t direct_next_seq;
    uint32_t direct_next_ts;
    bool in_playout;
    struct sip_call *playout_prev, *playout_next;
    uint64_t rtcp_timer;       /* 0 none */
    /* SRTP (sip_srtp.c): our master key + salt, drawn once per call, and the
     * libsrtp sessions, NULL while the stream is plain RTP */
    bool have_local_key;
    uint8_t local_key[TANDEM_SRTP_KEY_SALT];
    struct sip_srtp *srtp;
};

/* --- call features: re-INVITE/UPDATE, INFO DTMF, identity and X- headers
 * (sip_dialog.c, sip_headers.c). Kept in one block so the foundation's
 * fields above stay as they were. --- */
enum sip_direction { SIP_SENDRECV, SIP_SENDONLY, SIP_RECVONLY, SIP_INACTIVE };
struct sip_dialog {
    /* SIP thread only: a re-INVITE/UPDATE waiting for the worker's SDP
     * answer (nua_saved_event_t *), NULL none */
    void *pending;
    int notifies;           /* our NOTIFYs (REFER progress) not yet answered */
    bool bye_deferred;      /* BYE waits for them (else it overtakes the last) */
    bool reinviting;        /* our re-INVITE (leg:sip_hold) awaits its answer */
    /* worker only */
    int remote_dir;         /* enum sip_direction of the far end's last SDP */
    bool remote_zero;       /* its c= was 0.0.0.0 (RFC 2543 hold) */
    bool held;              /* the engine was told sip_hold=1 */
    bool offered;           /* our last 200 to a re-INVITE was an offer: the ACK answers */
    bool local_hold;        /* we hold the far end (leg:sip_hold) */
    bool sent_valid;        /* we sent an SDP answer (sent_* say what) */
    int sent_pt, sent_dtmf_pt, sent_dir;
    uint32_t sdp_version;   /* o= version of our last SDP */
    /* set before the call is shared, read-only afterwards (malloc'd) */
    char *in_vars;          /* inbound: "name\0value\0...\0" from the INVITE's headers */
    char *out_headers;      /* outbound: extra INVITE headers, CRLF-separated */
    struct sip_call *replaces; /* inbound INVITE with Replaces: that call (referenced) */
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
    struct sip_limit *limit_owner; /* with `admitted`: the slots to give back */
    bool admitted;                 /* holds a global (+ owner) limit slot */
    struct sip_trunk *trunk;       /* outbound: dialled through this trunk */
    char from_host[256];           /* outbound: From host ("" the listen address) */
    int auth_tries;                /* SIP thread: challenges answered */
    const char *contact;           /* inbound: Contact for our answers ("" sofia's; the profile's) */
    /* Ringing several contacts of an endpoint (sip_fork.c), SIP thread only.
     * The leg's call has no handle while its forks ring; each fork is a
     * SIP-side-only call holding a reference to it (fork_parent). */
    struct sip_call *fork_parent;  /* a fork: the leg's call */
    struct sip_call *forks;        /* the leg's call: its forks still ringing (no references) */
    struct sip_call *fork_next;
    int forks_alive;
    bool fork_won;
    int fork_status;               /* the best failure so far */

    struct sip_dialog dlg;  /* call features, see above */

    /* set before the call is shared, read-only afterwards: the profile the
     * call came in on or goes out through (NULL: the module's addresses) */
    const struct sip_profile *profile;
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
/* SIP thread: INVITE `target` for call (a handle bound to it, tracked,
 * referenced); From `from` or sofia's default (NULL). 0 or -1. */
int sip_stack_invite(struct sip_call *call, const char *target, const char *from, const char *sdp);
/* SIP thread: `to` takes over `from`'s handle (the winning fork). */
void sip_stack_adopt(struct sip_call *from, struct sip_call *to);
/* Forking (sip_fork.c), SIP thread. Start one INVITE per target for
 * `call`; 0 when at least one went out. */
int sip_fork_start(struct sip_call *call, const char *const *targets, int n, const char *from, const char *sdp);
/* A response to a fork's INVITE: the call to go on with in the normal path
 * (the leg's call for 1xx and the first 2xx), or NULL when handled. */
struct sip_call *sip_fork_response(struct sip_call *fork, int status, const void *sip);
void sip_fork_ended(struct sip_call *fork);  /* its handle terminated */
void sip_fork_cancel(struct sip_call *call); /* the engine hung up while forking */
/* Any thread but the SIP thread: run fn(arg) on the SIP thread and wait for
 * it (e.g. the console reading registrations). -1 when the stack is gone
 * (fn is not called). */
int sip_stack_run_sync(void (*fn)(void *arg), void *arg);
/* The SIP thread's loop does not busy-wait for sofia's sub-millisecond
 * timers (sip_pace.c). SIP thread only. */
struct su_root_s;
int sip_pace_start(struct su_root_s *root); /* 0 or -1 */
void sip_pace_stop(struct su_root_s *root);
void sip_pace_worked(void); /* a callback of ours handled something this iteration */
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
    const char *ip;       /* IPv4 or IPv6 */
    int port;
    int pt, dtmf_pt;      /* as sip_sdp_build */
    uint32_t session_id;
    bool rtcp_mux;        /* offer or accept a=rtcp-mux */
    int ptime;            /* a=ptime: the ms per packet we send (0: 20) */
    bool savp;            /* RTP/SAVP instead of RTP/AVP */
    const char *crypto;   /* a=crypto lines (with CRLF) or NULL */
    const struct sip_media *codec; /* an answer's codec beyond G.711 (rtpmap, fmtp), or NULL */
};
int sip_sdp_build_local(char *buf, size_t cap, const struct sip_sdp_local *local);
/* "IP6" for an IPv6 address, else "IP4": the addrtype of o= and c=. */
const char *sip_sdp_addrtype(const char *ip);
/* Worker: our SDP for `call` (sip_module.c): an offer (pt < 0) or an answer
 * with pt/dtmf_pt, with its RTCP, SRTP and codec lines. Length or -1. */
int sip_local_sdp(struct sip_call *call, int pt, int dtmf_pt, char *buf, size_t cap);

/* --- RTP (sip_rtp.c); worker only --- */
/* CLOCK_MONOTONIC in microseconds: media timing, the socket pool, pacing. */
uint64_t sip_mono_us(void);
/* Sockets on `ip` (IPv4 or IPv6), an even port and the one above. 0 or -1
 * (errno EADDRINUSE: the range is full). */
int sip_rtp_open(struct sip_rtp *rtp, const char *ip);
/* Worker (sip_module.c): open the call's media in the family its peer
 * uses: `ipv6`, or with `from_offer` the offer's c= family (the profile's
 * family without an offer); the other family when ours has no address or
 * cannot bind there. 0 or -1. */
int sip_media_open(struct sip_call *call, bool from_offer, bool ipv6);
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
/* Worker: the media clock runs on for a frame we do not send (held). */
void sip_rtp_skip(struct sip_call *call, const tandem_frame *frame);
/* sip_rtp.c for sip_ptime.c: one audio packet of `len` payload bytes with
 * timestamp `ts` to the far end; `data` as a 20 ms-or-shorter frame to the
 * engine. */
void sip_rtp_send_audio(struct sip_rtp *rtp, uint32_t ts, const uint8_t *data, size_t len);
void sip_rtp_push_audio(struct sip_call *call, const uint8_t *data, size_t len);

/* --- ptime (sip_ptime.c); worker only --- */
/* Whether the codec's payload is one byte per RTP timestamp unit and may
 * be cut anywhere (PCMU, PCMA, G722): only such packets are split and
 * aggregated; others stay one 20 ms frame a packet. */
bool sip_ptime_splittable(const struct sip_media *c);
/* The ptime we offer: the call's trunk's `ptime`, else the module's. */
int sip_ptime_own(const struct sip_call *call);
/* The ptime we send for the far end's SDP `m`: its a=ptime (else `own`)
 * within its a=maxptime, a multiple of 10 in 10..60; 20 for a codec that
 * cannot be aggregated. */
int sip_ptime_choose(const struct sip_media *m, int own);
/* After a new SDP (sip_rtp_set_remote, before the payload type changes):
 * sends what waits, then sets up aggregation for `m`. */
void sip_ptime_set_remote(struct sip_call *call, const struct sip_media *m);
/* An engine frame of `len` bytes starting at the current timestamp, for
 * aggregation; false when frames go out one a packet. */
bool sip_ptime_write(struct sip_rtp *rtp, const uint8_t *data, size_t len);
/* Sends what waits as a shorter packet (a DTMF event, a gap follows). */
void sip_ptime_flush(struct sip_rtp *rtp);
/* Without a jitter buffer: a received packet to the engine as 20 ms frames
 * (any remainder waits for the next packet). */
void sip_ptime_receive(struct sip_call *call, uint32_t ts, const uint8_t *data, size_t len);
void sip_ptime_close(struct sip_rtp *rtp);

/* Worker: tell the engine the leg's codec (rtp.format, when known) and,
 * with ABI 1.3, the far end's a=fmtp for it (host->leg_set_format_params). */
void sip_rtp_announce_codec(struct sip_call *call, tandem_leg *leg);
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

/* --- grammar checks sofia's parser is lenient about (sip_strict.c) --- */
struct sip_s;
/* SIP thread: 0 when `sip`'s request is well-formed, else the status to
 * answer (400) with its phrase (RFC 4475 3.1.2). */
int sip_request_violation(const struct sip_s *sip, const char **phrase);
/* SIP thread: 0 when an INVITE's body and Accept suit an SDP exchange, else
 * 415 (a body that is not application/sdp) or 406 (SDP not acceptable). */
int sip_invite_body_violation(const struct sip_s *sip, const char **phrase);

/* --- call features (sip_dialog.c, sip_headers.c) --- */
enum sip_dialog_cmd_kind {
    SIP_CMD_DIALOG_ANSWER = 100, /* answer the pending re-INVITE/UPDATE: `status`, `sdp` */
    SIP_CMD_INFO,                /* send INFO; `sdp` is "CONTENT-TYPE\nBODY" */
    SIP_CMD_NOTIFY,              /* the final NOTIFY of a REFER; `sdp` is the sipfrag */
    SIP_CMD_REFER,               /* send REFER; `sdp` is the Refer-To value */
    SIP_CMD_REINVITE,            /* send a re-INVITE with `sdp` (leg:sip_hold) */
};
/* SIP thread: in-dialog requests and their events. sip_dialog_event()
 * returns true when it handled `event` (nua_event_t). */
bool sip_dialog_event(void *nua, int event, int status, void *nh, struct sip_call *call,
                      const void *sip, const void *tags);
void sip_dialog_reinvite(void *nua, void *nh, struct sip_call *call, const void *sip);
void sip_dialog_cmd(int kind, struct sip_call *call, int status, const char *body);
void sip_dialog_release(struct sip_call *call); /* the handle goes */
/* SIP thread, instead of nua_bye(): true when the BYE must wait for our
 * outstanding NOTIFYs (sent when the last is answered). */
bool sip_dialog_defer_bye(struct sip_call *call);
/* SIP thread, before sharing an inbound call: headers -> call->dlg.in_vars;
 * may replace caller_num/caller_name (P-Asserted-Identity from a trusted
 * source). `authenticated`: an endpoint's call (its id is the caller). */
void sip_headers_inbound(void *nua, struct sip_call *call, const void *sip, bool authenticated);
/* Worker, before sharing an outbound call: leg variables -> out_headers. */
void sip_headers_outbound(struct sip_call *call, tandem_leg *leg);
/* Worker: the inbound INVITE's header variables onto the new leg. */
void sip_headers_apply(struct sip_call *call);
/* Worker: the call now has its leg (inbound: headers onto it; both: the
 * call is known as ours, see sip_refer_own). */
void sip_dialog_attach(struct sip_call *call);
/* Worker: true when the frame was handled here (DTMF sent as INFO, or audio
 * held back because the far end does not want media). */
bool sip_dialog_write(struct sip_call *call, const tandem_frame *frame);
void sip_dialog_free(struct sip_call *call); /* last reference */
/* INFO body -> digit ('0'-'9', '*', '#', 'A'-'D') or 0 when it is not one
 * digit; *ms the duration (default 100). `type` is the Content-Type:
 * application/dtmf-relay or application/dtmf. Pure (sip_dtmf_info.c). */
char sip_info_dtmf_parse(const char *type, const char *body, size_t len, uint32_t *ms);
/* load(): read and check this part's configuration (dtmf, session timers);
 * 0 or -1 (logged). SIP thread, after nua_create: apply it to the NUA. */
int sip_dialog_load(void);
void sip_dialog_configure(void *nua);
/* REFER (sip_refer.c): SIP thread. */
void sip_refer_in(void *nua, struct sip_call *call, const void *sip);
void sip_refer_notify(struct sip_call *call, const char *sipfrag);
/* Any thread: the final NOTIFY of a REFER received on `call`. */
void sip_refer_result(struct sip_call *call, int status);

/* Attended transfer by REFER (sip_join.c). SIP thread: join the party
 * bridged with `referrer`'s leg (the REFER's dialog) with the one bridged
 * with `replaced`'s leg (named by Replaces); the result goes out as the
 * REFER's final NOTIFY. 0 started, -1 refused (nothing changed). */
int sip_join_start(struct sip_call *referrer, struct sip_call *replaced);
extern const tandem_channel_driver sip_join_driver;
/* SIP thread, a new INVITE: with a Replaces header, the answered call it
 * replaces (referenced), or NULL; *no_dialog when it names none (481). */
struct sip_call *sip_refer_replaced(void *nua, const void *sip, bool *no_dialog);
/* Posted instead of sip_worker_inbound for an INVITE with Replaces. */
void sip_refer_replacing(void *call);
/* REFER sent by us (leg:sip_refer): the SIP thread sends it and reports
 * its outcome with sip_function_result. */
void sip_refer_send(struct sip_call *call, const char *target);
void sip_refer_out_event(struct sip_call *call, int event, int status, const void *sip);

/* --- dialplan functions leg:sip_refer, leg:sip_hold (sip_functions.c) --- */
enum sip_fn_kind { SIP_FN_REFER, SIP_FN_HOLD };
int sip_functions_register(void); /* load() */
/* A call with a leg is "ours" (its leg's pvt may be used) from attach to
 * its last reference. Any thread. */
void sip_fn_own(struct sip_call *call);
void sip_fn_disown(struct sip_call *call);
bool sip_fn_is_ours(const void *pvt);
/* The outcome of a function's request: any thread (posts to the worker),
 * or on the worker. */
void sip_function_result(struct sip_call *call, int kind, int status);
void sip_function_done(struct sip_call *call, int kind, int status);
/* Worker: send a re-INVITE holding (sendonly) or resuming (sendrecv) the
 * far end; the answer comes back as SIP_FN_HOLD. 0 or -1. */
int sip_dialog_hold_offer(struct sip_call *call, bool on);

/* --- causes (sip_cause.c) --- */
int sip_status_to_cause(int status);
int sip_cause_to_status(int cause);
const char *sip_phrase(int status);

#endif
