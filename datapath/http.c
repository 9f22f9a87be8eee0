/* SPDX-License-Identifier: BSD-3-Clause */
/* http.c: the read-only HTTP endpoint (see http.h). */
#include "http.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "ctl.h"
#include "dashboard.h"
#include "log.h"
#include "metrics.h"

LOG_MODULE(http);

struct http_server {
    struct evhttp *http;
    struct ctl_server *ctl;
    struct sw *sw;
    char address[HTTP_HOST_SIZE + 16];  /* "HOST:PORT" or "[HOST]:PORT" */
};


bool
http_parse_listen(const char *s, char host[HTTP_HOST_SIZE], uint16_t *port,
                  char *msg, size_t msgsize)
{
    const char *colon, *h = s;
    size_t hlen;
    char *end;
    long p;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (!close || close[1] != ':') {
            snprintf(msg, msgsize, "must be HOST:PORT (\"[IPv6]:PORT\" for "
                     "an IPv6 address)");
            return false;
        }
        h = s + 1;
        hlen = (size_t) (close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) {
            snprintf(msg, msgsize, "must be HOST:PORT, e.g. "
                     "\"127.0.0.1:9475\"");
            return false;
        }
        hlen = (size_t) (colon - s);
    }
    if (!hlen || hlen >= HTTP_HOST_SIZE) {
        snprintf(msg, msgsize, "must be HOST:PORT with a host of 1..%d "
                 "bytes", HTTP_HOST_SIZE - 1);
        return false;
    }
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    {
        struct in_addr a4;
        struct in6_addr a6;
        bool v6 = s[0] == '[';

        if (v6 ? inet_pton(AF_INET6, host, &a6) != 1
               : (strcmp(host, "localhost")
                  && inet_pton(AF_INET, host, &a4) != 1)) {
            snprintf(msg, msgsize, "host \"%s\" must be an IPv4 address, "
                     "\"localhost\" or an IPv6 address in brackets", host);
            return false;
        }
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end || errno || p < 0
        || p > 65535) {
        snprintf(msg, msgsize, "port \"%s\" must be 0..65535 (0: any free "
                 "port)", colon + 1);
        return false;
    }
    *port = (uint16_t) p;
    return true;
}

/* ---- Replies. ---- */

static void
send_json(struct evhttp_request *req, int code, const char *reason,
          json_t *j)
{
    struct evbuffer *b = evbuffer_new();
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Content-Type", "application/json");
    if (b && text) {
        evbuffer_add(b, text, strlen(text));
        evbuffer_add(b, "\n", 1);
        evhttp_send_reply(req, code, reason, b);
    } else {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
    }
    free(text);
    if (b) {
        evbuffer_free(b);
    }
}

static void
send_error(struct evhttp_request *req, int status, const char *reason,
           int code, const char *message)
{
    json_t *j = json_pack("{s:{s:i, s:s}}", "error", "code", code,
                          "message", message);

    send_json(req, status, reason, j);
    json_decref(j);
}

/* ---- /api/ ----
 *
 * It serves the control methods registered CTL_READ_ONLY (ctl.h): none of
 * them changes the switch. */

/* A query value as JSON: integer, boolean or string. */
static json_t *
query_value(const char *v)
{
    const char *d = v[0] == '-' ? v + 1 : v;
    bool digits = *d != '\0';

    for (const char *c = d; *c; c++) {
        if (*c < '0' || *c > '9') {
            digits = false;
            break;
        }
    }
    if (digits && strlen(d) <= 18) {
        return json_integer((json_int_t) strtoll(v, NULL, 10));
    }
    if (!strcmp(v, "true") || !strcmp(v, "false")) {
        return json_boolean(v[0] == 't');
    }
    return json_string(v);
}

/* The query string as a params object; NULL with 'msg' filled if it is
 * malformed or names a key twice. */
static json_t *
query_params(const char *query, char *msg, size_t msgsize)
{
    struct evkeyvalq q;
    struct evkeyval *kv;
    json_t *params = json_object();

    if (!params) {
        snprintf(msg, msgsize, "out of memory");
        return NULL;
    }
    if (!query || !*query) {
        return params;
    }
    TAILQ_INIT(&q);
    if (evhttp_parse_query_str(query, &q)) {
        snprintf(msg, msgsize, "malformed query string");
        json_decref(params);
        return NULL;
    }
    TAILQ_FOREACH(kv, &q, next) {
        json_t *v;

        if (json_object_get(params, kv->key)) {
            snprintf(msg, msgsize, "query key \"%.64s\" given twice",
                     kv->key);
            goto bad;
        }
        v = query_value(kv->value);
        if (!v || json_object_set_new(params, kv->key, v)) {
            /* jansson refuses keys and strings that are not UTF-8 (and
             * json_object_set_new() releases 'v' then). */
            snprintf(msg, msgsize, "query key or value is not UTF-8 text");
            goto bad;
        }
    }
    evhttp_clear_headers(&q);
    return params;
bad:
    evhttp_clear_headers(&q);
    json_decref(params);
    return NULL;
}

static void
handle_api(struct http_server *s, struct evhttp_request *req,
           const char *method, const char *query)
{
    json_t *params, *result = NULL;
    char err[1024], msg[256];
    int rc;

    if (!*method) {
        json_t *list = ctl_read_only_methods(s->ctl);

        send_json(req, HTTP_OK, "OK", list);
        json_decref(list);
        return;
    }
    if (!ctl_method_read_only(s->ctl, method)) {
        if (!ctl_has_method(s->ctl, method)) {
            snprintf(msg, sizeof msg, "unknown method \"%.64s\"", method);
            send_error(req, HTTP_NOTFOUND, "Not Found", CTL_ERR_NO_METHOD,
                       msg);
        } else {
            snprintf(msg, sizeof msg, "method \"%.64s\" is not read-only: "
                     "use the control socket", method);
            send_error(req, 403, "Forbidden", CTL_ERR_INVALID_REQUEST, msg);
        }
        return;
    }
    params = query_params(query, msg, sizeof msg);
    if (!params) {
        send_error(req, HTTP_BADREQUEST, "Bad Request",
                   CTL_ERR_INVALID_PARAMS, msg);
        return;
    }
    rc = ctl_call(s->ctl, method, params, &result, err, sizeof err);
    json_decref(params);
    if (!rc) {
        send_json(req, HTTP_OK, "OK", result);
    } else if (rc == CTL_ERR_INVALID_PARAMS || rc == EINVAL) {
        send_error(req, HTTP_BADREQUEST, "Bad Request", rc, err);
    } else if (rc == ENOENT || rc == CTL_ERR_NO_METHOD) {
        send_error(req, HTTP_NOTFOUND, "Not Found", rc, err);
    } else {
        send_error(req, HTTP_INTERNAL, "Internal Server Error", rc, err);
    }
    json_decref(result);
}

/* ---- Other pages. ---- */

static void
handle_metrics(struct http_server *s, struct evhttp_request *req)
{
    struct evbuffer *b = evbuffer_new();

    if (!b || metrics_render(s->sw, b)) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
    } else {
        evhttp_add_header(evhttp_request_get_output_headers(req),
                          "Content-Type",
                          "text/plain; version=0.0.4; charset=utf-8");
        evhttp_send_reply(req, HTTP_OK, "OK", b);
    }
    if (b) {
        evbuffer_free(b);
    }
}

static void
handle_static(struct evhttp_request *req, const char *type,
              const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();

    if (!b) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    evbuffer_add_reference(b, body, len, NULL, NULL);
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Content-Type", type);
    evhttp_add_header(evhttp_request_get_output_headers(req),
                      "Cache-Control", "no-cache");
    evhttp_send_reply(req, HTTP_OK, "OK", b);
    evbuffer_free(b);
}

static void
on_request(struct evhttp_request *req, void *s_)
{
    struct http_server *s = s_;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    struct dashboard_asset asset;
    char *dpath;

    if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          "GET, HEAD");
        send_error(req, 405, "Method Not Allowed", CTL_ERR_INVALID_REQUEST,
                   "only GET and HEAD are served");
        return;
    }
    if (!path) {
        send_error(req, HTTP_BADREQUEST, "Bad Request",
                   CTL_ERR_INVALID_REQUEST, "malformed URI");
        return;
    }
    dpath = evhttp_uridecode(path, 0, NULL);
    if (!dpath) {
        evhttp_send_error(req, HTTP_INTERNAL, "out of memory");
        return;
    }
    if (!strcmp(dpath, "/metrics")) {
        handle_metrics(s, req);
    } else if (!strncmp(dpath, "/api/", 5)) {
        handle_api(s, req, dpath + 5, query);
    } else if (dashboard_find(dpath, &asset)) {
        handle_static(req, asset.type, asset.body, asset.len);
    } else {
        send_error(req, HTTP_NOTFOUND, "Not Found", ENOENT,
                   "no such page");
    }
    free(dpath);
}

/* ---- http-info ---- */

static int
h_http_info(json_t *params, json_t **result, char *err, size_t errsize,
            void *aux)
{
    static const char *const allowed[] = { NULL };
    const char *a = http_server_address(aux);
    int rc = ctl_params_check(params, allowed, err, errsize);

    if (rc) {
        return rc;
    }
    if (a) {
        char url[HTTP_HOST_SIZE + 32];

        snprintf(url, sizeof url, "http://%s/", a);
        *result = json_pack("{s:s, s:s}", "listen", a, "url", url);
    } else {
        *result = json_pack("{s:n, s:n}", "listen", "url");
    }
    return *result ? 0 : ENOMEM;
}

int
http_register_methods(struct ctl_server *ctl, struct http_server *s)
{
    return ctl_register_flags(ctl, "http-info", h_http_info, s,
                              CTL_READ_ONLY);
}

/* ---- The server. ---- */

struct http_server *
http_server_create(struct event_base *base, const char *listen,
                   struct ctl_server *ctl, struct sw *sw, char *err,
                   size_t errsize)
{
    struct http_server *s;
    struct evhttp_bound_socket *bound;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[HTTP_HOST_SIZE], msg[160], abuf[INET6_ADDRSTRLEN];
    uint16_t port;

    if (!http_parse_listen(listen, host, &port, msg, sizeof msg)) {
        snprintf(err, errsize, "http.listen \"%s\": %s", listen, msg);
        return NULL;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->http = evhttp_new(base))) {
        free(s);
        snprintf(err, errsize, "http: out of memory");
        return NULL;
    }
    s->ctl = ctl;
    s->sw = sw;
    evhttp_set_max_headers_size(s->http, HTTP_MAX_HEADERS);
    evhttp_set_max_body_size(s->http, 0);
    evhttp_set_timeout(s->http, HTTP_TIMEOUT_S);
    evhttp_set_gencb(s->http, on_request, s);
    bound = evhttp_bind_socket_with_handle(s->http, host, port);
    if (!bound) {
        snprintf(err, errsize, "http.listen %s: cannot listen (%s)", listen,
                 strerror(errno ? errno : EADDRINUSE));
        evhttp_free(s->http);
        free(s);
        return NULL;
    }
    if (getsockname(evhttp_bound_socket_get_fd(bound),
                    (struct sockaddr *) &ss, &sl)) {
        snprintf(s->address, sizeof s->address, "%s", listen);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *) &ss;

        inet_ntop(AF_INET6, &a->sin6_addr, abuf, sizeof abuf);
        snprintf(s->address, sizeof s->address, "[%s]:%u", abuf,
                 ntohs(a->sin6_port));
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *) &ss;

        inet_ntop(AF_INET, &a->sin_addr, abuf, sizeof abuf);
        snprintf(s->address, sizeof s->address, "%s:%u", abuf,
                 ntohs(a->sin_port));
    }
    LOG_INFO("listening on %s", s->address);
    return s;
}

void
http_server_destroy(struct http_server *s)
{
    if (s) {
        evhttp_free(s->http);
        free(s);
    }
}

const char *
http_server_address(const struct http_server *s)
{
    return s ? s->address : NULL;
}
