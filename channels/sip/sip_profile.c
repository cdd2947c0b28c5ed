/*
 * Profiles (listeners): configuration, TLS certificate directories, one NUA
 * each on the SIP thread, and the choice of NUA for a request going out.
 * See sip_profile.h for why each profile is its own NUA.
 */
#include "sip_profile.h"

#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct sip_profile *sip_profiles;
int sip_profile_count;

/* --- configuration (main thread, load) --- */

static const char *pkey(int i, const char *field, char *buf, size_t cap) {
    if (i == 0) return field; /* the single-listener keys: listen, tls_cert, ... */
    snprintf(buf, cap, "profiles.%d.%s", i, field);
    return buf;
}

static void config_path(char *out, size_t cap, const char *file) {
    const char *base = sip_host->instance_path ? sip_host->instance_path("config") : NULL;
    if (file[0] == '/' || !base)
        snprintf(out, cap, "%s", file);
    else
        snprintf(out, cap, "%s/%s", base, file);
}

/* Append the file at `path` to fd. */
static int append_file(int fd, const char *path) {
    FILE *f = fopen(path, "re");
    if (!f) return -1;
    char buf[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(buf, 1, sizeof buf, f)) > 0)
        if (write(fd, buf, n) != (ssize_t)n) rc = -1;
    if (ferror(f)) rc = -1;
    fclose(f);
    return rc;
}

/* sofia wants a directory holding agent.pem (the private key and the
 * certificate) and cafile.pem; they are made from the configured files in
 * the data directory, readable only by us. */
static int make_tls_dir(struct sip_profile *p, const char *cert, const char *key, const char *ca) {
    const char *data = sip_host->instance_path ? sip_host->instance_path("data") : NULL;
    if (!data) return -1;
    mkdir(data, 0700);
    snprintf(p->tls_dir, sizeof p->tls_dir, "%s/sip-tls-%s", data, p->name);
    if (mkdir(p->tls_dir, 0700) != 0 && errno != EEXIST) return -1;
    char cpath[1024], kpath[1024], apath[1100];
    config_path(cpath, sizeof cpath, cert);
    config_path(kpath, sizeof kpath, key);
    const struct { const char *name; const char *a; const char *b; } files[] = {
        {"agent.pem", kpath, cpath}, {"cafile.pem", NULL, cpath}};
    char capath[1024];
    if (ca && *ca) config_path(capath, sizeof capath, ca);
    for (size_t i = 0; i < 2; ++i) {
        snprintf(apath, sizeof apath, "%s/%s", p->tls_dir, files[i].name);
        int fd = open(apath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return -1;
        int rc = files[i].a ? append_file(fd, files[i].a) : 0;
        if (rc == 0) rc = append_file(fd, i == 1 && ca && *ca ? capath : files[i].b);
        if (close(fd) != 0) rc = -1;
        if (rc != 0) {
            sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: profile %s: cannot read %s or %s", p->name, kpath,
                          cpath);
            return -1;
        }
    }
    return 0;
}

static int load_one(int i, struct sip_profile *p) {
    char k[96];
    memset(p, 0, sizeof *p);
    const char *name = i ? sip_host->config_get(sip_self, pkey(i, "name", k, sizeof k)) : "main";
    const char *listen = i ? sip_host->config_get(sip_self, pkey(i, "listen", k, sizeof k)) : sip_cfg.listen;
    const char *ctx = i ? sip_host->config_get(sip_self, pkey(i, "context", k, sizeof k)) : NULL;
    snprintf(p->name, sizeof p->name, "%s", name && *name ? name : "");
    if (!p->name[0]) snprintf(p->name, sizeof p->name, "profile%d", i);
    if (!listen || !*listen || strlen(listen) >= sizeof p->listen) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: profile %s needs listen = \"sip:HOST:PORT\"", p->name);
        return -1;
    }
    snprintf(p->listen, sizeof p->listen, "%s", listen);
    snprintf(p->context, sizeof p->context, "%s", ctx && *ctx ? ctx : sip_cfg.context);
    p->tls = strncasecmp(listen, "sips:", 5) == 0;
    if (p->tls) { /* a wildcard host is announced as rtp_ip */
        su_home_t home[1] = {SU_HOME_INIT(home)};
        url_t *u = url_make(home, listen);
        const char *host = u && u->url_host ? u->url_host : "";
        if (!*host || strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "[::]") == 0)
            host = sip_cfg.rtp_ip;
        snprintf(p->contact, sizeof p->contact, "<sip:%s%s%s;transport=tls>", host, u && u->url_port ? ":" : "",
                 u && u->url_port ? u->url_port : "");
        su_home_deinit(home);
    }
    p->ipv6 = strchr(listen, '[') != NULL;
    char kr[96], kr6[96];
    const char *rtp_ip = i ? sip_host->config_get(sip_self, pkey(i, "rtp_ip", kr, sizeof kr)) : NULL;
    const char *rtp_ip6 = i ? sip_host->config_get(sip_self, pkey(i, "rtp_ip6", kr6, sizeof kr6)) : NULL;
    snprintf(p->rtp_ip, sizeof p->rtp_ip, "%s", rtp_ip && *rtp_ip ? rtp_ip : sip_cfg.rtp_ip);
    snprintf(p->rtp_ip6, sizeof p->rtp_ip6, "%s", rtp_ip6 ? rtp_ip6 : sip_cfg.rtp_ip6);
    if (sip_media_ips_check(p->name, p->rtp_ip, p->rtp_ip6) != 0) return -1;
    char kk[96], kc[96];
    const char *cert = sip_host->config_get(sip_self, pkey(i, "tls_cert", k, sizeof k));
    const char *key = sip_host->config_get(sip_self, pkey(i, "tls_key", kk, sizeof kk));
    const char *ca = sip_host->config_get(sip_self, pkey(i, "tls_ca", kc, sizeof kc));
    if (p->tls && (!cert || !*cert || !key || !*key)) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: profile %s listens on %s: tls_cert and tls_key needed",
                      p->name, p->listen);
        return -1;
    }
    char kv[96];
    const char *verify = sip_host->config_get(sip_self, pkey(i, "tls_verify_client", kv, sizeof kv));
    p->verify_clients = verify && (strcmp(verify, "true") == 0 || strcmp(verify, "1") == 0);
    if (p->verify_clients && (!p->tls || !ca || !*ca)) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                      "sip: profile %s: tls_verify_client needs a sips: listen and tls_ca (the CA of the clients' certificates)",
                      p->name);
        return -1;
    }
    return p->tls ? make_tls_dir(p, cert, key, ca) : 0;
}

int sip_profiles_load(void) {
    int n = 0;
    char k[64];
    while (snprintf(k, sizeof k, "profiles.%d.listen", n + 1), sip_host->config_get(sip_self, k)) ++n;
    bool listed = n > 0;
    if (!listed) n = 1;
    sip_profiles = calloc((size_t)n, sizeof *sip_profiles);
    if (!sip_profiles) return -1;
    sip_profile_count = n;
    for (int i = 0; i < n; ++i) {
        if (load_one(listed ? i + 1 : 0, &sip_profiles[i]) != 0) {
            sip_profiles_free();
            return -1;
        }
        for (int j = 0; j < i; ++j)
            if (strcmp(sip_profiles[j].name, sip_profiles[i].name) == 0) {
                sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: two profiles are named %s",
                              sip_profiles[i].name);
                sip_profiles_free();
                return -1;
            }
    }
    if (listed) snprintf(sip_cfg.listen, sizeof sip_cfg.listen, "%s", sip_profiles[0].listen);
    return 0;
}

void sip_profiles_free(void) {
    free(sip_profiles);
    sip_profiles = NULL;
    sip_profile_count = 0;
}

/* --- the NUAs (SIP thread) --- */

nua_t *sip_profile_create(su_root_t *root, nua_callback_f cb, struct sip_profile *p) {
    bool reg = sip_endpoint_count > 0;
    p->down = false;
    p->nua = nua_create(root, cb, (nua_magic_t *)p, NUTAG_URL(p->listen), NUTAG_MEDIA_ENABLE(0),
                        /* Answer UDP requests at their source port even
                         * without ;rport (phones behind NAT). */
                        NTATAG_SERVER_RPORT(2),
                        TAG_IF(p->tls, TPTAG_CERTIFICATE(p->tls_dir)),
                        TAG_IF(p->tls, TPTAG_TLS_VERIFY_POLICY(p->verify_clients ? TPTLS_VERIFY_IN : TPTLS_VERIFY_NONE)),
                        SIPTAG_USER_AGENT_STR("Tandem"),
                        SIPTAG_ALLOW_STR(reg ? "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REFER, NOTIFY, REGISTER"
                                             : "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, REFER, NOTIFY"),
                        /* one method a tag: a list in one string crashes sofia 1.12.11
                         * (msg_params_join) once NUTAG_ALLOW follows */
                        NUTAG_APPL_METHOD("INFO"), NUTAG_APPL_METHOD("UPDATE"),
                        TAG_IF(reg, NUTAG_APPL_METHOD("REGISTER")), TAG_IF(reg, NUTAG_ALLOW("REGISTER")), TAG_END());
    if (p->nua) sip_dialog_configure(p->nua); /* session timers, Supported */
    return p->nua;
}

/* A NUA must be shut down before nua_destroy(): on a failed start the
 * loop is not running yet, so it is stepped here until every NUA made so
 * far reports nua_r_shutdown (sip_profiles_all_down), 5 s at most. */
static void abort_all(su_root_t *root) {
    for (int i = 0; i < sip_profile_count; ++i)
        if (sip_profiles[i].nua) nua_shutdown(sip_profiles[i].nua);
    for (int n = 0; n < 100 && !sip_profiles_all_down(NULL); ++n) su_root_step(root, 50);
    for (int i = 0; i < sip_profile_count; ++i) {
        if (sip_profiles[i].nua) nua_destroy(sip_profiles[i].nua);
        sip_profiles[i].nua = NULL;
    }
}

int sip_profiles_start_more(su_root_t *root, nua_callback_f cb) {
    for (int i = 1; i < sip_profile_count; ++i) {
        if (sip_profile_create(root, cb, &sip_profiles[i])) {
            sip_host->log(sip_self, TANDEM_LOG_INFO, NULL, "sip: profile %s listening on %s, context %s",
                          sip_profiles[i].name, sip_profiles[i].listen, sip_profiles[i].context);
            continue;
        }
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: cannot start profile %s on %s", sip_profiles[i].name,
                      sip_profiles[i].listen);
        abort_all(root);
        return -1;
    }
    return 0;
}

void sip_profiles_shutdown_more(void) {
    for (int i = 1; i < sip_profile_count; ++i)
        if (sip_profiles[i].nua) nua_shutdown(sip_profiles[i].nua);
}

bool sip_profiles_all_down(nua_t *nua) {
    bool all = true;
    for (int i = 0; i < sip_profile_count; ++i) {
        if (sip_profiles[i].nua == nua) sip_profiles[i].down = true;
        all = all && (sip_profiles[i].down || !sip_profiles[i].nua);
    }
    return all;
}

void sip_profiles_destroy_more(void) {
    for (int i = 1; i < sip_profile_count; ++i) {
        if (sip_profiles[i].nua) nua_destroy(sip_profiles[i].nua);
        sip_profiles[i].nua = NULL;
    }
}

void sip_uri_kind(const char *uri, bool *tls, bool *v6) {
    su_home_t home[1] = {SU_HOME_INIT(home)};
    url_t *u = url_make(home, uri);
    *tls = u && (u->url_type == url_sips || (u->url_params && strcasestr(u->url_params, "transport=tls")));
    *v6 = u && u->url_host && strchr(u->url_host, ':');
    su_home_deinit(home);
}

bool sip_uri_ipv6(const char *uri) {
    bool tls, v6;
    sip_uri_kind(uri, &tls, &v6);
    return v6;
}

const struct sip_profile *sip_profile_for(const char *uri) {
    bool tls, v6;
    sip_uri_kind(uri, &tls, &v6);
    return sip_profile_of(tls, v6);
}

const struct sip_profile *sip_profile_of(bool tls, bool v6) {
    for (int i = 0; i < sip_profile_count; ++i)
        if (sip_profiles[i].tls == tls && sip_profiles[i].ipv6 == v6) return &sip_profiles[i];
    for (int i = 0; i < sip_profile_count; ++i) /* a TLS one for a TLS target, whatever the family */
        if (sip_profiles[i].tls == tls) return &sip_profiles[i];
    return &sip_profiles[0];
}

nua_t *sip_profile_nua_for(const char *uri) {
    nua_t *nua = sip_profile_for(uri)->nua;
    return nua ? nua : sip_profiles[0].nua;
}

const char *sip_profile_rtp_ip(const struct sip_profile *p, bool ipv6) {
    if (ipv6) return p ? p->rtp_ip6 : sip_cfg.rtp_ip6;
    return p ? p->rtp_ip : sip_cfg.rtp_ip;
}

const char *sip_profile_context(const void *magic) {
    return magic ? ((const struct sip_profile *)magic)->context : sip_cfg.context;
}

const char *sip_profile_contact(const void *magic) {
    return magic ? ((const struct sip_profile *)magic)->contact : "";
}
