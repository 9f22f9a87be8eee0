/* SPDX-License-Identifier: BSD-3-Clause */
/* state.c: atomic save and checked load of bridges, ports and flows. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "bridge.h"
#include "config.h"
#include "state.h"

#define STATE_VERSION 1
#define STATE_DUMP_FLAGS (JSON_COMPACT | JSON_SORT_KEYS)

struct save_ctx {
    json_t *flows;
    int error;
};

static void
save_flow_cb(const struct ofproto_rule_info *info, void *ctx_)
{
    struct save_ctx *ctx = ctx_;
    struct of_flow_spec spec;
    char buf[8192];
    size_t n;

    memset(&spec, 0, sizeof spec);
    spec.match = *info->match;
    spec.priority = info->priority;
    spec.priority_set = true;
    spec.table_id = info->table_id;
    spec.table_set = true;
    spec.cookie = info->cookie;
    spec.idle_timeout = info->idle_timeout;
    spec.hard_timeout = info->hard_timeout;
    spec.send_flow_rem = info->send_flow_rem;
    spec.reset_counts = info->reset_counts;
    spec.out_port = OFPP_NONE;
    spec.actions = (struct of_actions *) info->actions;
    n = of_flow_format(buf, sizeof buf, &spec);
    if (n >= sizeof buf - 1) {
        ctx->error = ENAMETOOLONG;
        return;
    }
    json_array_append_new(ctx->flows, json_string(buf));
}

static void
save_port_cb(const struct bridge_port_info *info, void *ports_)
{
    json_t *port = cfg_port_to_json(info->cfg);

    if (port) {
        json_object_set_new(port, "ofport", json_integer(info->ofport));
        json_array_append_new(ports_, port);
    }
}

/* A failed port is saved like a live one: tried again at the next
 * start. */
static void
save_failed_cb(const struct cfg_port *cp, const char *error, void *ports_)
{
    json_t *port = cfg_port_to_json(cp);

    (void) error;
    if (port) {
        json_object_set_new(port, "ofport", json_integer(cp->ofport));
        json_array_append_new(ports_, port);
    }
}

static void
save_mirror_cb(const struct bridge_mirror_info *info, void *mirrors)
{
    json_t *m = cfg_mirror_to_json(info->cfg);

    if (m) {
        json_array_append_new(mirrors, m);
    }
}

static void
save_tlv_cb(const char *text, void *arr)
{
    json_array_append_new(arr, json_string(text));
}

struct save_bridges_ctx {
    struct sw *sw;
    json_t *bridges;
    int error;
};

static void
save_meter_cb(const struct ofproto_meter_info *m,
              const struct dp_meter_stats *st, void *arr)
{
    char buf[1024];

    (void) st;
    of_meter_format(buf, sizeof buf, m->spec);
    json_array_append_new(arr, json_string(buf));
}

static void
save_group_cb(const struct ofproto_group_info *g, void *arr)
{
    /* Up to OFG_MAX_BUCKETS buckets of long action lists. */
    enum { SIZE = 1 << 18 };
    char *buf = malloc(SIZE);

    if (buf && of_group_format(buf, SIZE, &g->spec) < SIZE - 1) {
        json_array_append_new(arr, json_string(buf));
    } else {
        json_array_append_new(arr, json_null());    /* Refused at load. */
    }
    free(buf);
}

static void
save_bridge_cb(struct bridge *br, void *ctx_)
{
    struct save_bridges_ctx *ctx = ctx_;
    struct save_ctx fctx = { json_array(), 0 };
    json_t *ports = json_array(), *mirrors = json_array(), *bj;
    json_t *tlv = json_array();

    bridge_port_dump(br, save_port_cb, ports);
    bridge_tlv_map_dump(br, save_tlv_cb, tlv);
    bridge_mirror_dump(br, save_mirror_cb, mirrors);
    bridge_failed_port_dump(br, save_failed_cb, ports);
    sw_dump_flows(ctx->sw, br, NULL, save_flow_cb, &fctx);
    if (fctx.error) {
        ctx->error = fctx.error;
    }
    bj = json_pack("{s:s, s:o, s:o}", "name", bridge_name(br), "ports",
                   ports, "flows", fctx.flows);
    if (bj && json_array_size(mirrors)) {
        json_object_set_new(bj, "mirrors", mirrors);
    } else {
        json_decref(mirrors);
    }
    if (bj && json_array_size(tlv)) {
        json_object_set_new(bj, "tlv_map", tlv);
    } else {
        json_decref(tlv);
    }
    if (bj) {
        json_t *meters = json_array();

        sw_dump_meters(ctx->sw, br, OFM_ALL, save_meter_cb, meters);
        if (meters && json_array_size(meters)) {
            json_object_set_new(bj, "meters", meters);
        } else {
            json_decref(meters);
        }
    }
    if (bj) {
        json_t *groups = json_array();

        sw_dump_groups(ctx->sw, br, OFG_ALL, save_group_cb, groups);
        if (groups && json_array_size(groups)) {
            json_object_set_new(bj, "groups", groups);
        } else {
            json_decref(groups);
        }
    }
    if (bj) {
        const struct cfg_openflow *of = bridge_openflow(br);

        if (of->n_listen || of->n_controllers) {
            json_t *oj = cfg_openflow_to_json(of);

            if (!oj) {
                ctx->error = ENOMEM;
            } else {
                json_object_set_new(bj, "openflow", oj);
            }
        }
    }
    json_array_append_new(ctx->bridges, bj);
}

/* Writes all of 'text' to 'fd'. */
static int
write_all(int fd, const char *text, size_t len)
{
    while (len) {
        ssize_t n = write(fd, text, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        text += n;
        len -= (size_t) n;
    }
    return 0;
}

void
state_path(char *buf, size_t size, const char *dir, const char *instance)
{
    snprintf(buf, size, "%s/sluiced-%016" PRIx64 ".state", dir,
             cfg_checksum(instance));
}

int
state_save(const struct sw *sw_, const char *path, uint64_t config_sum,
           const char *instance, char *err, size_t errsize)
{
    struct save_bridges_ctx ctx = { (struct sw *) sw_, json_array(), 0 };
    char *bridges_text = NULL, *text = NULL, *tmp = NULL, *dir = NULL;
    char *inst = NULL;
    json_t *ij = json_string(instance);
    int fd = -1, ret = 0;

    sw_for_each_bridge(sw_, save_bridge_cb, &ctx);
    if (ctx.error) {
        snprintf(err, errsize, "a flow is too long to save");
        ret = ctx.error;
        goto out;
    }
    bridges_text = json_dumps(ctx.bridges, STATE_DUMP_FLAGS);
    inst = ij ? json_dumps(ij, JSON_ENCODE_ANY) : NULL;
    if (!bridges_text || !inst
        || asprintf(&text, "{\"sluice_state\":%d,\"instance\":%s,"
                    "\"config\":\"fnv1a64:%016" PRIx64 "\",\"checksum\":"
                    "\"fnv1a64:%016" PRIx64 "\",\"bridges\":%s}\n",
                    STATE_VERSION, inst, config_sum,
                    cfg_checksum(bridges_text), bridges_text) < 0
        || asprintf(&tmp, "%s.tmp", path) < 0) {
        text = tmp = NULL;
        snprintf(err, errsize, "out of memory");
        ret = ENOMEM;
        goto out;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        ret = errno;
        snprintf(err, errsize, "%s: %s", tmp, strerror(ret));
        goto out;
    }
    ret = write_all(fd, text, strlen(text));
    if (!ret && fsync(fd)) {
        ret = errno;
    }
    if (close(fd) && !ret) {
        ret = errno;
    }
    fd = -1;
    if (ret) {
        snprintf(err, errsize, "%s: %s", tmp, strerror(ret));
        unlink(tmp);
        goto out;
    }
    if (rename(tmp, path)) {
        ret = errno;
        snprintf(err, errsize, "rename %s: %s", tmp, strerror(ret));
        unlink(tmp);
        goto out;
    }
    /* Make the rename itself durable. */
    dir = strdup(path);
    if (dir) {
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
out:
    json_decref(ctx.bridges);
    json_decref(ij);
    free(inst);
    free(bridges_text);
    free(text);
    free(tmp);
    free(dir);
    return ret;
}

int
state_load(const char *path, uint64_t config_sum, const char *instance,
           struct cfg **bridgesp, char *err, size_t errsize)
{
    json_error_t jerr;
    json_t *root, *bridges, *version, *checksum, *config, *owner;
    char *bridges_text = NULL, *cfg_text = NULL, expect[64], cerr[512];
    int ret = EINVAL;

    *bridgesp = NULL;
    if (access(path, F_OK)) {
        return ENOENT;
    }
    root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(err, errsize, "%s: line %d: %s (truncated or corrupt)",
                 path, jerr.line, jerr.text);
        return EINVAL;
    }
    version = json_object_get(root, "sluice_state");
    checksum = json_object_get(root, "checksum");
    config = json_object_get(root, "config");
    bridges = json_object_get(root, "bridges");
    owner = json_object_get(root, "instance");
    if (!json_is_integer(version)
        || json_integer_value(version) != STATE_VERSION) {
        snprintf(err, errsize, "%s: not a version %d sluice state file",
                 path, STATE_VERSION);
        goto out;
    }
    if (!json_is_string(checksum) || !json_is_array(bridges)) {
        snprintf(err, errsize, "%s: checksum or bridges missing", path);
        goto out;
    }
    bridges_text = json_dumps(bridges, STATE_DUMP_FLAGS);
    if (!bridges_text) {
        snprintf(err, errsize, "out of memory");
        ret = ENOMEM;
        goto out;
    }
    snprintf(expect, sizeof expect, "fnv1a64:%016" PRIx64,
             cfg_checksum(bridges_text));
    if (strcmp(expect, json_string_value(checksum))) {
        snprintf(err, errsize, "%s: checksum mismatch (corrupt)", path);
        goto out;
    }
    if (owner && (!json_is_string(owner)
                  || strcmp(json_string_value(owner), instance))) {
        snprintf(err, errsize, "%s: saved by the instance on control socket "
                 "%s, not %s", path,
                 json_is_string(owner) ? json_string_value(owner) : "?",
                 instance);
        goto out;
    }
    snprintf(expect, sizeof expect, "fnv1a64:%016" PRIx64, config_sum);
    if (!json_is_string(config)
        || strcmp(expect, json_string_value(config))) {
        snprintf(err, errsize, "%s: saved for another configuration of "
                 "the bridges", path);
        ret = ESTALE;
        goto out;
    }
    if (asprintf(&cfg_text, "{\"bridges\":%s}", bridges_text) < 0) {
        cfg_text = NULL;
        snprintf(err, errsize, "out of memory");
        ret = ENOMEM;
        goto out;
    }
    ret = cfg_load_string(cfg_text, bridgesp, cerr, sizeof cerr);
    if (ret) {
        snprintf(err, errsize, "%s: %s", path, cerr);
    }
out:
    json_decref(root);
    free(bridges_text);
    free(cfg_text);
    return ret;
}
