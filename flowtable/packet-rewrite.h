/* SPDX-License-Identifier: BSD-3-Clause */
/* packet-rewrite.h: placeholder until written. */
#ifndef SLUICE_PACKET_REWRITE_H
#define SLUICE_PACKET_REWRITE_H 1
#endif
