/*
 * Trunks to providers: configuration, outbound registration with digest
 * authentication, re-registration and retry with back-off, dialling
 * `sip/TRUNK/NUMBER` (answering the provider's 401/407 with the trunk's
 * credentials), caller-id rules, recognising a static trunk by its source
 * address, and `tandem ctl trunks`.
 *
 * Registration runs on the SIP thread: sofia's nua_register() refreshes a
 * registration by itself before it expires; a challenge (also on a refresh)
 * is answered with nua_authenticate(); a failure drops the handle and a
 * timer registers afresh after `register_retry` seconds, doubling up to
 * 300 s (or register_retry if that is longer).
 */
#include "sip_trunk.h"
#include "sip_profile.h"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/url.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BACKOFF 300

struct sip_trunk *sip_trunks;
int sip_trunk_count;


static long mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec;
}

/* --- configuration (main thread, load) --- */

static bool cfg_str(int i, const char *field, char *out, size_t cap, bool required) {
    char key[96];
    snprintf(key, sizeof key, "trunks.%d.%s", i, field);
    const char *v = sip_host->config_get(sip_self, key);
    if (!v || !*v) {
        out[0] = '\0';
        if (required)
            sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: trunks[%d] has no %s", i, field);
        return !required;
    }
    if (strlen(v) >= cap || strpbrk(v, "\"<> \t\r\n")) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: trunks[%d].%s is too long or has spaces, quotes or <>",
                      i, field);
        return false;
    }
    snprintf(out, cap, "%s", v);
    return true;
}

static bool cfg_num(int i, const char *field, int def, int min, int max, int *out) {
    char key[96];
    snprintf(key, sizeof key, "trunks.%d.%s", i, field);
    *out = sip_cfg_int(key, def, min, max);
    if (*out < 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: trunks[%d].%s must be %d-%d", i, field, min, max);
        return false;
    }
    return true;
}

static bool cfg_bool(int i, const char *field) {
    char key[96];
    snprintf(key, sizeof key, "trunks.%d.%s", i, field);
    const char *v = sip_host->config_get(sip_self, key);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0);
}

static bool valid_name(const char *s) {
    if (!*s) return false;
    for (; *s; ++s)
        if (!isalnum((unsigned char)*s) && !strchr("-_.+", *s)) return false;
    return true;
}

/* caller_id: "keep", "fixed:NUMBER", or "strip:PREFIX" / "add:PREFIX" steps
 * separated by commas, applied in order. */
static bool valid_caller_rules(const char *rules) {
    if (!*rules || strcmp(rules, "keep") == 0) return true;
    if (strncmp(rules, "fixed:", 6) == 0) return rules[6] && !strchr(rules + 6, ',');
    const char *p = rules;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (!((len > 6 && strncmp(p, "strip:", 6) == 0) || (len > 4 && strncmp(p, "add:", 4) == 0)))
            return false;
        p += len;
        if (*p == ',') ++p;
    }
    return true;
}

static int load_one(int i, struct sip_trunk *t) {
    memset(t, 0, sizeof *t);
    t->reach.status = -1;
    bool ok = cfg_str(i, "name", t->name, sizeof t->name, true) && cfg_str(i, "host", t->host, sizeof t->host, true) &&
              cfg_str(i, "username", t->username, sizeof t->username, false) &&
              cfg_str(i, "password", t->password, sizeof t->password, false) &&
              cfg_str(i, "realm", t->realm, sizeof t->realm, false) &&
              cfg_str(i, "from_user", t->from_user, sizeof t->from_user, false) &&
              cfg_str(i, "from_domain", t->from_domain, sizeof t->from_domain, false) &&
              cfg_str(i, "caller_id", t->caller_id, sizeof t->caller_id, false) &&
              cfg_str(i, "context", t->context, sizeof t->context, false) &&
              cfg_num(i, "expires", 600, 60, 86400, &t->expires) &&
              cfg_num(i, "register_retry", 30, 1, 3600, &t->register_retry) &&
              cfg_num(i, "qualify", 0, 0, 3600, &t->qualify) && cfg_num(i, "ptime", 0, 0, 60, &t->ptime) &&
              cfg_num(i, "max_calls", 0, 0, 1000000, &t->limit.max_calls) &&
              cfg_num(i, "cps", 0, 0, 100000, &t->limit.cps);
    if (!ok) return -1;
    if (!valid_name(t->name)) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: trunks[%d].name '%s' must be letters, digits, -_.+",
                      i, t->name);
        return -1;
    }
    if (t->ptime % 10) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: trunk %s: ptime must be 10, 20, 30, 40, 50 or 60", t->name);
        return -1;
    }
    if (!valid_caller_rules(t->caller_id)) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                      "sip: trunk %s: caller_id must be keep, fixed:NUMBER or strip:P/add:P steps, not '%s'",
                      t->name, t->caller_id);
        return -1;
    }
    if (!t->context[0]) snprintf(t->context, sizeof t->context, "%s", sip_cfg.context);
    t->do_register = cfg_bool(i, "register");
    if (t->do_register && (!t->username[0] || !t->password[0])) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: trunk %s: register = true needs username and password",
                      t->name);
        return -1;
    }
    char key[96], what[128];
    snprintf(key, sizeof key, "trunks.%d.allowed_ips", i);
    snprintf(what, sizeof what, "trunk %s allowed_ips", t->name);
    if (sip_acl_from_config(&t->allowed, key, what) != 0) return -1;
    t->reg_backoff = t->register_retry;
    return 0;
}

int sip_trunks_load(void) {
    sip_trunks = NULL;
    sip_trunk_count = 0;
    for (int i = 1;; ++i) {
        char key[64];
        snprintf(key, sizeof key, "trunks.%d.name", i);
        if (!sip_host->config_get(sip_self, key)) {
            snprintf(key, sizeof key, "trunks.%d.host", i);
            if (!sip_host->config_get(sip_self, key)) break;
        }
        struct sip_trunk *n = realloc(sip_trunks, (size_t)(sip_trunk_count + 1) * sizeof *n);
        if (!n) goto fail;
        sip_trunks = n;
        struct sip_trunk *t = &sip_trunks[sip_trunk_count];
        if (load_one(i, t) != 0) {
            sip_acl_free(&t->allowed);
            goto fail;
        }
        if (sip_trunk_find(t->name) || sip_endpoint_find(t->name)) {
            sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                          "sip: trunk name '%s' is taken by another trunk or an endpoint", t->name);
            sip_acl_free(&t->allowed);
            goto fail;
        }
        ++sip_trunk_count;
    }
    for (int i = 0; i < sip_trunk_count; ++i)
        sip_host->log(sip_self, TANDEM_LOG_INFO, NULL, "sip: trunk %s to %s%s, context %s", sip_trunks[i].name,
                      sip_trunks[i].host, sip_trunks[i].do_register ? ", registering" : "",
                      sip_trunks[i].context);
    return 0;
fail:
    sip_trunks_free();
    return -1;
}

void sip_trunks_free(void) {
    for (int i = 0; i < sip_trunk_count; ++i) sip_acl_free(&sip_trunks[i].allowed);
    free(sip_trunks);
    sip_trunks = NULL;
    sip_trunk_count = 0;
}

struct sip_trunk *sip_trunk_find(const char *name) {
    for (int i = 0; name && i < sip_trunk_count; ++i)
        if (strcmp(sip_trunks[i].name, name) == 0) return &sip_trunks[i];
    return NULL;
}

/* --- dialling (worker) --- */

static bool valid_number(const char *s) {
    if (!*s) return false;
    for (; *s; ++s)
        if (!isalnum((unsigned char)*s) && !strchr("+-_.*#", *s)) return false;
    return true;
}

struct sip_trunk *sip_trunk_dial(const char *dest, char *uri, size_t cap) {
    const char *slash = strchr(dest, '/');
    if (!slash || strchr(dest, '@')) return NULL;
    char name[64];
    size_t n = (size_t)(slash - dest);
    if (n == 0 || n >= sizeof name) return NULL;
    memcpy(name, dest, n);
    name[n] = '\0';
    struct sip_trunk *t = sip_trunk_find(name);
    if (!t || !valid_number(slash + 1)) return NULL;
    int len = snprintf(uri, cap, "sip:%s@%s", slash + 1, t->host);
    return len > 0 && (size_t)len < cap ? t : NULL;
}

void sip_trunk_caller_id(const struct sip_trunk *t, char *num, size_t cap) {
    const char *r = t->caller_id;
    if (!*r || strcmp(r, "keep") == 0) return;
    if (strncmp(r, "fixed:", 6) == 0) {
        snprintf(num, cap, "%s", r + 6);
        return;
    }
    while (*r) {
        size_t len = strcspn(r, ",");
        char arg[128];
        size_t off = r[0] == 's' ? 6 : 4; /* "strip:" or "add:" (checked at load) */
        snprintf(arg, sizeof arg, "%.*s", (int)(len - off), r + off);
        if (r[0] == 's') {
            size_t al = strlen(arg);
            if (strncmp(num, arg, al) == 0) memmove(num, num + al, strlen(num + al) + 1);
        } else {
            char tmp[256];
            snprintf(tmp, sizeof tmp, "%s%s", arg, num);
            snprintf(num, cap, "%s", tmp);
        }
        r += len;
        if (*r == ',') ++r;
    }
}

/* --- events --- */

static void publish(const char *name, const tandem_field *f, size_t n) {
    sip_host->publish(sip_self, name, NULL, f, n);
}

void sip_publish_reach(const char *kind, const char *name, const char *uri, int status, int rtt_ms) {
    char rtt[16];
    snprintf(rtt, sizeof rtt, "%d", rtt_ms);
    tandem_field f[] = {{"kind", kind}, {"name", name}, {"uri", uri},
                        {"status", status ? "reachable" : "unreachable"}, {"rtt_ms", rtt}};
    publish("sip_reachability", f, status ? 5 : 4);
    sip_host->log(sip_self, status ? TANDEM_LOG_INFO : TANDEM_LOG_WARNING, NULL, "sip: %s %s (%s) is %s%s%s%s",
                  kind, name, uri, status ? "reachable" : "unreachable", status ? ", " : "", status ? rtt : "",
                  status ? " ms" : "");
}

/* --- authentication (SIP thread) --- */

/* NUTAG_AUTH's "Digest:\"REALM\":USER:PASSWORD" for the challenge in `sip`,
 * or false when it is not for us (no credentials, another realm). */
static bool auth_string(const struct sip_trunk *t, sip_t const *sip, char *out, size_t cap) {
    if (!t->username[0] || !t->password[0] || !sip) return false;
    msg_auth_t const *ch = sip->sip_www_authenticate ? sip->sip_www_authenticate : sip->sip_proxy_authenticate;
    const char *realm = ch ? msg_params_find(ch->au_params, "realm=") : NULL;
    if (!ch || !ch->au_scheme || !realm) return false;
    char bare[128];
    size_t n = strlen(realm);
    if (n >= 2 && realm[0] == '"' && realm[n - 1] == '"')
        snprintf(bare, sizeof bare, "%.*s", (int)(n - 2), realm + 1);
    else
        snprintf(bare, sizeof bare, "%s", realm);
    if (t->realm[0] && strcmp(t->realm, bare) != 0) return false;
    int len = snprintf(out, cap, "%s:\"%s\":%s:%s", ch->au_scheme, bare, t->username, t->password);
    return len > 0 && (size_t)len < cap;
}

bool sip_trunk_answer_challenge(struct sip_call *call, sip_t const *sip) {
    char auth[512];
    if (!call->trunk || call->auth_tries >= 1 || !auth_string(call->trunk, sip, auth, sizeof auth)) return false;
    ++call->auth_tries;
    nua_authenticate(call->nh, NUTAG_AUTH(auth), TAG_END());
    return true;
}

/* --- registration (SIP thread) --- */

static const char *state_name(enum sip_reg_state s) {
    switch (s) {
    case SIP_REG_TRYING: return "registering";
    case SIP_REG_OK: return "registered";
    case SIP_REG_FAILED: return "failed";
    default: return "off";
    }
}

static void start_register(struct sip_trunk *t) {
    char aor[600], registrar[300], expires[16];
    const char *domain = t->from_domain[0] ? t->from_domain : t->host;
    snprintf(aor, sizeof aor, "<sip:%s@%.*s>", t->username, (int)strcspn(domain, ";"), domain);
    snprintf(registrar, sizeof registrar, "sip:%s", t->host);
    snprintf(expires, sizeof expires, "%d", t->expires);
    t->reg_nh = nua_handle(sip_profile_nua_for(registrar), NULL, SIPTAG_TO_STR(aor), SIPTAG_FROM_STR(aor), TAG_END());
    if (!t->reg_nh) return;
    t->reg_auth_tries = 0;
    t->reg_state = SIP_REG_TRYING;
    /* sofia's "outbound" extras are off: contact validation sends an
     * OPTIONS to ourselves through the registrar, and keep-alives are the
     * trunk's `qualify` */
    nua_register(t->reg_nh, NUTAG_REGISTRAR(URL_STRING_MAKE(registrar)), NUTAG_M_USERNAME(t->username),
                 NUTAG_OUTBOUND("no-validate no-options-keepalive"), SIPTAG_EXPIRES_STR(expires), TAG_END());
}

static void retry_due(su_root_magic_t *m, su_timer_t *timer, su_timer_arg_t *arg) {
    (void)m; (void)timer;
    struct sip_trunk *t = arg;
    if (!t->reg_nh) start_register(t);
}

static void registration_failed(struct sip_trunk *t, int status, const char *phrase) {
    t->reg_state = SIP_REG_FAILED;
    nua_handle_destroy(t->reg_nh);
    t->reg_nh = NULL;
    int delay = t->reg_backoff;
    int cap = t->register_retry > MAX_BACKOFF ? t->register_retry : MAX_BACKOFF;
    t->reg_backoff = delay * 2 > cap ? cap : delay * 2;
    if (t->retry_timer) su_timer_set_interval(t->retry_timer, retry_due, t, (su_duration_t)delay * 1000);
    char st[16], retry[16];
    snprintf(st, sizeof st, "%d", status);
    snprintf(retry, sizeof retry, "%d", delay);
    tandem_field f[] = {{"trunk", t->name}, {"status", st}, {"reason", phrase}, {"retry_in", retry}};
    publish("sip_trunk_failed", f, 4);
    sip_host->log(sip_self, TANDEM_LOG_WARNING, NULL, "sip: trunk %s registration failed: %d %s; retrying in %d s",
                  t->name, status, phrase, delay);
}

/* The expiry the registrar granted our contact (its Contact's expires, else
 * Expires, else what we asked for). */
static long granted(const struct sip_trunk *t, sip_t const *sip) {
    if (sip) {
        for (sip_contact_t const *m = sip->sip_contact; m; m = m->m_next)
            if (m->m_expires && m->m_url->url_user && strcmp(m->m_url->url_user, t->username) == 0)
                return strtol(m->m_expires, NULL, 10);
        if (sip->sip_expires) return (long)sip->sip_expires->ex_delta;
    }
    return t->expires;
}

bool sip_trunk_on_register(nua_handle_t *nh, bool unregister, int status, const char *phrase, sip_t const *sip) {
    struct sip_trunk *t = NULL;
    for (int i = 0; i < sip_trunk_count && !t; ++i)
        if (nh && sip_trunks[i].reg_nh == nh) t = &sip_trunks[i];
    if (!t) return false;
    if (status < 200) return true;
    if (unregister) { /* at shutdown */
        t->reg_state = SIP_REG_NONE;
        sip_host->log(sip_self, TANDEM_LOG_INFO, NULL, "sip: trunk %s unregistered (%d)", t->name, status);
        return true;
    }
    t->reg_status = status;
    snprintf(t->reg_phrase, sizeof t->reg_phrase, "%s", phrase ? phrase : "");
    char auth[512];
    if ((status == 401 || status == 407) && t->reg_auth_tries < 2 && auth_string(t, sip, auth, sizeof auth)) {
        ++t->reg_auth_tries;
        nua_authenticate(nh, NUTAG_AUTH(auth), TAG_END());
        return true;
    }
    if (status >= 300) {
        registration_failed(t, status, phrase ? phrase : "");
        return true;
    }
    long e = granted(t, sip);
    bool fresh = t->reg_state != SIP_REG_OK;
    t->reg_state = SIP_REG_OK;
    t->reg_auth_tries = 0;
    t->reg_backoff = t->register_retry;
    t->reg_expires = mono_s() + e;
    char ex[16];
    snprintf(ex, sizeof ex, "%ld", e);
    tandem_field f[] = {{"trunk", t->name}, {"host", t->host}, {"expires", ex}};
    publish("sip_trunk_registered", f, 3);
    sip_host->log(sip_self, fresh ? TANDEM_LOG_NOTICE : TANDEM_LOG_INFO, NULL, "sip: trunk %s %sregistered for %ld s",
                  t->name, fresh ? "" : "re-", e);
    return true;
}

void sip_trunks_start(su_root_t *root) {
    for (int i = 0; i < sip_trunk_count; ++i) {
        struct sip_trunk *t = &sip_trunks[i];
        t->reg_state = SIP_REG_NONE;
        t->reg_nh = NULL;
        t->reach.status = -1;
        t->reach.ping = NULL;
        if (!t->do_register) continue;
        t->retry_timer = su_timer_create(su_root_task(root), 0);
        start_register(t);
    }
}

void sip_trunks_stop(void) {
    /* nua_shutdown() unregisters what is registered and frees the handles */
    for (int i = 0; i < sip_trunk_count; ++i) {
        if (sip_trunks[i].retry_timer) su_timer_destroy(sip_trunks[i].retry_timer);
        sip_trunks[i].retry_timer = NULL;
    }
}

/* --- static trunks: who sent this request (SIP thread) --- */

struct sip_trunk *sip_trunk_for_source(nua_t *nua) {
    msg_t *msg = nua_current_request(nua);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    if (!ai || !ai->ai_addr) return NULL;
    for (int i = 0; i < sip_trunk_count; ++i)
        if (sip_acl_matches(&sip_trunks[i].allowed, ai->ai_addr)) return &sip_trunks[i];
    return NULL;
}

/* --- tandem ctl trunks (console thread; the state is read on the SIP thread) --- */

struct trunk_view {
    char state[16];
    int status;
    long expires_in;
    int reach, rtt_ms;
    int calls;
};
struct trunk_snapshot {
    struct trunk_view *v;
};

static void take_snapshot(void *arg) {
    struct trunk_snapshot *s = arg;
    long now = mono_s();
    for (int i = 0; i < sip_trunk_count; ++i) {
        const struct sip_trunk *t = &sip_trunks[i];
        struct trunk_view *v = &s->v[i];
        snprintf(v->state, sizeof v->state, "%s", state_name(t->reg_state));
        v->status = t->reg_status;
        v->expires_in = t->reg_state == SIP_REG_OK && t->reg_expires > now ? t->reg_expires - now : 0;
        v->reach = t->reach.status;
        v->rtt_ms = t->reach.rtt_ms;
    }
}

static const char *reach_name(int r) {
    return r < 0 ? "unknown" : r ? "reachable" : "unreachable";
}

static int trunks_cmd(void *user, int argc, const char *const *argv, tandem_console_out *out) {
    (void)user;
    bool json = sip_host->console_json && sip_host->console_json(out); /* tandem ctl --json */
    struct trunk_snapshot snap = {calloc((size_t)sip_trunk_count + 1, sizeof(struct trunk_view))};
    if (!snap.v) return TANDEM_ERROR;
    if (sip_stack_run_sync(take_snapshot, &snap) != 0)
        for (int i = 0; i < sip_trunk_count; ++i) snprintf(snap.v[i].state, sizeof snap.v[i].state, "stopped");
    char line[1400];
    if (json) sip_host->console_print(out, "{\"trunks\":[");
    for (int i = 0; i < sip_trunk_count; ++i) {
        const struct sip_trunk *t = &sip_trunks[i];
        const struct trunk_view *v = &snap.v[i];
        int calls = atomic_load(&t->limit.active);
        if (json)
            snprintf(line, sizeof line,
                     "%s{\"name\":\"%s\",\"host\":\"%s\",\"context\":\"%s\",\"register\":%s,\"state\":\"%s\","
                     "\"status\":%d,\"expires_in\":%ld,\"reachability\":\"%s\",\"rtt_ms\":%d,\"calls\":%d,"
                     "\"max_calls\":%d,\"cps\":%d,\"allowed_ips\":%d}",
                     i ? "," : "", t->name, t->host, t->context, t->do_register ? "true" : "false", v->state,
                     v->status, v->expires_in, reach_name(v->reach), v->rtt_ms, calls, t->limit.max_calls,
                     t->limit.cps, t->allowed.count);
        else
            snprintf(line, sizeof line, "%s %s context=%s registration=%s last=%d expires_in=%ld %s rtt_ms=%d calls=%d\n",
                     t->name, t->host, t->context, v->state, v->status,
                     v->expires_in, reach_name(v->reach), v->rtt_ms, calls);
        sip_host->console_print(out, line);
    }
    if (json) sip_host->console_print(out, "]}\n");
    else if (!sip_trunk_count) sip_host->console_print(out, "(no trunks)\n");
    free(snap.v);
    return TANDEM_OK;
}

static const tandem_console_command trunks_command = {
    sizeof(tandem_console_command), "trunks", "trunks (with tandem ctl --json: a JSON document)",
    "the SIP trunks: registration state, reachability, calls", NULL, trunks_cmd,
};

int sip_trunks_register_command(void) {
    return sip_host->register_console_command(sip_self, &trunks_command);
}
