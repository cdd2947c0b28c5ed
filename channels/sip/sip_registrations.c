/*
 * Registrations kept across restarts. The registrar's contacts live in
 * memory on the SIP thread; a snapshot goes to a file in the instance's data
 * directory at most every 2 s after a change, and once more at shutdown.
 * load() restores the entries that have not expired, so a phone that
 * registered for an hour can be called as soon as the engine is back, not
 * when it next re-registers.
 *
 * The file: one line per contact,
 *   ENDPOINT EXPIRES UPDATED URI [TARGET]
 * with EXPIRES in seconds since the epoch (the table itself counts on the
 * monotonic clock, which a restart resets), UPDATED the registration order
 * (the newest contact is dialled first), TARGET the NAT target when there
 * is one. Written to a temporary file and renamed over the old one.
 */
#include "sip_internal.h"
#include "sip_trunk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char path[1024];   /* "" when disabled */
static bool dirty;        /* SIP thread */
static su_timer_t *timer; /* SIP thread */

#define SAVE_EVERY_MS 2000

static void save(void) {
    if (!path[0]) return;
    dirty = false;
    char tmp[sizeof path + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        sip_host->log(sip_self, TANDEM_LOG_WARNING, NULL, "sip: cannot save registrations to %s: %s", tmp,
                      strerror(errno));
        return;
    }
    long mono = sip_monotonic_s();
    long wall = (long)time(NULL);
    for (int i = 0; i < sip_endpoint_count; ++i)
        for (int k = 0; k < SIP_MAX_CONTACTS; ++k) {
            const struct sip_contact *c = &sip_endpoints[i].contacts[k];
            if (!c->uri[0] || c->expires <= mono) continue;
            fprintf(f, "%s %ld %lu %s%s%s\n", sip_endpoints[i].id, wall + (c->expires - mono), c->updated, c->uri,
                    c->target[0] ? " " : "", c->target);
        }
    bool ok = fflush(f) == 0 && !ferror(f);
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        sip_host->log(sip_self, TANDEM_LOG_WARNING, NULL, "sip: cannot save registrations to %s: %s", path,
                      strerror(errno));
        remove(tmp);
    }
}

static void tick(su_root_magic_t *m, su_timer_t *t, su_timer_arg_t *arg) {
    (void)m; (void)t; (void)arg;
    if (dirty) save();
}

/* One line into a free slot of its endpoint: 1 restored, 0 expired while
 * we were down, -1 skipped (no such endpoint, malformed, no free slot). */
static int restore_line(char *line, long mono, long wall) {
    char *save_ptr = NULL;
    const char *id = strtok_r(line, " \n", &save_ptr);
    const char *expires = strtok_r(NULL, " \n", &save_ptr);
    const char *updated = strtok_r(NULL, " \n", &save_ptr);
    const char *uri = strtok_r(NULL, " \n", &save_ptr);
    const char *target = strtok_r(NULL, " \n", &save_ptr);
    struct sip_endpoint *ep = sip_endpoint_find(id);
    if (!ep || !expires || !updated || !uri || strlen(uri) >= sizeof ep->contacts[0].uri ||
        (target && strlen(target) >= sizeof ep->contacts[0].target))
        return -1;
    long left = strtol(expires, NULL, 10) - wall;
    if (left <= 0) return 0;
    for (int k = 0; k < SIP_MAX_CONTACTS; ++k) {
        struct sip_contact *c = &ep->contacts[k];
        if (c->uri[0]) continue;
        snprintf(c->uri, sizeof c->uri, "%s", uri);
        snprintf(c->target, sizeof c->target, "%s", target ? target : "");
        c->expires = mono + left;
        c->updated = strtoul(updated, NULL, 10);
        if (c->updated > sip_contact_serial) sip_contact_serial = c->updated;
        return 1;
    }
    return -1;
}

void sip_registrations_restore(void) {
    path[0] = '\0';
    if (sip_endpoint_count == 0) return;
    const char *file = sip_host->config_get(sip_self, "registrations_file");
    if (file && !*file) return; /* "": not kept */
    const char *dir = sip_host->instance_path ? sip_host->instance_path("data") : NULL;
    if (file && file[0] == '/')
        snprintf(path, sizeof path, "%s", file);
    else if (dir)
        snprintf(path, sizeof path, "%s/%s", dir, file ? file : "sip-registrations");
    else
        return;
    FILE *f = fopen(path, "r");
    if (!f) return; /* the first start */
    long mono = sip_monotonic_s(), wall = (long)time(NULL);
    int restored = 0, dropped = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        int r = restore_line(line, mono, wall);
        restored += r > 0;
        dropped += r < 0;
    }
    fclose(f);
    for (int i = 0; i < sip_endpoint_count; ++i) sip_endpoint_note_newest(&sip_endpoints[i]);
    sip_host->log(sip_self, TANDEM_LOG_INFO, NULL, "sip: %d registration(s) restored from %s%s", restored, path,
                  dropped ? " (some lines name no endpoint or do not fit: skipped)" : "");
}

void sip_registrations_changed(void) { dirty = true; }

void sip_registrations_start(su_root_t *root) {
    if (!path[0]) return;
    timer = su_timer_create(su_root_task(root), SAVE_EVERY_MS);
    if (timer) su_timer_run(timer, tick, NULL);
}

void sip_registrations_stop(void) {
    if (timer) su_timer_destroy(timer);
    timer = NULL;
    if (dirty) save();
}
