#include "sip_rtp_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct parked {
    struct parked *newer;
    struct sip_rtp_pair pair;
    uint64_t since_ms;
    char ip[64];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct parked *oldest, *newest, *spare; /* spare: unused nodes */
static struct parked *nodes;
static int reuse_ms, capacity;

static void close_pair(const struct sip_rtp_pair *p) {
    close(p->fd);
    if (p->rtcp_fd >= 0) close(p->rtcp_fd);
}

/* What arrived while the pair rested belongs to the old call; so does an
 * ICMP error queued on the socket, which one recv() reports and clears.
 * Bounded: a flood keeps arriving, and the stale-stream check in sip_rtp.c
 * catches what is left. */
static void drain(int fd) {
    uint8_t buf[64];
    for (int i = 0; i < 512; ++i)
        if (recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
}

void sip_rtp_pool_clear(void) {
    pthread_mutex_lock(&lock);
    for (struct parked *p = oldest; p; p = p->newer) close_pair(&p->pair);
    oldest = newest = spare = NULL;
    free(nodes);
    nodes = NULL;
    capacity = 0;
    pthread_mutex_unlock(&lock);
}

void sip_rtp_pool_configure(int reuse, int max_pairs) {
    sip_rtp_pool_clear();
    /* A kept pair holds two descriptors and two ports: the pool never
     * takes more than a quarter of either from the calls. */
    struct rlimit nofile;
    long by_fds = getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur != RLIM_INFINITY
                      ? (long)(nofile.rlim_cur / 8)
                      : max_pairs;
    long by_ports = (sip_cfg.rtp_port_max - sip_cfg.rtp_port_min + 1) / 8;
    long cap = reuse > 0 ? max_pairs : 0;
    if (cap > by_fds) cap = by_fds;
    if (cap > by_ports) cap = by_ports;
    pthread_mutex_lock(&lock);
    reuse_ms = reuse;
    nodes = cap > 0 ? calloc((size_t)cap, sizeof *nodes) : NULL;
    capacity = nodes ? (int)cap : 0;
    for (int i = 0; i < capacity; ++i) {
        nodes[i].newer = spare;
        spare = &nodes[i];
    }
    pthread_mutex_unlock(&lock);
}

bool sip_rtp_pool_put(const char *ip, const struct sip_rtp_pair *pair) {
    if (strlen(ip) >= sizeof oldest->ip) return false;
    pthread_mutex_lock(&lock);
    struct parked *p = spare;
    if (p) {
        spare = p->newer;
        p->newer = NULL;
        p->pair = *pair;
        p->since_ms = sip_mono_us() / 1000u;
        snprintf(p->ip, sizeof p->ip, "%s", ip);
        if (newest) newest->newer = p; else oldest = p;
        newest = p;
    }
    pthread_mutex_unlock(&lock);
    return p != NULL;
}

/* Under the lock: unlinks `p` (after `before`, NULL when it is the oldest). */
static void unlink_locked(struct parked *before, struct parked *p) {
    if (before) before->newer = p->newer; else oldest = p->newer;
    if (newest == p) newest = before;
    p->newer = spare;
    spare = p;
}

bool sip_rtp_pool_take(const char *ip, int lo, int hi, bool any_age, struct sip_rtp_pair *out) {
    bool found = false;
    uint64_t now = sip_mono_us() / 1000u;
    pthread_mutex_lock(&lock);
    /* Oldest first; the few pairs of another address (a profile's own
     * media IP) or outside a reloaded range are stepped over. */
    struct parked *before = NULL, *p = oldest;
    for (int looked = 0; p && looked < 16 && !found; ++looked) {
        if (!any_age && now - p->since_ms < (uint64_t)reuse_ms) break; /* the rest are younger */
        struct parked *next = p->newer;
        if (p->pair.port < lo || p->pair.port > hi) {
            close_pair(&p->pair);
            unlink_locked(before, p);
        } else if (strcmp(p->ip, ip) == 0) {
            *out = p->pair;
            out->rested_ms = now - p->since_ms;
            unlink_locked(before, p);
            found = true;
        } else {
            before = p;
        }
        p = next;
    }
    pthread_mutex_unlock(&lock);
    if (found) {
        drain(out->fd);
        if (out->rtcp_fd >= 0) drain(out->rtcp_fd);
    }
    return found;
}
