/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-tunnel.c: tnl-route-show, tnl-neigh-show (ctl-tunnel.h). */
#include "ctl-tunnel.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bridge.h"
#include "ctl.h"
#include "ctl-handlers.h"

static void
line_cb(const char *line, void *arr)
{
    json_array_append_new(arr, json_string(line));
}

static int
show(json_t *params, json_t **result, char *err, size_t errsize, void *sw,
     bool neighbours)
{
    static const char *const allowed[] = { NULL };

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    *result = json_array();
    if (!*result) {
        return ENOMEM;
    }
    sw_dump_tunnel_routes(sw, neighbours, line_cb, *result);
    return 0;
}

static int
h_route_show(json_t *params, json_t **result, char *err, size_t errsize,
             void *sw)
{
    return show(params, result, err, errsize, sw, false);
}

static int
h_neigh_show(json_t *params, json_t **result, char *err, size_t errsize,
             void *sw)
{
    return show(params, result, err, errsize, sw, true);
}

/* "map": one string of mappings, or an array of them (joined). */
static int
get_maps(json_t *params, bool required, char **text, char *err,
         size_t errsize)
{
    json_t *m = json_object_get(params, "map");
    size_t len = 1, i;
    json_t *v;

    *text = NULL;
    if (!m && !required) {
        return 0;
    }
    if (json_is_string(m)) {
        *text = strdup(json_string_value(m));
        return *text ? 0 : ENOMEM;
    }
    if (!json_is_array(m) || !json_array_size(m)) {
        snprintf(err, errsize, "map: expected a string or an array of "
                 "strings like \"{class=0xffff,type=0,len=4}"
                 "->tun_metadata0\"");
        return EINVAL;
    }
    json_array_foreach (m, i, v) {
        if (!json_is_string(v)) {
            snprintf(err, errsize, "map[%zu]: must be a string", i);
            return EINVAL;
        }
        len += strlen(json_string_value(v)) + 1;
    }
    *text = calloc(1, len);
    if (!*text) {
        return ENOMEM;
    }
    json_array_foreach (m, i, v) {
        strcat(*text, i ? "," : "");
        strcat(*text, json_string_value(v));
    }
    return 0;
}

/* add-tlv-map (a "map" required) and del-tlv-map (none: all). */
static int
change_tlv_map(json_t *params, char *err, size_t errsize, void *sw,
               bool add)
{
    static const char *const allowed[] = { "bridge", "map", NULL };
    struct bridge *br;
    char *text;
    int ret;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(sw, params, &br, err, errsize));
    CTL_CHECK(get_maps(params, add, &text, err, errsize));
    ret = add ? sw_add_tlv_map(sw, br, text, err, errsize)
              : sw_del_tlv_map(sw, br, text, err, errsize);
    free(text);
    return ret;
}

static int
h_add_tlv_map(json_t *params, json_t **result, char *err, size_t errsize,
              void *sw)
{
    (void) result;
    return change_tlv_map(params, err, errsize, sw, true);
}

static int
h_del_tlv_map(json_t *params, json_t **result, char *err, size_t errsize,
              void *sw)
{
    (void) result;
    return change_tlv_map(params, err, errsize, sw, false);
}

static int
h_dump_tlv_map(json_t *params, json_t **result, char *err, size_t errsize,
               void *sw)
{
    static const char *const allowed[] = { "bridge", NULL };
    struct bridge *br;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(sw, params, &br, err, errsize));
    *result = json_array();
    if (!*result) {
        return ENOMEM;
    }
    bridge_tlv_map_dump(br, line_cb, *result);
    return 0;
}

int
ctl_tunnel_register(struct ctl_server *server, struct sw *sw)
{
    static const struct ctl_method_def methods[] = {
        { "tnl-route-show", h_route_show, CTL_READ_ONLY },
        { "tnl-neigh-show", h_neigh_show, CTL_READ_ONLY },
        { "add-tlv-map", h_add_tlv_map },
        { "del-tlv-map", h_del_tlv_map },
        { "dump-tlv-map", h_dump_tlv_map, CTL_READ_ONLY },
    };

    return ctl_register_all(server, methods,
                            sizeof methods / sizeof methods[0], sw);
}
