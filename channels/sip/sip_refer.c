/*
 * REFER: blind transfer asked for by the far end of a call (RFC 3515).
 *
 * Sofia accepts the REFER (202) and keeps the implicit subscription; the
 * Refer-To's user part goes to the call's worker, which asks the engine to
 * send the other party of the bridge to that extension (host->leg_transfer,
 * ABI 1.2), then the result goes back as the final NOTIFY (message/sipfrag:
 * 200, 404 when the dialplan has no such extension, 503 when the call cannot
 * be transferred now). The transferor's leg is then hung up by the engine
 * (BYE), after the NOTIFY.
 *
 * REFER with Replaces (attended transfer asked of us): sip_join.c.
 *
 * INVITE with Replaces (RFC 3891, attended transfer done by a phone): the
 * new call is created on the replaced call's worker and takes the replaced
 * leg's place in its bridge (host->leg_new_replacing, ABI 1.2); the
 * replaced leg gets BYE.
 */
#include "sip_internal.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct refer_ev {
    struct sip_call *call; /* referenced */
    char exten[128];
};

/* Any thread: the REFER's final NOTIFY, a sipfrag with `status`. */
void sip_refer_result(struct sip_call *call, int status) {
    char frag[64];
    const char *phrase = sip_status_phrase(status) ? sip_status_phrase(status) : sip_phrase(status);
    snprintf(frag, sizeof frag, "SIP/2.0 %d %s\r\n", status, phrase);
    sip_stack_send((enum sip_cmd_kind)SIP_CMD_NOTIFY, call, status, frag);
}

/* Worker. */
static void refer_worker(void *arg) {
    struct refer_ev *ev = arg;
    struct sip_call *call = ev->call;
    int status = 503;
    bool have_abi = sip_host->struct_size >= offsetof(tandem_host, leg_transfer) + sizeof sip_host->leg_transfer &&
                    sip_host->leg_transfer;
    if (call->leg && have_abi) {
        int rc = sip_host->leg_transfer(call->leg, ev->exten, NULL);
        status = rc == TANDEM_OK ? 200 : rc == TANDEM_ENOENT ? 404 : 503;
        sip_host->log(sip_self, rc == TANDEM_OK ? TANDEM_LOG_INFO : TANDEM_LOG_NOTICE, call->call_id,
                      "sip: REFER to %s: %s", ev->exten,
                      rc == TANDEM_OK ? "transferring" : rc == TANDEM_ENOENT ? "no such extension or party"
                                                                            : "cannot transfer now");
    }
    sip_refer_result(call, status);
    sip_call_unref(call);
    free(ev);
}

/* The Refer-To's user part, if it is a plain extension (token characters). */
static bool refer_exten(sip_t const *sip, char *out, size_t cap) {
    const sip_refer_to_t *rt = sip ? sip->sip_refer_to : NULL;
    const char *user = rt && rt->r_url->url_user ? rt->r_url->url_user : NULL;
    if (!user || !*user || strlen(user) >= cap) return false;
    for (const char *p = user; *p; ++p)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              strchr("-_.!~*'()+#", *p)))
            return false;
    snprintf(out, cap, "%s", user);
    return true;
}

/* The call of ours whose confirmed dialog `rp` names (to-tag ours), with a
 * reference; NULL when none or when it is not answered or already ending. */
static struct sip_call *call_by_replaces(void *nua, sip_replaces_t const *rp) {
    nua_handle_t *h = rp ? nua_handle_by_replaces(nua, rp) : NULL;
    struct sip_call *found = h ? nua_handle_magic(h) : NULL;
    if (h) nua_handle_unref(h);
    if (!found || !found->sip_answered || found->sip_final || found->engine_hungup) return NULL;
    sip_call_ref(found);
    return found;
}

/* The answered call of ours named by the `Replaces` of a REFER's Refer-To
 * (attended transfer), with a reference; NULL when none. */
static struct sip_call *refer_replaces_call(void *nua, const char *url_headers) {
    /* url headers are "name=value&name=value", the values %-escaped */
    const char *p = url_headers;
    while (p && strncasecmp(p, "replaces=", 9) != 0) {
        p = strchr(p, '&');
        if (p) ++p;
    }
    if (!p) return NULL;
    p += 9;
    size_t n = strcspn(p, "&");
    char value[512];
    if (n >= sizeof value) return NULL;
    memcpy(value, p, n);
    value[n] = '\0';
    url_unescape(value, value);
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sip_replaces_t *rp = sip_replaces_make(home, value);
    struct sip_call *other = call_by_replaces(nua, rp);
    /* (the engine's call ids are the workers'; log the SIP Call-ID) */
    sip_host->log(sip_self, TANDEM_LOG_NOTICE, NULL, "sip: REFER with Replaces for %s dialog %s",
                  other ? "our" : "no", rp && rp->rp_call_id ? rp->rp_call_id : "(malformed)");
    su_home_deinit(home);
    return other;
}

void sip_refer_in(void *nua, struct sip_call *call, const void *sip_) {
    sip_t const *sip = sip_;
    if (!call || call->sip_final || !call->nh) return; /* sofia answered an out-of-dialog REFER itself */
    call->dlg.notifies++;
    nua_notify(call->nh, NUTAG_SUBSTATE(nua_substate_active), SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"),
               SIPTAG_PAYLOAD_STR("SIP/2.0 100 Trying\r\n"), TAG_END());
    struct refer_ev *ev = calloc(1, sizeof *ev);
    if (!ev) return;
    const sip_refer_to_t *rt = sip ? sip->sip_refer_to : NULL;
    if (rt && rt->r_url->url_headers && strcasestr(rt->r_url->url_headers, "replaces=")) {
        free(ev);
        /* Naming the REFER's own dialog is naming none we could join. */
        struct sip_call *other = refer_replaces_call(nua, rt->r_url->url_headers);
        if (other == call || !call->sip_answered) {
            sip_call_unref(other);
            other = NULL;
        }
        if (!other)
            sip_refer_result(call, 481);
        else if (sip_join_start(call, other) != 0)
            sip_refer_result(call, 503);
        if (other) sip_call_unref(other);
        return;
    }
    if (!call->sip_answered || !refer_exten(sip, ev->exten, sizeof ev->exten)) {
        free(ev);
        sip_refer_result(call, !call->sip_answered ? 503 : 404);
        return;
    }
    sip_call_ref(call);
    ev->call = call;
    if (sip_host->post(sip_self, call->worker, refer_worker, ev) != TANDEM_OK) {
        sip_call_unref(call);
        free(ev);
        sip_refer_result(call, 503);
    }
}

void sip_refer_notify(struct sip_call *call, const char *sipfrag) {
    if (!call->nh || !sipfrag) return;
    call->dlg.notifies++;
    nua_notify(call->nh, NUTAG_SUBSTATE(nua_substate_terminated), SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"), SIPTAG_PAYLOAD_STR(sipfrag), TAG_END());
}

struct sip_call *sip_refer_replaced(void *nua, const void *sip_, bool *no_dialog) {
    sip_t const *sip = sip_;
    *no_dialog = false;
    if (!sip || !sip->sip_replaces) return NULL;
    struct sip_call *old = call_by_replaces(nua, sip->sip_replaces);
    if (!old) {
        sip_host->log(sip_self, TANDEM_LOG_NOTICE, NULL, "sip: INVITE with Replaces for no call of ours: 481");
        *no_dialog = true;
    }
    return old;
}

/* Worker (the replaced call's): open media, then a leg that takes the
 * replaced leg's place, and answer. */
void sip_refer_replacing(void *arg) {
    struct sip_call *call = arg; /* carries the worker's reference */
    struct sip_call *old = call->dlg.replaces;
    tandem_leg *leg = NULL;
    bool have_abi = sip_host->struct_size >= offsetof(tandem_host, leg_new_replacing) +
                                                 sizeof sip_host->leg_new_replacing &&
                    sip_host->leg_new_replacing;
    if (have_abi && old->leg && sip_media_open(call, true, false) == 0) {
        sip_rtp_set_remote(&call->rtp, &call->offer);
        tandem_inbound in;
        memset(&in, 0, sizeof in);
        in.struct_size = sizeof in;
        in.caller_num = call->caller_num;
        in.caller_name = call->caller_name;
        in.format = call->rtp.format ? call->rtp.format : "PCMU";
        in.worker = call->worker;
        in.pvt = call;
        leg = sip_host->leg_new_replacing(sip_self, "sip", old->leg, &in);
    }
    char sdp[768];
    if (!leg || sip_local_sdp(call, call->rtp.pt, call->rtp.dtmf_pt, sdp, sizeof sdp) < 0) {
        sip_host->log(sip_self, TANDEM_LOG_NOTICE, old->call_id,
                      "sip: INVITE with Replaces refused: the call to replace is not bridged");
        if (leg) sip_host->leg_hangup(leg, TANDEM_CAUSE_TEMPORARY_FAILURE);
        sip_rtp_close(call);
        sip_stack_send(SIP_CMD_HANGUP, call, leg ? 500 : 603, NULL);
        if (leg) sip_host->leg_unref(leg);
        sip_call_unref(call);
        return;
    }
    call->leg = leg; /* the leg's reference and the worker's are ours now */
    sip_rtp_announce_codec(call, leg);
    snprintf(call->call_id, sizeof call->call_id, "%s", sip_host->leg_call_id(leg));
    sip_host->leg_set_var(leg, "sip_from_user", call->caller_num);
    sip_dialog_attach(call);
    sip_rtp_watch(call);
    call->up = true;
    sip_host->leg_set_var(leg, "sip_status", "200");
    sip_stack_send(SIP_CMD_ANSWER, call, 200, sdp);
    sip_host->log(sip_self, TANDEM_LOG_INFO, call->call_id, "sip: %s replaces a leg of this call (RFC 3891), RTP port %d",
                  call->caller_num[0] ? call->caller_num : "anonymous", call->rtp.port);
}

/* ---------------------------------------------------------------------- */
/* REFER sent by us (leg:sip_refer, sip_functions.c): SIP thread           */

void sip_refer_out_event(struct sip_call *call, int event, int status, const void *sip_) {
    sip_t const *sip = sip_;
    if (!call) return;
    if (event == nua_r_refer) {
        if (status >= 300) sip_function_result(call, SIP_FN_REFER, status); /* refused: no NOTIFY follows */
        return;
    }
    /* nua_i_notify of our REFER's subscription: "SIP/2.0 NNN ..." */
    const sip_payload_t *pl = sip ? sip->sip_payload : NULL;
    int code = 0;
    if (pl && pl->pl_len >= 11 && strncmp(pl->pl_data, "SIP/2.0 ", 8) == 0) {
        for (size_t i = 8; i < 11; ++i) {
            char c = pl->pl_data[i];
            if (c < '0' || c > '9') {
                code = 0;
                break;
            }
            code = code * 10 + (c - '0');
        }
    }
    bool terminated = sip && sip->sip_subscription_state && sip->sip_subscription_state->ss_substate &&
                      strcasecmp(sip->sip_subscription_state->ss_substate, "terminated") == 0;
    if (code >= 200 || terminated) sip_function_result(call, SIP_FN_REFER, code >= 200 ? code : 500);
}

void sip_refer_send(struct sip_call *call, const char *target) {
    if (!call->nh || call->sip_final || !call->sip_answered) {
        sip_function_result(call, SIP_FN_REFER, 481);
        return;
    }
    nua_refer(call->nh, SIPTAG_REFER_TO_STR(target), TAG_END());
}
