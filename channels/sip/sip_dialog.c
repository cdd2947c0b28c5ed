/*
 * Requests inside an established dialog: re-INVITE and UPDATE from the far
 * end (hold, unhold, codec change, session refresh, an offer wanted: late
 * offer), our own re-INVITE (leg:sip_hold), INFO DTMF both ways, and the
 * NUA settings for session timers (RFC 4028).
 *
 * The SIP thread parses what arrived and posts it to the call's worker,
 * which owns the media; for an offer the worker builds our answer and sends
 * it back with SIP_CMD_DIALOG_ANSWER, and the SIP thread answers the saved
 * request (nua_save_event / NUTAG_WITH_SAVED). Sofia itself answers the
 * overlapping cases: 491 to a re-INVITE that crosses one of ours, 500 with
 * Retry-After to a second re-INVITE while one is pending (RFC 3261 14.2).
 */
#include "sip_internal.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_alloc.h>

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LOG(level, call, ...) sip_host->log(sip_self, level, (call)->call_id, __VA_ARGS__)

/* Configuration, read in load(); immutable afterwards. */
static int dtmf_mode;            /* enum dtmf_mode: the `dtmf` key */
static unsigned session_expires; /* Session-Expires we ask for, 0 none */
static unsigned min_se = 90;     /* below this: 422 (RFC 4028 minimum 90) */
static bool hold_passthrough;    /* a hold re-INVITEs the bridged SIP party too */
enum dtmf_mode { DTMF_AUTO, DTMF_RFC4733, DTMF_INFO };

enum dlg_ev_kind { DLG_OFFER, DLG_ANSWER_IN_ACK, DLG_DTMF, DLG_REINVITE_ANSWER };

/* SIP thread -> worker. */
struct dlg_ev {
    struct sip_call *call; /* referenced */
    enum dlg_ev_kind kind;
    struct sip_media media; /* OFFER, ANSWER_IN_ACK, REINVITE_ANSWER; valid false: no SDP */
    int dir;                /* enum sip_direction of that SDP */
    bool zero;              /* its c= is 0.0.0.0 */
    int status;             /* REINVITE_ANSWER */
    char digit;             /* DTMF */
    uint32_t duration_ms;
};

static const char *dir_name(int dir) {
    switch (dir) {
    case SIP_SENDONLY: return "sendonly";
    case SIP_RECVONLY: return "recvonly";
    case SIP_INACTIVE: return "inactive";
    default: return "sendrecv";
    }
}

/* ---------------------------------------------------------------------- */
/* SIP thread                                                              */

/* The direction of the first audio stream and whether its address is the
 * RFC 2543 hold address 0.0.0.0 (sip_sdp_parse has taken the rest). */
static void sdp_direction(const char *body, size_t len, int *dir, bool *zero) {
    *dir = SIP_SENDRECV;
    *zero = false;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sdp_parser_t *parser = sdp_parse(home, body, (issize_t)len, 0);
    sdp_session_t *s = parser ? sdp_session(parser) : NULL;
    for (sdp_media_t *m = s ? s->sdp_media : NULL; m; m = m->m_next) {
        if (m->m_type != sdp_media_audio || m->m_port == 0 || m->m_rejected) continue;
        /* sofia's mode bits are from our side's view of "send"/"recv" of the
         * far end: sdp_sendonly means the far end only sends */
        switch (m->m_mode) {
        case sdp_sendonly: *dir = SIP_SENDONLY; break;
        case sdp_recvonly: *dir = SIP_RECVONLY; break;
        case sdp_inactive: *dir = SIP_INACTIVE; break;
        default: *dir = SIP_SENDRECV; break;
        }
        sdp_connection_t *c = m->m_connections ? m->m_connections : s->sdp_connection;
        *zero = c && c->c_address && strcmp(c->c_address, "0.0.0.0") == 0;
        break;
    }
    if (parser) sdp_parser_free(parser);
    su_home_deinit(home);
}

static void dlg_post(struct sip_call *call, struct dlg_ev *ev);

/* The SDP of a request (re-INVITE, UPDATE, ACK) into `ev`. Returns -1 when
 * there is a body we cannot use (no PCMU/PCMA audio), 0 otherwise. */
static int take_sdp(sip_t const *sip, struct dlg_ev *ev) {
    memset(&ev->media, 0, sizeof ev->media);
    ev->media.pt = ev->media.dtmf_pt = -1;
    if (!sip || !sip->sip_payload || sip->sip_payload->pl_len == 0) return 0;
    if (sip_sdp_parse(sip->sip_payload->pl_data, sip->sip_payload->pl_len, &ev->media) != 0) {
        /* sip_sdp_parse refuses 0.0.0.0 only when unparsable; hold is fine */
        return -1;
    }
    sdp_direction(sip->sip_payload->pl_data, sip->sip_payload->pl_len, &ev->dir, &ev->zero);
    return 0;
}

/* re-INVITE or UPDATE on an established call: hand the offer to the worker,
 * which answers with SIP_CMD_DIALOG_ANSWER. */
static void offer_in(nua_t *nua, nua_handle_t *nh, struct sip_call *call, sip_t const *sip) {
    struct dlg_ev *ev = calloc(1, sizeof *ev);
    if (!ev) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    ev->kind = DLG_OFFER;
    if (take_sdp(sip, ev) != 0) {
        free(ev);
        nua_respond(nh, SIP_488_NOT_ACCEPTABLE, NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    if (call->dlg.pending || call->sip_final) { /* one offer at a time (RFC 3311 5.2) */
        free(ev);
        nua_respond(nh, 491, "Request Pending", NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    nua_saved_event_t saved[1];
    if (nua_save_event(nua, saved) == 0) {
        free(ev);
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    call->dlg.pending = saved[0];
    dlg_post(call, ev);
}

void sip_dialog_reinvite(void *nua, void *nh, struct sip_call *call, const void *sip) {
    offer_in(nua, nh, call, sip);
}

static void info_in(nua_t *nua, nua_handle_t *nh, struct sip_call *call, sip_t const *sip) {
    const char *type = sip && sip->sip_content_type ? sip->sip_content_type->c_type : NULL;
    const sip_payload_t *pl = sip ? sip->sip_payload : NULL;
    if (!type || !pl || pl->pl_len == 0) { /* an empty INFO: a keep-alive */
        nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    if (strcasecmp(type, "application/dtmf-relay") != 0 && strcasecmp(type, "application/dtmf") != 0) {
        nua_respond(nh, SIP_415_UNSUPPORTED_MEDIA,
                    SIPTAG_ACCEPT_STR("application/dtmf-relay, application/dtmf"), NUTAG_WITH_THIS(nua),
                    TAG_END());
        return;
    }
    uint32_t ms;
    char d = sip_info_dtmf_parse(type, pl->pl_data, pl->pl_len, &ms);
    if (!d) {
        nua_respond(nh, 400, "Bad DTMF", NUTAG_WITH_THIS(nua), TAG_END());
        return;
    }
    nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
    struct dlg_ev *ev = calloc(1, sizeof *ev);
    if (!ev) return;
    ev->kind = DLG_DTMF;
    ev->digit = d;
    ev->duration_ms = ms;
    dlg_post(call, ev);
}

bool sip_dialog_event(void *nua_, int event, int status, void *nh_, struct sip_call *call,
                      const void *sip_, const void *tags) {
    (void)status; (void)tags;
    nua_t *nua = nua_;
    nua_handle_t *nh = nh_;
    sip_t const *sip = sip_;
    switch (event) {
    case nua_i_update:
        if (!call) {
            nua_respond(nh, SIP_481_NO_TRANSACTION, NUTAG_WITH_THIS(nua), TAG_END());
            return true;
        }
        if (!sip || !sip->sip_payload || sip->sip_payload->pl_len == 0) { /* a refresh */
            nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua), TAG_END());
            return true;
        }
        offer_in(nua, nh, call, sip);
        return true;
    case nua_i_info:
        if (!call) {
            nua_respond(nh, SIP_481_NO_TRANSACTION, NUTAG_WITH_THIS(nua), TAG_END());
            return true;
        }
        info_in(nua, nh, call, sip);
        return true;
    case nua_i_ack: { /* the answer to an offer we made in a 200 (late offer) */
        if (!call || !sip || !sip->sip_payload) return true;
        struct dlg_ev *ev = calloc(1, sizeof *ev);
        if (!ev) return true;
        ev->kind = DLG_ANSWER_IN_ACK;
        if (take_sdp(sip, ev) != 0 || !ev->media.valid) {
            free(ev);
            return true;
        }
        dlg_post(call, ev);
        return true;
    }
    case nua_i_refer: /* sofia has answered 202 */
        sip_refer_in(nua, call, sip);
        return true;
    case nua_r_invite: /* the answer to our re-INVITE (leg:sip_hold); else the foundation's */
        if (!call || !call->dlg.reinviting) return false;
        if (status >= 200) {
            call->dlg.reinviting = false;
            struct dlg_ev *ev = calloc(1, sizeof *ev);
            if (!ev) return true;
            ev->kind = DLG_REINVITE_ANSWER;
            ev->status = status;
            if (status >= 300 || take_sdp(sip, ev) != 0) ev->media.valid = false;
            dlg_post(call, ev);
        }
        return true;
    case nua_r_refer: /* our REFER (leg:sip_refer) and its NOTIFYs */
    case nua_i_notify:
        sip_refer_out_event(call, event, status, sip);
        return true;
    case nua_r_notify: /* sofia sends our NOTIFYs one at a time; a BYE would not wait */
        if (call && status >= 200 && call->dlg.notifies > 0 && --call->dlg.notifies == 0 &&
            call->dlg.bye_deferred && call->nh) {
            call->dlg.bye_deferred = false;
            nua_bye(call->nh, TAG_END());
        }
        return true;
    case nua_r_info:
        return true;
    case nua_r_bye:
        /* A BYE we did not send (every BYE of ours sets sip_final first):
         * sofia ended a session whose timer ran out (Reason: SIP;cause=408) */
        if (call && call->sip_answered && !call->sip_final && !call->engine_hungup) {
            sip_host->log(sip_self, TANDEM_LOG_NOTICE, call->dir == SIP_OUTBOUND ? call->call_id : NULL,
                          "sip: the session expired without a refresh (RFC 4028): BYE, cause 102");
            call->sip_cause = TANDEM_CAUSE_RECOVERY_ON_TIMER_EXPIRE;
            call->sip_status = 408;
            call->sip_final = true;
        }
        return true;
    default:
        return false;
    }
}

void sip_dialog_cmd(int kind, struct sip_call *call, int status, const char *body) {
    nua_handle_t *nh = call ? call->nh : NULL;
    switch (kind) {
    case SIP_CMD_DIALOG_ANSWER: {
        nua_saved_event_t saved[1] = {call->dlg.pending};
        call->dlg.pending = NULL;
        if (!saved[0]) break;
        if (nh && !call->sip_final) {
            if (status == 200 && body)
                nua_respond(nh, SIP_200_OK, NUTAG_WITH_SAVED(saved),
                            SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(body),
                            TAG_END());
            else
                nua_respond(nh, status, sip_phrase(status), NUTAG_WITH_SAVED(saved), TAG_END());
        }
        nua_destroy_event(saved);
        break;
    }
    case SIP_CMD_INFO: {
        const char *nl = body ? strchr(body, '\n') : NULL;
        if (!nh || call->sip_final || !call->sip_answered || !nl) break;
        char type[64];
        snprintf(type, sizeof type, "%.*s", (int)(nl - body), body);
        nua_info(nh, SIPTAG_CONTENT_TYPE_STR(type), SIPTAG_PAYLOAD_STR(nl + 1), TAG_END());
        break;
    }
    case SIP_CMD_NOTIFY:
        if (call && !call->sip_final) sip_refer_notify(call, body);
        break;
    case SIP_CMD_REFER:
        if (call && body) sip_refer_send(call, body);
        break;
    case SIP_CMD_REINVITE:
        if (!nh || call->sip_final || !call->sip_answered || call->dlg.pending || call->dlg.reinviting) {
            sip_function_result(call, SIP_FN_HOLD, 491); /* an offer is in progress */
            break;
        }
        call->dlg.reinviting = true;
        nua_invite(nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(body), TAG_END());
        break;
    }
}

bool sip_dialog_defer_bye(struct sip_call *call) {
    if (call->dlg.notifies <= 0) return false;
    call->dlg.bye_deferred = true;
    return true;
}

void sip_dialog_release(struct sip_call *call) {
    if (call->dlg.pending) {
        nua_saved_event_t saved[1] = {call->dlg.pending};
        call->dlg.pending = NULL;
        nua_destroy_event(saved);
    }
}

/* ---------------------------------------------------------------------- */
/* Worker                                                                  */

/* The direction we answer with: the mirror of the far end's, and recvonly
 * for an old-style hold (c=0.0.0.0) that still says sendrecv. */
static int answer_dir(int remote, bool zero) {
    switch (remote) {
    case SIP_SENDONLY: return SIP_RECVONLY;
    case SIP_RECVONLY: return SIP_SENDONLY;
    case SIP_INACTIVE: return SIP_INACTIVE;
    default: return zero ? SIP_RECVONLY : SIP_SENDRECV;
    }
}

/* Our SDP for the call's current media, with direction `dir`. The o=
 * version moves only when what we say changes (RFC 3264 8: a session
 * refresh gets the same version back). Returns the length or -1. */
static int our_sdp(struct sip_call *call, int dir, char *buf, size_t cap) {
    struct sip_dialog *d = &call->dlg;
    struct sip_rtp *rtp = &call->rtp;
    if (!d->sent_valid) { /* what the foundation sent first: version = SSRC */
        d->sdp_version = rtp->session.ssrc;
        bool answered = call->dir == SIP_INBOUND && call->offer.valid; /* else we offered */
        d->sent_pt = answered ? rtp->pt : -1;
        d->sent_dtmf_pt = answered ? rtp->dtmf_pt : -1;
        d->sent_dir = SIP_SENDRECV;
        d->sent_valid = true;
    }
    if (d->sent_pt != rtp->pt || d->sent_dtmf_pt != rtp->dtmf_pt || d->sent_dir != dir) d->sdp_version++;
    d->sent_pt = rtp->pt;
    d->sent_dtmf_pt = rtp->dtmf_pt;
    d->sent_dir = dir;
    char base[768];
    if (sip_local_sdp(call, rtp->pt, rtp->dtmf_pt, base, sizeof base) < 0) return -1;
    /* sip_local_sdp writes version = session id and a=sendrecv: patch both */
    const char *o = strstr(base, "o=tandem "), *o_end = o ? strstr(o, "\r\n") : NULL;
    const char *a = strstr(base, "a=sendrecv\r\n");
    if (!o || !o_end || !a || a < o_end) return -1;
    int n = snprintf(buf, cap, "%.*so=tandem %u %u IN %s %s%.*sa=%s%s", (int)(o - base), base,
                     rtp->session.ssrc, d->sdp_version, sip_sdp_addrtype(rtp->local_ip), rtp->local_ip,
                     (int)(a - o_end), o_end, dir_name(dir),
                     a + strlen("a=sendrecv"));
    return (n < 0 || (size_t)n >= cap) ? -1 : n;
}

/* Tell the engine when the far end holds or resumes: the leg variable
 * sip_hold and a "sip_hold" event. */
static void report_hold(struct sip_call *call, bool held) {
    if (held == call->dlg.held) return;
    call->dlg.held = held;
    sip_host->leg_set_var(call->leg, "sip_hold", held ? "1" : "0");
    tandem_field f[3] = {{"hold", held ? "1" : "0"},
                         {"leg_id", sip_host->leg_id(call->leg)},
                         {"direction", dir_name(call->dlg.remote_dir)}};
    sip_host->publish(sip_self, "sip_hold", call->call_id, f, 3);
    LOG(TANDEM_LOG_INFO, call, "sip: far end %s the call (%s%s)", held ? "holds" : "resumes",
        dir_name(call->dlg.remote_dir), call->dlg.remote_zero ? ", c=0.0.0.0" : "");
    /* hold_passthrough: the SIP party bridged with this one is held too */
    bool have_abi = sip_host->struct_size >= offsetof(tandem_host, leg_bridge_peer) + sizeof sip_host->leg_bridge_peer &&
                    sip_host->leg_bridge_peer;
    tandem_leg *peer = hold_passthrough && have_abi ? sip_host->leg_bridge_peer(call->leg) : NULL;
    struct sip_call *other = peer ? sip_host->leg_pvt(peer) : NULL;
    if (other && sip_fn_is_ours(other) && other->leg == peer && other->up) {
        if (other->dlg.local_hold != held) sip_dialog_hold_offer(other, held);
        return;
    }
    /* else the bridged party hears music on hold (ABI 1.3) */
    if (sip_host->struct_size >= offsetof(tandem_host, leg_set_held) + sizeof sip_host->leg_set_held &&
        sip_host->leg_set_held)
        sip_host->leg_set_held(call->leg, held);
}

/* Apply the far end's new SDP: direction, address, codec. The RTP stream
 * keeps its SSRC, sequence and timestamp (sip_rtp_set_remote only moves
 * the destination and payload types). */
static void apply_remote(struct sip_call *call, const struct dlg_ev *ev) {
    struct sip_rtp *rtp = &call->rtp;
    call->dlg.remote_dir = ev->dir;
    call->dlg.remote_zero = ev->zero;
    rtp->tx_held = ev->zero || ev->dir == SIP_SENDONLY || ev->dir == SIP_INACTIVE;
    /* a copy: rtp->format points into rtp->codec, which the new SDP overwrites */
    char old_buf[sizeof rtp->codec.codec];
    snprintf(old_buf, sizeof old_buf, "%s", rtp->format ? rtp->format : "");
    const char *old_format = rtp->format ? old_buf : NULL;
    if (ev->zero) { /* keep sending nowhere; only the codec may change */
        rtp->pt = ev->media.pt;
        rtp->dtmf_pt = ev->media.dtmf_pt;
        rtp->codec = ev->media; /* any codec, not only G.711 (an Opus call put on hold) */
        rtp->format = rtp->codec.codec;
    } else {
        sip_rtp_set_remote(rtp, &ev->media);
    }
    if (!old_format || strcmp(old_format, rtp->format) != 0) {
        sip_rtp_announce_codec(call, call->leg);
        LOG(TANDEM_LOG_INFO, call, "sip: codec %s %s", old_format ? "changed to" : "from the answer:", rtp->format);
    }
    report_hold(call, ev->zero || ev->dir == SIP_SENDONLY || ev->dir == SIP_INACTIVE);
}

static void dlg_worker(void *arg) {
    struct dlg_ev *ev = arg;
    struct sip_call *call = ev->call;
    switch (ev->kind) {
    case DLG_OFFER: {
        char sdp[1024];
        if (!call->leg || call->rtp.fd < 0) {
            sip_stack_send((enum sip_cmd_kind)SIP_CMD_DIALOG_ANSWER, call, 481, NULL);
            break;
        }
        /* no SDP (a re-INVITE asking for our offer): our current one */
        if (ev->media.valid) apply_remote(call, ev);
        call->dlg.offered = !ev->media.valid;
        int dir = answer_dir(call->dlg.remote_dir, call->dlg.remote_zero);
        if (call->dlg.local_hold) /* we hold them: we only send, whatever they offer */
            dir = dir == SIP_SENDRECV || dir == SIP_SENDONLY ? SIP_SENDONLY : SIP_INACTIVE;
        if (our_sdp(call, dir, sdp, sizeof sdp) < 0)
            sip_stack_send((enum sip_cmd_kind)SIP_CMD_DIALOG_ANSWER, call, 500, NULL);
        else
            sip_stack_send((enum sip_cmd_kind)SIP_CMD_DIALOG_ANSWER, call, 200, sdp);
        break;
    }
    case DLG_ANSWER_IN_ACK:
        /* the answer to our offer in a 200: to a late-offer INVITE (no codec
         * yet) or to a re-INVITE without SDP */
        if (call->leg && call->rtp.fd >= 0 && (call->rtp.pt < 0 || call->dlg.offered)) apply_remote(call, ev);
        call->dlg.offered = false;
        break;
    case DLG_REINVITE_ANSWER:
        if (call->leg && call->rtp.fd >= 0 && ev->media.valid) apply_remote(call, ev);
        sip_function_done(call, SIP_FN_HOLD, ev->status);
        break;
    case DLG_DTMF:
        if (call->leg) {
            tandem_frame f;
            memset(&f, 0, sizeof f);
            f.struct_size = sizeof f;
            f.kind = TANDEM_FRAME_DTMF;
            f.digit = ev->digit;
            f.duration_ms = ev->duration_ms;
            LOG(TANDEM_LOG_DEBUG, call, "sip: INFO DTMF %c (%u ms)", ev->digit, ev->duration_ms);
            sip_host->leg_push_frame(call->leg, &f);
        }
        break;
    }
    sip_call_unref(call);
    free(ev);
}

int sip_dialog_hold_offer(struct sip_call *call, bool on) {
    char sdp[1024];
    call->dlg.local_hold = on;
    if (our_sdp(call, on ? SIP_SENDONLY : SIP_SENDRECV, sdp, sizeof sdp) < 0) return -1;
    sip_host->log(sip_self, TANDEM_LOG_INFO, call->call_id, "sip: %s the far end (re-INVITE)",
                  on ? "holding" : "resuming");
    return sip_stack_send((enum sip_cmd_kind)SIP_CMD_REINVITE, call, 0, sdp);
}

static void dlg_post(struct sip_call *call, struct dlg_ev *ev) {
    sip_call_ref(call);
    ev->call = call;
    if (sip_host->post(sip_self, call->worker, dlg_worker, ev) != TANDEM_OK) {
        if (ev->kind == DLG_OFFER) sip_dialog_cmd(SIP_CMD_DIALOG_ANSWER, call, 500, NULL);
        sip_call_unref(call);
        free(ev);
    }
}

static int parse_dtmf_mode(const char *s) {
    if (!s || !*s || strcasecmp(s, "auto") == 0) return DTMF_AUTO;
    if (strcasecmp(s, "rfc4733") == 0) return DTMF_RFC4733;
    if (strcasecmp(s, "info") == 0) return DTMF_INFO;
    return -1;
}

/* How this leg sends DTMF: the leg variable sip_dtmf, else the module's
 * `dtmf` key: "rfc4733", "info", or "auto" (RFC 4733 when the far end
 * negotiated telephone-event, INFO otherwise). */
static bool dtmf_as_info(struct sip_call *call) {
    int mode = parse_dtmf_mode(sip_host->leg_get_var(call->leg, "sip_dtmf"));
    if (mode <= DTMF_AUTO) mode = dtmf_mode;
    if (mode == DTMF_AUTO) return call->rtp.dtmf_pt < 0;
    return mode == DTMF_INFO;
}

static int cfg_uint(const char *key, unsigned def, unsigned lo, unsigned hi, unsigned *out) {
    const char *v = sip_host->config_get(sip_self, key);
    *out = def;
    if (!v || !*v) return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if ((*end && strcmp(end, ".0") != 0) || n < (long)lo || n > (long)hi) return -1;
    *out = (unsigned)n;
    return 0;
}

int sip_dialog_load(void) {
    dtmf_mode = parse_dtmf_mode(sip_host->config_get(sip_self, "dtmf"));
    if (dtmf_mode < 0 || cfg_uint("session_expires", 0, 0, 86400, &session_expires) != 0 ||
        cfg_uint("min_se", 90, 1, 86400, &min_se) != 0 || (session_expires && session_expires < min_se)) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                      "sip: dtmf must be auto, rfc4733 or info; session_expires 0 or min_se-86400; "
                      "min_se 1-86400");
        return -1;
    }
    const char *pt = sip_host->config_get(sip_self, "hold_passthrough");
    hold_passthrough = pt && (strcmp(pt, "true") == 0 || strcmp(pt, "1") == 0);
    return sip_functions_register() == TANDEM_OK ? 0 : -1;
}

void sip_dialog_configure(void *nua) {
    /* RFC 4028: sofia negotiates Session-Expires/Min-SE (422 below min_se),
     * refreshes when we are the refresher, and sends BYE when the far end
     * was the refresher and let the session expire. Refreshes go as UPDATE
     * without SDP where the far end allows UPDATE: a re-INVITE from sofia
     * would carry no offer (media is ours, not sofia's). */
    nua_set_params(nua, NUTAG_SESSION_TIMER(session_expires), NUTAG_MIN_SE(min_se), NUTAG_UPDATE_REFRESH(1),
                   /* sofia's own list plus RFC 3891: phones look for it
                    * before completing an attended transfer by Replaces */
                   SIPTAG_SUPPORTED_STR("timer, 100rel, replaces"), TAG_END());
}

bool sip_dialog_write(struct sip_call *call, const tandem_frame *frame) {
    if (frame->kind == TANDEM_FRAME_DTMF) {
        if (!call->leg || !dtmf_as_info(call)) return false;
        if (!strchr("0123456789*#ABCDabcd", frame->digit) || !frame->digit) return true;
        uint32_t ms = frame->duration_ms ? frame->duration_ms : 100;
        char body[96];
        snprintf(body, sizeof body, "application/dtmf-relay\nSignal=%c\r\nDuration=%u\r\n",
                 toupper((unsigned char)frame->digit), ms < 40 ? 40 : ms > 5000 ? 5000 : ms);
        sip_stack_send((enum sip_cmd_kind)SIP_CMD_INFO, call, 0, body);
        return true;
    }
    /* the far end put us on hold: it does not want our audio. The media
     * clock runs on, and the first packet after the hold starts a talk
     * spurt (marker), as after silence suppression. */
    if (frame->kind != TANDEM_FRAME_AUDIO || !call->rtp.tx_held) return false;
    sip_rtp_skip(call, frame);
    call->rtp.marker = true;
    return true;
}

void sip_dialog_attach(struct sip_call *call) {
    if (call->dir == SIP_INBOUND) sip_headers_apply(call);
    sip_fn_own(call);
}

void sip_dialog_free(struct sip_call *call) {
    sip_fn_disown(call);
    free(call->dlg.in_vars);
    free(call->dlg.out_headers);
    call->dlg.in_vars = call->dlg.out_headers = NULL;
    sip_call_unref(call->dlg.replaces);
    call->dlg.replaces = NULL;
}
