/*
 * Endpoints, digest authentication (RFC 2617/3261, MD5) and the registrar.
 *
 * The endpoint table is read in load() (main thread) and is immutable
 * afterwards, except each endpoint's contacts, which only the SIP thread
 * touches (REGISTER and the contact look-up of an outbound INVITE both run
 * there), so nothing here takes a lock. The failed-authentication table is
 * SIP-thread-only too.
 */
#include "sip_internal.h"
#include "sip_nonce.h"
#include "sip_profile.h"
#include "sip_trunk.h"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_md5.h>
#include <sofia-sip/url.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIN_EXPIRES 60
#define MAX_EXPIRES 3600
#define DEFAULT_EXPIRES 3600
#define BAN_TABLE 256

struct sip_endpoint *sip_endpoints;
int sip_endpoint_count;
unsigned long sip_contact_serial;

long sip_monotonic_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec;
}

/* --- endpoint file (main thread, load) --- */

static char *trim(char *s) {
    while (isspace((unsigned char)*s)) ++s;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static bool valid_id(const char *s) {
    if (!*s || strlen(s) >= sizeof sip_endpoints->id) return false;
    for (; *s; ++s)
        if (!isalnum((unsigned char)*s) && !strchr("-_.+", *s)) return false;
    return true;
}

static int add_endpoint(const struct sip_endpoint *ep) {
    struct sip_endpoint *n = realloc(sip_endpoints, (size_t)(sip_endpoint_count + 1) * sizeof *n);
    if (!n) return -1;
    sip_endpoints = n;
    sip_endpoints[sip_endpoint_count++] = *ep;
    return 0;
}

/* Reads an endpoints file: one endpoint a line, `ID password=SECRET
 * [context=CONTEXT]`; `#` starts a comment. */
static int parse_file(const char *path, FILE *f) {
    char line[1024];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        ++lineno;
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char *s = trim(line);
        if (!*s) continue;
        struct sip_endpoint ep;
        memset(&ep, 0, sizeof ep);
        snprintf(ep.context, sizeof ep.context, "%s", sip_cfg.context);
        char *save = NULL;
        char *tok = strtok_r(s, " \t", &save);
        if (!valid_id(tok)) {
            sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: %s:%d: bad endpoint id", path, lineno);
            rc = -1;
            break;
        }
        snprintf(ep.id, sizeof ep.id, "%s", tok);
        bool have_pw = false;
        while ((tok = strtok_r(NULL, " \t", &save))) {
            size_t plen;
            if (strncmp(tok, "password=", 9) == 0 && (plen = strlen(tok + 9)) > 0 &&
                plen < sizeof ep.password) {
                snprintf(ep.password, sizeof ep.password, "%s", tok + 9);
                have_pw = true;
            } else if (strncmp(tok, "context=", 8) == 0 && tok[8] &&
                       strlen(tok + 8) < sizeof ep.context) {
                snprintf(ep.context, sizeof ep.context, "%s", tok + 8);
            } else if (sip_admission_field(&ep.acl, &ep.limit, tok) == 0) {
                /* acl=, max_calls=, cps= */
            } else {
                sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: %s:%d: bad field '%s'", path,
                              lineno, tok);
                rc = -1;
                break;
            }
        }
        if (rc || !have_pw || sip_endpoint_find(ep.id)) sip_acl_free(&ep.acl);
        if (rc) break;
        if (!have_pw) {
            sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: %s:%d: endpoint %s has no password=",
                          path, lineno, ep.id);
            rc = -1;
            break;
        }
        if (sip_endpoint_find(ep.id)) {
            sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: %s:%d: endpoint %s listed twice", path,
                          lineno, ep.id);
            rc = -1;
            break;
        }
        if (add_endpoint(&ep) != 0) {
            sip_acl_free(&ep.acl);
            rc = -1;
        }
    }
    return rc;
}

static int load_file(const char *path) {
    FILE *f = fopen(path, "re");
    if (!f) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = parse_file(path, f);
    fclose(f);
    return rc;
}

/* A path from config: absolute, or relative to the instance directory `dir`. */
static void resolve(char *out, size_t cap, const char *file, const char *dir) {
    const char *base = sip_host->instance_path ? sip_host->instance_path(dir) : NULL;
    if (file[0] == '/' || !base)
        snprintf(out, cap, "%s", file);
    else
        snprintf(out, cap, "%s/%s", base, file);
}

/* `endpoints = "1001-1010"`: numeric ids FIRST..LAST (at most 1000). */
static int parse_range(const char *spec, long *first, long *last, int *width) {
    char *end;
    *first = strtol(spec, &end, 10);
    if (end == spec || *end != '-') return -1;
    const char *second = end + 1;
    *last = strtol(second, &end, 10);
    if (end == second || *end || *first < 0 || *last < *first || *last - *first >= 1000) return -1;
    *width = (int)(end - second);
    return 0;
}

/* Random passwords: 16 characters from a 32-letter alphabet (80 bits). */
static int make_password(char *out, size_t cap) {
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789A";
    unsigned char r[16];
    if (cap < sizeof r + 1 || getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) return -1;
    for (size_t i = 0; i < sizeof r; ++i) out[i] = alphabet[r[i] & 31];
    out[sizeof r] = '\0';
    return 0;
}

/* The passwords file does not exist yet: create it (0600, O_EXCL) with a
 * fresh password per endpoint and print them once. */
static int generate(const char *path, long first, long last, int width, const char *context) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    int rc = fprintf(f, "# SIP endpoints: ID password=SECRET context=CONTEXT (generated by tandem)\n") < 0;
    sip_host->log(sip_self, TANDEM_LOG_NOTICE, NULL,
                  "sip: generated passwords for endpoints %0*ld-%0*ld, kept in %s (shown only this once):",
                  width, first, width, last, path);
    for (long id = first; id <= last && !rc; ++id) {
        struct sip_endpoint ep;
        memset(&ep, 0, sizeof ep);
        snprintf(ep.id, sizeof ep.id, "%0*ld", width, id);
        snprintf(ep.context, sizeof ep.context, "%s", context);
        if (make_password(ep.password, sizeof ep.password) != 0 ||
            fprintf(f, "%s password=%s context=%s\n", ep.id, ep.password, ep.context) < 0 ||
            add_endpoint(&ep) != 0) {
            rc = 1;
            break;
        }
        sip_host->log(sip_self, TANDEM_LOG_NOTICE, NULL, "sip:   endpoint %s password %s", ep.id, ep.password);
    }
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) rc = 1;
    if (fclose(f) != 0) rc = 1;
    if (rc) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: could not write %s", path);
        unlink(path);
        return -1;
    }
    return 0;
}

int sip_endpoints_load(void) {
    sip_endpoints = NULL;
    sip_endpoint_count = 0;
    sip_cfg.endpoints_path[0] = '\0';
    if (sip_nonce_init() != 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: getrandom failed: %s", strerror(errno));
        return -1;
    }
    const char *file = sip_host->config_get(sip_self, "endpoints_file");
    const char *range = sip_host->config_get(sip_self, "endpoints");
    char path[1024];
    int rc = 0;
    if (file && *file && range && *range) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: set endpoints_file or endpoints, not both");
        return -1;
    } else if (file && *file) {
        resolve(path, sizeof path, file, "config");
        rc = load_file(path);
    } else if (range && *range) {
        long first, last;
        int width;
        if (parse_range(range, &first, &last, &width) != 0) {
            sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                          "sip: endpoints must be FIRST-LAST (numbers, at most 1000), not '%s'", range);
            return -1;
        }
        const char *pw = sip_host->config_get(sip_self, "passwords_file");
        const char *ctx = sip_host->config_get(sip_self, "endpoint_context");
        resolve(path, sizeof path, pw && *pw ? pw : "sip-passwords", "data");
        struct stat st;
        if (stat(path, &st) == 0) {
            if (st.st_mode & 077)
                sip_host->log(sip_self, TANDEM_LOG_WARNING, NULL,
                              "sip: %s is readable by others (mode %03o); it should be 0600", path,
                              (unsigned)(st.st_mode & 0777));
            rc = load_file(path); /* the file, once it exists, is the list */
        } else {
            const char *data = sip_host->instance_path ? sip_host->instance_path("data") : NULL;
            if (data) mkdir(data, 0700); /* usually there already */
            rc = generate(path, first, last, width, ctx && *ctx ? ctx : sip_cfg.context);
        }
    } else {
        return 0;
    }
    if (rc) {
        sip_endpoints_free();
        return -1;
    }
    snprintf(sip_cfg.endpoints_path, sizeof sip_cfg.endpoints_path, "%s", path);
    sip_host->log(sip_self, TANDEM_LOG_INFO, NULL, "sip: %d endpoint(s) from %s, realm %s",
                  sip_endpoint_count, path, sip_cfg.realm);
    return 0;
}

/* `tandem ctl endpoints [--json]` (console thread; the table is fixed while
 * the module is loaded). Registrations are the SIP thread's: they are copied
 * there (sip_stack_run_sync) and printed here. */
static void json_str(char *out, size_t cap, const char *s) {
    size_t n = 0;
    for (; *s && n + 7 < cap; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { out[n++] = '\\'; out[n++] = (char)c; }
        else if (c < 0x20) n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
        else out[n++] = (char)c;
    }
    out[n] = '\0';
}

struct contact_view {
    char uri[256];
    char target[300];
    long expires_in;
    int reach, rtt_ms;
};

static void copy_contacts(void *arg) {
    struct contact_view *v = arg;
    long now = sip_monotonic_s();
    for (int i = 0; i < sip_endpoint_count; ++i) {
        sip_endpoint_contact(&sip_endpoints[i]); /* drops expired contacts */
        for (int c = 0; c < SIP_MAX_CONTACTS; ++c) {
            const struct sip_contact *ct = &sip_endpoints[i].contacts[c];
            struct contact_view *cv = &v[i * SIP_MAX_CONTACTS + c];
            snprintf(cv->uri, sizeof cv->uri, "%s", ct->uri);
            snprintf(cv->target, sizeof cv->target, "%s", ct->target);
            cv->expires_in = ct->uri[0] ? ct->expires - now : 0;
            cv->reach = ct->reach.status;
            cv->rtt_ms = ct->reach.rtt_ms;
        }
    }
}

static const char *reach_text(int r) {
    return r < 0 ? "unknown" : r ? "reachable" : "unreachable";
}

/* One endpoint's registered contacts, as JSON array items or text lines. */
static void print_contacts(tandem_console_out *out, const struct contact_view *v, bool json) {
    char line[1600], uri[600], target[700];
    bool first = true;
    for (int c = 0; c < SIP_MAX_CONTACTS; ++c) {
        if (!v[c].uri[0]) continue;
        json_str(uri, sizeof uri, v[c].uri);
        json_str(target, sizeof target, v[c].target[0] ? v[c].target : v[c].uri);
        if (json)
            snprintf(line, sizeof line,
                     "%s{\"uri\":\"%s\",\"target\":\"%s\",\"expires_in\":%ld,\"reachability\":\"%s\",\"rtt_ms\":%d}",
                     first ? "" : ",", uri, target, v[c].expires_in, reach_text(v[c].reach), v[c].rtt_ms);
        else
            snprintf(line, sizeof line, "  contact %s%s%s expires_in=%ld %s rtt_ms=%d\n", v[c].uri,
                     v[c].target[0] ? " via " : "", v[c].target, v[c].expires_in, reach_text(v[c].reach), v[c].rtt_ms);
        first = false;
        sip_host->console_print(out, line);
    }
}

static int endpoints_cmd(void *user, int argc, const char *const *argv, tandem_console_out *out) {
    (void)user;
    struct contact_view *views = calloc((size_t)sip_endpoint_count * SIP_MAX_CONTACTS + 1, sizeof *views);
    if (!views) return TANDEM_ERROR;
    sip_stack_run_sync(copy_contacts, views); /* the stack gone: no contacts (calloc) */
    bool json = sip_host->console_json && sip_host->console_json(out); /* tandem ctl --json */
    char line[2600], a[1200], b[300];
    if (json) {
        json_str(a, sizeof a, sip_cfg.endpoints_path);
        json_str(b, sizeof b, sip_cfg.realm);
        snprintf(line, sizeof line, "{\"file\":\"%s\",\"realm\":\"%s\",\"endpoints\":[", a, b);
        sip_host->console_print(out, line);
        for (int i = 0; i < sip_endpoint_count; ++i) {
            json_str(a, sizeof a, sip_endpoints[i].id);
            json_str(b, sizeof b, sip_endpoints[i].context);
            snprintf(line, sizeof line, "%s{\"id\":\"%s\",\"context\":\"%s\",\"calls\":%d,\"contacts\":[",
                     i ? "," : "", a, b, atomic_load(&sip_endpoints[i].limit.active));
            sip_host->console_print(out, line);
            print_contacts(out, &views[i * SIP_MAX_CONTACTS], true);
            sip_host->console_print(out, "]}");
        }
        sip_host->console_print(out, "]}\n");
        free(views);
        return TANDEM_OK;
    }
    snprintf(line, sizeof line, "file: %s\nrealm: %s\n",
             sip_cfg.endpoints_path[0] ? sip_cfg.endpoints_path : "(no endpoints)", sip_cfg.realm);
    sip_host->console_print(out, line);
    for (int i = 0; i < sip_endpoint_count; ++i) {
        snprintf(line, sizeof line, "%s context=%s\n", sip_endpoints[i].id, sip_endpoints[i].context);
        sip_host->console_print(out, line);
        print_contacts(out, &views[i * SIP_MAX_CONTACTS], false);
    }
    free(views);
    return TANDEM_OK;
}

static const tandem_console_command endpoints_command = {
    sizeof(tandem_console_command), "endpoints", "endpoints (with tandem ctl --json: a JSON document)",
    "the SIP endpoints and the file they come from (passwords are in that file)", NULL, endpoints_cmd,
};

int sip_endpoints_register_command(void) {
    return sip_host->register_console_command(sip_self, &endpoints_command);
}

void sip_endpoints_free(void) {
    for (int i = 0; i < sip_endpoint_count; ++i) sip_acl_free(&sip_endpoints[i].acl);
    free(sip_endpoints);
    sip_endpoints = NULL;
    sip_endpoint_count = 0;
}

struct sip_endpoint *sip_endpoint_find(const char *id) {
    if (!id) return NULL;
    for (int i = 0; i < sip_endpoint_count; ++i)
        if (strcmp(sip_endpoints[i].id, id) == 0) return &sip_endpoints[i];
    return NULL;
}

/* --- contacts (SIP thread) --- */

static void purge(struct sip_endpoint *ep, long now) {
    for (int i = 0; i < SIP_MAX_CONTACTS; ++i)
        if (ep->contacts[i].uri[0] && ep->contacts[i].expires <= now) ep->contacts[i].uri[0] = '\0';
}

int sip_endpoint_contacts(struct sip_endpoint *ep, const char *out[SIP_MAX_CONTACTS]) {
    purge(ep, sip_monotonic_s());
    const struct sip_contact *sorted[SIP_MAX_CONTACTS];
    int n = 0;
    for (int i = 0; i < SIP_MAX_CONTACTS; ++i) { /* newest first */
        const struct sip_contact *c = &ep->contacts[i];
        if (!c->uri[0]) continue;
        int j = n++;
        for (; j > 0 && sorted[j - 1]->updated < c->updated; --j) sorted[j] = sorted[j - 1];
        sorted[j] = c;
    }
    for (int i = 0; i < n; ++i) out[i] = sorted[i]->target[0] ? sorted[i]->target : sorted[i]->uri;
    return n;
}

void sip_endpoint_note_newest(struct sip_endpoint *ep) {
    const char *out[SIP_MAX_CONTACTS];
    bool tls = false, v6 = false;
    if (sip_endpoint_contacts(ep, out) > 0) sip_uri_kind(out[0], &tls, &v6);
    atomic_store(&ep->newest_tls, tls);
    atomic_store(&ep->newest_ipv6, v6);
}

const char *sip_endpoint_contact(struct sip_endpoint *ep) {
    long now = sip_monotonic_s();
    purge(ep, now);
    const struct sip_contact *best = NULL;
    for (int i = 0; i < SIP_MAX_CONTACTS; ++i)
        if (ep->contacts[i].uri[0] && (!best || ep->contacts[i].updated > best->updated))
            best = &ep->contacts[i];
    return best ? (best->target[0] ? best->target : best->uri) : NULL;
}

/* --- digest --- */

static void md5_hex(char out[33], const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void md5_hex(char out[33], const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    su_md5_t ctx;
    su_md5_init(&ctx);
    su_md5_strupdate(&ctx, buf);
    su_md5_hexdigest(&ctx, out);
    su_md5_deinit(&ctx);
    memset(buf, 0, sizeof buf);
}

/* The value of `name` in digest params, unquoted, into out. */
static bool param(msg_param_t const *params, const char *name, char *out, size_t cap) {
    size_t n = strlen(name);
    for (; params && *params; ++params) {
        const char *p = *params;
        if (strncasecmp(p, name, n) != 0 || p[n] != '=') continue;
        p += n + 1;
        size_t len = 0;
        if (*p == '"') {
            ++p;
            for (; *p && *p != '"' && len + 1 < cap; ++p) {
                if (*p == '\\' && p[1]) ++p;
                out[len++] = *p;
            }
        } else {
            for (; *p && len + 1 < cap; ++p) out[len++] = *p;
        }
        out[len] = '\0';
        return true;
    }
    return false;
}

/* Whether the digest's `uri` names the request's own target (RFC 2617
 * 3.2.2.5): compared as SIP URIs, so case and default ports do not matter. */
static bool same_target(const char *digest_uri, sip_t const *sip) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", digest_uri);
    url_t parsed;
    return sip->sip_request && url_d(&parsed, buf) == 0 && url_cmp(&parsed, sip->sip_request->rq_url) == 0;
}

/* --- failed authentications per source address --- */

struct ban_entry {
    char ip[64];
    long window_start;
    int failures;
    long banned_until;
};
static struct ban_entry bans[BAN_TABLE];

static struct ban_entry *ban_slot(const char *ip, bool create, long now) {
    struct ban_entry *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < BAN_TABLE; ++i) {
        struct ban_entry *b = &bans[i];
        if (b->ip[0] && strcmp(b->ip, ip) == 0) return b;
        if (!b->ip[0] || (b->banned_until <= now && now - b->window_start > 60)) {
            if (!free_slot) free_slot = b;
        } else if (!oldest || b->window_start < oldest->window_start) {
            oldest = b;
        }
    }
    if (!create) return NULL;
    struct ban_entry *b = free_slot ? free_slot : oldest;
    memset(b, 0, sizeof *b);
    snprintf(b->ip, sizeof b->ip, "%s", ip);
    b->window_start = now;
    return b;
}

static void source_ip(nua_t *nua, sip_t const *sip, char *out, size_t cap) {
    snprintf(out, cap, "?");
    msg_t *msg = nua_current_request(nua);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    if (ai && ai->ai_addr &&
        getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) == 0)
        return;
    if (sip && sip->sip_via)
        snprintf(out, cap, "%s", sip->sip_via->v_received ? sip->sip_via->v_received : sip->sip_via->v_host);
}

static bool is_banned(const char *ip) {
    long now = sip_monotonic_s();
    struct ban_entry *b = ban_slot(ip, false, now);
    return b && b->banned_until > now;
}

static void auth_failed(const char *ip, const char *user, const char *method) {
    long now = sip_monotonic_s();
    struct ban_entry *b = ban_slot(ip, true, now);
    if (now - b->window_start > 60) {
        b->window_start = now;
        b->failures = 0;
    }
    ++b->failures;
    sip_host->log(sip_self, TANDEM_LOG_NOTICE, NULL, "sip: failed authentication for '%s' (%s) from %s",
                  user, method, ip);
    if (b->failures >= sip_cfg.auth_fail_limit && b->banned_until <= now) {
        b->banned_until = now + sip_cfg.auth_ban_seconds;
        sip_host->log(sip_self, TANDEM_LOG_WARNING, NULL,
                      "sip: banning %s for %d s after %d failed authentications within 60 s", ip,
                      sip_cfg.auth_ban_seconds, b->failures);
    }
}

/* 403 to a banned source; `with_this` when answering inside the event. */
static void forbid(nua_t *nua, nua_handle_t *nh, bool with_this) {
    if (with_this)
        nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(nua), TAG_END());
    else
        nua_respond(nh, SIP_403_FORBIDDEN, TAG_END());
}

/*
 * Authenticate a request. Returns the endpoint on success; otherwise it has
 * answered the request (403 when the source is banned, else 401/407 with a
 * fresh challenge) and returns NULL. An unknown user and a wrong password get
 * the very same answer.
 */
struct sip_endpoint *sip_authenticate(nua_t *nua, nua_handle_t *nh, sip_t const *sip, bool proxy,
                                      bool with_this) {
    char ip[64];
    source_ip(nua, sip, ip, sizeof ip);
    const char *method = sip->sip_request ? sip->sip_request->rq_method_name : "?";
    if (is_banned(ip)) {
        forbid(nua, nh, with_this);
        return NULL;
    }
    sip_authorization_t const *au = proxy ? (sip_authorization_t const *)sip->sip_proxy_authorization
                                          : sip->sip_authorization;
    bool stale = false;
    for (; au; au = au->au_next) {
        if (!au->au_scheme || strcasecmp(au->au_scheme, "Digest") != 0) continue;
        char realm[128], user[128], nonce[128], uri[512], resp[64], qop[32] = "", nc[32] = "",
             cnonce[128] = "", alg[32] = "";
        if (!param(au->au_params, "realm", realm, sizeof realm) || strcmp(realm, sip_cfg.realm) != 0)
            continue;
        if (!param(au->au_params, "username", user, sizeof user) ||
            !param(au->au_params, "nonce", nonce, sizeof nonce) ||
            !param(au->au_params, "uri", uri, sizeof uri) ||
            !param(au->au_params, "response", resp, sizeof resp))
            break;
        param(au->au_params, "qop", qop, sizeof qop);
        param(au->au_params, "nc", nc, sizeof nc);
        param(au->au_params, "cnonce", cnonce, sizeof cnonce);
        param(au->au_params, "algorithm", alg, sizeof alg);
        enum sip_nonce_state nstate = sip_nonce_check(nonce);
        if (nstate == SIP_NONCE_FOREIGN) break; /* just challenge again */
        struct sip_endpoint *ep = sip_endpoint_find(user);
        /* an unknown user is checked against a dummy secret: same work, same answer */
        const char *password = ep ? ep->password : "\x01no such endpoint";
        char ha1[33], ha2[33], expect[33];
        md5_hex(ha1, "%s:%s:%s", user, sip_cfg.realm, password);
        md5_hex(ha2, "%s:%s", method, uri);
        bool ok_alg = !alg[0] || strcasecmp(alg, "MD5") == 0;
        if (qop[0] && strcasecmp(qop, "auth") == 0)
            md5_hex(expect, "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
        else if (!qop[0])
            md5_hex(expect, "%s:%s:%s", ha1, nonce, ha2);
        else
            ok_alg = false;
        for (char *r = resp; *r; ++r) *r = (char)tolower((unsigned char)*r); /* hex digits, either case */
        bool match = ep && ok_alg && strlen(resp) == 32 && sip_equal_secret(expect, resp, 32);
        if (match && sip_cfg.auth_uri_check && !same_target(uri, sip)) { /* an answer made for another request, replayed */
            nua_respond(nh, 400, "Digest URI Mismatch", TAG_IF(with_this, NUTAG_WITH_THIS(nua)), TAG_END());
            return NULL;
        }
        if (match && nstate == SIP_NONCE_FRESH && sip_nonce_spend(nonce, qop[0] ? nc : NULL)) {
            if (sip_endpoint_source_allowed(nua, ep)) return ep;
            forbid(nua, nh, with_this);
            return NULL;
        }
        if (match) { /* right password, but the nonce is old or this count was seen */
            stale = true;
            break;
        }
        auth_failed(ip, user, method);
        break;
    }
    if (is_banned(ip)) {
        forbid(nua, nh, with_this);
        return NULL;
    }
    char nonce[SIP_NONCE_LEN + 1], challenge[512];
    sip_nonce_make(nonce);
    snprintf(challenge, sizeof challenge, "Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5, qop=\"auth\"%s",
             sip_cfg.realm, nonce, stale ? ", stale=true" : "");
    if (proxy)
        nua_respond(nh, SIP_407_PROXY_AUTH_REQUIRED, SIPTAG_PROXY_AUTHENTICATE_STR(challenge),
                    TAG_IF(with_this, NUTAG_WITH_THIS(nua)), TAG_END());
    else
        nua_respond(nh, SIP_401_UNAUTHORIZED, SIPTAG_WWW_AUTHENTICATE_STR(challenge),
                    TAG_IF(with_this, NUTAG_WITH_THIS(nua)), TAG_END());
    return NULL;
}

/* --- registrar (SIP thread) --- */

static void reply(nua_t *nua, nua_handle_t *nh, int status, const char *phrase) {
    nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua), TAG_END());
}

void sip_registrar(nua_t *nua, nua_handle_t *nh, sip_t const *sip) {
    if (!sip || !sip->sip_to || !sip->sip_request) {
        reply(nua, nh, SIP_400_BAD_REQUEST);
        return;
    }
    if (sip_endpoint_count == 0) {
        reply(nua, nh, SIP_405_METHOD_NOT_ALLOWED);
        return;
    }
    struct sip_endpoint *ep = sip_authenticate(nua, nh, sip, false, true);
    if (!ep) return;
    const char *aor = sip->sip_to->a_url->url_user;
    if (!aor || strcmp(aor, ep->id) != 0) {
        reply(nua, nh, SIP_403_FORBIDDEN);
        return;
    }
    long now = sip_monotonic_s();
    purge(ep, now);
    su_home_t home[1] = {SU_HOME_INIT(home)};
    long hdr_exp = sip->sip_expires ? (long)sip->sip_expires->ex_delta : -1;
    /* validate first, then apply (a REGISTER is all or nothing) */
    for (sip_contact_t const *m = sip->sip_contact; m; m = m->m_next) {
        if (m->m_url->url_type == url_any) {
            if (hdr_exp != 0 || m != sip->sip_contact || m->m_next) {
                su_home_deinit(home);
                reply(nua, nh, SIP_400_BAD_REQUEST);
                return;
            }
            continue;
        }
        long e = m->m_expires ? strtol(m->m_expires, NULL, 10) : hdr_exp >= 0 ? hdr_exp : DEFAULT_EXPIRES;
        if (e > 0 && e < MIN_EXPIRES) {
            su_home_deinit(home);
            nua_respond(nh, SIP_423_INTERVAL_TOO_BRIEF, SIPTAG_MIN_EXPIRES_STR("60"), NUTAG_WITH_THIS(nua),
                        TAG_END());
            return;
        }
    }
    for (sip_contact_t const *m = sip->sip_contact; m; m = m->m_next) {
        if (m->m_url->url_type == url_any) {
            for (int i = 0; i < SIP_MAX_CONTACTS; ++i) {
                ep->contacts[i].uri[0] = '\0';
                sip_qualify_forget(&ep->contacts[i].reach);
            }
            sip_host->log(sip_self, TANDEM_LOG_INFO, NULL, "sip: %s unregistered all contacts", ep->id);
            break;
        }
        char *uri = url_as_string(home, m->m_url);
        if (!uri || strlen(uri) >= sizeof ep->contacts[0].uri) continue;
        long e = m->m_expires ? strtol(m->m_expires, NULL, 10) : hdr_exp >= 0 ? hdr_exp : DEFAULT_EXPIRES;
        if (e > MAX_EXPIRES) e = MAX_EXPIRES;
        struct sip_contact *slot = NULL, *oldest = NULL;
        for (int i = 0; i < SIP_MAX_CONTACTS; ++i) {
            struct sip_contact *c = &ep->contacts[i];
            if (c->uri[0] && strcmp(c->uri, uri) == 0) { slot = c; break; }
        }
        if (e <= 0) {
            if (slot) {
                slot->uri[0] = '\0';
                sip_qualify_forget(&slot->reach);
                sip_host->log(sip_self, TANDEM_LOG_INFO, NULL, "sip: %s unregistered %s", ep->id, uri);
            }
            continue;
        }
        if (!slot)
            for (int i = 0; i < SIP_MAX_CONTACTS && !slot; ++i) {
                struct sip_contact *c = &ep->contacts[i];
                if (!c->uri[0]) slot = c;
                else if (!oldest || c->expires < oldest->expires) oldest = c;
            }
        if (!slot) slot = oldest; /* full: the one expiring first goes */
        if (strcmp(slot->uri, uri) != 0) sip_qualify_forget(&slot->reach);
        snprintf(slot->uri, sizeof slot->uri, "%s", uri);
        sip_nat_target(nua, sip, m->m_url, slot->target, sizeof slot->target);
        slot->expires = now + e;
        slot->updated = ++sip_contact_serial;
        sip_host->log(sip_self, TANDEM_LOG_INFO, NULL, "sip: %s registered %s for %ld s%s%s", ep->id, uri, e,
                      slot->target[0] ? ", reached at " : "", slot->target);
    }
    char list[SIP_MAX_CONTACTS * 300] = "";
    size_t n = 0;
    for (int i = 0; i < SIP_MAX_CONTACTS; ++i) {
        struct sip_contact *c = &ep->contacts[i];
        if (!c->uri[0]) continue;
        int w = snprintf(list + n, sizeof list - n, "%s<%s>;expires=%ld", n ? ", " : "", c->uri,
                         c->expires - now);
        if (w < 0 || (size_t)w >= sizeof list - n) break;
        n += (size_t)w;
    }
    nua_respond(nh, SIP_200_OK, TAG_IF(n > 0, SIPTAG_CONTACT_STR(list)), NUTAG_WITH_THIS(nua), TAG_END());
    su_home_deinit(home);
    sip_endpoint_note_newest(ep);
    sip_registrations_changed();
}


