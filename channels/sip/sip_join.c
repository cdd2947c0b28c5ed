/*
 * Attended transfer by REFER (Refer-To with Replaces): the transferor A has
 * two calls with us, X (A's leg bridged with B) and Y (A's leg bridged with
 * C), and asks us to connect B with C. X and Y are two engine calls, each
 * bound to its worker for life, and possibly on two workers; a bridge only
 * joins legs of one worker. So instead of moving a leg, each of A's legs is
 * replaced (host->leg_new_replacing, on its own worker) by one half of a
 * join: a pair of "sipjoin" legs that hand each other what their bridges
 * write to them, as frames posted to the other half's worker. B hears C
 * through X's bridge, the pair and Y's bridge; both calls go on, each with
 * its own script and record, until one side hangs up, which hangs up the
 * other half.
 *
 * Order: Y's half first (on Y's worker), then X's (on X's worker, where the
 * REFER's dialog lives), then the final NOTIFY on X's dialog, then A's legs
 * get BYE. A half whose partner is not there yet drops what it is given.
 */
#include "sip_internal.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sip_join {
    atomic_int refs;
    _Atomic(tandem_leg *) half[2]; /* referenced; [0] in X (the REFER's call), [1] in Y */
    atomic_bool ended;
    char format[32];                 /* both halves read and write it: no translation between them */
};

struct join_half {
    struct sip_join *join;
    int side;
};

struct join_start {
    struct sip_call *referrer; /* X's dialog with A: the REFER came on it (referenced) */
    struct sip_call *replaced; /* Y's dialog with A, named by Replaces (referenced) */
    struct sip_join *join;     /* one reference */
};

struct join_frame {
    tandem_frame frame;
    struct sip_join *join; /* one reference */
    unsigned char data[];  /* the payload */
};

static void join_unref(struct sip_join *j) {
    if (atomic_fetch_sub(&j->refs, 1) != 1) return;
    for (int i = 0; i < 2; ++i) {
        tandem_leg *leg = atomic_load(&j->half[i]);
        if (leg) sip_host->leg_unref(leg);
    }
    free(j);
}

static void start_free(struct join_start *s) {
    sip_call_unref(s->referrer);
    sip_call_unref(s->replaced);
    join_unref(s->join);
    free(s);
}

/* On the receiving half's worker. */
static void deliver_frame(tandem_leg *leg, void *arg) {
    struct join_frame *f = arg;
    if (!atomic_load(&f->join->ended)) sip_host->leg_push_frame(leg, &f->frame);
    join_unref(f->join);
    free(f);
}

static void deliver_hangup(tandem_leg *leg, void *arg) {
    (void)arg;
    struct join_half *h = sip_host->leg_pvt(leg);
    if (!h) return;
    sip_host->leg_set_pvt(leg, NULL);
    sip_host->leg_hangup(leg, TANDEM_CAUSE_NORMAL_CLEARING);
    join_unref(h->join);
    free(h);
}

static int join_request(void *user, tandem_leg *leg, const char *dest) {
    (void)user; (void)leg; (void)dest;
    return TANDEM_CAUSE_INVALID_NUMBER_FORMAT; /* made by transfers only, never dialled */
}

static int join_answer(void *user, tandem_leg *leg) {
    (void)user; (void)leg;
    return TANDEM_OK; /* born answered */
}

/* The engine ends one half: end the other one on its worker. */
static void join_hangup(void *user, tandem_leg *leg, int cause) {
    (void)user; (void)cause;
    struct join_half *h = sip_host->leg_pvt(leg);
    if (!h) return;
    sip_host->leg_set_pvt(leg, NULL);
    struct sip_join *j = h->join;
    if (!atomic_exchange(&j->ended, true)) {
        tandem_leg *other = atomic_load(&j->half[1 - h->side]);
        if (other) sip_host->leg_post(other, deliver_hangup, NULL);
    }
    join_unref(j);
    free(h);
}

static int join_write_frame(void *user, tandem_leg *leg, const tandem_frame *frame) {
    (void)user;
    struct join_half *h = sip_host->leg_pvt(leg);
    if (!h || atomic_load(&h->join->ended)) return TANDEM_OK;
    tandem_leg *other = atomic_load(&h->join->half[1 - h->side]);
    if (!other) return TANDEM_OK; /* the other half is not made yet */
    struct join_frame *f = malloc(sizeof *f + frame->len);
    if (!f) return TANDEM_OK;
    f->frame = *frame;
    if (frame->kind == TANDEM_FRAME_AUDIO) f->frame.format = h->join->format;
    if (frame->len) memcpy(f->data, frame->data, frame->len);
    f->frame.data = f->data;
    f->join = h->join;
    atomic_fetch_add(&f->join->refs, 1);
    if (sip_host->leg_post(other, deliver_frame, f) != TANDEM_OK) {
        join_unref(f->join);
        free(f);
    }
    return TANDEM_OK;
}

const tandem_channel_driver sip_join_driver = {
    sizeof(tandem_channel_driver), "sipjoin",
    "the two halves of a SIP attended transfer (REFER with Replaces) between calls",
    NULL, join_request, join_answer, NULL, join_hangup, join_write_frame};

/* Worker: replace `sip_leg` by side `side` of the join; the new leg, or NULL. */
static tandem_leg *make_half(struct sip_join *j, int side, struct sip_call *c) {
    struct join_half *h = calloc(1, sizeof *h);
    if (!h || !c->leg) {
        free(h);
        return NULL;
    }
    h->join = j;
    h->side = side;
    atomic_fetch_add(&j->refs, 1);
    tandem_inbound in;
    memset(&in, 0, sizeof in);
    in.struct_size = sizeof in;
    in.format = j->format;
    in.pvt = h;
    tandem_leg *leg = sip_host->leg_new_replacing(sip_self, "sipjoin", c->leg, &in);
    if (!leg) {
        join_unref(j);
        free(h);
        return NULL;
    }
    atomic_store(&j->half[side], leg); /* the join keeps the reference */
    return leg;
}

/* `here`: the call whose worker this runs on (call ids are worker-only). */
static void fail_start(struct join_start *s, struct sip_call *here, int status, const char *why) {
    sip_host->log(sip_self, TANDEM_LOG_NOTICE, here->call_id, "sip: attended transfer refused: %s (%d)", why, status);
    sip_refer_result(s->referrer, status);
    start_free(s);
}

/* On X's worker: B's side, then the result. */
static void start_on_referrer(void *arg) {
    struct join_start *s = arg;
    if (atomic_load(&s->join->ended)) { /* C or Y ended meanwhile */
        fail_start(s, s->referrer, 487, "the other call ended meanwhile");
        return;
    }
    if (!make_half(s->join, 0, s->referrer)) {
        /* Y's half is made: end it, or C would wait for nobody. */
        if (!atomic_exchange(&s->join->ended, true)) {
            tandem_leg *other = atomic_load(&s->join->half[1]);
            if (other) sip_host->leg_post(other, deliver_hangup, NULL);
        }
        fail_start(s, s->referrer, 603, "the transferring call is not bridged");
        return;
    }
    sip_host->log(sip_self, TANDEM_LOG_INFO, s->referrer->call_id,
                  "sip: attended transfer: joined with call %s", sip_host->leg_call_id(atomic_load(&s->join->half[1])));
    sip_refer_result(s->referrer, 200);
    start_free(s);
}

/* On Y's worker: C's side first. */
static void start_on_replaced(void *arg) {
    struct join_start *s = arg;
    /* Y's wire format for both halves: C's bridge goes on translating as it
     * did for A's leg, and nothing translates between the halves. */
    snprintf(s->join->format, sizeof s->join->format, "%s", s->replaced->rtp.format ? s->replaced->rtp.format : "PCMU");
    if (!make_half(s->join, 1, s->replaced)) {
        fail_start(s, s->replaced, 603, "the call named by Replaces is not bridged");
        return;
    }
    if (sip_host->post(sip_self, s->referrer->worker, start_on_referrer, s) != TANDEM_OK)
        fail_start(s, s->replaced, 503, "stopping");
}

int sip_join_start(struct sip_call *referrer, struct sip_call *replaced) {
    struct join_start *s = calloc(1, sizeof *s);
    struct sip_join *j = calloc(1, sizeof *j);
    if (!s || !j) {
        free(s);
        free(j);
        return -1;
    }
    atomic_init(&j->refs, 1);
    sip_call_ref(referrer);
    sip_call_ref(replaced);
    s->referrer = referrer;
    s->replaced = replaced;
    s->join = j;
    if (sip_host->post(sip_self, replaced->worker, start_on_replaced, s) != TANDEM_OK) {
        start_free(s);
        return -1;
    }
    return 0;
}
