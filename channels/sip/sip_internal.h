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

#include "sip_limits.h"

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
};
extern struct sip_config sip_cfg;

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

/* What an SDP body says about the far end's audio (sip_sdp.c). */
struct sip_media {
    bool valid;
    struct sockaddr_in remote; /* c= address, m= port */
    int pt;                    /* chosen G.711 payload type: 0 or 8; -1 none */
    int dtmf_pt;               /* telephone-event payload type, -1 none */
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

/* One RTP session (worker side; sip_rtp.c). */
struct sip_rtp {
    int fd;                    /* -1 when closed */
    int port;                  /* local port */
    bool watched;
    struct sockaddr_in remote; /* where we send; latched to the real source */
    bool have_remote;
    bool latched;              /* remote learnt from received media */
    uint32_t latched_ssrc;
    int pt, dtmf_pt;           /* negotiated payload types */
    const char *format;        /* "PCMU"/"PCMA" (static strings) */
    uint32_t ssrc, ts;
    uint16_t seq;
    bool marker;               /* next audio packet starts a talk spurt */
    /* receive side: the timestamp of the last DTMF event delivered, so the
     * three end packets yield one digit */
    bool rx_dtmf_seen;
    uint32_t rx_dtmf_ts;
    uint64_t rx_packets, tx_packets;
    struct sip_dtmf_tx dtmf;
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
/* Parse `body` (len bytes) into `out`. Returns 0 when it holds an audio
 * stream with PCMU or PCMA (out->pt set), -1 otherwise. */
int sip_sdp_parse(const char *body, size_t len, struct sip_media *out);
/* Write an offer (pt < 0: PCMU, PCMA, telephone-event) or an answer (pt =
 * chosen codec, dtmf_pt or -1) for ip:port into buf. Returns length or -1. */
int sip_sdp_build(char *buf, size_t cap, const char *ip, int port, int pt, int dtmf_pt,
                  uint32_t session_id);

/* --- RTP (sip_rtp.c); worker only --- */
int sip_rtp_open(struct sip_rtp *rtp); /* 0 or -1 */
/* Start watching the socket for `call` (worker-only). */
int sip_rtp_watch(struct sip_call *call);
void sip_rtp_close(struct sip_call *call);
void sip_rtp_set_remote(struct sip_rtp *rtp, const struct sip_media *m);
int sip_rtp_write(struct sip_call *call, const tandem_frame *frame);

/* --- grammar checks sofia's parser is lenient about (sip_strict.c) --- */
struct sip_s;
/* SIP thread: 0 when `sip`'s request is well-formed, else the status to
 * answer (400) with its phrase (RFC 4475 3.1.2). */
int sip_request_violation(const struct sip_s *sip, const char **phrase);
/* SIP thread: 0 when an INVITE's body and Accept suit an SDP exchange, else
 * 415 (a body that is not application/sdp) or 406 (SDP not acceptable). */
int sip_invite_body_violation(const struct sip_s *sip, const char **phrase);

/* --- causes (sip_cause.c) --- */
int sip_status_to_cause(int status);
int sip_cause_to_status(int cause);
const char *sip_phrase(int status);

#endif
