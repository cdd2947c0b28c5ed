/*
 * NAT-aware contacts (SIP thread, in the registrar). A phone behind NAT
 * registers a Contact with its private address; the REGISTER itself came
 * from the NAT's public address and port (what RFC 3581 calls received and
 * rport). Requests to that contact then go to where the REGISTER came from:
 * the Contact with its host, port and transport replaced by the packet's
 * source, when
 *   - it came over TCP or TLS from another address or port than the Contact
 *     says: that source is the connection the phone registered on, and
 *     sofia's transport layer reuses an open connection to the same peer, so
 *     calls ride the phone's own flow; or
 *   - the Contact's host is a private address (RFC 1918, 100.64/10,
 *     link-local, fc00::/7) and the packet came from another address.
 * A UDP Contact with a public address is used as sent, even from another
 * port: a host may register a contact for another process on it. (This is
 * Asterisk's rewrite_contact, limited to where NAT is evident; the Contact
 * the phone sent is still what the 200 lists.)
 */
#include "sip_trunk.h"

#include <sofia-sip/msg_addr.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/url.h>

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool rewrite = true; /* module `nat_rewrite` */
static struct sip_acl private_nets;

int sip_nat_configure(void) {
    const char *v = sip_host->config_get(sip_self, "nat_rewrite");
    rewrite = !v || strcmp(v, "false") != 0;
    sip_acl_free(&private_nets);
    return sip_acl_add(&private_nets, "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,169.254.0.0/16,"
                                      "fc00::/7,fe80::/10");
}

void sip_nat_free(void) {
    sip_acl_free(&private_nets);
}

/* "udp", "tcp" or "tls" from the top Via ("SIP/2.0/TCP"). */
static const char *via_transport(sip_t const *sip) {
    const char *proto = sip && sip->sip_via ? sip->sip_via->v_protocol : NULL;
    const char *slash = proto ? strrchr(proto, '/') : NULL;
    if (slash && strcasecmp(slash + 1, "TCP") == 0) return "tcp";
    if (slash && strcasecmp(slash + 1, "TLS") == 0) return "tls";
    return "udp";
}

int sip_nat_target(nua_t *nua, sip_t const *sip, const url_t *contact, char *out, size_t cap) {
    out[0] = '\0';
    if (!rewrite) return 0;
    msg_t *msg = nua_current_request(nua);
    su_addrinfo_t *ai = msg ? msg_addrinfo(msg) : NULL;
    char ip[64], port[16];
    if (!ai || !ai->ai_addr ||
        getnameinfo(ai->ai_addr, (socklen_t)ai->ai_addrlen, ip, sizeof ip, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        return 0;
    const char *tp = via_transport(sip);
    char cparam[16] = "udp";
    if (contact->url_params) url_param(contact->url_params, "transport", cparam, sizeof cparam);
    const char *cport = contact->url_port ? contact->url_port : (strcmp(tp, "tls") == 0 ? "5061" : "5060");
    char host[80];
    snprintf(host, sizeof host, strchr(ip, ':') ? "[%s]" : "%s", ip);
    const char *chost = contact->url_host ? contact->url_host : "";
    bool same_host = strcasecmp(chost, host) == 0;
    bool flow = strcmp(tp, "udp") != 0 &&
                (!same_host || strcmp(cport, port) != 0 || strcasecmp(cparam, tp) != 0);
    if (!flow && !(sip_acl_matches_text(&private_nets, chost) && !same_host)) return 0;

    su_home_t home[1] = {SU_HOME_INIT(home)};
    url_t *u = url_hdup(home, contact);
    int rc = 0;
    if (u) {
        u->url_host = host;
        u->url_port = port;
        if (u->url_params) u->url_params = url_strip_param_string(su_strdup(home, u->url_params), "transport");
        if (u->url_params && !*u->url_params) u->url_params = NULL;
        char *s = url_as_string(home, u);
        int len = s ? snprintf(out, cap, "%s%s%s", s, strcmp(tp, "udp") ? ";transport=" : "",
                               strcmp(tp, "udp") ? tp : "")
                    : -1;
        if (len < 0 || (size_t)len >= cap) {
            out[0] = '\0';
            rc = -1;
        } else {
            rc = 1;
        }
    }
    su_home_deinit(home);
    return rc;
}
