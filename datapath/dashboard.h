/* SPDX-License-Identifier: BSD-3-Clause */
/* dashboard.h: the pages sluiced's HTTP endpoint serves as they are. */
#ifndef SLUICE_DASHBOARD_H
#define SLUICE_DASHBOARD_H 1

/*
 * What
 *   The static assets of the HTTP endpoint (http.h), compiled into the
 *   daemon so that it needs no file and no network at run time.  "/" is
 *   the live dashboard (datapath/dashboard.html, embedded by
 *   tools/embed-file.sh): every second it reads /metrics and plots port
 *   packet rates, PMD busy %, lookups by cache tier, drops by reason,
 *   offloaded flows and tracked connections, with no library.
 *
 * Thread-safety / ownership
 *   Read-only static data.
 */

#include <stdbool.h>
#include <stddef.h>

struct dashboard_asset {
    const char *path;           /* "/" ... */
    const char *type;           /* Content-Type */
    const char *body;
    size_t len;
};

/* The asset served at 'path' into '*out'; false if there is none. */
bool dashboard_find(const char *path, struct dashboard_asset *out);

#endif /* dashboard.h */
