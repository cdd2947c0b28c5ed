/*
 * Digest nonces: issued, checked and spent (SIP thread only).
 *
 * A nonce carries the second it was issued, a serial that makes every
 * challenge's nonce unique, and a MAC over both under a per-process secret,
 * so no table is kept for nonces handed out. What is remembered is each
 * nonce's highest nonce count (`nc`) among the requests it authenticated:
 * a request that does not raise it (a captured request replayed) is refused
 * as stale, and so is the second use of a nonce without `qop` (it has no
 * count). The table is bounded; a nonce whose slot was taken by a later one
 * counts as spent, so eviction costs at most a fresh challenge, never a
 * replay.
 */
#ifndef TANDEM_SIP_NONCE_H
#define TANDEM_SIP_NONCE_H

#include <stdbool.h>
#include <stddef.h>

#define SIP_NONCE_LIFETIME 300 /* seconds a nonce is accepted */
#define SIP_NONCE_LEN (8 + 16 + 32)

enum sip_nonce_state { SIP_NONCE_FOREIGN = -1, SIP_NONCE_EXPIRED = 0, SIP_NONCE_FRESH = 1 };

int sip_nonce_init(void);                     /* load(): a new secret, an empty table; 0 or -1 (errno) */
void sip_nonce_make(char out[SIP_NONCE_LEN + 1]); /* a fresh, never-issued nonce */
enum sip_nonce_state sip_nonce_check(const char *nonce);
/* After a response that matched with a fresh nonce: true when `nc` (8 hex
 * digits, or NULL without qop) is above every count this nonce has
 * authenticated before, and records it; false for a replay. */
bool sip_nonce_spend(const char *nonce, const char *nc);

/* Whether the n bytes at a and b are equal, in a time that does not depend
 * on where they differ: a MAC or digest compared with strcmp would tell a
 * patient attacker, byte by byte, how much of a forgery was right. */
bool sip_equal_secret(const char *a, const char *b, size_t n);

#endif
