/* SPDX-License-Identifier: BSD-3-Clause */
/* offload-provider.c: the registry of offload providers. */

#include "offload-provider.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define OFFLOAD_MAX_CLASSES 8

/* Registered classes, in registration order.  Main thread only. */
static const struct offload_class *offload_classes[OFFLOAD_MAX_CLASSES];
static size_t offload_n_classes;

void
offload_init_classes(void)
{
    /* EEXIST on a second call: nothing to do. */
    offload_class_register(&offload_rte_flow_class);
    offload_class_register(&offload_simnic_class);
}

const struct offload_class *
offload_class_lookup(const char *name)
{
    for (size_t i = 0; i < offload_n_classes; i++) {
        if (!strcmp(offload_classes[i]->name, name)) {
            return offload_classes[i];
        }
    }
    return NULL;
}

void
offload_class_names(char *buf, size_t size)
{
    size_t len = 0;

    if (!size) {
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < offload_n_classes && len < size; i++) {
        int k = snprintf(buf + len, size - len, "%s\"%s\"", i ? ", " : "",
                         offload_classes[i]->name);

        len += k > 0 ? (size_t) k : 0;
    }
}

int
offload_class_register(const struct offload_class *class)
{
    if (!class || !class->name || !class->port_init || !class->port_uninit
        || !class->flow_put || !class->flow_del || !class->flow_query
        || !class->aged_flows || !class->flush) {
        return EINVAL;
    }
    if (offload_class_lookup(class->name)) {
        return EEXIST;
    }
    if (offload_n_classes >= OFFLOAD_MAX_CLASSES) {
        return ENOSPC;
    }
    offload_classes[offload_n_classes++] = class;
    return 0;
}

const struct offload_class *
offload_class_default(const char *port_type)
{
    const struct offload_class *any = NULL;

    for (size_t i = 0; i < offload_n_classes; i++) {
        const char *t = offload_classes[i]->default_port_type;

        if (t && port_type && !strcmp(t, port_type)) {
            return offload_classes[i];
        }
        if (!t && !any) {
            any = offload_classes[i];
        }
    }
    return any;
}

size_t
offload_classes_rules_left(void)
{
    size_t n = 0;

    for (size_t i = 0; i < offload_n_classes; i++) {
        if (offload_classes[i]->n_rules_left) {
            n += offload_classes[i]->n_rules_left();
        }
    }
    return n;
}
