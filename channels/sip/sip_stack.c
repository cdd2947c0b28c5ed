/*
 * The SIP thread: one sofia-sip NUA per profile (sip_profile.c) on its own su_root. It owns every
 * nua_handle; workers reach it only through sip_stack_send() (a queue under a
 * mutex plus an eventfd that the su_root watches), and it reaches workers
 * only through host->post(). Media is disabled in NUA (NUTAG_MEDIA_ENABLE(0)):
 * the driver does its own SDP so RTP can live on the call's worker.
 */
#include "sip_internal.h"
#include "sip_profile.h"
#include "sip_trunk.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/url.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* An outbound call's id is set before the call is shared; an inbound one is
 * written later by the worker, so the SIP thread must not read it. */
#define LOG(level, call, ...) \
    sip_host->log(sip_self, level, (call) && (call)->dir == SIP_OUTBOUND ? (call)->call_id : NULL, __VA_ARGS__)

struct sip_cmd {
    struct sip_cmd *next;
    int kind; /* enum sip_cmd_kind, or SIP_CMD_RUN */
    struct sip_call *call;
    int status;
    char *sdp;
    struct sync_run *run; /* SIP_CMD_RUN */
};

/* sip_stack_run_sync(): a function run on the SIP thread for a waiting caller. */
enum { SIP_CMD_RUN = -1 };
struct sync_run {
    void (*fn)(void *arg);
    void *arg;
    bool done; /* under sync_lock */
};
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cond = PTHREAD_COND_INITIALIZER;

/* sip_auth.c, SIP thread */
struct sip_endpoint *sip_authenticate(nua_t *nua, nua_handle_t *nh, sip_t const *sip, bool proxy,
                                      bool with_this);
void sip_registrar(nua_t *nua, nua_handle_t *nh, sip_t const *sip);

/* Shared between threads: the queue (under q_lock) and `accepting`. */
static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sip_cmd *q_head, *q_tail;
static bool accepting; /* under q_lock: false before start and after stop */
static atomic_bool stop_requested;
static int wake_fd = -1;

/* Start-up handshake with load(). */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
static int start_state; /* 0 pending, 1 running, -1 failed */

static pthread_t sip_thread;

/* SIP thread only. */
static su_root_t *root;
static nua_t *nua;
static su_timer_t *stop_timer;
static bool stopping;
static struct sip_call *live; /* calls with a handle (sip_prev/sip_next) */
static atomic_uint next_worker;

/* Append c to the queue and wake the SIP thread; -1 (c freed) when the
 * stack is not accepting commands. */
static int queue_cmd(struct sip_cmd *c) {
    pthread_mutex_lock(&q_lock);
    if (!accepting) {
        pthread_mutex_unlock(&q_lock);
        free(c->sdp);
        free(c);
        return -1;
    }
    if (c->call) sip_call_ref(c->call);
    /* A non-empty queue has a wake-up pending already: on_wake() reads the
     * eventfd before it takes the queue, so it will see this command. */
    bool pending = q_tail != NULL;
    if (q_tail) q_tail->next = c; else q_head = c;
    q_tail = c;
    pthread_mutex_unlock(&q_lock);
    if (pending) return 0;
    uint64_t one = 1;
    if (write(wake_fd, &one, sizeof one) < 0) { /* the counter only saturates: already awake */ }
    return 0;
}

int sip_stack_send(enum sip_cmd_kind kind, struct sip_call *call, int status, const char *sdp) {
    struct sip_cmd *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->kind = (int)kind;
    c->call = call;
    c->status = status;
    if (sdp && !(c->sdp = strdup(sdp))) {
        free(c);
        return -1;
    }
    return queue_cmd(c);
}

/* Run a SIP_CMD_RUN and wake its caller (on the SIP thread, or on the
 * main thread once that thread has ended). */
static void finish_run(struct sync_run *r) {
    r->fn(r->arg);
    pthread_mutex_lock(&sync_lock);
    r->done = true;
    pthread_cond_broadcast(&sync_cond);
    pthread_mutex_unlock(&sync_lock);
}

int sip_stack_run_sync(void (*fn)(void *arg), void *arg) {
    struct sync_run r = {fn, arg, false};
    struct sip_cmd *c = calloc(1, sizeof *c);
    if (!c) return -1;
    c->kind = SIP_CMD_RUN;
    c->run = &r;
    if (queue_cmd(c) != 0) return -1;
    pthread_mutex_lock(&sync_lock);
    while (!r.done) pthread_cond_wait(&sync_cond, &sync_lock);
    pthread_mutex_unlock(&sync_lock);
    return 0;
}

static void live_add(struct sip_call *call) {
    call->sip_prev = NULL;
    call->sip_next = live;
    if (live) live->sip_prev = call;
    live = call;
}

/* Forget the handle and drop the SIP side's reference. */
static void release_handle(struct sip_call *call) {
    if (call->sip_prev) call->sip_prev->sip_next = call->sip_next; else live = call->sip_next;
    if (call->sip_next) call->sip_next->sip_prev = call->sip_prev;
    sip_dialog_release(call);
    nua_handle_t *nh = call->nh;
    call->nh = NULL;
    if (nh) {
        nua_handle_bind(nh, NULL);
        nua_handle_destroy(nh);
    }
    sip_call_unref(call);
}

int sip_stack_invite(struct sip_call *call, const char *target, const char *from, const char *sdp) {
    char to[512];
    snprintf(to, sizeof to, "%s", target);
    if (call->endpoint[0]) { /* To: the endpoint's address of record, on the contact's host */
        su_home_t home[1] = {SU_HOME_INIT(home)};
        url_t *u = url_make(home, target);
        if (u && u->url_host)
            snprintf(to, sizeof to, "<sip:%s@%s%s%s>", call->endpoint, u->url_host, u->url_port ? ":" : "",
                     u->url_port ? u->url_port : "");
        su_home_deinit(home);
    }
    nua_handle_t *nh = nua_handle(sip_profile_nua_for(target), NULL, NUTAG_URL(target), SIPTAG_TO_STR(to),
                                  TAG_IF(from, SIPTAG_FROM_STR(from)), TAG_END());
    if (!nh) return -1;
    sip_call_ref(call); /* the SIP side's reference, until the handle goes */
    call->nh = nh;
    nua_handle_bind(nh, call);
    live_add(call);
    /* X- and identity headers from the leg (sip_headers.c); a fork sends its leg's */
    const struct sip_call *leg_call = call->fork_parent ? call->fork_parent : call;
    nua_invite(nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(sdp),
               TAG_IF(leg_call->dlg.out_headers, SIPTAG_HEADER_STR(leg_call->dlg.out_headers)), TAG_END());
    return 0;
}

void sip_stack_adopt(struct sip_call *from, struct sip_call *to) {
    if (from->sip_prev) from->sip_prev->sip_next = from->sip_next; else live = from->sip_next;
    if (from->sip_next) from->sip_next->sip_prev = from->sip_prev;
    to->nh = from->nh;
    from->nh = NULL;
    nua_handle_bind(to->nh, to);
    sip_call_ref(to);
    live_add(to);
    sip_call_unref(from); /* the reference the handle stood for */
}

/* The From header of an outbound INVITE, from the leg's caller number and
 * name (copied on the worker, read-only here): "NAME" <sip:NUMBER@HOST[:PORT]>,
 * HOST:PORT being the listen address (rtp_ip when it is a wildcard).
 * Returns false when both are empty: sofia's default From is kept. */
static bool build_from(const struct sip_call *call, char *out, size_t cap) {
    if (!call->caller_num[0] && !call->caller_name[0]) return false;
    char user[3 * sizeof call->caller_num], name[2 * sizeof call->caller_name];
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)call->caller_num; *p; ++p) {
        /* RFC 3261 user: unreserved and user-unreserved as they are */
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.!~*'()&=+$,;?/", *p))
            user[n++] = (char)*p;
        else
            n += (size_t)snprintf(user + n, sizeof user - n, "%%%02X", *p);
    }
    user[n] = '\0';
    n = 0;
    for (const unsigned char *p = (const unsigned char *)call->caller_name; *p; ++p) {
        if (*p < 0x20 || *p == 0x7f) continue; /* not allowed in a quoted-string */
        if (*p == '"' || *p == '\\') name[n++] = '\\';
        name[n++] = (char)*p;
    }
    name[n] = '\0';

    su_home_t home[1] = {SU_HOME_INIT(home)};
    url_t *u = url_make(home, sip_cfg.listen);
    const char *host = u && u->url_host ? u->url_host : "";
    if (!host[0] || strcmp(host, "*") == 0 || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
        strcmp(host, "[::]") == 0)
        host = sip_cfg.rtp_ip;
    const char *port = u && u->url_port ? u->url_port : NULL;
    if (call->from_host[0]) { /* a trunk's domain */
        host = call->from_host;
        port = NULL;
    }
    int len = snprintf(out, cap, "%s%s%s<sip:%s%s%s%s%s>", name[0] ? "\"" : "", name,
                       name[0] ? "\" " : "", user, user[0] ? "@" : "", host, port ? ":" : "",
                       port ? port : "");
    su_home_deinit(home);
    return len > 0 && (size_t)len < cap;
}

static void run_cmd(struct sip_cmd *c) {
    struct sip_call *call = c->call;
    nua_handle_t *nh = call ? call->nh : NULL;
    switch (c->kind) {
    case SIP_CMD_RUN:
        finish_run(c->run);
        break;
    case SIP_CMD_INVITE: {
        char from[1024];
        bool have_from = build_from(call, from, sizeof from);
        const char *target = call->uri;
        if (call->endpoint[0]) { /* sip/ENDPOINT: every registered contact */
            struct sip_endpoint *ep = sip_endpoint_find(call->endpoint);
            const char *targets[SIP_MAX_CONTACTS];
            int n = ep ? sip_endpoint_contacts(ep, targets) : 0;
            if (n == 0) {
                LOG(TANDEM_LOG_INFO, call, "sip: endpoint %s is not registered", call->endpoint);
                sip_post_event(call, SIP_EV_HANGUP, TANDEM_CAUSE_NO_USER_RESPONSE, 480, NULL);
                break;
            }
            if (n > 1) { /* ring them all (sip_fork.c) */
                if (stopping || sip_fork_start(call, targets, n, have_from ? from : NULL, c->sdp) != 0)
                    sip_post_event(call, SIP_EV_HANGUP, TANDEM_CAUSE_TEMPORARY_FAILURE, 0, NULL);
                break;
            }
            target = targets[0];
        }
        if (stopping || sip_stack_invite(call, target, have_from ? from : NULL, c->sdp) != 0)
            sip_post_event(call, SIP_EV_HANGUP, TANDEM_CAUSE_TEMPORARY_FAILURE, 0, NULL);
        break;
    }
    case SIP_CMD_RING:
        if (nh && !call->sip_final && !call->sip_answered)
            nua_respond(nh, SIP_180_RINGING, TAG_IF(call->contact[0], SIPTAG_CONTACT_STR(call->contact)), TAG_END());
        break;
    case SIP_CMD_PROGRESS:
        if (nh && !call->sip_final && !call->sip_answered)
            nua_respond(nh, SIP_183_SESSION_PROGRESS, TAG_IF(call->contact[0], SIPTAG_CONTACT_STR(call->contact)),
                        SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(c->sdp), TAG_END());
        break;
    case SIP_CMD_ANSWER:
        if (nh && !call->sip_final && !call->sip_answered) {
            call->sip_answered = true;
            nua_respond(nh, SIP_200_OK, TAG_IF(call->contact[0], SIPTAG_CONTACT_STR(call->contact)),
                        SIPTAG_CONTENT_TYPE_STR("application/sdp"),
                        SIPTAG_PAYLOAD_STR(c->sdp), TAG_END());
        }
        break;
    case SIP_CMD_HANGUP:
        call->engine_hungup = true;
        if (!nh) sip_fork_cancel(call); /* still ringing several contacts */
        if (!nh || call->sip_final) break;
        call->sip_final = true;
        if (call->sip_answered) {
            if (!sip_dialog_defer_bye(call)) nua_bye(nh, TAG_END());
        } else if (call->dir == SIP_OUTBOUND)
            nua_cancel(nh, TAG_END());
        else if (c->status == 503) /* the engine's limits.max_calls, no RTP port, ... */
            sip_respond_overload(nua, nh, false);
        else
            nua_respond(nh, c->status ? c->status : 480, sip_phrase(c->status), TAG_END());
        break;
    default: /* call features (sip_dialog.c) */
        sip_dialog_cmd(c->kind, call, c->status, c->sdp);
        break;
    }
}

/* nua_shutdown normally ends within a few seconds; never hang unload(). */
static void stop_timeout(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg) {
    (void)m; (void)t; (void)arg;
    su_root_break(root);
}

static int on_wake(su_root_magic_t *magic, su_wait_t *w, su_wakeup_arg_t *arg) {
    (void)magic; (void)w; (void)arg;
    sip_pace_worked();
    uint64_t n;
    if (read(wake_fd, &n, sizeof n) < 0) { /* EAGAIN: another wake-up drained it */ }
    pthread_mutex_lock(&q_lock);
    struct sip_cmd *c = q_head;
    q_head = q_tail = NULL;
    pthread_mutex_unlock(&q_lock);
    while (c) {
        struct sip_cmd *next = c->next;
        run_cmd(c);
        if (c->call) sip_call_unref(c->call);
        free(c->sdp);
        free(c);
        c = next;
    }
    if (atomic_load(&stop_requested) && !stopping) {
        stopping = true;
        /* nua_shutdown BYEs what is left; nua_r_shutdown ends the loop, or
         * the timer does if the far ends do not answer. */
        stop_timer = su_timer_create(su_root_task(root), 0);
        if (stop_timer) su_timer_set_interval(stop_timer, stop_timeout, NULL, 5000);
        sip_qualify_stop();
        sip_registrations_stop();
        sip_trunks_stop();
        sip_profiles_shutdown_more();
        nua_shutdown(nua);
    }
    return 0;
}

static void copy_token(char *dst, size_t cap, const char *src) {
    size_t n = 0;
    for (; src && *src && n + 1 < cap; ++src)
        if (*src != '"' && (unsigned char)*src >= ' ') dst[n++] = *src;
    dst[n] = '\0';
}

/* `in` and `profile` (a struct sip_profile *): where the INVITE arrived. */
static void incoming_invite(nua_t *in, void *profile, nua_handle_t *nh, struct sip_call *existing,
                            sip_t const *sip) {
    if (existing) { /* a re-INVITE: hold, codec change, refresh */
        sip_dialog_reinvite(in, nh, existing, sip);
        return;
    }
    struct sip_admission adm;
    if (!sip_admit_invite(in, nh, sip, sip_profile_context(profile), &adm))
        return; /* answered 403, 407 or 503 */
    struct sip_endpoint *ep = adm.ep;
    const char *phrase = NULL;
    int bad = sip_invite_body_violation(sip, &phrase);
    if (bad) {
        LOG(TANDEM_LOG_NOTICE, (struct sip_call *)NULL, "sip: INVITE refused: %d %s", bad, phrase);
        sip_limit_release(adm.owner);
        nua_respond(nh, bad, phrase, TAG_IF(bad == 415, SIPTAG_ACCEPT_STR("application/sdp")), TAG_END());
        return;
    }
    struct sip_media offer = {.valid = false, .pt = -1, .dtmf_pt = -1};
    bool late_offer = !sip || !sip->sip_payload || sip->sip_payload->pl_len == 0; /* sip_dialog.c */
    if (!late_offer && (sip_sdp_parse(sip->sip_payload->pl_data, sip->sip_payload->pl_len, &offer) != 0 ||
                        !sip_srtp_acceptable(&offer))) {
        LOG(TANDEM_LOG_NOTICE, (struct sip_call *)NULL,
            "sip: INVITE without an offer we accept (codec, or SRTP policy): 488");
        sip_limit_release(adm.owner);
        nua_respond(nh, SIP_488_NOT_ACCEPTABLE, TAG_END());
        return;
    }
    bool no_dialog = false; /* Replaces names a dialog we do not have */
    struct sip_call *replaced = sip_refer_replaced(in, sip, &no_dialog); /* sip_refer.c */
    if (no_dialog) {
        sip_limit_release(adm.owner);
        nua_respond(nh, SIP_481_NO_TRANSACTION, TAG_END());
        return;
    }
    int workers = sip_host->worker_count();
    struct sip_call *call = stopping || workers <= 0 ? NULL
        : sip_call_new(SIP_INBOUND, replaced ? replaced->worker /* join its call */
                                             : (int)(atomic_fetch_add(&next_worker, 1) % (unsigned)workers));
    if (!call) {
        sip_limit_release(adm.owner);
        sip_call_unref(replaced);
        nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
        return;
    }
    call->admitted = true; /* the slot goes back when the call is freed */
    call->limit_owner = adm.owner;
    call->offer = offer;
    call->dlg.replaces = replaced;
    const url_t *ru = sip->sip_request ? sip->sip_request->rq_url : NULL;
    copy_token(call->exten, sizeof call->exten, ru && ru->url_user ? ru->url_user : "s");
    if (!call->exten[0]) snprintf(call->exten, sizeof call->exten, "s");
    if (sip->sip_from) {
        copy_token(call->caller_num, sizeof call->caller_num, sip->sip_from->a_url->url_user);
        copy_token(call->caller_name, sizeof call->caller_name, sip->sip_from->a_display);
    }
    snprintf(call->context, sizeof call->context, "%s", adm.context);
    if (ep) snprintf(call->caller_num, sizeof call->caller_num, "%s", ep->id);
    call->contact = sip_profile_contact(profile);
    call->profile = profile; /* its media addresses */
    sip_headers_inbound(in, call, sip, ep != NULL);
    call->nh = nh; /* sip_call_new's reference is the SIP side's */
    nua_handle_bind(nh, call);
    live_add(call);
    sip_call_ref(call); /* the worker's */
    if (sip_host->post(sip_self, call->worker, replaced ? sip_refer_replacing : sip_worker_inbound, call) !=
        TANDEM_OK) {
        sip_call_unref(call);
        call->sip_final = true;
        nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, TAG_END());
    }
}

static void response_to_invite(struct sip_call *call, int status, sip_t const *sip) {
    struct sip_media media;
    memset(&media, 0, sizeof media);
    if (sip && sip->sip_payload)
        sip_sdp_parse(sip->sip_payload->pl_data, sip->sip_payload->pl_len, &media);
    if (media.valid && !sip_srtp_acceptable(&media)) media.valid = false; /* SRTP policy */
    if (call->fork_parent && !(call = sip_fork_response(call, status, sip))) return;
    if (status < 180) return;
    if ((status == 401 || status == 407) && !call->engine_hungup && sip_trunk_answer_challenge(call, sip))
        return; /* sent again with the trunk's credentials */
    if (status < 200) {
        if (call->engine_hungup) return;
        if (status == 183 || media.valid)
            sip_post_event(call, SIP_EV_EARLY, 0, status, &media);
        else
            sip_post_event(call, SIP_EV_RINGING, 0, status, NULL);
    } else if (status < 300) {
        call->sip_answered = true;
        if (call->engine_hungup) { /* 200 crossed our CANCEL: end it properly */
            nua_bye(call->nh, TAG_END());
            return;
        }
        if (!media.valid) {
            LOG(TANDEM_LOG_WARNING, call, "sip: %s answered without usable SDP; hanging up", call->uri);
            call->sip_cause = TANDEM_CAUSE_INCOMPATIBLE_DESTINATION;
            call->sip_status = status;
            call->sip_final = true;
            nua_bye(call->nh, TAG_END());
            return;
        }
        sip_post_event(call, SIP_EV_UP, 0, status, &media);
    } else {
        call->sip_final = true;
        call->sip_status = status;
        call->sip_cause = sip_status_to_cause(status);
    }
}

/* A new INVITE or REGISTER that breaks the grammar (sip_strict.c) is answered 400 here,
 * before any handler acts on it. In-dialog requests are left to their
 * dialog. Returns true when it answered. */
static bool refuse_malformed(nua_t *n, nua_event_t event, nua_handle_t *nh, struct sip_call *call,
                             sip_t const *sip) {
    if (call || !nh || (event != nua_i_invite && event != nua_i_register)) return false;
    const char *phrase = NULL;
    int status = sip_request_violation(sip, &phrase);
    if (!status) return false;
    LOG(TANDEM_LOG_NOTICE, (struct sip_call *)NULL, "sip: malformed %s refused: %d %s",
        sip->sip_request->rq_method_name, status, phrase);
    nua_respond(nh, status, phrase, NUTAG_WITH_THIS(n), TAG_END());
    if (event != nua_i_invite) nua_handle_destroy(nh); /* an INVITE's ends in nua_i_state */
    return true;
}

static void nua_event(nua_event_t event, int status, char const *phrase, nua_t *n,
                      nua_magic_t *magic, nua_handle_t *nh, nua_hmagic_t *hmagic,
                      sip_t const *sip, tagi_t tags[]) {
    struct sip_call *call = hmagic;
    sip_pace_worked();
    if (refuse_malformed(n, event, nh, call, sip)) return;
    if (sip_dialog_event(n, event, status, nh, call, sip, tags)) return; /* in-dialog requests */
    switch (event) {
    case nua_i_invite:
        incoming_invite(n, magic, nh, call, sip);
        break;
    case nua_r_invite:
        if (call) response_to_invite(call, status, sip);
        break;
    case nua_i_cancel: /* sofia answers 200 to the CANCEL and 487 to the INVITE */
    case nua_i_bye:
        if (call) {
            call->sip_final = true;
            call->sip_cause = TANDEM_CAUSE_NORMAL_CLEARING;
            call->sip_status = event == nua_i_cancel ? 487 : 0;
        }
        break;
    case nua_i_state: {
        int state = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(state), TAG_END());
        if (state != nua_callstate_terminated) break;
        if (call && call->fork_parent) { /* one ringing contact is done */
            sip_fork_ended(call);
            release_handle(call);
        } else if (call) {
            if (!call->engine_hungup)
                sip_post_event(call, SIP_EV_HANGUP,
                               call->sip_cause ? call->sip_cause : TANDEM_CAUSE_NORMAL_CLEARING,
                               call->sip_status, NULL);
            release_handle(call);
        } else if (nh) {
            nua_handle_destroy(nh);
        }
        break;
    }
    case nua_i_register: /* NUTAG_APPL_METHOD: answered here */
        sip_registrar(n, nh, sip);
        if (!call && nh) nua_handle_destroy(nh);
        break;
    case nua_r_register:
    case nua_r_unregister:
        sip_trunk_on_register(nh, event == nua_r_unregister, status, phrase, sip);
        break;
    case nua_r_options:
        sip_qualify_on_options(nh, status);
        break;
    case nua_i_options: /* sofia has answered it; the handle is not needed */
        if (!call && nh) nua_handle_destroy(nh);
        break;
    case nua_r_shutdown:
        if (status >= 200 && sip_profiles_all_down(n)) su_root_break(root);
        break;
    default:
        if (status >= 400 && phrase)
            LOG(TANDEM_LOG_DEBUG, call, "sip: event %s: %d %s", nua_event_name(event), status, phrase);
        break;
    }
}


static void set_start(int state) {
    pthread_mutex_lock(&start_lock);
    start_state = state;
    pthread_cond_broadcast(&start_cond);
    pthread_mutex_unlock(&start_lock);
}

/* Is the listen address free? sofia-sip's nua_create() leaks its su_root's
 * port when it fails (2 KB, seen with ASan on 1.12.11), and its own message
 * is on stderr only; so a numeric IPv4 listener is tried here first, with a
 * clear log line. Other hosts (names, IPv6) are left to sofia. */
static int precheck_listen(void) {
    su_home_t home[1] = {SU_HOME_INIT(home)};
    url_t *u = url_make(home, sip_cfg.listen);
    int rc = 0;
    if (!u || (u->url_type != url_sip && u->url_type != url_sips)) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: listen '%s' is not a sip: URL", sip_cfg.listen);
        rc = -1;
    } else {
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        const char *host = u->url_host ? u->url_host : "";
        bool numeric = strcmp(host, "*") == 0 || inet_pton(AF_INET, host, &a.sin_addr) == 1;
        long port = u->url_port ? strtol(u->url_port, NULL, 10) : (u->url_type == url_sips ? 5061 : 5060);
        if (numeric && port > 0 && port <= 65535) {
            a.sin_port = htons((uint16_t)port);
            int types[2] = {SOCK_DGRAM, SOCK_STREAM};
            for (int i = 0; i < 2 && rc == 0; ++i) {
                int fd = socket(AF_INET, types[i] | SOCK_CLOEXEC, 0);
                int on = 1;
                if (types[i] == SOCK_STREAM) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
                if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
                    sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                                  "sip: cannot start the SIP stack on %s: %s port %ld: %s", sip_cfg.listen,
                                  i == 0 ? "UDP" : "TCP", port, strerror(errno));
                    rc = -1;
                }
                if (fd >= 0) close(fd);
            }
        }
    }
    su_home_deinit(home);
    return rc;
}

static void *sip_main(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "tandem-sip");
    /* A failed start unwinds exactly like a normal stop: root, then
     * su_deinit(). (See sip_load() for why the library itself stays mapped.) */
    su_init();
    root = su_root_create(NULL);
    /* Without this every nua_create() starts a thread for its stack, and
     * each request and event crosses a socketpair between the two: ~8
     * context switches and a third of the SIP thread's CPU per call. */
    if (root) su_root_threading(root, 0);
    if (root && sip_pace_start(root) != 0) {
        su_root_destroy(root);
        root = NULL;
    }
    if (root && precheck_listen() != 0) {
        sip_pace_stop(root);
        su_root_destroy(root);
        root = NULL;
        su_deinit();
        set_start(-1);
        return NULL;
    }
    su_wait_t w[1];
    int reg = -1;
    if (root && su_wait_create(w, wake_fd, SU_WAIT_IN) == 0)
        reg = su_root_register(root, w, on_wake, NULL, 0);
    if (reg >= 0)
        nua = sip_profile_create(root, nua_event, &sip_profiles[0]); /* the main profile */
    if (nua && sip_profiles_start_more(root, nua_event) != 0) nua = NULL; /* destroyed */
    if (!nua) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: cannot start the SIP stack on %s",
                      sip_cfg.listen);
        if (reg >= 0) su_root_deregister(root, reg);
        if (root) {
            sip_pace_stop(root);
            su_root_destroy(root);
        }
        root = NULL;
        su_deinit();
        set_start(-1);
        return NULL;
    }
    sip_trunks_start(root);
    sip_qualify_start(root);
    sip_registrations_start(root);
    set_start(1);
    su_root_run(root);
    /* Shut down: whatever still holds a handle loses it now. */
    while (live) release_handle(live);
    if (stop_timer) su_timer_destroy(stop_timer);
    stop_timer = NULL;
    sip_profiles_destroy_more();
    nua_destroy(nua);
    nua = NULL;
    sip_pace_stop(root);
    su_root_deregister(root, reg);
    su_root_destroy(root);
    root = NULL;
    su_deinit();
    return NULL;
}

int sip_stack_start(void) {
    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd < 0) return -1;
    stopping = false;
    atomic_store(&stop_requested, false);
    start_state = 0;
    pthread_mutex_lock(&q_lock);
    accepting = true;
    pthread_mutex_unlock(&q_lock);
    if (pthread_create(&sip_thread, NULL, sip_main, NULL) != 0) {
        accepting = false;
        close(wake_fd);
        wake_fd = -1;
        return -1;
    }
    pthread_mutex_lock(&start_lock);
    while (start_state == 0) pthread_cond_wait(&start_cond, &start_lock);
    int ok = start_state > 0;
    pthread_mutex_unlock(&start_lock);
    if (!ok) {
        pthread_join(sip_thread, NULL);
        pthread_mutex_lock(&q_lock);
        accepting = false;
        pthread_mutex_unlock(&q_lock);
        close(wake_fd);
        wake_fd = -1;
        return -1;
    }
    return 0;
}

void sip_stack_stop(void) {
    if (wake_fd < 0) return;
    /* The SIP thread sees the flag after running every command queued
     * before it. */
    pthread_mutex_lock(&q_lock);
    accepting = false;
    pthread_mutex_unlock(&q_lock);
    atomic_store(&stop_requested, true);
    uint64_t one = 1;
    if (write(wake_fd, &one, sizeof one) < 0) { /* saturated counter: already awake */ }
    pthread_join(sip_thread, NULL);
    /* Commands that arrived after the loop ended. */
    pthread_mutex_lock(&q_lock);
    struct sip_cmd *rest = q_head;
    q_head = q_tail = NULL;
    pthread_mutex_unlock(&q_lock);
    while (rest) {
        struct sip_cmd *next = rest->next;
        if (rest->kind == SIP_CMD_RUN) finish_run(rest->run);
        if (rest->call) sip_call_unref(rest->call);
        free(rest->sdp);
        free(rest);
        rest = next;
    }
    close(wake_fd);
    wake_fd = -1;
}
