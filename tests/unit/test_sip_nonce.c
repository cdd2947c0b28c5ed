/* Digest nonces (channels/sip/sip_nonce.c): each challenge's nonce is new
 * and verifiable, a forged or altered one is not ours, and a nonce count
 * authenticates once: replays, counts that go back, a second use without
 * qop and a nonce whose memory slot was taken by a newer one are all
 * refused; secrets compare over their whole length. Exit status: the
 * number of failures. */
#include "c_check.h"
#include "sip_nonce.h"

#include <stdio.h>
#include <string.h>

static void issued_nonces_are_unique_and_ours(void) {
    char a[SIP_NONCE_LEN + 1], b[SIP_NONCE_LEN + 1];
    sip_nonce_make(a);
    sip_nonce_make(b);
    CHECK(strlen(a) == SIP_NONCE_LEN);
    CHECK(strcmp(a, b) != 0);
    CHECK(sip_nonce_check(a) == SIP_NONCE_FRESH);
    CHECK(sip_nonce_check(b) == SIP_NONCE_FRESH);
    b[10] = b[10] == '0' ? '1' : '0'; /* another serial under the same MAC */
    CHECK(sip_nonce_check(b) == SIP_NONCE_FOREIGN);
    CHECK(sip_nonce_check("deadbeef") == SIP_NONCE_FOREIGN);
    CHECK(sip_nonce_check("") == SIP_NONCE_FOREIGN);
}

static void counts_must_rise(void) {
    char n[SIP_NONCE_LEN + 1];
    sip_nonce_make(n);
    CHECK(sip_nonce_spend(n, "00000001"));
    CHECK(!sip_nonce_spend(n, "00000001")); /* the same request again */
    CHECK(sip_nonce_spend(n, "00000003"));  /* a count may skip */
    CHECK(!sip_nonce_spend(n, "00000002")); /* but not go back */
    CHECK(!sip_nonce_spend(n, "0000000x"));
    CHECK(!sip_nonce_spend(n, "00000000"));
    CHECK(!sip_nonce_spend(n, "4"));
    CHECK(!sip_nonce_spend(n, "-0000001")); /* strtoul would read 0xffffffff */
    CHECK(!sip_nonce_spend(n, " 0000009"));
}

static void without_qop_a_nonce_serves_once(void) {
    char n[SIP_NONCE_LEN + 1];
    sip_nonce_make(n);
    CHECK(sip_nonce_spend(n, NULL));
    CHECK(!sip_nonce_spend(n, NULL));
}

static void a_pushed_out_nonce_counts_as_spent(void) {
    char old[SIP_NONCE_LEN + 1], n[SIP_NONCE_LEN + 1];
    sip_nonce_make(old);
    CHECK(sip_nonce_spend(old, "00000001"));
    /* 4096 slots: the 4096th nonce after `old` lands in its slot */
    for (int i = 0; i < 4096; ++i) sip_nonce_make(n);
    CHECK(sip_nonce_spend(n, "00000001"));
    CHECK(!sip_nonce_spend(old, "00000002")); /* its count is forgotten: refuse, never guess */
    CHECK(sip_nonce_spend(n, "00000002"));
}

static void secrets_compare_whole(void) {
    CHECK(sip_equal_secret("0123456789abcdef", "0123456789abcdef", 16));
    CHECK(!sip_equal_secret("0123456789abcdef", "x123456789abcdef", 16));
    CHECK(!sip_equal_secret("0123456789abcdef", "0123456789abcdex", 16));
}

int main(void) {
    if (sip_nonce_init() != 0) {
        perror("sip_nonce_init");
        return 1;
    }
    issued_nonces_are_unique_and_ours();
    counts_must_rise();
    without_qop_a_nonce_serves_once();
    a_pushed_out_nonce_counts_as_spent();
    secrets_compare_whole();
    return failures;
}
