/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl.c: placeholder until implemented. */
extern int sl_placeholder_ctl;
