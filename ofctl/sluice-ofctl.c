/* SPDX-License-Identifier: BSD-3-Clause */
/* sluice-ofctl: ovs-ofctl-style utility, a client of sluiced's ctl socket. */

/*
 * Each command checks its arguments locally (flow syntax with
 * of_flow_parse(), so a typo is reported without a daemon and nothing is
 * sent), sends one JSON request line to the control socket, waits for one
 * reply line and prints the result as text (like ovs-ofctl) or, with
 * --format=json, as JSON. The methods and their params are specified in
 * docs/control-protocol.md.
 *
 * Exit status: 0 success; 1 daemon error, connection failure, timeout or
 * local syntax error; 2 usage error.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ofp-parse.h"

#define DEFAULT_SOCKET "/run/sluice/sluiced.sock"
#define DEFAULT_TIMEOUT_S 60

static const char *program = "sluice-ofctl";
static const char *socket_path;
static bool json_output;
static bool pretty;
static bool global_strict;
static int timeout_s = DEFAULT_TIMEOUT_S;

/* ---- Messages and exits. ---- */

static void __attribute__((format(printf, 1, 2), noreturn))
fatal(const char *fmt, ...)
{
    va_list args;

    fprintf(stderr, "%s: ", program);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    exit(1);
}

static void
usage(FILE *f)
{
    fprintf(f,
"usage: %s [OPTIONS] COMMAND [ARG...]\n"
"Programs and inspects sluiced through its control socket.\n"
"\n"
"Commands:\n"
"  show BR                        ports of bridge BR\n"
"  dump-ports BR [PORT]           port counters (PORT: name or number)\n"
"  add-flow BR FLOW               add a flow\n"
"  add-flows BR FILE              add flows from FILE (- = stdin), one per\n"
"                                 line, # comments; all or nothing\n"
"  mod-flows BR [--strict] FLOW   modify actions of matching flows\n"
"  del-flows BR [--strict] [MATCH]  delete matching flows (all if none)\n"
"  replace-flows BR FILE          make BR's flows exactly those in FILE\n"
"  dump-flows BR [MATCH]          print flows\n"
"  add-port BR NAME TYPE [KEY=VALUE...]  add a port (e.g. ofport=3,\n"
"                                 devargs=..., see the config keys)\n"
"  del-port BR NAME               remove a port\n"
"  dump-megaflows                 print the datapath's cached flows\n"
"  pmd-stats                      per-PMD packet, cache and drop counters\n"
"                                 (and cycles per stage, if profiled)\n"
"  pmd-profile [on|off]           per-stage cycle profile of the PMDs\n"
"  revalidation-stats             what re-checking the cached megaflows after\n"
"                                 rule changes costs (walks, time)\n"
"  log-level [[MODULE] LEVEL]     show the daemon's log levels, or set one\n"
"                                 module's (or every module's) level:\n"
"                                 off, err, warn, info, dbg\n"
"  resources                      buffers in use, rules, megaflows, memory\n"
"  http-info                      where the HTTP endpoint (metrics, API,\n"
"                                 dashboard) listens, or \"http: off\"\n"
"  offload-show                   offload ports, probed NIC capabilities,\n"
"                                 simulated NICs\n"
"  offload-stats                  offload counters: inserted, removed,\n"
"                                 aged, failed by reason, latency, sessions\n"
"  offload-sessions               connections offloaded to NICs, per\n"
"                                 direction: state, hardware counts\n"
"  dump-conntrack [zone=N]        tracked connections, as ovs-dpctl prints\n"
"                                 them\n"
"  flush-conntrack [zone=N] [TUPLE]  remove connections (TUPLE:\n"
"                                 ct_nw_src=A,ct_nw_dst=B,ct_nw_proto=P,\n"
"                                 ct_tp_src=S,ct_tp_dst=D)\n"
"  conntrack-stats                connections by protocol and state, new\n"
"                                 per second, drops by reason, limits\n"
"  conntrack-events [AFTER-SEQ]   closed connections: reason, packets and\n"
"                                 bytes both ways, duration\n"
"  inject BR PORT HEX...          receive packets on a dummy port\n"
"  capture BR PORT                print (and drain) a dummy port's output\n"
"  capture-pcap BR PORT [rx|tx|both] -w FILE [-c N] [-s SNAPLEN]\n"
"               [-d SECONDS] [FILTER]\n"
"                                 capture any port's packets into a pcapng\n"
"                                 file while it forwards, until N packets,\n"
"                                 SECONDS or Ctrl-C; FILTER is a match in\n"
"                                 the flow syntax (\"udp,tp_dst=53\")\n"
"  capture-list                   the captures and their counts\n"
"  capture-stop ID                end a capture\n"
"  add-mirror BR NAME output=PORT [src=P,...] [dst=P,...] [vlan=V,...]\n"
"             [all]               copy what ports P receive (src) and send\n"
"                                 (dst), or every port (all), to PORT,\n"
"                                 optionally only VLANs V\n"
"  del-mirror BR NAME             remove a mirror\n"
"  dump-mirrors BR                the mirrors and what they copied\n"
"  add-tlv-map BR MAP[,MAP...]    GENEVE option -> tun_metadataN, e.g.\n"
"                                 {class=0xffff,type=0,len=4}->tun_metadata0\n"
"  del-tlv-map BR [MAP[,MAP...]]  remove those (all without MAP)\n"
"  dump-tlv-map BR                the bridge's TLV mappings\n"
"  tnl-route-show                 the kernel routes tunnels use\n"
"  tnl-neigh-show                 the kernel neighbours tunnels use\n"
"  list-methods                   methods the daemon supports\n"
"  call METHOD [JSON-PARAMS]      send any request, print the raw result\n"
"\n"
"Options:\n"
"  --socket PATH    control socket (default $SLUICE_SOCKET, else\n"
"                   " DEFAULT_SOCKET ")\n"
"  --format=json    print results as JSON (--format=text is the default)\n"
"  --pretty         indent JSON output\n"
"  --timeout SECS   give up after SECS seconds (default %d; 0 = never)\n"
"  --strict         strict matching for mod-flows and del-flows\n"
"  -h, --help       this help\n"
"  --version        print the version and exit\n"
"See sluice-ofctl(8).\n",
            program, DEFAULT_TIMEOUT_S);
}

static void __attribute__((format(printf, 1, 2), noreturn))
usage_error(const char *fmt, ...)
{
    va_list args;

    fprintf(stderr, "%s: ", program);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fprintf(stderr, "\n(use --help for usage)\n");
    exit(2);
}

/* ---- Client. ---- */

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Milliseconds left before 'deadline' for poll(), -1 if no timeout. */
static int
time_left(long long deadline)
{
    long long left;

    if (deadline < 0) {
        return -1;
    }
    left = deadline - now_ms();
    return left < 0 ? 0 : left > 1000000 ? 1000000 : (int) left;
}

static void __attribute__((noreturn))
timed_out(void)
{
    fatal("no reply from %s within %d s (use --timeout to wait longer)",
          socket_path, timeout_s);
}

/* One connection to the daemon.  Requests go one at a time; each waits
 * at most --timeout seconds for its (first) reply line. */
struct client {
    int fd;
    char *buf;                  /* Received bytes not yet returned. */
    size_t cap, used, start;    /* Unread bytes are buf[start, used). */
    long long deadline;         /* For the current reply; -1 = none. */
};

static void
client_open(struct client *cl)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };

    memset(cl, 0, sizeof *cl);
    if (strlen(socket_path) >= sizeof sun.sun_path) {
        fatal("%s: socket path too long", socket_path);
    }
    strcpy(sun.sun_path, socket_path);
    cl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (cl->fd < 0) {
        fatal("socket: %s", strerror(errno));
    }
    if (connect(cl->fd, (struct sockaddr *) &sun, sizeof sun)) {
        fatal("cannot connect to %s: %s (is sluiced running? use --socket "
              "or $SLUICE_SOCKET)", socket_path, strerror(errno));
    }
}

static void
client_close(struct client *cl)
{
    close(cl->fd);
    free(cl->buf);
}

static void
client_restart_clock(struct client *cl)
{
    cl->deadline = timeout_s > 0 ? now_ms() + timeout_s * 1000LL : -1;
}

/* Sends request 'method' with 'params' (stolen); "stream": true if
 * 'stream'. */
static void
client_send(struct client *cl, const char *method, json_t *params,
            bool stream)
{
    json_t *request;
    char *req;
    size_t len, off;

    request = json_pack("{s:i,s:s,s:o}", "id", 1, "method", method,
                        "params", params ? params : json_object());
    if (request && stream) {
        json_object_set_new(request, "stream", json_true());
    }
    req = request ? json_dumps(request, JSON_COMPACT) : NULL;
    json_decref(request);
    if (!req) {
        fatal("cannot encode the request");
    }
    client_restart_clock(cl);
    len = strlen(req);
    req[len++] = '\n';          /* json_dumps() left room: replace NUL. */
    for (off = 0; off < len; ) {
        struct pollfd pfd = { .fd = cl->fd, .events = POLLOUT };
        ssize_t n;

        if (poll(&pfd, 1, time_left(cl->deadline)) == 0) {
            timed_out();
        }
        n = send(cl->fd, req + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t) n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            fatal("%s: send: %s", socket_path, strerror(errno));
        }
    }
    free(req);
}

/* Reads the next reply line; exits on failure or an error reply.  Returns
 * the reply (an object with "result"; "more" in a streamed part). */
static json_t *
client_reply(struct client *cl)
{
    json_t *reply, *error;
    json_error_t jerr;
    size_t scanned = cl->start;
    char *eol;

    while (!(eol = cl->used > scanned
                   ? memchr(cl->buf + scanned, '\n', cl->used - scanned)
                   : NULL)) {
        struct pollfd pfd = { .fd = cl->fd, .events = POLLIN };
        ssize_t n;

        scanned = cl->used;
        if (cl->start && cl->start == cl->used) {
            cl->start = cl->used = scanned = 0;
        }
        if (cl->cap - cl->used < 65536) {
            if (cl->start) {
                /* Move the unread part to the front. */
                memmove(cl->buf, cl->buf + cl->start, cl->used - cl->start);
                cl->used -= cl->start;
                scanned -= cl->start;
                cl->start = 0;
            }
            if (cl->cap - cl->used < 65536) {
                cl->cap = cl->cap * 2 + 65536;
                cl->buf = realloc(cl->buf, cl->cap);
                if (!cl->buf) {
                    fatal("out of memory");
                }
            }
        }
        if (poll(&pfd, 1, time_left(cl->deadline)) == 0) {
            timed_out();
        }
        n = recv(cl->fd, cl->buf + cl->used, cl->cap - cl->used,
                 MSG_DONTWAIT);
        if (n == 0) {
            fatal("%s: connection closed without a reply", socket_path);
        } else if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                continue;
            }
            fatal("%s: recv: %s", socket_path, strerror(errno));
        }
        cl->used += (size_t) n;
    }
    reply = json_loadb(cl->buf + cl->start,
                       (size_t) (eol - (cl->buf + cl->start)), 0, &jerr);
    cl->start = (size_t) (eol + 1 - cl->buf);
    client_restart_clock(cl);
    if (!json_is_object(reply)) {
        fatal("%s: malformed reply: %s", socket_path,
              reply ? "not an object" : jerr.text);
    }
    error = json_object_get(reply, "error");
    if (error) {
        const char *msg = json_string_value(json_object_get(error,
                                                            "message"));
        json_int_t code = json_integer_value(json_object_get(error, "code"));

        if (msg && msg[0]) {
            fatal("%s", msg);
        }
        fatal("error %lld%s%s", (long long) code, code > 0 ? ": " : "",
              code > 0 ? strerror((int) code) : "");
    }
    if (!json_object_get(reply, "result")) {
        fatal("%s: malformed reply: no result", socket_path);
    }
    return reply;
}

/* Sends 'method' with 'params' (stolen) and returns the reply's result (a
 * new reference). Exits on any failure or an error reply. */
static json_t *
call(const char *method, json_t *params)
{
    struct client cl;
    json_t *reply, *result;

    client_open(&cl);
    client_send(&cl, method, params, false);
    reply = client_reply(&cl);
    client_close(&cl);
    result = json_incref(json_object_get(reply, "result"));
    json_decref(reply);
    return result;
}

/* Sends 'method' with 'params' (stolen) asking for a streamed result, and
 * calls 'cb' with each item as the parts arrive.  Exits on any failure or
 * an error reply (also one that ends a stream partway). */
static void
call_stream(const char *method, json_t *params,
            void (*cb)(json_t *item, void *aux), void *aux)
{
    struct client cl;
    bool more = true;

    client_open(&cl);
    client_send(&cl, method, params, true);
    while (more) {
        json_t *reply = client_reply(&cl), *item;
        size_t i;

        json_array_foreach (json_object_get(reply, "result"), i, item) {
            cb(item, aux);
        }
        more = json_is_true(json_object_get(reply, "more"));
        json_decref(reply);
    }
    client_close(&cl);
}

static void
print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_ENCODE_ANY | (pretty ? JSON_INDENT(2)
                                                      : JSON_COMPACT));

    if (s) {
        puts(s);
        free(s);
    }
}

/* With --format=json: prints 'r', frees it and returns true (the command is
 * done); otherwise returns false and the command prints its text. */
static bool
printed_as_json(json_t *r)
{
    if (!json_output) {
        return false;
    }
    print_json(r);
    json_decref(r);
    return true;
}

/* Modification commands: nothing to print in text mode. */
static void
finish_quiet(json_t *result)
{
    if (json_output) {
        print_json(result);
    }
    json_decref(result);
}

/* ---- Result field access. ---- */

static long long
num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }
    if (json_is_real(v)) {
        return (long long) json_real_value(v);
    }
    return 0;
}

static double
real(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);

    return json_is_number(v) ? json_number_value(v) : 0.0;
}

static const char *
str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));

    return s ? s : "";
}

/* ---- Local flow syntax checks. ---- */

/* Returns NULL if 'text' parses for 'cmd', else the parser's message
 * (static buffer). */
static const char *
flow_check(const char *text, enum of_flow_cmd cmd)
{
    static char err[512];
    struct of_flow_spec spec;
    int error;

    err[0] = '\0';
    error = of_flow_parse(&spec, text, cmd, err, sizeof err);
    if (error) {
        if (!err[0]) {
            snprintf(err, sizeof err, "%s", strerror(error));
        }
        return err;
    }
    of_flow_spec_uninit(&spec);
    return NULL;
}

static void
flow_check_arg(const char *what, const char *text, enum of_flow_cmd cmd)
{
    const char *err = flow_check(text, cmd);

    if (err) {
        fatal("%s: %s: %s", what, text, err);
    }
}

/* Trims trailing and leading white space in place; returns the start. */
static char *
trim(char *s)
{
    size_t n = strlen(s);

    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '
                 || s[n - 1] == '\t')) {
        s[--n] = '\0';
    }
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

/* Reads the flow file 'name' ("-" = stdin): one flow per line, '#'
 * comments, blank lines skipped. Every line is checked; the first error
 * exits naming FILE:LINE. Returns a JSON array of the flow texts. */
static json_t *
read_flow_file(const char *name)
{
    const char *shown = strcmp(name, "-") ? name : "(stdin)";
    FILE *f = strcmp(name, "-") ? fopen(name, "r") : stdin;
    json_t *flows = json_array();
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;

    if (!f) {
        fatal("%s: %s", name, strerror(errno));
    }
    while (getline(&line, &cap, f) >= 0) {
        const char *err;
        char *text;

        lineno++;
        text = trim(line);
        if (!text[0] || text[0] == '#') {
            continue;
        }
        err = flow_check(text, OFFC_ADD);
        if (err) {
            fatal("%s:%lu: %s", shown, lineno, err);
        }
        json_array_append_new(flows, json_string(text));
    }
    if (ferror(f)) {
        fatal("%s: %s", shown, strerror(errno));
    }
    free(line);
    if (f != stdin) {
        fclose(f);
    }
    return flows;
}

/* ---- Commands. ---- */

static void
cmd_show(int argc, char *argv[])
{
    json_t *r = call("show", json_pack("{s:s}", "bridge", argv[0]));
    json_t *ports = json_object_get(r, "ports"), *p;
    size_t i;

    if (printed_as_json(r)) {
        return;
    }
    printf("bridge %s:\n", json_string_value(json_object_get(r, "bridge"))
                           ? str(r, "bridge") : argv[0]);
    json_array_foreach (ports, i, p) {
        json_t *opts = json_object_get(p, "options"), *v;
        const char *key;

        printf(" %lld(%s): type=%s link=%s mtu=%lld\n", num(p, "ofport"),
               str(p, "name"), str(p, "type"), str(p, "link"),
               num(p, "mtu"));
        json_object_foreach (opts, key, v) {
            if (json_is_string(v)) {
                printf("     %s=%s\n", key, json_string_value(v));
            } else {
                char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

                printf("     %s=%s\n", key, s ? s : "?");
                free(s);
            }
        }
    }
    json_array_foreach (json_object_get(r, "failed_ports"), i, p) {
        printf(" %lld(%s): type=%s FAILED: %s\n", num(p, "ofport"),
               str(p, "name"), str(p, "type"), str(p, "error"));
    }
    json_decref(r);
}

static bool
all_digits(const char *s)
{
    if (!*s) {
        return false;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return false;
        }
    }
    return true;
}

static void
cmd_dump_ports(int argc, char *argv[])
{
    json_t *params = json_pack("{s:s}", "bridge", argv[0]);
    json_t *r, *p;
    size_t i;

    if (argc > 1) {
        if (all_digits(argv[1]) && strlen(argv[1]) < 10) {
            json_object_set_new(params, "port",
                                json_integer(atoll(argv[1])));
        } else {
            json_object_set_new(params, "port", json_string(argv[1]));
        }
    }
    r = call("dump-ports", params);
    if (printed_as_json(r)) {
        return;
    }
    printf("%s: %zu ports\n", argv[0], json_array_size(r));
    json_array_foreach (r, i, p) {
        printf("  port %2lld: rx pkts=%lld, bytes=%lld, drop=%lld, "
               "errs=%lld\n", num(p, "ofport"), num(p, "rx_packets"),
               num(p, "rx_bytes"), num(p, "rx_dropped"),
               num(p, "rx_errors"));
        printf("           tx pkts=%lld, bytes=%lld, drop=%lld, "
               "errs=%lld\n", num(p, "tx_packets"), num(p, "tx_bytes"),
               num(p, "tx_dropped"), num(p, "tx_errors"));
        if (num(p, "hw_tx_packets")) {
            printf("           hw tx pkts=%lld, bytes=%lld\n",
                   num(p, "hw_tx_packets"), num(p, "hw_tx_bytes"));
        }
        /* Provider-specific counters (vhost queues, ring-full drops...):
         * only when a single port was asked for, as they can be many. */
        if (argc > 1) {
            json_t *custom = json_object_get(p, "custom"), *v;
            const char *key;

            json_object_foreach (custom, key, v) {
                printf("           %s=%lld\n", key,
                       (long long) json_integer_value(v));
            }
        }
    }
    json_decref(r);
}

static void
cmd_add_flow(int argc, char *argv[])
{
    flow_check_arg("add-flow", argv[1], OFFC_ADD);
    finish_quiet(call("add-flows", json_pack("{s:s,s:[s]}", "bridge",
                                             argv[0], "flows", argv[1])));
}

/* Bytes of flow text per request of a long add-flows or replace-flows:
 * well under the daemon's request limit (CTL_MAX_REQUEST, 4 MiB). */
#define FLOW_PART_BYTES (1u << 20)

/* Sends the flows of 'flows' (stolen) to 'method' ("add-flows" or
 * "replace-flows") in parts of about FLOW_PART_BYTES, all but the last
 * with "more": true, on one connection: the daemon stages the parts and
 * applies the whole list, all or nothing, with the last one. */
static json_t *
call_flow_list(const char *method, const char *bridge, json_t *flows)
{
    size_t i = 0, n = json_array_size(flows);
    json_t *result = NULL;
    struct client cl;

    client_open(&cl);
    do {
        json_t *part = json_array(), *params, *reply;
        size_t bytes = 0;
        bool more;

        while (i < n && (bytes < FLOW_PART_BYTES || !json_array_size(part))) {
            json_t *text = json_array_get(flows, i++);

            bytes += strlen(json_string_value(text)) + 3;
            json_array_append(part, text);
        }
        more = i < n;
        params = json_pack("{s:s,s:o}", "bridge", bridge, "flows", part);
        if (more) {
            json_object_set_new(params, "more", json_true());
        }
        client_send(&cl, method, params, false);
        reply = client_reply(&cl);
        if (!more) {
            result = json_incref(json_object_get(reply, "result"));
        }
        json_decref(reply);
    } while (i < n);
    client_close(&cl);
    json_decref(flows);
    return result;
}

static void
cmd_add_flows(int argc, char *argv[])
{
    finish_quiet(call_flow_list("add-flows", argv[0],
                                read_flow_file(argv[1])));
}

static void
cmd_replace_flows(int argc, char *argv[])
{
    finish_quiet(call_flow_list("replace-flows", argv[0],
                                read_flow_file(argv[1])));
}

/* Removes "--strict" from argv (anywhere after BR); returns the new argc
 * and sets '*strict'. */
static int
take_strict(int argc, char *argv[], bool *strict)
{
    int n = 0;

    *strict = global_strict;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--strict")) {
            *strict = true;
        } else {
            argv[n++] = argv[i];
        }
    }
    return n;
}

static void
cmd_mod_flows(int argc, char *argv[])
{
    bool strict;

    argc = take_strict(argc, argv, &strict);
    if (argc != 2) {
        usage_error("mod-flows: expected BR [--strict] FLOW");
    }
    flow_check_arg("mod-flows", argv[1],
                   strict ? OFFC_MODIFY_STRICT : OFFC_MODIFY);
    finish_quiet(call("mod-flows", json_pack("{s:s,s:s,s:b}", "bridge",
                                             argv[0], "flow", argv[1],
                                             "strict", strict)));
}

static void
cmd_del_flows(int argc, char *argv[])
{
    json_t *params;
    bool strict;

    argc = take_strict(argc, argv, &strict);
    if (argc < 1 || argc > 2) {
        usage_error("del-flows: expected BR [--strict] [MATCH]");
    }
    params = json_pack("{s:s,s:b}", "bridge", argv[0], "strict", strict);
    if (argc == 2) {
        flow_check_arg("del-flows", argv[1],
                       strict ? OFFC_DELETE_STRICT : OFFC_DELETE);
        json_object_set_new(params, "match", json_string(argv[1]));
    }
    finish_quiet(call("del-flows", params));
}

/* Prints one dump-flows item: with --format=json a row object, as an
 * element of one JSON array ('*n' printed so far); otherwise the daemon's
 * ovs-ofctl line. */
static void
print_flow_item(json_t *item, void *n_)
{
    size_t *n = n_;

    if (json_output) {
        char *text = json_dumps(item, pretty ? JSON_INDENT(2) : JSON_COMPACT);

        printf("%s%s", *n ? ",\n" : "[", text ? text : "null");
        free(text);
    } else {
        puts(json_is_string(item) ? json_string_value(item) : "?");
    }
    ++*n;
}

/* The rows arrive in parts (a streamed reply) and are printed as they
 * come, so a dump of a million rules needs neither a reply of hundreds of
 * megabytes nor the memory to hold it.  In text mode the daemon formats
 * the lines ("text": true). */
static void
cmd_dump_flows(int argc, char *argv[])
{
    json_t *params = json_pack("{s:s}", "bridge", argv[0]);
    size_t n = 0;

    if (argc > 1) {
        flow_check_arg("dump-flows", argv[1], OFFC_MATCH);
        json_object_set_new(params, "match", json_string(argv[1]));
    }
    if (!json_output) {
        json_object_set_new(params, "text", json_true());
    }
    call_stream("dump-flows", params, print_flow_item, &n);
    if (json_output) {
        printf("%s\n", n ? "]" : "[]");
    }
}

static void
cmd_add_port(int argc, char *argv[])
{
    json_t *opts = json_object();

    for (int i = 3; i < argc; i++) {
        char *eq = strchr(argv[i], '=');

        if (!eq || eq == argv[i]) {
            usage_error("add-port: \"%s\": expected KEY=VALUE", argv[i]);
        }
        *eq = '\0';
        if (json_object_get(opts, argv[i])) {
            fatal("add-port: option \"%s\" given twice", argv[i]);
        }
        json_object_set_new(opts, argv[i], json_string(eq + 1));
    }
    finish_quiet(call("add-port", json_pack("{s:s,s:s,s:s,s:o}", "bridge",
                                            argv[0], "name", argv[1],
                                            "type", argv[2], "options",
                                            opts)));
}

static void
cmd_del_port(int argc, char *argv[])
{
    finish_quiet(call("del-port", json_pack("{s:s,s:s}", "bridge", argv[0],
                                            "name", argv[1])));
}

static void
cmd_dump_megaflows(int argc, char *argv[])
{
    json_t *r = call("dump-megaflows", NULL), *m;
    size_t i;

    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (r, i, m) {
        long long used = num(m, "used_ms_ago");
        char used_s[32];

        if (used < 0) {
            snprintf(used_s, sizeof used_s, "never");
        } else {
            snprintf(used_s, sizeof used_s, "%lld.%03llds", used / 1000,
                     used % 1000);
        }
        printf("pmd=%lld %s, packets:%lld, bytes:%lld, used:%s, "
               "actions:%s", num(m, "pmd"),
               str(m, "match")[0] ? str(m, "match") : "(any)",
               num(m, "packets"), num(m, "bytes"), used_s,
               str(m, "actions"));
        /* Offload state, when the daemon offloads (hardware counts are
         * included in packets/bytes above). */
        if (str(m, "offload_reason")[0]
            || (str(m, "offload")[0] && strcmp(str(m, "offload"), "none")
                && strcmp(str(m, "offload"), "offered"))) {
            printf(", offloaded:%s, hw_packets:%lld, hw_bytes:%lld",
                   str(m, "offload"), num(m, "hw_packets"),
                   num(m, "hw_bytes"));
            if (str(m, "offload_reason")[0]) {
                printf(", offload_reason:%s", str(m, "offload_reason"));
            }
            if (str(m, "offload_message")[0]) {
                printf(" (%s)", str(m, "offload_message"));
            }
        }
        putchar('\n');
    }
    json_decref(r);
}

static void
cmd_pmd_stats(int argc, char *argv[])
{
    json_t *r = call("pmd-stats", NULL), *p;
    size_t i;

    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (r, i, p) {
        json_t *drops = json_object_get(p, "drops"), *v;
        const char *reason;

        printf("pmd thread pmd_id %lld core_id %lld:\n", num(p, "pmd"),
               num(p, "core"));
        printf("  packets received: %lld\n", num(p, "packets"));
        printf("  emc hits: %lld\n", num(p, "emc_hits"));
        printf("  of which header-key cache hits: %lld\n",
               num(p, "hkc_hits"));
        printf("  exact-match lookups skipped (cache thrashing): %lld\n",
               num(p, "exact_skipped"));
        printf("  megaflow hits: %lld\n", num(p, "megaflow_hits"));
        printf("  miss with success upcall: %lld\n",
               num(p, "upcalls") - num(p, "upcall_failures"));
        printf("  miss with failed upcall: %lld\n",
               num(p, "upcall_failures"));
        printf("  packet recirculations: %lld\n", num(p, "recirculations"));
        printf("  avg. datapath passes per packet: %.2f\n",
               num(p, "packets") ? 1.0 + (double) num(p, "recirculations")
                                   / (double) num(p, "packets") : 0.0);
        printf("  avg cycles per packet: %.2f\n",
               real(p, "cycles_per_packet"));
        if (num(p, "profiled_packets") > 0) {
            json_t *stages = json_object_get(p, "stage_cycles");
            double n = (double) num(p, "profiled_packets");
            const char *stage;

            printf("  profiled packets: %lld, cycles per packet by stage:\n",
                   num(p, "profiled_packets"));
            json_object_foreach (stages, stage, v) {
                printf("    %s: %.1f\n", stage,
                       (double) json_integer_value(v) / n);
            }
        }
        printf("  loop iterations by length (longest %.1f us):\n",
               real(p, "iteration_max_us"));
        {
            json_t *iters = json_object_get(p, "iterations"), *it;
            size_t k;
            long long lo = 0;

            json_array_foreach (iters, k, it) {
                json_t *le = json_object_get(it, "le_us");

                if (json_is_integer(le)) {
                    printf("    %lld-%lld us: %lld\n", lo,
                           (long long) json_integer_value(le),
                           num(it, "count"));
                    lo = (long long) json_integer_value(le);
                } else {
                    printf("    > %lld us: %lld\n", lo, num(it, "count"));
                }
            }
        }
        printf("  drops:\n");
        json_object_foreach (drops, reason, v) {
            printf("    %s: %lld\n", reason, (long long)
                   json_integer_value(v));
        }
    }
    json_decref(r);
}

static void
cmd_revalidation_stats(int argc, char *argv[])
{
    json_t *r = call("revalidation-stats", NULL);
    long long walks, pulls;

    (void) argc;
    (void) argv;
    if (printed_as_json(r)) {
        return;
    }
    walks = num(r, "revalidations");
    pulls = num(r, "credit_walks");
    printf("revalidations: %lld\n", walks);
    printf("  megaflows walked: %lld (translated again %lld, spared %lld,"
           " removed %lld)\n", num(r, "megaflows_walked"),
           num(r, "translated"), num(r, "spared"), num(r, "removed"));
    printf("  walk time: total %.1f ms, average %.2f ms, longest %.2f ms,"
           " last %.2f ms\n", real(r, "walk_ms_total"),
           walks ? real(r, "walk_ms_total") / (double) walks : 0.0,
           real(r, "walk_ms_max"), real(r, "walk_ms_last"));
    printf("credit walks before changes: %lld\n", pulls);
    printf("  megaflows credited: %lld, time: total %.1f ms, average %.2f"
           " ms\n", num(r, "credited"), real(r, "credit_walk_ms_total"),
           pulls ? real(r, "credit_walk_ms_total") / (double) pulls : 0.0);
    json_decref(r);
}

static void
cmd_pmd_profile(int argc, char *argv[])
{
    json_t *params = json_object(), *r;

    if (argc > 0) {
        if (strcmp(argv[0], "on") && strcmp(argv[0], "off")) {
            usage_error("pmd-profile: expected on or off, not \"%s\"",
                        argv[0]);
        }
        json_object_set_new(params, "enable",
                            json_boolean(!strcmp(argv[0], "on")));
    }
    r = call("pmd-profile", params);
    if (printed_as_json(r)) {
        return;
    }
    printf("pmd profile: %s\n",
           json_is_true(json_object_get(r, "enabled")) ? "on" : "off");
    json_decref(r);
}

static void
cmd_log_level(int argc, char *argv[])
{
    json_t *params = json_object(), *r;
    const char *module;
    json_t *level;

    if (argc == 2) {
        json_object_set_new(params, "module", json_string(argv[0]));
    }
    if (argc >= 1) {
        json_object_set_new(params, "level", json_string(argv[argc - 1]));
    }
    r = call("log-level", params);
    if (printed_as_json(r)) {
        return;
    }
    json_object_foreach (json_object_get(r, "modules"), module, level) {
        printf("%-10s %s\n", module, json_string_value(level));
    }
    json_decref(r);
}

static void
cmd_offload_show(int argc, char *argv[])
{
    json_t *r = call("offload-show", NULL), *p, *c, *v;
    const char *key;
    size_t i;

    (void) argc;
    (void) argv;
    if (printed_as_json(r)) {
        return;
    }
    if (!json_is_true(json_object_get(r, "enabled"))) {
        printf("offload: disabled (no port has \"offload\")\n");
    }
    json_array_foreach (json_object_get(r, "ports"), i, p) {
        printf("port %s (dp %lld): %s nic=%s mode=%s %s, %lld flows\n",
               str(p, "port"), num(p, "dp_port"), str(p, "provider"),
               str(p, "nic"), str(p, "mode"),
               json_is_true(json_object_get(p, "active")) ? "active"
                                                          : "inactive",
               num(p, "flows"));
        printf("  caps:");
        c = json_object_get(p, "caps");
        json_object_foreach (c, key, v) {
            if (json_is_true(v)) {
                printf(" %s", key);
            }
        }
        printf("\n  probe: %s\n", str(p, "probe"));
    }
    json_array_foreach (json_object_get(r, "simnics"), i, p) {
        printf("simnic %s: %lld/%lld rules (%lld%%), %lld ports, insert "
               "rate %lld/s, hw packets %lld (dropped %lld, forwarded "
               "%lld), marked %lld, misses %lld\n", str(p, "name"),
               num(p, "rules"), num(p, "capacity"), num(p, "occupancy_pct"),
               num(p, "ports"), num(p, "insert_rate"), num(p, "hw_packets"),
               num(p, "hw_dropped"), num(p, "hw_forwarded"),
               num(p, "marked"), num(p, "misses"));
    }
    json_decref(r);
}

static void
cmd_offload_stats(int argc, char *argv[])
{
    json_t *r = call("offload-stats", NULL), *v, *lat, *e;
    const char *key;
    size_t i;

    (void) argc;
    (void) argv;
    if (printed_as_json(r)) {
        return;
    }
    json_object_foreach (r, key, v) {
        if (json_is_integer(v)) {
            printf("%s: %lld\n", key, (long long) json_integer_value(v));
        }
    }
    lat = json_object_get(r, "insert_latency_us");
    printf("insert latency (us): avg %.1f, max %.1f, last %.1f\n",
           real(lat, "avg"), real(lat, "max"), real(lat, "last"));
    printf("kept in software, by reason:\n");
    json_object_foreach (json_object_get(r, "failed"), key, v) {
        if (json_integer_value(v)) {
            printf("  %s: %lld\n", key, (long long) json_integer_value(v));
        }
    }
    printf("removed from hardware (recent):\n");
    json_array_foreach (json_object_get(r, "removed_flows"), i, e) {
        printf("  %s: dp port %lld %s, hw packets %lld, bytes %lld, "
               "%lld ms ago\n", str(e, "reason"), num(e, "dp_in_port"),
               str(e, "match")[0] ? str(e, "match") : "(any)",
               num(e, "hw_packets"), num(e, "hw_bytes"), num(e, "ago_ms"));
    }
    json_decref(r);
}

/* A conntrack tuple object as "SRC:SPORT->DST:DPORT/PROTO". */
static void
print_tuple(const json_t *t)
{
    if (json_object_get(t, "sport")) {
        printf("%s:%lld->%s:%lld/%lld", str(t, "src"), num(t, "sport"),
               str(t, "dst"), num(t, "dport"), num(t, "proto"));
    } else {
        printf("%s->%s/%lld", str(t, "src"), str(t, "dst"),
               num(t, "proto"));
    }
}

static void
cmd_offload_sessions(int argc, char *argv[])
{
    json_t *r = call("offload-sessions", NULL), *x, *d;
    size_t i, j;

    (void) argc;
    (void) argv;
    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (json_object_get(r, "sessions"), i, x) {
        printf("zone=%lld ", num(x, "zone"));
        print_tuple(json_object_get(x, "orig"));
        printf("\n");
        json_array_foreach (json_object_get(x, "dirs"), j, d) {
            printf("  %s: %s%s%s, in_port %s, hw packets %lld, bytes %lld, "
                   "idle %lld ms\n", str(d, "dir"), str(d, "state"),
                   strcmp(str(d, "reason"), "none") ? " " : "",
                   strcmp(str(d, "reason"), "none") ? str(d, "reason") : "",
                   str(d, "port")[0] ? str(d, "port") : "?",
                   num(d, "hw_packets"), num(d, "hw_bytes"),
                   num(d, "idle_ms"));
        }
    }
    json_decref(r);
}

/* Normalises a hex packet: drops ':', '.', '-' and white space, checks the
 * rest is an even number of hex digits, lowercases. Exits on error. */
static char *
hex_packet(const char *arg, int index)
{
    char *out = malloc(strlen(arg) + 1);
    size_t n = 0;

    for (const char *s = arg; *s; s++) {
        char c = *s;

        if (c == ':' || c == '.' || c == '-' || c == ' ' || c == '\t') {
            continue;
        }
        if (c >= 'A' && c <= 'F') {
            c = (char) (c - 'A' + 'a');
        }
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            fatal("inject: packet %d: '%c' is not a hex digit", index, *s);
        }
        out[n++] = c;
    }
    out[n] = '\0';
    if (!n || n % 2) {
        fatal("inject: packet %d: need an even, nonzero number of hex "
              "digits", index);
    }
    return out;
}

static void
cmd_inject(int argc, char *argv[])
{
    json_t *pkts = json_array();

    for (int i = 2; i < argc; i++) {
        char *hex = hex_packet(argv[i], i - 1);

        json_array_append_new(pkts, json_string(hex));
        free(hex);
    }
    finish_quiet(call("dummy-inject", json_pack("{s:s,s:s,s:o}", "bridge",
                                                argv[0], "port", argv[1],
                                                "packets", pkts)));
}

static void
cmd_capture(int argc, char *argv[])
{
    json_t *r = call("dummy-capture", json_pack("{s:s,s:s}", "bridge",
                                                argv[0], "port", argv[1]));
    json_t *p;
    size_t i;

    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (json_object_get(r, "packets"), i, p) {
        puts(json_string_value(p) ? json_string_value(p) : "");
    }
    json_decref(r);
}

static volatile sig_atomic_t capture_interrupted;

static void
on_capture_signal(int sig)
{
    (void) sig;
    capture_interrupted = 1;
}

static void
print_capture_summary(json_t *r)
{
    const char *ended = json_string_value(json_object_get(r, "ended"));
    const char *error = json_string_value(json_object_get(r, "error"));

    fprintf(stderr, "%lld packets captured (%lld bytes), %lld dropped, "
            "%lld filtered out, of %lld seen; ended: %s%s%s\n",
            num(r, "packets"), num(r, "bytes"), num(r, "dropped"),
            num(r, "filtered"), num(r, "seen"), ended ? ended : "?",
            error ? ": " : "", error ? error : "");
}

/* capture-pcap BR PORT [rx|tx|both] -w FILE [-c N] [-s SNAPLEN]
 * [-d SECONDS] [FILTER]: captures until N packets are written, SECONDS
 * pass, or SIGINT/SIGTERM, then prints what it got. */
static void
cmd_capture_pcap(int argc, char *argv[])
{
    const char *dir = "both", *file = NULL, *filter = NULL;
    long long count = 0, snaplen = 0, duration = 0, id, deadline;
    char path[4096];
    json_t *params, *r;
    int i;

    for (i = 2; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "rx") || !strcmp(a, "tx") || !strcmp(a, "both")) {
            dir = a;
        } else if (!strcmp(a, "-w") || !strcmp(a, "-c") || !strcmp(a, "-s")
                   || !strcmp(a, "-d")) {
            char *end;
            long long v;

            if (i + 1 >= argc) {
                usage_error("capture-pcap: %s needs a value", a);
            }
            if (a[1] == 'w') {
                file = argv[++i];
                continue;
            }
            v = strtoll(argv[++i], &end, 10);
            if (*end || end == argv[i] || v < 0) {
                usage_error("capture-pcap: %s: expected a number, not "
                            "\"%s\"", a, argv[i]);
            }
            *(a[1] == 'c' ? &count : a[1] == 's' ? &snaplen : &duration) = v;
        } else if (!filter && a[0] != '-') {
            filter = a;
        } else {
            usage_error("capture-pcap: unexpected \"%s\"", a);
        }
    }
    if (!file) {
        usage_error("capture-pcap: -w FILE is required");
    }
    if (file[0] == '/') {
        snprintf(path, sizeof path, "%s", file);
    } else {
        char cwd[2048];

        if (!getcwd(cwd, sizeof cwd)) {
            fatal("getcwd: %s", strerror(errno));
        }
        snprintf(path, sizeof path, "%s/%s", cwd, file);
    }
    params = json_pack("{s:s, s:s, s:s, s:s}", "bridge", argv[0], "port",
                       argv[1], "direction", dir, "file", path);
    if (count) {
        json_object_set_new(params, "count", json_integer(count));
    }
    if (snaplen) {
        json_object_set_new(params, "snaplen", json_integer(snaplen));
    }
    if (filter) {
        json_object_set_new(params, "filter", json_string(filter));
    }
    signal(SIGINT, on_capture_signal);
    signal(SIGTERM, on_capture_signal);
    r = call("capture-start", params);
    id = num(r, "id");
    json_decref(r);
    fprintf(stderr, "capturing %s/%s %s into %s (capture %lld)\n", argv[0],
            argv[1], dir, path, id);
    deadline = duration ? now_ms() + duration * 1000 : -1;
    while (!capture_interrupted
           && (deadline < 0 || now_ms() < deadline)) {
        json_t *list = call("capture-list", NULL), *c;
        bool active = false;
        size_t k;

        json_array_foreach (list, k, c) {
            if (num(c, "id") == id) {
                active = json_is_true(json_object_get(c, "active"));
            }
        }
        json_decref(list);
        if (!active) {
            break;
        }
        usleep(100 * 1000);
    }
    r = call("capture-stop", json_pack("{s:I}", "id", (json_int_t) id));
    if (!printed_as_json(r)) {
        print_capture_summary(r);
        json_decref(r);
    }
}

/* "P1,P2" (or "10,20" with 'ints') as a JSON array. */
static json_t *
list_arg(const char *what, const char *v, bool ints)
{
    json_t *a = json_array();
    char *copy = strdup(v), *save = NULL;

    if (!copy || !*v) {
        usage_error("add-mirror: %s: expected a comma-separated list",
                    what);
    }
    for (char *e = strtok_r(copy, ",", &save); e;
         e = strtok_r(NULL, ",", &save)) {
        if (ints) {
            char *end;
            long n = strtol(e, &end, 10);

            if (*end || end == e || n < 0 || n > 4095) {
                usage_error("add-mirror: vlan: \"%s\" is not a VLAN id "
                            "0..4095", e);
            }
            json_array_append_new(a, json_integer(n));
        } else {
            json_array_append_new(a, json_string(e));
        }
    }
    free(copy);
    return a;
}

static void
cmd_add_mirror(int argc, char *argv[])
{
    json_t *params = json_pack("{s:s,s:s}", "bridge", argv[0], "name",
                               argv[1]);

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "all")) {
            json_object_set_new(params, "select_all", json_true());
        } else if (!strncmp(a, "output=", 7)) {
            json_object_set_new(params, "output_port", json_string(a + 7));
        } else if (!strncmp(a, "src=", 4)) {
            json_object_set_new(params, "select_src_port",
                                list_arg("src", a + 4, false));
        } else if (!strncmp(a, "dst=", 4)) {
            json_object_set_new(params, "select_dst_port",
                                list_arg("dst", a + 4, false));
        } else if (!strncmp(a, "vlan=", 5)) {
            json_object_set_new(params, "select_vlan",
                                list_arg("vlan", a + 5, true));
        } else {
            usage_error("add-mirror: \"%s\": expected output=PORT, "
                        "src=P,..., dst=P,..., vlan=V,... or all", a);
        }
    }
    if (!json_object_get(params, "output_port")) {
        usage_error("add-mirror: output=PORT is required");
    }
    finish_quiet(call("add-mirror", params));
}

static void
cmd_del_mirror(int argc, char *argv[])
{
    finish_quiet(call("del-mirror", json_pack("{s:s,s:s}", "bridge",
                                              argv[0], "name", argv[1])));
}

static void
print_names(const char *key, const json_t *list)
{
    size_t i;
    json_t *v;

    if (!json_array_size(list)) {
        return;
    }
    printf(" %s=", key);
    json_array_foreach (list, i, v) {
        if (json_is_integer(v)) {
            printf("%s%lld", i ? "," : "", (long long) json_integer_value(v));
        } else {
            printf("%s%s", i ? "," : "", json_string_value(v));
        }
    }
}

/* Prints a method's array of lines ('params' stolen). */
static void
print_lines(const char *method, json_t *params)
{
    json_t *r = call(method, params);
    json_t *l;
    size_t i;

    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (r, i, l) {
        printf("%s\n", json_string_value(l));
    }
    json_decref(r);
}

static void
cmd_tnl_route_show(int argc, char *argv[])
{
    (void) argc;
    (void) argv;
    print_lines("tnl-route-show", json_object());
}

static void
cmd_tnl_neigh_show(int argc, char *argv[])
{
    (void) argc;
    (void) argv;
    print_lines("tnl-neigh-show", json_object());
}

static void
cmd_add_tlv_map(int argc, char *argv[])
{
    (void) argc;
    finish_quiet(call("add-tlv-map", json_pack("{s:s, s:s}", "bridge",
                                               argv[0], "map", argv[1])));
}

static void
cmd_del_tlv_map(int argc, char *argv[])
{
    json_t *params = json_pack("{s:s}", "bridge", argv[0]);

    if (argc > 1) {
        json_object_set_new(params, "map", json_string(argv[1]));
    }
    finish_quiet(call("del-tlv-map", params));
}

static void
cmd_dump_tlv_map(int argc, char *argv[])
{
    (void) argc;
    print_lines("dump-tlv-map", json_pack("{s:s}", "bridge", argv[0]));
}

/* OpenFlow settings: set-controller BR [TARGET...], set-listen BR
 * [TARGET...] (none: remove them all), set-fail-mode BR MODE. */
static void
set_openflow_list(const char *key, int argc, char *argv[])
{
    json_t *list = json_array();

    for (int i = 1; i < argc; i++) {
        json_array_append_new(list, json_string(argv[i]));
    }
    finish_quiet(call("set-openflow", json_pack("{s:s, s:o}", "bridge",
                                                argv[0], key, list)));
}

static void
cmd_set_controller(int argc, char *argv[])
{
    set_openflow_list("controllers", argc, argv);
}

static void
cmd_del_controller(int argc, char *argv[])
{
    set_openflow_list("controllers", 1, argv);
    (void) argc;
}

static void
cmd_set_listen(int argc, char *argv[])
{
    set_openflow_list("listen", argc, argv);
}

static void
cmd_set_fail_mode(int argc, char *argv[])
{
    (void) argc;
    finish_quiet(call("set-openflow", json_pack("{s:s, s:s}", "bridge",
                                                argv[0], "fail_mode",
                                                argv[1])));
}

/* get-controller BR: one line per target, ovs-vsctl style, then the
 * listeners' clients. */
static void
cmd_get_controller(int argc, char *argv[])
{
    json_t *r = call("get-openflow", json_pack("{s:s}", "bridge", argv[0]));
    json_t *v, *conns;
    size_t i;

    (void) argc;
    if (printed_as_json(r)) {
        return;
    }
    conns = json_object_get(r, "connections");
    json_array_foreach (json_object_get(r, "controllers"), i, v) {
        const char *target = json_string_value(v);
        const char *state = "connecting";
        const char *role = "";
        json_t *c;
        size_t k;

        json_array_foreach (conns, k, c) {
            if (json_is_true(json_object_get(c, "controller"))
                && !strcmp(str(c, "peer"), target)) {
                state = json_is_true(json_object_get(c, "connected"))
                        ? "connected" : "connecting";
                role = str(c, "role");
            }
        }
        printf("controller %s: %s%s%s\n", target, state, role[0] ? ", " : "",
               role);
    }
    json_array_foreach (json_object_get(r, "listen"), i, v) {
        printf("listen %s\n", json_string_value(v));
    }
    json_array_foreach (conns, i, v) {
        if (!json_is_true(json_object_get(v, "controller"))) {
            printf("client %s: %s, %s\n", str(v, "peer"),
                   json_is_true(json_object_get(v, "connected"))
                   ? "connected" : "connecting", str(v, "role"));
        }
    }
    printf("fail_mode %s%s\n", str(r, "fail_mode"),
           json_is_true(json_object_get(r, "fail_open")) ? " (fail-open now)"
                                                        : "");
    json_decref(r);
}

static void
cmd_dump_mirrors(int argc, char *argv[])
{
    json_t *r = call("dump-mirrors", json_pack("{s:s}", "bridge", argv[0]));
    json_t *m;
    size_t i;

    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (r, i, m) {
        printf("mirror %s: output=%s", str(m, "name"), str(m, "output_port"));
        if (json_is_true(json_object_get(m, "select_all"))) {
            printf(" all");
        }
        print_names("src", json_object_get(m, "select_src_port"));
        print_names("dst", json_object_get(m, "select_dst_port"));
        print_names("vlan", json_object_get(m, "select_vlan"));
        printf("%s\n", json_is_true(json_object_get(m, "active"))
                       ? "" : " (inactive: output port not open)");
        printf("    tx pkts=%lld, bytes=%lld, dropped=%lld\n",
               num(m, "tx_packets"), num(m, "tx_bytes"), num(m, "dropped"));
    }
    json_decref(r);
}

static void
cmd_capture_list(int argc, char *argv[])
{
    json_t *r = call("capture-list", NULL), *c;
    size_t i;

    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (r, i, c) {
        const char *ended = json_string_value(json_object_get(c, "ended"));

        printf("%lld: %s/%s %s -> %s%s%s: %lld packets, %lld dropped, %s\n",
               num(c, "id"), str(c, "bridge"), str(c, "port"),
               str(c, "direction"), str(c, "file"),
               str(c, "filter")[0] ? " filter " : "", str(c, "filter"),
               num(c, "packets"), num(c, "dropped"),
               ended ? ended : "active");
    }
    json_decref(r);
}

static void
cmd_capture_stop(int argc, char *argv[])
{
    char *end;
    long long id = strtoll(argv[0], &end, 10);
    json_t *r;

    if (*end || end == argv[0] || id <= 0) {
        usage_error("capture-stop: expected a capture id, not \"%s\"",
                    argv[0]);
    }
    r = call("capture-stop", json_pack("{s:I}", "id", (json_int_t) id));
    if (!printed_as_json(r)) {
        print_capture_summary(r);
        json_decref(r);
    }
}

static void
cmd_list_methods(int argc, char *argv[])
{
    json_t *r = call("list-methods", NULL), *m;
    size_t i;

    if (json_output) {
        print_json(r);
    } else {
        json_array_foreach (r, i, m) {
            puts(json_string_value(m) ? json_string_value(m) : "?");
        }
    }
    json_decref(r);
}

static void
cmd_resources(int argc, char *argv[])
{
    json_t *r = call("resources", NULL), *v;
    const char *key;

    if (json_output) {
        print_json(r);
    } else {
        json_object_foreach (r, key, v) {
            printf("%s: %lld\n", key, (long long) json_integer_value(v));
        }
    }
    json_decref(r);
}

static void
cmd_http_info(int argc, char *argv[])
{
    json_t *r = call("http-info", NULL);
    const char *url = json_string_value(json_object_get(r, "url"));

    if (json_output) {
        print_json(r);
    } else if (url) {
        printf("%s\n", url);
    } else {
        printf("http: off\n");
    }
    json_decref(r);
}

static void
cmd_call(int argc, char *argv[])
{
    json_t *params = NULL;

    if (argc > 1) {
        json_error_t jerr;

        params = json_loads(argv[1], 0, &jerr);
        if (!json_is_object(params)) {
            usage_error("call: JSON-PARAMS must be a JSON object%s%s",
                        params ? "" : ": ", params ? "" : jerr.text);
        }
    }
    json_t *r = call(argv[0], params);

    print_json(r);
    json_decref(r);
}

/* "zone=N" (conntrack commands); returns false if 'arg' is not one. */
static bool
zone_arg(const char *arg, json_t *params)
{
    char *end;
    unsigned long z;

    if (strncmp(arg, "zone=", 5)) {
        return false;
    }
    z = strtoul(arg + 5, &end, 10);
    if (!arg[5] || *end || z > 65535) {
        usage_error("bad zone \"%s\": expected zone=0..65535", arg);
    }
    json_object_set_new(params, "zone", json_integer((json_int_t) z));
    return true;
}

static void
cmd_dump_conntrack(int argc, char *argv[])
{
    json_t *params = json_object(), *r, *c;
    size_t i;

    for (int a = 0; a < argc; a++) {
        if (!zone_arg(argv[a], params)) {
            usage_error("dump-conntrack: unexpected \"%s\"", argv[a]);
        }
    }
    r = call("dump-conntrack", params);
    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (json_object_get(r, "connections"), i, c) {
        printf("%s\n", str(c, "line"));
    }
    if (json_is_true(json_object_get(r, "truncated"))) {
        fprintf(stderr, "%s: dump-conntrack: %zu of %lld connections shown "
                "(the daemon's limit; call dump-conntrack with a larger "
                "\"limit\")\n", program,
                json_array_size(json_object_get(r, "connections")),
                num(r, "total"));
    }
    json_decref(r);
}

static void
cmd_flush_conntrack(int argc, char *argv[])
{
    json_t *params = json_object(), *r;

    for (int a = 0; a < argc; a++) {
        if (!zone_arg(argv[a], params)) {
            if (json_object_get(params, "tuple")) {
                usage_error("flush-conntrack: unexpected \"%s\"", argv[a]);
            }
            json_object_set_new(params, "tuple", json_string(argv[a]));
        }
    }
    r = call("flush-conntrack", params);
    if (printed_as_json(r)) {
        return;
    }
    printf("flushed %lld connections\n", num(r, "flushed"));
    json_decref(r);
}

static void
print_counts(const char *title, json_t *obj, bool skip_zero)
{
    const char *key;
    json_t *v;

    printf("%s:\n", title);
    json_object_foreach (obj, key, v) {
        if (!skip_zero || json_integer_value(v)) {
            printf("  %s: %lld\n", key, (long long) json_integer_value(v));
        }
    }
}

static void
cmd_conntrack_stats(int argc, char *argv[])
{
    json_t *r = call("conntrack-stats", NULL);

    (void) argc;
    (void) argv;
    if (printed_as_json(r)) {
        return;
    }
    printf("connections: %lld (max %lld)\n", num(r, "connections"),
           num(r, "max_conns"));
    printf("created: %lld, removed: %lld, new per second: %.1f\n",
           num(r, "created"), num(r, "removed"), real(r, "new_per_second"));
    print_counts("by protocol", json_object_get(r, "by_proto"), false);
    print_counts("tcp by state", json_object_get(r, "tcp_by_state"), true);
    print_counts("drops", json_object_get(r, "drops"), false);
    print_counts("timeouts (s)", json_object_get(r, "timeouts"), false);
    json_decref(r);
}

static void
cmd_conntrack_events(int argc, char *argv[])
{
    json_t *params = json_object(), *r, *e;
    size_t i;

    if (argc > 0) {
        char *end;
        long long after = strtoll(argv[0], &end, 10);

        if (!argv[0][0] || *end || after < 0) {
            usage_error("conntrack-events: AFTER must be a sequence "
                        "number, not \"%s\"", argv[0]);
        }
        json_object_set_new(params, "after", json_integer(after));
    }
    r = call("conntrack-events", params);
    if (printed_as_json(r)) {
        return;
    }
    json_array_foreach (json_object_get(r, "events"), i, e) {
        json_t *p = json_object_get(e, "packets");
        json_t *b = json_object_get(e, "bytes");

        printf("%lld closed(%s) %s,packets=%lld/%lld,bytes=%lld/%lld,"
               "duration=%lldms\n", num(e, "seq"), str(e, "reason"),
               str(e, "line"),
               (long long) json_integer_value(json_array_get(p, 0)),
               (long long) json_integer_value(json_array_get(p, 1)),
               (long long) json_integer_value(json_array_get(b, 0)),
               (long long) json_integer_value(json_array_get(b, 1)),
               num(e, "duration_ms"));
    }
    json_decref(r);
}

struct command {
    const char *name;
    int min_args, max_args;     /* -1: no maximum. */
    void (*fn)(int argc, char *argv[]);
    const char *args;           /* For usage errors. */
};

static const struct command commands[] = {
    { "show", 1, 1, cmd_show, "BR" },
    { "dump-ports", 1, 2, cmd_dump_ports, "BR [PORT]" },
    { "add-flow", 2, 2, cmd_add_flow, "BR FLOW" },
    { "add-flows", 2, 2, cmd_add_flows, "BR FILE" },
    { "mod-flows", 2, 3, cmd_mod_flows, "BR [--strict] FLOW" },
    { "del-flows", 1, 3, cmd_del_flows, "BR [--strict] [MATCH]" },
    { "replace-flows", 2, 2, cmd_replace_flows, "BR FILE" },
    { "dump-flows", 1, 2, cmd_dump_flows, "BR [MATCH]" },
    { "add-port", 3, -1, cmd_add_port, "BR NAME TYPE [KEY=VALUE...]" },
    { "del-port", 2, 2, cmd_del_port, "BR NAME" },
    { "dump-megaflows", 0, 0, cmd_dump_megaflows, "" },
    { "pmd-stats", 0, 0, cmd_pmd_stats, "" },
    { "pmd-profile", 0, 1, cmd_pmd_profile, "[on|off]" },
    { "revalidation-stats", 0, 0, cmd_revalidation_stats, "" },
    { "log-level", 0, 2, cmd_log_level, "[[MODULE] LEVEL]" },
    { "offload-show", 0, 0, cmd_offload_show, "" },
    { "offload-stats", 0, 0, cmd_offload_stats, "" },
    { "offload-sessions", 0, 0, cmd_offload_sessions, "" },
    { "dump-conntrack", 0, 1, cmd_dump_conntrack, "[zone=N]" },
    { "flush-conntrack", 0, 2, cmd_flush_conntrack, "[zone=N] [TUPLE]" },
    { "conntrack-stats", 0, 0, cmd_conntrack_stats, "" },
    { "conntrack-events", 0, 1, cmd_conntrack_events, "[AFTER-SEQ]" },
    { "inject", 3, -1, cmd_inject, "BR PORT HEX..." },
    { "capture", 2, 2, cmd_capture, "BR PORT" },
    { "capture-pcap", 3, -1, cmd_capture_pcap,
      "BR PORT [rx|tx|both] -w FILE [-c N] [-s SNAPLEN] [-d SECONDS] "
      "[FILTER]" },
    { "capture-list", 0, 0, cmd_capture_list, "" },
    { "capture-stop", 1, 1, cmd_capture_stop, "ID" },
    { "add-mirror", 3, 7, cmd_add_mirror,
      "BR NAME output=PORT [src=P,...] [dst=P,...] [vlan=V,...] [all]" },
    { "del-mirror", 2, 2, cmd_del_mirror, "BR NAME" },
    { "dump-mirrors", 1, 1, cmd_dump_mirrors, "BR" },
    { "tnl-route-show", 0, 0, cmd_tnl_route_show, "" },
    { "add-tlv-map", 2, 2, cmd_add_tlv_map, "BR MAP[,MAP...]" },
    { "del-tlv-map", 1, 2, cmd_del_tlv_map, "BR [MAP[,MAP...]]" },
    { "dump-tlv-map", 1, 1, cmd_dump_tlv_map, "BR" },
    { "tnl-neigh-show", 0, 0, cmd_tnl_neigh_show, "" },
    { "set-controller", 1, 9, cmd_set_controller, "BR [TARGET...]" },
    { "del-controller", 1, 1, cmd_del_controller, "BR" },
    { "get-controller", 1, 1, cmd_get_controller, "BR" },
    { "set-listen", 1, 9, cmd_set_listen, "BR [TARGET...]" },
    { "set-fail-mode", 2, 2, cmd_set_fail_mode, "BR secure|standalone" },
    { "list-methods", 0, 0, cmd_list_methods, "" },
    { "resources", 0, 0, cmd_resources, "" },
    { "http-info", 0, 0, cmd_http_info, "" },
    { "call", 1, 2, cmd_call, "METHOD [JSON-PARAMS]" },
};

int
main(int argc, char *argv[])
{
    enum { OPT_SOCKET = 256, OPT_FORMAT, OPT_TIMEOUT, OPT_STRICT,
           OPT_PRETTY };
    static const struct option long_opts[] = {
        { "socket", required_argument, NULL, OPT_SOCKET },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "timeout", required_argument, NULL, OPT_TIMEOUT },
        { "strict", no_argument, NULL, OPT_STRICT },
        { "pretty", no_argument, NULL, OPT_PRETTY },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const struct command *cmd = NULL;
    int opt, n_args;

    socket_path = getenv("SLUICE_SOCKET");
    if (!socket_path || !socket_path[0]) {
        socket_path = DEFAULT_SOCKET;
    }
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1) {
        switch (opt) {
        case OPT_SOCKET:
            socket_path = optarg;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "json")) {
                json_output = true;
            } else if (!strcmp(optarg, "text")) {
                json_output = false;
            } else {
                usage_error("--format: expected json or text, not \"%s\"",
                            optarg);
            }
            break;
        case OPT_TIMEOUT: {
            char *end;
            long v = strtol(optarg, &end, 10);

            if (*end || end == optarg || v < 0 || v > 86400) {
                usage_error("--timeout: expected seconds 0..86400, not "
                            "\"%s\"", optarg);
            }
            timeout_s = (int) v;
            break;
        }
        case OPT_STRICT:
            global_strict = true;
            break;
        case OPT_PRETTY:
            pretty = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("sluice-ofctl (sluice) %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage_error("unknown or incomplete option \"%s\"",
                        argv[optind - 1]);
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (!strcmp(commands[i].name, argv[optind])) {
            cmd = &commands[i];
        }
    }
    if (!cmd) {
        usage_error("unknown command \"%s\"", argv[optind]);
    }
    n_args = argc - optind - 1;
    if (n_args < cmd->min_args
        || (cmd->max_args >= 0 && n_args > cmd->max_args)) {
        usage_error("usage: %s %s%s%s", program, cmd->name,
                    cmd->args[0] ? " " : "", cmd->args);
    }
    cmd->fn(n_args, argv + optind + 1);
    return 0;
}
