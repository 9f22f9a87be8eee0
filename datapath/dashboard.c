/* SPDX-License-Identifier: BSD-3-Clause */
/* dashboard.c: the HTTP endpoint's static pages (see dashboard.h). */
#include "dashboard.h"

#include <string.h>

/* datapath/dashboard.html, embedded at build time (dashboard-html.c). */
extern const char dashboard_html[];
extern const unsigned long dashboard_html_len;

/* The one page, at "/" and "/index.html". */
bool
dashboard_find(const char *path, struct dashboard_asset *out)
{
    if (strcmp(path, "/") && strcmp(path, "/index.html")) {
        return false;
    }
    *out = (struct dashboard_asset) {
        .path = "/", .type = "text/html; charset=utf-8",
        .body = dashboard_html, .len = dashboard_html_len,
    };
    return true;
}
