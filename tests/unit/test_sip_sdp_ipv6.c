/* The SIP channel's SDP in both address families (channels/sip/sip_sdp.c,
 * sip_addr.c): what an IPv6 peer says is read as IPv6, what we say names
 * our family, and an address of the wrong type is not taken; and a=ptime /
 * a=maxptime both ways. C, because the
 * channel's internal header is C11. Exit status: the number of failures. */
#include "c_check.h"
#include "sip_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int parse(const char *sdp, struct sip_media *m) { return sip_sdp_parse(sdp, strlen(sdp), m); }

static bool is_addr6(const union sip_addr *a, const char *text, uint16_t port) {
    struct in6_addr want;
    return a->sa.sa_family == AF_INET6 && inet_pton(AF_INET6, text, &want) == 1 &&
           memcmp(&a->v6.sin6_addr, &want, sizeof want) == 0 && sip_addr_port(a) == port &&
           sip_addr_len(a) == sizeof a->v6;
}

static void ipv6_offer(void) {
    struct sip_media m;
    CHECK(parse("v=0\r\no=- 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\n"
                "m=audio 49170 RTP/AVP 8 0\r\n", &m) == 0);
    CHECK(m.valid && m.pt == 8);
    CHECK(is_addr6(&m.remote, "2001:db8::1", 49170));
    CHECK(is_addr6(&m.rtcp, "2001:db8::1", 49171)); /* port + 1 */
}

static void ipv6_rtcp_attribute(void) {
    struct sip_media m;
    CHECK(parse("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
                "a=rtcp:4011 IN IP6 2001:db8::2\r\n", &m) == 0);
    CHECK(is_addr6(&m.rtcp, "2001:db8::2", 4011));
    /* an IPv4 RTCP address for an IPv6 stream: our socket cannot send there */
    CHECK(parse("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
                "a=rtcp:4011 IN IP4 10.0.0.1\r\n", &m) == 0);
    CHECK(is_addr6(&m.rtcp, "::1", 4011));
}

static void wrong_addrtype(void) {
    struct sip_media m;
    CHECK(parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
                &m) != 0);
    CHECK(parse("v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
                &m) != 0);
}

static void ipv4_unchanged(void) {
    struct sip_media m;
    CHECK(parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                "m=audio 4000 RTP/AVP 0\r\n", &m) == 0);
    CHECK(m.remote.sa.sa_family == AF_INET && sip_addr_port(&m.remote) == 4000 &&
          sip_addr_len(&m.remote) == sizeof m.remote.v4);
    char buf[1024];
    CHECK(sip_sdp_build(buf, sizeof buf, "192.0.2.1", 10000, 0, -1, 5) > 0);
    CHECK(strstr(buf, "o=tandem 5 5 IN IP4 192.0.2.1\r\n") && strstr(buf, "c=IN IP4 192.0.2.1\r\n"));
}

static void ipv6_build(void) {
    char buf[1024];
    CHECK(sip_sdp_build(buf, sizeof buf, "2001:db8::10", 10000, -1, -1, 7) > 0);
    CHECK(strstr(buf, "o=tandem 7 7 IN IP6 2001:db8::10\r\n") && strstr(buf, "c=IN IP6 2001:db8::10\r\n"));
    CHECK(!strstr(buf, "IP4"));
    struct sip_media m; /* and we read back what we wrote */
    CHECK(sip_sdp_parse(buf, strlen(buf), &m) == 0 && is_addr6(&m.remote, "2001:db8::10", 10000));
}

static void addr_helpers(void) {
    union sip_addr a, b;
    CHECK(sip_addr_parse("::1", 5, &a) == 0 && sip_addr_parse("::1", 5, &b) == 0 && sip_addr_same(&a, &b));
    sip_addr_set_port(&b, 6);
    CHECK(!sip_addr_same(&a, &b));
    CHECK(sip_addr_parse("127.0.0.1", 5, &b) == 0 && !sip_addr_same(&a, &b));
    CHECK(sip_addr_parse("example.org", 5, &a) != 0);
}

static void ptime_attributes(void) {
    struct sip_media m;
    CHECK(parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                "m=audio 4000 RTP/AVP 0\r\na=ptime:30\r\na=maxptime:40\r\n", &m) == 0);
    CHECK(m.ptime == 30 && m.maxptime == 40);
    CHECK(parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                "m=audio 4000 RTP/AVP 0\r\na=ptime:20.5\r\na=maxptime:x\r\n", &m) == 0);
    CHECK(m.ptime == 20 && m.maxptime == 0); /* a fraction rounded down, junk ignored */
    CHECK(parse("v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                "m=audio 4000 RTP/AVP 0\r\n", &m) == 0);
    CHECK(m.ptime == 0 && m.maxptime == 0);
    char buf[2048];
    struct sip_sdp_local l = {"192.0.2.1", 10000, 0, -1, 5, true, 30, false, NULL, NULL};
    CHECK(sip_sdp_build_local(buf, sizeof buf, &l) > 0 && strstr(buf, "\r\na=ptime:30\r\n"));
    CHECK(strstr(buf, "\r\na=rtcp-mux\r\n"));
    CHECK(sip_sdp_build(buf, sizeof buf, "192.0.2.1", 10000, 0, -1, 5) > 0 && strstr(buf, "\r\na=ptime:20\r\n"));
}

int main(void) {
    ipv6_offer();
    ipv6_rtcp_attribute();
    wrong_addrtype();
    ipv4_unchanged();
    ipv6_build();
    addr_helpers();
    ptime_attributes();
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else printf("sip sdp ipv6: all checks passed\n");
    return failures;
}
