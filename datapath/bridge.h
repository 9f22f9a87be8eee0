/* SPDX-License-Identifier: BSD-3-Clause */
/* bridge.h: placeholder until written. */
