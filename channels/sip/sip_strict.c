/* Checks for what sofia-sip's parser lets through but RFC 3261 forbids
 * (RFC 4475 section 3.1.2). A request that breaks the grammar gets 400
 * before anything acts on it, so a malformed request never half works.
 * sofia normalises whitespace before the application sees a message (its
 * raw text is gone), so extra spaces in the Request-Line or inside <...>
 * cannot be caught here; channels/sip/README.md lists them. */
#include "sip_internal.h"

#include <sofia-sip/sip.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

#include <string.h>
#include <strings.h>

int sip_request_violation(const sip_t *sip, const char **phrase) {
    if (!sip || !sip->sip_request) return 0;
    /* Headers in a Request-URI are only for building a request from a URI
     * (RFC 3261 19.1.5), never on the wire. */
    if (sip->sip_request->rq_url->url_headers) {
        *phrase = "Headers Not Allowed In Request-URI";
        return 400;
    }
    /* sofia keeps a header it cannot parse (a Date in EST, say) aside
     * instead of refusing the message. */
    if (sip->sip_error) {
        *phrase = "Malformed Header";
        return 400;
    }
    return 0;
}

/* Does an Accept header allow an SDP body? No Accept means application/sdp
 * (RFC 3261 20.1). */
static bool accepts_sdp(const sip_accept_t *ac) {
    if (!ac) return true;
    for (; ac; ac = ac->ac_next) {
        if (!ac->ac_type) return true; /* an empty Accept: nothing forbidden */
        if (strcasecmp(ac->ac_type, "application/sdp") == 0 || strcasecmp(ac->ac_type, "*/*") == 0 ||
            strcasecmp(ac->ac_type, "application/*") == 0)
            return true;
    }
    return false;
}

int sip_invite_body_violation(const sip_t *sip, const char **phrase) {
    if (sip->sip_payload && sip->sip_payload->pl_len > 0 && sip->sip_content_type &&
        sip->sip_content_type->c_type && strcasecmp(sip->sip_content_type->c_type, "application/sdp") != 0) {
        *phrase = "Unsupported Media Type";
        return 415;
    }
    if (!accepts_sdp(sip->sip_accept)) {
        *phrase = "Not Acceptable";
        return 406;
    }
    return 0;
}
