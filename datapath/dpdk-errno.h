/* SPDX-License-Identifier: BSD-3-Clause */
/* dpdk-errno.h: DPDK's error conventions turned into sluice's. */
#ifndef SLUICE_DPDK_ERRNO_H
#define SLUICE_DPDK_ERRNO_H 1

/*
 * What
 *   The one place where a failed DPDK call's result becomes the positive
 *   errno every sluice interface returns (DESIGN.md: errors are 0 or a
 *   positive errno).
 *
 * Design
 *   DPDK reports failure two ways: a negative errno return (ethdev,
 *   rte_flow, rte_dev_probe: the value is the error, and rte_flow also
 *   copies it into rte_errno), or a 0 / NULL return with rte_errno set
 *   (allocators, ring and mempool creation).  dpdk_errno() takes the
 *   return value and trusts a negative one over rte_errno, which may be
 *   stale from an earlier call.  ENOTSUP becomes EOPNOTSUPP, the name
 *   sluice uses for "keep it in software" (the same value on Linux).
 *
 * Thread-safety
 *   Reads the calling thread's rte_errno.
 */

/* Converts the result of a failed DPDK call: 'ret' < 0 is -errno;
 * otherwise (0, or a NULL pointer: pass 0) rte_errno, or EIO if unset.
 * Call only after a failure. */
int dpdk_errno(int ret);

#endif /* dpdk-errno.h */
