/* IPv4 or IPv6 media addresses (union sip_addr): the few operations the
 * SDP parser and the RTP path need, so that neither has a family switch of
 * its own. Pure functions, any thread. */
#include "sip_internal.h"

#include <arpa/inet.h>
#include <string.h>

socklen_t sip_addr_len(const union sip_addr *a) {
    return a->sa.sa_family == AF_INET ? sizeof a->v4 : a->sa.sa_family == AF_INET6 ? sizeof a->v6 : 0;
}

uint16_t sip_addr_port(const union sip_addr *a) {
    return ntohs(a->sa.sa_family == AF_INET6 ? a->v6.sin6_port : a->v4.sin_port);
}

void sip_addr_set_port(union sip_addr *a, uint16_t port) {
    if (a->sa.sa_family == AF_INET6) a->v6.sin6_port = htons(port);
    else a->v4.sin_port = htons(port);
}

bool sip_addr_same(const union sip_addr *a, const union sip_addr *b) {
    if (a->sa.sa_family != b->sa.sa_family) return false;
    if (a->sa.sa_family == AF_INET6)
        return a->v6.sin6_port == b->v6.sin6_port &&
               memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof a->v6.sin6_addr) == 0;
    return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
}

int sip_addr_parse(const char *ip, uint16_t port, union sip_addr *out) {
    memset(out, 0, sizeof *out);
    if (ip && inet_pton(AF_INET, ip, &out->v4.sin_addr) == 1) {
        out->v4.sin_family = AF_INET;
        out->v4.sin_port = htons(port);
        return 0;
    }
    if (ip && inet_pton(AF_INET6, ip, &out->v6.sin6_addr) == 1) {
        out->v6.sin6_family = AF_INET6;
        out->v6.sin6_port = htons(port);
        return 0;
    }
    return -1;
}

bool sip_ip_is_v6(const char *ip) { return ip && strchr(ip, ':') != NULL; }
