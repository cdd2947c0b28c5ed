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
 */
#include "sip_internal.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct refer_ev {
    struct sip_call *call; /* referenced */
    char exten[128];
};

static void notify_result(struct sip_call *call, int status) {
    char frag[64];
    snprintf(frag, sizeof frag, "SIP/2.0 %d %s\r\n", status, sip_phrase(status));
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
    notify_result(call, status);
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

void sip_refer_in(struct sip_call *call, const void *sip_) {
    sip_t const *sip = sip_;
    if (!call || call->sip_final || !call->nh) return; /* sofia answered an out-of-dialog REFER itself */
    nua_notify(call->nh, NUTAG_SUBSTATE(nua_substate_active), SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"),
               SIPTAG_PAYLOAD_STR("SIP/2.0 100 Trying\r\n"), TAG_END());
    struct refer_ev *ev = calloc(1, sizeof *ev);
    if (!ev) return;
    const sip_refer_to_t *rt = sip ? sip->sip_refer_to : NULL;
    if (rt && rt->r_url->url_headers && strcasestr(rt->r_url->url_headers, "replaces=")) {
        /* attended transfer: not supported yet */
        free(ev);
        notify_result(call, 501);
        return;
    }
    if (!call->sip_answered || !refer_exten(sip, ev->exten, sizeof ev->exten)) {
        free(ev);
        notify_result(call, !call->sip_answered ? 503 : 404);
        return;
    }
    sip_call_ref(call);
    ev->call = call;
    if (sip_host->post(sip_self, call->worker, refer_worker, ev) != TANDEM_OK) {
        sip_call_unref(call);
        free(ev);
        notify_result(call, 503);
    }
}

void sip_refer_notify(struct sip_call *call, const char *sipfrag) {
    if (!call->nh || !sipfrag) return;
    nua_notify(call->nh, NUTAG_SUBSTATE(nua_substate_terminated), SIPTAG_CONTENT_TYPE_STR("message/sipfrag;version=2.0"), SIPTAG_PAYLOAD_STR(sipfrag), TAG_END());
}
