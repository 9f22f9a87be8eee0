/* SPDX-License-Identifier: BSD-3-Clause */
/* config.h: placeholder until written. */
