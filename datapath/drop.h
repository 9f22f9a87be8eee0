/* SPDX-License-Identifier: BSD-3-Clause */
/* drop.h: placeholder until written. */
