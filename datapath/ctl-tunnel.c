/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-tunnel.c: tnl-route-show, tnl-neigh-show (ctl-tunnel.h). */
#include "ctl-tunnel.h"

#include <errno.h>
#include <stdbool.h>

#include <jansson.h>

#include "bridge.h"
#include "ctl.h"

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

int
ctl_tunnel_register(struct ctl_server *server, struct sw *sw)
{
    static const struct ctl_method_def methods[] = {
        { "tnl-route-show", h_route_show, CTL_READ_ONLY },
        { "tnl-neigh-show", h_neigh_show, CTL_READ_ONLY },
    };

    return ctl_register_all(server, methods,
                            sizeof methods / sizeof methods[0], sw);
}
