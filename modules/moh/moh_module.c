/*
 * The moh module: opens one shared stream per class and feeds it from a
 * thread of its own (see moh.h). Reload keeps the stream of every class
 * that stays (same name and rate), so callers on hold hear no gap.
 */
#include "moh.h"

#include <stdlib.h>
#include <string.h>

const tandem_host *moh_host;
tandem_module *moh_self;

#define LOG(level, ...) moh_host->log(moh_self, level, NULL, __VA_ARGS__)

static void stop_all(struct moh_class *list) {
    for (struct moh_class *c = list; c; c = c->next) moh_feeder_stop(c);
}

/* Frees the list, closing the streams it still owns. */
static void free_all(struct moh_class *list) {
    while (list) {
        struct moh_class *next = list->next;
        if (list->stream) moh_host->stream_close(list->stream);
        moh_class_free(list);
        list = next;
    }
}

/* Opens (or takes over from `old`) each class's stream and starts its
 * feeder; a class whose stream cannot open is dropped. */
static struct moh_class *start_all(struct moh_class *list, struct moh_class *old) {
    struct moh_class *kept = NULL, **tail = &kept;
    while (list) {
        struct moh_class *c = list;
        list = c->next;
        c->next = NULL;
        for (struct moh_class *o = old; o; o = o->next)
            if (o->stream && strcmp(o->name, c->name) == 0 && o->rate == c->rate) {
                c->stream = o->stream;
                o->stream = NULL;
            }
        if (!c->stream) c->stream = moh_host->stream_open(moh_self, c->name, c->rate);
        if (!c->stream || moh_feeder_start(c) != 0) {
            LOG(TANDEM_LOG_ERROR, "moh: class '%s' cannot start", c->name);
            free_all(c);
            continue;
        }
        *tail = c;
        tail = &c->next;
    }
    return kept;
}

static bool abi_ok(const tandem_host *host) {
    return host->struct_size >= offsetof(tandem_host, leg_set_held) + sizeof host->leg_set_held;
}

static int moh_load(tandem_module *self, const tandem_host *host) {
    moh_self = self;
    moh_host = host;
    if (!abi_ok(host)) {
        host->log(self, TANDEM_LOG_ERROR, NULL, "moh: needs an engine with ABI 1.3 (shared streams)");
        return TANDEM_EINVAL;
    }
    int rc = moh_functions_register();
    if (rc != TANDEM_OK) return rc;
    moh_classes = start_all(moh_config_load(), NULL);
    return TANDEM_OK;
}

static int moh_reload(tandem_module *self) {
    (void)self;
    int rc = moh_functions_register();
    if (rc != TANDEM_OK) return rc;
    struct moh_class *old = moh_classes;
    stop_all(old);
    moh_classes = start_all(moh_config_load(), old);
    free_all(old);
    return TANDEM_OK;
}

static void moh_unload(tandem_module *self) {
    (void)self;
    stop_all(moh_classes);
    free_all(moh_classes);
    moh_classes = NULL;
}

static const tandem_module_desc moh_desc = {
    TANDEM_MODULE_DESC_INIT, "moh", "1.0",
    "music on hold: classes of files, one decoder per class shared by every caller on hold",
    NULL, moh_load, moh_unload, moh_reload};

TANDEM_MODULE(moh_desc)
