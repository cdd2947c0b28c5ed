/*
 * Ringing every registered contact of an endpoint (SIP thread): one INVITE
 * per contact, each on its own "fork", a SIP-side-only struct sip_call that
 * holds a reference to the leg's call (fork_parent). Ringing and early
 * media from any fork go to the leg. The first 2xx wins: the leg's call
 * takes over that fork's handle (sip_stack_adopt) and goes on as a normal
 * answered call; the other forks are CANCELled (a 2xx that crosses the
 * CANCEL gets a BYE). When every fork has failed, the leg hangs up with the
 * best failure: a busy (486/600) beats a no-answer (480/408/487), which
 * beats anything else.
 */
#include "sip_internal.h"

#include <sofia-sip/nua.h>
#include <sofia-sip/su_tag.h>

#include <stdio.h>
#include <string.h>

static int rank(int status) {
    if (status == 486 || status == 600) return 3;
    if (status == 480 || status == 408 || status == 487) return 2;
    return status ? 1 : 0;
}

static bool unlink_fork(struct sip_call *parent, struct sip_call *fork) {
    for (struct sip_call **p = &parent->forks; *p; p = &(*p)->fork_next)
        if (*p == fork) {
            *p = fork->fork_next;
            fork->fork_next = NULL;
            --parent->forks_alive;
            return true;
        }
    return false;
}

int sip_fork_start(struct sip_call *call, const char *const *targets, int n, const char *from, const char *sdp) {
    for (int i = 0; i < n; ++i) {
        struct sip_call *fork = sip_call_new(SIP_OUTBOUND, call->worker);
        if (!fork) continue;
        sip_call_ref(call);
        fork->fork_parent = call; /* dropped when the fork is freed */
        snprintf(fork->endpoint, sizeof fork->endpoint, "%s", call->endpoint);
        snprintf(fork->uri, sizeof fork->uri, "%s", targets[i]);
        snprintf(fork->call_id, sizeof fork->call_id, "%s", call->call_id);
        int rc = sip_stack_invite(fork, targets[i], from, sdp);
        if (rc == 0) {
            fork->fork_next = call->forks;
            call->forks = fork;
            ++call->forks_alive;
        }
        sip_call_unref(fork); /* from now on its handle holds it */
    }
    sip_host->log(sip_self, TANDEM_LOG_INFO, call->call_id, "sip: ringing %d of %d contacts of %s", call->forks_alive,
                  n, call->endpoint);
    return call->forks_alive > 0 ? 0 : -1;
}

struct sip_call *sip_fork_response(struct sip_call *fork, int status, const void *sip) {
    (void)sip;
    struct sip_call *parent = fork->fork_parent;
    if (status < 200) return parent->fork_won || parent->engine_hungup ? NULL : parent;
    if (status >= 300) {
        fork->sip_final = true;
        if (rank(status) > rank(parent->fork_status)) parent->fork_status = status;
        return NULL;
    }
    fork->sip_answered = true;
    if (parent->fork_won || parent->engine_hungup) { /* too late: end this one */
        fork->sip_final = true;
        nua_bye(fork->nh, TAG_END());
        return NULL;
    }
    parent->fork_won = true;
    unlink_fork(parent, fork);
    sip_stack_adopt(fork, parent); /* the fork may be gone now */
    sip_fork_cancel(parent);
    return parent;
}

void sip_fork_ended(struct sip_call *fork) {
    struct sip_call *parent = fork->fork_parent;
    if (!unlink_fork(parent, fork) || parent->forks_alive > 0 || parent->fork_won || parent->engine_hungup) return;
    int status = parent->fork_status ? parent->fork_status : 480;
    parent->sip_final = true;
    sip_post_event(parent, SIP_EV_HANGUP, sip_status_to_cause(status), status, NULL);
}

void sip_fork_cancel(struct sip_call *call) {
    for (struct sip_call *f = call->forks; f; f = f->fork_next) {
        f->engine_hungup = true;
        if (!f->nh || f->sip_final) continue;
        f->sip_final = true;
        if (f->sip_answered)
            nua_bye(f->nh, TAG_END());
        else
            nua_cancel(f->nh, TAG_END());
    }
}
