/* A well-formed test module: test_echo returns its arguments; test_block
 * suspends until the call hangs up (its cancel callback counts). */
#include <tandem/module.h>

#define _GNU_SOURCE
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static const tandem_host *host;
static int cancelled;

static int echo_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    for (size_t i = 0; i < host->inv_argc(inv); ++i)
        host->inv_return(inv, host->inv_arg(inv, i));
    return TANDEM_OK;
}

static int block_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    (void)inv;
    return TANDEM_SUSPENDED;
}

static void block_cancel(void *user, tandem_invocation *inv) {
    (void)user;
    (void)inv;
    ++cancelled;
}

/* test_pipe: proves fd_watch (ABI 1.1): a byte written to a pipe wakes the
 * worker, which completes the suspended invocation. */
struct pipe_wait {
    int fds[2];
    tandem_invocation *inv;
};
static struct pipe_wait the_pipe;

static void pipe_ready(int fd, uint32_t events, void *arg) {
    struct pipe_wait *pw = arg;
    char byte = 0;
    (void)events;
    if (read(fd, &byte, 1) != 1)
        return;
    host->fd_unwatch(NULL, fd);
    close(pw->fds[0]);
    close(pw->fds[1]);
    tandem_value v;
    v.type = TANDEM_VALUE_INTEGER;
    v.as.integer = byte;
    host->inv_return(pw->inv, &v);
    host->inv_complete(pw->inv);
}

static int pipe_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    if (pipe(the_pipe.fds) != 0)
        return TANDEM_ERROR;
    the_pipe.inv = inv;
    if (host->fd_watch(NULL, the_pipe.fds[0], EPOLLIN, pipe_ready, &the_pipe) != TANDEM_OK)
        return TANDEM_ERROR;
    char byte = 42;
    if (write(the_pipe.fds[1], &byte, 1) != 1)
        return TANDEM_ERROR;
    return TANDEM_SUSPENDED;
}

static void pipe_cancel(void *user, tandem_invocation *inv) {
    (void)user;
    (void)inv;
    host->fd_unwatch(NULL, the_pipe.fds[0]);
    close(the_pipe.fds[0]);
    close(the_pipe.fds[1]);
}

static int fail_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    host->inv_error(inv, "test_fail: refused on purpose");
    return TANDEM_ERROR;
}

static const tandem_function echo_fn = {sizeof(tandem_function), "test_echo", "s|in", "echo arguments", false,
                                        NULL, echo_invoke, NULL};
static const tandem_function block_fn = {sizeof(tandem_function), "test_block", "", "suspend until hang-up", true,
                                         NULL, block_invoke, block_cancel};
static const tandem_function pipe_fn = {sizeof(tandem_function), "test_pipe", "", "fd_watch round trip", true,
                                        NULL, pipe_invoke, pipe_cancel};
/* test_caller: reads the leg's caller identity (ABI 1.1), then renames it. */
static int caller_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    const char *num = NULL, *name = NULL;
    tandem_leg *leg = host->inv_leg(inv);
    host->leg_caller(leg, &num, &name);
    tandem_value v;
    v.type = TANDEM_VALUE_STRING;
    v.as.string.ptr = num;
    v.as.string.len = strlen(num);
    host->inv_return(inv, &v);
    v.as.string.ptr = name;
    v.as.string.len = strlen(name);
    host->inv_return(inv, &v);
    return host->leg_set_caller(leg, NULL, "Renamed");
}
/* test_paths: the instance's data directory and name (ABI 1.1). */
static int paths_invoke(void *user, tandem_invocation *inv) {
    (void)user;
    const char *values[2] = {host->instance_path("data"), host->instance_name()};
    if (host->instance_path("nonsense") != NULL)
        return TANDEM_ERROR;
    for (int i = 0; i < 2; ++i) {
        tandem_value v;
        v.type = TANDEM_VALUE_STRING;
        v.as.string.ptr = values[i];
        v.as.string.len = strlen(values[i]);
        host->inv_return(inv, &v);
    }
    return TANDEM_OK;
}
static const tandem_function paths_fn = {sizeof(tandem_function), "test_paths", "", "instance paths", false,
                                         NULL, paths_invoke, NULL};
static const tandem_function caller_fn = {sizeof(tandem_function), "test_caller", "", "caller identity", false,
                                          NULL, caller_invoke, NULL};
static const tandem_function fail_fn = {sizeof(tandem_function), "test_fail", "", "always fails", false,
                                        NULL, fail_invoke, NULL};
/* A clash with a built-in method must be refused. */
static const tandem_function clash_fn = {sizeof(tandem_function), "answer", "", "clashes", false,
                                         NULL, echo_invoke, NULL};

static int cancelled_cmd(void *user, int argc, const char *const *argv, tandem_console_out *out) {
    (void)user;
    (void)argc;
    (void)argv;
    char text[32];
    int n = cancelled, len = 0;
    char digits[16];
    do {
        digits[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n && len < 15);
    for (int i = 0; i < len; ++i)
        text[i] = digits[len - 1 - i];
    text[len] = '\0';
    host->console_print(out, text);
    return TANDEM_OK;
}

static const tandem_console_command cancelled_command = {sizeof(tandem_console_command), "test-cancelled",
                                                         "test-cancelled", "cancelled invocations", NULL,
                                                         cancelled_cmd};

/* TESTX: a toy 8-bit codec (high byte of each sample), so tests can hold a
 * module through a translation chain. */
static int testx_encode(void *user, void *state, const int16_t *pcm, size_t samples, uint8_t *out, size_t cap) {
    (void)user;
    (void)state;
    if (samples > cap)
        return -1;
    for (size_t i = 0; i < samples; ++i)
        out[i] = (uint8_t)((uint16_t)pcm[i] >> 8);
    return (int)samples;
}
static int testx_decode(void *user, void *state, const uint8_t *in, size_t len, int16_t *pcm, size_t cap) {
    (void)user;
    (void)state;
    if (len > cap)
        return -1;
    for (size_t i = 0; i < len; ++i)
        pcm[i] = (int16_t)(uint16_t)(in[i] << 8);
    return (int)len;
}
static const tandem_codec testx_codec = {sizeof(tandem_codec), "TESTX", 8000, 1, NULL, NULL, NULL,
                                         testx_encode, testx_decode, NULL, 0, 0, NULL, NULL, NULL};

static int load(tandem_module *self, const tandem_host *h) {
    host = h;
    if (host->register_function(self, &echo_fn) != TANDEM_OK || host->register_function(self, &block_fn) != TANDEM_OK ||
        host->register_function(self, &fail_fn) != TANDEM_OK ||
        host->register_function(self, &pipe_fn) != TANDEM_OK ||
        host->register_function(self, &caller_fn) != TANDEM_OK ||
        host->register_function(self, &paths_fn) != TANDEM_OK)
        return TANDEM_ERROR;
    if (host->register_function(self, &clash_fn) != TANDEM_EEXIST)
        return TANDEM_ERROR;
    if (host->register_codec(self, &testx_codec) != TANDEM_OK)
        return TANDEM_ERROR;
    return host->register_console_command(self, &cancelled_command);
}

static const tandem_module_desc desc = {TANDEM_MODULE_DESC_INIT, "testgood", "1.0", "loader test module", NULL,
                                        load, NULL, NULL};
TANDEM_MODULE(desc)
