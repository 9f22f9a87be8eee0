/* SPDX-License-Identifier: BSD-3-Clause */
/* port-provider.h: placeholder until written. */
