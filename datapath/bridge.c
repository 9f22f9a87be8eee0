/* SPDX-License-Identifier: BSD-3-Clause */
/* bridge.c: placeholder until implemented. */
extern int sl_placeholder_bridge;
