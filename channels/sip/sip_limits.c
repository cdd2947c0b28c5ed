/*
 * Call limits (concurrent legs, new legs per second) and source-address
 * ACLs. See sip_limits.h for who may call what.
 */
#include "sip_internal.h"
#include "sip_limits.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sip_limit sip_global_limit;
int sip_retry_after = 5;

static pthread_mutex_t bucket_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool slot_take(struct sip_limit *l) {
    if (!l->max_calls) {
        atomic_fetch_add(&l->active, 1);
        return true;
    }
    int n = atomic_load(&l->active);
    do {
        if (n >= l->max_calls) return false;
    } while (!atomic_compare_exchange_weak(&l->active, &n, n + 1));
    return true;
}

/* A token bucket holding at most one second's worth of calls. Called under
 * bucket_lock. */
static bool token_take(struct sip_limit *l, int64_t now) {
    if (!l->cps) return true;
    if (!l->last_ms) {
        l->tokens = l->cps;
    } else {
        l->tokens += (double)(now - l->last_ms) * l->cps / 1000.0;
        if (l->tokens > l->cps) l->tokens = l->cps;
    }
    l->last_ms = now;
    if (l->tokens < 1.0) return false;
    l->tokens -= 1.0;
    return true;
}

bool sip_limit_take(struct sip_limit *owner, const char **which) {
    *which = "global";
    if (!slot_take(&sip_global_limit)) return false;
    if (owner && !slot_take(owner)) {
        atomic_fetch_sub(&sip_global_limit.active, 1);
        *which = "endpoint/trunk";
        return false;
    }
    /* Rate after concurrency: a call refused for concurrency spends no
     * token. The owner's bucket first, so a busy endpoint or trunk cannot
     * use up the global rate. */
    bool ok = true;
    if (sip_global_limit.cps || (owner && owner->cps)) {
        int64_t now = now_ms();
        pthread_mutex_lock(&bucket_lock);
        if (owner && !token_take(owner, now)) {
            ok = false;
            *which = "endpoint/trunk";
        } else if (!token_take(&sip_global_limit, now)) {
            ok = false;
            if (owner && owner->cps) owner->tokens += 1.0; /* not used after all */
        }
        pthread_mutex_unlock(&bucket_lock);
    }
    if (!ok) sip_limit_release(owner);
    return ok;
}

void sip_limit_release(struct sip_limit *owner) {
    if (owner) atomic_fetch_sub(&owner->active, 1);
    atomic_fetch_sub(&sip_global_limit.active, 1);
}

/* --- ACLs --- */

static int parse_cidr(const char *s, size_t len, struct sip_cidr *out) {
    char buf[80];
    if (len == 0 || len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    long bits = -1;
    if (slash) {
        char *end;
        *slash = '\0';
        bits = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end) return -1;
    }
    char *host = buf;
    size_t hl = strlen(host);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') { /* [::1] */
        host[hl - 1] = '\0';
        ++host;
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = AF_INET;
        if (bits < 0) bits = 32;
        if (bits > 32) return -1;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = AF_INET6;
        if (bits < 0) bits = 128;
        if (bits > 128) return -1;
    } else {
        return -1;
    }
    out->bits = (int)bits;
    return 0;
}

int sip_acl_add(struct sip_acl *acl, const char *text) {
    const char *p = text;
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p)) ++p;
        if (!*p) break;
        size_t len = strcspn(p, ", \t");
        struct sip_cidr c;
        if (parse_cidr(p, len, &c) != 0) return -1;
        struct sip_cidr *n = realloc(acl->v, (size_t)(acl->count + 1) * sizeof *n);
        if (!n) return -1;
        acl->v = n;
        acl->v[acl->count++] = c;
        p += len;
    }
    return 0;
}

int sip_acl_from_config(struct sip_acl *acl, const char *key, const char *what) {
    const char *v = sip_host->config_get(sip_self, key);
    if (v && *v && sip_acl_add(acl, v) != 0) goto bad;
    for (int i = 1;; ++i) {
        char k[160];
        snprintf(k, sizeof k, "%s.%d", key, i);
        if (!(v = sip_host->config_get(sip_self, k))) break;
        if (sip_acl_add(acl, v) != 0) goto bad;
    }
    return 0;
bad:
    sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: %s: '%s' is not an address or ADDR/BITS", what, v);
    return -1;
}

/* The IPv4 address inside an IPv4-mapped IPv6 one (::ffff:a.b.c.d). */
static bool unmap_v4(const struct sockaddr *sa, uint8_t out[4]) {
    if (sa->sa_family == AF_INET) {
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return true;
    }
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(a6)) {
        memcpy(out, a6->s6_addr + 12, 4);
        return true;
    }
    return false;
}

static bool prefix_equal(const uint8_t *a, const uint8_t *b, int bits) {
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, b, (size_t)whole) != 0) return false;
    if (!rest) return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

bool sip_acl_matches(const struct sip_acl *acl, const struct sockaddr *sa) {
    if (!sa) return false;
    uint8_t v4[4];
    bool is_v4 = unmap_v4(sa, v4);
    for (int i = 0; i < acl->count; ++i) {
        const struct sip_cidr *c = &acl->v[i];
        if (c->family == AF_INET && is_v4 && prefix_equal(v4, c->addr, c->bits)) return true;
        if (c->family == AF_INET6 && sa->sa_family == AF_INET6 &&
            prefix_equal(((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, c->addr, c->bits))
            return true;
    }
    return false;
}

bool sip_acl_matches_text(const struct sip_acl *acl, const char *addr) {
    struct sip_cidr c;
    if (parse_cidr(addr, strlen(addr), &c) != 0 || c.bits != (c.family == AF_INET ? 32 : 128)) return false;
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    memset(&a6, 0, sizeof a6);
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a6.sin6_family = AF_INET6;
    memcpy(&a4.sin_addr, c.addr, 4);
    memcpy(&a6.sin6_addr, c.addr, 16);
    return sip_acl_matches(acl, c.family == AF_INET ? (struct sockaddr *)&a4 : (struct sockaddr *)&a6);
}

bool sip_acl_allows(const struct sip_acl *acl, const struct sockaddr *sa) {
    return acl->count == 0 || sip_acl_matches(acl, sa);
}

void sip_acl_free(struct sip_acl *acl) {
    free(acl->v);
    acl->v = NULL;
    acl->count = 0;
}

/* --- configuration --- */

static int parse_count(const char *s, int max) {
    char *end;
    long n = strtol(s, &end, 10);
    return (end != s && !*end && n >= 0 && n <= max) ? (int)n : -1;
}

int sip_admission_field(struct sip_acl *acl, struct sip_limit *limit, const char *tok) {
    if (strncmp(tok, "acl=", 4) == 0 && tok[4]) return sip_acl_add(acl, tok + 4);
    if (strncmp(tok, "max_calls=", 10) == 0) return (limit->max_calls = parse_count(tok + 10, 1000000)) < 0 ? -1 : 0;
    if (strncmp(tok, "cps=", 4) == 0) return (limit->cps = parse_count(tok + 4, 100000)) < 0 ? -1 : 0;
    return -1;
}

int sip_cfg_int(const char *key, int def, int min, int max) {
    const char *v = sip_host->config_get(sip_self, key);
    if (!v || !*v) return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' && strcmp(end, ".0") != 0) return -1; /* Lua numbers may come as "10.0" */
    return (n >= min && n <= max) ? (int)n : -1;
}

int sip_limits_configure(void) {
    memset(&sip_global_limit, 0, sizeof sip_global_limit);
    sip_global_limit.max_calls = sip_cfg_int("max_calls", 0, 0, 1000000);
    sip_global_limit.cps = sip_cfg_int("cps", 0, 0, 100000);
    sip_retry_after = sip_cfg_int("retry_after", 5, 0, 86400);
    if (sip_global_limit.max_calls < 0 || sip_global_limit.cps < 0 || sip_retry_after < 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                      "sip: max_calls (0-1000000), cps (0-100000) or retry_after (0-86400) is invalid");
        return -1;
    }
    return 0;
}
