/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-ctl.c: fuzz target for the control-socket server (framing, JSON
 * request parsing, dispatch, deferred replies) and its param helpers. */

/*
 * Design: one ctl server (datapath/ctl.c, the real one) on a private
 * libevent base, listening on a socket in a temporary directory, created on
 * the first input and kept for the process.  Each input is written by a new
 * client connection, which then half-closes; the loop runs until the server
 * closes the connection (or a bound on iterations is hit, which is a hang
 * and traps).  Every complete reply line must be a JSON object with "id"
 * and exactly one of "result" / "error" (with an integer code and a string
 * message), and there are never more replies than request lines; only the
 * last line may be cut, when the server drops a client that does not read
 * fast enough.
 *
 * Registered methods exercise every param helper and both reply styles:
 *   "echo"   ctl_params_check + string/bool/int/strings, returns them.
 *   "defer"  replies later (from a zero-delay timer) through
 *            ctl_pending_reply / ctl_pending_error.
 *   "fail"   returns a positive errno or a CTL_ERR_* code.
 * Limits are lowered (request 8 KiB, output 64 KiB) so that the oversize
 * paths are reachable.
 */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(COND)                                                   \
    do {                                                                    \
        if (!(COND)) {                                                      \
            __builtin_trap();                                               \
        }                                                                   \
    } while (0)

#define FUZZ_MAX_INPUT (64u << 10)

static struct event_base *base;
static struct ctl_server *server;
static char sock_path[108];
static char sock_dir[64];

static int
echo_handler(json_t *params, json_t **result, char *err, size_t errsize,
             void *aux)
{
    static const char *const allowed[] = {
        "s", "b", "i", "list", "req", NULL
    };
    const char *s = NULL, *req = NULL;
    bool b = false;
    long long i = 42;
    json_t *list = NULL;
    int error;

    (void) aux;
    error = ctl_params_check(params, allowed, err, errsize);
    if (!error) {
        error = ctl_param_string(params, "s", false, &s, err, errsize);
    }
    if (!error) {
        error = ctl_param_bool(params, "b", true, &b, err, errsize);
    }
    if (!error) {
        error = ctl_param_int(params, "i", false, -1000, 1000, &i, err,
                              errsize);
    }
    if (!error) {
        error = ctl_param_strings(params, "list", false, &list, err,
                                  errsize);
    }
    if (!error && json_object_get(params, "req")) {
        error = ctl_param_string(params, "req", true, &req, err, errsize);
    }
    if (error) {
        FUZZ_ASSERT(error == CTL_ERR_INVALID_PARAMS);
        FUZZ_ASSERT(memchr(err, '\0', errsize) != NULL);
        return error;
    }
    FUZZ_ASSERT(i >= -1000 && i <= 1000);
    if (list) {
        size_t k;
        json_t *v;

        json_array_foreach (list, k, v) {
            FUZZ_ASSERT(json_is_string(v));
        }
    }
    *result = json_pack("{s:s?,s:b,s:I,s:O?}", "s", s, "b", b, "i",
                        (json_int_t) i, "list", list);
    return 0;
}

struct deferred {
    struct ctl_pending *pending;
    struct event *ev;
    int code;
};

static void
deferred_cb(evutil_socket_t fd, short what, void *aux)
{
    struct deferred *d = aux;

    (void) fd;
    (void) what;
    if (d->code) {
        ctl_pending_error(d->pending, d->code, NULL);
    } else {
        ctl_pending_reply(d->pending, json_pack("{s:b}", "deferred", 1));
    }
    event_free(d->ev);
    free(d);
}

static int
defer_handler(json_t *params, json_t **result, char *err, size_t errsize,
              void *aux)
{
    struct timeval zero = { 0, 0 };
    long long code = 0;
    struct deferred *d;
    int error;

    (void) result;
    (void) aux;
    error = ctl_param_int(params, "code", false, 0, 200, &code, err,
                          errsize);
    if (error) {
        return error;
    }
    d = calloc(1, sizeof *d);
    FUZZ_ASSERT(d);
    d->pending = ctl_pending_current();
    FUZZ_ASSERT(d->pending);
    d->code = (int) code;
    d->ev = evtimer_new(base, deferred_cb, d);
    FUZZ_ASSERT(d->ev);
    evtimer_add(d->ev, &zero);
    return CTL_DEFERRED;
}

static int
fail_handler(json_t *params, json_t **result, char *err, size_t errsize,
             void *aux)
{
    long long code = EINVAL;
    int error;

    (void) result;
    (void) aux;
    error = ctl_param_int(params, "code", false, -32768, 4096, &code, err,
                          errsize);
    if (error) {
        return error;
    }
    if (code == 0 || code == CTL_DEFERRED) {
        code = EIO;
    }
    if (code & 1) {
        snprintf(err, errsize, "failed with %lld", code);
    }
    return (int) code;
}

static void
setup(void)
{
    char err[256];

    signal(SIGPIPE, SIG_IGN);
    snprintf(sock_dir, sizeof sock_dir, "/tmp/fuzz-ctl-XXXXXX");
    FUZZ_ASSERT(mkdtemp(sock_dir) != NULL);
    snprintf(sock_path, sizeof sock_path, "%s/ctl.sock", sock_dir);
    base = event_base_new();
    FUZZ_ASSERT(base);
    server = ctl_server_create(base, sock_path, err, sizeof err);
    if (!server) {
        fprintf(stderr, "fuzz-ctl: %s\n", err);
        abort();
    }
    ctl_server_set_limits(server, 8192, 65536, 2000);
    FUZZ_ASSERT(!ctl_register(server, "echo", echo_handler, NULL));
    FUZZ_ASSERT(!ctl_register(server, "defer", defer_handler, NULL));
    FUZZ_ASSERT(!ctl_register(server, "fail", fail_handler, NULL));
    FUZZ_ASSERT(ctl_register(server, "echo", echo_handler, NULL) == EEXIST);
    FUZZ_ASSERT(ctl_register(server, "", echo_handler, NULL) == EINVAL);
}

static void
teardown(void)
{
    ctl_server_destroy(server);
    event_base_free(base);
    rmdir(sock_dir);
}

static void
check_reply(const char *line, size_t len)
{
    json_error_t jerr;
    json_t *r, *e;

    r = json_loadb(line, len, 0, &jerr);
    FUZZ_ASSERT(r && json_is_object(r));
    FUZZ_ASSERT(json_object_get(r, "id") != NULL);
    e = json_object_get(r, "error");
    FUZZ_ASSERT(!e != !json_object_get(r, "result"));
    if (e) {
        FUZZ_ASSERT(json_is_integer(json_object_get(e, "code")));
        FUZZ_ASSERT(json_is_string(json_object_get(e, "message")));
    }
    json_decref(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *rbuf;
    static int initialised;
    struct sockaddr_un sun;
    size_t sent = 0, rlen = 0, n_lines = 0, n_replies = 0, i, start;
    int fd, iter, eof = 0, shut = 0;

    if (!initialised) {
        setup();
        atexit(teardown);
        rbuf = malloc(1u << 20);
        FUZZ_ASSERT(rbuf);
        initialised = 1;
    }
    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    for (i = 0; i < size; i++) {
        n_lines += data[i] == '\n';
    }
    n_lines++;                  /* The unterminated tail, if any. */

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    FUZZ_ASSERT(fd >= 0);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
    FUZZ_ASSERT(!connect(fd, (struct sockaddr *) &sun, sizeof sun));
    FUZZ_ASSERT(!fcntl(fd, F_SETFL, O_NONBLOCK));

    for (iter = 0; !eof; iter++) {
        ssize_t n;

        FUZZ_ASSERT(iter < 200000);     /* The server hangs. */
        if (sent < size) {
            n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += (size_t) n;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                sent = size;    /* Server closed on us (too large). */
            }
        }
        if (sent == size && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        event_base_loop(base, EVLOOP_NONBLOCK);
        for (;;) {
            if (rlen == (1u << 20)) {
                rlen = 0;       /* Only lines are checked; see below. */
            }
            n = recv(fd, rbuf + rlen, (1u << 20) - rlen, 0);
            if (n > 0) {
                size_t old = rlen;

                rlen += (size_t) n;
                /* Check every complete line. */
                start = 0;
                for (i = old; i < rlen; i++) {
                    if (rbuf[i] == '\n') {
                        check_reply(rbuf + start, i - start);
                        n_replies++;
                        start = i + 1;
                    }
                }
                /* Keep the partial line at the start of rbuf. */
                if (start) {
                    memmove(rbuf, rbuf + start, rlen - start);
                    rlen -= start;
                }
                continue;
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                eof = 1;
            }
            break;
        }
    }
    close(fd);
    /* Replies are whole lines (checked as they came); one per request at
     * most ("too large" adds one for the line it refuses).  The last one
     * may be cut: a client whose unread replies pass the output limit is
     * dropped at once, in the middle of the line the kernel had half
     * taken (regressions/ctl/crash-*: this harness reads between
     * requests, but not fast enough for the 64 KiB limit). */
    FUZZ_ASSERT(n_replies <= n_lines);
    /* Let the server notice and free the connection. */
    for (iter = 0; iter < 1000 && ctl_server_n_clients(server); iter++) {
        event_base_loop(base, EVLOOP_NONBLOCK);
    }
    FUZZ_ASSERT(ctl_server_n_clients(server) == 0);
    return 0;
}
