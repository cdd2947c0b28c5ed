/*
 * Bound RTP/RTCP socket pairs kept after their call for a later one.
 *
 * Opening a pair is two socket() and bind() calls and closing it two
 * close() calls: at high call rates a quarter of a worker's time per call,
 * most of it the kernel building and tearing down sockets. A pair whose
 * call ended rests in this pool for `rtp_socket_reuse_ms` before another
 * call may take it; what reached it meanwhile is read and discarded when it
 * is taken, and it remembers the far end's last address and SSRC so that
 * the new call drops late packets of the old stream (sip_rtp.c) instead of
 * latching to them.
 *
 * Any worker thread; the pool is shared under a mutex.
 */
#ifndef TANDEM_SIP_RTP_POOL_H
#define TANDEM_SIP_RTP_POOL_H

#include "sip_internal.h"

struct sip_rtp_pair {
    int fd, rtcp_fd;        /* rtcp_fd -1: closed by rtcp-mux, the caller binds port + 1 again */
    int port;
    bool have_last;         /* the old stream: packets from `last` with `last_ssrc` are stale */
    union sip_addr last;
    uint32_t last_ssrc;
    uint64_t rested_ms;     /* (take) how long the pair rested */
};

/* load(): reuse after `reuse_ms` (0: no pool, every pair is closed), at
 * most `max_pairs` kept. */
void sip_rtp_pool_configure(int reuse_ms, int max_pairs);

/* A pair bound to `ip` with its port in [lo, hi] that has rested long
 * enough (or, with `any_age`, the oldest one: the port range is used up),
 * its sockets drained; false when there is none. */
bool sip_rtp_pool_take(const char *ip, int lo, int hi, bool any_age, struct sip_rtp_pair *out);

/* Keeps `pair`, bound to `ip`; false when the pool is off or full (the
 * caller closes the sockets). */
bool sip_rtp_pool_put(const char *ip, const struct sip_rtp_pair *pair);

/* unload(): closes every kept socket. */
void sip_rtp_pool_clear(void);

#endif
