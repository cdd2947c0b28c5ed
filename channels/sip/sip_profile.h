/*
 * Profiles: the listeners of the SIP channel (sip_profile.c). Each profile
 * is one sofia-sip NUA on the SIP thread's su_root, with its own listen URL
 * (UDP+TCP for sip:, TLS for sips:, IPv4 or IPv6) and its own context for
 * calls that are neither an endpoint's nor a trunk's. Profile 0 is the
 * "main" one (`listen`, or the first of `profiles`); its NUA is sip_stack.c's.
 *
 * Why one NUA per profile rather than one NUA with several transports: a
 * NUA owns one nta agent whose transports cannot be told apart from the
 * event callback, and each profile needs its own context (and its own
 * certificate); the callback's magic names the profile at no cost. All
 * NUAs share the one SIP thread, so nothing else changes.
 *
 * The table is built in load() (main thread); `nua` and `down` are the SIP
 * thread's.
 */
#ifndef TANDEM_SIP_PROFILE_H
#define TANDEM_SIP_PROFILE_H

#include "sip_internal.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/su_wait.h>

struct sip_profile {
    char name[64];
    char listen[256];   /* sofia URL: sip:HOST:PORT (UDP and TCP) or sips:HOST:PORT (TLS) */
    char context[128];
    char tls_dir[1024]; /* sofia's certificate directory (agent.pem, cafile.pem), "" no TLS */
    bool tls, ipv6;
    bool verify_clients; /* TLS: a client must present a certificate signed by tls_ca */
    char rtp_ip[64], rtp_ip6[64]; /* media addresses of its calls (default the module's) */
    char contact[300];  /* see sip_profile_contact() */
    /* SIP thread */
    nua_t *nua;
    bool down;          /* nua_r_shutdown seen */
};

extern struct sip_profile *sip_profiles;
extern int sip_profile_count;

/* Main thread, load(): read `profiles` (or `listen`/`tls_cert`/`tls_key`)
 * into the table; profile 0's listen becomes sip_cfg.listen. 0 or -1 (logged). */
int sip_profiles_load(void);
void sip_profiles_free(void);

/* SIP thread: create profile p's NUA with `cb` (the magic is p). NULL on
 * failure (logged by the caller). */
nua_t *sip_profile_create(su_root_t *root, nua_callback_f cb, struct sip_profile *p);
/* SIP thread: create profiles 1..n; 0, or -1 (logged) with every NUA,
 * profile 0's too, shut down and destroyed. */
int sip_profiles_start_more(su_root_t *root, nua_callback_f cb);
/* SIP thread: nua_shutdown() profiles 1..n. */
void sip_profiles_shutdown_more(void);
/* SIP thread, on nua_r_shutdown from `nua`: true once every profile is down. */
bool sip_profiles_all_down(nua_t *nua);
/* SIP thread, after the loop: nua_destroy() profiles 1..n. */
void sip_profiles_destroy_more(void);
/* SIP thread: the NUA to send a request to `uri` with: a sips: URI or
 * transport=tls goes out through a TLS profile, an IPv6 host through an IPv6
 * profile, anything else through the first plain IPv4 one; profile 0's
 * when none fits. */
nua_t *sip_profile_nua_for(const char *uri);
/* Any thread: the profile a request to `uri` goes out through (the rule
 * above, from the configuration alone), and whether its host is an IPv6
 * literal. */
const struct sip_profile *sip_profile_for(const char *uri);
/* The profile for a target of this kind: the first with the same transport
 * security and family, else the same security, else the first. */
const struct sip_profile *sip_profile_of(bool tls, bool v6);
bool sip_uri_ipv6(const char *uri);
void sip_uri_kind(const char *uri, bool *tls, bool *v6); /* sips:/transport=tls; an IPv6 literal host */
/* Any thread: the media address of profile p (NULL: the module's) in the
 * family asked for; "" when it has none (rtp_ip6 = ""). */
const char *sip_profile_rtp_ip(const struct sip_profile *p, bool ipv6);
/* The context for calls on `magic` (a struct sip_profile *, or NULL). */
const char *sip_profile_context(const void *magic);
/* The Contact for answers on `magic`, "" sofia's own. A sips: listener
 * makes sofia put a sips: Contact in its answers, which many phones
 * (baresip 1.0 among them) cannot send their ACK and BYE to: a TLS
 * profile answers with <sip:HOST:PORT;transport=tls>. */
const char *sip_profile_contact(const void *magic);

#endif
