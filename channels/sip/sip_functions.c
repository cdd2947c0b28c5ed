/*
 * Dialplan functions of the SIP channel, methods of every leg object:
 *   leg:sip_refer(TARGET)  REFER to the far end (blind transfer), returns
 *                          the final NOTIFY's status
 *   leg:sip_hold(ON)       re-INVITE with a=sendonly (true) or a=sendrecv
 *                          (false), returns the response's status
 * Each sends its request on the SIP thread and suspends the script until
 * the outcome comes back (sip_function_result), or a timeout.
 */
#include "sip_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FN_TIMEOUT_MS 32000 /* no outcome by then: 408 */

/* A suspended function call. Cancel gets only the invocation, and the leg
 * may be detached by then, so pending ones are kept in a list (the workers
 * of different calls touch it: a mutex; each entry is only used on its
 * call's worker). */
struct fn_wait {
    tandem_invocation *inv;
    struct sip_call *call; /* referenced */
    int kind;              /* enum sip_fn_kind */
    uint64_t timer;
    struct fn_wait *next;
};
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct fn_wait *waits;

/* Calls of ours that have a leg, so a leg's pvt can be trusted to be a
 * struct sip_call before it is used (the methods exist on every leg).
 * Registered when the leg is attached, dropped on the last reference. */
struct own_call {
    struct sip_call *call;
    struct own_call *next;
};
static struct own_call *owned;

void sip_fn_own(struct sip_call *call) {
    struct own_call *o = malloc(sizeof *o);
    if (!o) return;
    o->call = call;
    pthread_mutex_lock(&lock);
    o->next = owned;
    owned = o;
    pthread_mutex_unlock(&lock);
}

void sip_fn_disown(struct sip_call *call) {
    pthread_mutex_lock(&lock);
    for (struct own_call **p = &owned; *p; p = &(*p)->next)
        if ((*p)->call == call) {
            struct own_call *o = *p;
            *p = o->next;
            free(o);
            break;
        }
    pthread_mutex_unlock(&lock);
}

bool sip_fn_is_ours(const void *pvt) {
    bool ours = false;
    pthread_mutex_lock(&lock);
    for (struct own_call *o = owned; o && !ours; o = o->next) ours = o->call == pvt;
    pthread_mutex_unlock(&lock);
    return ours;
}

/* The SIP call behind the invocation's leg, answered; NULL after inv_error. */
static struct sip_call *answered_call(tandem_invocation *inv, const char *fn) {
    tandem_leg *leg = sip_host->inv_leg(inv);
    void *pvt = leg ? sip_host->leg_pvt(leg) : NULL;
    struct sip_call *call = sip_fn_is_ours(pvt) ? pvt : NULL;
    char msg[96];
    if (!call || call->leg != leg) {
        snprintf(msg, sizeof msg, "%s: not a SIP leg", fn);
        sip_host->inv_error(inv, msg);
        return NULL;
    }
    if (!call->up) {
        snprintf(msg, sizeof msg, "%s: the call is not answered", fn);
        sip_host->inv_error(inv, msg);
        return NULL;
    }
    return call;
}

/* Detach the wait for `inv` (or, inv NULL, the first of `kind` for `call`). */
static struct fn_wait *wait_take(const tandem_invocation *inv, const struct sip_call *call, int kind) {
    pthread_mutex_lock(&lock);
    struct fn_wait *w = NULL;
    for (struct fn_wait **p = &waits; *p; p = &(*p)->next)
        if (inv ? (*p)->inv == inv : (*p)->call == call && (*p)->kind == kind) {
            w = *p;
            *p = w->next;
            break;
        }
    pthread_mutex_unlock(&lock);
    return w;
}

static void wait_free(struct fn_wait *w) {
    if (w->timer) sip_host->timer_cancel(sip_self, w->timer);
    sip_call_unref(w->call);
    free(w);
}

/* Worker: resume the script with the status. */
static void finish(struct fn_wait *w, int status) {
    tandem_value v;
    memset(&v, 0, sizeof v);
    v.type = TANDEM_VALUE_INTEGER;
    v.as.integer = status;
    sip_host->inv_return(w->inv, &v);
    tandem_invocation *inv = w->inv;
    wait_free(w);
    sip_host->inv_complete(inv); /* the script may run again in here */
}

void sip_function_done(struct sip_call *call, int kind, int status) {
    struct fn_wait *w = wait_take(NULL, call, kind);
    if (w) finish(w, status);
}

struct fn_result {
    struct sip_call *call; /* referenced */
    int kind, status;
};

static void result_worker(void *arg) {
    struct fn_result *r = arg;
    sip_function_done(r->call, r->kind, r->status);
    sip_call_unref(r->call);
    free(r);
}

void sip_function_result(struct sip_call *call, int kind, int status) {
    struct fn_result *r = calloc(1, sizeof *r);
    if (!r) return;
    sip_call_ref(call);
    r->call = call;
    r->kind = kind;
    r->status = status;
    if (sip_host->post(sip_self, call->worker, result_worker, r) != TANDEM_OK) {
        sip_call_unref(call);
        free(r);
    }
}

static void timed_out(void *arg) {
    struct fn_wait *w = arg;
    /* still pending? (a finished or cancelled wait cancelled its timer) */
    struct fn_wait *found = wait_take(w->inv, NULL, 0);
    if (!found) return;
    found->timer = 0;
    finish(found, 408);
}

/* Worker: remember the invocation until its outcome; false after inv_error. */
static bool suspend(tandem_invocation *inv, struct sip_call *call, int kind) {
    struct fn_wait *w = calloc(1, sizeof *w);
    if (!w) {
        sip_host->inv_error(inv, "sip: out of memory");
        return false;
    }
    sip_call_ref(call);
    w->inv = inv;
    w->call = call;
    w->kind = kind;
    pthread_mutex_lock(&lock);
    w->next = waits;
    waits = w;
    pthread_mutex_unlock(&lock);
    w->timer = sip_host->timer_start(sip_self, FN_TIMEOUT_MS, timed_out, w);
    return true;
}

/* Worker: the request could not be queued. */
static int unsuspend(tandem_invocation *inv, const char *fn) {
    struct fn_wait *w = wait_take(inv, NULL, 0);
    if (w) wait_free(w);
    char msg[96];
    snprintf(msg, sizeof msg, "%s: the SIP stack is stopping", fn);
    sip_host->inv_error(inv, msg);
    return TANDEM_EBUSY;
}

static void fn_cancel(void *user, tandem_invocation *inv) {
    (void)user;
    struct fn_wait *w = wait_take(inv, NULL, 0);
    if (w) wait_free(w);
}

/* --- leg:sip_refer(target) --- */

static int refer_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    const tandem_value *arg = sip_host->inv_arg(inv, 0);
    size_t len = arg->as.string.len;
    char target[512];
    bool sane = len > 0 && len < sizeof target - 8;
    for (size_t i = 0; sane && i < len; ++i) {
        unsigned char c = (unsigned char)arg->as.string.ptr[i];
        sane = c > ' ' && c != 0x7f && c != '<' && c != '>' && c != '"';
    }
    if (!sane) {
        sip_host->inv_error(inv, "sip_refer: the target must be a SIP URI or USER@HOST (no spaces, <, >, \")");
        return TANDEM_EINVAL;
    }
    bool has_scheme = (len > 4 && strncasecmp(arg->as.string.ptr, "sip:", 4) == 0) ||
                      (len > 5 && strncasecmp(arg->as.string.ptr, "sips:", 5) == 0);
    snprintf(target, sizeof target, "<%s%.*s>", has_scheme ? "" : "sip:", (int)len, arg->as.string.ptr);
    struct sip_call *call = answered_call(inv, "sip_refer");
    if (!call) return TANDEM_EINVAL;
    if (!suspend(inv, call, SIP_FN_REFER)) return TANDEM_ERROR;
    sip_host->log(sip_self, TANDEM_LOG_INFO, call->call_id, "sip: REFER to %s", target);
    if (sip_stack_send((enum sip_cmd_kind)SIP_CMD_REFER, call, 0, target) != 0) return unsuspend(inv, "sip_refer");
    return TANDEM_SUSPENDED;
}

/* --- leg:sip_hold(on) --- */

static int hold_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    bool on = sip_host->inv_arg(inv, 0)->as.boolean;
    struct sip_call *call = answered_call(inv, "sip_hold");
    if (!call) return TANDEM_EINVAL;
    if (!suspend(inv, call, SIP_FN_HOLD)) return TANDEM_ERROR;
    if (sip_dialog_hold_offer(call, on) != 0) return unsuspend(inv, "sip_hold");
    return TANDEM_SUSPENDED;
}

static const tandem_function functions[] = {
    {sizeof(tandem_function), "sip_refer", "s",
     "leg:sip_refer(TARGET): REFER (blind transfer) to this SIP leg's far end; returns the final "
     "status of the transfer (200 done, 408 no outcome in 32 s, ...)",
     true, NULL, refer_invoke, fn_cancel},
    {sizeof(tandem_function), "sip_hold", "b",
     "leg:sip_hold(ON): re-INVITE this SIP leg's far end with a=sendonly (true: hold) or a=sendrecv "
     "(false: resume); returns the SIP status (200 done, 491 glare: try again, ...)",
     true, NULL, hold_invoke, fn_cancel},
};

int sip_functions_register(void) {
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; ++i)
        if (sip_host->register_function(sip_self, &functions[i]) != TANDEM_OK) return TANDEM_ERROR;
    return TANDEM_OK;
}
