/*
 * Who may call in (SIP thread): an INVITE from an address in a trunk's
 * allowed_ips is that trunk's and needs no digest; any other INVITE must
 * authenticate as an endpoint (whose ACL must hold its source). With trunks
 * but no endpoints configured, an unknown source gets 403: a provider's
 * traffic is recognised by address, everything else is a stranger. With
 * neither, INVITEs are not challenged (a plain SIP peer setup). An admitted
 * call must fit under the global limits and its owner's, else 503 with
 * Retry-After.
 */
#include "sip_trunk.h"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/su_tag.h>

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* sip_auth.c */
struct sip_endpoint *sip_authenticate(nua_t *nua, nua_handle_t *nh, sip_t const *sip, bool proxy, bool with_this);

/* Refusals for overload are logged at most once a second, with a count. */
static long refused_second;
static int refused_count;

static void log_refusal(const char *which, const char *owner) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ++refused_count;
    if (ts.tv_sec == refused_second) return;
    sip_host->log(sip_self, TANDEM_LOG_NOTICE, NULL,
                  "sip: over the %s call limit%s%s: answering 503 (%d call(s) refused in the last second)", which,
                  owner ? " of " : "", owner ? owner : "", refused_count);
    refused_second = ts.tv_sec;
    refused_count = 0;
}

void sip_respond_overload(nua_t *nua, nua_handle_t *nh, bool with_this) {
    char ra[16];
    snprintf(ra, sizeof ra, "%d", sip_retry_after);
    nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, TAG_IF(sip_retry_after > 0, SIPTAG_RETRY_AFTER_STR(ra)),
                TAG_IF(with_this, NUTAG_WITH_THIS(nua)), TAG_END());
}

static void source_text(nua_t *nua, char *out, size_t cap) {
    msg_t *msg = nua_current_request(nua);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    if (!ai || !ai->ai_addr ||
        getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, out, (socklen_t)cap, NULL, 0, NI_NUMERICHOST) != 0)
        snprintf(out, cap, "?");
}

bool sip_admit_invite(nua_t *nua, nua_handle_t *nh, sip_t const *sip, const char *context,
                      struct sip_admission *adm) {
    memset(adm, 0, sizeof *adm);
    adm->context = context;
    struct sip_trunk *t = sip_trunk_for_source(nua);
    if (t) {
        adm->trunk = t;
        adm->owner = &t->limit;
        adm->context = t->context;
    } else if (sip_endpoint_count > 0) {
        if (!(adm->ep = sip_authenticate(nua, nh, sip, true, false))) return false; /* 407 or 403 */
        adm->owner = &adm->ep->limit;
        adm->context = adm->ep->context;
    } else if (sip_trunk_count > 0) {
        char ip[64];
        source_text(nua, ip, sizeof ip);
        sip_host->log(sip_self, TANDEM_LOG_NOTICE, NULL, "sip: INVITE from %s is from no trunk's allowed_ips: 403", ip);
        nua_respond(nh, SIP_403_FORBIDDEN, TAG_END());
        return false;
    }
    const char *which;
    if (!sip_limit_take(adm->owner, &which)) {
        log_refusal(which, adm->trunk ? adm->trunk->name : adm->ep ? adm->ep->id : NULL);
        sip_respond_overload(nua, nh, false);
        return false;
    }
    return true;
}

bool sip_endpoint_source_allowed(nua_t *nua, const struct sip_endpoint *ep) {
    if (ep->acl.count == 0) return true;
    msg_t *msg = nua_current_request(nua);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    if (ai && sip_acl_allows(&ep->acl, ai->ai_addr)) return true;
    char ip[64];
    source_text(nua, ip, sizeof ip);
    sip_host->log(sip_self, TANDEM_LOG_NOTICE, NULL, "sip: endpoint %s from %s, outside its acl: 403", ep->id, ip);
    return false;
}
