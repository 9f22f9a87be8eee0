/* SPDX-License-Identifier: BSD-3-Clause */
/* ofp-parse.h: placeholder until written. */
#ifndef SLUICE_OFP_PARSE_H
#define SLUICE_OFP_PARSE_H 1
#endif
