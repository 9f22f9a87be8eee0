/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-config.c: fuzz target for the daemon's JSON config loader
 * (cfg_load_string) and the add-port option validator (cfg_port_from_kv). */

/*
 * Input: the whole input (cut at the first NUL) is a config document.
 * Whatever loads must satisfy every range and uniqueness rule config.h
 * promises.  The same bytes, split at newlines, are also a port: line 1 the
 * name, line 2 the type, the rest "KEY=VALUE" options.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "offload-provider.h"
#include "port.h"
#include "vhost.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(COND)                                                   \
    do {                                                                    \
        if (!(COND)) {                                                      \
            __builtin_trap();                                               \
        }                                                                   \
    } while (0)

#define MAX_KV 16

static void
check_name(const char *name)
{
    size_t n;

    FUZZ_ASSERT(name);
    n = strlen(name);
    FUZZ_ASSERT(n >= 1 && n <= CFG_MAX_NAME);
    FUZZ_ASSERT(strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                       "qrstuvwxyz0123456789_.:-") == n);
}

static void
check_port(const struct cfg_port *p, int from_kv)
{
    size_t i;

    check_name(p->name);
    FUZZ_ASSERT(p->type);
    FUZZ_ASSERT(!strcmp(p->type, "dpdk") || !strcmp(p->type, "tap")
                || !strcmp(p->type, "dummy")
                || !strcmp(p->type, "vhostuser")
                || !strcmp(p->type, "vhostuserclient"));
    FUZZ_ASSERT(p->ofport <= CFG_MAX_OFPORT);
    FUZZ_ASSERT(from_kv || p->ofport >= 1);
    FUZZ_ASSERT(p->n_options == 0 || p->options);
    for (i = 0; i < p->n_options; i++) {
        FUZZ_ASSERT(p->options[i].key && p->options[i].value);
        FUZZ_ASSERT(cfg_port_get(p, p->options[i].key) != NULL);
    }
    if (!strcmp(p->type, "dpdk")) {
        FUZZ_ASSERT(cfg_port_get(p, "devargs") != NULL);
    }
}

static void
check_cfg(const struct cfg *cfg)
{
    size_t i, j, k, l;

    FUZZ_ASSERT(cfg->n_dpdk_args == 0 || cfg->dpdk_args);
    for (i = 0; i < cfg->n_dpdk_args; i++) {
        FUZZ_ASSERT(cfg->dpdk_args[i]);
    }
    FUZZ_ASSERT(cfg->control_socket && cfg->control_socket[0]);
    FUZZ_ASSERT(cfg->n_pmd_cores >= 1 && cfg->pmd_cores);
    for (i = 0; i < cfg->n_pmd_cores; i++) {
        FUZZ_ASSERT(cfg->pmd_cores[i] <= CFG_MAX_CORE);
        for (j = 0; j < i; j++) {
            FUZZ_ASSERT(cfg->pmd_cores[i] != cfg->pmd_cores[j]);
        }
    }
    FUZZ_ASSERT((cfg->emc_entries & (cfg->emc_entries - 1)) == 0);
    FUZZ_ASSERT((cfg->hkc_entries & (cfg->hkc_entries - 1)) == 0);
    FUZZ_ASSERT(cfg->pmd_idle_sleep_us <= 100000);
    FUZZ_ASSERT(cfg->megaflow_idle_ms >= 1
                && cfg->megaflow_idle_ms <= 3600000);
    FUZZ_ASSERT(cfg->flow_limit >= 1 && cfg->flow_limit <= 10000000);
    FUZZ_ASSERT(cfg->mac_aging_s >= 1 && cfg->mac_aging_s <= 86400);
    FUZZ_ASSERT(cfg->n_bridges == 0 || cfg->bridges);

    for (i = 0; i < cfg->n_bridges; i++) {
        const struct cfg_bridge *br = &cfg->bridges[i];

        check_name(br->name);
        FUZZ_ASSERT(cfg_find_bridge(cfg, br->name) == br);
        for (k = 0; k < br->n_flows; k++) {
            FUZZ_ASSERT(br->flows[k]);
        }
        for (j = 0; j < br->n_ports; j++) {
            const struct cfg_port *p = &br->ports[j];

            check_port(p, 0);
            for (k = 0; k < j; k++) {
                FUZZ_ASSERT(p->ofport != br->ports[k].ofport);
            }
            /* Port names are unique across the whole file. */
            for (k = 0; k <= i; k++) {
                const struct cfg_bridge *b2 = &cfg->bridges[k];

                for (l = 0; l < (k == i ? j : b2->n_ports); l++) {
                    FUZZ_ASSERT(strcmp(p->name, b2->ports[l].name));
                }
            }
        }
    }
}

static void
fuzz_port_kv(const char *text)
{
    char *copy = strdup(text), *lines[MAX_KV + 2], *p;
    const char *kv[MAX_KV];
    struct cfg_port port;
    char err[256];
    size_t n = 0;
    int error;

    if (!copy) {
        return;
    }
    for (p = copy; n < MAX_KV + 2;) {
        char *nl = strchr(p, '\n');

        lines[n++] = p;
        if (!nl) {
            break;
        }
        *nl = '\0';
        p = nl + 1;
    }
    if (n >= 2) {
        size_t i;

        for (i = 2; i < n; i++) {
            kv[i - 2] = lines[i];
        }
        memset(&port, 0xa5, sizeof port);
        err[0] = '\0';
        error = cfg_port_from_kv(lines[0], lines[1], kv, n - 2, &port, err,
                                 sizeof err);
        if (!error) {
            check_port(&port, 1);
        } else {
            FUZZ_ASSERT(error == EINVAL || error == ENOMEM);
            FUZZ_ASSERT(err[0] != '\0');
        }
        cfg_port_uninit(&port);
        cfg_port_uninit(NULL);
    }
    free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg *cfg = (struct cfg *) (uintptr_t) 1;
    char err[512];
    char *text;
    int error;

    if (size > (1u << 16)) {
        return 0;
    }
    /* Port types and options come from the registered classes (no EAL
     * needed; both calls do their work once). */
    port_init_classes();
    vhost_register_classes();
    offload_init_classes();
    text = malloc(size + 1);
    if (!text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';

    err[0] = '\0';
    error = cfg_load_string(text, &cfg, err, sizeof err);
    if (error) {
        FUZZ_ASSERT(cfg == NULL);
        FUZZ_ASSERT(error == EINVAL || error == ENOMEM);
        FUZZ_ASSERT(err[0] != '\0' && memchr(err, '\0', sizeof err));
    } else {
        FUZZ_ASSERT(cfg != NULL);
        check_cfg(cfg);
        cfg_free(cfg);
    }
    cfg_free(NULL);

    fuzz_port_kv(text);
    free(text);
    return 0;
}
