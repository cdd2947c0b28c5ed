/* Digest nonces: see sip_nonce.h. */
#include "sip_nonce.h"

#include <sofia-sip/su_md5.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define SPENT_SLOTS 4096 /* nonces in use at once before one is retired early */

struct spent {
    uint64_t serial;      /* the nonce in this slot (0: none yet) */
    uint64_t retired_max; /* highest serial this slot gave up: those count as spent */
    uint32_t nc;          /* its highest count so far */
};

static unsigned char secret[16];
static uint64_t next_serial;
static struct spent spent[SPENT_SLOTS];

static long now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec;
}

int sip_nonce_init(void) {
    if (getrandom(secret, sizeof secret, 0) != (ssize_t)sizeof secret) return -1;
    memset(spent, 0, sizeof spent);
    next_serial = 1;
    return 0;
}

/* "TTTTTTTTSSSSSSSSSSSSSSSS" (issue second, serial; hex) then its MAC */
static void mac_hex(char out[33], const char *stamp) {
    su_md5_t ctx;
    su_md5_init(&ctx);
    su_md5_strupdate(&ctx, stamp);
    su_md5_update(&ctx, secret, sizeof secret);
    su_md5_hexdigest(&ctx, out);
    su_md5_deinit(&ctx);
}

void sip_nonce_make(char out[SIP_NONCE_LEN + 1]) {
    snprintf(out, 8 + 16 + 1, "%08lx%016llx", (unsigned long)now_s() & 0xffffffffUL,
             (unsigned long long)next_serial++);
    mac_hex(out + 8 + 16, out);
}

/* The serial of a nonce that sip_nonce_check() found ours. */
static uint64_t serial_of(const char *nonce) {
    char hex[17];
    memcpy(hex, nonce + 8, 16);
    hex[16] = '\0';
    return strtoull(hex, NULL, 16);
}

enum sip_nonce_state sip_nonce_check(const char *nonce) {
    if (strlen(nonce) != SIP_NONCE_LEN) return SIP_NONCE_FOREIGN;
    for (int i = 0; i < 8 + 16; ++i)
        if (!((nonce[i] >= '0' && nonce[i] <= '9') || (nonce[i] >= 'a' && nonce[i] <= 'f'))) return SIP_NONCE_FOREIGN;
    char stamp[8 + 16 + 1], mac[33];
    memcpy(stamp, nonce, 8 + 16);
    stamp[8 + 16] = '\0';
    mac_hex(mac, stamp);
    if (!sip_equal_secret(mac, nonce + 8 + 16, 32)) return SIP_NONCE_FOREIGN;
    stamp[8] = '\0';
    long issued = (long)strtoul(stamp, NULL, 16);
    long now = now_s();
    return now >= issued && now - issued <= SIP_NONCE_LIFETIME ? SIP_NONCE_FRESH : SIP_NONCE_EXPIRED;
}

bool sip_equal_secret(const char *a, const char *b, size_t n) {
    unsigned char diff = 0;
    for (size_t i = 0; i < n; ++i) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool sip_nonce_spend(const char *nonce, const char *nc) {
    uint64_t serial = serial_of(nonce);
    uint32_t count = 1;
    if (nc) { /* exactly 8 hex digits: strtoul alone would take signs and spaces */
        if (strlen(nc) != 8 || strspn(nc, "0123456789abcdefABCDEF") != 8) return false;
        count = (uint32_t)strtoul(nc, NULL, 16);
        if (count == 0) return false;
    }
    struct spent *s = &spent[serial % SPENT_SLOTS];
    if (s->serial == serial) {
        if (count <= s->nc) return false;
        s->nc = count;
        return true;
    }
    if (serial <= s->retired_max || serial < s->serial) return false; /* may have been used: take no chance */
    if (s->serial > s->retired_max) s->retired_max = s->serial;
    s->serial = serial;
    s->nc = count;
    return true;
}
