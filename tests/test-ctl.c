/* SPDX-License-Identifier: BSD-3-Clause */
/* test-ctl.c: unit tests for the control socket server (datapath/ctl). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "ctl.h"

/* The server runs on this thread: the test pumps the loop with
 * EVLOOP_NONBLOCK while it waits for client sockets. */
struct fx {
    struct event_base *base;
    struct ctl_server *srv;
    char dir[64];
    char path[128];
};

static struct fx *g_fx;
static struct ctl_pending *saved[16];
static size_t n_saved;

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void
pump(struct fx *f, int ms)
{
    long long end = now_ms() + ms;

    do {
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(200);
    } while (now_ms() < end);
}

/* ---- Test handlers. ---- */

static int
h_echo(json_t *params, json_t **result, char *err, size_t errsize,
       void *aux)
{
    *result = json_deep_copy(params);
    return 0;
}

static int
h_null(json_t *params, json_t **result, char *err, size_t errsize,
       void *aux)
{
    return 0;
}

static int
h_fail(json_t *params, json_t **result, char *err, size_t errsize,
       void *aux)
{
    if (json_object_get(params, "quiet")) {
        return EBUSY;               /* No message: strerror(). */
    }
    snprintf(err, errsize, "bridge \"x\" not found");
    return ENOENT;
}

static int
h_params(json_t *params, json_t **result, char *err, size_t errsize,
         void *aux)
{
    static const char *const allowed[] = {
        "bridge", "strict", "n", "flows", NULL
    };
    const char *bridge;
    long long n = -1;
    json_t *flows;
    bool strict;
    int rc;

    rc = ctl_params_check(params, allowed, err, errsize);
    if (!rc) {
        rc = ctl_param_string(params, "bridge", true, &bridge, err, errsize);
    }
    if (!rc) {
        rc = ctl_param_bool(params, "strict", false, &strict, err, errsize);
    }
    if (!rc) {
        rc = ctl_param_int(params, "n", false, 0, 10, &n, err, errsize);
    }
    if (!rc) {
        rc = ctl_param_strings(params, "flows", false, &flows, err,
                               errsize);
    }
    if (rc) {
        return rc;
    }
    *result = json_pack("{s:s,s:b,s:I,s:i}", "bridge", bridge, "strict",
                        strict, "n", n, "n_flows",
                        flows ? (int) json_array_size(flows) : -1);
    return 0;
}

static int
h_defer(json_t *params, json_t **result, char *err, size_t errsize,
        void *aux)
{
    struct ctl_pending *p = ctl_pending_current();

    assert_non_null(p);
    assert_ptr_equal(p, ctl_pending_current());
    assert_true(n_saved < 16);
    saved[n_saved++] = p;
    return CTL_DEFERRED;
}

/* Takes the pending reply but answers normally: the pending is dropped. */
static int
h_defer_unused(json_t *params, json_t **result, char *err, size_t errsize,
               void *aux)
{
    assert_non_null(ctl_pending_current());
    *result = json_string("direct");
    return 0;
}

/* Completes its pending reply before returning CTL_DEFERRED. */
static int
h_defer_sync(json_t *params, json_t **result, char *err, size_t errsize,
             void *aux)
{
    ctl_pending_reply(ctl_pending_current(), json_string("sync"));
    return CTL_DEFERRED;
}

static int
h_defer_bad(json_t *params, json_t **result, char *err, size_t errsize,
            void *aux)
{
    return CTL_DEFERRED;            /* Forgot ctl_pending_current(). */
}

static void
timer_done(evutil_socket_t fd, short what, void *p_)
{
    ctl_pending_reply(p_, json_pack("{s:s}", "done", "timer"));
}

static int
h_defer_timer(json_t *params, json_t **result, char *err, size_t errsize,
              void *aux)
{
    struct fx *f = aux;
    struct timeval tv = { 0, 20 * 1000 };

    event_base_once(f->base, -1, EV_TIMEOUT, timer_done,
                    ctl_pending_current(), &tv);
    return CTL_DEFERRED;
}

/* A stream of the integers 0..n-1; an error at item 'fail_at'. */
struct count_stream {
    long long next, n, fail_at;
};

static int n_stream_destroyed;

static int
count_next(void *st_, json_t *items, size_t max, bool *done, char *err,
           size_t errsize)
{
    struct count_stream *st = st_;

    for (size_t i = 0; i < max && st->next < st->n; i++) {
        if (st->next == st->fail_at) {
            snprintf(err, errsize, "item %lld went away", st->fail_at);
            return ESTALE;
        }
        json_array_append_new(items, json_integer(st->next++));
    }
    *done = st->next >= st->n;
    return 0;
}

static void
count_destroy(void *st)
{
    n_stream_destroyed++;
    free(st);
}

static const struct ctl_stream_ops count_ops = { count_next, count_destroy };

static int
h_stream(json_t *params, json_t **result, char *err, size_t errsize,
         void *aux)
{
    struct count_stream *st = calloc(1, sizeof *st);

    st->n = json_integer_value(json_object_get(params, "n"));
    st->fail_at = json_object_get(params, "fail_at")
                  ? json_integer_value(json_object_get(params, "fail_at"))
                  : -1;
    return ctl_stream(&count_ops, st);
}

/* Keeps a counter in the connection's slot: each call adds one and
 * returns the count so far. */
static int n_slot_freed;

static void
slot_free(void *p)
{
    n_slot_freed++;
    free(p);
}

static int
h_slot(json_t *params, json_t **result, char *err, size_t errsize,
       void *aux)
{
    struct ctl_conn_slot *slot = ctl_conn_slot_current();
    int *count;

    if (!slot) {
        snprintf(err, errsize, "no connection");
        return ENOTCONN;
    }
    if (!slot->data) {
        slot->data = calloc(1, sizeof *count);
        slot->free_fn = slot_free;
    }
    count = slot->data;
    *result = json_integer(++*count);
    return 0;
}

static int
setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char err[256];

    strcpy(f->dir, "/tmp/sluice-ctl-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    /* A subdirectory that does not exist yet: the server creates it. */
    snprintf(f->path, sizeof f->path, "%s/run/ctl.sock", f->dir);
    f->base = event_base_new();
    f->srv = ctl_server_create(f->base, f->path, err, sizeof err);
    if (!f->srv) {
        fail_msg("ctl_server_create: %s", err);
    }
    assert_int_equal(ctl_register(f->srv, "echo", h_echo, NULL), 0);
    assert_int_equal(ctl_register(f->srv, "null", h_null, NULL), 0);
    assert_int_equal(ctl_register(f->srv, "fail", h_fail, NULL), 0);
    assert_int_equal(ctl_register(f->srv, "params", h_params, NULL), 0);
    assert_int_equal(ctl_register(f->srv, "defer", h_defer, NULL), 0);
    assert_int_equal(ctl_register(f->srv, "defer-unused", h_defer_unused,
                                  NULL), 0);
    assert_int_equal(ctl_register(f->srv, "defer-sync", h_defer_sync,
                                  NULL), 0);
    assert_int_equal(ctl_register(f->srv, "defer-bad", h_defer_bad, NULL),
                     0);
    assert_int_equal(ctl_register(f->srv, "defer-timer", h_defer_timer, f),
                     0);
    assert_int_equal(ctl_register(f->srv, "stream", h_stream, NULL), 0);
    assert_int_equal(ctl_register(f->srv, "slot", h_slot, NULL), 0);
    assert_int_equal(ctl_register(f->srv, "echo", h_echo, NULL), EEXIST);
    assert_int_equal(ctl_register(f->srv, "list-methods", h_echo, NULL),
                     EEXIST);
    assert_int_equal(ctl_register(f->srv, "", h_echo, NULL), EINVAL);
    n_saved = 0;
    g_fx = f;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char sub[160];

    ctl_server_destroy(f->srv);
    /* Pendings outlive the server; completing them is harmless. */
    for (size_t i = 0; i < n_saved; i++) {
        ctl_pending_error(saved[i], ECANCELED, NULL);
    }
    n_saved = 0;
    event_base_free(f->base);
    snprintf(sub, sizeof sub, "%s/run", f->dir);
    rmdir(sub);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* ---- Client side. ---- */

struct client {
    int fd;
    char *buf;              /* Received, not yet consumed. */
    size_t len, cap;
    bool eof;
};

static void
client_open(struct fx *f, struct client *c)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    memset(c, 0, sizeof *c);
    strcpy(sun.sun_path, f->path);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(c->fd >= 0);
    assert_int_equal(connect(c->fd, (struct sockaddr *) &sun, sizeof sun),
                     0);
    pump(f, 1);
}

static void
client_close(struct client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
    }
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
}

/* Reads what is available. */
static void
client_poll(struct client *c)
{
    for (;;) {
        ssize_t n;

        if (c->cap - c->len < 65536) {
            c->cap = c->cap * 2 + 65536;
            c->buf = realloc(c->buf, c->cap);
        }
        n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n > 0) {
            c->len += (size_t) n;
        } else {
            if (n == 0) {
                c->eof = true;
            }
            return;
        }
    }
}

static void
client_send(struct fx *f, struct client *c, const char *data, size_t len)
{
    long long deadline = now_ms() + 5000;

    while (len) {
        ssize_t n = write(c->fd, data, len);

        if (n > 0) {
            data += n;
            len -= (size_t) n;
        } else if (n < 0 && errno != EAGAIN) {
            return;                 /* The server closed on us. */
        }
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        client_poll(c);
        assert_true(now_ms() < deadline);
    }
}

static void
client_sendf(struct fx *f, struct client *c, const char *fmt, ...)
{
    char *s;
    va_list args;

    va_start(args, fmt);
    assert_true(vasprintf(&s, fmt, args) >= 0);
    va_end(args);
    client_send(f, c, s, strlen(s));
    free(s);
}

/* Returns the next reply line parsed, or NULL on EOF or after 'ms'. */
static json_t *
client_recv(struct fx *f, struct client *c, int ms)
{
    long long deadline = now_ms() + ms;

    for (;;) {
        char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;

        if (nl) {
            size_t n = (size_t) (nl - c->buf);
            json_error_t jerr;
            json_t *j = json_loadb(c->buf, n, 0, &jerr);

            if (!j) {
                fail_msg("reply is not JSON: %.*s", (int) n, c->buf);
            }
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return j;
        }
        if (c->eof || now_ms() > deadline) {
            return NULL;
        }
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        client_poll(c);
        usleep(100);
    }
}

static json_t *
roundtrip(struct fx *f, struct client *c, const char *line)
{
    client_send(f, c, line, strlen(line));
    client_send(f, c, "\n", 1);
    return client_recv(f, c, 5000);
}

static void
assert_error(json_t *reply, int code, const char *msg_part)
{
    json_t *e;

    assert_non_null(reply);
    e = json_object_get(reply, "error");
    if (!e || json_integer_value(json_object_get(e, "code")) != code
        || !strstr(json_string_value(json_object_get(e, "message")),
                   msg_part)) {
        char *s = json_dumps(reply, 0);

        fail_msg("expected error %d \"%s\", got %s", code, msg_part, s);
    }
    assert_null(json_object_get(reply, "result"));
}

static json_t *
result_of(json_t *reply)
{
    json_t *r;

    assert_non_null(reply);
    r = json_object_get(reply, "result");
    if (!r) {
        char *s = json_dumps(reply, 0);

        fail_msg("expected a result, got %s", s);
    }
    return r;
}

/* ---- Tests. ---- */

static void
test_basic(void **state)
{
    struct fx *f = *state;
    struct client c;
    json_t *r, *res;
    size_t i;

    client_open(f, &c);
    r = roundtrip(f, &c, "{\"id\":7,\"method\":\"list-methods\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    res = result_of(r);
    assert_true(json_is_array(res));
    assert_int_equal(json_array_size(res), 12);
    for (i = 1; i < json_array_size(res); i++) {
        assert_true(strcmp(json_string_value(json_array_get(res, i - 1)),
                           json_string_value(json_array_get(res, i))) < 0);
    }
    assert_string_equal(json_string_value(json_array_get(res, 0)), "defer");
    json_decref(r);

    r = roundtrip(f, &c, "{\"id\":\"abc\",\"method\":\"echo\","
                  "\"params\":{\"x\":[1,2,{\"y\":\"\\n\"}]}}");
    assert_string_equal(json_string_value(json_object_get(r, "id")), "abc");
    res = result_of(r);
    assert_string_equal(json_string_value(json_object_get(
        json_array_get(json_object_get(res, "x"), 2), "y")), "\n");
    json_decref(r);

    /* No id: null id. No params: {}. A NULL result: {}. */
    r = roundtrip(f, &c, "{\"method\":\"echo\"}");
    assert_true(json_is_null(json_object_get(r, "id")));
    assert_true(json_is_object(result_of(r)));
    assert_int_equal(json_object_size(result_of(r)), 0);
    json_decref(r);
    r = roundtrip(f, &c, "{\"id\":1,\"method\":\"null\",\"params\":null}");
    assert_true(json_is_object(result_of(r)));
    json_decref(r);

    /* Blank lines and CRLF are fine. */
    r = roundtrip(f, &c, "\n  \r\n{\"id\":2,\"method\":\"echo\"}\r");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
    json_decref(r);

    assert_int_equal(ctl_server_n_clients(f->srv), 1);
    client_close(&c);
    pump(f, 5);
    assert_int_equal(ctl_server_n_clients(f->srv), 0);
}

static void
test_errors(void **state)
{
    struct fx *f = *state;
    struct client c;
    json_t *r;

    client_open(f, &c);
    r = roundtrip(f, &c, "{\"id\":1,\"method\":");
    assert_error(r, CTL_ERR_PARSE, "parse error");
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    r = roundtrip(f, &c, "\x01\xff garbage");
    assert_error(r, CTL_ERR_PARSE, "parse error");
    json_decref(r);
    r = roundtrip(f, &c, "[1,2]");
    assert_error(r, CTL_ERR_INVALID_REQUEST, "must be a JSON object");
    json_decref(r);
    r = roundtrip(f, &c, "{\"id\":3}");
    assert_error(r, CTL_ERR_INVALID_REQUEST, "method");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
    json_decref(r);
    r = roundtrip(f, &c, "{\"id\":3,\"method\":5}");
    assert_error(r, CTL_ERR_INVALID_REQUEST, "method");
    json_decref(r);
    r = roundtrip(f, &c, "{\"id\":[3],\"method\":\"echo\"}");
    assert_error(r, CTL_ERR_INVALID_REQUEST, "id");
    json_decref(r);
    r = roundtrip(f, &c, "{\"id\":4,\"method\":\"echo\",\"params\":[1]}");
    assert_error(r, CTL_ERR_INVALID_PARAMS, "params must be an object");
    json_decref(r);
    r = roundtrip(f, &c, "{\"id\":5,\"method\":\"nosuch\"}");
    assert_error(r, CTL_ERR_NO_METHOD, "unknown method \"nosuch\"");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
    json_decref(r);

    /* Handler errors: errno codes with message, or strerror(). */
    r = roundtrip(f, &c, "{\"id\":6,\"method\":\"fail\"}");
    assert_error(r, ENOENT, "bridge \"x\" not found");
    json_decref(r);
    r = roundtrip(f, &c, "{\"id\":6,\"method\":\"fail\","
                  "\"params\":{\"quiet\":1}}");
    assert_error(r, EBUSY, strerror(EBUSY));
    json_decref(r);

    /* Param helpers. */
    r = roundtrip(f, &c, "{\"id\":8,\"method\":\"params\","
                  "\"params\":{\"bridge\":\"br0\",\"strict\":true,"
                  "\"n\":3,\"flows\":[\"a\",\"b\"]}}");
    assert_string_equal(json_string_value(json_object_get(result_of(r),
                                                          "bridge")), "br0");
    assert_true(json_is_true(json_object_get(result_of(r), "strict")));
    assert_int_equal(json_integer_value(json_object_get(result_of(r), "n")),
                     3);
    assert_int_equal(json_integer_value(json_object_get(result_of(r),
                                                        "n_flows")), 2);
    json_decref(r);
    static const struct {
        const char *params, *msg;
    } bad[] = {
        { "{}", "params.bridge: missing" },
        { "{\"bridge\":1}", "params.bridge: must be a string" },
        { "{\"bridge\":\"b\",\"bridgee\":1}",
          "params.bridgee: unknown key" },
        { "{\"bridge\":\"b\",\"strict\":1}", "params.strict: must be a bool" },
        { "{\"bridge\":\"b\",\"n\":11}",
          "params.n: must be an integer 0..10" },
        { "{\"bridge\":\"b\",\"n\":\"1\"}", "params.n: must be an integer" },
        { "{\"bridge\":\"b\",\"flows\":\"x\"}",
          "params.flows: must be an ar" },
        { "{\"bridge\":\"b\",\"flows\":[\"x\",1]}",
          "params.flows[1]: must be a string" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char line[256];

        snprintf(line, sizeof line, "{\"id\":9,\"method\":\"params\","
                 "\"params\":%s}", bad[i].params);
        r = roundtrip(f, &c, line);
        assert_error(r, CTL_ERR_INVALID_PARAMS, bad[i].msg);
        json_decref(r);
    }

    /* Still usable after all that. */
    r = roundtrip(f, &c, "{\"id\":10,\"method\":\"echo\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 10);
    result_of(r);
    json_decref(r);
    client_close(&c);
}

static const char pre[] = "{\"id\":1,\"method\":\"echo\",\"params\":"
                          "{\"s\":\"";
static const char post[] = "\"}}";

/* Sends a request of 'len' bytes (an echo with a long string). */
static void
send_big(struct fx *f, struct client *c, size_t len, bool newline)
{
    char *req = malloc(len + 1);

    assert_true(len > sizeof pre + sizeof post);
    memcpy(req, pre, sizeof pre - 1);
    memset(req + sizeof pre - 1, 'a', len - (sizeof pre - 1)
                                      - (sizeof post - 1));
    memcpy(req + len - (sizeof post - 1), post, sizeof post - 1);
    req[len] = '\n';
    client_send(f, c, req, len + (newline ? 1 : 0));
    free(req);
}

static void
test_oversized(void **state)
{
    struct fx *f = *state;
    struct client c;
    json_t *r;

    /* Just at the limit: accepted. */
    client_open(f, &c);
    send_big(f, &c, CTL_MAX_REQUEST, true);
    r = client_recv(f, &c, 10000);
    assert_int_equal(strlen(json_string_value(json_object_get(
                         result_of(r), "s"))),
                     CTL_MAX_REQUEST - (sizeof pre - 1) - (sizeof post - 1));
    json_decref(r);
    client_close(&c);

    /* One byte more (no newline yet): the error at once; the rest of the
     * line is discarded and the connection serves the next request. */
    client_open(f, &c);
    send_big(f, &c, CTL_MAX_REQUEST + 1, false);
    r = client_recv(f, &c, 10000);
    assert_error(r, CTL_ERR_INVALID_REQUEST, "too large (limit 4194304");
    json_decref(r);
    client_sendf(f, &c, "more of the same line\n"
                 "{\"id\":7,\"method\":\"echo\",\"params\":{\"a\":1}}\n");
    r = client_recv(f, &c, 10000);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    assert_int_equal(json_integer_value(json_object_get(result_of(r), "a")),
                     1);
    json_decref(r);
    assert_false(c.eof);
    client_close(&c);

    /* A smaller configured limit, with a newline. */
    ctl_server_set_limits(f->srv, 1000, 0, 0);
    client_open(f, &c);
    send_big(f, &c, 1001, true);
    r = client_recv(f, &c, 5000);
    assert_error(r, CTL_ERR_INVALID_REQUEST, "too large (limit 1000");
    json_decref(r);
    client_close(&c);
}

static void
test_many_clients(void **state)
{
    enum { N = 40, K = 5 };
    struct fx *f = *state;
    struct client c[N];
    int i, k;

    for (i = 0; i < N; i++) {
        client_open(f, &c[i]);
    }
    assert_int_equal(ctl_server_n_clients(f->srv), N);
    /* Interleave: every client pipelines K requests, in pieces. */
    for (k = 0; k < K; k++) {
        for (i = 0; i < N; i++) {
            char line[128];
            int n = snprintf(line, sizeof line, "{\"id\":%d,\"method\":"
                             "\"echo\",\"params\":{\"c\":%d}}\n",
                             k, i);
            client_send(f, &c[i], line, (size_t) n / 2);
            client_send(f, &c[i], line + n / 2, (size_t) (n - n / 2));
        }
    }
    for (i = N - 1; i >= 0; i--) {
        for (k = 0; k < K; k++) {
            json_t *r = client_recv(f, &c[i], 5000);

            assert_int_equal(json_integer_value(json_object_get(r, "id")),
                             k);
            assert_int_equal(json_integer_value(json_object_get(
                                 result_of(r), "c")), i);
            json_decref(r);
        }
    }
    for (i = 0; i < N; i++) {
        client_close(&c[i]);
    }
    pump(f, 10);
    assert_int_equal(ctl_server_n_clients(f->srv), 0);
}

static void
test_deferred(void **state)
{
    struct fx *f = *state;
    struct client a, b;
    json_t *r;

    client_open(f, &a);
    client_open(f, &b);

    /* A's deferred request holds back A's next request, not B. */
    client_sendf(f, &a, "{\"id\":1,\"method\":\"defer\"}\n"
                 "{\"id\":2,\"method\":\"echo\"}\n");
    assert_null(client_recv(f, &a, 50));
    assert_int_equal(n_saved, 1);
    r = roundtrip(f, &b, "{\"id\":9,\"method\":\"echo\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 9);
    json_decref(r);
    assert_null(client_recv(f, &a, 20));

    ctl_pending_reply(saved[0], json_string("later"));
    n_saved = 0;
    r = client_recv(f, &a, 2000);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    assert_string_equal(json_string_value(result_of(r)), "later");
    json_decref(r);
    r = client_recv(f, &a, 2000);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
    json_decref(r);

    /* Deferred error. */
    client_sendf(f, &a, "{\"id\":3,\"method\":\"defer\"}\n");
    pump(f, 5);
    assert_int_equal(n_saved, 1);
    ctl_pending_error(saved[0], EAGAIN, "grace period");
    n_saved = 0;
    assert_error(r = client_recv(f, &a, 2000), EAGAIN, "grace period");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 3);
    json_decref(r);

    /* Completed by a timer on the loop. */
    r = roundtrip(f, &a, "{\"id\":4,\"method\":\"defer-timer\"}");
    assert_string_equal(json_string_value(json_object_get(result_of(r),
                                                          "done")), "timer");
    json_decref(r);

    /* Completed inside the handler; taken but unused; forgotten. */
    r = roundtrip(f, &a, "{\"id\":5,\"method\":\"defer-sync\"}");
    assert_string_equal(json_string_value(result_of(r)), "sync");
    json_decref(r);
    r = roundtrip(f, &a, "{\"id\":6,\"method\":\"defer-unused\"}");
    assert_string_equal(json_string_value(result_of(r)), "direct");
    json_decref(r);
    r = roundtrip(f, &a, "{\"id\":7,\"method\":\"defer-bad\"}");
    assert_error(r, CTL_ERR_INTERNAL, "deferred");
    json_decref(r);
    r = roundtrip(f, &a, "{\"id\":8,\"method\":\"echo\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 8);
    json_decref(r);

    /* The client goes away before the reply: no crash, no leak. */
    client_sendf(f, &a, "{\"id\":9,\"method\":\"defer\"}\n");
    pump(f, 5);
    assert_int_equal(n_saved, 1);
    client_close(&a);
    pump(f, 10);
    ctl_pending_reply(saved[0], json_string("nobody listens"));
    n_saved = 0;
    pump(f, 10);
    assert_int_equal(ctl_server_n_clients(f->srv), 1);

    /* No pending outside a handler. */
    assert_null(ctl_pending_current());

    /* Left pending at teardown: teardown completes it after destroy. */
    client_sendf(f, &b, "{\"id\":10,\"method\":\"defer\"}\n");
    pump(f, 5);
    assert_int_equal(n_saved, 1);
    client_close(&b);
}

/* The client sends, then shuts down its sending side: replies still come,
 * including one for a last line without a newline. */
static void
test_half_close(void **state)
{
    struct fx *f = *state;
    struct client c;
    json_t *r;

    client_open(f, &c);
    client_sendf(f, &c, "{\"id\":1,\"method\":\"defer\"}\n"
                 "{\"id\":2,\"method\":\"echo\"}");
    shutdown(c.fd, SHUT_WR);
    pump(f, 10);
    assert_int_equal(n_saved, 1);
    ctl_pending_reply(saved[0], NULL);
    n_saved = 0;
    r = client_recv(f, &c, 2000);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    json_decref(r);
    r = client_recv(f, &c, 2000);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
    json_decref(r);
    assert_null(client_recv(f, &c, 2000));
    assert_true(c.eof);
    client_close(&c);
    pump(f, 5);
    assert_int_equal(ctl_server_n_clients(f->srv), 0);
}

/* A client that sends requests but never reads its replies is dropped,
 * and the server keeps serving others meanwhile. */
static void
test_slow_client(void **state)
{
    struct fx *f = *state;
    struct client slow, c;
    json_t *r;
    char *req;
    size_t len = 32 * 1024;
    long long deadline;

    ctl_server_set_limits(f->srv, 0, 256 * 1024, 300);
    client_open(f, &slow);
    client_open(f, &c);
    req = malloc(len + 64);
    len = (size_t) sprintf(req, "{\"method\":\"echo\",\"params\":{\"s\":\"");
    memset(req + len, 'x', 32 * 1024);
    len += 32 * 1024;
    len += (size_t) sprintf(req + len, "\"}}\n");

    deadline = now_ms() + 8000;
    while (ctl_server_n_clients(f->srv) == 2) {
        ssize_t n = write(slow.fd, req, len);   /* Partial writes: fine. */

        (void) n;
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        assert_true(now_ms() < deadline);
    }
    free(req);
    assert_int_equal(ctl_server_n_clients(f->srv), 1);
    r = roundtrip(f, &c, "{\"id\":1,\"method\":\"echo\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    json_decref(r);
    client_close(&slow);
    client_close(&c);
}

/* ctl_call(): a registered handler run outside any connection (the HTTP
 * API), with the same results and errors a client would get. */
static void
test_call(void **state)
{
    struct fx *f = *state;
    json_t *params = json_pack("{s:s, s:i}", "bridge", "br0", "n", 3);
    json_t *result = (json_t *) 1;
    char err[256];

    assert_true(ctl_has_method(f->srv, "echo"));
    assert_true(ctl_has_method(f->srv, "list-methods"));
    assert_false(ctl_has_method(f->srv, "nope"));

    assert_int_equal(ctl_call(f->srv, "echo", params, &result, err,
                              sizeof err), 0);
    assert_true(json_equal(result, params));
    json_decref(result);

    /* NULL result means {}. */
    assert_int_equal(ctl_call(f->srv, "null", params, &result, err,
                              sizeof err), 0);
    assert_true(json_is_object(result) && !json_object_size(result));
    json_decref(result);

    assert_int_equal(ctl_call(f->srv, "fail", params, &result, err,
                              sizeof err), ENOENT);
    assert_null(result);
    assert_string_equal(err, "bridge \"x\" not found");
    json_object_set_new(params, "quiet", json_true());
    assert_int_equal(ctl_call(f->srv, "fail", params, &result, err,
                              sizeof err), EBUSY);
    assert_string_equal(err, strerror(EBUSY));

    assert_int_equal(ctl_call(f->srv, "params", params, &result, err,
                              sizeof err), CTL_ERR_INVALID_PARAMS);
    assert_string_equal(err, "params.quiet: unknown key");

    assert_int_equal(ctl_call(f->srv, "nope", params, &result, err,
                              sizeof err), CTL_ERR_NO_METHOD);
    assert_string_equal(err, "unknown method \"nope\"");

    /* A handler that would defer gets no pending reply here, and the
     * call is refused; nothing is left behind. */
    assert_int_equal(ctl_call(f->srv, "defer-bad", params, &result, err,
                              sizeof err), CTL_ERR_INTERNAL);
    assert_null(result);
    json_decref(params);

    /* The server still answers its clients. */
    pump(f, 10);
}

/* Checks that 'r' is a part of stream 'id' holding the integers from
 * '*next' on, and 'more' as expected; advances '*next'. */
static void
assert_part(json_t *r, int id, long long *next, size_t n, bool more)
{
    json_t *items = result_of(r), *v;
    size_t i;

    assert_int_equal(json_integer_value(json_object_get(r, "id")), id);
    assert_int_equal(json_array_size(items), n);
    json_array_foreach (items, i, v) {
        assert_int_equal(json_integer_value(v), (*next)++);
    }
    assert_int_equal(json_is_true(json_object_get(r, "more")), more);
    if (!more) {
        assert_null(json_object_get(r, "more"));
    }
    json_decref(r);
}

static void
test_stream(void **state)
{
    struct fx *f = *state;
    struct client c;
    long long next;
    json_t *r;

    n_stream_destroyed = 0;
    client_open(f, &c);

    /* In parts of CTL_STREAM_ITEMS; the request behind it waits. */
    client_sendf(f, &c, "{\"id\":1,\"method\":\"stream\",\"stream\":true,"
                 "\"params\":{\"n\":2500}}\n{\"id\":2,\"method\":\"echo\"}\n");
    next = 0;
    assert_part(client_recv(f, &c, 2000), 1, &next, 1000, true);
    assert_part(client_recv(f, &c, 2000), 1, &next, 1000, true);
    assert_part(client_recv(f, &c, 2000), 1, &next, 500, false);
    r = client_recv(f, &c, 2000);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
    json_decref(r);
    assert_int_equal(n_stream_destroyed, 1);

    /* Empty; exactly one part. */
    next = 0;
    assert_part(roundtrip(f, &c, "{\"id\":3,\"method\":\"stream\","
                          "\"stream\":true,\"params\":{\"n\":0}}"),
                3, &next, 0, false);

    /* Not asked for: one reply with everything. */
    next = 0;
    assert_part(roundtrip(f, &c, "{\"id\":4,\"method\":\"stream\","
                          "\"params\":{\"n\":2500}}"), 4, &next, 2500,
                false);
    next = 0;
    assert_part(roundtrip(f, &c, "{\"id\":5,\"method\":\"stream\","
                          "\"stream\":false,\"params\":{\"n\":3}}"),
                5, &next, 3, false);

    /* An error partway ends the stream with an error line. */
    client_sendf(f, &c, "{\"id\":6,\"method\":\"stream\",\"stream\":true,"
                 "\"params\":{\"n\":5000,\"fail_at\":1500}}\n");
    next = 0;
    assert_part(client_recv(f, &c, 2000), 6, &next, 1000, true);
    r = client_recv(f, &c, 2000);
    assert_error(r, ESTALE, "item 1500 went away");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 6);
    json_decref(r);
    r = roundtrip(f, &c, "{\"id\":7,\"method\":\"stream\","
                  "\"params\":{\"n\":10,\"fail_at\":5}}");
    assert_error(r, ESTALE, "item 5");
    json_decref(r);
    assert_int_equal(n_stream_destroyed, 6);

    r = roundtrip(f, &c, "{\"id\":8,\"method\":\"stream\","
                  "\"stream\":1,\"params\":{\"n\":10}}");
    assert_error(r, CTL_ERR_INVALID_REQUEST, "stream must be true or false");
    json_decref(r);

    /* Over the output limit without a stream: an error naming it; with
     * one, the same list goes through. */
    ctl_server_set_limits(f->srv, 0, 8000, 0);
    r = roundtrip(f, &c, "{\"id\":9,\"method\":\"stream\","
                  "\"params\":{\"n\":5000}}");
    assert_error(r, EFBIG, "CTL_MAX_OUTPUT");
    json_decref(r);
    client_sendf(f, &c, "{\"id\":10,\"method\":\"stream\",\"stream\":true,"
                 "\"params\":{\"n\":5000}}\n");
    next = 0;
    for (int i = 0; i < 5; i++) {
        assert_part(client_recv(f, &c, 2000), 10, &next, 1000, i < 4);
    }
    assert_int_equal(n_stream_destroyed, 8);

    /* Parts come only as the client reads: a client that reads one part
     * of a long stream and goes away leaves nothing behind. */
    ctl_server_set_limits(f->srv, 0, CTL_MAX_OUTPUT, 0);
    client_sendf(f, &c, "{\"id\":11,\"method\":\"stream\",\"stream\":true,"
                 "\"params\":{\"n\":100000000}}\n");
    next = 0;
    assert_part(client_recv(f, &c, 2000), 11, &next, 1000, true);
    pump(f, 50);
    assert_int_equal(n_stream_destroyed, 8);
    client_close(&c);
    pump(f, 20);
    assert_int_equal(n_stream_destroyed, 9);
    assert_int_equal(ctl_server_n_clients(f->srv), 0);
}

/* ctl_call() collects a stream into one array, within the output limit. */
static void
test_call_stream(void **state)
{
    struct fx *f = *state;
    json_t *params = json_pack("{s:i}", "n", 2345), *result;
    char err[256];

    n_stream_destroyed = 0;
    assert_int_equal(ctl_call(f->srv, "stream", params, &result, err,
                              sizeof err), 0);
    assert_int_equal(json_array_size(result), 2345);
    assert_int_equal(json_integer_value(json_array_get(result, 2344)), 2344);
    json_decref(result);
    ctl_server_set_limits(f->srv, 0, 1000, 0);
    assert_int_equal(ctl_call(f->srv, "stream", params, &result, err,
                              sizeof err), EFBIG);
    assert_null(result);
    assert_non_null(strstr(err, "CTL_MAX_OUTPUT"));
    json_object_set_new(params, "n", json_integer(10));
    json_object_set_new(params, "fail_at", json_integer(3));
    assert_int_equal(ctl_call(f->srv, "stream", params, &result, err,
                              sizeof err), ESTALE);
    assert_null(result);
    assert_int_equal(n_stream_destroyed, 3);
    /* No connection, no slot. */
    assert_int_equal(ctl_call(f->srv, "slot", params, &result, err,
                              sizeof err), ENOTCONN);
    json_decref(params);
}

/* Each connection has its own slot, freed when it goes away. */
static void
test_conn_slot(void **state)
{
    struct fx *f = *state;
    struct client a, b;
    json_t *r;

    n_slot_freed = 0;
    client_open(f, &a);
    client_open(f, &b);
    for (int i = 1; i <= 3; i++) {
        r = roundtrip(f, &a, "{\"id\":1,\"method\":\"slot\"}");
        assert_int_equal(json_integer_value(result_of(r)), i);
        json_decref(r);
    }
    r = roundtrip(f, &b, "{\"id\":1,\"method\":\"slot\"}");
    assert_int_equal(json_integer_value(result_of(r)), 1);
    json_decref(r);
    client_close(&a);
    pump(f, 20);
    assert_int_equal(n_slot_freed, 1);
    client_close(&b);
    pump(f, 20);
    assert_int_equal(n_slot_freed, 2);
}

static void
test_socket_file(void **state)
{
    struct fx *f = *state;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    char path2[160], err[256];
    struct ctl_server *s2;
    struct stat st;
    int fd;

    (void) state;
    assert_int_equal(stat(f->path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    /* A live server on the path: refused, and the file is left alone. */
    s2 = ctl_server_create(f->base, f->path, err, sizeof err);
    assert_null(s2);
    assert_non_null(strstr(err, "another process"));
    assert_int_equal(stat(f->path, &st), 0);

    /* Not a socket: refused, file kept. */
    snprintf(path2, sizeof path2, "%s/run/plain", f->dir);
    fd = open(path2, O_CREAT | O_WRONLY, 0644);
    close(fd);
    s2 = ctl_server_create(f->base, path2, err, sizeof err);
    assert_null(s2);
    assert_non_null(strstr(err, "not a socket"));
    assert_int_equal(stat(path2, &st), 0);
    unlink(path2);

    /* A stale socket (bound, nobody listening): replaced. */
    snprintf(path2, sizeof path2, "%s/run/stale.sock", f->dir);
    strcpy(sun.sun_path, path2);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    close(fd);
    assert_int_equal(stat(path2, &st), 0);
    s2 = ctl_server_create(f->base, path2, err, sizeof err);
    if (!s2) {
        fail_msg("stale socket not replaced: %s", err);
    }
    ctl_server_destroy(s2);
    assert_int_equal(stat(path2, &st), -1);
    assert_int_equal(errno, ENOENT);

    /* Too long a path. */
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    assert_null(ctl_server_create(f->base, longp, err, sizeof err));
    ctl_server_destroy(NULL);
}

/* ---- sluice-ofctl against this server (skipped if not built). ---- */

static const char *
ofctl_path(void)
{
    static const char *const cands[] = {
        "ofctl/sluice-ofctl", "../ofctl/sluice-ofctl",
    };
    const char *env = getenv("SLUICE_OFCTL");

    if (env) {
        return env;
    }
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
        if (!access(cands[i], X_OK)) {
            return cands[i];
        }
    }
    return NULL;
}

/* Runs sluice-ofctl with 'args' (NULL-terminated, after the program name
 * and --socket), pumping the server until it exits. Returns the exit
 * status; its stdout and stderr go to 'out' / 'errout' (malloc'd). */
static int
run_ofctl(struct fx *f, const char *const *args, const char *stdin_text,
          char **out, char **errout)
{
    const char *prog = ofctl_path();
    char outp[160], errp[160], inp[160];
    long long deadline = now_ms() + 10000;
    int status = -1;
    pid_t pid;

    snprintf(outp, sizeof outp, "%s/out", f->dir);
    snprintf(errp, sizeof errp, "%s/err", f->dir);
    snprintf(inp, sizeof inp, "%s/in", f->dir);
    if (stdin_text) {
        FILE *in = fopen(inp, "w");

        fputs(stdin_text, in);
        fclose(in);
    }
    pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        const char *argv[32];
        size_t n = 0;

        argv[n++] = prog;
        argv[n++] = "--socket";
        argv[n++] = f->path;
        for (; *args && n < 31; args++) {
            argv[n++] = *args;
        }
        argv[n] = NULL;
        freopen(outp, "w", stdout);
        freopen(errp, "w", stderr);
        freopen(stdin_text ? inp : "/dev/null", "r", stdin);
        execv(prog, (char **) argv);
        _exit(127);
    }
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);

        if (w == pid) {
            break;
        }
        event_base_loop(f->base, EVLOOP_NONBLOCK);
        usleep(200);
        assert_true(now_ms() < deadline);
    }
    for (int i = 0; i < 2; i++) {
        FILE *fp = fopen(i ? errp : outp, "r");
        char **dst = i ? errout : out;
        size_t cap = 1 << 16, len;

        *dst = calloc(1, cap);
        len = fp ? fread(*dst, 1, cap - 1, fp) : 0;
        (*dst)[len] = '\0';
        if (fp) {
            fclose(fp);
        }
    }
    unlink(outp);
    unlink(errp);
    unlink(inp);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Fake daemon methods: record the last params, return canned results. */
static json_t *last_params;
static char last_method[64];

static int
h_record(json_t *params, json_t **result, char *err, size_t errsize,
         void *aux)
{
    const char *method = aux;

    json_decref(last_params);
    last_params = json_deep_copy(params);
    snprintf(last_method, sizeof last_method, "%s", method);
    if (!strcmp(method, "dump-flows")
        && json_is_true(json_object_get(params, "text"))) {
        *result = json_pack("[s,s]", " cookie=0x0, duration=1.234s, line 1",
                            " cookie=0x1f, line 2");
    } else if (!strcmp(method, "dump-flows")) {
        *result = json_loads(
            "[{\"table\":0,\"priority\":100,\"cookie\":\"0x0\","
            "\"duration_s\":1.234,\"n_packets\":5,\"n_bytes\":300,"
            "\"idle_timeout\":10,\"hard_timeout\":0,\"idle_age_s\":0,"
            "\"match\":\"ip,in_port=1\",\"actions\":\"output:2\"},"
            "{\"table\":1,\"priority\":0,\"cookie\":\"0x1f\","
            "\"duration_s\":20.5,\"n_packets\":0,\"n_bytes\":0,"
            "\"idle_timeout\":0,\"hard_timeout\":30,\"idle_age_s\":20,"
            "\"match\":\"\",\"actions\":\"NORMAL\"}]", 0, NULL);
    } else if (!strcmp(method, "dump-ports")) {
        *result = json_loads(
            "[{\"ofport\":1,\"name\":\"p1\",\"rx_packets\":10,"
            "\"rx_bytes\":600,\"rx_dropped\":1,\"rx_errors\":2,"
            "\"tx_packets\":9,\"tx_bytes\":540,\"tx_dropped\":3,"
            "\"tx_errors\":4}]", 0, NULL);
    } else if (!strcmp(method, "dummy-capture")) {
        *result = json_loads("{\"packets\":[\"ffffffffffff\",\"0102\"]}",
                             0, NULL);
    } else if (!strcmp(method, "del-port")) {
        snprintf(err, errsize, "port \"zz\" not found");
        return ENOENT;
    } else {
        *result = json_pack("{s:i}", "count", 1);
    }
    return 0;
}

static void
register_fake_daemon(struct fx *f)
{
    static const char *const methods[] = {
        "show", "dump-ports", "add-flows", "mod-flows", "del-flows",
        "replace-flows", "dump-flows", "add-port", "del-port",
        "dump-megaflows", "pmd-stats", "dummy-inject", "dummy-capture",
    };

    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        assert_int_equal(ctl_register(f->srv, methods[i], h_record,
                                      (void *) methods[i]), 0);
    }
    last_method[0] = '\0';
}

static bool
params_equal(const char *json)
{
    json_t *expect = json_loads(json, 0, NULL);
    bool eq;

    assert_non_null(expect);
    eq = json_equal(expect, last_params);
    if (!eq) {
        char *got = json_dumps(last_params, JSON_SORT_KEYS);

        print_error("params: expected %s, got %s\n", json, got);
        free(got);
    }
    json_decref(expect);
    return eq;
}

#define OFCTL(...) ((const char *const []) { __VA_ARGS__, NULL })

static void
test_ofctl(void **state)
{
    struct fx *f = *state;
    char *out, *err;
    json_t *j;
    int rc;

    if (!ofctl_path()) {
        skip();
    }
    register_fake_daemon(f);

    rc = run_ofctl(f, OFCTL("dump-flows", "br0"), NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(last_method, "dump-flows");
    /* Text: the daemon's lines, as they are. */
    assert_true(params_equal("{\"bridge\":\"br0\",\"text\":true}"));
    assert_string_equal(out, " cookie=0x0, duration=1.234s, line 1\n"
                        " cookie=0x1f, line 2\n");
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("--format=json", "dump-flows", "br0"), NULL,
                   &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\"}"));
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 2);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(j, 1), "cookie")), "0x1f");
    json_decref(j);
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("--format=json", "dump-ports", "br0", "1"),
                   NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\",\"port\":1}"));
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(j, 0), "tx_errors")), 4);
    json_decref(j);
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("dump-ports", "br0"), NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\"}"));
    assert_non_null(strstr(out, "port  1: rx pkts=10, bytes=600, drop=1, "
                           "errs=2"));
    assert_non_null(strstr(out, "           tx pkts=9, bytes=540, drop=3, "
                           "errs=4"));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("add-port", "br0", "p9", "dpdk",
                            "devargs=net_null0,no-rx=1", "ofport=9"),
                   NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\",\"name\":\"p9\","
                             "\"type\":\"dpdk\",\"options\":{\"devargs\":"
                             "\"net_null0,no-rx=1\",\"ofport\":\"9\"}}"));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("del-port", "br0", "zz"), NULL, &out, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "sluice-ofctl: port \"zz\" not found"));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("inject", "br0", "d1", "ff:ff:ff:ff:ff:ff",
                            "0102"), NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\",\"port\":\"d1\","
                             "\"packets\":[\"ffffffffffff\",\"0102\"]}"));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("capture", "br0", "d1"), NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "ffffffffffff\n0102\n");
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("call", "echo", "{\"a\":[1]}"), NULL, &out,
                   &err);
    assert_int_equal(rc, 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_array_get(
                         json_object_get(j, "a"), 0)), 1);
    json_decref(j);
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("call", "nosuch"), NULL, &out, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "unknown method"));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("frobnicate"), NULL, &out, &err);
    assert_int_equal(rc, 2);
    free(out);
    free(err);

    json_decref(last_params);
    last_params = NULL;
}

/* Flow commands: what is sent, and local syntax checks (the fake daemon
 * must see nothing when the syntax is wrong). */
static void
test_ofctl_flows(void **state)
{
    struct fx *f = *state;
    char *out, *err;
    int rc;

    if (!ofctl_path()) {
        skip();
    }
    register_fake_daemon(f);

    rc = run_ofctl(f, OFCTL("add-flow", "br0",
                            "priority=10,in_port=1,actions=output:2"),
                   NULL, &out, &err);
    if (rc) {
        fail_msg("add-flow: rc %d: %s", rc, err);
    }
    assert_true(params_equal("{\"bridge\":\"br0\",\"flows\":"
                             "[\"priority=10,in_port=1,actions=output:2\"]}"
                             ));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("add-flows", "br0", "-"),
                   "# comment\n\npriority=1,actions=drop\n"
                   "  ip,nw_dst=10.0.0.0/8,actions=NORMAL  \n",
                   &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\",\"flows\":"
                             "[\"priority=1,actions=drop\","
                             "\"ip,nw_dst=10.0.0.0/8,actions=NORMAL\"]}"));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("mod-flows", "br0", "--strict",
                            "priority=5,ip,actions=drop"),
                   NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\",\"flow\":"
                             "\"priority=5,ip,actions=drop\","
                             "\"strict\":true}"));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("del-flows", "br0"), NULL, &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\",\"strict\":false}"));
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("del-flows", "br0", "tcp,tp_dst=80"), NULL,
                   &out, &err);
    assert_int_equal(rc, 0);
    assert_true(params_equal("{\"bridge\":\"br0\",\"strict\":false,"
                             "\"match\":\"tcp,tp_dst=80\"}"));
    free(out);
    free(err);

    /* Syntax errors: exit 1, the daemon sees nothing. */
    last_method[0] = '\0';
    rc = run_ofctl(f, OFCTL("add-flow", "br0",
                            "priority=10,nw_dstt=1.2.3.4,actions=drop"),
                   NULL, &out, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, "nw_dstt"));
    assert_string_equal(last_method, "");
    free(out);
    free(err);

    rc = run_ofctl(f, OFCTL("add-flows", "br0", "-"),
                   "priority=1,actions=drop\n# c\nip,actions=frob:3\n",
                   &out, &err);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(err, ":3:"));
    assert_non_null(strstr(err, "frob"));
    assert_string_equal(last_method, "");
    free(out);
    free(err);

    json_decref(last_params);
    last_params = NULL;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_clients, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deferred, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conn_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_socket_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ofctl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ofctl_flows, setup, teardown),
    };

    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
