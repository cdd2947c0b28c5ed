/*
 * The writer thread: every disk operation of every recording (creating
 * directories, opening, writing, closing) happens here, never on a worker.
 * It wakes every 20 ms or when asked, drains each ring into its file, and
 * finishes recordings whose tap has closed: closes the file, publishes
 * recording_stop and emits the "recording" record.
 */
#include "record.h"

#include <errno.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static pthread_t thread;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond = PTHREAD_COND_INITIALIZER;
static bool woken, stopping, running;

void rec_writer_wake(void) {
    pthread_mutex_lock(&wake_lock);
    woken = true;
    pthread_cond_signal(&wake_cond);
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

static void pass(void) {
    /* Only this thread removes recordings, so the ones seen stay valid while
     * the list lock is not held during disk I/O. */
    pthread_mutex_lock(&rec_lock);
    recording *first = rec_list;
    pthread_mutex_unlock(&rec_lock);
    for (recording *r = first; r;) {
        pthread_mutex_lock(&rec_lock);
        recording *next = r->next;
        pthread_mutex_unlock(&rec_lock);
        bool closed = atomic_load(&r->closed); /* read before draining: then nothing comes after */
        if (!r->sf && !atomic_load(&r->failed)) open_file(r);
        errno = 0;
        drain(r);
        if (closed) {
            pthread_mutex_lock(&rec_lock);
            for (recording **p = &rec_list; *p; p = &(*p)->next)
                if (*p == r) {
                    *p = r->next;
                    break;
                }
            pthread_mutex_unlock(&rec_lock);
            finish(r);
        }
        r = next;
    }
}

static void *run(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&wake_lock);
        if (!woken && !stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 20 * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&wake_cond, &wake_lock, &until);
        }
        woken = false;
        bool stop = stopping;
        pthread_mutex_unlock(&wake_lock);
        pass();
        if (stop) {
            pthread_mutex_lock(&rec_lock);
            bool empty = rec_list == NULL;
            pthread_mutex_unlock(&rec_lock);
            if (empty) return NULL;
        }
    }
}

int rec_writer_start(void) {
    stopping = false;
    if (pthread_create(&thread, NULL, run, NULL) != 0) return TANDEM_ERROR;
    pthread_setname_np(thread, "tandem-record");
    running = true;
    return TANDEM_OK;
}

void rec_writer_stop(void) {
    if (!running) return;
    pthread_mutex_lock(&wake_lock);
    stopping = true;
    pthread_cond_signal(&wake_cond);
    pthread_mutex_unlock(&wake_lock);
    pthread_join(thread, NULL);
    running = false;
}
