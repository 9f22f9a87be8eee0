/* SPDX-License-Identifier: BSD-3-Clause */
/* dashboard.c: the HTTP endpoint's static pages (see dashboard.h). */
#include "dashboard.h"

#include <string.h>

/* datapath/dashboard.html, embedded at build time (dashboard-html.c). */
extern const char dashboard_html[];
extern const unsigned long dashboard_html_len;

static const struct dashboard_asset assets[] = {
    /* len is dashboard_html_len, not a constant expression here. */
    { "/", "text/html; charset=utf-8", dashboard_html, 0 },
    { "/index.html", "text/html; charset=utf-8", dashboard_html, 0 },
};

bool
dashboard_find(const char *path, struct dashboard_asset *out)
{
    for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++) {
        if (!strcmp(assets[i].path, path)) {
            *out = assets[i];
            out->len = dashboard_html_len;
            return true;
        }
    }
    return false;
}
