/*
 * The "sip" module: configuration, the channel driver's callbacks and the
 * worker side of every call. Everything here except load()/unload() and
 * sip_post_event() runs on the call's worker, so the per-call state needs no
 * lock; the SIP thread (sip_stack.c) reaches it only through host->post().
 */
#include "sip_internal.h"
#include "sip_rtp_pool.h"
#include "sip_profile.h"
#include "sip_trunk.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const tandem_host *sip_host;
tandem_module *sip_self;
struct sip_config sip_cfg;

#define LOG(level, call, ...) sip_host->log(sip_self, level, (call) ? (call)->call_id : NULL, __VA_ARGS__)

struct sip_call *sip_call_new(enum sip_dir dir, int worker) {
    struct sip_call *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    atomic_init(&c->refs, 1);
    c->dir = dir;
    c->worker = worker;
    c->rtp.fd = -1;
    c->contact = "";
    return c;
}

void sip_call_ref(struct sip_call *c) { atomic_fetch_add(&c->refs, 1); }

void sip_call_unref(struct sip_call *c) {
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
    if (c->admitted) sip_limit_release(c->limit_owner);
    if (c->fork_parent) sip_call_unref(c->fork_parent);
    sip_dialog_free(c);
    free(c);
}

void sip_post_event(struct sip_call *call, enum sip_ev_kind kind, int cause, int status,
                    const struct sip_media *media) {
    struct sip_event *ev = calloc(1, sizeof *ev);
    if (!ev) return;
    sip_call_ref(call);
    ev->call = call;
    ev->kind = kind;
    ev->cause = cause;
    ev->status = status;
    if (media) ev->media = *media;
    if (sip_host->post(sip_self, call->worker, sip_worker_event, ev) != TANDEM_OK) {
        sip_call_unref(call);
        free(ev);
    }
}

static void set_status_var(tandem_leg *leg, int status) {
    char buf[16];
    snprintf(buf, sizeof buf, "%d", status);
    sip_host->leg_set_var(leg, "sip_status", buf);
}

/* Worker: the leg is done with the driver. Drops the leg's reference and
 * the worker's reference to the call (the one the leg's pvt stood for). */
static void detach(struct sip_call *call) {
    tandem_leg *leg = call->leg;
    if (leg) sip_rtp_set_vars(call, leg);
    call->leg = NULL;
    sip_rtp_close(call);
    if (leg) {
        sip_host->leg_set_pvt(leg, NULL);
        sip_host->leg_unref(leg);
    }
    sip_call_unref(call);
}

/* Our SDP for this call: an offer (pt < 0) or an answer. We offer
 * rtcp-mux and accept it when offered; SRTP: an offer is RTP/SAVP with our
 * keys when srtp = "mandatory", an answer has SRTP when the offer's key
 * was taken (sip_srtp_start), with the offer's transport. */
int sip_local_sdp(struct sip_call *call, int pt, int dtmf_pt, char *buf, size_t cap) {
    bool offer = pt < 0;
    /* an offer proposes our ptime; an answer states the one we send */
    int ptime = offer || !call->rtp.tx_ptime ? sip_ptime_own(call) : call->rtp.tx_ptime;
    struct sip_sdp_local l = {call->rtp.local_ip, call->rtp.port, pt, dtmf_pt, call->rtp.session.ssrc,
                              offer || call->rtp.rtcp_mux, ptime, false, NULL, &call->rtp.codec};
    char crypto[256];
    if ((offer && sip_cfg.srtp == SIP_SRTP_MANDATORY) || (!offer && sip_srtp_active(&call->rtp))) {
        if (sip_srtp_local_key(&call->rtp) != 0 || sip_srtp_sdp_lines(&call->rtp, offer, crypto, sizeof crypto) < 0)
            return -1;
        l.savp = offer || call->offer.savp;
        l.crypto = crypto;
    }
    return sip_sdp_build_local(buf, cap, &l);
}

int sip_media_open(struct sip_call *call, bool from_offer, bool ipv6) {
    if (from_offer)
        ipv6 = call->offer.valid ? call->offer.remote.sa.sa_family == AF_INET6 : call->profile && call->profile->ipv6;
    /* the peer's family first; the other one when we have no address in it
     * (rtp_ip6 = "") or it cannot be bound (a host without IPv6): a
     * dual-stack peer may still reach it, and it is what we did before */
    const char *want = sip_profile_rtp_ip(call->profile, ipv6), *other = sip_profile_rtp_ip(call->profile, !ipv6);
    if (*want && sip_rtp_open(&call->rtp, want) == 0) return 0;
    if (*want && errno == EADDRINUSE) return -1; /* the port range is full */
    if (*want && *other)
        LOG(TANDEM_LOG_NOTICE, call, "sip: cannot open RTP on %s (%s); using %s", want, strerror(errno), other);
    return *other ? sip_rtp_open(&call->rtp, other) : -1;
}

static void apply_media(struct sip_call *call, const struct sip_media *m) {
    if (!m->valid) return;
    sip_rtp_set_remote(&call->rtp, m);
    sip_rtp_announce_codec(call, call->leg);
}

void sip_worker_inbound(void *arg) {
    struct sip_call *call = arg; /* carries the worker's reference */
    if (sip_media_open(call, true, false) != 0) {
        LOG(TANDEM_LOG_WARNING, call, "sip: no free RTP port in %d-%d; rejecting call to %s",
            sip_cfg.rtp_port_min, sip_cfg.rtp_port_max, call->exten);
        sip_stack_send(SIP_CMD_HANGUP, call, 503, NULL);
        sip_call_unref(call);
        return;
    }
    sip_rtp_set_remote(&call->rtp, &call->offer);
    tandem_inbound in;
    memset(&in, 0, sizeof in);
    in.struct_size = sizeof in;
    in.context = call->context[0] ? call->context : sip_cfg.context;
    in.exten = call->exten;
    in.caller_num = call->caller_num[0] ? call->caller_num : NULL;
    in.caller_name = call->caller_name[0] ? call->caller_name : NULL;
    in.format = call->rtp.format ? call->rtp.format : "PCMU"; /* late offer: until the ACK */
    /* The leg is created here, on a worker the SIP thread picked round robin,
     * rather than from the SIP thread with in.worker = -1: the call's worker
     * must be fixed before the call is shared (the SIP thread posts to
     * call->worker from its first event on, e.g. a CANCEL racing this task),
     * and the RTP socket (fd_watch), the call id and sip_from_user must be in
     * place on the worker before the dialplan starts. The call starts in a
     * later task on this worker; in.pvt (ABI 1.1) attaches the driver state
     * with the leg itself. */
    in.worker = call->worker;
    in.pvt = call; /* the worker's reference, dropped in detach() */
    tandem_leg *leg = sip_host->leg_new_inbound(sip_self, "sip", &in);
    if (!leg) {
        sip_rtp_close(call);
        sip_stack_send(SIP_CMD_HANGUP, call, 503, NULL);
        sip_call_unref(call);
        return;
    }
    call->leg = leg;
    snprintf(call->call_id, sizeof call->call_id, "%s", sip_host->leg_call_id(leg));
    if (sip_host->leg_pvt(leg) != call) /* an engine from before tandem_inbound.pvt */
        sip_host->leg_set_pvt(leg, call);
    sip_host->leg_set_var(leg, "sip_from_user", call->caller_num);
    sip_rtp_announce_codec(call, leg);
    sip_dialog_attach(call);
    if (sip_rtp_watch(call) != 0)
        LOG(TANDEM_LOG_WARNING, call, "sip: cannot watch the RTP socket (engine ABI %u.%u)",
            sip_host->abi_major, sip_host->abi_minor);
    LOG(TANDEM_LOG_INFO, call, "sip: inbound call from %s to %s@%s, %s, RTP port %d",
        call->caller_num[0] ? call->caller_num : "anonymous", call->exten, in.context,
        in.format, call->rtp.port);
}

void sip_worker_event(void *arg) {
    struct sip_event *ev = arg;
    struct sip_call *call = ev->call;
    tandem_leg *leg = call->leg;
    if (leg) { /* NULL: the engine hung up first; nothing left to tell it */
        switch (ev->kind) {
        case SIP_EV_RINGING:
            sip_host->leg_set_state(leg, TANDEM_LEG_RINGING);
            break;
        case SIP_EV_EARLY:
            apply_media(call, &ev->media);
            sip_host->leg_set_state(leg, TANDEM_LEG_EARLY);
            break;
        case SIP_EV_UP:
            apply_media(call, &ev->media);
            call->up = true;
            set_status_var(leg, ev->status);
            LOG(TANDEM_LOG_INFO, call, "sip: %s answered (%s)", call->uri,
                call->rtp.format ? call->rtp.format : "no media");
            sip_host->leg_set_state(leg, TANDEM_LEG_UP);
            break;
        case SIP_EV_HANGUP:
            if (ev->status) set_status_var(leg, ev->status);
            LOG(TANDEM_LOG_INFO, call, "sip: far end hung up (SIP %d, cause %d); RTP in %llu, out %llu",
                ev->status, ev->cause, (unsigned long long)call->rtp.rx_packets,
                (unsigned long long)call->rtp.tx_packets);
            sip_host->leg_ref(leg); /* detach() drops ours */
            detach(call);
            sip_host->leg_hangup(leg, ev->cause);
            sip_host->leg_unref(leg);
            break;
        }
    }
    sip_call_unref(call);
    free(ev);
}

/* --- driver callbacks (worker) --- */

/* "user@host[:port]" or a full "sip:" URI -> "sip:..."; -1 when unusable. */
static int make_uri(const char *dest, char *out, size_t cap) {
    if (strncasecmp(dest, "sip:", 4) == 0) dest += 4;
    size_t len = strlen(dest);
    if (len == 0 || len + 5 > cap) return -1;
    for (const char *p = dest; *p; ++p)
        if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' || *p == '"' || *p == '\\')
            return -1;
    const char *at = strchr(dest, '@');
    if (!at || at == dest || !at[1]) return -1;
    snprintf(out, cap, "sip:%s", dest);
    return 0;
}

static int sip_request(void *user, tandem_leg *leg, const char *dest) {
    (void)user;
    char uri[512];
    /* sip/ENDPOINT (a configured endpoint; the contact is looked up on the
     * SIP thread, which owns the registrations) or sip/USER@HOST[:PORT] */
    struct sip_endpoint *ep = strchr(dest, '@') ? NULL : sip_endpoint_find(dest);
    struct sip_trunk *trunk = ep ? NULL : sip_trunk_dial(dest, uri, sizeof uri); /* sip/TRUNK/NUMBER */
    if (ep)
        snprintf(uri, sizeof uri, "sip/%s", ep->id);
    else if (!trunk && make_uri(dest, uri, sizeof uri) != 0)
        return TANDEM_CAUSE_INVALID_NUMBER_FORMAT;
    struct sip_call *call = sip_call_new(SIP_OUTBOUND, sip_host->leg_worker(leg));
    if (!call) return TANDEM_CAUSE_TEMPORARY_FAILURE;
    const char *which;
    if (!sip_limit_take(ep ? &ep->limit : trunk ? &trunk->limit : NULL, &which)) {
        LOG(TANDEM_LOG_NOTICE, call, "sip: over the %s call limit: not calling %s (cause 34)", which, dest);
        sip_call_unref(call);
        return TANDEM_CAUSE_CONGESTION;
    }
    call->admitted = true; /* given back when the call is freed */
    call->limit_owner = ep ? &ep->limit : trunk ? &trunk->limit : NULL;
    snprintf(call->uri, sizeof call->uri, "%s", uri);
    if (ep) snprintf(call->endpoint, sizeof call->endpoint, "%s", ep->id);
    snprintf(call->call_id, sizeof call->call_id, "%s", sip_host->leg_call_id(leg));
    /* The From header's identity. leg_caller is worker-only, so it is read
     * here and copied into the call, which reaches the SIP thread with the
     * INVITE command (read-only from then on). */
    if (sip_host->struct_size >= offsetof(tandem_host, leg_caller) + sizeof sip_host->leg_caller &&
        sip_host->leg_caller) {
        const char *num = NULL, *name = NULL;
        sip_host->leg_caller(leg, &num, &name);
        snprintf(call->caller_num, sizeof call->caller_num, "%s", num ? num : "");
        snprintf(call->caller_name, sizeof call->caller_name, "%s", name ? name : "");
    }
    /* X-/identity/Diversion headers from the leg's own caller id, before a
     * trunk puts its account or rules into the From (sip_headers.c) */
    sip_headers_outbound(call, leg);
    if (trunk) { /* the provider's view: its domain, a fixed user or the rules */
        call->trunk = trunk;
        const char *domain = trunk->from_domain[0] ? trunk->from_domain : trunk->host;
        snprintf(call->from_host, sizeof call->from_host, "%.*s", (int)strcspn(domain, ";"), domain);
        if (trunk->from_user[0])
            snprintf(call->caller_num, sizeof call->caller_num, "%s", trunk->from_user);
        else
            sip_trunk_caller_id(trunk, call->caller_num, sizeof call->caller_num);
    }
    /* media in the target's family: an IPv6 literal host gets an IPv6
     * offer; an endpoint, that of its newest contact (the contact itself is
     * looked up on the SIP thread, after this offer is written) */
    bool v6 = ep ? atomic_load(&ep->newest_ipv6) : sip_uri_ipv6(uri);
    call->profile = ep ? sip_profile_of(atomic_load(&ep->newest_tls), v6) : sip_profile_for(uri);
    if (sip_media_open(call, false, v6) != 0) {
        LOG(TANDEM_LOG_WARNING, call, "sip: no free RTP port for %s", uri);
        sip_call_unref(call);
        return TANDEM_CAUSE_CONGESTION;
    }
    char sdp[768];
    if (sip_local_sdp(call, -1, -1, sdp, sizeof sdp) < 0) {
        sip_rtp_close(call);
        sip_call_unref(call);
        return TANDEM_CAUSE_TEMPORARY_FAILURE;
    }
    sip_host->leg_ref(leg);
    call->leg = leg;
    sip_host->leg_set_pvt(leg, call); /* the worker's reference */
    sip_dialog_attach(call);
    sip_host->leg_set_format(leg, "PCMU"); /* until the answer says otherwise */
    sip_rtp_watch(call);
    if (sip_stack_send(SIP_CMD_INVITE, call, 0, sdp) != 0) {
        detach(call);
        return TANDEM_CAUSE_TEMPORARY_FAILURE;
    }
    LOG(TANDEM_LOG_INFO, call, "sip: calling %s, RTP port %d", uri, call->rtp.port);
    return TANDEM_OK;
}

static int sip_answer(void *user, tandem_leg *leg) {
    (void)user;
    struct sip_call *call = sip_host->leg_pvt(leg);
    if (!call) return TANDEM_CAUSE_NORMAL_CLEARING;
    if (call->dir != SIP_INBOUND || call->up) return TANDEM_OK;
    char sdp[768];
    if (sip_local_sdp(call, call->rtp.pt, call->rtp.dtmf_pt, sdp, sizeof sdp) < 0 ||
        sip_stack_send(SIP_CMD_ANSWER, call, 200, sdp) != 0)
        return TANDEM_CAUSE_TEMPORARY_FAILURE;
    call->up = true;
    set_status_var(leg, 200);
    return TANDEM_OK;
}

static int sip_indicate(void *user, tandem_leg *leg, int state) {
    (void)user;
    struct sip_call *call = sip_host->leg_pvt(leg);
    if (!call || call->dir != SIP_INBOUND || call->up) return TANDEM_OK;
    if (state == TANDEM_LEG_RINGING) {
        sip_stack_send(SIP_CMD_RING, call, 180, NULL);
    } else if (state == TANDEM_LEG_EARLY && !call->offer.valid) { /* late offer: no SDP in a 183 */
        sip_stack_send(SIP_CMD_RING, call, 180, NULL);
    } else if (state == TANDEM_LEG_EARLY) {
        char sdp[768];
        if (sip_local_sdp(call, call->rtp.pt, call->rtp.dtmf_pt, sdp, sizeof sdp) >= 0)
            sip_stack_send(SIP_CMD_PROGRESS, call, 183, sdp);
    }
    return TANDEM_OK;
}

static void sip_hangup(void *user, tandem_leg *leg, int cause) {
    (void)user;
    struct sip_call *call = sip_host->leg_pvt(leg);
    if (!call) return;
    /* Unanswered inbound: a final response; otherwise BYE or CANCEL. */
    int status = (call->dir == SIP_INBOUND && !call->up) ? sip_cause_to_status(cause) : 0;
    if (status) set_status_var(leg, status);
    LOG(TANDEM_LOG_INFO, call, "sip: engine hangs up (cause %d%s%s); RTP in %llu, out %llu", cause,
        status ? ", answering " : "", status ? sip_phrase(status) : "",
        (unsigned long long)call->rtp.rx_packets, (unsigned long long)call->rtp.tx_packets);
    sip_stack_send(SIP_CMD_HANGUP, call, status, NULL);
    detach(call);
}

static int sip_write_frame(void *user, tandem_leg *leg, const tandem_frame *frame) {
    (void)user;
    struct sip_call *call = sip_host->leg_pvt(leg);
    if (!call) return TANDEM_EGONE;
    /* audio not on hold, the path of every relayed packet, touches only the RTP state */
    if ((frame->kind != TANDEM_FRAME_AUDIO || call->rtp.tx_held) && sip_dialog_write(call, frame))
        return TANDEM_OK; /* INFO DTMF, or on hold */
    return sip_rtp_write(call, frame);
}

static const tandem_channel_driver sip_driver = {
    sizeof(tandem_channel_driver),
    "sip",
    "SIP (sofia-sip) with RTP: sip/USER@HOST[:PORT] or sip/sip:URI",
    NULL,
    sip_request,
    sip_answer,
    sip_indicate,
    sip_hangup,
    sip_write_frame,
};

/* --- load / unload (main thread) --- */

static void copy_cfg(char *dst, size_t cap, const char *key, const char *def) {
    const char *v = sip_host->config_get(sip_self, key);
    snprintf(dst, cap, "%s", v && *v ? v : def);
}

static int cfg_port(const char *key, int def) {
    const char *v = sip_host->config_get(sip_self, key);
    if (!v || !*v) return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' && *end != '.') return -1; /* Lua numbers may come as "10000.0" */
    return (n >= 1024 && n <= 65535) ? (int)n : -1;
}

int sip_cfg_int(const char *key, int def, int min, int max) {
    const char *v = sip_host->config_get(sip_self, key);
    if (!v || !*v) return def;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end != '\0' && strcmp(end, ".0") != 0) return -1; /* Lua numbers may come as "10.0" */
    return (n >= min && n <= max) ? (int)n : -1;
}

int sip_cfg_bool(const char *key, bool def) {
    const char *v = sip_host->config_get(sip_self, key);
    if (!v || !*v) return def;
    return strcmp(v, "true") == 0 ? 1 : strcmp(v, "false") == 0 ? 0 : -1;
}

static int sip_load(tandem_module *module, const tandem_host *host) {
    sip_host = host;
    sip_self = module;
    if (host->abi_minor < 1) {
        host->log(module, TANDEM_LOG_ERROR, NULL, "sip: needs engine ABI 1.1 (fd_watch) for RTP");
        return TANDEM_ERROR;
    }
    copy_cfg(sip_cfg.listen, sizeof sip_cfg.listen, "listen", "sip:127.0.0.1:5060");
    /* listen_env: the name of an environment variable that, when set and not
     * empty, replaces `listen` (the demo's port can then be moved without
     * editing its tandem.lua, whose sandbox has no os.getenv) */
    const char *listen_env = host->config_get(module, "listen_env");
    const char *listen_override = listen_env && *listen_env ? getenv(listen_env) : NULL;
    if (listen_override && *listen_override)
        snprintf(sip_cfg.listen, sizeof sip_cfg.listen, "%s", listen_override);
    copy_cfg(sip_cfg.context, sizeof sip_cfg.context, "context", "default");
    copy_cfg(sip_cfg.rtp_ip, sizeof sip_cfg.rtp_ip, "rtp_ip", "127.0.0.1");
    const char *ip6 = host->config_get(module, "rtp_ip6"); /* "" is meaningful: no IPv6 media */
    snprintf(sip_cfg.rtp_ip6, sizeof sip_cfg.rtp_ip6, "%s", ip6 ? ip6 : "::1");
    copy_cfg(sip_cfg.realm, sizeof sip_cfg.realm, "realm", "tandem");
    sip_cfg.auth_fail_limit = sip_cfg_int("auth_fail_limit", 10, 1, 100000);
    sip_cfg.auth_ban_seconds = sip_cfg_int("auth_ban_seconds", 60, 1, 86400);
    int uri_check = sip_cfg_bool("auth_uri_check", true);
    sip_cfg.auth_uri_check = uri_check == 1;
    if (sip_cfg.auth_fail_limit < 0 || sip_cfg.auth_ban_seconds < 0 || strchr(sip_cfg.realm, '"') || uri_check < 0) {
        host->log(module, TANDEM_LOG_ERROR, NULL,
                  "sip: auth_fail_limit (1-100000), auth_ban_seconds (1-86400), auth_uri_check (true or false) "
                  "or realm is invalid");
        return TANDEM_EINVAL;
    }
    if (sip_media_config() != 0 || sip_media_ips_check("", sip_cfg.rtp_ip, sip_cfg.rtp_ip6) != 0)
        return TANDEM_EINVAL; /* they logged why */
    sip_cfg.rtp_port_min = cfg_port("rtp_port_min", 10000);
    sip_cfg.rtp_port_max = cfg_port("rtp_port_max", 20000);
    if (sip_cfg.rtp_port_min < 0 || sip_cfg.rtp_port_max < 0 ||
        sip_cfg.rtp_port_max < sip_cfg.rtp_port_min + 1) {
        host->log(module, TANDEM_LOG_ERROR, NULL,
                  "sip: rtp_port_min/rtp_port_max must be ports 1024-65535 with min < max");
        return TANDEM_EINVAL;
    }
    /* Keep sofia-sip mapped once loaded: its library destructor deletes a
     * pthread key it may not own (with ASan: the sanitizer's, which breaks
     * every thread started afterwards), so the module being unloaded after
     * a failed start must not unload the library. RTLD_NOLOAD only marks the
     * copy already linked to this module. */
    if (!dlopen("libsofia-sip-ua.so.0", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE))
        host->log(module, TANDEM_LOG_DEBUG, NULL, "sip: could not pin libsofia-sip-ua: %s", dlerror());
    if (sip_dialog_load() != 0) return TANDEM_EINVAL; /* it logged why */
    if (sip_limits_configure() != 0 || sip_qualify_configure() != 0) return TANDEM_EINVAL;
    if (sip_nat_configure() != 0) {
        sip_nat_free();
        return TANDEM_EINVAL;
    }
    int rc = TANDEM_EINVAL; /* the loaders log why */
    if (sip_endpoints_load() != 0) goto fail;
    sip_registrations_restore();
    if (sip_trunks_load() != 0) goto fail;
    if (sip_profiles_load() != 0) goto fail;
    rc = host->register_channel(module, &sip_driver);
    if (rc == TANDEM_OK) rc = host->register_channel(module, &sip_join_driver);
    if (rc == TANDEM_OK) rc = sip_endpoints_register_command();
    if (rc == TANDEM_OK) rc = sip_trunks_register_command();
    if (rc == TANDEM_OK) sip_rtp_pool_configure(sip_cfg.rtp_socket_reuse_ms, sip_cfg.rtp_socket_pool);
    if (rc == TANDEM_OK && sip_stack_start() != 0) rc = TANDEM_ERROR; /* it logged why */
    if (rc != TANDEM_OK) goto fail;
    host->log(module, TANDEM_LOG_INFO, NULL, "sip: listening on %s, context %s, RTP %s%s%s:%d-%d",
              sip_cfg.listen, sip_cfg.context, sip_cfg.rtp_ip, sip_cfg.rtp_ip6[0] ? " and " : "",
              sip_cfg.rtp_ip6, sip_cfg.rtp_port_min, sip_cfg.rtp_port_max);
    return TANDEM_OK;
fail:
    sip_rtp_pool_clear();
    sip_nat_free();
    sip_profiles_free();
    sip_trunks_free();
    sip_endpoints_free();
    return rc;
}

static void sip_unload(tandem_module *module) {
    (void)module;
    sip_stack_stop();
    sip_rtp_pool_clear();
    sip_nat_free();
    sip_profiles_free();
    sip_trunks_free();
    sip_endpoints_free();
    sip_srtp_unload();
}

static const tandem_module_desc sip_desc = {
    TANDEM_MODULE_DESC_INIT,
    "sip",
    "0.1",
    "SIP channel driver (sofia-sip NUA, G.711 RTP, RFC 4733)",
    NULL,
    sip_load,
    sip_unload,
    NULL,
};

TANDEM_MODULE(sip_desc)
