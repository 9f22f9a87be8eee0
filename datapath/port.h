/* SPDX-License-Identifier: BSD-3-Clause */
/* port.h: placeholder until written. */
