/* SPDX-License-Identifier: BSD-3-Clause */
/* eal-test.h: EAL teardown for the cmocka programs that start DPDK. */
#ifndef EAL_TEST_H
#define EAL_TEST_H 1

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>

/* rte_eal_cleanup(), then removes the runtime directory the EAL leaves
 * behind in /var/run/dpdk (with --no-huge, megabytes of tmpfs per run). */
static inline void
eal_test_cleanup(void)
{
    static const char *files[] = {
        "config", "fbarray_memzone", "fbarray_nohugemem", "mp_socket",
    };
    char rundir[PATH_MAX];

    snprintf(rundir, sizeof rundir, "%s", rte_eal_get_runtime_dir());
    rte_eal_cleanup();
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[PATH_MAX + 32];

        snprintf(path, sizeof path, "%s/%s", rundir, files[i]);
        unlink(path);
    }
    rmdir(rundir);
}

#endif /* eal-test.h */
