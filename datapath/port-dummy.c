/* SPDX-License-Identifier: BSD-3-Clause */
/* port-dummy.c: placeholder until implemented. */
extern int sl_placeholder_port_dummy;
