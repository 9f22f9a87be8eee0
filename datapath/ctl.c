/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl.c: control socket server: JSON lines over a Unix socket (libevent). */
#include "ctl.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

LOG_MODULE(ctl);

struct ctl_method {
    char *name;
    ctl_handler_fn *fn;
    void *aux;
    unsigned flags;             /* CTL_READ_ONLY */
};

/* One client connection. */
struct ctl_conn {
    struct ctl_server *server;
    struct bufferevent *bev;
    struct event *resume_ev;    /* Processes buffered requests later. */
    struct ctl_pending *pending;    /* Outstanding deferred request. */
    bool eof;                   /* Client shut down its sending side. */
    bool closing;               /* Free once the output is flushed. */
    bool skipping;              /* Discarding the rest of a line that was
                                   too long (its error is sent). */
    bool dead;                  /* Free as soon as possible. */
    bool busy;                  /* Inside conn_process() (no free). */
    bool throttled;             /* Requests wait until the client reads
                                 * its output down (conn_write_cb). */
    const struct ctl_stream_ops *stream_ops;    /* Streaming a result. */
    void *stream_state;
    json_t *stream_id;
    struct ctl_conn_slot slot;  /* Handlers' state (ctl_conn_slot_current). */
    size_t scanned;             /* Input bytes known to hold no newline. */
    struct ctl_conn *prev, *next;
};

struct ctl_pending {
    struct ctl_conn *conn;      /* NULL once the connection is gone. */
    json_t *id;                 /* Request id (owned). */
};

struct ctl_server {
    struct event_base *base;
    struct evconnlistener *listener;
    struct event *relisten_ev;  /* Re-enables accept after an error. */
    char *path;
    dev_t dev;                  /* Identity of our socket file. */
    ino_t ino;
    struct ctl_method *methods;
    size_t n_methods;
    struct ctl_conn *conns;     /* Doubly linked list. */
    size_t n_conns;
    size_t max_request;
    size_t max_output;
    unsigned int write_timeout_ms;
};

/* The request being handled (for ctl_pending_current()). Main thread. */
static struct ctl_conn *cur_conn;
static json_t *cur_id;
static struct ctl_pending *cur_pending;
static bool in_handler;
static const struct ctl_stream_ops *cur_stream_ops;
static void *cur_stream_state;

static void conn_process(struct ctl_conn *);
static void conn_free(struct ctl_conn *);

/* ---- Replies. ---- */

/* Queues 'reply' (stolen) on 'c' as one line. Marks 'c' dead if the client
 * has stopped reading. */
static void
conn_send(struct ctl_conn *c, json_t *reply)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char *text;

    if (c->dead) {
        json_decref(reply);
        return;
    }
    if (evbuffer_get_length(out) > c->server->max_output) {
        /* Replies are piling up unread: the client is not reading.  It is
         * dropped at once (a client that keeps sending must not keep the
         * main loop busy); the line the kernel had half taken when it
         * stopped reading reaches it cut. */
        c->dead = true;
        json_decref(reply);
        return;
    }
    text = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    if (!text) {
        /* Unencodable result (e.g. a NaN real) or no memory. */
        json_t *id = reply ? json_object_get(reply, "id") : NULL;
        json_t *e = json_pack("{s:O?,s:{s:i,s:s}}", "id", id, "error",
                              "code", CTL_ERR_INTERNAL, "message",
                              "cannot encode the reply");

        text = e ? json_dumps(e, JSON_COMPACT) : NULL;
        json_decref(e);
    }
    json_decref(reply);
    if (!text || bufferevent_write(c->bev, text, strlen(text))
        || bufferevent_write(c->bev, "\n", 1)) {
        c->dead = true;
    }
    free(text);
}

static void
conn_send_result(struct ctl_conn *c, json_t *id, json_t *result)
{
    json_t *reply = json_object();

    if (reply) {
        json_object_set(reply, "id", id ? id : json_null());
        json_object_set_new(reply, "result", result ? result : json_object());
    } else {
        json_decref(result);
    }
    conn_send(c, reply);
}

static void
conn_send_error(struct ctl_conn *c, json_t *id, int code, const char *msg)
{
    json_t *reply;

    if ((!msg || !msg[0]) && code > 0) {
        msg = strerror(code);
    }
    reply = json_pack("{s:O,s:{s:i,s:s}}", "id", id ? id : json_null(),
                      "error", "code", code, "message", msg ? msg : "");
    conn_send(c, reply);
}

/* ---- Streamed results. ---- */

/* A connection waits (reads no request) while a deferred reply or a
 * stream is outstanding. */
static bool
conn_waiting(const struct ctl_conn *c)
{
    return c->pending || c->stream_ops;
}

/* Takes the stream a handler set up with ctl_stream(), if any. */
static bool
take_stream(const struct ctl_stream_ops **ops, void **state)
{
    *ops = cur_stream_ops;
    *state = cur_stream_state;
    cur_stream_ops = NULL;
    cur_stream_state = NULL;
    return *ops != NULL;
}

/* Runs a stream to its end, writing its items into 'out' as JSON,
 * comma-separated (the inside of an array).  Past 'limit' bytes it stops
 * with EFBIG and a message naming the limit.  Destroys the stream's state
 * either way.  Returns 0 or an error code with 'err' filled. */
static int
stream_to_text(const struct ctl_stream_ops *ops, void *state, size_t limit,
               struct evbuffer *out, char *err, size_t errsize)
{
    size_t start = evbuffer_get_length(out);
    bool done = false;
    int rc = 0;

    while (!rc && !done) {
        json_t *items = json_array();
        char *text = NULL;

        rc = items ? ops->next(state, items, CTL_STREAM_ITEMS, &done, err,
                               errsize)
                   : ENOMEM;
        if (!rc && json_array_size(items)) {
            text = json_dumps(items, JSON_COMPACT);
            rc = text ? 0 : ENOMEM;
        }
        if (text) {
            /* The items without the array's brackets. */
            if (evbuffer_get_length(out) > start) {
                evbuffer_add(out, ",", 1);
            }
            evbuffer_add(out, text + 1, strlen(text) - 2);
            free(text);
        }
        json_decref(items);
        if (!rc && evbuffer_get_length(out) - start > limit) {
            snprintf(err, errsize, "reply too large (over %zu bytes, "
                     "CTL_MAX_OUTPUT): ask for a streamed reply "
                     "(\"stream\": true; sluice-ofctl streams)", limit);
            rc = EFBIG;
        }
    }
    ops->destroy(state);
    if (rc == ENOMEM && !err[0]) {
        snprintf(err, errsize, "out of memory");
    }
    return rc;
}

/* Runs a stream to its end into one array '*result' (ctl_call()), within
 * 'limit' bytes of JSON like a connection's reply. */
static int
stream_collect(const struct ctl_stream_ops *ops, void *state, size_t limit,
               json_t **result, char *err, size_t errsize)
{
    struct evbuffer *text = evbuffer_new();
    int rc;

    *result = NULL;
    if (!text) {
        ops->destroy(state);
        snprintf(err, errsize, "out of memory");
        return ENOMEM;
    }
    evbuffer_add(text, "[", 1);
    rc = stream_to_text(ops, state, limit, text, err, errsize);
    if (!rc) {
        evbuffer_add(text, "]", 1);
        *result = json_loadb((const char *) evbuffer_pullup(text, -1),
                             evbuffer_get_length(text), 0, NULL);
        if (!*result) {
            snprintf(err, errsize, "out of memory");
            rc = ENOMEM;
        }
    }
    evbuffer_free(text);
    return rc;
}

/* Sends the whole of a stream to 'c' as one reply, serialised part by
 * part straight into the reply line (no array of every item is built).
 * Destroys the stream's state.  Returns 0 (sent) or an error code with
 * 'err' filled (nothing sent). */
static int
conn_send_collected(struct ctl_conn *c, json_t *id,
                    const struct ctl_stream_ops *ops, void *state, char *err,
                    size_t errsize)
{
    struct evbuffer *line = evbuffer_new();
    char *id_text = json_dumps(id ? id : json_null(),
                               JSON_COMPACT | JSON_ENCODE_ANY);
    int rc;

    if (!line || !id_text) {
        ops->destroy(state);
        snprintf(err, errsize, "out of memory");
        rc = ENOMEM;
        goto out;
    }
    evbuffer_add_printf(line, "{\"id\":%s,\"result\":[", id_text);
    rc = stream_to_text(ops, state, c->server->max_output, line, err,
                        errsize);
    if (!rc && !c->dead) {
        if (evbuffer_get_length(bufferevent_get_output(c->bev))
            > c->server->max_output) {
            c->dead = true;         /* Not reading: as conn_send(). */
        } else if (evbuffer_add(line, "]}\n", 3)
                   || bufferevent_write_buffer(c->bev, line)) {
            c->dead = true;
        }
    }
out:
    if (line) {
        evbuffer_free(line);
    }
    free(id_text);
    return rc;
}

static void
conn_stream_end(struct ctl_conn *c)
{
    c->stream_ops->destroy(c->stream_state);
    c->stream_ops = NULL;
    c->stream_state = NULL;
    json_decref(c->stream_id);
    c->stream_id = NULL;
    /* Back to "write callback = output empty" for closing. */
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    if (!c->busy && !c->pending) {
        event_active(c->resume_ev, 0, 0);
    }
}

/* Output below which the next part of a stream is produced (below the
 * output limit, which would take the client for one that does not read). */
static size_t
stream_lowat(const struct ctl_server *s)
{
    size_t lowat = s->max_output / 2 < CTL_STREAM_LOWAT
                   ? s->max_output / 2 : CTL_STREAM_LOWAT;

    return lowat ? lowat : 1;       /* Throttling needs output waiting. */
}

/* Sends parts of the stream of 'c' while its output is short. */
static void
conn_stream_pump(struct ctl_conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    while (c->stream_ops && !c->dead
           && evbuffer_get_length(out) < stream_lowat(c->server)) {
        json_t *items = json_array(), *reply;
        bool done = false;
        char err[1024] = "";
        int rc = items ? c->stream_ops->next(c->stream_state, items,
                                             CTL_STREAM_ITEMS, &done, err,
                                             sizeof err)
                       : ENOMEM;

        if (rc) {
            json_decref(items);
            conn_send_error(c, c->stream_id, rc, err);
            conn_stream_end(c);
            break;
        }
        reply = json_pack("{s:O,s:o}", "id", c->stream_id, "result", items);
        if (reply && !done) {
            json_object_set_new(reply, "more", json_true());
        }
        conn_send(c, reply);
        if (done) {
            conn_stream_end(c);
        }
    }
}

int
ctl_stream(const struct ctl_stream_ops *ops, void *state)
{
    if (!in_handler || cur_stream_ops) {
        ops->destroy(state);
        return CTL_ERR_INTERNAL;
    }
    cur_stream_ops = ops;
    cur_stream_state = state;
    return CTL_STREAMED;
}

struct ctl_conn_slot *
ctl_conn_slot_current(void)
{
    return in_handler && cur_conn ? &cur_conn->slot : NULL;
}

/* ---- Requests. ---- */

static const struct ctl_method *
find_method(const struct ctl_server *s, const char *name)
{
    for (size_t i = 0; i < s->n_methods; i++) {
        if (!strcmp(s->methods[i].name, name)) {
            return &s->methods[i];
        }
    }
    return NULL;
}

static bool
is_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
            return false;
        }
    }
    return true;
}

/* Handles one request line. */
static void
conn_handle_line(struct ctl_conn *c, const char *line, size_t len)
{
    const struct ctl_method *m;
    json_t *req, *id, *method, *params, *stream, *result = NULL;
    const struct ctl_stream_ops *sops;
    void *sstate;
    json_error_t jerr;
    char err[1024];
    int rc;

    if (is_blank(line, len)) {
        return;
    }
    req = json_loadb(line, len, 0, &jerr);
    if (!req) {
        snprintf(err, sizeof err, "parse error at column %d: %s",
                 jerr.column, jerr.text);
        conn_send_error(c, NULL, CTL_ERR_PARSE, err);
        return;
    }
    if (!json_is_object(req)) {
        conn_send_error(c, NULL, CTL_ERR_INVALID_REQUEST,
                        "request must be a JSON object");
        goto out;
    }
    id = json_object_get(req, "id");
    if (id && (json_is_object(id) || json_is_array(id))) {
        conn_send_error(c, NULL, CTL_ERR_INVALID_REQUEST,
                        "id must be a number, string or null");
        goto out;
    }
    method = json_object_get(req, "method");
    if (!json_is_string(method)) {
        conn_send_error(c, id, CTL_ERR_INVALID_REQUEST,
                        "method must be a string");
        goto out;
    }
    stream = json_object_get(req, "stream");
    if (stream && !json_is_boolean(stream)) {
        conn_send_error(c, id, CTL_ERR_INVALID_REQUEST,
                        "stream must be true or false");
        goto out;
    }
    params = json_object_get(req, "params");
    if (params && json_is_null(params)) {
        params = NULL;
    }
    if (params && !json_is_object(params)) {
        conn_send_error(c, id, CTL_ERR_INVALID_PARAMS,
                        "params must be an object");
        goto out;
    }
    m = find_method(c->server, json_string_value(method));
    if (!m) {
        snprintf(err, sizeof err, "unknown method \"%s\"",
                 json_string_value(method));
        conn_send_error(c, id, CTL_ERR_NO_METHOD, err);
        goto out;
    }

    params = params ? json_incref(params) : json_object();
    err[0] = '\0';
    cur_conn = c;
    cur_id = id;
    cur_pending = NULL;
    in_handler = true;
    rc = m->fn(params, &result, err, sizeof err, m->aux);
    in_handler = false;
    cur_conn = NULL;
    cur_id = NULL;
    json_decref(params);

    if (take_stream(&sops, &sstate)) {
        if (rc != CTL_STREAMED) {
            sops->destroy(sstate);
        } else if (json_is_true(stream)) {
            c->stream_ops = sops;
            c->stream_state = sstate;
            c->stream_id = id ? json_incref(id) : json_null();
            bufferevent_setwatermark(c->bev, EV_WRITE,
                                     stream_lowat(c->server), 0);
            conn_stream_pump(c);
            goto out;
        } else {
            rc = conn_send_collected(c, id, sops, sstate, err, sizeof err);
            if (!rc) {
                goto out;
            }
        }
    }
    if (rc == CTL_STREAMED) {
        rc = CTL_ERR_INTERNAL;
        snprintf(err, sizeof err, "handler streamed without a stream");
    }

    if (rc == CTL_DEFERRED) {
        if (!cur_pending) {
            conn_send_error(c, id, CTL_ERR_INTERNAL,
                            "handler deferred without a pending reply");
        }
        /* Reading goes on (bounded by the read high-water mark) so that a
         * client that goes away is noticed; requests wait in the buffer. */
        cur_pending = NULL;
        goto out;
    }
    if (cur_pending && c->pending == cur_pending) {
        /* Taken but not used: free it. */
        c->pending = NULL;
        json_decref(cur_pending->id);
        free(cur_pending);
    }
    cur_pending = NULL;
    if (rc == 0) {
        conn_send_result(c, id, result);
    } else {
        json_decref(result);
        conn_send_error(c, id, rc, err);
    }
out:
    json_decref(req);
}

/* Sends the "too large" error and closes 'c' once flushed. */
static void
conn_too_large(struct ctl_conn *c)
{
    char msg[160];

    snprintf(msg, sizeof msg, "request too large (limit %zu bytes, "
             "CTL_MAX_REQUEST): discarded", c->server->max_request);
    conn_send_error(c, NULL, CTL_ERR_INVALID_REQUEST, msg);
    c->skipping = true;
}

/* While skipping: drops input up to and including the next newline.
 * Returns true once the oversized line is gone (the next request may
 * follow), false if all input was dropped and more must come. */
static bool
conn_skip_line(struct ctl_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t eol_len = 0;
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len,
                                                  EVBUFFER_EOL_LF);

    c->scanned = 0;
    if (eol.pos < 0) {
        evbuffer_drain(in, evbuffer_get_length(in));
        return false;
    }
    evbuffer_drain(in, (size_t) eol.pos + eol_len);
    c->skipping = false;
    return true;
}

/* Handles every complete request in the input buffer, unless a deferred
 * request is outstanding; then frees or closes 'c' as needed. */
static void
conn_process(struct ctl_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    unsigned handled = 0;
    bool yielded = false;

    c->busy = true;
    while (!conn_waiting(c) && !c->closing && !c->dead) {
        struct evbuffer_ptr eol;
        size_t eol_len = 0, len;
        char *line;

        if (evbuffer_get_length(bufferevent_get_output(c->bev))
            >= stream_lowat(c->server)) {
            /* The client has not read what it was sent: its next
             * requests wait until it does, so one that never reads costs
             * the loop nothing more (the write timeout ends it). */
            c->throttled = true;
            bufferevent_setwatermark(c->bev, EV_WRITE,
                                     stream_lowat(c->server), 0);
            yielded = true;
            break;
        }
        if (c->skipping && !conn_skip_line(c)) {
            break;
        }
        /* Search only the bytes not searched before, so a long request
         * arriving in small pieces costs linear time. */
        len = evbuffer_get_length(in);
        eol.pos = -1;
        if (c->scanned < len) {
            struct evbuffer_ptr start;

            if (!evbuffer_ptr_set(in, &start, c->scanned,
                                  EVBUFFER_PTR_SET)) {
                eol = evbuffer_search_eol(in, &start, &eol_len,
                                          EVBUFFER_EOL_LF);
            } else {
                eol = evbuffer_search_eol(in, NULL, &eol_len,
                                          EVBUFFER_EOL_LF);
            }
        }
        if (eol.pos < 0) {
            c->scanned = len;
            if (len > c->server->max_request) {
                conn_too_large(c);
                continue;
            } else if (c->eof && len) {
                /* A last request without a newline. */
                eol.pos = (ev_ssize_t) len;
            }
            if (eol.pos < 0) {
                break;
            }
        }
        len = (size_t) eol.pos;
        if (len > c->server->max_request) {
            conn_too_large(c);
            continue;
        }
        line = malloc(len + 1);
        if (!line) {
            c->dead = true;
            break;
        }
        evbuffer_remove(in, line, len);
        evbuffer_drain(in, eol_len);
        c->scanned = 0;
        line[len] = '\0';
        conn_handle_line(c, line, len);
        free(line);
        if (++handled == CTL_REQUESTS_PER_TURN && evbuffer_get_length(in)) {
            /* Other clients' turn: the rest of the input later, after the
             * loop's next poll (an event_active() would run it before
             * any other client's I/O). */
            static const struct timeval now = { 0, 0 };

            event_add(c->resume_ev, &now);
            yielded = true;
            break;
        }
    }
    if (!yielded && !conn_waiting(c) && !c->closing && !c->dead) {
        if (c->eof) {
            c->closing = true;
        } else {
            bufferevent_enable(c->bev, EV_READ);
        }
    }
    c->busy = false;

    if (c->closing) {
        bufferevent_disable(c->bev, EV_READ);
        if (!evbuffer_get_length(bufferevent_get_output(c->bev))) {
            c->dead = true;
        }
    }
    if (c->dead) {
        conn_free(c);
    }
}

/* ---- Connection events. ---- */

static void
conn_read_cb(struct bufferevent *bev, void *c_)
{
    conn_process(c_);
}

static void
conn_write_cb(struct bufferevent *bev, void *c_)
{
    struct ctl_conn *c = c_;

    if (c->throttled) {
        /* The client read its output down: its waiting requests. */
        c->throttled = false;
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
        conn_process(c);
        return;
    }
    if (c->stream_ops) {
        /* The output fell below CTL_STREAM_LOWAT: the next parts. */
        conn_stream_pump(c);
        if (c->dead) {
            conn_free(c);
        }
        return;
    }
    /* The output buffer is empty. */
    if (c->closing && !c->pending) {
        conn_free(c);
    }
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *c_)
{
    struct ctl_conn *c = c_;

    if (what & BEV_EVENT_EOF) {
        /* Answer what was sent, then close. */
        c->eof = true;
        if (!conn_waiting(c)) {
            conn_process(c);
        }
        return;
    }
    /* BEV_EVENT_ERROR or BEV_EVENT_TIMEOUT (client not reading). */
    conn_free(c);
}

static void
conn_resume_cb(evutil_socket_t fd, short what, void *c_)
{
    conn_process(c_);
}

static void
conn_free(struct ctl_conn *c)
{
    struct ctl_server *s;

    if (!c) {
        return;
    }
    if (c->busy) {
        c->dead = true;
        return;
    }
    s = c->server;
    if (c->pending) {
        c->pending->conn = NULL;
    }
    if (c->stream_ops) {
        c->stream_ops->destroy(c->stream_state);
        json_decref(c->stream_id);
    }
    if (c->slot.data && c->slot.free_fn) {
        c->slot.free_fn(c->slot.data);
    }
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    s->n_conns--;
    if (c->resume_ev) {
        event_free(c->resume_ev);
    }
    bufferevent_free(c->bev);
    free(c);
}

static void
apply_limits(struct ctl_server *s, struct ctl_conn *c)
{
    struct timeval wtv = {
        .tv_sec = s->write_timeout_ms / 1000,
        .tv_usec = (s->write_timeout_ms % 1000) * 1000,
    };

    bufferevent_setwatermark(c->bev, EV_READ, 0, s->max_request + 1);
    bufferevent_set_timeouts(c->bev, NULL, &wtv);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd,
          struct sockaddr *sa, int socklen, void *s_)
{
    struct ctl_server *s = s_;
    struct ctl_conn *c;

    if (s->n_conns >= CTL_MAX_CLIENTS) {
        evutil_closesocket(fd);
        return;
    }
    c = calloc(1, sizeof *c);
    if (!c) {
        evutil_closesocket(fd);
        return;
    }
    c->server = s;
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->resume_ev = event_new(s->base, -1, 0, conn_resume_cb, c);
    if (!c->bev || !c->resume_ev) {
        if (c->bev) {
            bufferevent_free(c->bev);
        } else {
            evutil_closesocket(fd);
        }
        if (c->resume_ev) {
            event_free(c->resume_ev);
        }
        free(c);
        return;
    }
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    apply_limits(s, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);

    c->next = s->conns;
    if (s->conns) {
        s->conns->prev = c;
    }
    s->conns = c;
    s->n_conns++;
}

static void
relisten_cb(evutil_socket_t fd, short what, void *s_)
{
    struct ctl_server *s = s_;

    evconnlistener_enable(s->listener);
}

static void
accept_error_cb(struct evconnlistener *l, void *s_)
{
    struct ctl_server *s = s_;
    struct timeval tv = { .tv_sec = 0, .tv_usec = 200 * 1000 };
    int error = EVUTIL_SOCKET_ERROR();

    /* Typically EMFILE: pause accepting instead of spinning. */
    LOG_WARN_RL("control socket accept: %s",
                evutil_socket_error_to_string(error));
    evconnlistener_disable(l);
    evtimer_add(s->relisten_ev, &tv);
}

/* ---- Built-in methods. ---- */

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int
list_methods(json_t *params, json_t **result, char *err, size_t errsize,
             void *s_)
{
    static const char *const allowed[] = { NULL };
    struct ctl_server *s = s_;
    const char **names;
    int rc;

    rc = ctl_params_check(params, allowed, err, errsize);
    if (rc) {
        return rc;
    }
    names = malloc((s->n_methods + 1) * sizeof *names);
    if (!names) {
        return ENOMEM;
    }
    for (size_t i = 0; i < s->n_methods; i++) {
        names[i] = s->methods[i].name;
    }
    qsort(names, s->n_methods, sizeof *names, cmp_str);
    *result = json_array();
    for (size_t i = 0; *result && i < s->n_methods; i++) {
        json_array_append_new(*result, json_string(names[i]));
    }
    free(names);
    return *result ? 0 : ENOMEM;
}

/* ---- Server. ---- */

/* mkdir -p of the directory part of 'path'. */
static int
make_parent_dirs(const char *path)
{
    char *dir = strdup(path);
    char *slash;
    int error = 0;

    if (!dir) {
        return ENOMEM;
    }
    slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        free(dir);
        return 0;
    }
    *slash = '\0';
    for (char *p = dir + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;

            *p = '\0';
            if (mkdir(dir, 0755) && errno != EEXIST) {
                error = errno;
                break;
            }
            *p = saved;
            if (!saved) {
                break;
            }
        }
    }
    free(dir);
    return error;
}

static int
fill_sun(struct sockaddr_un *sun, const char *path)
{
    memset(sun, 0, sizeof *sun);
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sun->sun_path) {
        return ENAMETOOLONG;
    }
    strcpy(sun->sun_path, path);
    return 0;
}

/* Removes a stale socket at 'path'. Returns 0 if 'path' is free now. */
static int
clear_stale(const char *path, char *err, size_t errsize)
{
    struct sockaddr_un sun;
    struct stat st;
    int fd, error;

    if (lstat(path, &st)) {
        if (errno == ENOENT) {
            return 0;
        }
        error = errno;
        snprintf(err, errsize, "%s: %s", path, strerror(error));
        return error;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errsize, "%s: exists and is not a socket; "
                 "not removing it", path);
        return EEXIST;
    }
    fill_sun(&sun, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        snprintf(err, errsize, "socket: %s", strerror(error));
        return error;
    }
    if (!connect(fd, (struct sockaddr *) &sun, sizeof sun)) {
        close(fd);
        snprintf(err, errsize, "%s: another process is listening on it "
                 "(is sluiced already running?)", path);
        return EADDRINUSE;
    }
    error = errno;
    close(fd);
    if (error != ECONNREFUSED) {
        snprintf(err, errsize, "%s: %s", path, strerror(error));
        return error;
    }
    if (unlink(path) && errno != ENOENT) {
        error = errno;
        snprintf(err, errsize, "%s: cannot remove stale socket: %s", path,
                 strerror(error));
        return error;
    }
    return 0;
}

int
ctl_unix_listen_fd(const char *path, int *fdp, char *err, size_t errsize)
{
    struct sockaddr_un sun;
    mode_t old_umask;
    int fd, error;

    *fdp = -1;
    if (!path || !path[0] || fill_sun(&sun, path)) {
        snprintf(err, errsize, "%s: socket path empty or longer than %zu "
                 "bytes", path ? path : "(null)", sizeof sun.sun_path - 1);
        return ENAMETOOLONG;
    }
    error = make_parent_dirs(path);
    if (error) {
        snprintf(err, errsize, "%s: cannot create directory: %s", path,
                 strerror(error));
        return error;
    }
    error = clear_stale(path, err, errsize);
    if (error) {
        return error;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error = errno;
        snprintf(err, errsize, "socket: %s", strerror(error));
        return error;
    }
    old_umask = umask(0177);
    error = bind(fd, (struct sockaddr *) &sun, sizeof sun) ? errno : 0;
    umask(old_umask);
    if (error) {
        snprintf(err, errsize, "%s: bind: %s", path, strerror(error));
        close(fd);
        return error;
    }
    if (chmod(path, 0600)) {
        error = errno;
        snprintf(err, errsize, "%s: %s", path, strerror(error));
        close(fd);
        unlink(path);
        return error;
    }
    *fdp = fd;
    return 0;
}

struct ctl_server *
ctl_server_create(struct event_base *base, const char *path, char *err,
                  size_t errsize)
{
    struct ctl_server *s = NULL;
    struct stat st;
    int fd = -1;

    if (ctl_unix_listen_fd(path, &fd, err, errsize)) {
        return NULL;
    }
    if (stat(path, &st)) {
        snprintf(err, errsize, "%s: %s", path, strerror(errno));
        goto error;
    }

    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        snprintf(err, errsize, "out of memory");
        goto error;
    }
    s->base = base;
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->max_request = CTL_MAX_REQUEST;
    s->max_output = CTL_MAX_OUTPUT;
    s->write_timeout_ms = CTL_WRITE_TIMEOUT_MS;
    s->relisten_ev = evtimer_new(base, relisten_cb, s);
    if (!s->relisten_ev) {
        snprintf(err, errsize, "out of memory");
        goto error;
    }
    s->listener = evconnlistener_new(base, accept_cb, s,
                                     LEV_OPT_CLOSE_ON_FREE
                                     | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
    if (!s->listener) {
        snprintf(err, errsize, "%s: listen: %s", path, strerror(errno));
        goto error;
    }
    fd = -1;
    evconnlistener_set_error_cb(s->listener, accept_error_cb);
    if (ctl_register(s, "list-methods", list_methods, s)) {
        snprintf(err, errsize, "out of memory");
        goto error;
    }
    return s;

error:
    if (fd >= 0) {
        close(fd);
    }
    unlink(path);
    if (s) {
        if (s->listener) {
            evconnlistener_free(s->listener);
        }
        if (s->relisten_ev) {
            event_free(s->relisten_ev);
        }
        for (size_t i = 0; i < s->n_methods; i++) {
            free(s->methods[i].name);
        }
        free(s->methods);
        free(s->path);
        free(s);
    }
    return NULL;
}

void
ctl_server_destroy(struct ctl_server *s)
{
    struct stat st;

    if (!s) {
        return;
    }
    while (s->conns) {
        s->conns->busy = false;
        conn_free(s->conns);
    }
    evconnlistener_free(s->listener);
    event_free(s->relisten_ev);
    /* Remove the socket file only if it is still ours. */
    if (!lstat(s->path, &st) && st.st_dev == s->dev && st.st_ino == s->ino) {
        unlink(s->path);
    }
    for (size_t i = 0; i < s->n_methods; i++) {
        free(s->methods[i].name);
    }
    free(s->methods);
    free(s->path);
    free(s);
}

int
ctl_register(struct ctl_server *s, const char *method, ctl_handler_fn *fn,
             void *aux)
{
    return ctl_register_flags(s, method, fn, aux, 0);
}

int
ctl_register_flags(struct ctl_server *s, const char *method,
                   ctl_handler_fn *fn, void *aux, unsigned flags)
{
    struct ctl_method *m;
    char *name;

    if (!method || !method[0] || !fn) {
        return EINVAL;
    }
    if (find_method(s, method)) {
        return EEXIST;
    }
    name = strdup(method);
    m = realloc(s->methods, (s->n_methods + 1) * sizeof *m);
    if (!name || !m) {
        free(name);
        if (m) {
            s->methods = m;
        }
        return ENOMEM;
    }
    s->methods = m;
    m[s->n_methods].name = name;
    m[s->n_methods].fn = fn;
    m[s->n_methods].aux = aux;
    m[s->n_methods].flags = flags;
    s->n_methods++;
    return 0;
}

void
ctl_server_set_limits(struct ctl_server *s, size_t max_request,
                      size_t max_output, unsigned int write_timeout_ms)
{
    if (max_request) {
        s->max_request = max_request;
    }
    if (max_output) {
        s->max_output = max_output;
    }
    if (write_timeout_ms) {
        s->write_timeout_ms = write_timeout_ms;
    }
    for (struct ctl_conn *c = s->conns; c; c = c->next) {
        apply_limits(s, c);
    }
}

size_t
ctl_server_n_clients(const struct ctl_server *s)
{
    return s->n_conns;
}

int
ctl_register_all(struct ctl_server *s, const struct ctl_method_def *defs,
                 size_t n, void *aux)
{
    for (size_t i = 0; i < n; i++) {
        int ret = ctl_register_flags(s, defs[i].name, defs[i].fn, aux,
                                     defs[i].flags);

        if (ret) {
            return ret;
        }
    }
    return 0;
}

bool
ctl_has_method(const struct ctl_server *s, const char *method)
{
    return find_method(s, method) != NULL;
}

bool
ctl_method_read_only(const struct ctl_server *s, const char *method)
{
    const struct ctl_method *m = find_method(s, method);

    return m && (m->flags & CTL_READ_ONLY);
}

json_t *
ctl_read_only_methods(const struct ctl_server *s)
{
    const char **names = malloc((s->n_methods + 1) * sizeof *names);
    json_t *list = json_array();
    size_t n = 0;

    if (!names || !list) {
        free(names);
        json_decref(list);
        return NULL;
    }
    for (size_t i = 0; i < s->n_methods; i++) {
        if (s->methods[i].flags & CTL_READ_ONLY) {
            names[n++] = s->methods[i].name;
        }
    }
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(list, json_string(names[i]));
    }
    free(names);
    return list;
}

int
ctl_call(struct ctl_server *s, const char *method, json_t *params,
         json_t **result, char *err, size_t errsize)
{
    const struct ctl_method *m = find_method(s, method);
    int rc;

    *result = NULL;
    if (!m) {
        snprintf(err, errsize, "unknown method \"%s\"", method);
        return CTL_ERR_NO_METHOD;
    }
    err[0] = '\0';
    in_handler = true;
    rc = m->fn(params, result, err, errsize, m->aux);
    in_handler = false;
    {
        const struct ctl_stream_ops *sops;
        void *sstate;

        if (take_stream(&sops, &sstate)) {
            if (rc == CTL_STREAMED) {
                rc = stream_collect(sops, sstate, s->max_output, result, err,
                                    errsize);
            } else {
                sops->destroy(sstate);
            }
        }
    }
    if (rc == CTL_STREAMED) {
        snprintf(err, errsize, "handler streamed without a stream");
        return CTL_ERR_INTERNAL;
    }
    if (rc == CTL_DEFERRED) {
        /* ctl_pending_current() returned NULL here: nothing to free. */
        snprintf(err, errsize, "method \"%s\" cannot answer here",
                 method);
        return CTL_ERR_INTERNAL;
    }
    if (rc) {
        json_decref(*result);
        *result = NULL;
        if (!err[0] && rc > 0) {
            snprintf(err, errsize, "%s", strerror(rc));
        }
        return rc;
    }
    if (!*result) {
        *result = json_object();
    }
    return 0;
}

/* ---- Deferred replies. ---- */

struct ctl_pending *
ctl_pending_current(void)
{
    if (!cur_conn) {
        return NULL;
    }
    if (!cur_pending) {
        cur_pending = calloc(1, sizeof *cur_pending);
        if (!cur_pending) {
            return NULL;
        }
        cur_pending->conn = cur_conn;
        cur_pending->id = cur_id ? json_incref(cur_id) : json_null();
        cur_conn->pending = cur_pending;
    }
    return cur_pending;
}

/* Detaches 'p' from its connection and resumes the connection's input. */
static struct ctl_conn *
pending_finish(struct ctl_pending *p)
{
    struct ctl_conn *c = p->conn;

    if (c && c->pending == p) {
        c->pending = NULL;
        if (!c->busy) {
            event_active(c->resume_ev, 0, 0);
        }
    }
    return c;
}

void
ctl_pending_reply(struct ctl_pending *p, json_t *result)
{
    struct ctl_conn *c;

    if (!p) {
        json_decref(result);
        return;
    }
    c = pending_finish(p);
    if (c) {
        conn_send_result(c, p->id, result);
    } else {
        json_decref(result);
    }
    json_decref(p->id);
    free(p);
}

void
ctl_pending_error(struct ctl_pending *p, int code, const char *message)
{
    struct ctl_conn *c;

    if (!p) {
        return;
    }
    c = pending_finish(p);
    if (c) {
        conn_send_error(c, p->id, code, message);
    }
    json_decref(p->id);
    free(p);
}

/* ---- Param helpers. ---- */

static int
param_fail(char *err, size_t errsize, const char *key, const char *what)
{
    snprintf(err, errsize, "params.%s: %s", key, what);
    return CTL_ERR_INVALID_PARAMS;
}

int
ctl_params_check(const json_t *params, const char *const *allowed,
                 char *err, size_t errsize)
{
    const char *key;
    json_t *v;

    json_object_foreach ((json_t *) params, key, v) {
        const char *const *a;

        for (a = allowed; *a && strcmp(*a, key); a++) {
            continue;
        }
        if (!*a) {
            return param_fail(err, errsize, key, "unknown key");
        }
    }
    return 0;
}

int
ctl_param_string(const json_t *params, const char *key, bool required,
                 const char **out, char *err, size_t errsize)
{
    const json_t *v = json_object_get(params, key);

    *out = NULL;
    if (!v) {
        return required ? param_fail(err, errsize, key, "missing") : 0;
    }
    if (!json_is_string(v)) {
        return param_fail(err, errsize, key, "must be a string");
    }
    *out = json_string_value(v);
    return 0;
}

int
ctl_param_bool(const json_t *params, const char *key, bool dflt, bool *out,
               char *err, size_t errsize)
{
    const json_t *v = json_object_get(params, key);

    *out = dflt;
    if (!v) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        return param_fail(err, errsize, key, "must be a boolean");
    }
    *out = json_is_true(v);
    return 0;
}

int
ctl_param_int(const json_t *params, const char *key, bool required,
              long long min, long long max, long long *out, char *err,
              size_t errsize)
{
    const json_t *v = json_object_get(params, key);

    if (!v) {
        return required ? param_fail(err, errsize, key, "missing") : 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min
        || json_integer_value(v) > max) {
        snprintf(err, errsize, "params.%s: must be an integer %lld..%lld",
                 key, min, max);
        return CTL_ERR_INVALID_PARAMS;
    }
    *out = json_integer_value(v);
    return 0;
}

int
ctl_param_strings(const json_t *params, const char *key, bool required,
                  json_t **out, char *err, size_t errsize)
{
    json_t *v = json_object_get(params, key);
    json_t *e;
    size_t i;

    *out = NULL;
    if (!v) {
        return required ? param_fail(err, errsize, key, "missing") : 0;
    }
    if (!json_is_array(v)) {
        return param_fail(err, errsize, key, "must be an array of strings");
    }
    json_array_foreach (v, i, e) {
        if (!json_is_string(e)) {
            snprintf(err, errsize, "params.%s[%zu]: must be a string", key,
                     i);
            return CTL_ERR_INVALID_PARAMS;
        }
    }
    *out = v;
    return 0;
}
