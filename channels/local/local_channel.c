/*
 * The local channel: "local/EXTEN[@CONTEXT]" creates two legs joined
 * in-process. The dialled half belongs to the caller's call; the other half
 * enters the dialplan at EXTEN@CONTEXT as a new call on the same worker, so
 * dialplans and bridges can be exercised without a network. Frames and DTMF
 * written to one half come out of the other; answering, ringing and hanging
 * up cross over too.
 *
 * Written in plain C against tandem/module.h only, like a vendor's driver.
 */
#include <tandem/module.h>

#include <stdlib.h>
#include <string.h>

static const tandem_host *host;
static tandem_module *self;

struct local_pair {
    tandem_leg *dialled; /* the outbound half, in the caller's call */
    tandem_leg *entered; /* the inbound half, running the dialplan */
};

static tandem_leg *other_half(struct local_pair *pair, tandem_leg *leg) {
    return leg == pair->dialled ? pair->entered : pair->dialled;
}

static void release_pair(struct local_pair *pair) {
    host->leg_set_pvt(pair->dialled, NULL);
    host->leg_set_pvt(pair->entered, NULL);
    host->leg_unref(pair->dialled);
    host->leg_unref(pair->entered);
    free(pair);
}

static int local_request(void *user, tandem_leg *leg, const char *dest) {
    (void)user;
    char exten[128];
    const char *context = "default";
    const char *at = strchr(dest, '@');
    size_t len = at ? (size_t)(at - dest) : strlen(dest);
    if (len == 0 || len >= sizeof exten)
        return TANDEM_CAUSE_INVALID_NUMBER_FORMAT;
    memcpy(exten, dest, len);
    exten[len] = '\0';
    if (at && at[1])
        context = at + 1;

    tandem_inbound in;
    memset(&in, 0, sizeof in);
    in.struct_size = sizeof in;
    in.context = context;
    in.exten = exten;
    in.format = TANDEM_FORMAT_SLIN8;
    in.worker = host->leg_worker(leg); /* both halves on one worker: no locking */
    in.linked_id = host->leg_linked_id(leg);
    in.inherit_from = leg;
    struct local_pair *pair = calloc(1, sizeof *pair);
    if (!pair)
        return TANDEM_CAUSE_TEMPORARY_FAILURE;
    in.pvt = pair; /* attached before the new call can reach local_answer */
    tandem_leg *entered = host->leg_new_inbound(self, "local", &in);
    if (!entered) {
        free(pair);
        return TANDEM_CAUSE_SWITCH_CONGESTION;
    }
    host->leg_ref(leg);
    pair->dialled = leg;
    pair->entered = entered; /* the reference leg_new_inbound gave us */
    host->leg_set_pvt(leg, pair);
    host->leg_set_format(leg, TANDEM_FORMAT_SLIN8);
    host->log(self, TANDEM_LOG_DEBUG, host->leg_call_id(leg), "local pair %s <-> %s", host->leg_id(leg),
              host->leg_id(entered));
    /* The far end is "alerting" while its dialplan runs. */
    host->leg_set_state(leg, TANDEM_LEG_RINGING);
    return TANDEM_OK;
}

static int local_answer(void *user, tandem_leg *leg) {
    (void)user;
    struct local_pair *pair = host->leg_pvt(leg);
    if (!pair)
        return TANDEM_CAUSE_NORMAL_CLEARING;
    if (leg == pair->entered)
        host->leg_set_state(pair->dialled, TANDEM_LEG_UP);
    return TANDEM_OK;
}

static int local_indicate(void *user, tandem_leg *leg, int state) {
    (void)user;
    struct local_pair *pair = host->leg_pvt(leg);
    if (pair && leg == pair->entered)
        host->leg_set_state(pair->dialled, state);
    return TANDEM_OK;
}

static void local_hangup(void *user, tandem_leg *leg, int cause) {
    (void)user;
    struct local_pair *pair = host->leg_pvt(leg);
    if (!pair)
        return;
    tandem_leg *other = other_half(pair, leg);
    host->leg_set_pvt(leg, NULL);
    /* Detach first: the other half's hang-up must not come back here. */
    host->leg_set_pvt(other, NULL);
    host->leg_hangup(other, cause);
    release_pair(pair);
}

static int local_write_frame(void *user, tandem_leg *leg, const tandem_frame *frame) {
    (void)user;
    struct local_pair *pair = host->leg_pvt(leg);
    if (!pair)
        return TANDEM_EGONE;
    return host->leg_push_frame(other_half(pair, leg), frame);
}

static const tandem_channel_driver local_driver = {
    sizeof(tandem_channel_driver),
    "local",
    "two legs joined in-process: local/EXTEN[@CONTEXT]",
    NULL,
    local_request,
    local_answer,
    local_indicate,
    local_hangup,
    local_write_frame,
};

static int local_load(tandem_module *module, const tandem_host *h) {
    host = h;
    self = module;
    return host->register_channel(module, &local_driver);
}

static const tandem_module_desc local_desc = {
    TANDEM_MODULE_DESC_INIT,
    "local",
    "1.0",
    "local channel driver (in-process leg pairs)",
    NULL,
    local_load,
    NULL,
    NULL,
};

TANDEM_MODULE(local_desc)
