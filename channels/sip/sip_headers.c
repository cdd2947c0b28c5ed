/*
 * Headers that carry call data between SIP and the dialplan:
 *   inbound  X-* headers      -> leg variables sip_h_X-...
 *            P-Asserted-Identity (trusted sources only) -> caller number/name
 *            Privacy           -> sip_privacy
 *            Diversion         -> sip_diversion, redirected_from
 *   outbound sip_h_X-... variables of the dialled leg -> X-* headers
 *            the caller id     -> P-Asserted-Identity (unless send_pai = false)
 *            sip_privacy "id"  -> anonymous From, Privacy: id
 *            sip_diversion / redirected_from -> Diversion
 * Everything that reaches a header is validated: a name is an X- token, a
 * value has no control characters (no CR/LF: no header injection).
 */
#include "sip_internal.h"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_alloc.h>

#include <netdb.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VAR_PREFIX "sip_h_"
#define MAX_VALUE 1024 /* longer values are not copied (logged) */
#define MAX_HEADERS 32 /* X- headers taken from one INVITE */

/* RFC 3261 token characters. */
static bool is_token(const char *s) {
    if (!*s) return false;
    for (; *s; ++s)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("-.!%*_+`'~", *s)))
            return false;
    return true;
}

/* An X- header name: "X-" and a token, at most 64 characters. */
static bool x_name_ok(const char *name) {
    return strncasecmp(name, "X-", 2) == 0 && name[2] && strlen(name) <= 64 && is_token(name);
}

/* A header value we are willing to write: no control characters (tab
 * aside), so no CR/LF; at most MAX_VALUE bytes. */
static bool value_ok(const char *v) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)v; *p; ++p, ++n)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return false;
    return n <= MAX_VALUE;
}

/* ---------------------------------------------------------------------- */
/* Inbound (SIP thread)                                                    */

struct var_list {
    char *buf;
    size_t len, cap;
};

static void var_add(struct var_list *l, const char *name, const char *value) {
    size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
    if (l->len + nl + vl + 1 > l->cap) {
        size_t cap = (l->cap ? l->cap * 2 : 256) + nl + vl;
        char *b = realloc(l->buf, cap);
        if (!b) return;
        l->buf = b;
        l->cap = cap;
    }
    memcpy(l->buf + l->len, name, nl);
    memcpy(l->buf + l->len + nl, value, vl);
    l->len += nl + vl;
    l->buf[l->len] = '\0'; /* the list ends with an empty name */
}

/* Is the request's source address listed in `trusted_sources` (a comma or
 * space separated list of IP addresses)? */
static bool from_trusted_source(nua_t *nua) {
    const char *list = sip_host->config_get(sip_self, "trusted_sources");
    if (!list || !*list) return false;
    msg_t *msg = nua_current_request(nua);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    char ip[64];
    if (!ai || !ai->ai_addr ||
        getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, ip, sizeof ip, NULL, 0, NI_NUMERICHOST) != 0)
        return false;
    size_t n = strlen(ip);
    for (const char *p = list; *p;) {
        p += strspn(p, ", \t");
        size_t len = strcspn(p, ", \t");
        if (len == n && strncmp(p, ip, n) == 0) return true;
        p += len;
    }
    return false;
}

/* "Name" <sip:user@host>;params -> user (or a tel: number) and name. */
static bool parse_identity(const char *value, char *num, size_t num_cap, char *name, size_t name_cap) {
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sip_from_t *a = sip_from_make(home, value);
    bool ok = false;
    if (a) {
        const char *user = a->a_url->url_user ? a->a_url->url_user
                           : a->a_url->url_type == url_tel ? a->a_url->url_host : NULL;
        if (user && *user) {
            snprintf(num, num_cap, "%s", user);
            if (name) snprintf(name, name_cap, "%s", a->a_display ? a->a_display : "");
            ok = true;
        }
    }
    su_home_deinit(home);
    return ok;
}

/* Strip the quotes of a display name, drop control characters. */
static void clean_name(char *s) {
    char *w = s;
    for (char *r = s; *r; ++r)
        if (*r != '"' && (unsigned char)*r >= 0x20) *w++ = *r;
    *w = '\0';
}

void sip_headers_inbound(void *nua_, struct sip_call *call, const void *sip_, bool authenticated) {
    sip_t const *sip = sip_;
    struct var_list vars = {0};
    int x_count = 0;
    bool pai_done = false, div_done = false;
    bool trusted = !authenticated && from_trusted_source(nua_);
    for (sip_unknown_t const *u = sip ? sip->sip_unknown : NULL; u; u = u->un_next) {
        if (!u->un_name || !u->un_value) continue;
        if (x_name_ok(u->un_name)) {
            if (x_count >= MAX_HEADERS || !value_ok(u->un_value)) continue;
            char var[80];
            snprintf(var, sizeof var, VAR_PREFIX "%s", u->un_name);
            var_add(&vars, var, u->un_value);
            ++x_count;
        } else if (strcasecmp(u->un_name, "P-Asserted-Identity") == 0 && !pai_done) {
            /* RFC 3325: only a trusted peer may assert who the caller is */
            pai_done = true;
            char num[128], name[128];
            if (trusted && parse_identity(u->un_value, num, sizeof num, name, sizeof name)) {
                clean_name(num);
                clean_name(name);
                snprintf(call->caller_num, sizeof call->caller_num, "%s", num);
                if (name[0]) snprintf(call->caller_name, sizeof call->caller_name, "%s", name);
                var_add(&vars, "sip_pai", u->un_value);
            }
        } else if (strcasecmp(u->un_name, "Diversion") == 0 && !div_done && value_ok(u->un_value)) {
            div_done = true; /* the first one is the most recent redirection */
            char num[128];
            var_add(&vars, "sip_diversion", u->un_value);
            if (parse_identity(u->un_value, num, sizeof num, NULL, 0)) {
                clean_name(num);
                var_add(&vars, "redirected_from", num);
            }
        }
    }
    if (sip && sip->sip_privacy && sip->sip_privacy->priv_values) {
        char priv[256] = "";
        size_t n = 0;
        for (msg_param_t const *p = sip->sip_privacy->priv_values; *p && n < sizeof priv - 2; ++p)
            n += (size_t)snprintf(priv + n, sizeof priv - n, "%s%s", n ? ";" : "", *p);
        if (value_ok(priv)) var_add(&vars, "sip_privacy", priv);
    }
    call->dlg.in_vars = vars.buf;
}

void sip_headers_apply(struct sip_call *call) {
    for (const char *p = call->dlg.in_vars; p && *p;) {
        const char *value = p + strlen(p) + 1;
        sip_host->leg_set_var(call->leg, p, value);
        p = value + strlen(value) + 1;
    }
}

/* ---------------------------------------------------------------------- */
/* Outbound (worker)                                                       */

struct header_buf {
    char *buf;
    size_t len, cap;
    struct sip_call *call;
};

static void header_add(struct header_buf *h, const char *name, const char *value) {
    size_t need = strlen(name) + strlen(value) + 5;
    if (h->len + need > h->cap) {
        size_t cap = (h->cap ? h->cap * 2 : 512) + need;
        char *b = realloc(h->buf, cap);
        if (!b) return;
        h->buf = b;
        h->cap = cap;
    }
    h->len += (size_t)snprintf(h->buf + h->len, h->cap - h->len, "%s%s: %s", h->len ? "\r\n" : "", name,
                               value);
}

static void x_header(void *arg, const char *var, const char *value) {
    struct header_buf *h = arg;
    const char *name = var + strlen(VAR_PREFIX);
    if (!x_name_ok(name) || !value_ok(value)) {
        sip_host->log(sip_self, TANDEM_LOG_WARNING, h->call->call_id,
                      "sip: variable %s is not sent: the name must be sip_h_X-TOKEN and the value "
                      "one line of at most %d bytes", var, MAX_VALUE);
        return;
    }
    header_add(h, name, value);
}

static bool cfg_false(const char *key) {
    const char *v = sip_host->config_get(sip_self, key);
    return v && (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0);
}

void sip_headers_outbound(struct sip_call *call, tandem_leg *leg) {
    struct header_buf h = {.call = call};
    if (sip_host->struct_size >= offsetof(tandem_host, leg_vars_each) + sizeof sip_host->leg_vars_each &&
        sip_host->leg_vars_each)
        sip_host->leg_vars_each(leg, VAR_PREFIX, x_header, &h);

    /* user parts: the same escaping rules as the From's are not needed for
     * the digits and names a caller id has; anything else is not sent */
    char uri[512]; /* fits the name, number and address */
    bool num_ok = call->caller_num[0] && is_token(call->caller_num);
    if (num_ok && !cfg_false("send_pai")) {
        char name[sizeof call->caller_name + 4] = "";
        if (call->caller_name[0] && value_ok(call->caller_name) && !strchr(call->caller_name, '"') &&
            !strchr(call->caller_name, '\\'))
            snprintf(name, sizeof name, "\"%s\" ", call->caller_name);
        snprintf(uri, sizeof uri, "%s<sip:%s@%s>", name, call->caller_num, sip_cfg.rtp_ip);
        header_add(&h, "P-Asserted-Identity", uri);
    }
    const char *privacy = sip_host->leg_get_var(leg, "sip_privacy");
    if (privacy && strstr(privacy, "id") && value_ok(privacy)) {
        /* RFC 3323: the far end sees an anonymous From; the identity stays
         * in P-Asserted-Identity for the next trusted hop to remove */
        header_add(&h, "Privacy", "id");
        snprintf(call->caller_num, sizeof call->caller_num, "anonymous");
        snprintf(call->caller_name, sizeof call->caller_name, "Anonymous");
    }
    const char *div = sip_host->leg_get_var(leg, "sip_diversion");
    const char *redirected = sip_host->leg_get_var(leg, "redirected_from");
    if (div && *div && value_ok(div)) {
        header_add(&h, "Diversion", div);
    } else if (redirected && *redirected && is_token(redirected)) {
        snprintf(uri, sizeof uri, "<sip:%s@%s>;reason=unconditional", redirected, sip_cfg.rtp_ip);
        header_add(&h, "Diversion", uri);
    }
    call->dlg.out_headers = h.buf;
}
