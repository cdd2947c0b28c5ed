/*
 * Admission: source-address ACLs and call limits (sip_limits.c).
 *
 * A limit counts SIP legs (dialogs), inbound and outbound alike: a call
 * between two SIP phones holds two. Every call takes a slot in the global
 * limit and in its owner's (the endpoint or trunk it comes from or goes to);
 * the slot is given back when the struct sip_call is freed, i.e. once both
 * the SIP thread and the worker are done with it. Counters are atomic and
 * the per-second buckets share one mutex, so both threads may admit calls.
 */
#ifndef TANDEM_SIP_LIMITS_H
#define TANDEM_SIP_LIMITS_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct sip_limit {
    int max_calls;   /* concurrent legs, 0 unlimited */
    int cps;         /* new legs per second (burst: one second's worth), 0 unlimited */
    atomic_int active;
    double tokens;   /* under the bucket mutex */
    int64_t last_ms; /* under the bucket mutex; 0 full bucket */
};

/* The module-wide limit (`max_calls`, `cps`) and the Retry-After value of
 * the 503 answered above any limit (`retry_after`). */
extern struct sip_limit sip_global_limit;
extern int sip_retry_after;

/* Take a slot in the global limit and in `owner` (may be NULL). Returns true
 * when admitted (both taken), false when a limit is reached (nothing taken);
 * `which` then says "global" or "endpoint/trunk" for the log. */
bool sip_limit_take(struct sip_limit *owner, const char **which);
void sip_limit_release(struct sip_limit *owner); /* the global slot too */

/* A list of CIDR blocks, IPv4 and IPv6. Empty: everything is allowed. */
struct sip_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int bits;
};
struct sip_acl {
    struct sip_cidr *v;
    int count;
};
/* Add "ADDR[/BITS]" (comma- or space-separated lists too). 0, or -1 when
 * malformed (nothing added from the bad item). */
int sip_acl_add(struct sip_acl *acl, const char *text);
/* Read config keys KEY (a string list "a,b") or KEY.1, KEY.2, ... (a Lua
 * list). 0, or -1 (logged, naming `what`). */
int sip_acl_from_config(struct sip_acl *acl, const char *key, const char *what);
bool sip_acl_allows(const struct sip_acl *acl, const struct sockaddr *sa);
bool sip_acl_matches(const struct sip_acl *acl, const struct sockaddr *sa); /* empty: false */
/* The same for a numeric address in text ("10.1.2.3", "[::1]"); false when
 * it is not one. */
bool sip_acl_matches_text(const struct sip_acl *acl, const char *addr);
void sip_acl_free(struct sip_acl *acl);

/* An endpoints-file field: acl=CIDR[,CIDR...], max_calls=N or cps=N.
 * 0 when it was one of them and valid, -1 otherwise. */
int sip_admission_field(struct sip_acl *acl, struct sip_limit *limit, const char *tok);

/* Module-wide limits from config (main thread, load()). 0 or -1 (logged). */
int sip_limits_configure(void);
/* An integer config key, "" / absent: def; -1 when out of [min, max]. */
int sip_cfg_int(const char *key, int def, int min, int max);

#endif
