/* SPDX-License-Identifier: BSD-3-Clause */
/* eal-test.h: EAL helpers for the cmocka programs that start DPDK. */
#ifndef EAL_TEST_H
#define EAL_TEST_H 1

#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>

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

/* A packet pool of 'n' mbufs for a test program (after rte_eal_init()),
 * or NULL with the reason printed. */
static inline struct rte_mempool *
eal_test_mempool(const char *name, unsigned n, unsigned cache)
{
    struct rte_mempool *mp = rte_pktmbuf_pool_create(
        name, n, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);

    if (!mp) {
        fprintf(stderr, "cannot create mempool %s: %s\n", name,
                rte_strerror(rte_errno));
    }
    return mp;
}

#endif /* eal-test.h */
