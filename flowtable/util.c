/* SPDX-License-Identifier: BSD-3-Clause */
/* util.c: the bounded text buffer of util.h. */
#include "util.h"

#include <stdarg.h>
#include <stdio.h>

void
sbuf_init(struct sbuf *s, char *buf, size_t size)
{
    s->buf = buf;
    s->size = size;
    s->len = 0;
    if (size) {
        buf[0] = '\0';
    }
}

void
sbuf_printf(struct sbuf *s, const char *fmt, ...)
{
    va_list args;
    size_t room;
    int n;

    if (!s->size) {
        return;
    }
    room = s->size - s->len;
    va_start(args, fmt);
    n = vsnprintf(s->buf + s->len, room, fmt, args);
    va_end(args);
    if (n < 0) {
        return;
    }
    s->len = (size_t) n < room ? s->len + n : s->size - 1;
}

void
sbuf_put_hex128(struct sbuf *s, const uint8_t v[16])
{
    size_t i = 0;

    while (i < 15 && !v[i]) {
        i++;
    }
    sbuf_printf(s, "0x%x", v[i]);
    for (i++; i < 16; i++) {
        sbuf_printf(s, "%02x", v[i]);
    }
}
