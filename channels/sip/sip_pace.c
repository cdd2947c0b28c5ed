/*
 * Pacing the SIP thread's loop: no busy-waiting for sofia-sip's timers.
 *
 * sofia-sip keeps its timers in whole milliseconds: with one due in less
 * than a millisecond, su_root_run() computes a zero timeout and polls
 * again and again until it is due. At a few hundred calls per second
 * there nearly always is such a timer (transaction timers of recent
 * calls), and the SIP thread made some 25 empty epoll_wait() calls per
 * SIP message: a sixth of its time.
 *
 * The su_root's prepoll hook runs at the start of every iteration. An
 * iteration that handled nothing of ours and began within SPIN_NS of the
 * previous one is that spin; the thread then sleeps PAUSE_NS. The cost is
 * latency only: a timer fires up to PAUSE_NS late (SIP's timers are
 * hundreds of milliseconds), and a message or a worker's command waits up
 * to PAUSE_NS in its socket or queue (and is then handled in a batch with
 * whatever else came).
 */
#include "sip_internal.h"

#include <sofia-sip/su_wait.h>

#include <time.h>

#define SPIN_NS 50000u   /* iterations closer than this, with no work, are a spin */
#define PAUSE_NS 200000u /* how long one pause lasts */

static uint64_t last_iteration_ns;
static bool worked; /* since the last iteration began */

static uint64_t mono_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void sip_pace_worked(void) { worked = true; }

static void before_poll(su_prepoll_magic_t *magic, su_root_t *root) {
    (void)magic;
    (void)root;
    uint64_t now = mono_ns();
    if (!worked && now - last_iteration_ns < SPIN_NS) {
        struct timespec pause = {0, PAUSE_NS};
        nanosleep(&pause, NULL);
        now = mono_ns();
    }
    worked = false;
    last_iteration_ns = now;
}

int sip_pace_start(struct su_root_s *root) { return su_root_add_prepoll(root, before_poll, NULL); }

void sip_pace_stop(struct su_root_s *root) { su_root_remove_prepoll(root); }
