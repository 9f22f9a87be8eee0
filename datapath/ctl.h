/* SPDX-License-Identifier: BSD-3-Clause */
/* ctl.h: placeholder until written. */
