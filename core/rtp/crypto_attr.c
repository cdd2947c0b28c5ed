/* The SDES crypto attribute (RFC 4568 9.1): "TAG SUITE inline:KEY|...".
 * Only what we can honour is accepted: the two AES_CM_128 suites, one
 * inline key of exactly 30 bytes (key + salt), an optional lifetime, no
 * MKI and no session parameters (UNENCRYPTED_SRTP and friends would
 * change the protection we promise). */
#include <tandem/rtp.h>

#include <string.h>

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(char c) {
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Decode exactly `want` bytes from `in` (padding optional). 0 or -1. */
static int b64_decode(const char *in, size_t len, uint8_t *out, size_t want) {
    while (len > 0 && in[len - 1] == '=') len--;
    if ((len * 6) / 8 != want || len % 4 == 1) return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; ++i) {
        int v = b64_value(in[i]);
        if (v < 0) return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < want) out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n == want ? 0 : -1;
}

const char *tandem_srtp_suite_name(tandem_srtp_suite suite) {
    switch (suite) {
    case TANDEM_SRTP_AES_CM_128_HMAC_SHA1_80: return "AES_CM_128_HMAC_SHA1_80";
    case TANDEM_SRTP_AES_CM_128_HMAC_SHA1_32: return "AES_CM_128_HMAC_SHA1_32";
    default: return NULL;
    }
}

static bool word_is(const char *s, size_t len, const char *word) {
    return strlen(word) == len && strncmp(s, word, len) == 0;
}

int tandem_crypto_attr_parse(const char *value, size_t len, tandem_crypto_attr *out) {
    memset(out, 0, sizeof *out);
    if (!value) return -1;
    const char *p = value, *end = value + len;
    /* tag: 1-9 digits */
    unsigned tag = 0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 9) tag = tag * 10 + (unsigned)(*p++ - '0'), digits++;
    if (digits == 0 || p >= end || *p != ' ') return -1;
    while (p < end && *p == ' ') p++;
    const char *suite = p;
    while (p < end && *p != ' ') p++;
    size_t suite_len = (size_t)(p - suite);
    if (word_is(suite, suite_len, "AES_CM_128_HMAC_SHA1_80")) out->suite = TANDEM_SRTP_AES_CM_128_HMAC_SHA1_80;
    else if (word_is(suite, suite_len, "AES_CM_128_HMAC_SHA1_32")) out->suite = TANDEM_SRTP_AES_CM_128_HMAC_SHA1_32;
    else return -1;
    while (p < end && *p == ' ') p++;
    if ((size_t)(end - p) < 7 || strncmp(p, "inline:", 7) != 0) return -1;
    p += 7;
    const char *key = p;
    while (p < end && *p != '|' && *p != ';' && *p != ' ') p++;
    if (b64_decode(key, (size_t)(p - key), out->key_salt, TANDEM_SRTP_KEY_SALT) != 0) return -1;
    /* |lifetime is accepted and ignored (libsrtp re-keys at the maximum);
     * |MKI:length is refused: the packets would carry an MKI we do not
     * configure */
    while (p < end && *p == '|') {
        const char *f = ++p;
        while (p < end && *p != '|' && *p != ' ' && *p != ';') p++;
        if (p == f || memchr(f, ':', (size_t)(p - f))) return -1;
    }
    if (p < end && *p == ';') return -1; /* a second key: unsupported */
    while (p < end && *p == ' ') p++;
    if (p != end) return -1; /* session parameters */
    out->tag = tag;
    return 0;
}

int tandem_crypto_attr_write(char *out, size_t cap, const tandem_crypto_attr *attr) {
    const char *name = tandem_srtp_suite_name(attr->suite);
    if (!name) return -1;
    char key[41];
    size_t k = 0;
    for (size_t i = 0; i < TANDEM_SRTP_KEY_SALT; i += 3) {
        uint32_t v = (uint32_t)attr->key_salt[i] << 16 | (uint32_t)attr->key_salt[i + 1] << 8 |
                     attr->key_salt[i + 2];
        key[k++] = b64[(v >> 18) & 63];
        key[k++] = b64[(v >> 12) & 63];
        key[k++] = b64[(v >> 6) & 63];
        key[k++] = b64[v & 63];
    }
    key[k] = 0;
    size_t need = 0;
    char tag[16];
    unsigned t = attr->tag;
    int tl = 0;
    do tag[tl++] = (char)('0' + t % 10); while ((t /= 10) && tl < 10);
    need = (size_t)tl + 1 + strlen(name) + 8 + k;
    if (need + 1 > cap) return -1;
    size_t o = 0;
    while (tl > 0) out[o++] = tag[--tl];
    out[o++] = ' ';
    memcpy(out + o, name, strlen(name));
    o += strlen(name);
    memcpy(out + o, " inline:", 8);
    o += 8;
    memcpy(out + o, key, k);
    o += k;
    out[o] = 0;
    return (int)o;
}
