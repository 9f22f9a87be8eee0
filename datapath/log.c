/* SPDX-License-Identifier: BSD-3-Clause */
/* log.c: levels, modules, per-call-site rate limiting, the line format. */

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOG_MOD(NAME)                                                       \
    struct log_module log_module_##NAME = {                                 \
        .name = #NAME, .level = LOG_DEFAULT_LEVEL,                          \
    };
LOG_MODULES
#undef LOG_MOD

static struct log_module *const modules[] = {
#define LOG_MOD(NAME) &log_module_##NAME,
    LOG_MODULES
#undef LOG_MOD
};
#define N_MODULES (sizeof modules / sizeof modules[0])

static const char *const level_names[] = {
#define LOG_LEVEL(ENUM, NAME) NAME,
    LOG_LEVELS
#undef LOG_LEVEL
};

/* The sink (tests); NULL = stderr.  Set before logging starts, so plain
 * pointers suffice. */
static void (*sink_fn)(const char *, void *);
static void *sink_aux;
static long long (*clock_fn)(void);

const char *
log_level_name(enum log_level level)
{
    return (unsigned) level < LOG_N_LEVELS ? level_names[level] : "?";
}

int
log_level_from_name(const char *name, enum log_level *level)
{
    for (unsigned i = 0; i < LOG_N_LEVELS; i++) {
        if (!strcasecmp(name, level_names[i])) {
            *level = (enum log_level) i;
            return 0;
        }
    }
    /* The spellings Open vSwitch's vlog/set takes, too. */
    if (!strcasecmp(name, "error")) {
        *level = LOG_ERR;
    } else if (!strcasecmp(name, "warning")) {
        *level = LOG_WARN;
    } else if (!strcasecmp(name, "debug")) {
        *level = LOG_DBG;
    } else {
        return EINVAL;
    }
    return 0;
}

struct log_module *
log_module_find(const char *name)
{
    for (size_t i = 0; i < N_MODULES; i++) {
        if (!strcmp(modules[i]->name, name)) {
            return modules[i];
        }
    }
    return NULL;
}

void
log_module_for_each(void (*cb)(const struct log_module *, void *aux),
                    void *aux)
{
    for (size_t i = 0; i < N_MODULES; i++) {
        cb(modules[i], aux);
    }
}

enum log_level
log_get_level(const struct log_module *m)
{
    return (enum log_level) __atomic_load_n(&((struct log_module *) m)
                                            ->level, __ATOMIC_RELAXED);
}

int
log_set_level(const char *module, enum log_level level)
{
    if (!module || !strcmp(module, "*")) {
        for (size_t i = 0; i < N_MODULES; i++) {
            __atomic_store_n(&modules[i]->level, (int) level,
                             __ATOMIC_RELAXED);
        }
        return 0;
    }
    struct log_module *m = log_module_find(module);

    if (!m) {
        return EINVAL;
    }
    __atomic_store_n(&m->level, (int) level, __ATOMIC_RELAXED);
    return 0;
}

void
log_set_sink(void (*sink)(const char *line, void *aux), void *aux,
             long long (*now_ms)(void))
{
    sink_fn = sink;
    sink_aux = aux;
    clock_fn = now_ms;
}

static long long
mono_ms(void)
{
    struct timespec ts;

    if (clock_fn) {
        return clock_fn();
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Formats and writes one line: "TIME|LEVEL|module: text[suffix]". */
static void
emit(const struct log_module *m, enum log_level level, const char *suffix,
     const char *fmt, va_list args)
{
    char line[1024];
    struct timespec ts;
    struct tm tm;
    size_t n;
    int k;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof line - n, ".%03ldZ|%s|%s: ",
                 ts.tv_nsec / 1000000, log_level_name(level), m->name);
    n += k > 0 ? (size_t) k : 0;
    if (n < sizeof line) {
        k = vsnprintf(line + n, sizeof line - n, fmt, args);
        n += k > 0 ? (size_t) k : 0;
    }
    if (suffix && n < sizeof line) {
        k = snprintf(line + n, sizeof line - n, "%s", suffix);
        n += k > 0 ? (size_t) k : 0;
    }
    if (n >= sizeof line) {
        n = sizeof line - 1;        /* Truncated: still one line. */
    }
    /* One message is one line, however its text was built. */
    for (size_t i = 0; i < n; i++) {
        if (line[i] == '\n') {
            line[i] = ' ';
        }
    }
    if (sink_fn) {
        sink_fn(line, sink_aux);
    } else {
        line[n] = '\n';
        fwrite(line, 1, n + 1, stderr);     /* One write: lines never mix. */
    }
}

void
log_vmsg(const struct log_module *m, enum log_level level, const char *fmt,
         va_list args)
{
    if (log_enabled(m, level)) {
        emit(m, level, NULL, fmt, args);
    }
}

void
log_msg(const struct log_module *m, enum log_level level, const char *fmt,
        ...)
{
    va_list args;

    va_start(args, fmt);
    log_vmsg(m, level, fmt, args);
    va_end(args);
}

/* The bucket word: bits 63..25 the time of the last refill (ms, 2^39 ms
 * is 17 years of uptime), bit 24 set once used, 23..8 messages suppressed
 * since the last one written (saturating), 7..0 tokens. */
#define RL_TOKENS(s) ((unsigned) ((s) & 0xff))
#define RL_SUPPRESSED(s) ((unsigned) (((s) >> 8) & 0xffff))
#define RL_USED (1ull << 24)
#define RL_TIME(s) ((long long) ((s) >> 25))
#define RL_PACK(t, sup, tok)                                                \
    (((uint64_t) (t) << 25) | RL_USED | ((uint64_t) (sup) << 8)            \
     | (uint64_t) (tok))

/* Takes a token from 'rl' at 'now'.  Returns true if the message may be
 * written, with '*suppressed' the count to report. */
static bool
rl_take(struct log_rl *rl, long long now, unsigned *suppressed)
{
    uint64_t old = __atomic_load_n(&rl->state, __ATOMIC_RELAXED);

    for (;;) {
        long long t = RL_TIME(old);
        unsigned tok = RL_TOKENS(old), sup = RL_SUPPRESSED(old);
        long long add = now > t ? (now - t) / LOG_RL_INTERVAL_MS : 0;
        bool ok;
        uint64_t new;

        if (!(old & RL_USED)) {     /* First use: a full bucket. */
            t = now;
            tok = LOG_RL_BURST;
        } else if (add) {
            t = tok + add >= LOG_RL_BURST ? now : t + add * LOG_RL_INTERVAL_MS;
            tok = tok + add >= LOG_RL_BURST ? LOG_RL_BURST
                                            : tok + (unsigned) add;
        }
        ok = tok > 0;
        if (ok) {
            tok--;
            *suppressed = sup;
            sup = 0;
        } else if (sup < 0xffff) {
            sup++;
        }
        new = RL_PACK(t & ((1LL << 39) - 1), sup, tok);
        if (__atomic_compare_exchange_n(&rl->state, &old, new, true,
                                        __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            return ok;
        }
    }
}

void
log_msg_rl(const struct log_module *m, enum log_level level,
           struct log_rl *rl, const char *fmt, ...)
{
    unsigned suppressed = 0;
    char suffix[64];
    va_list args;

    if (!log_enabled(m, level) || !rl_take(rl, mono_ms(), &suppressed)) {
        return;
    }
    if (suppressed) {
        snprintf(suffix, sizeof suffix, " (%u%s similar message%s "
                 "suppressed)", suppressed, suppressed == 0xffff ? "+" : "",
                 suppressed == 1 ? "" : "s");
    }
    va_start(args, fmt);
    emit(m, level, suppressed ? suffix : NULL, fmt, args);
    va_end(args);
}
