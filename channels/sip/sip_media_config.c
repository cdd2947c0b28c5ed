/* The media keys of the SIP module's configuration (see README.md). */
#include "sip_internal.h"

#include <string.h>

int sip_media_config(void) {
    const char *jb = sip_host->config_get(sip_self, "jitter_buffer");
    if (jb && *jb && strcmp(jb, "true") != 0 && strcmp(jb, "false") != 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: jitter_buffer must be true or false");
        return -1;
    }
    sip_cfg.jitter_buffer = !jb || !*jb || strcmp(jb, "true") == 0;
    sip_cfg.jb_min_ms = sip_cfg_int("jitter_buffer_min_ms", 40, 20, 400);
    sip_cfg.jb_max_ms = sip_cfg_int("jitter_buffer_max_ms", 200, 20, 600);
    sip_cfg.rtcp_interval_ms = sip_cfg_int("rtcp_interval_ms", 5000, 500, 60000);
    if (sip_cfg.jb_min_ms < 0 || sip_cfg.jb_max_ms < 0 || sip_cfg.jb_max_ms < sip_cfg.jb_min_ms ||
        sip_cfg.rtcp_interval_ms < 0) {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL,
                      "sip: jitter_buffer_min_ms (20-400) <= jitter_buffer_max_ms (20-600) and "
                      "rtcp_interval_ms (500-60000) are required");
        return -1;
    }
    const char *srtp = sip_host->config_get(sip_self, "srtp");
    if (!srtp || !*srtp || strcmp(srtp, "optional") == 0) sip_cfg.srtp = SIP_SRTP_OPTIONAL;
    else if (strcmp(srtp, "mandatory") == 0) sip_cfg.srtp = SIP_SRTP_MANDATORY;
    else if (strcmp(srtp, "off") == 0) sip_cfg.srtp = SIP_SRTP_OFF;
    else {
        sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: srtp must be \"off\", \"optional\" or \"mandatory\"");
        return -1;
    }
    return 0;
}
