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
 * iteration that handled nothing of ours and began within SPIN_US of the
 * previous one is that spin; the thread then sleeps PAUSE_US. The cost is
 * latency only: a timer fires up to PAUSE_US late (SIP's timers are
 * hundreds of milliseconds), and a message or a worker's command waits up
 * to PAUSE_US in its socket or queue (and is then handled in a batch with
 * whatever else came).
 */
#include "sip_internal.h"

#include <sofia-sip/su_wait.h>

#include <time.h>

#define SPIN_US 50u   /* iterations closer than this, with no work, are a spin */
#define PAUSE_US 200u /* how long one pause lasts */

static uint64_t last_iteration_us;
static bool worked; /* since the last iteration began */

void sip_pace_worked(void) { worked = true; }

static void before_poll(su_prepoll_magic_t *magic, su_root_t *root) {
    (void)magic;
    (void)root;
    uint64_t now = sip_mono_us();
    if (!worked && now - last_iteration_us < SPIN_US) {
        struct timespec pause = {0, PAUSE_US * 1000};
        nanosleep(&pause, NULL);
        now = sip_mono_us();
    }
    worked = false;
    last_iteration_us = now;
}

int sip_pace_start(struct su_root_s *root) { return su_root_add_prepoll(root, before_poll, NULL); }

void sip_pace_stop(struct su_root_s *root) { su_root_remove_prepoll(root); }
