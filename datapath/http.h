/* SPDX-License-Identifier: BSD-3-Clause */
/* http.h: the read-only HTTP endpoint (metrics, JSON API, dashboard). */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H 1

/*
 * What
 *   An HTTP server on libevent's evhttp, on the main event_base, for the
 *   operator's view of a running sluiced (config "http": {"listen":
 *   "HOST:PORT"}; off by default):
 *     GET /metrics       Prometheus text format (metrics.h)
 *     GET /api/          the read-only control methods it serves (JSON)
 *     GET /api/METHOD?k=v...
 *                        the control socket's "result" for METHOD with
 *                        the query as params (ctl_call())
 *     GET /              the dashboard page
 *   Nothing it serves changes the switch: /api/ answers only the
 *   read-only methods (HTTP_API_METHODS); any other method name the
 *   control socket knows gets 403, an unknown one 404.
 *
 * Design
 *   Query values become JSON: a decimal integer an integer, "true" and
 *   "false" booleans, anything else a string (after percent-decoding).
 *   Errors are JSON {"error": {"code", "message"}} with the control
 *   socket's code, as 400 (invalid params), 404 (ENOENT) or 500.  Only
 *   GET and HEAD are served (405 otherwise).  Requests are bounded
 *   (HTTP_MAX_HEADERS, no body) and idle connections time out, so a slow
 *   or hostile client costs the main loop little and never blocks it.
 *
 * Thread-safety
 *   Main thread only (the thread of the event_base and the control
 *   socket's handlers).
 *
 * Ownership
 *   The server borrows the control server and the switch; destroy it
 *   before either.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct ctl_server;
struct sw;
struct http_server;

#define HTTP_MAX_HEADERS 8192           /* bytes of request line + headers */
#define HTTP_TIMEOUT_S 10               /* idle / slow client */
#define HTTP_HOST_SIZE 64

/* Parses "HOST:PORT" (an IPv4 literal, "[IPv6]" or "localhost"; PORT
 * 0..65535, 0 = any free port) into 'host' (brackets removed) and
 * '*port'.  Returns false with a message in 'msg' if it is not one. */
bool http_parse_listen(const char *s, char host[HTTP_HOST_SIZE],
                       uint16_t *port, char *msg, size_t msgsize);

/* Listens on 'listen' (http_parse_listen()'s syntax).  Returns NULL with
 * 'err' filled when the address is bad or cannot be bound. */
struct http_server *http_server_create(struct event_base *,
                                       const char *listen,
                                       struct ctl_server *, struct sw *,
                                       char *err, size_t errsize);
void http_server_destroy(struct http_server *);

/* Registers the control method http-info ({"listen", "url"}, both null
 * with 's' NULL: HTTP off). */
int http_register_methods(struct ctl_server *, struct http_server *s);

/* The bound address as "HOST:PORT" (the real port when 0 was asked), or
 * NULL for a NULL server. */
const char *http_server_address(const struct http_server *);

#endif /* http.h */
