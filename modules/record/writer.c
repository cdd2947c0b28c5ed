/*
 * The writer threads (`writers`, default 1): every disk operation of every
 * recording (creating directories, opening, writing, encoding, closing)
 * happens here, never on a worker. Recordings are dealt round robin to the
 * writers when they start. Each writer wakes every 100 ms or when asked,
 * drains each of its rings into its file, and finishes recordings whose tap
 * has closed: closes the file, publishes recording_stop and emits the
 * "recording" record.
 */
#include "record.h"

#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdint.h>
#include <time.h>

#define MAX_WRITERS 64
/* How often a writer drains its rings: longer means fewer, larger writes
 * (100 ms of 8 kHz stereo = 3.2 KB per file); the rings hold buffer_ms. */
#define WRITER_PERIOD_MS 100

static pthread_t threads[MAX_WRITERS];
static int started;
static atomic_uint next_writer;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static bool stopping;
static unsigned wake_generation;

int rec_writers = 1;

int rec_writer_assign(void) { return (int)(atomic_fetch_add(&next_writer, 1) % (unsigned)rec_writers); }

void rec_writer_wake(void) {
    pthread_mutex_lock(&wake_lock);
    wake_generation++;
    pthread_cond_broadcast(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
}

static void fail(recording *r, const char *what, const char *why) {
    char reason[160];
    snprintf(reason, sizeof reason, "%s: %s", what, why);
    rec_fail(r, reason);
}

/* mkdir -p of the file's directory */
static bool make_dirs(const char *path) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; ++p) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(dir, 0750) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    return true;
}

static void open_file(recording *r) {
    if (!make_dirs(r->path)) {
        fail(r, "cannot create its directory", strerror(errno));
        return;
    }
    SF_INFO info = {0};
    info.samplerate = (int)r->rate;
    info.channels = r->channels;
    info.format = r->format == REC_OPUS ? SF_FORMAT_OGG | SF_FORMAT_OPUS : SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(r->path, SFM_WRITE, &info);
    if (!sf) {
        fail(r, "cannot open", sf_strerror(NULL));
        return;
    }
    r->sf = sf;
}

static void drain(recording *r) {
    size_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t head = atomic_load_explicit(&r->head, memory_order_acquire);
    while (head != tail) {
        size_t at = tail % r->cap;
        size_t n = head - tail;
        if (n > r->cap - at) n = r->cap - at; /* up to the ring's end */
        if (r->sf && !atomic_load(&r->failed)) {
            sf_count_t wrote = sf_write_short(r->sf, r->ring + at, (sf_count_t)n);
            if (wrote != (sf_count_t)n) {
                char why[96];
                snprintf(why, sizeof why, "%s", errno ? strerror(errno) : sf_strerror(r->sf));
                fail(r, "write", why);
            } else {
                r->frames_written += n / (size_t)r->channels;
            }
        }
        tail += n;
        atomic_store_explicit(&r->tail, tail, memory_order_release);
    }
}

static void finish(recording *r) {
    if (r->sf) {
        if (sf_close(r->sf) != 0 && !atomic_load(&r->failed)) fail(r, "close", strerror(errno));
        r->sf = NULL;
    }
    rec_emit_metadata(r);
    free(r->ring);
    free(r);
}

/* One pass of writer `me` over its own recordings. Only a recording's own
 * writer frees it, so the ones collected stay valid without the list lock
 * while their disk I/O runs. */
static void pass(int me, recording ***mine, size_t *cap) {
    size_t n = 0;
    pthread_mutex_lock(&rec_lock);
    for (recording *r = rec_list; r; r = r->next) {
        if (r->writer != me) continue;
        if (n == *cap) {
            size_t grown = *cap ? *cap * 2 : 64;
            recording **more = realloc(*mine, grown * sizeof *more);
            if (!more) break; /* the rest waits for the next pass */
            *mine = more;
            *cap = grown;
        }
        (*mine)[n++] = r;
    }
    pthread_mutex_unlock(&rec_lock);
    for (size_t i = 0; i < n; ++i) {
        recording *r = (*mine)[i];
        bool closed = atomic_load(&r->closed); /* read before draining: then nothing comes after */
        if (!r->sf && !atomic_load(&r->failed)) open_file(r);
        errno = 0;
        drain(r);
        if (!closed) continue;
        pthread_mutex_lock(&rec_lock);
        for (recording **p = &rec_list; *p; p = &(*p)->next)
            if (*p == r) {
                *p = r->next;
                break;
            }
        pthread_mutex_unlock(&rec_lock);
        finish(r);
    }
}

static bool has_own(int me) {
    pthread_mutex_lock(&rec_lock);
    bool any = false;
    for (recording *r = rec_list; r && !any; r = r->next) any = r->writer == me;
    pthread_mutex_unlock(&rec_lock);
    return any;
}

static void *run(void *arg) {
    int me = (int)(intptr_t)arg;
    recording **mine = NULL;
    size_t cap = 0;
    for (;;) {
        pthread_mutex_lock(&wake_lock);
        unsigned seen = wake_generation;
        if (!stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += WRITER_PERIOD_MS * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            while (seen == wake_generation && !stopping &&
                   pthread_cond_timedwait(&wake_cond, &wake_lock, &until) == 0) {
            }
        }
        bool stop = stopping;
        pthread_mutex_unlock(&wake_lock);
        pass(me, &mine, &cap);
        if (stop && !has_own(me)) break;
    }
    free(mine);
    return NULL;
}

int rec_writer_start(void) {
    stopping = false;
    for (started = 0; started < rec_writers; ++started) {
        if (pthread_create(&threads[started], NULL, run, (void *)(intptr_t)started) != 0) {
            rec_writer_stop();
            return TANDEM_ERROR;
        }
        char name[16];
        snprintf(name, sizeof name, "tandem-record%d", started);
        pthread_setname_np(threads[started], name);
    }
    return TANDEM_OK;
}

void rec_writer_stop(void) {
    pthread_mutex_lock(&wake_lock);
    stopping = true;
    pthread_cond_broadcast(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
    for (int i = 0; i < started; ++i) pthread_join(threads[i], NULL);
    started = 0;
}
