/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl-handlers.c: placeholder until implemented. */
extern int sl_placeholder_ctl_handlers;
