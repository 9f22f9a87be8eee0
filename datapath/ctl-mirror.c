/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-mirror.c: add-mirror, del-mirror, dump-mirrors. */
#include "ctl-mirror.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "bridge.h"
#include "config.h"
#include "ctl.h"
#include "ctl-handlers.h"

static int
h_add_mirror(json_t *params, json_t **result, char *err, size_t errsize,
             void *aux)
{
    static const char *const also[] = { "bridge", NULL };
    struct cfg_mirror m;
    struct bridge *br;
    int ret;

    CTL_CHECK(ctl_get_bridge(aux, params, &br, err, errsize));
    ret = cfg_mirror_from_json(params, "params", also, &m, err, errsize);
    if (!ret) {
        ret = sw_add_mirror(aux, br, &m, err, errsize);
    }
    cfg_mirror_uninit(&m);
    return ret;
}

static int
h_del_mirror(json_t *params, json_t **result, char *err, size_t errsize,
             void *aux)
{
    static const char *const allowed[] = { "bridge", "name", NULL };
    const char *name;
    struct bridge *br;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(aux, params, &br, err, errsize));
    CTL_CHECK(ctl_param_string(params, "name", true, &name, err, errsize));
    return sw_del_mirror(aux, br, name, err, errsize);
}

static void
dump_mirror_cb(const struct bridge_mirror_info *info, void *arr)
{
    json_t *m = cfg_mirror_to_json(info->cfg);

    if (!m) {
        return;
    }
    json_object_set_new(m, "active", json_boolean(info->active));
    json_object_set_new(m, "tx_packets", json_integer(
                            (json_int_t) info->packets));
    json_object_set_new(m, "tx_bytes", json_integer(
                            (json_int_t) info->bytes));
    json_object_set_new(m, "dropped", json_integer(
                            (json_int_t) info->dropped));
    json_array_append_new(arr, m);
}

static int
h_dump_mirrors(json_t *params, json_t **result, char *err, size_t errsize,
               void *aux)
{
    static const char *const allowed[] = { "bridge", NULL };
    struct bridge *br;

    CTL_CHECK(ctl_params_check(params, allowed, err, errsize));
    CTL_CHECK(ctl_get_bridge(aux, params, &br, err, errsize));
    *result = json_array();
    if (!*result) {
        return ENOMEM;
    }
    bridge_mirror_dump(br, dump_mirror_cb, *result);
    return 0;
}

int
ctl_mirror_register(struct ctl_server *server, struct sw *sw)
{
    static const struct ctl_method_def methods[] = {
        { "add-mirror", h_add_mirror },
        { "del-mirror", h_del_mirror },
        { "dump-mirrors", h_dump_mirrors, CTL_READ_ONLY },
    };

    return ctl_register_all(server, methods,
                            sizeof methods / sizeof methods[0], sw);
}
