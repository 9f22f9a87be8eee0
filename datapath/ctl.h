/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl.h: the control socket server (JSON lines over a Unix socket). */
#ifndef SLUICE_CTL_H
#define SLUICE_CTL_H 1

/*
 * What: a Unix stream socket server on a libevent event_base. Each line a
 * client sends is one JSON request {"id":N,"method":"...","params":{...}};
 * the server dispatches it to the handler registered for "method" and
 * writes one reply line {"id":N,"result":...} or
 * {"id":N,"error":{"code":E,"message":"..."}}. The protocol and every
 * method's params are specified in docs/control-protocol.md.
 *
 * Design: libevent bufferevents, one per connection. A connection handles
 * one request at a time, so replies come back in request order; while a
 * request is outstanding (a deferred reply, or a streamed result still
 * being sent, see ctl_stream()) further requests of that connection wait
 * in its input buffer; a connection handles at most CTL_REQUESTS_PER_TURN
 * buffered requests before the other clients get their turn (after the
 * loop's next poll), and none while more than CTL_STREAM_LOWAT bytes (at
 * most half the output limit) of its replies wait unread. Requests
 * are bounded
 * (CTL_MAX_REQUEST; a longer line gets an error naming the limit, the
 * rest of it is read and discarded, and the connection stays usable for
 * the next request); malformed JSON gets a -32700 reply and the
 * connection stays usable. A client that does not read its replies is
 * no longer served and is dropped (no write progress for the write
 * timeout, or more than the output limit queued before a new reply), so a
 * slow client never blocks the daemon. The built-in method "list-methods" lists the registered methods.
 *
 * Deferred replies: a handler that must wait (e.g. for a PMD grace period)
 * calls ctl_pending_current(), keeps the returned pointer, returns
 * CTL_DEFERRED, and later completes it exactly once with
 * ctl_pending_reply() or ctl_pending_error(). If the client went away (or
 * the server was destroyed) meanwhile, the reply is discarded; the pending
 * object stays valid until completed either way.
 *
 * Thread-safety: everything here runs on the thread that runs the
 * event_base (the main thread), including handlers and pending
 * completions. Other threads must hand work to the main loop first.
 * The process must ignore SIGPIPE (a client may close at any time).
 *
 * Ownership: the server owns its connections, its socket file (removed by
 * ctl_server_destroy()) and copies of the method names. A handler borrows
 * 'params' (valid only during the call) and returns '*result' as a new
 * reference the server steals. ctl_pending_reply() steals 'result'.
 */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct event_base;
struct ctl_server;
struct ctl_pending;

/* JSON-RPC error codes. Handlers may also return a positive errno. */
#define CTL_ERR_PARSE (-32700)
#define CTL_ERR_INVALID_REQUEST (-32600)
#define CTL_ERR_NO_METHOD (-32601)
#define CTL_ERR_INVALID_PARAMS (-32602)
#define CTL_ERR_INTERNAL (-32603)

/* Handler return value: the reply will come from ctl_pending_*(). */
#define CTL_DEFERRED INT_MIN
/* Handler return value: the result is a stream, see ctl_stream(). */
#define CTL_STREAMED (INT_MIN + 1)

#define CTL_MAX_REQUEST (4u << 20)      /* Bytes per request line. */
#define CTL_MAX_OUTPUT (16u << 20)      /* Queued reply bytes per client. */
#define CTL_WRITE_TIMEOUT_MS 10000      /* No write progress -> drop. */
#define CTL_MAX_CLIENTS 256
#define CTL_REQUESTS_PER_TURN 16        /* Then other clients' turn. */
#define CTL_STREAM_ITEMS 1000           /* Items per streamed reply line. */
#define CTL_STREAM_LOWAT (256u << 10)   /* Next part once output < this. */

/* Handles one request. 'params' is always a JSON object (borrowed). On
 * success returns 0 and sets '*result' to a new reference (NULL means {}).
 * On failure returns a positive errno or a negative CTL_ERR_* code and
 * writes a message into 'err' (strerror() is used if left empty). Or
 * returns CTL_DEFERRED, see above. */
typedef int ctl_handler_fn(json_t *params, json_t **result, char *err,
                           size_t errsize, void *aux);

/* Creates a server listening on 'path' on 'base'. Creates the parent
 * directory if needed (mode 0755), removes a stale socket at 'path' only
 * if nothing listens on it, and refuses (EEXIST) if 'path' exists and is
 * not a socket, or (EADDRINUSE) if another process listens on it. The
 * socket file gets mode 0600. Returns NULL with 'err' filled on failure. */
struct ctl_server *ctl_server_create(struct event_base *base,
                                     const char *path, char *err,
                                     size_t errsize);

/* Closes every connection, detaches outstanding pendings, removes the
 * socket file (if it is still the one this server created) and frees
 * 'server'. Accepts NULL. Must not be called from inside a handler (a
 * "shutdown" method should call event_base_loopexit() instead). */
void ctl_server_destroy(struct ctl_server *server);
/* Binds a new nonblocking unix stream socket at 'path' with mode 0600:
 * creates the missing directories, replaces a stale socket (one nobody
 * listens on), refuses a live one or any other file.  Returns 0 with the
 * socket in *fd (not yet listening), or an errno with 'err' filled. */
int ctl_unix_listen_fd(const char *path, int *fd, char *err, size_t errsize);

/* Registers 'fn' for 'method' (copied). Returns 0, EEXIST if the method is
 * already registered, EINVAL for an empty name, ENOMEM. */
int ctl_register(struct ctl_server *server, const char *method,
                 ctl_handler_fn *fn, void *aux);

/* In a handler: returns EXPR's error code, if it has one. */
#define CTL_CHECK(EXPR)                                                     \
    do {                                                                    \
        int ctl_check_ret_ = (EXPR);                                        \
        if (ctl_check_ret_) {                                               \
            return ctl_check_ret_;                                          \
        }                                                                   \
    } while (0)

/* ctl_register_flags(): the method only reads (the HTTP API serves just
 * these, http.h). */
#define CTL_READ_ONLY 1u

/* Same as ctl_register() with 'flags' (CTL_READ_ONLY or 0). */
int ctl_register_flags(struct ctl_server *server, const char *method,
                       ctl_handler_fn *fn, void *aux, unsigned flags);

/* A table of methods for ctl_register_all(). */
struct ctl_method_def {
    const char *name;
    ctl_handler_fn *fn;
    unsigned flags;             /* CTL_READ_ONLY or 0. */
};

/* Registers the 'n' methods of 'defs', each with 'aux'; stops at the first
 * error (ctl_register()'s) and returns it. */
int ctl_register_all(struct ctl_server *server,
                     const struct ctl_method_def *defs, size_t n, void *aux);

/* Calls the handler registered for 'method' as a client's request would,
 * outside any connection (the HTTP API, http.h): 'params' is borrowed (a
 * JSON object).  Returns 0 with '*result' a new reference, or an error
 * code with 'err' filled: CTL_ERR_NO_METHOD for an unknown method, the
 * handler's error, or CTL_ERR_INTERNAL for a handler that would defer
 * its reply (it gets no pending reply here).  Main thread, not from
 * inside a handler. */
int ctl_call(struct ctl_server *server, const char *method, json_t *params,
             json_t **result, char *err, size_t errsize);

/* True if 'method' is registered. */
bool ctl_has_method(const struct ctl_server *server, const char *method);
/* True if 'method' is registered with CTL_READ_ONLY. */
bool ctl_method_read_only(const struct ctl_server *server,
                          const char *method);
/* The read-only methods' names, sorted, as a new JSON array (NULL on
 * ENOMEM). */
json_t *ctl_read_only_methods(const struct ctl_server *server);

/* Overrides the limits (for tests); 0 keeps a value. */
void ctl_server_set_limits(struct ctl_server *server, size_t max_request,
                           size_t max_output, unsigned int write_timeout_ms);

/* Number of connected clients. */
size_t ctl_server_n_clients(const struct ctl_server *server);

/* Only inside a handler: returns the pending reply of the current request,
 * to be completed later. Valid only if the handler returns CTL_DEFERRED
 * (otherwise it is freed when the handler returns). */
struct ctl_pending *ctl_pending_current(void);

/* Completes 'pending' with 'result' (stolen; NULL means {}), and frees
 * 'pending'. */
void ctl_pending_reply(struct ctl_pending *pending, json_t *result);

/* Completes 'pending' with an error (positive errno or CTL_ERR_*), and
 * frees 'pending'. 'message' may be NULL (strerror() for an errno). */
void ctl_pending_error(struct ctl_pending *pending, int code,
                       const char *message);

/* Streamed results.  A method whose result is a list that can be long
 * (dump-flows of a million rules) hands the server a generator instead of
 * building the list: the handler ends with 'return ctl_stream(ops,
 * state);'.  A request that asked for it ("stream": true beside "method")
 * gets the list in parts, each a line {"id":N,"result":[...],"more":true}
 * of up to CTL_STREAM_ITEMS items, the next produced only once the
 * client has read the output down below CTL_STREAM_LOWAT bytes, then a
 * last line without "more"; a generator error ends it with an error line
 * instead.  The connection handles its next request after the last part.
 * Any other request (and ctl_call()) gets the whole array in one reply,
 * or, if it would exceed the output limit (CTL_MAX_OUTPUT), an error that
 * names the limit and says to ask for a stream.  The server owns 'state'
 * from the call on and frees it with ops->destroy() when the stream ends
 * or its client goes away; between parts the main loop runs, so 'next'
 * must cope with the switch having changed meanwhile. */
struct ctl_stream_ops {
    /* Appends up to 'max' items to the array 'items'; sets '*done' when
     * no item is left.  Returns 0, or an error code with 'err' filled. */
    int (*next)(void *state, json_t *items, size_t max, bool *done,
                char *err, size_t errsize);
    void (*destroy)(void *state);
};

/* Only inside a handler: makes the result the stream of 'ops' over
 * 'state' (taken over; destroyed at once if no request is being handled).
 * Returns CTL_STREAMED, the handler's return value. */
int ctl_stream(const struct ctl_stream_ops *ops, void *state);

/* Per-connection state of handlers (a flow transaction staged over
 * several requests).  Inside a handler called for a connection: that
 * connection's slot; NULL otherwise (ctl_call()).  When the connection
 * goes away with 'data' set, the server calls free_fn(data). */
struct ctl_conn_slot {
    void *data;
    void (*free_fn)(void *data);
};
struct ctl_conn_slot *ctl_conn_slot_current(void);

/* Param helpers for handlers. Each returns 0 or CTL_ERR_INVALID_PARAMS
 * with 'err' set to "params.KEY: ...". */

/* Rejects keys of 'params' not in the NULL-terminated 'allowed'. */
int ctl_params_check(const json_t *params, const char *const *allowed,
                     char *err, size_t errsize);

/* '*out' = string member 'key' (borrowed from 'params'), or NULL if absent
 * and not 'required'. */
int ctl_param_string(const json_t *params, const char *key, bool required,
                     const char **out, char *err, size_t errsize);

/* '*out' = boolean member 'key', or 'dflt' if absent. */
int ctl_param_bool(const json_t *params, const char *key, bool dflt,
                   bool *out, char *err, size_t errsize);

/* '*out' = integer member 'key' in min..max; if absent, an error if
 * 'required', else '*out' is left unchanged. */
int ctl_param_int(const json_t *params, const char *key, bool required,
                  long long min, long long max, long long *out,
                  char *err, size_t errsize);

/* '*out' = array member 'key' (borrowed) whose elements are all strings;
 * NULL if absent and not 'required'. */
int ctl_param_strings(const json_t *params, const char *key, bool required,
                      json_t **out, char *err, size_t errsize);

#endif /* SLUICE_CTL_H */
