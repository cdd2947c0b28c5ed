/*
 * A recording on the worker: the tap's audio lands in the ring (mixed or
 * stereo, silence while paused) and nothing here ever waits for the disk.
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;
recording *rec_list;
size_t rec_buffer_ms = 2000;

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int16_t clip(int32_t v) { return (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v); }

static void note_pause(recording *r, bool paused) {
    if (paused == r->was_paused) return;
    r->was_paused = paused;
    if (paused && r->pause_count < REC_MAX_PAUSES)
        r->pauses[r->pause_count++] = (struct rec_pause){r->ticks, 0};
    else if (!paused && r->pause_count && !r->pauses[r->pause_count - 1].end_tick)
        r->pauses[r->pause_count - 1].end_tick = r->ticks;
}

void rec_fail(recording *r, const char *why) {
    bool no = false;
    if (!atomic_compare_exchange_strong(&r->failing, &no, true)) return; /* the first reason wins */
    snprintf(r->error, sizeof r->error, "%s", why);
    atomic_store(&r->failed, true); /* the worker's next tick detaches the tap */
    rec_host->log(rec_self, TANDEM_LOG_ERROR, r->call_id, "record: %s failed, recording stopped: %s", r->path,
                  r->error);
    rec_publish(r, "recording_error", "error", r->error);
}

static int on_audio(void *user, const int16_t *rx, const int16_t *tx, size_t samples) {
    recording *r = user;
    if (atomic_load(&r->stop) || atomic_load(&r->failed)) return 1;
    note_pause(r, atomic_load(&r->paused));
    if (samples * 50 != r->rate) { /* the ABI promises one 20 ms tick */
        rec_fail(r, "the tap delivered an unexpected frame size");
        return 1;
    }
    size_t need = samples * (size_t)r->channels;
    size_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (r->cap - (head - tail) < need) {
        /* the writer is behind by the whole buffer: the disk cannot keep up */
        rec_fail(r, "the writer fell behind (disk or encoder too slow): the recording buffer is full");
        rec_writer_wake();
        return 1;
    }
    /* the ring holds whole ticks (cap is a multiple of `need`), so a tick
     * never wraps */
    int16_t *out = r->ring + head % r->cap;
    if (r->was_paused) {
        memset(out, 0, need * sizeof *out);
    } else if (r->channels == 2) {
        for (size_t i = 0; i < samples; ++i) {
            out[2 * i] = rx[i];
            out[2 * i + 1] = tx[i];
        }
    } else {
        for (size_t i = 0; i < samples; ++i) out[i] = clip((int32_t)rx[i] + tx[i]);
    }
    atomic_store_explicit(&r->head, head + need, memory_order_release);
    r->ticks++;
    return 0;
}

static void on_closed(void *user, int reason) {
    recording *r = user;
    note_pause(r, false);
    r->close_reason = reason;
    atomic_store(&r->closed, true); /* the writer finishes and frees it */
    rec_writer_wake();
}

/* Appends `item` to the comma-separated variable `name` of `leg`. */
static void append_var(tandem_leg *leg, const char *name, const char *item) {
    const char *old = rec_host->leg_get_var(leg, name);
    size_t len = (old ? strlen(old) + 1 : 0) + strlen(item) + 1;
    char *v = malloc(len);
    if (!v) return;
    snprintf(v, len, "%s%s%s", old && *old ? old : "", old && *old ? "," : "", item);
    rec_host->leg_set_var(leg, name, v);
    free(v);
}

recording *rec_start(tandem_leg *leg, const char *path, int format, int channels, uint32_t rate, char *err,
                     size_t err_len) {
    recording *r = calloc(1, sizeof *r);
    size_t cap = (size_t)rate / 50 * (size_t)channels * (rec_buffer_ms / 20 + 1);
    if (r) r->ring = malloc(cap * sizeof *r->ring);
    if (!r || !r->ring) {
        if (r) free(r);
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    r->cap = cap;
    snprintf(r->call_id, sizeof r->call_id, "%s", rec_host->leg_call_id(leg));
    snprintf(r->linked_id, sizeof r->linked_id, "%s", rec_host->leg_linked_id(leg));
    snprintf(r->leg_id, sizeof r->leg_id, "%s", rec_host->leg_id(leg));
    snprintf(r->path, sizeof r->path, "%s", path);
    r->format = format;
    r->channels = channels;
    r->rate = rate;
    r->start_us = now_us();
    r->writer = rec_writer_assign();

    pthread_mutex_lock(&rec_lock);
    if (rec_find_locked(r->call_id)) {
        pthread_mutex_unlock(&rec_lock);
        snprintf(err, err_len, "this call is already being recorded");
        free(r->ring);
        free(r);
        return NULL;
    }
    tandem_tap tap = {sizeof tap, rate, r, on_audio, on_closed};
    r->tap_id = rec_host->leg_tap_add(rec_self, leg, &tap);
    if (!r->tap_id) {
        pthread_mutex_unlock(&rec_lock);
        snprintf(err, err_len, "cannot tap the leg (hung up?)");
        free(r->ring);
        free(r);
        return NULL;
    }
    r->next = rec_list;
    rec_list = r;
    pthread_mutex_unlock(&rec_lock);

    /* the CDR lists the file; the module describes it itself (docs/records.md) */
    append_var(leg, "recording_file", path);
    append_var(leg, "recording_emitted", path);
    rec_host->log(rec_self, TANDEM_LOG_INFO, r->call_id, "record: started %s (%s, %s, %u Hz)", path,
                  format == REC_OPUS ? "opus" : "wav", channels == 2 ? "stereo" : "mono", rate);
    rec_publish(r, "recording_start", NULL, NULL);
    rec_writer_wake();
    return r;
}

recording *rec_find_locked(const char *call_id) {
    for (recording *r = rec_list; r; r = r->next)
        if (!atomic_load(&r->closed) && !atomic_load(&r->stop) && strcmp(r->call_id, call_id) == 0) return r;
    return NULL;
}

bool rec_set_paused(recording *r, bool paused) {
    if (atomic_exchange(&r->paused, paused) == paused) return false;
    rec_publish(r, paused ? "recording_pause" : "recording_resume", NULL, NULL);
    return true;
}

void rec_stop_on_worker(recording *r) {
    atomic_store(&r->stop, true);
    rec_host->leg_tap_remove(rec_self, r->tap_id);
}
