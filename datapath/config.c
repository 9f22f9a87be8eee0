/* SPDX-License-Identifier: BSD-3-Clause */
/* config.c: placeholder until implemented. */
extern int sl_placeholder_config;
