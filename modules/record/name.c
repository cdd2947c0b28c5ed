/*
 * File name templates: `${NAME}` is a channel variable, or one of call_id,
 * linked_id, leg_id, caller (the caller's number), exten (the leg's
 * dialled extension as its `exten` variable says, else empty); then
 * strftime's %-escapes give the date (local time). Substituted values may
 * not climb out of the recordings directory: '/' and anything but
 * letters, digits and "-_.+@" become '_', and ".." is refused. A template
 * that does not start with '/' gives a name under the instance's
 * recordings directory, whatever its variables hold.
 */
#include "record.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *value_of(tandem_leg *leg, const char *name) {
    if (strcmp(name, "call_id") == 0) return rec_host->leg_call_id(leg);
    if (strcmp(name, "linked_id") == 0) return rec_host->leg_linked_id(leg);
    if (strcmp(name, "leg_id") == 0) return rec_host->leg_id(leg);
    if (strcmp(name, "caller") == 0) {
        const char *number = "", *caller_name = "";
        rec_host->leg_caller(leg, &number, &caller_name);
        return number;
    }
    const char *v = rec_host->leg_get_var(leg, name);
    return v ? v : "";
}

static bool append(char *out, size_t cap, size_t *len, char c) {
    if (*len + 1 >= cap) return false;
    out[(*len)++] = c;
    out[*len] = '\0';
    return true;
}

bool rec_expand_name(tandem_leg *leg, const char *tpl, const char *default_ext, char *out, size_t out_len,
                     int *format, char *err, size_t err_len) {
    char subst[PATH_MAX] = "";
    size_t len = 0;
    for (const char *p = tpl; *p; ++p) {
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            char name[64];
            if (!end || (size_t)(end - p - 2) >= sizeof name) {
                snprintf(err, err_len, "bad ${...} in the file name template");
                return false;
            }
            memcpy(name, p + 2, (size_t)(end - p - 2));
            name[end - p - 2] = '\0';
            for (const char *v = value_of(leg, name); *v; ++v) {
                char c = (char)(isalnum((unsigned char)*v) || strchr("-_.+@", *v) ? *v : '_');
                if (!append(subst, sizeof subst, &len, c)) goto too_long;
            }
            p = end;
        } else if (!append(subst, sizeof subst, &len, *p)) {
            goto too_long;
        }
    }
    if (strstr(subst, "..")) {
        snprintf(err, err_len, "a recording's file name may not contain \"..\"");
        return false;
    }
    char dated[PATH_MAX];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral" /* the template is the user's strftime format */
    size_t n = strftime(dated, sizeof dated, subst, &tm);
#pragma GCC diagnostic pop
    if (!n || !*dated) {
        snprintf(err, err_len, "empty or too long recording file name");
        return false;
    }
    if (strstr(dated, "..")) { /* strftime's output too */
        snprintf(err, err_len, "a recording's file name may not contain \"..\"");
        return false;
    }
    const char *slash = strrchr(dated, '/');
    const char *dot = strrchr(slash ? slash : dated, '.');
    char ext[16] = "";
    if (dot && strlen(dot + 1) < sizeof ext) memcpy(ext, dot + 1, strlen(dot + 1) + 1);
    else if (strlen(dated) + strlen(default_ext) + 2 < sizeof dated) {
        strcat(dated, ".");
        strcat(dated, default_ext);
        snprintf(ext, sizeof ext, "%.15s", default_ext);
    }
    if (strcmp(ext, "wav") == 0) *format = REC_WAV;
    else if (strcmp(ext, "opus") == 0 || strcmp(ext, "ogg") == 0) *format = REC_OPUS;
    else {
        snprintf(err, err_len, "unknown recording format \".%s\" (wav, opus or ogg)", ext);
        return false;
    }
    const char *base = rec_host->instance_path("recordings");
    /* absolute only when the template says so: an empty variable at the
     * start must not turn "${agent}/x" into "/x" */
    int w = tpl[0] == '/' ? snprintf(out, out_len, "%s", dated)
                          : snprintf(out, out_len, "%s/%s", base, dated + (dated[0] == '/'));
    if (w < 0 || (size_t)w >= out_len) goto too_long;
    return true;
too_long:
    snprintf(err, err_len, "recording file name too long");
    return false;
}
