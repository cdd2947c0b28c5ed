/*
 * SRTP with SDES key exchange (RFC 3711, RFC 4568) on libsrtp2: the policy
 * (`srtp` = off | optional | mandatory), our key, and one libsrtp session
 * per direction for each call. Worker only, like the rest of the media: a
 * call's contexts are touched by its worker alone.
 */
#include "sip_internal.h"

#include <srtp2/srtp.h>

#include <dlfcn.h>
#include <pthread.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct sip_srtp {
    srtp_t tx, rx;
    tandem_srtp_suite suite;    /* the one in use; NONE until both keys are known */
    unsigned tag;               /* the crypto tag agreed */
    uint8_t remote_key[TANDEM_SRTP_KEY_SALT];
};

/* libsrtp is initialised on the first SRTP call (from whichever worker),
 * not in load(): a load that fails later would have no unload to give its
 * memory back. */
static pthread_mutex_t srtp_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool srtp_ready;

static bool ensure_srtp(void) {
    if (atomic_load(&srtp_ready)) return true;
    pthread_mutex_lock(&srtp_lock);
    if (!atomic_load(&srtp_ready)) {
        /* Keep libsrtp2 (and the libcrypto it uses) mapped once used, like
         * sofia-sip: libcrypto's global state cannot be released, and
         * unmapped with this module it would be reported as leaked. */
        dlopen("libsrtp2.so.1", RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
        if (srtp_init() == srtp_err_status_ok) atomic_store(&srtp_ready, true);
        else sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: libsrtp2 failed to initialise");
    }
    pthread_mutex_unlock(&srtp_lock);
    return atomic_load(&srtp_ready);
}

void sip_srtp_unload(void) {
    /* libsrtp's crypto kernel lives in the library, which goes away with
     * this module: give its memory back */
    if (atomic_load(&srtp_ready)) srtp_shutdown();
    atomic_store(&srtp_ready, false);
}

bool sip_srtp_acceptable(const struct sip_media *m) {
    if (!m->valid) return false;
    if (m->savp && m->crypto.suite == TANDEM_SRTP_NONE) return false; /* SAVP without a key we can use */
    if (m->crypto.suite != TANDEM_SRTP_NONE && sip_cfg.srtp == SIP_SRTP_OFF) return !m->savp;
    if (sip_cfg.srtp == SIP_SRTP_MANDATORY) return m->crypto.suite != TANDEM_SRTP_NONE;
    return true;
}

int sip_srtp_local_key(struct sip_rtp *rtp) {
    if (rtp->have_local_key) return 0;
    if (getrandom(rtp->local_key, sizeof rtp->local_key, 0) != (ssize_t)sizeof rtp->local_key) return -1;
    rtp->have_local_key = true;
    return 0;
}

static int make_session(srtp_t *out, tandem_srtp_suite suite, const uint8_t *key, bool outbound) {
    srtp_policy_t p;
    memset(&p, 0, sizeof p);
    if (suite == TANDEM_SRTP_AES_CM_128_HMAC_SHA1_32)
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p.rtp);
    else
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
    /* RFC 4568 6.2.1: SRTCP keeps the 80-bit tag with either suite */
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtcp);
    p.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    p.key = (unsigned char *)key;
    p.window_size = 128;
    p.allow_repeat_tx = 0;
    return srtp_create(out, &p) == srtp_err_status_ok ? 0 : -1;
}

void sip_srtp_stop(struct sip_rtp *rtp) {
    struct sip_srtp *s = rtp->srtp;
    if (!s) return;
    if (s->tx) srtp_dealloc(s->tx);
    if (s->rx) srtp_dealloc(s->rx);
    free(s);
    rtp->srtp = NULL;
}

int sip_srtp_start(struct sip_rtp *rtp, const struct sip_media *m) {
    if (m->crypto.suite == TANDEM_SRTP_NONE || !ensure_srtp()) {
        sip_srtp_stop(rtp);
        return 0;
    }
    struct sip_srtp *s = rtp->srtp;
    if (s && s->suite == m->crypto.suite && memcmp(s->remote_key, m->crypto.key_salt, sizeof s->remote_key) == 0)
        return 0; /* the same keys again (a re-INVITE): keep the replay state */
    if (sip_srtp_local_key(rtp) != 0) return -1;
    sip_srtp_stop(rtp);
    s = calloc(1, sizeof *s);
    if (!s) return -1;
    s->suite = m->crypto.suite;
    s->tag = m->crypto.tag;
    memcpy(s->remote_key, m->crypto.key_salt, sizeof s->remote_key);
    if (make_session(&s->tx, s->suite, rtp->local_key, true) != 0 ||
        make_session(&s->rx, s->suite, s->remote_key, false) != 0) {
        rtp->srtp = s;
        sip_srtp_stop(rtp);
        return -1;
    }
    rtp->srtp = s;
    return 0;
}

bool sip_srtp_active(const struct sip_rtp *rtp) { return rtp->srtp != NULL; }

int sip_srtp_protect(struct sip_rtp *rtp, uint8_t *pkt, size_t *len, size_t cap, bool rtcp) {
    struct sip_srtp *s = rtp->srtp;
    if (!s) return 0;
    if (cap < *len + SRTP_MAX_TRAILER_LEN + 4) return -1; /* SRTCP adds E+index */
    int n = (int)*len;
    srtp_err_status_t rc = rtcp ? srtp_protect_rtcp(s->tx, pkt, &n) : srtp_protect(s->tx, pkt, &n);
    if (rc != srtp_err_status_ok) return -1;
    *len = (size_t)n;
    return 0;
}

int sip_srtp_unprotect(struct sip_rtp *rtp, uint8_t *pkt, size_t *len, bool rtcp) {
    struct sip_srtp *s = rtp->srtp;
    if (!s) return 0;
    int n = (int)*len;
    srtp_err_status_t rc = rtcp ? srtp_unprotect_rtcp(s->rx, pkt, &n) : srtp_unprotect(s->rx, pkt, &n);
    if (rc != srtp_err_status_ok) return -1; /* forged, replayed or not SRTP: dropped */
    *len = (size_t)n;
    return 0;
}

int sip_srtp_sdp_lines(const struct sip_rtp *rtp, bool offer, char *out, size_t cap) {
    tandem_crypto_attr a;
    memset(&a, 0, sizeof a);
    memcpy(a.key_salt, rtp->local_key, sizeof a.key_salt);
    size_t used = 0;
    out[0] = 0;
    /* an offer lists both suites (the 80-bit tag first); an answer the one agreed */
    for (int i = 0; i < (offer ? 2 : 1); ++i) {
        a.tag = offer ? (unsigned)i + 1 : rtp->srtp->tag;
        a.suite = offer ? (i == 0 ? TANDEM_SRTP_AES_CM_128_HMAC_SHA1_80 : TANDEM_SRTP_AES_CM_128_HMAC_SHA1_32)
                        : rtp->srtp->suite;
        char line[128];
        if (tandem_crypto_attr_write(line, sizeof line, &a) < 0) return -1;
        int n = snprintf(out + used, cap - used, "a=crypto:%s\r\n", line);
        if (n < 0 || (size_t)n >= cap - used) return -1;
        used += (size_t)n;
    }
    return (int)used;
}
