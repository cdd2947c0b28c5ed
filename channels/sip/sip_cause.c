/* SIP status <-> Q.850 cause mapping (RFC 3398 in spirit, reduced to the
 * cases the engine and the dialplan use). Pure functions, any thread. */
#include "sip_internal.h"

int sip_status_to_cause(int status) {
    switch (status) {
    case 486: case 600: return TANDEM_CAUSE_USER_BUSY;
    case 404: case 604: return TANDEM_CAUSE_UNALLOCATED;
    case 480: return TANDEM_CAUSE_NO_USER_RESPONSE;
    case 408: return TANDEM_CAUSE_NO_ANSWER;
    case 487: return TANDEM_CAUSE_NORMAL_CLEARING; /* we cancelled it */
    case 603: case 403: return TANDEM_CAUSE_CALL_REJECTED;
    case 484: return TANDEM_CAUSE_INVALID_NUMBER_FORMAT;
    case 488: case 606: return TANDEM_CAUSE_INCOMPATIBLE_DESTINATION;
    case 500: case 503: return TANDEM_CAUSE_CONGESTION;
    case 502: case 504: return TANDEM_CAUSE_RECOVERY_ON_TIMER_EXPIRE;
    default: break;
    }
    if (status >= 500) return TANDEM_CAUSE_TEMPORARY_FAILURE;
    return TANDEM_CAUSE_NORMAL_UNSPECIFIED;
}

int sip_cause_to_status(int cause) {
    switch (cause) {
    case TANDEM_CAUSE_USER_BUSY: return 486;
    case TANDEM_CAUSE_NO_USER_RESPONSE: case TANDEM_CAUSE_NO_ANSWER: return 480;
    case TANDEM_CAUSE_UNALLOCATED: return 404;
    case TANDEM_CAUSE_CALL_REJECTED: return 603;
    case TANDEM_CAUSE_CONGESTION: case TANDEM_CAUSE_TEMPORARY_FAILURE:
    case TANDEM_CAUSE_SWITCH_CONGESTION: return 503;
    default: return 480;
    }
}

const char *sip_phrase(int status) {
    switch (status) {
    case 404: return "Not Found";
    case 480: return "Temporarily Unavailable";
    case 486: return "Busy Here";
    case 488: return "Not Acceptable Here";
    case 503: return "Service Unavailable";
    case 603: return "Decline";
    default: return "Call Failed";
    }
}
