/*
 * example — a small out-of-tree Tandem module, the starting point for a
 * vendor's own. It is built against the installed SDK only (tandem/module.h,
 * found through find_package(Tandem) or pkg-config) and shows one of each
 * common kind of registration:
 *
 *   call:example_greet(NAME)  dialplan function, returns "hello, NAME" plus
 *                             the module_config value `greeting_suffix`
 *   call:example_wait(MS)     dialplan function that suspends the script for
 *                             MS milliseconds on a worker timer, then
 *                             returns MS; cancelled cleanly on hang-up
 *   tandem ctl example-stats  console command: call_end events seen
 *   (event subscriber)        counts call_end events
 *   CDR sink "example-file"   appends each record's JSON as one line to the
 *                             file named by module_config `cdr_file`
 *
 * Pure C11 plus POSIX write/fsync; no engine symbol is linked: everything
 * goes through the host table handed to load().
 *
 * SPDX-License-Identifier: MPL-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include <tandem/module.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

static const tandem_host *host;
static tandem_module *self;

/* ---------------------------------------------------------------------- */
/* call:example_greet(NAME) -> "hello, NAME" .. greeting_suffix            */

static int greet_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    /* The engine checked the signature "s": argument 0 is a string. Lua
     * strings are not NUL-terminated here, so use ptr + len. */
    const tandem_value *name = host->inv_arg(inv, 0);
    const char *suffix = host->config_get(self, "greeting_suffix");
    static const char prefix[] = "hello, ";
    size_t prefix_len = sizeof prefix - 1;
    size_t suffix_len = suffix ? strlen(suffix) : 0;
    size_t len = prefix_len + name->as.string.len + suffix_len;

    char *text = malloc(len ? len : 1);
    if (!text) {
        host->inv_error(inv, "example_greet: out of memory");
        return TANDEM_ERROR;
    }
    memcpy(text, prefix, prefix_len);
    if (name->as.string.len)
        memcpy(text + prefix_len, name->as.string.ptr, name->as.string.len);
    if (suffix_len)
        memcpy(text + prefix_len + name->as.string.len, suffix, suffix_len);

    tandem_value result;
    memset(&result, 0, sizeof result);
    result.type = TANDEM_VALUE_STRING;
    result.as.string.ptr = text;
    result.as.string.len = len;
    int rc = host->inv_return(inv, &result); /* copies the string */
    free(text);
    return rc;
}

static const tandem_function greet_function = {
    sizeof(tandem_function),
    "example_greet",
    "s",
    "example_greet(NAME): \"hello, NAME\" plus module_config greeting_suffix",
    false,
    NULL,
    greet_invoke,
    NULL,
};

/* ---------------------------------------------------------------------- */
/* call:example_wait(MS) -> MS, after MS milliseconds                       */

/* One suspended invocation. The cancel callback only receives the
 * invocation, so pending waits are kept in a list to find their timer.
 * Invocations on different workers touch the list concurrently, hence the
 * mutex; the timer, the completion and the cancel of one wait all happen on
 * the worker that owns its call. */
struct pending_wait {
    tandem_invocation *inv;
    uint64_t timer;
    int64_t ms;
    struct pending_wait *prev, *next;
};

static mtx_t waits_lock;
static struct pending_wait *waits;

static void waits_add(struct pending_wait *w) {
    mtx_lock(&waits_lock);
    w->prev = NULL;
    w->next = waits;
    if (waits)
        waits->prev = w;
    waits = w;
    mtx_unlock(&waits_lock);
}

static void waits_remove_locked(struct pending_wait *w) {
    if (w->prev)
        w->prev->next = w->next;
    else
        waits = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
}

/* Detaches and returns the wait belonging to `inv`, or NULL. */
static struct pending_wait *waits_take(const tandem_invocation *inv) {
    mtx_lock(&waits_lock);
    struct pending_wait *w = waits;
    while (w && w->inv != inv)
        w = w->next;
    if (w)
        waits_remove_locked(w);
    mtx_unlock(&waits_lock);
    return w;
}

static void wait_return(tandem_invocation *inv, int64_t ms) {
    tandem_value result;
    memset(&result, 0, sizeof result);
    result.type = TANDEM_VALUE_INTEGER;
    result.as.integer = ms;
    host->inv_return(inv, &result);
}

/* Timer callback, on the worker that started the timer. */
static void wait_fired(void *arg) {
    struct pending_wait *w = arg;
    mtx_lock(&waits_lock);
    waits_remove_locked(w);
    mtx_unlock(&waits_lock);
    wait_return(w->inv, w->ms);
    /* The script may resume inside inv_complete() and call example_wait
     * again, so nothing of ours may be locked or needed after it. */
    tandem_invocation *inv = w->inv;
    free(w);
    host->inv_complete(inv);
}

#define EXAMPLE_WAIT_MAX_MS INT64_C(86400000) /* one day */

static int wait_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    int64_t ms = host->inv_arg(inv, 0)->as.integer; /* signature "i" */
    if (ms < 0 || ms > EXAMPLE_WAIT_MAX_MS) {
        host->inv_error(inv, "example_wait: milliseconds must be between 0 and 86400000");
        return TANDEM_EINVAL;
    }
    if (ms == 0) { /* nothing to wait for: answer at once */
        wait_return(inv, 0);
        return TANDEM_OK;
    }
    struct pending_wait *w = calloc(1, sizeof *w);
    if (!w) {
        host->inv_error(inv, "example_wait: out of memory");
        return TANDEM_ERROR;
    }
    w->inv = inv;
    w->ms = ms;
    /* Add before starting the timer, so the list is complete whenever the
     * engine could call cancel(). */
    waits_add(w);
    w->timer = host->timer_start(self, (uint32_t)ms, wait_fired, w);
    if (w->timer == 0) {
        waits_take(inv);
        free(w);
        host->inv_error(inv, "example_wait: cannot start a timer");
        return TANDEM_ERROR;
    }
    return TANDEM_SUSPENDED;
}

/* The call hung up (or the script was stopped) while waiting: stop the
 * timer and forget the invocation; it must not be completed. */
static void wait_cancel(void *user, tandem_invocation *inv) {
    (void)user;
    struct pending_wait *w = waits_take(inv);
    if (!w)
        return;
    host->timer_cancel(self, w->timer);
    free(w);
}

static const tandem_function wait_function = {
    sizeof(tandem_function),
    "example_wait",
    "i",
    "example_wait(MS): sleep MS milliseconds on a worker timer, return MS",
    true,
    NULL,
    wait_invoke,
    wait_cancel,
};

/* ---------------------------------------------------------------------- */
/* Event subscriber and the example-stats console command                   */

/* Written on the event thread, read on the console thread. */
static atomic_uint_fast64_t call_end_events;

static void on_event(void *user, const tandem_event *event) {
    (void)user;
    if (event->type == TANDEM_EVENT_CALL_END)
        atomic_fetch_add_explicit(&call_end_events, 1, memory_order_relaxed);
}

static const tandem_event_subscriber call_end_subscriber = {
    sizeof(tandem_event_subscriber),
    "example-call-end-counter",
    TANDEM_EVENT_MASK(TANDEM_EVENT_CALL_END),
    NULL,
    on_event,
};

static int stats_run(void *user, int argc, const char *const *argv, tandem_console_out *out) {
    (void)user;
    (void)argv;
    if (argc != 1) {
        host->console_print(out, "usage: example-stats\n");
        return TANDEM_EINVAL;
    }
    char line[96];
    snprintf(line, sizeof line, "example-stats: %" PRIuFAST64 " call_end events seen\n",
             (uint_fast64_t)atomic_load_explicit(&call_end_events, memory_order_relaxed));
    host->console_print(out, line);
    return TANDEM_OK;
}

static const tandem_console_command stats_command = {
    sizeof(tandem_console_command),
    "example-stats",
    "example-stats",
    "how many call_end events the example module has seen since it loaded",
    NULL,
    stats_run,
};

/* ---------------------------------------------------------------------- */
/* CDR sink "example-file": one JSON object per line                        */

/* A private copy: config_get's string is only valid until reload/unload. */
static char *cdr_path;

static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Runs on the engine's record thread. On failure the engine retries the
 * whole batch, so a line may be written twice: this sink only appends, and
 * whoever reads the file (or a real sink, e.g. a database with a unique key
 * on the id) must treat records[i].id as the deduplication key. */
static int cdr_write(void *user, const tandem_record *records, size_t count) {
    (void)user;
    int fd = open(cdr_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) {
        host->log(self, TANDEM_LOG_WARNING, NULL, "cannot open %s: %s", cdr_path, strerror(errno));
        return TANDEM_ERROR;
    }
    int rc = TANDEM_OK;
    for (size_t i = 0; i < count && rc == TANDEM_OK; ++i) {
        /* The engine's JSON is compact (no raw newlines), so one record is
         * one line. */
        if (write_all(fd, records[i].json, records[i].json_len) != 0 || write_all(fd, "\n", 1) != 0)
            rc = TANDEM_ERROR;
    }
    /* TANDEM_OK promises the records are stored durably. */
    if (rc == TANDEM_OK && fsync(fd) != 0)
        rc = TANDEM_ERROR;
    if (rc != TANDEM_OK)
        host->log(self, TANDEM_LOG_WARNING, NULL, "writing %s failed: %s", cdr_path, strerror(errno));
    close(fd);
    return rc;
}

static const tandem_cdr_sink file_sink = {
    sizeof(tandem_cdr_sink),
    "example-file",
    NULL,
    cdr_write,
};

/* ---------------------------------------------------------------------- */
/* Load and unload                                                          */

static void release_state(void) {
    free(cdr_path);
    cdr_path = NULL;
    mtx_destroy(&waits_lock);
}

static int example_load(tandem_module *module, const tandem_host *h) {
    host = h;
    self = module;
    waits = NULL;
    atomic_store(&call_end_events, 0);
    if (mtx_init(&waits_lock, mtx_plain) != thrd_success)
        return TANDEM_ERROR;

    const char *file = host->config_get(self, "cdr_file");
    if (file && *file) {
        size_t len = strlen(file);
        cdr_path = malloc(len + 1);
        if (!cdr_path) {
            mtx_destroy(&waits_lock);
            return TANDEM_ERROR;
        }
        memcpy(cdr_path, file, len + 1);
    }

    /* On an error the engine removes whatever was registered already and
     * unloads the library without calling unload(): free our state here. */
    int rc = host->register_function(self, &greet_function);
    if (rc == TANDEM_OK)
        rc = host->register_function(self, &wait_function);
    if (rc == TANDEM_OK)
        rc = host->subscribe(self, &call_end_subscriber);
    if (rc == TANDEM_OK)
        rc = host->register_console_command(self, &stats_command);
    if (rc == TANDEM_OK && cdr_path)
        rc = host->register_cdr_sink(self, &file_sink);
    if (rc != TANDEM_OK) {
        release_state();
        return rc;
    }
    if (cdr_path)
        host->log(self, TANDEM_LOG_INFO, NULL, "CDR sink example-file appends to %s", cdr_path);
    else
        host->log(self, TANDEM_LOG_INFO, NULL, "no module_config cdr_file: CDR sink example-file not registered");
    return TANDEM_OK;
}

/* Called only when no call uses the module: no wait is pending, the engine
 * has already removed our registrations and drained the event thread. */
static void example_unload(tandem_module *module) {
    (void)module;
    release_state();
}

static const char *const example_depends[] = {"local", NULL};

static const tandem_module_desc example_desc = {
    TANDEM_MODULE_DESC_INIT,
    "example",
    "1.0",
    "example out-of-tree module (greeting, timer wait, stats, file CDR sink)",
    example_depends,
    example_load,
    example_unload,
    NULL, /* no reload(): `module reload example` unloads and loads again */
};

TANDEM_MODULE(example_desc)
