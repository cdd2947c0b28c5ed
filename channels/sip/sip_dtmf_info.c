/* The body of a SIP INFO carrying one DTMF digit; a pure function, fuzzed
 * by tests/fuzz/fuzz_sip_info.c (the body comes from the network). */
#include "sip_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* INFO with a digit: application/dtmf-relay ("Signal=5\r\nDuration=160",
 * Duration in ms) or application/dtmf (just the digit). */
char sip_info_dtmf_parse(const char *type, const char *body, size_t len, uint32_t *ms) {
    char text[256];
    if (len >= sizeof text) len = sizeof text - 1;
    memcpy(text, body, len);
    text[len] = '\0';
    *ms = 100;
    const char *sig = text;
    if (strcasecmp(type, "application/dtmf-relay") == 0) {
        sig = NULL;
        char *save = NULL;
        for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
            char *eq = strchr(line, '=');
            if (!eq) continue;
            *eq = '\0';
            char *key = line, *val = eq + 1;
            while (*key == ' ' || *key == '\t') ++key;
            for (char *e = key + strlen(key); e > key && (e[-1] == ' ' || e[-1] == '\t');) *--e = '\0';
            while (*val == ' ' || *val == '\t') ++val;
            if (strcasecmp(key, "Signal") == 0) sig = val;
            else if (strcasecmp(key, "Duration") == 0) {
                long d = strtol(val, NULL, 10);
                if (d >= 40 && d <= 5000) *ms = (uint32_t)d;
            }
        }
        if (!sig) return 0;
    }
    while (*sig == ' ' || *sig == '\t') ++sig;
    if (!*sig) return 0;
    char d = (char)toupper((unsigned char)sig[0]);
    const char *rest = sig + 1;
    if (strncmp(sig, "10", 2) == 0) d = '*', rest = sig + 2; /* some phones send event numbers */
    else if (strncmp(sig, "11", 2) == 0) d = '#', rest = sig + 2;
    while (*rest == ' ' || *rest == '\t' || *rest == '\r' || *rest == '\n') ++rest;
    if (*rest) return 0;
    return strchr("0123456789*#ABCD", d) && d ? d : 0;
}
