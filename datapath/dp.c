/* SPDX-License-Identifier: BSD-3-Clause */
/* dp.c: placeholder until implemented. */
extern int sl_placeholder_dp;
