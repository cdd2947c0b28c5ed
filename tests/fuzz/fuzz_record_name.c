/* The record module's file name templates (modules/record/name.c): a
 * template and a variable value (both from the fuzzer; variables can come
 * from a caller's SIP headers) never overflow, and an accepted name stays
 * under the recordings directory unless the template itself is absolute. */
#include "record.h"

#include <stdlib.h>
#include <string.h>

const tandem_host *rec_host;
tandem_module *rec_self;

static char var_value[256];

static const char *stub_id(const tandem_leg *leg) { (void)leg; return "6b03a2d4-1"; }
static const char *stub_var(const tandem_leg *leg, const char *name) { (void)leg; (void)name; return var_value; }
static void stub_caller(const tandem_leg *leg, const char **number, const char **name) {
    (void)leg;
    *number = var_value;
    *name = "";
}
static const char *stub_path(const char *which) { (void)which; return "/var/rec"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static tandem_host host;
    host.leg_call_id = stub_id;
    host.leg_linked_id = stub_id;
    host.leg_id = stub_id;
    host.leg_get_var = stub_var;
    host.leg_caller = stub_caller;
    host.instance_path = stub_path;
    rec_host = &host;

    /* template NUL value */
    char tpl[1024];
    size_t n = 0;
    while (n < size && data[n] && n + 1 < sizeof tpl) n++;
    memcpy(tpl, data, n);
    tpl[n] = '\0';
    size_t rest = size > n + 1 ? size - n - 1 : 0;
    if (rest >= sizeof var_value) rest = sizeof var_value - 1;
    memcpy(var_value, data + (size > n + 1 ? n + 1 : size), rest);
    var_value[rest] = '\0';

    char out[PATH_MAX], err[128];
    int format = -1;
    if (rec_expand_name((tandem_leg *)&host, tpl, "wav", out, sizeof out, &format, err, sizeof err)) {
        if (strstr(out, "..")) abort();
        if (tpl[0] != '/' && strncmp(out, "/var/rec/", 9) != 0) abort();
        if (format != REC_WAV && format != REC_OPUS) abort();
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    return 0;
}
