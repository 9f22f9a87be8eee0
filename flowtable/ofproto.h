/* SPDX-License-Identifier: BSD-3-Clause */
/* ofproto.h: placeholder until written. */
#ifndef SLUICE_OFPROTO_H
#define SLUICE_OFPROTO_H 1
#endif
