/* SPDX-License-Identifier: BSD-3-Clause */
/* exec.c: placeholder until implemented. */
extern int sl_placeholder_exec;
