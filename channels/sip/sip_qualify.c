/*
 * OPTIONS qualify (SIP thread): every registered contact of an endpoint
 * (module `qualify = N` seconds) and every trunk with its own `qualify`
 * gets an OPTIONS every N seconds. Any final answer but 408 and 503 means
 * reachable (a 404 or 405 still proves a live SIP stack; 408 and 503 are
 * what sofia reports itself for a timeout or a transport error); no answer
 * within `qualify_timeout` seconds means unreachable. A change is logged and
 * published as a "sip_reachability" event (kind, name, uri, status, rtt_ms).
 *
 * One timer ticks every second; the table of what is pinged is the trunks'
 * and endpoints' own sip_reach records, so there is nothing to keep in sync.
 */
#include "sip_trunk.h"
#include "sip_profile.h"

#include <sofia-sip/sip_header.h>
#include <sofia-sip/su_tag.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

static su_timer_t *tick;
static int endpoint_every;  /* module `qualify`, seconds; 0 off */
static int answer_timeout;  /* module `qualify_timeout`, seconds */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void settle(struct sip_reach *r, int status, int rtt, int every, const char *kind, const char *name,
                   const char *uri) {
    if (r->ping) nua_handle_destroy(r->ping);
    r->ping = NULL;
    r->rtt_ms = rtt;
    r->next_ping = (long)(mono_ms() / 1000) + every;
    if (r->status != status) {
        r->status = status;
        sip_publish_reach(kind, name, uri, status, rtt);
    }
}

static void check(struct sip_reach *r, const char *uri, int every, const char *kind, const char *name) {
    int64_t now = mono_ms();
    if (r->ping) {
        if (now - r->sent_ms > (int64_t)answer_timeout * 1000) settle(r, 0, 0, every, kind, name, uri);
        return;
    }
    if (now / 1000 < r->next_ping) return;
    nua_handle_t *nh = nua_handle(sip_profile_nua_for(uri), NULL, NUTAG_URL(uri), SIPTAG_TO_STR(uri), TAG_END());
    if (!nh) return;
    r->ping = nh;
    r->sent_ms = now;
    nua_options(nh, TAG_END());
}

static void on_tick(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg) {
    (void)m; (void)t; (void)arg;
    char uri[300];
    for (int i = 0; i < sip_trunk_count; ++i) {
        struct sip_trunk *tr = &sip_trunks[i];
        if (!tr->qualify) continue;
        snprintf(uri, sizeof uri, "sip:%s", tr->host);
        check(&tr->reach, uri, tr->qualify, "trunk", tr->name);
    }
    if (!endpoint_every) return;
    for (int i = 0; i < sip_endpoint_count; ++i) {
        struct sip_endpoint *ep = &sip_endpoints[i];
        sip_endpoint_contact(ep); /* drops expired contacts */
        for (int c = 0; c < SIP_MAX_CONTACTS; ++c)
            if (ep->contacts[c].uri[0])
                check(&ep->contacts[c].reach, ep->contacts[c].target[0] ? ep->contacts[c].target : ep->contacts[c].uri,
                      endpoint_every, "endpoint", ep->id);
    }
}

bool sip_qualify_on_options(nua_handle_t *nh, int status) {
    if (!nh) return false;
    int rtt = 0;
    bool up = status != 408 && status != 503;
    for (int i = 0; i < sip_trunk_count; ++i) {
        struct sip_trunk *tr = &sip_trunks[i];
        if (tr->reach.ping != nh) continue;
        if (status < 200) return true;
        rtt = (int)(mono_ms() - tr->reach.sent_ms);
        char uri[300];
        snprintf(uri, sizeof uri, "sip:%s", tr->host);
        settle(&tr->reach, up, rtt, tr->qualify, "trunk", tr->name, uri);
        return true;
    }
    for (int i = 0; i < sip_endpoint_count; ++i)
        for (int c = 0; c < SIP_MAX_CONTACTS; ++c) {
            struct sip_contact *ct = &sip_endpoints[i].contacts[c];
            if (ct->reach.ping != nh) continue;
            if (status < 200) return true;
            rtt = (int)(mono_ms() - ct->reach.sent_ms);
            settle(&ct->reach, up, rtt, endpoint_every, "endpoint", sip_endpoints[i].id, ct->uri);
            return true;
        }
    return false;
}

void sip_qualify_forget(struct sip_reach *r) {
    if (r->ping) nua_handle_destroy(r->ping);
    memset(r, 0, sizeof *r);
    r->status = -1;
}

int sip_qualify_configure(void) {
    endpoint_every = sip_cfg_int("qualify", 0, 0, 3600);
    answer_timeout = sip_cfg_int("qualify_timeout", 5, 1, 60);
    if (endpoint_every >= 0 && answer_timeout >= 0) return 0;
    sip_host->log(sip_self, TANDEM_LOG_ERROR, NULL, "sip: qualify (0-3600) or qualify_timeout (1-60) is invalid");
    return -1;
}

void sip_qualify_start(su_root_t *root) {
    for (int i = 0; i < sip_endpoint_count; ++i)
        for (int c = 0; c < SIP_MAX_CONTACTS; ++c) sip_endpoints[i].contacts[c].reach.status = -1;
    bool any = endpoint_every > 0;
    for (int i = 0; i < sip_trunk_count && !any; ++i) any = sip_trunks[i].qualify > 0;
    if (!any) return;
    tick = su_timer_create(su_root_task(root), 1000);
    if (tick) su_timer_run(tick, on_tick, NULL);
}

void sip_qualify_stop(void) {
    if (tick) su_timer_destroy(tick);
    tick = NULL;
}
