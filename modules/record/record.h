/*
 * The record module's shared state: one `recording` per recorded call.
 *
 * Threads: the call's worker fills a recording's ring from the tap's
 * audio() callback; the module's writer thread drains it to disk with
 * libsndfile, so a slow or full disk never stalls a worker. The ring is
 * single-producer/single-consumer (atomics only). Pause and stop are
 * atomic flags any thread may set; the worker notices them on its next
 * tick. The writer frees a recording once the worker is done with it
 * (`closed`) and its ring is drained.
 */
#ifndef TANDEM_RECORD_H
#define TANDEM_RECORD_H

#include <tandem/module.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define REC_MAX_PAUSES 64
#define REC_ID_LEN 64

extern const tandem_host *rec_host;
extern tandem_module *rec_self;

enum rec_format { REC_WAV = 0, REC_OPUS = 1 };

struct rec_pause {
    uint64_t start_tick, end_tick; /* end 0: still paused */
};

typedef struct recording {
    /* immutable once started */
    char call_id[REC_ID_LEN], linked_id[REC_ID_LEN], leg_id[REC_ID_LEN];
    char path[PATH_MAX];
    int format;   /* enum rec_format */
    int channels; /* 1: rx+tx mixed, 2: rx left, tx right */
    uint32_t rate;
    uint64_t start_us; /* UTC */

    /* the ring: samples interleaved by channel; head written by the worker,
     * tail by the writer */
    int16_t *ring;
    size_t cap; /* samples */
    _Atomic size_t head, tail;

    /* any thread */
    atomic_bool paused, stop, failed;
    atomic_bool failing; /* claimed by the first rec_fail() */
    atomic_bool closed; /* the worker is done: no more audio */

    /* worker-only until `closed`, then the writer's */
    uint64_t tap_id;
    uint64_t ticks; /* 20 ms periods recorded (silence while paused included) */
    bool was_paused;
    struct rec_pause pauses[REC_MAX_PAUSES];
    int pause_count;
    int close_reason;

    /* writer-only */
    int writer; /* which writer thread owns it (fixed at start) */
    void *sf;   /* SNDFILE* */
    uint64_t frames_written;
    char error[160]; /* set before `failed` is */

    struct recording *next; /* the module's list (rec_lock) */
} recording;

/* recording.c: start on a leg (worker-only); NULL with a reason in err. */
recording *rec_start(tandem_leg *leg, const char *path, int format, int channels, uint32_t rate, char *err,
                     size_t err_len);
/* Find the live recording of a call (rec_lock held by the caller). */
recording *rec_find_locked(const char *call_id);
/* Pause (true) or resume; false when it already was. Any thread. */
bool rec_set_paused(recording *r, bool paused);
/* Any thread: the recording stops (error log line, recording_error event);
 * the first reason is kept. */
void rec_fail(recording *r, const char *why);
/* Worker-only: stop now (the tap closes before this returns). */
void rec_stop_on_worker(recording *r);
extern pthread_mutex_t rec_lock;
extern recording *rec_list;
extern size_t rec_buffer_ms;

/* writer.c */
extern int rec_writers; /* writer threads, set before rec_writer_start */
int rec_writer_assign(void);
int rec_writer_start(void);
void rec_writer_stop(void); /* finishes every recording */
void rec_writer_wake(void);

/* name.c: expand a file name template for `leg` (worker-only) into an
 * absolute path; the format comes from its extension. false + err. */
bool rec_expand_name(tandem_leg *leg, const char *template_, const char *default_ext, char *out, size_t out_len,
                     int *format, char *err, size_t err_len);

/* events.c: JSON and event helpers (any thread) */
void rec_publish(const recording *r, const char *name, const char *extra_key, const char *extra_value);
void rec_emit_metadata(recording *r);

#endif
