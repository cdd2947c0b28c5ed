/*
 * The dialplan side of music on hold:
 *
 *   call:moh_start([class])  the leg hears the class (default: its variable
 *                            moh_class, else "default") until moh_stop(),
 *                            a bridge, or the end of the call; returns true,
 *                            or nil and a reason for a class that is not
 *                            there (the script goes on). Does not wait.
 *   call:moh_stop()          the leg stops hearing music on hold.
 *
 * and `tandem ctl moh`, which lists the classes.
 */
#include "moh.h"

#include <stdio.h>
#include <string.h>

struct moh_class *moh_classes;

static void return_value(tandem_invocation *inv, const tandem_value *v) { moh_host->inv_return(inv, v); }

static int start_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    tandem_leg *leg = moh_host->inv_leg(inv);
    char name[MOH_NAME_MAX];
    const tandem_value *arg = moh_host->inv_arg(inv, 0);
    const char *var = moh_host->leg_get_var(leg, "moh_class");
    if (arg && arg->type == TANDEM_VALUE_STRING)
        snprintf(name, sizeof name, "%.*s", (int)(arg->as.string.len < MOH_NAME_MAX ? arg->as.string.len : MOH_NAME_MAX - 1),
                 arg->as.string.ptr);
    else
        snprintf(name, sizeof name, "%s", var && *var ? var : "default");
    int rc = moh_host->leg_hear_stream(leg, name);
    tandem_value v;
    memset(&v, 0, sizeof v);
    if (rc == TANDEM_OK) {
        v.type = TANDEM_VALUE_BOOLEAN;
        v.as.boolean = true;
        return_value(inv, &v);
        return TANDEM_OK;
    }
    char why[128];
    snprintf(why, sizeof why, rc == TANDEM_ENOENT ? "no music-on-hold class '%s'" : "the call has hung up (%s)", name);
    moh_host->log(moh_self, TANDEM_LOG_WARNING, moh_host->leg_call_id(leg), "moh: %s", why);
    v.type = TANDEM_VALUE_NIL;
    return_value(inv, &v);
    v.type = TANDEM_VALUE_STRING;
    v.as.string.ptr = why;
    v.as.string.len = strlen(why);
    return_value(inv, &v);
    return TANDEM_OK;
}

static int stop_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    moh_host->leg_hear_stream(moh_host->inv_leg(inv), NULL);
    return TANDEM_OK;
}

static const tandem_function start_fn = {
    sizeof(tandem_function), "moh_start", "|s",
    "call:moh_start([class]): hear music on hold (class: moh_class, else \"default\") until moh_stop(), a bridge "
    "or the end of the call; true, or nil and a reason",
    false, NULL, start_invoke, NULL};
static const tandem_function stop_fn = {sizeof(tandem_function), "moh_stop", "",
                                        "call:moh_stop(): stop hearing music on hold", false, NULL, stop_invoke,
                                        NULL};

static int list_run(void *user, int argc, const char *const *argv, tandem_console_out *out) {
    (void)user, (void)argc, (void)argv;
    bool json = moh_host->console_json(out);
    char line[512];
    if (json) moh_host->console_print(out, "[");
    for (struct moh_class *c = moh_classes; c; c = c->next) {
        if (json)
            snprintf(line, sizeof line, "%s{\"class\":\"%s\",\"rate\":%u,\"files\":%zu}", c == moh_classes ? "" : ",",
                     c->name, c->rate, c->file_count);
        else
            snprintf(line, sizeof line, "%-20s %6u Hz  %zu file(s), first %s\n", c->name, c->rate, c->file_count,
                     c->files[0]);
        moh_host->console_print(out, line);
    }
    if (json) moh_host->console_print(out, "]");
    return TANDEM_OK;
}

static const tandem_console_command list_cmd = {sizeof(tandem_console_command), "moh", "moh",
                                                "music-on-hold classes: name, rate, files", NULL, list_run};

int moh_functions_register(void) {
    int rc = moh_host->register_function(moh_self, &start_fn);
    if (rc == TANDEM_OK) rc = moh_host->register_function(moh_self, &stop_fn);
    if (rc == TANDEM_OK) rc = moh_host->register_console_command(moh_self, &list_cmd);
    return rc;
}
