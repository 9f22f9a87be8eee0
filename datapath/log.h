/* SPDX-License-Identifier: BSD-3-Clause */
/* log.h: the daemon's log: levels, per-module names, rate limiting. */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H 1

/*
 * What
 *   Every message sluiced writes goes through here: one line per message,
 *   "TIME|LEVEL|module: text" on stderr (TIME is UTC with milliseconds), so
 *   a log can be filtered by level and by module.  Each source file names
 *   its module once (LOG_MODULE(dp);) and logs with LOG_ERR / LOG_WARN /
 *   LOG_INFO / LOG_DBG.  A module's level can be changed at run time (the
 *   control socket's log-level method, `sluice-ofctl log-level`).
 *
 * Design
 *   The modules are listed once (LOG_MODULES, an X-macro), so the names
 *   the control socket accepts cannot drift from the code.  A message below
 *   its module's level costs one relaxed load and a branch: the arguments
 *   are not evaluated.  Anything reachable from a PMD thread (or from any
 *   per-packet or per-event path a peer can drive) logs through the _RL
 *   variants: each call site has its own token bucket (LOG_RL_BURST
 *   messages, then one per LOG_RL_INTERVAL_MS), and the next message that
 *   gets through says how many were suppressed.  The bucket is one 64-bit
 *   word updated with compare-and-swap: no lock, no allocation.
 *
 * Thread-safety
 *   Logging and reading levels: any thread.  log_set_level(): any thread;
 *   a level change is seen by other threads at their next message.
 *   log_set_sink(): before any other thread logs (tests).
 *
 * Ownership
 *   Nothing is allocated.  Names returned are static.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#define LOG_LEVELS                                                          \
    LOG_LEVEL(OFF, "off")                                                   \
    LOG_LEVEL(ERR, "err")                                                   \
    LOG_LEVEL(WARN, "warn")                                                 \
    LOG_LEVEL(INFO, "info")                                                 \
    LOG_LEVEL(DBG, "dbg")

enum log_level {
#define LOG_LEVEL(ENUM, NAME) LOG_##ENUM,
    LOG_LEVELS
#undef LOG_LEVEL
    LOG_N_LEVELS
};

/* Every module that logs, by the name the log and log-level use. */
#define LOG_MODULES                                                         \
    LOG_MOD(main)                                                           \
    LOG_MOD(config)                                                         \
    LOG_MOD(state)                                                          \
    LOG_MOD(bridge)                                                         \
    LOG_MOD(ctl)                                                            \
    LOG_MOD(dp)                                                             \
    LOG_MOD(port)                                                           \
    LOG_MOD(vhost)                                                          \
    LOG_MOD(offload)                                                        \
    LOG_MOD(ct)                                                             \
    LOG_MOD(http)                                                           \
    LOG_MOD(tunnel)                                                         \
    LOG_MOD(openflow)

struct log_module {
    const char *name;
    int level;                      /* enum log_level; __atomic access */
};

#define LOG_MOD(NAME) extern struct log_module log_module_##NAME;
LOG_MODULES
#undef LOG_MOD

/* In a .c file, once: the module its LOG_* calls log under. */
#define LOG_MODULE(NAME)                                                    \
    static struct log_module *const log_this_module = &log_module_##NAME

#define LOG_DEFAULT_LEVEL LOG_INFO
#define LOG_RL_BURST 5              /* Messages a call site may log ... */
#define LOG_RL_INTERVAL_MS 1000     /* ... then one per this interval. */

/* A call site's token bucket (LOG_*_RL). */
struct log_rl {
    uint64_t state;                 /* Opaque: bucket and suppressed;
                                     * __atomic access. */
};

/* True if 'level' messages of 'm' are written. */
static inline bool
log_enabled(const struct log_module *m, enum log_level level)
{
    return level != LOG_OFF
           && (int) level <= __atomic_load_n(&((struct log_module *) m)
                                             ->level, __ATOMIC_RELAXED);
}

void log_msg(const struct log_module *, enum log_level, const char *fmt,
             ...) __attribute__((format(printf, 3, 4)));
void log_msg_rl(const struct log_module *, enum log_level, struct log_rl *,
                const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void log_vmsg(const struct log_module *, enum log_level, const char *fmt,
              va_list);

#define LOG_AT_(LEVEL, ...)                                                 \
    do {                                                                    \
        if (log_enabled(log_this_module, LEVEL)) {                          \
            log_msg(log_this_module, LEVEL, __VA_ARGS__);                   \
        }                                                                   \
    } while (0)
#define LOG_AT_RL_(LEVEL, ...)                                              \
    do {                                                                    \
        static struct log_rl log_rl_;                                       \
        if (log_enabled(log_this_module, LEVEL)) {                          \
            log_msg_rl(log_this_module, LEVEL, &log_rl_, __VA_ARGS__);      \
        }                                                                   \
    } while (0)

/* Rate-limited with the caller's bucket (e.g. one per port, so that one
 * flapping peer cannot silence the messages of the others). */
#define LOG_RL_WITH(RL, LEVEL, ...)                                         \
    do {                                                                    \
        if (log_enabled(log_this_module, LEVEL)) {                          \
            log_msg_rl(log_this_module, LEVEL, RL, __VA_ARGS__);            \
        }                                                                   \
    } while (0)

#define LOG_ERR(...) LOG_AT_(LOG_ERR, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT_(LOG_WARN, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT_(LOG_INFO, __VA_ARGS__)
#define LOG_DBG(...) LOG_AT_(LOG_DBG, __VA_ARGS__)
#define LOG_ERR_RL(...) LOG_AT_RL_(LOG_ERR, __VA_ARGS__)
#define LOG_WARN_RL(...) LOG_AT_RL_(LOG_WARN, __VA_ARGS__)
#define LOG_INFO_RL(...) LOG_AT_RL_(LOG_INFO, __VA_ARGS__)
#define LOG_DBG_RL(...) LOG_AT_RL_(LOG_DBG, __VA_ARGS__)

/* Names.  log_level_from_name() returns 0 and sets '*level', or EINVAL
 * for an unknown name; log_module_find() returns NULL for one. */
const char *log_level_name(enum log_level);
int log_level_from_name(const char *name, enum log_level *level);
struct log_module *log_module_find(const char *name);

/* Calls 'cb' for each module, in LOG_MODULES order. */
void log_module_for_each(void (*cb)(const struct log_module *, void *aux),
                         void *aux);
enum log_level log_get_level(const struct log_module *);

/* Sets the level of 'module' ("*" or NULL: every module).  Returns 0 or
 * EINVAL (unknown module). */
int log_set_level(const char *module, enum log_level);

/* Where lines go: by default stderr.  A test may pass its own sink; 'line'
 * is one whole line without its newline, valid during the call.  NULL
 * restores stderr.  'now_ms' (the rate limiter's clock, milliseconds;
 * NULL = CLOCK_MONOTONIC) lets a test drive time. */
void log_set_sink(void (*sink)(const char *line, void *aux), void *aux,
                  long long (*now_ms)(void));

#endif /* log.h */
