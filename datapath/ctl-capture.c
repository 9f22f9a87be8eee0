/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-capture.c: capture-start, capture-list, capture-stop. */
#include "ctl-capture.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "actions.h"
#include "bridge.h"
#include "capture.h"
#include "ctl.h"
#include "ofp-parse.h"

static const char *
dirs_name(unsigned dirs)
{
    return dirs == (CAPTURE_RX | CAPTURE_TX) ? "both"
           : dirs == CAPTURE_RX ? "rx" : "tx";
}

static json_t *
info_json(const struct capture_info *i)
{
    return json_pack(
        "{s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:i, s:b, s:s?, s:I, s:I, s:I,"
        " s:I, s:I, s:s?}",
        "id", (int) i->id, "bridge", i->bridge, "port", i->port,
        "direction", dirs_name(i->dirs), "file", i->path,
        "filter", i->filter, "count", (json_int_t) i->max_packets,
        "snaplen", (int) i->snaplen, "active", i->active,
        "ended", i->ended,
        "seen", (json_int_t) i->stats.seen,
        "dropped", (json_int_t) i->stats.dropped,
        "filtered", (json_int_t) i->stats.filtered,
        "packets", (json_int_t) i->stats.written,
        "bytes", (json_int_t) i->stats.bytes,
        "error", i->stats.error ? strerror(i->stats.error) : NULL);
}

/* The filter: a match in the flow syntax, and nothing else. */
static int
parse_filter(const char *text, struct capture_spec *spec, char *err,
             size_t errsize)
{
    struct of_flow_spec fs;
    char perr[256];

    if (of_flow_parse(&fs, text, OFFC_MATCH, perr, sizeof perr)) {
        snprintf(err, errsize, "params.filter: %s", perr);
        return CTL_ERR_INVALID_PARAMS;
    }
    if (fs.table_set || fs.priority_set || fs.cookie_mask
        || fs.out_port != OFPP_NONE) {
        of_flow_spec_uninit(&fs);
        snprintf(err, errsize, "params.filter: a match only (no table, "
                 "priority, cookie or out_port)");
        return CTL_ERR_INVALID_PARAMS;
    }
    spec->has_filter = true;
    spec->filter = fs.match;
    of_flow_spec_uninit(&fs);
    return 0;
}

static int
h_capture_start(json_t *params, json_t **result, char *err, size_t errsize,
                void *aux)
{
    static const char *const allowed[] = {
        "bridge", "port", "direction", "file", "count", "snaplen", "filter",
        NULL
    };
    struct capture_spec spec = { .snaplen = CAPTURE_DEFAULT_SNAPLEN,
                                 .dirs = CAPTURE_RX | CAPTURE_TX };
    const char *bname, *pname, *dir = NULL, *file, *filter = NULL;
    struct bridge_port_info info;
    long long count = 0, snaplen = CAPTURE_DEFAULT_SNAPLEN;
    struct bridge *br;
    char ifname[160];
    unsigned id;
    int ret;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_param_string(params, "bridge", true, &bname, err, errsize));
    CTL_CHECK(ctl_param_string(params, "port", true, &pname, err, errsize));
    CTL_CHECK(ctl_param_string(params, "direction", false, &dir, err,
                               errsize));
    CTL_CHECK(ctl_param_string(params, "file", true, &file, err, errsize));
    CTL_CHECK(ctl_param_int(params, "count", false, 0, INT64_MAX, &count, err,
                            errsize));
    CTL_CHECK(ctl_param_int(params, "snaplen", false, 64, CAPTURE_MAX_SNAPLEN,
                            &snaplen, err, errsize));
    CTL_CHECK(ctl_param_string(params, "filter", false, &filter, err,
                               errsize));
    br = sw_find_bridge(aux, bname);
    if (!br) {
        snprintf(err, errsize, "bridge \"%s\" not found", bname);
        return ENOENT;
    }
    if (!bridge_port_find(br, pname, &info)) {
        snprintf(err, errsize, "port \"%s\" not found on bridge %s", pname,
                 bname);
        return ENOENT;
    }
    if (dir) {
        if (!strcmp(dir, "rx")) {
            spec.dirs = CAPTURE_RX;
        } else if (!strcmp(dir, "tx")) {
            spec.dirs = CAPTURE_TX;
        } else if (strcmp(dir, "both")) {
            snprintf(err, errsize, "params.direction: must be rx, tx or "
                     "both");
            return CTL_ERR_INVALID_PARAMS;
        }
    }
    if (file[0] != '/') {
        snprintf(err, errsize, "params.file: must be an absolute path (the "
                 "daemon writes it)");
        return CTL_ERR_INVALID_PARAMS;
    }
    if (filter && filter[0]) {
        CTL_CHECK(parse_filter(filter, &spec, err, errsize));
    }
    snprintf(ifname, sizeof ifname, "%s/%s", bname, pname);
    spec.path = file;
    spec.ifname = ifname;
    spec.max_packets = (uint64_t) count;
    spec.snaplen = (uint32_t) snaplen;
    spec.in_port = info.ofport;
    ret = capture_set_start(sw_captures(aux), bname, pname, info.dp_port,
                            &spec, filter ? filter : "", &id, err, errsize);
    if (ret) {
        return ret;
    }
    *result = json_pack("{s:i}", "id", (int) id);
    return 0;
}

static void
list_cb(const struct capture_info *i, void *arr)
{
    json_array_append_new(arr, info_json(i));
}

static int
h_capture_list(json_t *params, json_t **result, char *err, size_t errsize,
               void *aux)
{
    static const char *const allowed[] = { NULL };

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    *result = json_array();
    capture_set_dump(sw_captures(aux), list_cb, *result);
    return 0;
}

static int
h_capture_stop(json_t *params, json_t **result, char *err, size_t errsize,
               void *aux)
{
    static const char *const allowed[] = { "id", NULL };
    struct capture_info info;
    long long id;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_param_int(params, "id", true, 1, UINT32_MAX, &id, err,
                            errsize));
    if (capture_set_stop(sw_captures(aux), (unsigned) id, &info)) {
        snprintf(err, errsize, "no capture %lld", id);
        return ENOENT;
    }
    *result = info_json(&info);
    return 0;
}

int
ctl_capture_register(struct ctl_server *server, struct sw *sw)
{
    static const struct ctl_method_def methods[] = {
        { "capture-start", h_capture_start },
        { "capture-list", h_capture_list, CTL_READ_ONLY },
        { "capture-stop", h_capture_stop },
    };

    return ctl_register_all(server, methods,
                            sizeof methods / sizeof methods[0], sw);
}
