/*
 * Trunks to providers (sip_trunk.c), OPTIONS qualify (sip_qualify.c) and the
 * admission of inbound INVITEs (sip_admit.c).
 *
 * The trunk table is read in load() (main thread) and immutable afterwards
 * except the fields marked "SIP thread", which only the SIP thread touches;
 * the console reads them through sip_stack_run_sync(), on the SIP thread.
 */
#ifndef TANDEM_SIP_TRUNK_H
#define TANDEM_SIP_TRUNK_H

#include "sip_internal.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/su_wait.h>

enum sip_reg_state { SIP_REG_NONE, SIP_REG_TRYING, SIP_REG_OK, SIP_REG_FAILED };

struct sip_trunk {
    char name[64];
    char host[256];        /* host[:port][;params], what NUMBER@ is put before */
    char username[128], password[128];
    char realm[128];       /* answer only this realm's challenges ("" any) */
    char from_user[128];   /* fixed From user ("" the caller's number) */
    char from_domain[256]; /* From host ("" the trunk host) */
    char caller_id[256];   /* caller-id rules, see sip_trunk_caller_id() */
    char context[128];     /* inbound calls from this trunk */
    bool do_register;
    int expires;           /* asked for in REGISTER */
    int register_retry;    /* first retry after a failure, doubled up to 300 s */
    int qualify;           /* OPTIONS every N s, 0 off */
    int ptime;             /* ms per packet offered on calls out (0: the module's) */
    struct sip_acl allowed; /* sources whose INVITEs are this trunk's */
    struct sip_limit limit;

    /* SIP thread */
    enum sip_reg_state reg_state;
    int reg_status;        /* last final status of REGISTER */
    char reg_phrase[64];
    long reg_expires;      /* CLOCK_MONOTONIC s when the registration lapses */
    int reg_auth_tries;
    int reg_backoff;       /* the next retry's delay in s */
    nua_handle_t *reg_nh;
    su_timer_t *retry_timer;
    struct sip_reach reach;
};

extern struct sip_trunk *sip_trunks;
extern int sip_trunk_count;

/* Main thread, load(): read `trunks.N.*`. 0 or -1 (logged). */
int sip_trunks_load(void);
void sip_trunks_free(void); /* main thread, unload() */
int sip_trunks_register_command(void); /* load(): `tandem ctl trunks` */
struct sip_trunk *sip_trunk_find(const char *name); /* any thread */

/* Worker, in the driver's request(): "TRUNK/NUMBER" -> the trunk and the
 * request URI; NULL when `dest` names no trunk. */
struct sip_trunk *sip_trunk_dial(const char *dest, char *uri, size_t cap);
/* Worker: apply the trunk's caller-id rules to `num` (in place, cap bytes). */
void sip_trunk_caller_id(const struct sip_trunk *t, char *num, size_t cap);

/* SIP thread. */
void sip_trunks_start(su_root_t *root); /* after the profiles' NUAs exist */
void sip_trunks_stop(void);                         /* before nua_shutdown */
/* nua_r_register / nua_r_unregister: true when `nh` was a trunk's. */
bool sip_trunk_on_register(nua_handle_t *nh, bool unregister, int status, const char *phrase, sip_t const *sip);
/* A 401/407 to an outbound INVITE: answer it with the call's trunk
 * credentials (once). True when nua_authenticate() was called. */
bool sip_trunk_answer_challenge(struct sip_call *call, sip_t const *sip);
/* The trunk whose allowed_ips hold the current request's source. */
struct sip_trunk *sip_trunk_for_source(nua_t *nua);
/* Publish a reachability change (any thread). `kind`: "endpoint"/"trunk". */
void sip_publish_reach(const char *kind, const char *name, const char *uri, int status, int rtt_ms);

/* OPTIONS qualify (sip_qualify.c). Main thread, load(): 0 or -1 (logged). */
int sip_qualify_configure(void);
/* SIP thread. */
void sip_qualify_start(su_root_t *root);
void sip_qualify_stop(void);
/* nua_r_options: true when `nh` was one of our pings. */
bool sip_qualify_on_options(nua_handle_t *nh, int status);
/* A contact changed or went: stop its ping, unknown again. */
void sip_qualify_forget(struct sip_reach *r);
void sip_registrations_start(su_root_t *root);
void sip_registrations_changed(void);
void sip_registrations_stop(void);

/* Inbound INVITE admission (sip_admit.c), SIP thread. */
struct sip_admission {
    struct sip_endpoint *ep;   /* authenticated endpoint, or NULL */
    struct sip_trunk *trunk;   /* trunk the call comes from, or NULL */
    struct sip_limit *owner;   /* the limit the call counts against */
    const char *context;
};
/* Identify (trunk by source address, else endpoint by digest), check ACLs
 * and limits; `context` is the profile's, for calls that are neither. False when it has answered (403, 407 or 503). On true the call
 * holds a limit slot: hand it to the call (sip_call.admitted) or give it
 * back with sip_limit_release(adm->owner). */
bool sip_admit_invite(nua_t *nua, nua_handle_t *nh, sip_t const *sip, const char *context,
                      struct sip_admission *adm);
/* After digest: is the current request's source inside ep's acl? (false:
 * logged; the caller answers 403) */
bool sip_endpoint_source_allowed(nua_t *nua, const struct sip_endpoint *ep);
/* 503 with Retry-After (when configured). */
void sip_respond_overload(nua_t *nua, nua_handle_t *nh, bool with_this);

/* NAT-aware contacts (sip_nat.c). Main thread, load(): reads nat_rewrite. */
int sip_nat_configure(void);
void sip_nat_free(void); /* main thread, unload() */
/* SIP thread, in the registrar: where requests to `contact` (registered by
 * the current request) must go when the packet came from elsewhere: the
 * Contact with the source's host, port and transport, into out. Returns 1
 * when rewritten, 0 when the Contact is right as it is (out ""), -1 on
 * overflow (out ""). */
int sip_nat_target(nua_t *nua, sip_t const *sip, const url_t *contact, char *out, size_t cap);

#endif
