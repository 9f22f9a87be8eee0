/* SPDX-License-Identifier: BSD-3-Clause */
/* dp.h: placeholder until written. */
