/*
 * The record module: call recording (issue 4).
 *
 * Dialplan (methods of every leg object; the recording is the call's):
 *   call:record_start([template [, options]]) -> file | nil, reason
 *   call:record_pause() / call:record_resume() / call:record_stop() -> bool
 * Console: tandem ctl record list | start CALL_ID [TEMPLATE [OPTIONS]] |
 *          stop|pause|resume CALL_ID
 * Configuration (module_config.record): template, format (default file
 * extension: wav or opus), channels ("stereo"/"mono"), rate, buffer_ms,
 * writers (threads doing the disk I/O and Opus encoding).
 * docs/dialplan.md "Call recording" is the user's guide.
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const tandem_host *rec_host;
tandem_module *rec_self;

static char default_template[PATH_MAX] = "%Y/%m/%d/${linked_id}-${call_id}";
static char default_ext[8] = "wav";
static int default_channels = 2;
static uint32_t default_rate = 8000;

struct options {
    int channels;
    uint32_t rate;
};

/* "stereo", "mono", "rate=16000", comma-separated. */
static bool parse_options(const char *text, struct options *o, char *err, size_t err_len) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        if (strcmp(tok, "stereo") == 0) o->channels = 2;
        else if (strcmp(tok, "mono") == 0) o->channels = 1;
        else if (strncmp(tok, "rate=", 5) == 0 && (atoi(tok + 5) == 8000 || atoi(tok + 5) == 16000 ||
                                                     atoi(tok + 5) == 48000))
            o->rate = (uint32_t)atoi(tok + 5);
        else {
            snprintf(err, err_len, "unknown recording option \"%s\" (stereo, mono, rate=8000|16000|48000)", tok);
            return false;
        }
    }
    return true;
}

/* Worker-only: start recording `leg`'s call. NULL + err on failure. */
static recording *start_on(tandem_leg *leg, const char *tpl, const char *opts, char *err, size_t err_len) {
    struct options o = {default_channels, default_rate};
    if (!parse_options(opts, &o, err, err_len)) return NULL;
    char path[PATH_MAX];
    int format = REC_WAV;
    if (!rec_expand_name(leg, tpl && *tpl ? tpl : default_template, default_ext, path, sizeof path, &format, err,
                         err_len))
        return NULL;
    return rec_start(leg, path, format, o.channels, o.rate, err, err_len);
}

static void copy_arg(tandem_invocation *inv, size_t i, char *out, size_t len) {
    const tandem_value *v = rec_host->inv_arg(inv, i);
    out[0] = '\0';
    if (v && v->type == TANDEM_VALUE_STRING) {
        size_t n = v->as.string.len < len - 1 ? v->as.string.len : len - 1;
        memcpy(out, v->as.string.ptr, n);
        out[n] = '\0';
    }
}

static void return_string(tandem_invocation *inv, const char *s) {
    tandem_value v = {.type = TANDEM_VALUE_STRING};
    v.as.string.ptr = s;
    v.as.string.len = strlen(s);
    rec_host->inv_return(inv, &v);
}

static int fn_start(void *user, tandem_invocation *inv) {
    (void)user;
    char tpl[PATH_MAX], opts[128], err[256];
    copy_arg(inv, 0, tpl, sizeof tpl);
    copy_arg(inv, 1, opts, sizeof opts);
    recording *r = start_on(rec_host->inv_leg(inv), tpl, opts, err, sizeof err);
    if (r) {
        return_string(inv, r->path);
    } else {
        tandem_value nil = {.type = TANDEM_VALUE_NIL};
        rec_host->inv_return(inv, &nil);
        return_string(inv, err);
    }
    return TANDEM_OK;
}

enum action { ACT_STOP, ACT_PAUSE, ACT_RESUME };

/* Worker-only or console: act on the call's recording; false when none. */
static bool act(const char *call_id, int action, bool on_worker) {
    pthread_mutex_lock(&rec_lock);
    recording *r = rec_find_locked(call_id);
    bool done = r != NULL;
    if (r && action == ACT_PAUSE) done = rec_set_paused(r, true);
    else if (r && action == ACT_RESUME) done = rec_set_paused(r, false);
    else if (r && !on_worker) atomic_store(&r->stop, true); /* the worker's next tick detaches it */
    pthread_mutex_unlock(&rec_lock);
    /* On the worker the recording cannot close under us (only this thread
     * closes it), so it is stopped at once, outside the lock: closed()
     * wakes the writer. */
    if (r && action == ACT_STOP && on_worker) rec_stop_on_worker(r);
    return done;
}

static int fn_act(tandem_invocation *inv, int action) {
    tandem_value v = {.type = TANDEM_VALUE_BOOLEAN};
    v.as.boolean = act(rec_host->leg_call_id(rec_host->inv_leg(inv)), action, true);
    rec_host->inv_return(inv, &v);
    return TANDEM_OK;
}
static int fn_stop(void *user, tandem_invocation *inv) { (void)user; return fn_act(inv, ACT_STOP); }
static int fn_pause(void *user, tandem_invocation *inv) { (void)user; return fn_act(inv, ACT_PAUSE); }
static int fn_resume(void *user, tandem_invocation *inv) { (void)user; return fn_act(inv, ACT_RESUME); }

static const tandem_function functions[] = {
    {sizeof(tandem_function), "record_start", "|ss",
     "record the call: [template [, \"stereo|mono,rate=N\"]] -> file or nil, reason", false, NULL, fn_start, NULL},
    {sizeof(tandem_function), "record_stop", "", "stop the call's recording -> true if there was one", false, NULL,
     fn_stop, NULL},
    {sizeof(tandem_function), "record_pause", "", "pause the call's recording (silence) -> true if it ran", false,
     NULL, fn_pause, NULL},
    {sizeof(tandem_function), "record_resume", "", "resume the call's paused recording -> true if it was paused",
     false, NULL, fn_resume, NULL},
};

/* --- console ------------------------------------------------------------- */

/* A console `record start`, answered by the call's worker (call_post). Two
 * owners: the console waits at most 2 s, the worker may answer later. */
struct start_request {
    char call_id[REC_ID_LEN], tpl[PATH_MAX], opts[128];
    char result[PATH_MAX + 64];
    bool ok, answered;
    int owners;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

static void release(struct start_request *q) {
    pthread_mutex_lock(&q->lock);
    bool last = --q->owners == 0;
    pthread_mutex_unlock(&q->lock);
    if (last) {
        pthread_mutex_destroy(&q->lock);
        pthread_cond_destroy(&q->cond);
        free(q);
    }
}

static void start_on_worker(tandem_leg *channel, void *arg) {
    struct start_request *q = arg;
    char err[256] = "no such call";
    recording *r = channel ? start_on(channel, q->tpl, q->opts, err, sizeof err) : NULL;
    pthread_mutex_lock(&q->lock);
    q->ok = r != NULL;
    snprintf(q->result, sizeof q->result, "%s", r ? r->path : err);
    q->answered = true;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    release(q);
}

static int console_start(int argc, const char *const *argv, tandem_console_out *out) {
    struct start_request *q = calloc(1, sizeof *q);
    if (!q) return TANDEM_ERROR;
    snprintf(q->call_id, sizeof q->call_id, "%s", argv[2]);
    snprintf(q->tpl, sizeof q->tpl, "%s", argc > 3 ? argv[3] : "");
    snprintf(q->opts, sizeof q->opts, "%s", argc > 4 ? argv[4] : "");
    q->owners = 2;
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
    if (rec_host->call_post(rec_self, q->call_id, start_on_worker, q) != TANDEM_OK) {
        q->owners = 1;
        release(q);
        rec_host->console_print(out, "the engine is stopping\n");
        return TANDEM_EBUSY;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&q->lock);
    while (!q->answered && pthread_cond_timedwait(&q->cond, &q->lock, &until) == 0) {
    }
    bool answered = q->answered, ok = q->ok;
    char line[PATH_MAX + 96];
    snprintf(line, sizeof line, answered ? (ok ? "recording %s\n" : "cannot record: %s\n") : "no answer from the call's worker\n",
             q->result);
    pthread_mutex_unlock(&q->lock);
    release(q);
    rec_host->console_print(out, line);
    return ok ? TANDEM_OK : TANDEM_ERROR;
}

static int console_list(tandem_console_out *out) {
    bool json = rec_host->console_json(out);
    if (json) rec_host->console_print(out, "[");
    pthread_mutex_lock(&rec_lock);
    int n = 0;
    for (recording *r = rec_list; r; r = r->next) {
        if (atomic_load(&r->closed)) continue;
        char line[PATH_MAX + 256];
        const char *state = atomic_load(&r->failed) ? "failed" : atomic_load(&r->paused) ? "paused" : "recording";
        if (json)
            snprintf(line, sizeof line, "%s{\"call_id\":\"%s\",\"file\":\"%s\",\"state\":\"%s\",\"channels\":%d}",
                     n ? "," : "", r->call_id, r->path, state, r->channels);
        else
            snprintf(line, sizeof line, "%s  %s  %s  %s\n", r->call_id, state, r->channels == 2 ? "stereo" : "mono",
                     r->path);
        rec_host->console_print(out, line);
        ++n;
    }
    pthread_mutex_unlock(&rec_lock);
    rec_host->console_print(out, json ? "]" : n ? "" : "no recordings\n");
    return TANDEM_OK;
}

static int console_run(void *user, int argc, const char *const *argv, tandem_console_out *out) {
    (void)user;
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "list") == 0 || argc == 1) return console_list(out);
    if (argc >= 3 && strcmp(sub, "start") == 0) return console_start(argc, argv, out);
    int action = strcmp(sub, "stop") == 0 ? ACT_STOP : strcmp(sub, "pause") == 0 ? ACT_PAUSE
                 : strcmp(sub, "resume") == 0                                       ? ACT_RESUME
                                                                                    : -1;
    if (action < 0 || argc != 3) {
        rec_host->console_print(out, "usage: record list | start CALL_ID [TEMPLATE [OPTIONS]] | "
                                     "stop|pause|resume CALL_ID\n");
        return TANDEM_EINVAL;
    }
    if (!act(argv[2], action, false)) {
        rec_host->console_print(out, action == ACT_STOP ? "no recording on that call\n"
                                     : action == ACT_PAUSE ? "no running recording on that call\n"
                                                           : "no paused recording on that call\n");
        return TANDEM_ENOENT;
    }
    rec_host->console_print(out, "ok\n");
    return TANDEM_OK;
}

static const tandem_console_command console = {
    sizeof(tandem_console_command), "record", "record list | start CALL_ID [TEMPLATE [OPTIONS]] | stop|pause|resume CALL_ID",
    "call recordings: list, start, stop, pause, resume", NULL, console_run};

/* --- load ---------------------------------------------------------------- */

/* An integer setting in min..max (absent: fallback). */
static bool config_long(const char *key, long min, long max, long fallback, long *out, char *err, size_t err_len) {
    const char *v = rec_host->config_get(rec_self, key);
    char *end = NULL;
    *out = v ? strtol(v, &end, 10) : fallback;
    if (v && (end == v || *end || *out < min || *out > max)) {
        snprintf(err, err_len, "%s must be an integer %ld..%ld", key, min, max);
        return false;
    }
    return true;
}

static bool configure(char *err, size_t err_len) {
    const char *v;
    if ((v = rec_host->config_get(rec_self, "template"))) snprintf(default_template, sizeof default_template, "%s", v);
    if ((v = rec_host->config_get(rec_self, "format"))) {
        if (strcmp(v, "wav") != 0 && strcmp(v, "opus") != 0) {
            snprintf(err, err_len, "format must be \"wav\" or \"opus\", not \"%s\"", v);
            return false;
        }
        snprintf(default_ext, sizeof default_ext, "%s", v);
    }
    struct options o = {default_channels, default_rate};
    char opts[64] = "";
    if ((v = rec_host->config_get(rec_self, "channels"))) snprintf(opts, sizeof opts, "%s", v);
    if ((v = rec_host->config_get(rec_self, "rate")))
        snprintf(opts + strlen(opts), sizeof opts - strlen(opts), ",rate=%s", v);
    if (!parse_options(opts, &o, err, err_len)) return false;
    default_channels = o.channels;
    default_rate = o.rate;
    long n;
    if (!config_long("buffer_ms", 100, 60000, (long)rec_buffer_ms, &n, err, err_len)) return false;
    rec_buffer_ms = (size_t)n;
    if (!config_long("writers", 1, 64, rec_writers, &n, err, err_len)) return false;
    rec_writers = (int)n;
    return true;
}

static int load(tandem_module *self, const tandem_host *host) {
    if (host->abi_minor < 3 || host->struct_size < offsetof(tandem_host, call_post) + sizeof(void *)) {
        host->log(self, TANDEM_LOG_ERROR, NULL, "record: needs an engine with module ABI 1.3 (audio taps)");
        return TANDEM_ERROR;
    }
    rec_host = host;
    rec_self = self;
    char err[160];
    if (!configure(err, sizeof err)) {
        host->log(self, TANDEM_LOG_ERROR, NULL, "record: module_config.record: %s", err);
        return TANDEM_EINVAL;
    }
    for (size_t i = 0; i < sizeof functions / sizeof functions[0]; ++i)
        if (host->register_function(self, &functions[i]) != TANDEM_OK) return TANDEM_ERROR;
    if (host->register_console_command(self, &console) != TANDEM_OK) return TANDEM_ERROR;
    return rec_writer_start();
}

static void unload(tandem_module *self) {
    (void)self;
    rec_writer_stop();
}

static const tandem_module_desc desc = {
    TANDEM_MODULE_DESC_INIT, "record", "1.0", "call recording: WAV or Ogg/Opus, mono or stereo, off the media path",
    NULL, load, unload, NULL};

TANDEM_MODULE(desc)
