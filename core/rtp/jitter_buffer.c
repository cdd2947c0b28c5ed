/* The adaptive jitter buffer: frames ordered by extended sequence number in
 * a ring of TANDEM_JB_SLOTS, released one per playout tick. See rtp.h for
 * the behaviour; the choices behind it:
 *  - depth = 1 frame + 3 x the measured jitter, within [min, max]: the
 *    RFC 3550 estimator is a mean deviation, and 3 of them cover nearly
 *    every packet of a normal network without the delay of a fixed
 *    worst-case buffer;
 *  - an underrun is bridged by concealment *without* consuming a sequence
 *    number (the late packet still plays), which also absorbs a sender
 *    whose clock is slower than ours; a sender that is faster fills the
 *    buffer beyond target + 2 (+ the frames of a packet beyond its
 *    first) and loses its oldest frame;
 *  - G.711 concealment repeats the last good frame with a falling gain and
 *    goes silent after 100 ms: simple, cheap, and far less audible than a
 *    gap, which is what an unconcealed loss is. */
#include <tandem/rtp.h>

#include <string.h>

#define UNDERRUN_CONCEAL 3 /* frames bridged with an empty buffer before re-buffering */

static uint32_t frames_of(uint32_t ms, uint32_t frame_ms) { return (ms + frame_ms - 1) / frame_ms; }

void tandem_jb_init(tandem_jb *jb, tandem_jb_codec codec, uint32_t clock_rate, uint32_t frame_ms,
                    uint32_t min_ms, uint32_t max_ms) {
    memset(jb, 0, sizeof *jb);
    jb->codec = codec;
    jb->clock_rate = clock_rate ? clock_rate : 8000;
    jb->frame_ms = frame_ms ? frame_ms : 20;
    jb->min_frames = frames_of(min_ms, jb->frame_ms);
    jb->max_frames = frames_of(max_ms, jb->frame_ms);
    if (jb->min_frames < 1) jb->min_frames = 1;
    if (jb->max_frames > TANDEM_JB_SLOTS - 2) jb->max_frames = TANDEM_JB_SLOTS - 2;
    if (jb->max_frames < jb->min_frames) jb->max_frames = jb->min_frames;
    jb->target_frames = jb->min_frames;
    jb->packet_frames = 1;
}

static void set_target(tandem_jb *jb, uint32_t frames) {
    if (frames < jb->min_frames) frames = jb->min_frames;
    if (frames > jb->max_frames) frames = jb->max_frames;
    jb->target_frames = frames;
}

static void measure(tandem_jb *jb, uint32_t ts, uint64_t now_us) {
    if (jb->have_arrival) {
        double sent_us = (double)(int32_t)(ts - jb->last_ts) * 1e6 / jb->clock_rate;
        double d = (double)(int64_t)(now_us - jb->last_arrival_us) - sent_us;
        if (d < 0) d = -d;
        if (d < 5e6) jb->jitter_us += (d - jb->jitter_us) / 16; /* else: a stream jump */
    }
    jb->have_arrival = true;
    jb->last_arrival_us = now_us;
    jb->last_ts = ts;
    double frame_us = jb->frame_ms * 1000.0;
    /* a whole packet must fit in before its first frame plays */
    set_target(jb, jb->packet_frames + (uint32_t)((3 * jb->jitter_us + frame_us - 1) / frame_us));
}

static void clear(tandem_jb *jb) {
    for (int i = 0; i < TANDEM_JB_SLOTS; ++i) jb->slots[i].used = false;
    jb->count = 0;
    jb->playing = false;
}

/* One frame into its slot: 0 stored, 1 late or a duplicate. */
static int store(tandem_jb *jb, uint16_t seq, const uint8_t *data, size_t len) {
    jb->stats.pushed++;
    uint32_t ext;
    if (!jb->have_seq) {
        ext = (1u << 24) + seq; /* room below for reordered first packets */
        jb->have_seq = true;
        jb->highest_seq = ext;
        jb->next_seq = ext;
    } else {
        ext = jb->highest_seq + (uint32_t)(int32_t)(int16_t)(uint16_t)(seq - (uint16_t)jb->highest_seq);
    }
    int32_t ahead = (int32_t)(ext - jb->next_seq);
    if (ahead < 0) {
        /* before the next frame to play: late, unless still buffering and
         * the ring can reach back to it */
        if (jb->playing || (int32_t)(jb->highest_seq - ext) >= TANDEM_JB_SLOTS) {
            jb->stats.late++;
            return 1;
        }
        jb->next_seq = ext; /* still buffering: start earlier */
        ahead = 0;
    }
    if (ahead >= TANDEM_JB_SLOTS) { /* a jump (a new stream, a long pause): start over */
        clear(jb);
        jb->stats.resyncs++;
        jb->next_seq = ext;
        jb->highest_seq = ext;
        jb->have_arrival = false;
    }
    tandem_jb_slot *slot = &jb->slots[ext % TANDEM_JB_SLOTS];
    if (slot->used && slot->ext_seq == ext) {
        jb->stats.duplicates++;
        return 1;
    }
    if (!slot->used) jb->count++;
    slot->used = true;
    slot->ext_seq = ext;
    slot->len = (uint16_t)len;
    if (len) memcpy(slot->data, data, len);
    if ((int32_t)(ext - jb->highest_seq) > 0) jb->highest_seq = ext;
    return 0;
}

int tandem_jb_push(tandem_jb *jb, uint16_t seq, uint32_t ts, const uint8_t *data, size_t len,
                   uint64_t now_us) {
    if (len > TANDEM_JB_MAX_FRAME || (len && !data)) return -1;
    int rc = store(jb, seq, data, len);
    if (rc == 0) measure(jb, ts, now_us);
    return rc;
}

/* The frames of a packet are numbered by their timestamps, counted from a
 * reference that follows the newest packet: sequence numbers say nothing
 * about how many frames a packet holds, and the difference of two
 * timestamps survives their wrap. A timestamp off the frame grid (a sender
 * that resumed after silence at an odd offset) takes the nearest frame and
 * becomes the new grid. */
int tandem_jb_push_split(tandem_jb *jb, uint32_t ts, const uint8_t *data, size_t len, uint64_t now_us) {
    uint32_t frame = tandem_jb_frame_bytes(jb);
    if (!data || frame == 0 || frame > TANDEM_JB_MAX_FRAME || len == 0 || len % frame ||
        len / frame > TANDEM_JB_SLOTS / 2)
        return -1;
    if (!jb->have_split_ref) {
        jb->have_split_ref = true;
        jb->split_ts = ts;
        jb->split_seq = 0;
    }
    int32_t d = (int32_t)(ts - jb->split_ts);
    int32_t half = (int32_t)frame / 2;
    int32_t k = d >= 0 ? (d + half) / (int32_t)frame : -((-d + half) / (int32_t)frame);
    uint16_t seq = (uint16_t)(jb->split_seq + (uint16_t)k);
    if (d > 0) {
        jb->split_ts = ts;
        jb->split_seq = seq;
    }
    jb->packet_frames = (uint32_t)(len / frame);
    bool stored = false;
    for (uint32_t i = 0; i < jb->packet_frames; ++i)
        stored |= store(jb, (uint16_t)(seq + i), data + (size_t)i * frame, frame) == 0;
    if (!stored) return 1;
    measure(jb, ts, now_us);
    return 0;
}

uint32_t tandem_jb_frame_bytes(const tandem_jb *jb) { return jb->frame_ms * jb->clock_rate / 1000; }

static tandem_jb_slot *slot_at(tandem_jb *jb, uint32_t ext) {
    tandem_jb_slot *s = &jb->slots[ext % TANDEM_JB_SLOTS];
    return s->used && s->ext_seq == ext ? s : NULL;
}

static tandem_jb_result conceal(tandem_jb *jb, uint8_t *out, size_t cap, size_t *len) {
    static const int gain_q8[] = {230, 180, 128, 77, 26}; /* 0.9 ... 0.1 */
    jb->stats.concealed++;
    size_t n = jb->last_len <= cap ? jb->last_len : cap;
    if (jb->codec == TANDEM_JB_OPAQUE || n == 0) {
        jb->concealed_run++;
        *len = 0;
        return TANDEM_JB_LOST;
    }
    uint32_t run = jb->concealed_run++;
    int g = run < sizeof gain_q8 / sizeof gain_q8[0] ? gain_q8[run] : 0;
    for (size_t i = 0; i < n; ++i) {
        if (jb->codec == TANDEM_JB_PCMU)
            out[i] = tandem_ulaw_encode((int16_t)(tandem_ulaw_decode(jb->last[i]) * g / 256));
        else
            out[i] = tandem_alaw_encode((int16_t)(tandem_alaw_decode(jb->last[i]) * g / 256));
    }
    *len = n;
    return TANDEM_JB_CONCEALED;
}

tandem_jb_result tandem_jb_pop(tandem_jb *jb, uint8_t *out, size_t cap, size_t *len) {
    *len = 0;
    if (!jb->playing) {
        if (jb->count == 0 || (uint32_t)jb->count < jb->target_frames) return TANDEM_JB_NONE;
        while (!slot_at(jb, jb->next_seq)) jb->next_seq++; /* count > 0: terminates */
        jb->playing = true;
    }
    /* too deep: skip the oldest frame (a hole first, if there is one); a
     * packet of several frames lands all at once, so the slack grows by
     * its size beyond the first frame */
    if ((uint32_t)jb->count > jb->target_frames + 1 + jb->packet_frames) {
        tandem_jb_slot *old = slot_at(jb, jb->next_seq);
        if (old) {
            old->used = false;
            jb->count--;
            jb->stats.dropped++;
        }
        jb->next_seq++;
    }
    tandem_jb_slot *s = slot_at(jb, jb->next_seq);
    if (s) {
        size_t n = s->len <= cap ? s->len : cap;
        memcpy(out, s->data, n);
        memcpy(jb->last, s->data, n);
        jb->last_len = (uint16_t)n;
        s->used = false;
        jb->count--;
        jb->next_seq++;
        jb->concealed_run = 0;
        jb->underrun_concealed = 0;
        jb->stats.played++;
        *len = n;
        return TANDEM_JB_FRAME;
    }
    if (jb->count > 0) { /* later frames wait: this one is lost */
        jb->next_seq++;
        return conceal(jb, out, cap, len);
    }
    /* empty: bridge a short gap without consuming the sequence number, then
     * go back to buffering */
    if (jb->underrun_concealed < UNDERRUN_CONCEAL) {
        jb->underrun_concealed++;
        return conceal(jb, out, cap, len);
    }
    jb->playing = false;
    jb->underrun_concealed = 0;
    return TANDEM_JB_NONE;
}

const uint8_t *tandem_jb_peek(const tandem_jb *jb, size_t *len) {
    const tandem_jb_slot *s = &jb->slots[jb->next_seq % TANDEM_JB_SLOTS];
    *len = 0;
    if (!jb->playing || !s->used || s->ext_seq != jb->next_seq) return NULL;
    *len = s->len;
    return s->data;
}

int tandem_jb_depth(const tandem_jb *jb) { return jb->count; }

double tandem_jb_jitter_ms(const tandem_jb *jb) { return jb->jitter_us / 1000.0; }
