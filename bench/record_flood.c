/* record_flood: a benchmark module that emits queue-log records through
 * host->record_emit at a steady rate from a thread of its own, so
 * bench/records_latency.py can load the record path without loading the
 * workers. Config (module_config.record_flood): rate = records per second
 * (default 5000). Emits in batches every 10 ms until unloaded. */
#define _GNU_SOURCE
#include <tandem/module.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const tandem_host *host;
static tandem_module *self;
static pthread_t thread;
static atomic_bool stopping;
static long rate = 5000;

static void *flood(void *arg) {
    (void)arg;
    pthread_setname_np(pthread_self(), "record-flood");
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    unsigned long long n = 0;
    double owed = 0;
    while (!atomic_load(&stopping)) {
        owed += rate / 100.0;
        for (; owed >= 1; owed -= 1) {
            char row[256];
            int len = snprintf(row, sizeof row,
                               "{\"queue\":\"bench\",\"agent\":\"%llu\",\"event\":\"offer\",\"call_id\":\"flood-%llu\"}",
                               n % 2000, n);
            host->record_emit(self, "queue_log", row, (size_t)len);
            ++n;
        }
        next.tv_nsec += 10 * 1000 * 1000;
        if (next.tv_nsec >= 1000 * 1000 * 1000) {
            next.tv_nsec -= 1000 * 1000 * 1000;
            ++next.tv_sec;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    return NULL;
}

static int flood_load(tandem_module *m, const tandem_host *h) {
    host = h;
    self = m;
    const char *r = host->config_get(m, "rate");
    if (r) rate = strtol(r, NULL, 10);
    if (rate <= 0) return TANDEM_EINVAL;
    atomic_store(&stopping, false);
    return pthread_create(&thread, NULL, flood, NULL) == 0 ? TANDEM_OK : TANDEM_ERROR;
}

static void flood_unload(tandem_module *m) {
    (void)m;
    atomic_store(&stopping, true);
    pthread_join(thread, NULL);
}

static const tandem_module_desc desc = {TANDEM_MODULE_DESC_INIT, "record_flood", "1",
                                        "benchmark: queue-log records at a steady rate", NULL,
                                        flood_load, flood_unload, NULL};
TANDEM_MODULE(desc)
