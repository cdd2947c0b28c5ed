/*
 * One feeder thread per class: decodes the class's files in order, round
 * and round, mixes them down to mono, resamples them to the class's rate
 * (speexdsp) and writes them into the class's shared stream, which takes
 * at most 200 ms ahead of its clock; when it is full the thread sleeps
 * 60 ms. A file that stops being readable is logged once and skipped.
 */
#include "moh.h"

#include <sndfile.h>
#include <sys/prctl.h>
#include <speex/speex_resampler.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOG(level, ...) moh_host->log(moh_self, level, NULL, __VA_ARGS__)

enum { CHUNK_MS = 20, REFILL_MS = 60, MAX_CHANNELS = 8, MAX_RATE = 192000 };
enum { IN_MAX = MAX_RATE * CHUNK_MS / 1000 };

struct source {
    struct moh_class *cls;
    size_t next_file; /* the file to open when the current one ends */
    SNDFILE *sf;
    unsigned channels, rate;
    SpeexResamplerState *resampler;
    bool *failed; /* per file: its error was logged */
    size_t failures_in_a_row;
};

static void source_close(struct source *s) {
    if (s->sf) sf_close(s->sf);
    if (s->resampler) speex_resampler_destroy(s->resampler);
    s->sf = NULL;
    s->resampler = NULL;
}

static bool source_open_next(struct source *s) {
    struct moh_class *c = s->cls;
    size_t i = s->next_file;
    s->next_file = (i + 1) % c->file_count;
    SF_INFO info;
    memset(&info, 0, sizeof info);
    s->sf = sf_open(c->files[i], SFM_READ, &info);
    const char *why = s->sf ? NULL : sf_strerror(NULL);
    if (s->sf && (info.channels < 1 || info.channels > MAX_CHANNELS || info.samplerate < 1000 ||
                  info.samplerate > MAX_RATE))
        why = "unsupported channel count or rate";
    if (!why && (unsigned)info.samplerate != c->rate) {
        int err = 0;
        s->resampler = speex_resampler_init(1, (spx_uint32_t)info.samplerate, c->rate, 5, &err);
        if (!s->resampler) why = speex_resampler_strerror(err);
    }
    if (why) {
        if (!s->failed[i])
            LOG(TANDEM_LOG_ERROR, "moh: class '%s': cannot play %s: %s (skipped)", c->name, c->files[i], why);
        s->failed[i] = true;
        source_close(s);
        return false;
    }
    s->failed[i] = false;
    s->channels = (unsigned)info.channels;
    s->rate = (unsigned)info.samplerate;
    return true;
}

/* Up to CHUNK_MS of audio at the class's rate into out; 0 when no file of
 * the class can be played right now. */
static size_t source_read(struct source *s, int16_t *out, size_t cap) {
    static _Thread_local int16_t frames[IN_MAX * MAX_CHANNELS];
    static _Thread_local int16_t mono[IN_MAX];
    while (s->failures_in_a_row < s->cls->file_count) {
        if (!s->sf && !source_open_next(s)) {
            ++s->failures_in_a_row;
            continue;
        }
        size_t want = s->rate * CHUNK_MS / 1000;
        sf_count_t got = sf_readf_short(s->sf, frames, (sf_count_t)want);
        if (got <= 0) { /* the end of the file (or an error): the next one */
            source_close(s);
            continue;
        }
        s->failures_in_a_row = 0;
        for (sf_count_t f = 0; f < got; ++f) {
            int sum = 0;
            for (unsigned ch = 0; ch < s->channels; ++ch) sum += frames[f * s->channels + ch];
            mono[f] = (int16_t)(sum / (int)s->channels);
        }
        if (!s->resampler) {
            size_t n = (size_t)got < cap ? (size_t)got : cap;
            memcpy(out, mono, n * sizeof *out);
            return n;
        }
        spx_uint32_t in_len = (spx_uint32_t)got, out_len = (spx_uint32_t)cap;
        speex_resampler_process_int(s->resampler, 0, mono, &in_len, out, &out_len);
        if (out_len) return out_len;
    }
    s->failures_in_a_row = 0; /* try them all again after a pause */
    return 0;
}

/* Sleeps `ms` unless told to stop. */
static void pause_ms(struct moh_class *c, long ms) {
    struct timespec until;
    timespec_get(&until, TIME_UTC);
    until.tv_nsec += ms * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec += 1;
        until.tv_nsec -= 1000000000L;
    }
    mtx_lock(&c->lock);
    if (!atomic_load(&c->stop)) cnd_timedwait(&c->wake, &c->lock, &until);
    mtx_unlock(&c->lock);
}

static int feeder_main(void *arg) {
    struct moh_class *c = arg;
    prctl(PR_SET_NAME, "tandem-moh", 0, 0, 0); /* what `top -H` and the benchmark look for */
    struct source s = {.cls = c};
    s.failed = calloc(c->file_count, sizeof *s.failed);
    enum { OUT_MAX = 48000 * CHUNK_MS / 1000 * 2 };
    int16_t pcm[OUT_MAX];
    size_t len = 0, off = 0;
    while (s.failed && !atomic_load(&c->stop)) {
        if (off == len) {
            off = 0;
            len = source_read(&s, pcm, OUT_MAX);
            if (len == 0) {
                pause_ms(c, 1000); /* no file of the class plays now: try again later */
                continue;
            }
        }
        off += moh_host->stream_write(c->stream, pcm + off, len - off);
        /* 200 ms ahead of the clock: sleep 60 ms, which leaves 140 ms of
         * margin for a late wake-up and wakes the thread 17 times a second
         * instead of 50 */
        if (off < len) pause_ms(c, REFILL_MS);
    }
    source_close(&s);
    free(s.failed);
    return 0;
}

int moh_feeder_start(struct moh_class *c) {
    atomic_store(&c->stop, false);
    if (thrd_create(&c->feeder, feeder_main, c) != thrd_success) return -1;
    c->feeding = true;
    return 0;
}

void moh_feeder_stop(struct moh_class *c) {
    if (!c->feeding) return;
    mtx_lock(&c->lock);
    atomic_store(&c->stop, true);
    cnd_signal(&c->wake);
    mtx_unlock(&c->lock);
    thrd_join(c->feeder, NULL);
    c->feeding = false;
}
