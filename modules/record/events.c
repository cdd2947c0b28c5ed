/*
 * What a recording tells the world: custom events on the bus (any thread)
 * and, when it ends, one record of kind "recording" (docs/records.md).
 */
#include "record.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void iso_time(uint64_t us, char *out, size_t len) {
    time_t s = (time_t)(us / 1000000u);
    struct tm tm;
    gmtime_r(&s, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%06uZ", day, (unsigned)(us % 1000000u));
}

/* JSON string body of `s` (no quotes) into out. */
static void json_escape(const char *s, char *out, size_t len) {
    size_t n = 0;
    for (; *s && n + 7 < len; ++s) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(out + n, len - n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
}

void rec_publish(const recording *r, const char *name, const char *extra_key, const char *extra_value) {
    tandem_field fields[3] = {{"file", r->path}, {"leg_id", r->leg_id}, {extra_key, extra_value}};
    rec_host->publish(rec_self, name, r->call_id, fields, extra_key ? 3 : 2);
}

static uint64_t ms_of_ticks(uint64_t ticks) { return ticks * 20u; }

void rec_emit_metadata(recording *r) {
    char file[PATH_MAX * 2], error[sizeof r->error * 2], start[48], pauses[REC_MAX_PAUSES * 48] = "";
    json_escape(r->path, file, sizeof file);
    json_escape(r->error, error, sizeof error);
    iso_time(r->start_us, start, sizeof start);
    uint64_t paused_ms = 0;
    size_t used = 0;
    for (int i = 0; i < r->pause_count; ++i) {
        uint64_t end = r->pauses[i].end_tick ? r->pauses[i].end_tick : r->ticks;
        uint64_t ms = ms_of_ticks(end - r->pauses[i].start_tick);
        paused_ms += ms;
        used += (size_t)snprintf(pauses + used, sizeof pauses - used, "%s{\"at_ms\":%llu,\"duration_ms\":%llu}",
                                 i ? "," : "", (unsigned long long)ms_of_ticks(r->pauses[i].start_tick),
                                 (unsigned long long)ms);
    }
    struct stat st;
    long long bytes = stat(r->path, &st) == 0 ? (long long)st.st_size : -1;
    bool failed = atomic_load(&r->failed);
    char json[PATH_MAX * 2 + sizeof pauses + 1024];
    char bytes_text[32];
    if (bytes < 0) snprintf(bytes_text, sizeof bytes_text, "null");
    else snprintf(bytes_text, sizeof bytes_text, "%lld", bytes);
    int len = snprintf(json, sizeof json,
                       "{\"call_id\":\"%s\",\"linked_id\":\"%s\",\"leg_id\":\"%s\",\"file\":\"%s\","
                       "\"format\":\"%s\",\"channels\":%d,\"sample_rate\":%u,\"start_time\":\"%s\","
                       "\"duration_ms\":%llu,\"paused_ms\":%llu,\"pauses\":[%s],\"bytes\":%s,"
                       "\"status\":\"%s\",\"error\":%s%s%s}",
                       r->call_id, r->linked_id, r->leg_id, file, r->format == REC_OPUS ? "opus" : "wav",
                       r->channels, r->rate, start, (unsigned long long)ms_of_ticks(r->ticks),
                       (unsigned long long)paused_ms, pauses, bytes_text, failed ? "failed" : "ok",
                       failed ? "\"" : "", failed ? error : "null", failed ? "\"" : "");
    if (len > 0 && (size_t)len < sizeof json)
        rec_host->record_emit(rec_self, "recording", json, (size_t)len);
    char duration[32];
    snprintf(duration, sizeof duration, "%llu", (unsigned long long)ms_of_ticks(r->ticks));
    rec_publish(r, "recording_stop", "duration_ms", duration);
    rec_host->log(rec_self, TANDEM_LOG_INFO, r->call_id, "record: %s %s, %s ms recorded", r->path,
                  failed ? "failed" : "finished", duration);
}
