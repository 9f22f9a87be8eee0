/* SPDX-License-Identifier: BSD-3-Clause */
/* dpdk-errno.c: the one DPDK-to-errno conversion (dpdk-errno.h). */

#include "dpdk-errno.h"

#include <errno.h>

#include <rte_errno.h>

int
dpdk_errno(int ret)
{
    int e = ret < 0 ? -ret : rte_errno;

    if (e <= 0) {
        e = EIO;
    }
    return e == ENOTSUP ? EOPNOTSUPP : e;
}
