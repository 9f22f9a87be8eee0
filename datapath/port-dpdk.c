/* SPDX-License-Identifier: BSD-3-Clause */
/* port-dpdk.c: placeholder until implemented. */
extern int sl_placeholder_port_dpdk;
